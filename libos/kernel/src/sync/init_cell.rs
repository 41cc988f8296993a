//! A value set once during boot and read-only afterwards.

use core::cell::UnsafeCell;
use core::mem::MaybeUninit;
use core::sync::atomic::{AtomicU8, Ordering};

const EMPTY: u8 = 0;
const WRITING: u8 = 1;
const READY: u8 = 2;

/// A cell written once (by [`InitCell::set`]) and shared read-only after.
pub struct InitCell<T> {
    state: AtomicU8,
    value: UnsafeCell<MaybeUninit<T>>,
}

// SAFETY: the value is written once, before `state` becomes READY with
// Release ordering, and only read (shared) after an Acquire load sees READY.
unsafe impl<T: Send + Sync> Sync for InitCell<T> {}

impl<T> InitCell<T> {
    /// An empty cell.
    pub const fn new() -> InitCell<T> {
        InitCell { state: AtomicU8::new(EMPTY), value: UnsafeCell::new(MaybeUninit::uninit()) }
    }

    /// Stores the value. Panics if the cell was already set.
    pub fn set(&self, value: T) -> &T {
        if self.state.compare_exchange(EMPTY, WRITING, Ordering::Acquire, Ordering::Relaxed).is_err() {
            panic!("InitCell set twice");
        }
        // SAFETY: the state machine gives this caller sole access until READY.
        unsafe { (*self.value.get()).write(value) };
        self.state.store(READY, Ordering::Release);
        self.get().expect("just set")
    }

    /// The value, if it has been set.
    pub fn get(&self) -> Option<&T> {
        if self.state.load(Ordering::Acquire) == READY {
            // SAFETY: READY means the value was written and is never written again.
            Some(unsafe { (*self.value.get()).assume_init_ref() })
        } else {
            None
        }
    }

    /// The value; panics with `what` if it has not been set.
    #[track_caller]
    pub fn expect(&self, what: &str) -> &T {
        match self.get() {
            Some(v) => v,
            None => panic!("{what} used before it was initialised"),
        }
    }
}
