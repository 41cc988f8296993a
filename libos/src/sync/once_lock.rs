//! [`OnceLock`] and [`LazyLock`]: values set once, shaped like std's.

use core::cell::{Cell, UnsafeCell};
use core::fmt;
use core::mem::MaybeUninit;
use core::ops::Deref;

use super::once::Once;

/// A cell written at most once, then readable from every thread, like
/// `std::sync::OnceLock`. Handy for statics that need runtime set-up.
///
/// ```ignore
/// use libos::sync::OnceLock;
///
/// static CPUS: OnceLock<usize> = OnceLock::new();
/// let n = *CPUS.get_or_init(libos::cpu::count);
/// assert_eq!(CPUS.get(), Some(&n));
/// ```
pub struct OnceLock<T> {
    once: Once,
    value: UnsafeCell<MaybeUninit<T>>,
}

// SAFETY: the value is written once (under the Once) and then only read, so
// sharing it needs T: Sync, and setting it from another thread T: Send.
unsafe impl<T: Sync + Send> Sync for OnceLock<T> {}
// SAFETY: sending the lock sends the T it may hold.
unsafe impl<T: Send> Send for OnceLock<T> {}

impl<T> OnceLock<T> {
    /// An empty cell.
    pub const fn new() -> OnceLock<T> {
        OnceLock { once: Once::new(), value: UnsafeCell::new(MaybeUninit::uninit()) }
    }

    /// The value, if set.
    pub fn get(&self) -> Option<&T> {
        if self.once.is_completed() {
            // SAFETY: completed means the value was written, and it is never
            // written again.
            Some(unsafe { (*self.value.get()).assume_init_ref() })
        } else {
            None
        }
    }

    /// The value mutably, if set.
    pub fn get_mut(&mut self) -> Option<&mut T> {
        if self.once.is_completed() {
            // SAFETY: written, and `&mut self` is exclusive.
            Some(unsafe { self.value.get_mut().assume_init_mut() })
        } else {
            None
        }
    }

    /// Sets the value if empty; gives `value` back if it was already set.
    pub fn set(&self, value: T) -> Result<(), T> {
        let mut value = Some(value);
        self.get_or_init(|| value.take().expect("taken once"));
        match value {
            None => Ok(()),
            Some(v) => Err(v),
        }
    }

    /// The value, running `init` to set it first if it is empty (other
    /// threads asking meanwhile wait for that one `init`).
    pub fn get_or_init<F: FnOnce() -> T>(&self, init: F) -> &T {
        if let Some(v) = self.get() {
            return v;
        }
        self.once.call_once(|| {
            // SAFETY: inside the Once: no one reads or writes the value
            // until it completes.
            unsafe { (*self.value.get()).write(init()) };
        });
        self.get().expect("set by call_once")
    }

    /// The value, taking the cell apart.
    pub fn into_inner(mut self) -> Option<T> {
        self.take()
    }

    /// Takes the value out, leaving the cell empty.
    pub fn take(&mut self) -> Option<T> {
        if self.once.is_completed() {
            self.once = Once::new();
            // SAFETY: it was written; the Once is reset, so it counts as
            // moved out and is not dropped again.
            Some(unsafe { self.value.get_mut().assume_init_read() })
        } else {
            None
        }
    }
}

impl<T> Default for OnceLock<T> {
    fn default() -> OnceLock<T> {
        OnceLock::new()
    }
}

impl<T: fmt::Debug> fmt::Debug for OnceLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.get() {
            Some(v) => f.debug_tuple("OnceLock").field(v).finish(),
            None => f.write_str("OnceLock(<uninit>)"),
        }
    }
}

impl<T> From<T> for OnceLock<T> {
    fn from(value: T) -> OnceLock<T> {
        let cell = OnceLock::new();
        let _ = cell.set(value);
        cell
    }
}

impl<T> Drop for OnceLock<T> {
    fn drop(&mut self) {
        if self.once.is_completed() {
            // SAFETY: written, and this is the last use.
            unsafe { self.value.get_mut().assume_init_drop() };
        }
    }
}

/// A value computed on first use, like `std::sync::LazyLock`.
///
/// ```ignore
/// use libos::sync::LazyLock;
/// use libos::prelude::*;
///
/// static PRIMES: LazyLock<Vec<u32>> = LazyLock::new(|| (2..100).filter(|n| (2..*n).all(|d| n % d != 0)).collect());
/// assert_eq!(PRIMES.len(), 25);
/// ```
pub struct LazyLock<T, F = fn() -> T> {
    cell: OnceLock<T>,
    init: Cell<Option<F>>,
}

// SAFETY: `init` is taken only inside the OnceLock's one initialisation, so
// threads never touch it at the same time; the value is shared as in
// OnceLock.
unsafe impl<T: Sync + Send, F: Send> Sync for LazyLock<T, F> {}

impl<T, F: FnOnce() -> T> LazyLock<T, F> {
    /// A value that `init` computes on first use.
    pub const fn new(init: F) -> LazyLock<T, F> {
        LazyLock { cell: OnceLock::new(), init: Cell::new(Some(init)) }
    }

    /// The value, computing it if this is the first use.
    pub fn force(this: &LazyLock<T, F>) -> &T {
        this.cell.get_or_init(|| match this.init.take() {
            Some(f) => f(),
            None => unreachable!("LazyLock initialised twice"),
        })
    }
}

impl<T, F: FnOnce() -> T> Deref for LazyLock<T, F> {
    type Target = T;
    fn deref(&self) -> &T {
        LazyLock::force(self)
    }
}

impl<T: fmt::Debug, F> fmt::Debug for LazyLock<T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.cell.get() {
            Some(v) => f.debug_tuple("LazyLock").field(v).finish(),
            None => f.write_str("LazyLock(<uninit>)"),
        }
    }
}
