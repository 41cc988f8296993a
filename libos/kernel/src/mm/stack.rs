//! Kernel stacks, each with an unmapped guard page under it.
//!
//! Stacks live in slots of [`SLOT_SIZE`] bytes at `KERNEL_STACKS_BASE`.
//! The lowest page of a slot is never mapped: running off the bottom of a
//! stack faults on it instead of overwriting whatever lies below.
//!
//! A freed stack of the default size is kept mapped in a small cache and
//! handed to the next task that needs one (as Linux caches thread stacks):
//! unmapping it would cost a TLB shootdown on every other CPU, each time a
//! thread exits.

use entry_asm::layout::{KERNEL_STACKS_BASE, PAGE_SIZE};

use crate::arch::x86_64::paging::flags;
use crate::mm::{frame, kernel_space};
use crate::smp::shootdown::FlushBatch;
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

/// Freed stacks of [`DEFAULT_PAGES`] pages, still mapped (their slots).
static CACHE: SpinLock<heapless::Vec<u64, CACHED_STACKS>> = SpinLock::new(heapless::Vec::new());
/// How many freed stacks the cache keeps (at 32 KiB each: 1 MiB).
const CACHED_STACKS: usize = 32;

/// A kernel stack. Unmapped and freed when dropped.
#[derive(Debug)]
pub struct KernelStack {
    slot: u64,
    pages: u64,
    /// Every page is mapped (a `new` that ran out of memory leaves some
    /// unmapped, and such a stack is never cached).
    complete: bool,
}

impl KernelStack {
    /// A new stack of `pages` pages.
    pub fn new(pages: u64) -> Option<KernelStack> {
        assert!((1..=MAX_PAGES).contains(&pages), "kernel stack of {pages} pages");
        if pages == DEFAULT_PAGES
            && let Some(slot) = CACHE.lock().pop()
        {
            let stack = KernelStack { slot, pages, complete: true };
            // What the last owner left there is of no use to the next.
            // SAFETY: the cached stack is mapped, writable and unused.
            unsafe { core::ptr::write_bytes(stack.bottom() as *mut u8, 0, (pages * PAGE_SIZE) as usize) };
            return Some(stack);
        }
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
        let mut stack = KernelStack { slot, pages, complete: false };
        for i in 0..pages {
            let va = stack.bottom() + i * PAGE_SIZE;
            let f = frame::alloc()?;
            if kernel_space::map(va, f, flags::KERNEL_RW | kernel_space::global()).is_err() {
                frame::free(f);
                return None; // Drop unmaps what was mapped.
            }
        }
        stack.complete = true;
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
        if self.pages == DEFAULT_PAGES && self.complete && CACHE.lock().push(self.slot).is_ok() {
            return;
        }
        let mut batch = FlushBatch::kernel();
        let mut frames = heapless::Vec::<u64, { MAX_PAGES as usize }>::new();
        for i in 0..self.pages {
            if let Some(f) = kernel_space::unmap(self.bottom() + i * PAGE_SIZE, &mut batch) {
                let _ = frames.push(f);
            }
        }
        // No CPU may still reach the frames through an old translation.
        batch.flush();
        for f in frames {
            frame::free(f);
        }
        // A full free list only loses the slot's address space, not memory.
        let _ = SLOTS.lock().free.push(self.slot);
    }
}
