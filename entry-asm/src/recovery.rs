//! The recovery point of `support/recovery.s` (used by the boot-time tests
//! to survive an expected fault or panic).

use core::mem::offset_of;

/// Where `recovery_call` can be resumed.
#[repr(C)]
#[derive(Debug, Default, Clone, Copy)]
pub struct RecoveryPoint {
    /// RSP inside `recovery_call` after it saved the callee-saved registers.
    pub rsp: u64,
    /// RFLAGS at the call (restored on resumption, so IF comes back as it was).
    pub rflags: u64,
}

/// Offset of [`RecoveryPoint::rsp`].
pub const RSP: usize = offset_of!(RecoveryPoint, rsp);
/// Offset of [`RecoveryPoint::rflags`].
pub const RFLAGS: usize = offset_of!(RecoveryPoint, rflags);

unsafe extern "C" {
    /// Calls `f(arg)` and returns 0, or returns the code given to
    /// [`recovery_resume`] (or put in RAX by an exception handler that sent
    /// the faulting context to `recovery_landing`) if the call is abandoned.
    ///
    /// # Safety
    /// `point` must stay valid for the call; anything `f` owned when it is
    /// abandoned is leaked (no destructors run) and locks it held stay held.
    pub fn recovery_call(f: extern "C" fn(*mut u8), arg: *mut u8, point: *mut RecoveryPoint) -> u64;

    /// Abandons the running call of [`recovery_call`] whose point is `point`,
    /// making it return `code` (nonzero).
    ///
    /// # Safety
    /// Must be called on the same CPU, below the frame of that
    /// `recovery_call`, which must not have returned yet.
    pub fn recovery_resume(point: *const RecoveryPoint, code: u64) -> !;

    /// Calls `f(arg)` with RSP = `stack_top` (16-byte aligned), then returns.
    ///
    /// # Safety
    /// `stack_top` must be the top of a mapped, unused stack big enough for `f`.
    pub fn call_on_stack(f: extern "C" fn(*mut u8), arg: *mut u8, stack_top: u64);

    /// The instruction where an abandoned `recovery_call` resumes.
    pub static recovery_landing: u8;
}
