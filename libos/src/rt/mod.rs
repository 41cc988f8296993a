//! The runtime: from `_start` to `main` and back out.

#[cfg(target_os = "linux")]
mod libc_symbols;
mod panic;
mod start;
#[cfg(feature = "testing")]
mod test_runner;

pub use start::Termination;

/// Exit code of a panicking app (as Rust's std uses).
pub const PANIC_EXIT_CODE: i32 = 101;
