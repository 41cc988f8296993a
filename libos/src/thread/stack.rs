//! A spawned thread's memory: one anonymous mapping holding, from low to
//! high, a guard page (no access, so an overflow faults instead of
//! corrupting), the stack, and the thread's control block.
//!
//! ```text
//! base                                                        base + len
//! | guard page | stack (grows down) ... [entry, arg] | Tcb (page-rounded) |
//! ```
//!
//! Pages come from the kernel on first touch, so a large stack costs only
//! what the thread uses.

use core::mem::size_of;
use core::ptr;

use libos_abi::abi_types::{MAP_ANONYMOUS, MAP_PRIVATE, PROT_NONE, PROT_READ, PROT_WRITE};
use libos_abi::errno::Errno;
use libos_abi::syscalls::user;

use super::tcb::Tcb;

const PAGE_SIZE: usize = 4096;

/// A thread's stack size unless the builder asks otherwise (std's default).
pub(crate) const DEFAULT_STACK_SIZE: usize = 2 * 1024 * 1024;
/// The smallest stack a thread gets.
pub(crate) const MIN_STACK_SIZE: usize = 16 * 1024;

/// A mapped, not yet started thread's memory.
pub(crate) struct ThreadStack {
    /// Start of the mapping (the guard page).
    pub(crate) base: usize,
    /// Length of the mapping.
    pub(crate) len: usize,
}

impl ThreadStack {
    /// Maps memory for a thread with a stack of at least `stack_size` bytes.
    pub(crate) fn map(stack_size: usize) -> Result<ThreadStack, Errno> {
        let stack = stack_size.max(MIN_STACK_SIZE).checked_next_multiple_of(PAGE_SIZE).ok_or(Errno::ENOMEM)?;
        let tcb = size_of::<Tcb>().next_multiple_of(PAGE_SIZE);
        let len = (PAGE_SIZE + tcb).checked_add(stack).ok_or(Errno::ENOMEM)?;
        // SAFETY: a new anonymous mapping (no MAP_FIXED) replaces nothing.
        let base = unsafe { user::mmap(0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) }?;
        // SAFETY: the guard page is part of the mapping just made, which
        // nothing uses yet.
        if let Err(e) = unsafe { user::mprotect(base, PAGE_SIZE, PROT_NONE) } {
            // SAFETY: the mapping is ours and unused.
            unsafe { ThreadStack::unmap(base, len) };
            return Err(e);
        }
        Ok(ThreadStack { base, len })
    }

    /// Where the control block goes (the top of the mapping, aligned).
    pub(crate) fn tcb_slot(&self) -> *mut Tcb {
        let at = (self.base + self.len - size_of::<Tcb>()) & !(align_of::<Tcb>().max(64) - 1);
        at as *mut Tcb
    }

    /// The new thread's initial stack pointer, with `[entry, arg]` written
    /// there for the start code (16-byte aligned, below the control block).
    pub(crate) fn push_start(&self, entry: usize, arg: usize) -> *mut usize {
        let top = (self.tcb_slot() as usize) & !15;
        let sp = (top - 16) as *mut usize;
        // SAFETY: two words inside the mapping, below the control block and
        // above the guard page; nothing else uses them yet.
        unsafe {
            ptr::write(sp, entry);
            ptr::write(sp.add(1), arg);
        }
        sp
    }

    /// Unmaps a mapping whose thread never started or has exited.
    ///
    /// # Safety
    ///
    /// No thread runs on the stack and nothing in the mapping is used or
    /// needs dropping.
    pub(crate) unsafe fn unmap(base: usize, len: usize) {
        // SAFETY: the caller guarantees nothing uses the range.
        let r = unsafe { user::munmap(base, len) };
        debug_assert!(r.is_ok(), "munmap of a thread stack failed: {r:?}");
    }
}
