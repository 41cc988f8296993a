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
//! The program has its own C `main` (`#![no_main]`): `std`'s runtime start
//! (`lang_start`) polls fds 0-2 and aborts when `poll` fails; until that
//! call lands, the tests exercise `std` from a C entry point (every `std`
//! API works from one; a panic is caught here and becomes exit status 101,
//! as `lang_start` would make it).
#![no_main]

mod tests;

use std::ffi::{CStr, c_char, c_int};
use std::panic;

use libos_abi::test::Expect;

/// One test: its name, what it must do, and its body.
pub struct Test {
    /// The name the kernel reports.
    pub name: &'static str,
    /// Whether it must return or panic.
    pub expect: Expect,
    /// The test.
    pub run: fn(&Args),
}

/// The program's arguments and how it was started.
pub struct Args {
    /// argv, as C strings turned into `String`s.
    pub argv: Vec<String>,
}

/// The exit status of a test that panicked (`EXIT_PANICKED` of the kernel's
/// runner, and what `std` exits with after a panic in `main`).
const EXIT_PANICKED: c_int = 101;

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

/// The C entry point (see the crate documentation).
///
/// # Safety
///
/// `argv` holds `argc` valid NUL-terminated strings, as the C runtime
/// passes them.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn main(argc: c_int, argv: *const *const c_char) -> c_int {
    let argv: Vec<String> = (0..argc.max(0) as usize)
        .map(|i| {
            // SAFETY: the C runtime passes `argc` valid NUL-terminated
            // strings in `argv`.
            unsafe { CStr::from_ptr(*argv.add(i)) }.to_string_lossy().into_owned()
        })
        .collect();
    let args = Args { argv };
    let all = tests::ALL;
    match args.argv.get(1).map(String::as_str) {
        Some("--libos-test-list") => {
            for (index, test) in all.iter().enumerate() {
                if let Err(e) = register(index, test) {
                    eprintln!("std-tests: cannot register {}: {e:?}", test.name);
                    return 1;
                }
            }
            0
        }
        Some("--libos-test-run") => {
            let Some(test) = args.argv.get(2).and_then(|n| n.parse::<usize>().ok()).and_then(|n| all.get(n)) else {
                eprintln!("std-tests: no such test");
                return 2;
            };
            if run(test, &args) { EXIT_PANICKED } else { 0 }
        }
        _ => {
            // Every test in-process, for a run under Linux.
            let mut failed = 0;
            for test in all {
                let panicked = run(test, &args);
                let ok = panicked == matches!(test.expect, Expect::Panic { .. });
                println!("test {} ... {}", test.name, if ok { "ok" } else { "FAILED" });
                failed += usize::from(!ok);
            }
            println!("{} passed, {failed} failed", all.len() - failed);
            c_int::from(failed != 0)
        }
    }
}
