//! Lock poisoning, as `std::sync` shapes it.
//!
//! In std, a thread that panics while holding a lock "poisons" it, and
//! later `lock` calls return `Err(PoisonError)`. Here a panic ends the whole
//! app (panics abort; there is no unwinding), so no thread can go on after
//! one and a lock is never poisoned: these types exist so code written for
//! std compiles unchanged, and the `Err` cases never occur.

use core::fmt;

/// The result of taking a lock: always `Ok` here (see the module docs).
pub type LockResult<Guard> = Result<Guard, PoisonError<Guard>>;

/// The result of `try_lock`: `Err(TryLockError::WouldBlock)` when the lock
/// is held.
pub type TryLockResult<Guard> = Result<Guard, TryLockError<Guard>>;

/// A lock was poisoned (never happens here; see the module docs).
pub struct PoisonError<T> {
    guard: T,
}

impl<T> PoisonError<T> {
    /// Wraps `guard`.
    pub fn new(guard: T) -> PoisonError<T> {
        PoisonError { guard }
    }

    /// The guard, to use the data anyway.
    pub fn into_inner(self) -> T {
        self.guard
    }

    /// The guard, borrowed.
    pub fn get_ref(&self) -> &T {
        &self.guard
    }

    /// The guard, borrowed mutably.
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.guard
    }
}

impl<T> fmt::Debug for PoisonError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PoisonError").finish_non_exhaustive()
    }
}

impl<T> fmt::Display for PoisonError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("poisoned lock: another task failed inside")
    }
}

impl<T> core::error::Error for PoisonError<T> {}

/// Why `try_lock` failed.
pub enum TryLockError<T> {
    /// The lock was poisoned (never happens here).
    Poisoned(PoisonError<T>),
    /// Another thread holds the lock.
    WouldBlock,
}

impl<T> From<PoisonError<T>> for TryLockError<T> {
    fn from(e: PoisonError<T>) -> TryLockError<T> {
        TryLockError::Poisoned(e)
    }
}

impl<T> fmt::Debug for TryLockError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryLockError::Poisoned(..) => f.write_str("Poisoned(..)"),
            TryLockError::WouldBlock => f.write_str("WouldBlock"),
        }
    }
}

impl<T> fmt::Display for TryLockError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryLockError::Poisoned(p) => fmt::Display::fmt(p, f),
            TryLockError::WouldBlock => f.write_str("try_lock failed because the operation would block"),
        }
    }
}

impl<T> core::error::Error for TryLockError<T> {}
