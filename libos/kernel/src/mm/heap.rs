//! The kernel heap: `talc` over a virtual region that grows page by page
//! with frames from the frame allocator.
//!
//! The heap lives at `KERNEL_HEAP_BASE` (read + write, NX). When `talc` runs
//! out it asks its source, [`HeapSource`], which maps more frames at the end
//! of the region and extends the heap; nothing on that path allocates from
//! the heap itself.

use core::alloc::{GlobalAlloc, Layout};
use core::ptr::{NonNull, null_mut};

use entry_asm::layout::{KERNEL_HEAP_BASE, KERNEL_HEAP_MAX, PAGE_SIZE};
use talc::DefaultBinning;
use talc::base::Talc;
use talc::base::binning::Binning;
use talc::source::Source;

use crate::arch::x86_64::paging::flags;
use crate::mm::{frame, kernel_space};
use crate::smp::shootdown::FlushBatch;
use crate::sync::SpinLock;

/// Smallest growth step.
const GROW_MIN: u64 = 256 * 1024;

/// Where the heap's memory comes from.
#[derive(Debug)]
pub struct HeapSource {
    /// End of the mapped part of the heap region.
    mapped_end: u64,
    /// End of the heap as `talc` knows it (after the first claim).
    heap_end: Option<NonNull<u8>>,
}

impl HeapSource {
    const fn new() -> HeapSource {
        HeapSource { mapped_end: KERNEL_HEAP_BASE, heap_end: None }
    }
}

/// Maps `len` bytes of fresh frames at `start`; undoes it on failure.
fn map_fresh(start: u64, len: u64) -> bool {
    let mut va = start;
    while va < start + len {
        let ok = match frame::alloc() {
            Some(f) => kernel_space::map(va, f, flags::KERNEL_RW | kernel_space::global()).is_ok(),
            None => false,
        };
        if !ok {
            // These pages were never handed out, so no other CPU can hold
            // their translations: the frames can go back at once (the
            // batch's flush at the end is a formality).
            let mut batch = FlushBatch::kernel();
            while va > start {
                va -= PAGE_SIZE;
                if let Some(f) = kernel_space::unmap(va, &mut batch) {
                    frame::free(f);
                }
            }
            return false;
        }
        va += PAGE_SIZE;
    }
    true
}

// SAFETY: `acquire` only maps frames and then claims or extends the heap
// with exactly the memory it just mapped; it never touches the global
// allocator (the frame allocator and the page-table code do not allocate).
unsafe impl Source for HeapSource {
    fn acquire<B: Binning>(talc: &mut Talc<Self, B>, layout: Layout) -> Result<(), ()> {
        let need = (layout.size() as u64 + layout.align() as u64 + 4 * PAGE_SIZE).next_multiple_of(PAGE_SIZE);
        let start = talc.source.mapped_end;
        let fits = |grow: u64| start + grow <= KERNEL_HEAP_BASE + KERNEL_HEAP_MAX;
        // GROW_MIN at a time; when frames are short (the kernel's reserve,
        // `frame::KERNEL_RESERVE_FRAMES`, on a small machine), just what
        // this allocation needs.
        let grow = [need.max(GROW_MIN), need].into_iter().find(|&g| fits(g) && map_fresh(start, g)).ok_or(())?;
        talc.source.mapped_end = start + grow;
        let new_end = match talc.source.heap_end {
            // SAFETY: [start, start + grow) was just mapped and belongs to
            // nothing else; it stays mapped while the heap exists.
            None => unsafe { talc.claim(start as *mut u8, grow as usize) }.ok_or(())?,
            // SAFETY: the heap ends at `end` == `start` and the memory right
            // after it was just mapped for it.
            Some(end) => unsafe { talc.extend(end, (start + grow) as *mut u8) },
        };
        talc.source.heap_end = Some(new_end);
        Ok(())
    }
}

/// `Talc` holds raw pointers into the heap; the lock around it serialises
/// all use, so moving it between CPUs is sound.
struct LockedTalc(Talc<HeapSource, DefaultBinning>);
// SAFETY: see above; every access goes through the SpinLock.
unsafe impl Send for LockedTalc {}

/// The kernel's global allocator.
pub struct KernelHeap {
    talc: SpinLock<LockedTalc>,
}

#[global_allocator]
static HEAP: KernelHeap = KernelHeap { talc: SpinLock::new(LockedTalc(Talc::new(HeapSource::new()))) };

// SAFETY: allocation and deallocation are forwarded to talc under the lock,
// with the caller's layout; talc returns memory of that layout or null.
unsafe impl GlobalAlloc for KernelHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: GlobalAlloc callers pass a nonzero-size layout.
        unsafe { self.talc.lock().0.allocate(layout) }.map_or(null_mut(), |p| p.as_ptr())
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by this allocator with `layout`.
        unsafe { self.talc.lock().0.deallocate(ptr, layout) }
    }
}

/// Heap figures.
#[derive(Clone, Copy, Debug)]
pub struct HeapStats {
    /// Bytes of the heap region mapped so far.
    pub mapped: u64,
    /// Bytes in live allocations.
    pub allocated: usize,
    /// Live allocations.
    pub allocations: usize,
}

/// Current heap figures.
pub fn stats() -> HeapStats {
    let t = HEAP.talc.lock();
    HeapStats {
        mapped: t.0.source.mapped_end - KERNEL_HEAP_BASE,
        allocated: t.0.counters().allocated_bytes,
        allocations: t.0.counters().allocation_count,
    }
}
