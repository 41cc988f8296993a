//! Rust `std` as a static Linux program (`x86_64-unknown-linux-musl`): the
//! kernel runs the binary unmodified, and it reports its tests through the
//! kernel's test runner, as `#[libos::test]` apps do:
//!
//! - `--libos-test-list`: registers every test with the
//!   `libos_test_register` hook (its name and whether it must pass or
//!   panic) and exits 0;
//! - `--libos-test-run N`: runs test N and exits 0 when it returns, 101 when
//!   it panics (the kernel judges that against the expectation);
//! - no argument (under Linux, say): runs every test in-process and prints
//!   one line each.
//!
//! The program starts through `std`'s own runtime (`fn main`), as any Rust
//! program does: `lang_start` polls fds 0-2, ignores SIGPIPE and installs
//! the stack-overflow handler on an alternate stack before `main` runs.

mod tests;

use std::panic;
use std::process::ExitCode;

use libos_abi::test::Expect;

/// One test: its name, what it must do, and its body.
pub struct Test {
    /// The name the kernel reports.
    pub name: &'static str,
    /// Whether it must return or panic.
    pub expect: Expect,
    /// The test.
    pub run: fn(&Args),
    /// Whether it ends the whole process (an abort, a fatal signal): the
    /// kernel's runner judges how it ended, with the expectations the test
    /// set through the hooks.
    pub ends_the_process: bool,
}

/// The program's arguments and how it was started.
pub struct Args {
    /// argv (`std::env::args`).
    pub argv: Vec<String>,
}

/// The exit status of a test that panicked (`EXIT_PANICKED` of the kernel's
/// runner, and what `std` exits with after a panic in `main`).
const EXIT_PANICKED: u8 = 101;

/// Registers test `index` with the kernel.
fn register(index: usize, test: &Test) -> Result<(), libos_abi::errno::Errno> {
    let (kind, arg) = test.expect.to_raw();
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

/// Runs `test`; whether it panicked.
fn run(test: &Test, args: &Args) -> bool {
    panic::catch_unwind(|| (test.run)(args)).is_err()
}

fn main() -> ExitCode {
    let args = Args { argv: std::env::args().collect() };
    let all = tests::ALL;
    match args.argv.get(1).map(String::as_str) {
        Some("--libos-test-list") => {
            for (index, test) in all.iter().enumerate() {
                if let Err(e) = register(index, test) {
                    eprintln!("std-tests: cannot register {}: {e:?}", test.name);
                    return ExitCode::FAILURE;
                }
            }
            ExitCode::SUCCESS
        }
        Some("--libos-test-run") => {
            let Some(test) = args.argv.get(2).and_then(|n| n.parse::<usize>().ok()).and_then(|n| all.get(n)) else {
                eprintln!("std-tests: no such test");
                return ExitCode::from(2);
            };
            if run(test, &args) { ExitCode::from(EXIT_PANICKED) } else { ExitCode::SUCCESS }
        }
        _ => {
            // Every test in-process, for a run under Linux (tests that end
            // the process say so and are left out: run them one by one with
            // `--libos-test-run N`).
            let mut failed = 0;
            let mut ran = 0;
            for test in all.iter().filter(|t| !t.ends_the_process) {
                let panicked = run(test, &args);
                let ok = panicked == matches!(test.expect, Expect::Panic { .. });
                println!("test {} ... {}", test.name, if ok { "ok" } else { "FAILED" });
                failed += usize::from(!ok);
                ran += 1;
            }
            println!("{} passed, {failed} failed", ran - failed);
            if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE }
        }
    }
}
