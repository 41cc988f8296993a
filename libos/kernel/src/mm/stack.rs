//! Kernel stacks, each with an unmapped guard page under it.
//!
//! Stacks live in slots of [`SLOT_SIZE`] bytes at `KERNEL_STACKS_BASE`.
//! The lowest page of a slot is never mapped: running off the bottom of a
//! stack faults on it instead of overwriting whatever lies below.

use entry_asm::layout::{KERNEL_STACKS_BASE, PAGE_SIZE};

use crate::arch::x86_64::paging::flags;
use crate::mm::{frame, kernel_space};
use crate::sync::SpinLock;

/// Size of a stack slot (guard page included).
pub const SLOT_SIZE: u64 = 128 * 1024;
/// Largest stack, in pages.
pub const MAX_PAGES: u64 = SLOT_SIZE / PAGE_SIZE - 1;
/// Default kernel stack size, in pages (32 KiB).
pub const DEFAULT_PAGES: u64 = 8;
/// Most stack slots.
const MAX_SLOTS: u64 = 1 << 20;

struct Slots {
    next: u64,
    free: heapless::Vec<u64, 256>,
}

static SLOTS: SpinLock<Slots> = SpinLock::new(Slots { next: 0, free: heapless::Vec::new() });

/// A kernel stack. Unmapped and freed when dropped.
#[derive(Debug)]
pub struct KernelStack {
    slot: u64,
    pages: u64,
}

impl KernelStack {
    /// A new stack of `pages` pages.
    pub fn new(pages: u64) -> Option<KernelStack> {
        assert!((1..=MAX_PAGES).contains(&pages), "kernel stack of {pages} pages");
        let slot = {
            let mut s = SLOTS.lock();
            match s.free.pop() {
                Some(slot) => slot,
                None if s.next < MAX_SLOTS => {
                    s.next += 1;
                    s.next - 1
                }
                None => return None,
            }
        };
        let stack = KernelStack { slot, pages };
        for i in 0..pages {
            let va = stack.bottom() + i * PAGE_SIZE;
            let f = frame::alloc()?;
            if kernel_space::map(va, f, flags::KERNEL_RW | kernel_space::global()).is_err() {
                frame::free(f);
                return None; // Drop unmaps what was mapped.
            }
        }
        Some(stack)
    }

    fn slot_base(&self) -> u64 {
        KERNEL_STACKS_BASE + self.slot * SLOT_SIZE
    }

    /// The unmapped guard page.
    #[cfg(feature = "boot-tests")]
    pub fn guard_page(&self) -> u64 {
        self.slot_base()
    }

    /// Lowest usable address.
    pub fn bottom(&self) -> u64 {
        self.slot_base() + PAGE_SIZE
    }

    /// One past the highest usable address (16-byte aligned).
    pub fn top(&self) -> u64 {
        self.bottom() + self.pages * PAGE_SIZE
    }
}

impl Drop for KernelStack {
    fn drop(&mut self) {
        for i in 0..self.pages {
            if let Some(f) = kernel_space::unmap(self.bottom() + i * PAGE_SIZE) {
                frame::free(f);
            }
        }
        // A full free list only loses the slot's address space, not memory.
        let _ = SLOTS.lock().free.push(self.slot);
    }
}
