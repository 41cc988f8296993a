//! Wait queues: blocking until a condition holds.

use alloc::collections::VecDeque;
use alloc::sync::Arc;

use super::{Task, TaskState, current, enqueue, schedule};
use crate::sync::SpinLock;

/// Tasks waiting for something.
pub struct WaitQueue {
    waiters: SpinLock<VecDeque<Arc<Task>>>,
}

impl Default for WaitQueue {
    fn default() -> Self {
        Self::new()
    }
}

impl WaitQueue {
    /// An empty queue.
    pub const fn new() -> WaitQueue {
        WaitQueue { waiters: SpinLock::new(VecDeque::new()) }
    }

    /// Blocks the current task until `ready()` is true. `ready` is checked
    /// under the queue's lock, so a waker that changes the condition and then
    /// calls [`WaitQueue::wake_all`] cannot be missed.
    pub fn wait_until(&self, ready: impl Fn() -> bool) {
        loop {
            {
                let mut q = self.waiters.lock();
                if ready() {
                    return;
                }
                let me = current();
                me.set_state(TaskState::Blocked);
                q.push_back(me);
            }
            schedule();
        }
    }

    /// Wakes every waiter.
    pub fn wake_all(&self) {
        let mut q = self.waiters.lock();
        while let Some(t) = q.pop_front() {
            if t.try_unblock() {
                enqueue(t);
            }
        }
    }
}
