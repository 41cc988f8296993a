//! Threads, shaped like `std::thread`.
//!
//! Each thread is a kernel thread of the app's one address space (made with
//! Linux's `clone` and the flags a threads library uses), with its own
//! stack under a guard page, its own control block (FS base) and its own
//! thread-local values. The kernel schedules threads preemptively over
//! every CPU; [`spawn`] returns a [`JoinHandle`] whose
//! [`join`](JoinHandle::join) waits (on a futex the kernel clears when the
//! thread exits) and returns the closure's value.
//!
//! ```ignore
//! use libos::thread;
//! use libos::time::Duration;
//!
//! let handles: Vec<_> = (0..4u64)
//!     .map(|i| thread::spawn(move || (i * 1_000_000..(i + 1) * 1_000_000).sum::<u64>()))
//!     .collect();
//! let total: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
//! assert_eq!(total, (0..4_000_000u64).sum());
//! thread::sleep(Duration::from_millis(10));
//! ```
//!
//! Differences from std: a panic on any thread ends the app (there is no
//! unwinding), so `join` never returns `Err`; `Builder::spawn` fails with
//! an [`Errno`](crate::Errno) instead of an `io::Error`.

mod local;
mod scope;
mod spawn;
mod stack;
pub(crate) mod tcb;
#[allow(clippy::module_inception)]
mod thread;

use core::num::NonZeroUsize;
use core::time::Duration;

use libos_abi::syscalls::user;

pub use local::{AccessError, LocalKey};
pub use scope::{Scope, ScopedJoinHandle, scope};
pub use spawn::{Builder, JoinHandle, Result, spawn};
pub use thread::{Thread, ThreadId};

/// The calling thread's handle.
pub fn current() -> Thread {
    tcb::Tcb::current().thread().expect("thread handle is set while the thread runs").clone()
}

/// Gives the CPU to another ready thread, if there is one.
pub fn yield_now() {
    let _ = user::sched_yield();
}

/// Sleeps at least `duration` (never less; the timer's resolution may add
/// a little).
pub fn sleep(duration: Duration) {
    crate::time::sleep(duration)
}

/// Blocks until the calling thread's token is made available by
/// [`Thread::unpark`] (returns at once if it already is), consuming it. May
/// also return spuriously, as in std.
pub fn park() {
    current().park(None)
}

/// As [`park`], for at most `timeout`.
pub fn park_timeout(timeout: Duration) {
    current().park(Some(timeout))
}

/// How many threads can run in parallel: the CPUs the calling thread may
/// run on, as std reads it from the affinity mask.
pub fn available_parallelism() -> core::result::Result<NonZeroUsize, crate::Errno> {
    let mask = crate::cpu::affinity()?;
    NonZeroUsize::new(mask.count_ones() as usize).ok_or(crate::Errno::EINVAL)
}

/// Sets up the first thread's control block (before `main`).
pub(crate) fn init_first_thread() {
    let thread = Thread::new(Some(alloc::string::String::from("main")));
    thread.set_os_id(user::gettid().unwrap_or(0) as u32);
    tcb::Tcb::init_first(thread);
}
