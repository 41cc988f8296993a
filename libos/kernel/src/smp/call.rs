//! Running a function on another CPU (and waiting for it): the mechanism
//! behind TLB shootdowns and the per-CPU boot-time tests.
//!
//! Each CPU has one [`CallSlot`]. A caller takes the target's slot, writes
//! the function and its argument, sends the CALL_FUNCTION IPI and waits for
//! the target to mark it done. The waiting code (for a busy slot, and for
//! the answer) runs this CPU's own pending request itself, with interrupts
//! off: two CPUs calling each other, each holding a lock, each finish the
//! other's request (a boot test does exactly that). A target answers from
//! its IPI handler, so it must be able to take interrupts: a CPU that waits
//! for a lock the caller holds waits with interrupts on (`SpinLock`), and a
//! lock held across a call (an address space's, across its TLB shootdowns)
//! is never taken with interrupts off: system calls run with them on, and
//! so do the faults that page in app memory (`trap::exception`).

use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::arch::x86_64::{interrupts, vectors};
use crate::per_cpu;
use crate::percpu::{self, cpu_index};

per_cpu! {
    /// Each CPU's request slot.
    static CALL: CallSlot = CallSlot::new();
}

/// One CPU's request slot.
pub struct CallSlot {
    /// Taken by a caller.
    busy: AtomicBool,
    /// A request is waiting.
    pending: AtomicBool,
    /// The request finished.
    done: AtomicBool,
    func: UnsafeCell<Option<fn(u64)>>,
    arg: AtomicU64,
}

// SAFETY: other CPUs touch every field: `busy`, `pending`, `done` and
// `arg` are atomics; `func` is written only by the caller holding `busy`,
// before it releases `pending`, and read only by the target after it
// acquires `pending`.
unsafe impl Sync for CallSlot {}

impl CallSlot {
    /// An empty slot.
    pub const fn new() -> CallSlot {
        CallSlot {
            busy: AtomicBool::new(false),
            pending: AtomicBool::new(false),
            done: AtomicBool::new(false),
            func: UnsafeCell::new(None),
            arg: AtomicU64::new(0),
        }
    }
}

impl Default for CallSlot {
    fn default() -> Self {
        Self::new()
    }
}

/// Runs a request waiting in this CPU's slot, if any (the IPI handler, and
/// anyone spinning on another CPU).
pub fn run_pending() {
    let slot = CALL.this();
    if slot.pending.swap(false, Ordering::Acquire) {
        // SAFETY: `pending` was set by the caller after writing `func`.
        let f = unsafe { *slot.func.get() };
        if let Some(f) = f {
            f(slot.arg.load(Ordering::Relaxed));
        }
        slot.done.store(true, Ordering::Release);
    }
}

/// Runs `func(arg)` on CPU `cpu` and returns when it has finished. On this
/// CPU it is a plain call. (The boot-time tests use it.)
#[cfg(feature = "boot-tests")]
pub fn call_on(cpu: usize, func: fn(u64), arg: u64) {
    if cpu == cpu_index() {
        func(arg);
        return;
    }
    call_on_many(1 << cpu, func, arg);
}

/// Runs `func(arg)` on every CPU in `cpus` (bit n = CPU n; this CPU and
/// CPUs that are not online are left out) and returns when all have
/// finished. The requests go out together and run in parallel: one round
/// trip, not one per CPU.
pub fn call_on_many(cpus: u64, func: fn(u64), arg: u64) {
    let me = cpu_index();
    let irqs = interrupts::disable_and_save();
    // The CPUs posted to, decided once: one coming online meanwhile must
    // not be waited on (or its slot released) without having been posted.
    let mut posted: heapless::Vec<&'static CallSlot, 64> = heapless::Vec::new();
    let targets = (0..percpu::cpu_count())
        .filter(|&c| c != me && percpu::is_online(c) && cpus & (1 << c) != 0)
        .filter_map(|c| CALL.of(c).map(|slot| (c, slot)));
    for (cpu, target) in targets {
        // Serving our own slot while waiting: two CPUs calling each other
        // each finish the other's request.
        while target.busy.compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed).is_err() {
            run_pending();
            core::hint::spin_loop();
        }
        // SAFETY: this caller holds `busy`; the target reads `func` only
        // after the Release store of `pending` below.
        unsafe { *target.func.get() = Some(func) };
        target.arg.store(arg, Ordering::Relaxed);
        target.done.store(false, Ordering::Relaxed);
        target.pending.store(true, Ordering::Release);
        super::send_ipi(cpu, vectors::CALL_FUNCTION);
        // At most 64 CPUs pass the filter above.
        let _ = posted.push(target);
    }
    for target in posted {
        while !target.done.load(Ordering::Acquire) {
            run_pending();
            core::hint::spin_loop();
        }
        target.busy.store(false, Ordering::Release);
    }
    interrupts::restore(irqs);
}
