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
//! `cargo xtask test` runs.
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
mod heap;
pub mod io;
pub mod prelude;
pub mod process;
pub mod random;
pub mod rt;
pub mod sync;
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

/// Kernel hooks for the boot-time test suite (`libos_abi::debug`).
pub mod debug {
    pub use libos_abi::debug::*;
    /// The raw stubs of the hook calls (`libos_test_register`, `libos_debug`).
    pub use libos_abi::syscalls::user_hooks as stubs;

    /// Calls `libos_debug(op, arg0, arg1)`.
    pub fn call(op: u64, arg0: u64, arg1: u64) -> Result<u64, crate::Errno> {
        // SAFETY: the debug operations the test suite uses cannot break the
        // app's memory safety except SET_RETURN_RIP, which tests use knowingly.
        unsafe { libos_abi::syscalls::user_hooks::libos_debug(op, arg0, arg1) }
    }
}

#[doc(hidden)]
pub mod __private {
    pub use libos_abi as abi;
}
