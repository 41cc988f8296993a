//! Waiting: blocking until a condition holds, a deadline passes, or the
//! wait is interrupted (the app is dying, or a signal is pending).
//!
//! # The waiter
//!
//! A task waits for one thing at a time, so the task itself is the waiter:
//! to wait it marks itself [`TaskState::Blocked`], puts itself on every
//! [`WaitQueue`] whose event can end the wait (one for a read, several for
//! `poll`/`epoll`), re-checks its condition, arms a timer for its deadline
//! and switches away. Whatever wakes it first (a waker on any of its
//! queues, the timer, a kill) moves it from `Blocked` to `Runnable`
//! (`Task::try_unblock`; the others find it not blocked and do nothing).
//! Once it runs again it takes itself off every queue and cancels its
//! timer at once (so nothing of a finished wait stays in the kernel), then
//! looks at why it woke. A wake-up never carries a meaning of its own: the
//! waiter re-checks, so spurious wake-ups are harmless.
//!
//! # Results
//!
//! [`wait_event`] returns a [`WaitResult`]: [`WaitResult::Ready`] (the
//! condition holds; it wins over the others), [`WaitResult::Interrupted`]
//! (the task must stop waiting: its app is ending, see [`interrupted`];
//! system calls turn it into `EINTR`, and a signal will be one more reason
//! here), or [`WaitResult::TimedOut`]. Kernel memory a wait needs (a queue
//! slot, a timer event) is allocated fallibly: `Err(ENOMEM)` ends that
//! wait, never the kernel; an app's armed timers are charged to it
//! (`Resource::Timers`, `EAGAIN` at the limit).
//!
//! # No lost wake-ups
//!
//! A waker changes the condition, then calls [`WaitQueue::wake_all`] (which
//! takes the queue's lock). The waiter registers on its queues, then
//! (after a full fence) checks the condition and [`interrupted`]: a waker
//! that changed the condition after the check finds the waiter on its
//! queue; one that changed it before is seen by the check. A kill sets
//! `killed` and then `try_unblock`s every thread of the app, so the same
//! argument holds for it.
//!
//! # The older API
//!
//! [`WaitQueue::wait_until`] and [`WaitQueue::wait_until_deadline`] are
//! kept for kernel-internal waits (drivers, the process reaper): they are
//! built on the same code but do not stop for a kill. Waits on an app's
//! behalf use [`wait_event`] (or [`WaitQueue::wait_event`]).

use alloc::collections::VecDeque;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicU64, Ordering, fence};

use libos_abi::errno::Errno;
use libos_kcore::limits::Resource;

use super::{Task, TaskState, current, enqueue, schedule, timer};
use crate::arch::x86_64::interrupts;
use crate::sync::SpinLock;

/// Why a wait ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitResult {
    /// The condition holds.
    Ready,
    /// The deadline passed first.
    TimedOut,
    /// The task must stop waiting (its app is ending): `EINTR` for a system
    /// call, which the return to ring 3 then turns into the thread's end.
    Interrupted,
}

/// Whether `task` must stop waiting: its app is ending, or a signal it
/// does not block is pending for it (`SIGPENDING`, Linux's
/// `signal_pending`): the call then returns `-ERESTART*`, which the return
/// to ring 3 turns into `EINTR` or a restart (`signal::delivery`). The
/// sender wakes the task (`signal::wake_for_signal`) after setting the bit.
pub fn interrupted(task: &Task) -> bool {
    task.flags.any(super::thread_flags::bit::KILL_PENDING | super::thread_flags::bit::SIGPENDING)
}

/// Tasks waiting for something.
pub struct WaitQueue {
    waiters: SpinLock<VecDeque<Arc<Task>>>,
    /// How many times [`WaitQueue::wake_all`] ran: `poll` and `epoll` read
    /// it to learn that something changed (see [`WaitQueue::wake_count`]).
    wakes: AtomicU64,
}

impl Default for WaitQueue {
    fn default() -> Self {
        Self::new()
    }
}

impl WaitQueue {
    /// An empty queue.
    pub const fn new() -> WaitQueue {
        WaitQueue { waiters: SpinLock::new(VecDeque::new()), wakes: AtomicU64::new(0) }
    }

    /// Puts `task` on the queue; `ENOMEM` if the queue cannot grow.
    fn add(&self, task: &Arc<Task>) -> Result<(), Errno> {
        let mut q = self.waiters.lock();
        q.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
        q.push_back(task.clone());
        Ok(())
    }

    /// Takes `task` off the queue (if a waker has not already).
    fn remove(&self, task: &Arc<Task>) {
        let mut q = self.waiters.lock();
        if let Some(i) = q.iter().position(|t| Arc::ptr_eq(t, task)) {
            q.remove(i);
        }
    }

    /// [`wait_event`] on this queue alone.
    pub fn wait_event(&self, deadline: Option<u64>, ready: impl FnMut() -> bool) -> Result<WaitResult, Errno> {
        wait_event(&[self], deadline, ready)
    }

    /// Blocks the current task until `ready()` is true, whatever else
    /// happens (a kill does not end this wait: for kernel-internal waits
    /// whose condition is sure to come; an app's waits use
    /// [`WaitQueue::wait_event`]). A wake-up after the condition changed
    /// cannot be missed (see the module documentation).
    pub fn wait_until(&self, mut ready: impl FnMut() -> bool) {
        loop {
            match wait(&[self], None, false, &mut ready) {
                Ok(WaitResult::Ready) => return,
                // Out of memory for the queue slot: let others run (and
                // free some), then try again.
                Err(_) => super::yield_now(),
                Ok(_) => {}
            }
        }
    }

    /// Blocks the current task until `ready()` is true (returns true) or
    /// the TSC reaches `deadline` (returns false; `None`: no deadline). A
    /// kill does not end the wait, as in [`WaitQueue::wait_until`].
    pub fn wait_until_deadline(&self, deadline: Option<u64>, mut ready: impl FnMut() -> bool) -> bool {
        loop {
            match wait(&[self], deadline, false, &mut ready) {
                Ok(WaitResult::Ready) => return true,
                Ok(WaitResult::TimedOut) => return false,
                Ok(WaitResult::Interrupted) => {}
                Err(_) => super::yield_now(),
            }
        }
    }

    /// How many times the queue was woken so far. A waker changes its
    /// condition, then wakes: a reader that reads the count, then looks at
    /// the condition, and later finds the same count, knows nothing changed
    /// in between (how epoll's edge-triggered watches see a new event, and
    /// how `poll` waits for any of many files without a callback per file).
    pub fn wake_count(&self) -> u64 {
        self.wakes.load(Ordering::SeqCst)
    }

    /// How many tasks wait here now (for diagnostic dumps).
    #[cfg(feature = "testing")]
    pub fn waiter_count(&self) -> usize {
        self.waiters.lock().len()
    }

    /// Wakes every waiter (each re-checks its condition).
    pub fn wake_all(&self) {
        self.wakes.fetch_add(1, Ordering::SeqCst);
        let mut q = self.waiters.lock();
        while let Some(t) = q.pop_front() {
            if t.try_unblock() {
                enqueue(t);
            }
        }
    }
}

/// Blocks the current task until `ready()` is true, the TSC reaches
/// `deadline` (`None`: never), or the task is [`interrupted`]; wakers of any
/// of `queues` end the sleep for a re-check. `ready` runs with interrupts
/// off (it must not block); it should be cheap, as it runs on every
/// wake-up. `ENOMEM` when a queue or the timer list cannot grow.
pub fn wait_event(
    queues: &[&WaitQueue],
    deadline: Option<u64>,
    mut ready: impl FnMut() -> bool,
) -> Result<WaitResult, Errno> {
    wait(queues, deadline, true, &mut ready)
}

/// Whether the TSC has reached `deadline`.
fn expired(deadline: Option<u64>) -> bool {
    deadline.is_some_and(|d| crate::time::rdtsc() >= d)
}

/// The wait loop behind every wait.
fn wait(
    queues: &[&WaitQueue],
    deadline: Option<u64>,
    interruptible: bool,
    ready: &mut dyn FnMut() -> bool,
) -> Result<WaitResult, Errno> {
    let me = current();
    let stop = |me: &Task| interruptible && interrupted(me);
    loop {
        if ready() {
            return Ok(WaitResult::Ready);
        }
        if stop(&me) {
            return Ok(WaitResult::Interrupted);
        }
        if expired(deadline) {
            return Ok(WaitResult::TimedOut);
        }
        let irqs = interrupts::disable_and_save();
        me.set_state(TaskState::Blocked);
        let mut registered = 0;
        let mut result = Ok(());
        for q in queues {
            result = q.add(&me);
            if result.is_err() {
                break;
            }
            registered += 1;
        }
        // The registrations are visible before the check (see "No lost
        // wake-ups").
        fence(Ordering::SeqCst);
        // `ready` is not called again once it said yes: a caller may act in
        // it (a lock taken inside the check) and a second call would undo
        // what the first one saw.
        let now_ready = result.is_ok() && ready();
        if result.is_ok() && !now_ready {
            result = sleep_blocked(&me, deadline, interruptible);
        } else {
            cancel_block(&me);
        }
        for q in &queues[..registered] {
            q.remove(&me);
        }
        interrupts::restore(irqs);
        result?;
        if now_ready {
            return Ok(WaitResult::Ready);
        }
    }
}

/// Sleeps until something wakes the current task, for wait structures of
/// their own (futexes): the caller has marked it [`TaskState::Blocked`]
/// (interrupts off) and made it findable by its wakers, and checked its
/// condition after that. This checks the other reasons to stop (an
/// interruption if `interruptible`, the deadline), arms the deadline's
/// timer, switches away, and cancels the timer once back. On return the
/// task runs again; the caller takes itself off its structures and
/// re-checks why it woke.
pub fn sleep_blocked(me: &Arc<Task>, deadline: Option<u64>, interruptible: bool) -> Result<(), Errno> {
    // The caller's registration is visible before the checks below (see
    // "No lost wake-ups").
    fence(Ordering::SeqCst);
    if (interruptible && interrupted(me)) || expired(deadline) {
        cancel_block(me);
        return Ok(());
    }
    // A timer held for an app is charged to it ([`Resource::Timers`]).
    let usage = me.process.as_ref().map(|p| &p.usage);
    let timer = match deadline {
        Some(d) => {
            if let Some(u) = usage
                && u.try_charge(Resource::Timers).is_err()
            {
                cancel_block(me);
                return Err(Errno::EAGAIN);
            }
            match timer::arm_wake(d, me) {
                Ok(t) => Some(t),
                Err(e) => {
                    if let Some(u) = usage {
                        u.release(Resource::Timers);
                    }
                    cancel_block(me);
                    return Err(e);
                }
            }
        }
        None => None,
    };
    schedule();
    if let Some(t) = timer {
        timer::cancel(t);
        if let Some(u) = usage {
            u.release(Resource::Timers);
        }
    }
    Ok(())
}

/// The current task, marked blocked, does not sleep after all: back to
/// running, or, if a waker made it runnable and queued it meanwhile, through
/// the scheduler (which takes it off the run queue).
fn cancel_block(me: &Task) {
    if !me.try_resume() {
        schedule();
    }
}

/// Sleeps until the TSC reaches `deadline`. Returns `false` if the task
/// was interrupted (its app is ending) before that.
pub fn sleep_until(deadline: u64) -> Result<bool, Errno> {
    Ok(wait_event(&[], Some(deadline), || false)? == WaitResult::TimedOut)
}
