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
//! memory from `brk`) so `alloc` works, [`print!`]/[`println!`]/
//! [`eprintln!`], a panic handler that prints the message and location and
//! exits with 101, [`process::exit`], [`env::args`], [`time`] and random
//! bytes ([`random::fill`]). `#[libos::test]` registers boot-time tests
//! that `cargo xtask test` runs.
#![no_std]

extern crate alloc;

pub mod env;
mod heap;
pub mod io;
pub mod prelude;
pub mod process;
pub mod random;
pub mod rt;
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

    /// Calls `libos_debug(op, arg0, arg1)`.
    pub fn call(op: u64, arg0: u64, arg1: u64) -> Result<u64, crate::Errno> {
        // SAFETY: the debug operations the test suite uses cannot break the
        // app's memory safety except SET_RETURN_RIP, which tests use knowingly.
        unsafe { libos_abi::syscalls::user::libos_debug(op, arg0, arg1) }
    }
}

#[doc(hidden)]
pub mod __private {
    pub use libos_abi as abi;
}
