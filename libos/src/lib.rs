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

/// Help for boot-time tests (`#[libos::test]`).
pub mod testing {
    /// Exit code that tells the kernel's test runner a test skipped itself.
    pub const SKIPPED_EXIT_CODE: i32 = 103;

    /// Ends the running test as skipped: it cannot run in this
    /// configuration (reported as ignored, not counted).
    pub fn skip(reason: &str) -> ! {
        crate::eprintln!("test skipped: {reason}");
        crate::process::exit(SKIPPED_EXIT_CODE)
    }

    /// The number of CPUs running.
    pub fn cpu_count() -> usize {
        crate::debug::call(crate::debug::CPU_COUNT, 0, 0).unwrap_or(1) as usize
    }

    /// Skips the running test unless at least `n` CPUs run.
    pub fn require_cpus(n: usize) {
        if cpu_count() < n {
            skip("needs more CPUs than this configuration has");
        }
    }
}

/// Pinning the calling thread to CPUs.
pub mod cpu {
    use crate::Errno;
    use libos_abi::syscalls::user;

    /// The index of the CPU the caller runs on right now.
    pub fn current() -> usize {
        crate::debug::call(crate::debug::CPU_INDEX, 0, 0).unwrap_or(0) as usize
    }

    /// The number of CPUs running.
    pub fn count() -> usize {
        crate::testing::cpu_count()
    }

    /// Restricts the calling thread to the CPUs in `mask` (bit n = CPU n);
    /// it moves before this returns.
    pub fn set_affinity(mask: u64) -> Result<(), Errno> {
        let bytes = mask.to_le_bytes();
        // SAFETY: the mask is 8 readable bytes.
        unsafe { user::sched_setaffinity(0, bytes.len(), bytes.as_ptr()) }
    }

    /// The CPUs the calling thread may run on.
    pub fn affinity() -> Result<u64, Errno> {
        let mut bytes = [0u8; 8];
        // SAFETY: 8 writable bytes.
        unsafe { user::sched_getaffinity(0, bytes.len(), bytes.as_mut_ptr()) }?;
        Ok(u64::from_le_bytes(bytes))
    }

    /// Runs the calling thread on CPU `cpu` only.
    pub fn pin_to(cpu: usize) -> Result<(), Errno> {
        set_affinity(1 << cpu)
    }
}

#[doc(hidden)]
pub mod __private {
    pub use libos_abi as abi;
}
