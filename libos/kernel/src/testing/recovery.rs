//! Surviving an expected fault or panic in a boot-time test.
//!
//! [`run_guarded`] runs a closure through `recovery_call`
//! (`entry-asm/src/support/recovery.s`) with a recovery point armed on this
//! CPU. If the closure takes a CPU exception in ring 0, the exception
//! handler records it and sends the faulting context to `recovery_landing`
//! with the stack of the guarded call; if it panics, the panic handler
//! records the message and resumes there directly. Either way the closure is
//! abandoned (its locals are leaked, no destructors run) and `run_guarded`
//! returns what happened.

use core::fmt::Write;
use core::ptr::{addr_of_mut, null_mut};
use core::sync::atomic::{AtomicPtr, Ordering};

use entry_asm::hw::selector;
use entry_asm::pt_regs::PtRegs;
use entry_asm::recovery::{RecoveryPoint, recovery_call, recovery_landing, recovery_resume};
use x86_64::registers::control::Cr2;

use crate::arch::x86_64::exceptions::{description, mnemonic};
use crate::per_cpu;

/// A CPU exception taken by a guarded call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FaultInfo {
    /// The vector.
    pub vector: u8,
    /// The error code (`u64::MAX` if the exception has none).
    pub error_code: u64,
    /// Where it happened.
    pub rip: u64,
    /// CR2 at the time (the faulting address of a page fault).
    pub cr2: u64,
}

impl core::fmt::Display for FaultInfo {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{} {} at RIP {:#x}", mnemonic(self.vector), description(self.vector), self.rip)?;
        if self.vector == entry_asm::hw::vector::PF {
            write!(f, ", address {:#x}, error code {:#x}", self.cr2, self.error_code)?;
        }
        Ok(())
    }
}

/// How a guarded call ended.
// Kept inline, not boxed: built on fault and panic paths, where allocating
// is best avoided.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// It returned.
    Returned,
    /// It panicked with this message.
    Panicked(heapless::String<256>),
    /// It took this exception.
    Faulted(FaultInfo),
    /// It could not run here and said why (`testing::skip`).
    #[cfg_attr(not(feature = "boot-tests"), allow(dead_code))]
    Skipped(&'static str),
}

/// The state of one armed recovery point.
pub struct Recovery {
    point: RecoveryPoint,
    outcome: Outcome,
}

per_cpu! {
    /// The recovery point armed on this CPU, or null (touched only by this
    /// CPU: an atomic because per-CPU values are shared types).
    static ARMED: AtomicPtr<Recovery> = AtomicPtr::new(null_mut());
}

/// `recovery_call` returns these codes when the call was abandoned.
const ABANDONED_BY_PANIC: u64 = 1;
const ABANDONED_BY_FAULT: u64 = 2;
const ABANDONED_BY_SKIP: u64 = 3;

/// Runs `f`, surviving a fault or panic in it.
pub fn run_guarded<F: FnOnce()>(f: F) -> Outcome {
    extern "C" fn trampoline<F: FnOnce()>(arg: *mut u8) {
        // SAFETY: `arg` is the `Option<F>` below, alive for the whole call.
        let slot = unsafe { &mut *(arg as *mut Option<F>) };
        (slot.take().expect("guarded closure called twice"))();
    }
    let mut slot = Some(f);
    let mut rec = Recovery { point: RecoveryPoint::default(), outcome: Outcome::Returned };
    let rec_ptr: *mut Recovery = &mut rec;
    let armed = ARMED.this();
    let previous = armed.swap(rec_ptr, Ordering::Relaxed);
    // SAFETY: `rec` and `slot` outlive the call; the point is armed on this
    // CPU only for its duration and disarmed (restored) right after.
    let code = unsafe {
        recovery_call(trampoline::<F>, &mut slot as *mut Option<F> as *mut u8, addr_of_mut!((*rec_ptr).point))
    };
    armed.store(previous, Ordering::Relaxed);
    debug_assert!(code <= ABANDONED_BY_SKIP);
    rec.outcome
}

/// Called by the exception handlers for an exception in ring 0: if a
/// recovery point is armed, records the fault, rewrites `regs` to resume the
/// guarded call, and returns `true`.
pub fn recover_from_fault(regs: &mut PtRegs, vector: u8) -> bool {
    let rec = ARMED.this().swap(null_mut(), Ordering::Relaxed);
    if rec.is_null() {
        return false;
    }
    // SAFETY: a non-null pointer is the live `Recovery` of the `run_guarded`
    // frame below us on this CPU.
    let rec = unsafe { &mut *rec };
    rec.outcome =
        Outcome::Faulted(FaultInfo { vector, error_code: regs.orig_rax, rip: regs.rip, cr2: Cr2::read_raw() });
    regs.rip = core::ptr::addr_of!(recovery_landing) as u64;
    regs.rsp = rec.point.rsp;
    regs.rflags = rec.point.rflags;
    regs.rax = ABANDONED_BY_FAULT;
    regs.cs = selector::KERNEL_CS as u64;
    regs.ss = selector::KERNEL_DS as u64;
    true
}

/// Called by the panic handler: if a recovery point is armed, records the
/// message and resumes the guarded call (does not return).
pub fn recover_from_panic(info: &core::panic::PanicInfo<'_>) {
    let rec = ARMED.this().swap(null_mut(), Ordering::Relaxed);
    if rec.is_null() {
        return;
    }
    // SAFETY: as in `recover_from_fault`.
    let rec = unsafe { &mut *rec };
    let mut msg = heapless::String::new();
    let _ = write!(msg, "{}", info.message());
    rec.outcome = Outcome::Panicked(msg);
    // SAFETY: the guarded call is below us on this CPU and still running.
    unsafe { recovery_resume(&rec.point, ABANDONED_BY_PANIC) }
}

/// Abandons the running guarded call as skipped (it cannot run here).
#[cfg(feature = "boot-tests")]
pub fn skip_current(reason: &'static str) -> ! {
    let rec = ARMED.this().swap(null_mut(), Ordering::Relaxed);
    assert!(!rec.is_null(), "skip outside a guarded test: {reason}");
    // SAFETY: as in `recover_from_fault`.
    let rec = unsafe { &mut *rec };
    rec.outcome = Outcome::Skipped(reason);
    // SAFETY: the guarded call is below us on this CPU and still running.
    unsafe { recovery_resume(&rec.point, ABANDONED_BY_SKIP) }
}
