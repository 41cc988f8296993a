//! How file objects block (a pipe waiting for data or room): one helper,
//! so the policy (what ends a wait besides the condition) lives in one
//! place.

use libos_abi::errno::Errno;

use crate::sched::wait::{WaitQueue, WaitResult};

/// Blocks the calling thread on `queue` until `ready()` holds (`Ok`) or the
/// wait is interrupted (`EINTR`: its app is ending, so the thread must
/// return and die). `ready` is re-checked after the thread is on the queue,
/// so a waker that changes the condition and then calls `wake_all` is never
/// missed (see [`crate::sched::wait`]). `ENOMEM` if the queue cannot grow.
pub fn wait_until(queue: &WaitQueue, ready: impl FnMut() -> bool) -> Result<(), Errno> {
    match queue.wait_event(None, ready)? {
        WaitResult::Ready => Ok(()),
        WaitResult::Interrupted | WaitResult::TimedOut => Err(Errno::EINTR),
    }
}
