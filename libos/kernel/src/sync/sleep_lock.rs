//! A lock whose waiters sleep (Linux's `mutex` or the write side of
//! `mmap_lock`), for work that may take long: its holder keeps interrupts
//! on and may itself sleep or take spin locks; a waiter blocks on a wait
//! queue instead of spinning, and gives up if its thread is killed
//! (`mutex_lock_killable`).

use core::cell::Cell;
use core::sync::atomic::{AtomicBool, Ordering};

use crate::sched;
use crate::sched::wait::WaitQueue;

/// A sleeping, killable mutual-exclusion lock (no value inside: it guards
/// a protocol, such as the memory calls of one address space).
pub struct SleepLock {
    held: AtomicBool,
    waiters: WaitQueue,
}

/// The thread was killed while it waited for the lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Killed;

impl Default for SleepLock {
    fn default() -> Self {
        Self::new()
    }
}

impl SleepLock {
    /// A new, free lock.
    pub const fn new() -> SleepLock {
        SleepLock { held: AtomicBool::new(false), waiters: WaitQueue::new() }
    }

    fn try_take(&self) -> bool {
        self.held.compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed).is_ok()
    }

    /// Takes the lock, sleeping while another thread holds it; fails if
    /// the calling thread is killed meanwhile. Call with interrupts on.
    pub fn lock_killable(&self) -> Result<SleepLockGuard<'_>, Killed> {
        let killed = || sched::with_current(|t| t.flags.killed());
        let taken = Cell::new(self.try_take());
        if !taken.get() {
            self.waiters.wait_until(|| {
                taken.set(self.try_take());
                taken.get() || killed()
            });
        }
        if !taken.get() {
            return Err(Killed);
        }
        Ok(SleepLockGuard { lock: self })
    }
}

/// The held [`SleepLock`]; dropping it lets the next waiter in.
pub struct SleepLockGuard<'a> {
    lock: &'a SleepLock,
}

impl Drop for SleepLockGuard<'_> {
    fn drop(&mut self) {
        self.lock.held.store(false, Ordering::Release);
        self.lock.waiters.wake_all();
    }
}
