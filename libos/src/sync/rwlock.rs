//! [`RwLock`]: many readers or one writer, shaped like `std::sync::RwLock`.

use core::cell::UnsafeCell;
use core::fmt;
use core::marker::PhantomData;
use core::ops::{Deref, DerefMut};

use super::poison::{LockResult, TryLockError, TryLockResult};
use super::{Condvar, Mutex};

/// A reader-writer lock: any number of threads may read at once, a writer
/// has the data alone. Writers take precedence over new readers once they
/// wait, so a stream of readers cannot starve a writer.
///
/// ```ignore
/// use libos::sync::RwLock;
///
/// let lock = RwLock::new(5);
/// {
///     let r1 = lock.read().unwrap();
///     let r2 = lock.read().unwrap();
///     assert_eq!(*r1 + *r2, 10);
/// }
/// *lock.write().unwrap() += 1;
/// assert_eq!(*lock.read().unwrap(), 6);
/// ```
pub struct RwLock<T: ?Sized> {
    state: Mutex<State>,
    changed: Condvar,
    data: UnsafeCell<T>,
}

#[derive(Debug, Default)]
struct State {
    readers: usize,
    writer: bool,
    writers_waiting: usize,
}

impl State {
    fn may_read(&self) -> bool {
        !self.writer && self.writers_waiting == 0
    }

    fn may_write(&self) -> bool {
        !self.writer && self.readers == 0
    }
}

// SAFETY: writers get the data alone (T: Send moves between threads);
// readers share `&T` across threads (T: Sync).
unsafe impl<T: ?Sized + Send> Send for RwLock<T> {}
// SAFETY: as above.
unsafe impl<T: ?Sized + Send + Sync> Sync for RwLock<T> {}

impl<T> RwLock<T> {
    /// A new, unlocked lock holding `value`.
    pub const fn new(value: T) -> RwLock<T> {
        RwLock {
            state: Mutex::new(State { readers: 0, writer: false, writers_waiting: 0 }),
            changed: Condvar::new(),
            data: UnsafeCell::new(value),
        }
    }

    /// The data, taking the lock apart.
    pub fn into_inner(self) -> LockResult<T> {
        Ok(self.data.into_inner())
    }
}

impl<T: ?Sized> RwLock<T> {
    fn state(&self) -> super::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Shared access, waiting while a writer holds or waits for the lock.
    pub fn read(&self) -> LockResult<RwLockReadGuard<'_, T>> {
        let state = self.state();
        let mut state = self.changed.wait_while(state, |s| !s.may_read()).unwrap_or_else(|e| e.into_inner());
        state.readers += 1;
        Ok(RwLockReadGuard { lock: self, _not_send: PhantomData })
    }

    /// Shared access if it is available right now.
    pub fn try_read(&self) -> TryLockResult<RwLockReadGuard<'_, T>> {
        let mut state = self.state();
        if !state.may_read() {
            return Err(TryLockError::WouldBlock);
        }
        state.readers += 1;
        Ok(RwLockReadGuard { lock: self, _not_send: PhantomData })
    }

    /// Exclusive access, waiting for readers and any writer to finish.
    pub fn write(&self) -> LockResult<RwLockWriteGuard<'_, T>> {
        let mut state = self.state();
        state.writers_waiting += 1;
        let mut state = self.changed.wait_while(state, |s| !s.may_write()).unwrap_or_else(|e| e.into_inner());
        state.writers_waiting -= 1;
        state.writer = true;
        Ok(RwLockWriteGuard { lock: self, _not_send: PhantomData })
    }

    /// Exclusive access if it is available right now.
    pub fn try_write(&self) -> TryLockResult<RwLockWriteGuard<'_, T>> {
        let mut state = self.state();
        if !state.may_write() {
            return Err(TryLockError::WouldBlock);
        }
        state.writer = true;
        Ok(RwLockWriteGuard { lock: self, _not_send: PhantomData })
    }

    /// Whether the lock is poisoned: never here.
    pub fn is_poisoned(&self) -> bool {
        false
    }

    /// The data, through exclusive access (no locking needed).
    pub fn get_mut(&mut self) -> LockResult<&mut T> {
        Ok(self.data.get_mut())
    }
}

impl<T: Default> Default for RwLock<T> {
    fn default() -> RwLock<T> {
        RwLock::new(T::default())
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("RwLock");
        match self.try_read() {
            Ok(guard) => d.field("data", &&*guard),
            Err(_) => d.field("data", &format_args!("<locked>")),
        };
        d.finish_non_exhaustive()
    }
}

/// Shared access to an [`RwLock`]'s data; dropping it lets go.
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct RwLockReadGuard<'a, T: ?Sized + 'a> {
    lock: &'a RwLock<T>,
    _not_send: PhantomData<*const ()>,
}

// SAFETY: sharing the guard shares `&T` (T: Sync).
unsafe impl<T: ?Sized + Sync> Sync for RwLockReadGuard<'_, T> {}

impl<T: ?Sized> Deref for RwLockReadGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: a read guard means no writer holds the lock.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> Drop for RwLockReadGuard<'_, T> {
    fn drop(&mut self) {
        let mut state = self.lock.state();
        state.readers -= 1;
        if state.readers == 0 {
            drop(state);
            self.lock.changed.notify_all();
        }
    }
}

/// Exclusive access to an [`RwLock`]'s data; dropping it lets go.
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct RwLockWriteGuard<'a, T: ?Sized + 'a> {
    lock: &'a RwLock<T>,
    _not_send: PhantomData<*const ()>,
}

// SAFETY: sharing the guard shares `&T` (T: Sync).
unsafe impl<T: ?Sized + Sync> Sync for RwLockWriteGuard<'_, T> {}

impl<T: ?Sized> Deref for RwLockWriteGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: a write guard means this thread alone holds the lock.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> DerefMut for RwLockWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as above, exclusively.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T: ?Sized> Drop for RwLockWriteGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.state().writer = false;
        self.lock.changed.notify_all();
    }
}
