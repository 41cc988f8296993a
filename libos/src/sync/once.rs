//! [`Once`]: run something exactly once, shaped like `std::sync::Once`.

use core::fmt;
use core::sync::atomic::{AtomicU32, Ordering};

use super::futex;

/// Nobody has started.
const INCOMPLETE: u32 = 0;
/// A thread runs the closure; nobody waits.
const RUNNING: u32 = 1;
/// A thread runs the closure and others sleep until it is done.
const QUEUED: u32 = 2;
/// Done.
const COMPLETE: u32 = 3;

/// Runs a closure once, however many threads ask at the same time: the
/// first caller runs it and the others sleep (on a futex) until it has
/// finished, so every caller returns after the work is done.
///
/// ```ignore
/// use libos::sync::Once;
///
/// static INIT: Once = Once::new();
/// INIT.call_once(|| libos::println!("set up once"));
/// INIT.call_once(|| unreachable!());
/// assert!(INIT.is_completed());
/// ```
pub struct Once {
    state: AtomicU32,
}

/// What [`Once::call_once_force`] tells its closure.
#[derive(Debug)]
pub struct OnceState {
    _private: (),
}

impl OnceState {
    /// Whether an earlier run panicked: never here (a panic ends the app).
    pub fn is_poisoned(&self) -> bool {
        false
    }
}

impl Once {
    /// A `Once` that has not run.
    pub const fn new() -> Once {
        Once { state: AtomicU32::new(INCOMPLETE) }
    }

    /// Runs `f` if no call has run yet; returns once the (first) call has
    /// finished. A call from inside `f` on the same `Once` deadlocks, as in
    /// std.
    pub fn call_once<F: FnOnce()>(&self, f: F) {
        if !self.is_completed() {
            self.call_slow(&mut Some(f), &mut |f: &mut Option<F>| (f.take().expect("called once"))());
        }
    }

    /// As [`call_once`](Once::call_once); the closure gets a [`OnceState`].
    pub fn call_once_force<F: FnOnce(&OnceState)>(&self, f: F) {
        if !self.is_completed() {
            let state = OnceState { _private: () };
            self.call_slow(&mut Some(f), &mut |f: &mut Option<F>| (f.take().expect("called once"))(&state));
        }
    }

    /// Whether a call has finished.
    #[inline]
    pub fn is_completed(&self) -> bool {
        self.state.load(Ordering::Acquire) == COMPLETE
    }

    #[cold]
    fn call_slow<A>(&self, arg: &mut A, run: &mut dyn FnMut(&mut A)) {
        loop {
            match self.state.compare_exchange(INCOMPLETE, RUNNING, Ordering::Acquire, Ordering::Acquire) {
                Ok(_) => {
                    run(arg);
                    if self.state.swap(COMPLETE, Ordering::Release) == QUEUED {
                        futex::wake_all(&self.state);
                    }
                    return;
                }
                Err(COMPLETE) => return,
                Err(RUNNING) => {
                    // Tell the runner someone sleeps; sleep unless it
                    // finished meanwhile.
                    if self.state.compare_exchange(RUNNING, QUEUED, Ordering::Relaxed, Ordering::Acquire).is_ok() {
                        futex::wait(&self.state, QUEUED, None);
                    }
                }
                Err(_) => {
                    futex::wait(&self.state, QUEUED, None);
                }
            }
        }
    }
}

impl Default for Once {
    fn default() -> Once {
        Once::new()
    }
}

impl fmt::Debug for Once {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Once").field("completed", &self.is_completed()).finish()
    }
}
