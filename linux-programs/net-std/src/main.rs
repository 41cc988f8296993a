//! `std::net` as a static Linux program (`x86_64-unknown-linux-musl`):
//! the kernel runs the binary unmodified and its tests talk to the
//! xtask's host side (`xtask/src/testing/host_side.rs`): a test listens on
//! a forwarded port, prints `net-host: ACTION PORT ...`, and both sides
//! judge what they see. The tests report through the kernel's runner as
//! `linux-programs/std-tests` does:
//!
//! - `--libos-test-list`: registers every test with the
//!   `libos_test_register` hook and exits 0;
//! - `--libos-test-run N`: runs test N (exit 0, or 101 when it panics);
//! - `sigpipe-tcp`, `sigpipe-pipe`: restores `SIGPIPE`'s default action
//!   and writes to a TCP connection the host reset, or to a pipe without
//!   a reader: the kernel must kill the program with `SIGPIPE` (the boot
//!   expects that end; the program exits 0 if it survives);
//! - `answer-and-exit`: serves one host connection with 16 MiB of test
//!   data and exits the moment its last `write` returns: the kernel must
//!   still deliver what the socket holds, and the host checks every byte;
//! - no argument (under Linux, say): runs every test in-process.

mod sys;
mod tests;

use std::process::ExitCode;

use libos_abi::test::Expect;

/// One test: its name, what it must do, and its body.
pub struct Test {
    /// The name the kernel reports.
    pub name: &'static str,
    /// The test.
    pub run: fn(),
}

/// Asks the host side for `request` (see the crate documentation).
pub fn ask_host(request: &str) {
    println!("net-host: {request}");
}

/// The test data both sides generate (one definition in the ABI crate).
pub use libos_abi::test_data::Stream;

/// Registers test `index` with the kernel.
fn register(index: usize, test: &Test) -> Result<(), libos_abi::errno::Errno> {
    let (kind, arg) = Expect::Pass.to_raw();
    // SAFETY: the name is readable for its length during the call.
    unsafe {
        libos_abi::syscalls::user_hooks::libos_test_register(
            index as u64,
            test.name.as_ptr(),
            test.name.len(),
            kind,
            arg,
        )
    }
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().collect();
    let all = tests::ALL;
    match argv.get(1).map(String::as_str) {
        Some("--libos-test-list") => {
            for (index, test) in all.iter().enumerate() {
                if let Err(e) = register(index, test) {
                    eprintln!("net-std: cannot register {}: {e:?}", test.name);
                    return ExitCode::FAILURE;
                }
            }
            ExitCode::SUCCESS
        }
        Some("--libos-test-run") => {
            let Some(test) = argv.get(2).and_then(|n| n.parse::<usize>().ok()).and_then(|n| all.get(n)) else {
                eprintln!("net-std: no such test");
                return ExitCode::from(2);
            };
            // A panic ends `main` with status 101, which the kernel's
            // runner reports as the test's failure.
            (test.run)();
            ExitCode::SUCCESS
        }
        Some("sigpipe-tcp") => {
            tests::dies_of_sigpipe_on_a_reset_connection();
            ExitCode::SUCCESS
        }
        Some("sigpipe-pipe") => {
            tests::dies_of_sigpipe_on_a_pipe_without_reader();
            ExitCode::SUCCESS
        }
        Some("answer-and-exit") => tests::answer_and_exit(),
        _ => {
            let mut failed = 0;
            for test in all {
                let ok = std::panic::catch_unwind(test.run).is_ok();
                println!("test {} ... {}", test.name, if ok { "ok" } else { "FAILED" });
                failed += usize::from(!ok);
            }
            println!("{} passed, {failed} failed", all.len() - failed);
            if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE }
        }
    }
}
