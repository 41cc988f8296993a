//! [`Condvar`]: waiting for a condition under a [`Mutex`], shaped like
//! `std::sync::Condvar`.

use core::sync::atomic::{AtomicU32, Ordering};
use core::time::Duration;

use super::futex;
use super::mutex::MutexGuard;
use super::poison::{LockResult, PoisonError};
use crate::time::Instant;

/// A condition variable: threads sleep in [`wait`](Condvar::wait) until
/// another thread [notifies](Condvar::notify_one) them.
///
/// It is a futex word counting notifications: a waiter reads the count,
/// releases the mutex and sleeps only while the count is unchanged, so a
/// notification between the release and the sleep is never lost. As with
/// std, wakeups may be spurious: wait in a loop on the condition (or use
/// [`wait_while`](Condvar::wait_while)).
///
/// ```ignore
/// use libos::sync::{Arc, Condvar, Mutex};
/// use libos::thread;
///
/// let pair = Arc::new((Mutex::new(false), Condvar::new()));
/// let pair2 = Arc::clone(&pair);
/// thread::spawn(move || {
///     let (ready, cv) = &*pair2;
///     *ready.lock().unwrap() = true;
///     cv.notify_one();
/// });
/// let (ready, cv) = &*pair;
/// let _ready = cv.wait_while(ready.lock().unwrap(), |ready| !*ready).unwrap();
/// ```
#[derive(Debug, Default)]
pub struct Condvar {
    notifications: AtomicU32,
}

/// Whether a timed wait ended by its timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitTimeoutResult(bool);

impl WaitTimeoutResult {
    /// True when the wait ended because the time ran out.
    pub fn timed_out(&self) -> bool {
        self.0
    }
}

impl Condvar {
    /// A condition variable nobody waits on.
    pub const fn new() -> Condvar {
        Condvar { notifications: AtomicU32::new(0) }
    }

    /// Releases `guard`'s mutex, sleeps until notified (or spuriously
    /// woken), and takes the mutex again.
    pub fn wait<'a, T>(&self, guard: MutexGuard<'a, T>) -> LockResult<MutexGuard<'a, T>> {
        Ok(self.wait_until(guard, None).0)
    }

    /// Waits while `condition` holds for the data.
    pub fn wait_while<'a, T, F>(&self, mut guard: MutexGuard<'a, T>, mut condition: F) -> LockResult<MutexGuard<'a, T>>
    where
        F: FnMut(&mut T) -> bool,
    {
        while condition(&mut *guard) {
            guard = self.wait(guard)?;
        }
        Ok(guard)
    }

    /// As [`wait`](Condvar::wait), for at most `timeout`.
    pub fn wait_timeout<'a, T>(
        &self,
        guard: MutexGuard<'a, T>,
        timeout: Duration,
    ) -> LockResult<(MutexGuard<'a, T>, WaitTimeoutResult)> {
        Ok(self.wait_until(guard, Some(deadline(timeout))))
    }

    /// Waits while `condition` holds, for at most `timeout` in all; the
    /// result says whether the time ran out (with the condition still
    /// holding).
    pub fn wait_timeout_while<'a, T, F>(
        &self,
        mut guard: MutexGuard<'a, T>,
        timeout: Duration,
        mut condition: F,
    ) -> LockResult<(MutexGuard<'a, T>, WaitTimeoutResult)>
    where
        F: FnMut(&mut T) -> bool,
    {
        let end = deadline(timeout);
        while condition(&mut *guard) {
            let (g, result) = self.wait_until(guard, Some(end));
            guard = g;
            if result.timed_out() {
                let still = condition(&mut *guard);
                return Ok((guard, WaitTimeoutResult(still)));
            }
        }
        Ok((guard, WaitTimeoutResult(false)))
    }

    /// Wakes one waiting thread, if any.
    pub fn notify_one(&self) {
        self.notifications.fetch_add(1, Ordering::Release);
        futex::wake_one(&self.notifications);
    }

    /// Wakes every waiting thread.
    pub fn notify_all(&self) {
        self.notifications.fetch_add(1, Ordering::Release);
        futex::wake_all(&self.notifications);
    }

    fn wait_until<'a, T>(
        &self,
        guard: MutexGuard<'a, T>,
        deadline: Option<Instant>,
    ) -> (MutexGuard<'a, T>, WaitTimeoutResult) {
        let seen = self.notifications.load(Ordering::Acquire);
        let mutex = guard.mutex();
        drop(guard);
        let woken = match deadline {
            None => futex::wait(&self.notifications, seen, None),
            Some(end) => {
                let left = end.checked_duration_since(Instant::now());
                left.is_some_and(|left| futex::wait(&self.notifications, seen, Some(left)))
            }
        };
        let guard = mutex.lock().unwrap_or_else(PoisonError::into_inner);
        (guard, WaitTimeoutResult(!woken))
    }
}

/// `timeout` from now, saturating far in the future.
fn deadline(timeout: Duration) -> Instant {
    Instant::now().checked_add(timeout).unwrap_or(Instant::FAR_FUTURE)
}
