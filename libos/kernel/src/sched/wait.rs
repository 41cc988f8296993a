//! Wait queues: blocking until a condition holds.

use alloc::collections::VecDeque;
use alloc::sync::Arc;

use super::{Task, TaskState, current, enqueue, schedule, timer};
use crate::arch::x86_64::interrupts;
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

    /// Blocks the current task until `ready()` is true (returns true) or
    /// the TSC reaches `deadline` (returns false; `None`: no deadline).
    /// `ready` is checked under the queue's lock, as in
    /// [`WaitQueue::wait_until`].
    pub fn wait_until_deadline(&self, deadline: Option<u64>, ready: impl Fn() -> bool) -> bool {
        loop {
            let me = current();
            let irqs = interrupts::disable_and_save();
            {
                let mut q = self.waiters.lock();
                if ready() {
                    interrupts::restore(irqs);
                    return true;
                }
                if deadline.is_some_and(|d| crate::time::rdtsc() >= d) {
                    interrupts::restore(irqs);
                    return false;
                }
                me.set_state(TaskState::Blocked);
                q.push_back(me.clone());
            }
            // Woken by `wake_all` (which took us off the queue) or by the
            // timer (which did not): leave the queue either way.
            timer::block_until(deadline);
            interrupts::restore(irqs);
            self.waiters.lock().retain(|t| !Arc::ptr_eq(t, &me));
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
