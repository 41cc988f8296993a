//! The app's heap: `talc` over memory from `brk` (falling back to `mmap`).

use core::alloc::Layout;
use core::ptr::NonNull;

use talc::TalcLock;
use talc::base::Talc;
use talc::base::binning::Binning;
use talc::lock_api::{self, GuardSend};
use talc::source::Source;

use libos_abi::abi_types::{MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE};
use libos_abi::syscalls::user;

use crate::sync::raw_mutex::RawMutex;

/// The heap's lock: the futex lock [`Mutex`](crate::sync::Mutex) uses, so a
/// thread that finds the heap busy sleeps instead of spinning.
pub struct HeapLock(RawMutex);

// SAFETY: RawMutex admits one holder at a time (acquire on lock, release on
// unlock), which is what lock_api requires.
unsafe impl lock_api::RawMutex for HeapLock {
    #[allow(clippy::declare_interior_mutable_const)]
    const INIT: HeapLock = HeapLock(RawMutex::new());
    type GuardMarker = GuardSend;

    fn lock(&self) {
        self.0.lock();
    }

    fn try_lock(&self) -> bool {
        self.0.try_lock()
    }

    unsafe fn unlock(&self) {
        // SAFETY: lock_api calls this only for the holder.
        unsafe { self.0.unlock() };
    }

    fn is_locked(&self) -> bool {
        self.0.is_locked()
    }
}

/// Grows the heap with `brk`; when the break cannot move, maps a new piece.
#[derive(Debug)]
pub struct BrkSource {
    /// End of the heap `talc` manages contiguously (from brk), if any.
    heap_end: Option<NonNull<u8>>,
    /// The current program break.
    brk: usize,
}

// SAFETY: the pointer only names the end of the heap, which the heap's
// lock guards; moving the source between threads changes nothing.
unsafe impl Send for BrkSource {}

// SAFETY: `acquire` only claims or extends with memory it just obtained
// from the kernel for that purpose, and never allocates itself.
unsafe impl Source for BrkSource {
    fn acquire<B: Binning>(talc: &mut Talc<Self, B>, layout: Layout) -> Result<(), ()> {
        let want = (layout.size() + layout.align() + 64 * 1024).max(256 * 1024).next_multiple_of(4096);
        let brk = match talc.source.brk {
            // SAFETY: brk(0) only asks where the break is.
            0 => unsafe { user::brk(0) }.map_err(|_| ())?,
            brk => brk,
        };
        // SAFETY: brk only moves the break; the heap owns the memory above
        // the image (nothing else in the app uses brk).
        let new = unsafe { user::brk(brk + want) }.map_err(|_| ())?;
        if new >= brk + want {
            talc.source.brk = new;
            let end = match talc.source.heap_end {
                // SAFETY: [brk, new) was just given to the app and is unused.
                None => unsafe { talc.claim(brk as *mut u8, new - brk) }.ok_or(())?,
                // SAFETY: the heap ended at the old break; [brk, new) follows it.
                Some(end) => unsafe { talc.extend(end, new as *mut u8) },
            };
            talc.source.heap_end = Some(end);
            return Ok(());
        }
        // The break cannot grow: a separate piece from mmap.
        // SAFETY: an anonymous private mapping the heap alone will use.
        let addr = unsafe { user::mmap(0, want, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) }
            .map_err(|_| ())?;
        // SAFETY: the mapping is new, `want` bytes, and belongs to the heap.
        unsafe { talc.claim(addr as *mut u8, want) }.map(|_| ()).ok_or(())
    }
}

#[global_allocator]
static HEAP: TalcLock<HeapLock, BrkSource> = TalcLock::new(BrkSource { heap_end: None, brk: 0 });
