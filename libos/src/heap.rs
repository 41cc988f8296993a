//! The app's heap: `talc` over memory from `brk` (falling back to `mmap`).

use core::alloc::Layout;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicBool, Ordering};

use talc::TalcLock;
use talc::base::Talc;
use talc::base::binning::Binning;
use talc::lock_api::{GuardSend, RawMutex};
use talc::source::Source;

use libos_abi::abi_types::{MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE};
use libos_abi::syscalls::user;

/// A spinlock for the heap. A waiter yields its CPU, so a holder that was
/// preempted gets to run.
pub struct RawSpin(AtomicBool);

// SAFETY: the lock admits one holder at a time (compare-exchange on the
// flag with Acquire, store Release on unlock).
unsafe impl RawMutex for RawSpin {
    #[allow(clippy::declare_interior_mutable_const)]
    const INIT: RawSpin = RawSpin(AtomicBool::new(false));
    type GuardMarker = GuardSend;

    fn lock(&self) {
        let mut spins = 0u32;
        while !self.try_lock() {
            spins += 1;
            if spins.is_multiple_of(64) {
                let _ = user::sched_yield();
            }
            core::hint::spin_loop();
        }
    }

    fn try_lock(&self) -> bool {
        self.0.compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed).is_ok()
    }

    unsafe fn unlock(&self) {
        self.0.store(false, Ordering::Release);
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
        // SAFETY: brk only moves the break; the heap owns the memory above
        // the image (nothing else in the app uses brk).
        let brk = talc.source.brk;
        let brk = if brk == 0 { unsafe { user::brk(0) }.map_err(|_| ())? } else { brk };
        // SAFETY: as above.
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
static HEAP: TalcLock<RawSpin, BrkSource> = TalcLock::new(BrkSource { heap_end: None, brk: 0 });
