//! The library OS as an app sees it.
//!
//! An app is a `#![no_std]`, `#![no_main]` crate in `apps/` that depends on
//! `libos` and runs in ring 3 on the libos kernel. Everything it asks of the
//! kernel goes through the `syscall` instruction into the table declared
//! once in `libos_abi::syscalls`.
//!
//! ```ignore
//! #![no_std]
//! #![no_main]
//!
//! use libos::prelude::*;
//!
//! #[libos::main]
//! fn main() -> i32 {
//!     let v: Vec<u32> = (1..=3).collect();
//!     println!("Hello from ring 3: {v:?}");
//!     0
//! }
//! ```
//!
//! `cargo xtask run <app>` builds the kernel and the app into one image and
//! boots it; the run's exit status is the app's exit code.
//!
//! What the runtime provides: the entry point (`_start`, which reads the
//! System V initial stack: argc, argv, envp, auxv), a heap (`talc` over
//! memory from `brk`, behind a futex lock) so `alloc` works,
//! [`print!`]/[`println!`]/[`eprintln!`], a panic handler that names the
//! thread, prints the message and location and exits with 101,
//! [`process::exit`], [`env::args`], [`time`] and random bytes
//! ([`random::fill`]). `#[libos::test]` registers boot-time tests that
//! `cargo xtask test` runs; they, `testing` and `debug` exist only with the
//! feature `testing` (test builds), as `#[cfg(test)]` code does.
//!
//! Threads and their synchronisation are shaped like `std`'s, so code moves
//! over by changing `use std::` to `use libos::`: [`thread`] (`spawn`,
//! `JoinHandle::join`, `scope`, `Builder`, `sleep`, `yield_now`, `park`,
//! `current().id()`, [`thread_local!`]), [`sync`] (`Mutex`, `Condvar`,
//! `RwLock`, `Once`, `OnceLock`, `LazyLock`, `Barrier`, `mpsc`, `Arc`,
//! atomics) and [`time`] (`Instant`, `Duration`, `SystemTime`); [`cpu`]
//! says how many CPUs there are and which one runs the caller.
//!
//! ```ignore
//! use libos::prelude::*;
//! use libos::sync::{Arc, Mutex};
//! use libos::thread;
//!
//! let total = Arc::new(Mutex::new(0u64));
//! let workers: Vec<_> = (0..libos::cpu::count() as u64)
//!     .map(|i| {
//!         let total = Arc::clone(&total);
//!         thread::spawn(move || *total.lock().unwrap() += i)
//!     })
//!     .collect();
//! for w in workers {
//!     w.join().unwrap();
//! }
//! println!("sum of CPU indices: {}", total.lock().unwrap());
//! ```
//!
//! Panics abort: a panic on any thread ends the app with exit code 101
//! (there is no unwinding), so locks are never poisoned and `join` never
//! returns `Err`.
#![no_std]

extern crate alloc;

mod arch;
pub mod cpu;
pub mod env;
pub mod fs;
mod heap;
pub mod io;
pub mod net;
pub mod prelude;
pub mod process;
pub mod random;
pub mod rt;
pub mod sync;
#[cfg(feature = "testing")]
pub mod testing;
pub mod thread;
pub mod time;

pub use libos_abi::errno::Errno;
pub use libos_macros::main;
pub use libos_macros::test;

/// The raw system calls (one `syscall` instruction each), as generated from
/// the table declaration.
pub mod sys {
    pub use libos_abi::syscalls::nr;
    pub use libos_abi::syscalls::user::*;
}

/// The kernel hooks of the boot-time tests and the benchmark
/// (`libos_abi::debug`): only in test builds (feature `testing`), and only
/// test and benchmark kernels answer them; a production kernel returns
/// `ENOSYS`.
#[cfg(feature = "testing")]
pub mod debug {
    pub use libos_abi::debug::*;
    /// The raw stubs of the hook calls (`libos_test_register`, `libos_debug`).
    pub use libos_abi::syscalls::user_hooks as stubs;

    use crate::Errno;

    /// Calls `libos_debug(op, arg0, arg1)` for an operation that cannot
    /// break the app's memory safety ([`is_memory_safe`]): every one but
    /// `SET_RETURN_RIP` (tests issue it from assembly, where the changed
    /// return is expected), `BENCH_FLOOR` ([`set_bench_floor`]) and
    /// `CONSOLE_CAPTURED` ([`console_captured`]), for which this fails with
    /// `EINVAL` without asking the kernel.
    pub fn call(op: u64, arg0: u64, arg1: u64) -> Result<u64, Errno> {
        if !is_memory_safe(op) {
            return Err(Errno::EINVAL);
        }
        // SAFETY: `op` is an operation that only reads or reports kernel
        // state, reads app memory, or arms test events (`is_memory_safe`):
        // none changes app memory, registers or the syscall entry.
        unsafe { stubs::libos_debug(op, arg0, arg1) }
    }

    /// Stops the console recording (`CONSOLE_CAPTURE`) and copies what it
    /// holds into `buf`; returns the byte count.
    pub fn console_captured(buf: &mut [u8]) -> Result<usize, Errno> {
        // SAFETY: the kernel writes at most `buf.len()` bytes at `buf`,
        // which is valid for writes of that length and not aliased.
        unsafe { stubs::libos_debug(CONSOLE_CAPTURED, buf.as_mut_ptr() as u64, buf.len() as u64) }.map(|n| n as usize)
    }

    /// Points this CPU's SYSCALL entry at the benchmark's floor (`on`), or
    /// back at the normal entry (`BENCH_FLOOR`; benchmark kernels only).
    ///
    /// # Safety
    ///
    /// While the floor is installed every system call on this CPU but
    /// `libos_debug` returns at once, unanswered, with its own number in RAX
    /// as the "result": no other system call (printing, allocating, a lock
    /// that waits) may run on this CPU until it is removed, and the caller
    /// must stay on this CPU (pinned) until then.
    pub unsafe fn set_bench_floor(on: bool) -> Result<(), Errno> {
        // SAFETY: the caller keeps the contract above, the whole of what
        // BENCH_FLOOR asks.
        unsafe { stubs::libos_debug(BENCH_FLOOR, on as u64, 0) }.map(|_| ())
    }
}

#[doc(hidden)]
pub mod __private {
    pub use libos_abi as abi;

    /// What `#[libos::test]` expands to goes through this macro: kept in
    /// test builds (feature `testing`), dropped in others, the way
    /// `#[cfg(test)]` drops a test. (A proc macro cannot see the features of
    /// `libos`; this macro is defined per feature here.)
    #[cfg(feature = "testing")]
    #[macro_export]
    #[doc(hidden)]
    macro_rules! __libos_testing_only {
        ($($item:tt)*) => { $($item)* };
    }
    /// See the other definition.
    #[cfg(not(feature = "testing"))]
    #[macro_export]
    #[doc(hidden)]
    macro_rules! __libos_testing_only {
        ($($item:tt)*) => {};
    }
    pub use __libos_testing_only as testing_only;
}
