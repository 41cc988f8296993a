//! Thread-local values: [`LocalKey`] and the [`thread_local!`] macro, as
//! std's.
//!
//! Stable Rust has no `#[thread_local]` for this target, so each
//! `thread_local!` static is a key: a small number assigned on first use.
//! A thread's values live in its control block (found through the FS base,
//! one load), in a table indexed by key; each value is created on the
//! thread's first access and dropped when the thread ends (not for the
//! first thread: its end is the app's end, as in std).
//!
//! [`thread_local!`]: crate::thread_local

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::cell::{Cell, RefCell};
use core::fmt;
use core::sync::atomic::{AtomicUsize, Ordering};

use super::tcb::Tcb;

/// One thread's value for one key.
struct Slot {
    value: *mut u8,
    drop: unsafe fn(*mut u8),
}

/// A thread's values, by key.
pub(crate) struct Slots {
    slots: Vec<Option<Slot>>,
}

impl Slots {
    pub(crate) const fn new() -> Slots {
        Slots { slots: Vec::new() }
    }
}

/// Drops a boxed `T`.
///
/// # Safety
///
/// `value` came from `Box::<T>::into_raw` and is not used again.
unsafe fn drop_boxed<T>(value: *mut u8) {
    // SAFETY: as the caller guarantees.
    drop(unsafe { Box::from_raw(value.cast::<T>()) });
}

/// Keys handed out so far (0 means "not assigned yet").
static NEXT_KEY: AtomicUsize = AtomicUsize::new(1);

/// A thread-local value's key, made by [`thread_local!`]: each thread that
/// uses it sees its own `T`, made by the initialiser on first use.
///
/// ```ignore
/// use core::cell::Cell;
/// use libos::thread;
///
/// libos::thread_local!(static COUNT: Cell<u32> = const { Cell::new(0) });
///
/// COUNT.set(5);
/// thread::spawn(|| assert_eq!(COUNT.get(), 0)).join().unwrap();
/// assert_eq!(COUNT.get(), 5);
/// ```
///
/// [`thread_local!`]: crate::thread_local
pub struct LocalKey<T: 'static> {
    key: AtomicUsize,
    init: fn() -> T,
}

/// A thread-local value was used while the thread was dropping it (or after).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct AccessError;

impl fmt::Debug for AccessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessError")
    }
}

impl fmt::Display for AccessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("already destroyed")
    }
}

impl core::error::Error for AccessError {}

impl<T: 'static> LocalKey<T> {
    #[doc(hidden)]
    pub const fn new(init: fn() -> T) -> LocalKey<T> {
        LocalKey { key: AtomicUsize::new(0), init }
    }

    fn key(&self) -> usize {
        match self.key.load(Ordering::Acquire) {
            0 => {
                let fresh = NEXT_KEY.fetch_add(1, Ordering::Relaxed);
                match self.key.compare_exchange(0, fresh, Ordering::AcqRel, Ordering::Acquire) {
                    Ok(_) => fresh,
                    Err(winner) => winner,
                }
            }
            key => key,
        }
    }

    /// Calls `f` with this thread's value, creating it first if needed.
    /// Panics if the thread is already dropping its values and this one is
    /// gone.
    pub fn with<F, R>(&'static self, f: F) -> R
    where
        F: FnOnce(&T) -> R,
    {
        self.try_with(f).expect("cannot access a thread-local value during or after destruction")
    }

    /// As [`with`](LocalKey::with), with an error instead of a panic.
    pub fn try_with<F, R>(&'static self, f: F) -> Result<R, AccessError>
    where
        F: FnOnce(&T) -> R,
    {
        let value = self.value()?;
        // SAFETY: the box lives until the thread's exit path drops it, after
        // every use by the thread's own code; only this thread sees it.
        Ok(f(unsafe { &*value }))
    }

    /// This thread's value, made if missing.
    fn value(&'static self) -> Result<*const T, AccessError> {
        let tcb = Tcb::current();
        let index = self.key() - 1;
        if let Some(v) = lookup(tcb, index) {
            return Ok(v.cast());
        }
        if tcb.exiting.load(Ordering::Relaxed) {
            return Err(AccessError);
        }
        // The initialiser may use other thread-locals (even this one): no
        // borrow of the table is held across it.
        let fresh = Box::into_raw(Box::new((self.init)()));
        // SAFETY: only the owning thread touches its table, and no other
        // reference to it is live here.
        let slots = unsafe { &mut *tcb.locals.get() };
        if slots.slots.len() <= index {
            slots.slots.resize_with(index + 1, || None);
        }
        match &slots.slots[index] {
            // Set meanwhile by a recursive initialiser: keep that one.
            Some(existing) => {
                let existing = existing.value;
                // SAFETY: `fresh` is a box nobody else has seen.
                unsafe { drop_boxed::<T>(fresh.cast()) };
                Ok(existing.cast())
            }
            None => {
                slots.slots[index] = Some(Slot { value: fresh.cast(), drop: drop_boxed::<T> });
                Ok(fresh)
            }
        }
    }
}

/// The value at `index` of the calling thread's table, if made.
fn lookup(tcb: &Tcb, index: usize) -> Option<*mut u8> {
    // SAFETY: only the owning thread touches its table; the borrow ends
    // before anything else runs.
    let slots = unsafe { &*tcb.locals.get() };
    slots.slots.get(index).and_then(|s| s.as_ref()).map(|s| s.value)
}

/// Drops the thread's values (last made first), at its exit. A destructor
/// may use thread-locals that are still alive; one that asks for a value
/// already dropped gets [`AccessError`] (a panic with `with`).
pub(crate) fn run_destructors(tcb: &Tcb) {
    tcb.exiting.store(true, Ordering::Relaxed);
    loop {
        // SAFETY: only the owning thread touches its table; the borrow ends
        // before the destructor runs.
        let slot = unsafe { (*tcb.locals.get()).slots.iter_mut().rev().find_map(Option::take) };
        let Some(slot) = slot else { break };
        // SAFETY: the slot was made by `value` with the matching drop
        // function and is now out of the table, so nothing reaches it.
        unsafe { (slot.drop)(slot.value) };
    }
    // SAFETY: as above.
    unsafe { (*tcb.locals.get()).slots = Vec::new() };
}

impl<T: 'static> LocalKey<Cell<T>> {
    /// Sets this thread's value.
    pub fn set(&'static self, value: T) {
        self.with(|cell| cell.set(value));
    }

    /// A copy of this thread's value.
    pub fn get(&'static self) -> T
    where
        T: Copy,
    {
        self.with(Cell::get)
    }

    /// Takes this thread's value, leaving the default.
    pub fn take(&'static self) -> T
    where
        T: Default,
    {
        self.with(Cell::take)
    }

    /// Replaces this thread's value, returning the old one.
    pub fn replace(&'static self, value: T) -> T {
        self.with(|cell| cell.replace(value))
    }
}

impl<T: 'static> LocalKey<RefCell<T>> {
    /// Calls `f` with a shared borrow of this thread's value.
    pub fn with_borrow<F, R>(&'static self, f: F) -> R
    where
        F: FnOnce(&T) -> R,
    {
        self.with(|cell| f(&cell.borrow()))
    }

    /// Calls `f` with a mutable borrow of this thread's value.
    pub fn with_borrow_mut<F, R>(&'static self, f: F) -> R
    where
        F: FnOnce(&mut T) -> R,
    {
        self.with(|cell| f(&mut cell.borrow_mut()))
    }

    /// Sets this thread's value.
    pub fn set(&'static self, value: T) {
        self.with(|cell| *cell.borrow_mut() = value);
    }

    /// Takes this thread's value, leaving the default.
    pub fn take(&'static self) -> T
    where
        T: Default,
    {
        self.with(RefCell::take)
    }

    /// Replaces this thread's value, returning the old one.
    pub fn replace(&'static self, value: T) -> T {
        self.with(|cell| cell.replace(value))
    }
}

impl<T: 'static> fmt::Debug for LocalKey<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalKey").finish_non_exhaustive()
    }
}

/// Declares thread-local statics, as std's `thread_local!`: each becomes a
/// [`LocalKey`](crate::thread::LocalKey) whose `with` gives the calling
/// thread's own value.
///
/// ```ignore
/// use core::cell::RefCell;
///
/// libos::thread_local! {
///     static NAMES: RefCell<Vec<&'static str>> = RefCell::new(Vec::new());
///     pub static DEPTH: core::cell::Cell<u32> = const { core::cell::Cell::new(0) };
/// }
/// NAMES.with_borrow_mut(|v| v.push("a"));
/// ```
#[macro_export]
macro_rules! thread_local {
    () => {};
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty = const { $init:expr }; $($rest:tt)*) => {
        $crate::thread_local!($(#[$attr])* $vis static $name: $t = const { $init });
        $crate::thread_local!($($rest)*);
    };
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty = const { $init:expr }) => {
        $(#[$attr])* $vis static $name: $crate::thread::LocalKey<$t> = {
            fn __init() -> $t {
                const INIT: $t = $init;
                INIT
            }
            $crate::thread::LocalKey::new(__init)
        };
    };
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty = $init:expr; $($rest:tt)*) => {
        $crate::thread_local!($(#[$attr])* $vis static $name: $t = $init);
        $crate::thread_local!($($rest)*);
    };
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty = $init:expr) => {
        $(#[$attr])* $vis static $name: $crate::thread::LocalKey<$t> = {
            fn __init() -> $t {
                $init
            }
            $crate::thread::LocalKey::new(__init)
        };
    };
}
