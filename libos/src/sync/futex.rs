//! The futex: the one blocking primitive every lock here is built on.
//!
//! A futex is an ordinary `AtomicU32` in app memory. [`wait`] sleeps in the
//! kernel only while the value still equals what the caller last saw (so a
//! wake between the caller's check and its sleep is never lost), and
//! [`wake`] wakes threads sleeping on the same address.
//!
//! ```ignore
//! use core::sync::atomic::{AtomicU32, Ordering};
//! use libos::sync::futex;
//!
//! static READY: AtomicU32 = AtomicU32::new(0);
//!
//! // A waiting thread:
//! while READY.load(Ordering::Acquire) == 0 {
//!     futex::wait(&READY, 0, None);
//! }
//! // The thread that makes it ready:
//! READY.store(1, Ordering::Release);
//! futex::wake_all(&READY);
//! ```

use core::ptr;
use core::sync::atomic::AtomicU32;
use core::time::Duration;

use libos_abi::abi_types::Timespec;
use libos_abi::abi_types::futex_op::{FUTEX_PRIVATE_FLAG, FUTEX_WAIT, FUTEX_WAKE};
use libos_abi::errno::Errno;
use libos_abi::syscalls::user;

/// Sleeps while `*futex == expected`, at most `timeout` (none: no limit).
///
/// Returns `false` only when the timeout passed; `true` when woken, when the
/// value had already changed, or spuriously (callers re-check their
/// condition in a loop).
pub fn wait(futex: &AtomicU32, expected: u32, timeout: Option<Duration>) -> bool {
    let ts =
        timeout.map(|d| Timespec { tv_sec: d.as_secs().min(i64::MAX as u64) as i64, tv_nsec: d.subsec_nanos() as i64 });
    let ts_ptr = ts.as_ref().map_or(ptr::null(), |t| t as *const Timespec);
    // SAFETY: `futex` is a live u32 for the whole call; the timeout, when
    // given, is a valid Timespec on this stack; uaddr2 is unused.
    let r =
        unsafe { user::futex(futex.as_ptr(), FUTEX_WAIT | FUTEX_PRIVATE_FLAG, expected, ts_ptr, ptr::null_mut(), 0) };
    r != Err(Errno::ETIMEDOUT)
}

/// Wakes up to `count` threads waiting on `futex`; returns how many woke.
pub fn wake(futex: &AtomicU32, count: u32) -> usize {
    // SAFETY: as in `wait`; FUTEX_WAKE only reads the address.
    unsafe { user::futex(futex.as_ptr(), FUTEX_WAKE | FUTEX_PRIVATE_FLAG, count, ptr::null(), ptr::null_mut(), 0) }
        .unwrap_or(0)
}

/// Wakes one thread waiting on `futex`; whether there was one.
pub fn wake_one(futex: &AtomicU32) -> bool {
    wake(futex, 1) > 0
}

/// Wakes every thread waiting on `futex`.
pub fn wake_all(futex: &AtomicU32) {
    wake(futex, i32::MAX as u32);
}
