//! How file objects block (a pipe waiting for data or room): one helper,
//! so the policy (what ends a wait besides the condition) lives in one
//! place.

use libos_abi::errno::Errno;

use crate::sched::wait::{WaitQueue, WaitResult};

/// Blocks the calling thread on `queue` until `ready()` holds (`Ok`) or the
/// wait is interrupted: its app is ending (the thread must return and
/// die), or a signal is pending (`-ERESTARTSYS`, which the return to ring 3
/// turns into `EINTR` or, under `SA_RESTART`, a restart: Linux's
/// `pipe_read`/`pipe_write`). `ready` is re-checked after the thread is on the queue,
/// so a waker that changes the condition and then calls `wake_all` is never
/// missed (see [`crate::sched::wait`]). `ENOMEM` if the queue cannot grow.
pub fn wait_until(queue: &WaitQueue, ready: impl FnMut() -> bool) -> Result<(), Errno> {
    match queue.wait_event(None, ready)? {
        WaitResult::Ready => Ok(()),
        WaitResult::Interrupted | WaitResult::TimedOut => Err(Errno::ERESTARTSYS),
    }
}
