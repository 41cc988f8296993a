//! How file objects block (a pipe waiting for data or room): one helper,
//! so the policy (what ends a wait besides the condition) lives in one
//! place.

use libos_abi::errno::Errno;

use crate::sched::wait::WaitQueue;

/// Blocks the calling thread on `queue` until `ready()` holds (`Ok`) or its
/// process is being ended (`EINTR`: the thread must return so it can die).
/// `ready` is checked under the queue's lock, so a waker that changes the
/// condition and then calls `wake_all` is never missed.
pub fn wait_until(queue: &WaitQueue, ready: impl Fn() -> bool) -> Result<(), Errno> {
    let me = crate::sched::current();
    let killed = || me.killed.load(core::sync::atomic::Ordering::Acquire);
    queue.wait_until(|| ready() || killed());
    if killed() { Err(Errno::EINTR) } else { Ok(()) }
}
