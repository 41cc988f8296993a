//! A sleeping lock: a thread that finds it taken blocks on a wait queue
//! instead of spinning, with interrupts as they were. For long critical
//! sections that may themselves sleep or take spin locks (a file system
//! waiting for its disk; the memory calls of one address space, as the
//! write side of Linux's `mmap_lock`): Linux's `struct mutex` in
//! `kernel/locking/mutex.c`. Only tasks may take it, never an interrupt
//! handler. [`Mutex::lock_killable`] gives up when the waiting thread is
//! killed (`mutex_lock_killable`); `Mutex<()>` guards a protocol rather
//! than a value.

use core::cell::UnsafeCell;
use core::ops::{Deref, DerefMut};
use core::sync::atomic::{AtomicBool, Ordering};

use crate::sched;
use crate::sched::wait::WaitQueue;

/// A mutual-exclusion lock whose waiters sleep.
pub struct Mutex<T: ?Sized> {
    locked: AtomicBool,
    waiters: WaitQueue,
    value: UnsafeCell<T>,
}

// SAFETY: the lock hands out access to `value` to one holder at a time.
unsafe impl<T: ?Sized + Send> Sync for Mutex<T> {}
// SAFETY: moving the lock moves the value.
unsafe impl<T: ?Sized + Send> Send for Mutex<T> {}

impl<T> Mutex<T> {
    /// A new, unlocked lock.
    pub const fn new(value: T) -> Mutex<T> {
        Mutex { locked: AtomicBool::new(false), waiters: WaitQueue::new(), value: UnsafeCell::new(value) }
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Takes the lock, sleeping while another task holds it.
    pub fn lock(&self) -> MutexGuard<'_, T> {
        loop {
            if let Some(g) = self.try_lock() {
                return g;
            }
            // Checked under the queue's lock: an unlock between the failed
            // attempt and the queueing wakes us (it takes that lock too).
            self.waiters.wait_until(|| !self.locked.load(Ordering::Acquire));
        }
    }

    /// Takes the lock, sleeping while another task holds it; fails if the
    /// calling thread is killed meanwhile (its app is ending). Call with
    /// interrupts on.
    pub fn lock_killable(&self) -> Result<MutexGuard<'_, T>, Killed> {
        let killed = || sched::with_current(|t| t.flags.killed());
        loop {
            if let Some(g) = self.try_lock() {
                return Ok(g);
            }
            if killed() {
                return Err(Killed);
            }
            self.waiters.wait_until(|| !self.locked.load(Ordering::Acquire) || killed());
        }
    }

    /// Takes the lock if it is free.
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        // Not `then_some`: a guard made on failure would unlock when dropped.
        if self.locked.compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed).is_ok() {
            Some(MutexGuard { lock: self })
        } else {
            None
        }
    }
}

/// The thread was killed while it waited for the lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Killed;

/// Access to the value of a held [`Mutex`].
pub struct MutexGuard<'a, T: ?Sized> {
    lock: &'a Mutex<T>,
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard exists only while its task holds the lock.
        unsafe { &*self.lock.value.get() }
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as above, and `&mut self` makes this the only reference.
        unsafe { &mut *self.lock.value.get() }
    }
}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.locked.store(false, Ordering::Release);
        self.lock.waiters.wake_all();
    }
}
