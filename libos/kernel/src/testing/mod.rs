//! The kernel's boot-time test harness.
//!
//! Tests are registered with `#[kernel_test]` (from `libos-macros`), which
//! puts a `libos_abi::test::TestCase` into the `.libos_tests` section; the
//! linker script brackets that section, so the runner finds every test
//! without a list. Each test runs guarded ([`recovery::run_guarded`]), so a
//! test that must panic or fault can be checked, and a test that panics or
//! faults unexpectedly fails without taking the run down. The output is the
//! protocol of `libos_abi::run`, parsed by `cargo xtask test`.

pub mod kpti_audit;
pub mod recovery;
mod self_check;

use core::fmt::Write;

use libos_abi::run::{RunExit, TEST_DONE, TEST_FAILED, TEST_OK, TEST_RESULT_PREFIX, TEST_RESULT_SEPARATOR, TEST_START};
use libos_abi::test::{Expect, TestCase};
use libos_kcore::boot_options::BootOptions;

use crate::arch::x86_64::exceptions::mnemonic;
use crate::arch::x86_64::power;
use recovery::Outcome;

/// A failure reason (one line).
pub type Reason = heapless::String<256>;

/// The tests registered in the kernel image.
pub fn registered() -> &'static [TestCase] {
    let start = entry_asm::symbol_address!(__libos_tests_start);
    let end = entry_asm::symbol_address!(__libos_tests_end);
    let size = core::mem::size_of::<TestCase>() as u64;
    assert!((end - start).is_multiple_of(size), "the .libos_tests section holds partial records");
    // SAFETY: the linker script gathers only TestCase statics (emitted by
    // #[kernel_test]) between the two symbols, 8-byte aligned, in rodata.
    unsafe { core::slice::from_raw_parts(start as *const TestCase, ((end - start) / size) as usize) }
}

/// The name printed for a test (the crate prefix shortened to `kernel::`).
pub fn display_name(name: &str) -> (&'static str, &str) {
    match name.strip_prefix("libos_kernel::") {
        Some(rest) => ("kernel::", rest),
        None => ("", name),
    }
}

/// Ends the running test as skipped (reported as ignored, not counted):
/// for tests that cannot run in this configuration.
#[cfg(feature = "boot-tests")]
pub fn skip(reason: &'static str) -> ! {
    recovery::skip_current(reason)
}

/// Skips the running test unless at least `n` CPUs are online.
#[cfg(feature = "boot-tests")]
pub fn require_cpus(n: usize) {
    if crate::percpu::cpu_count() < n {
        skip(if n == 2 { "needs 2 CPUs" } else { "needs more CPUs" });
    }
}

/// A test's verdict.
// Kept inline, like `Outcome`: made right after a fault or panic.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// It passed.
    Passed,
    /// It failed, for this reason.
    Failed(Reason),
    /// It could not run here, for this reason.
    Ignored(&'static str),
}

/// Whether `outcome` is what `expect` asks for.
pub fn judge(expect: Expect, outcome: &Outcome) -> Verdict {
    if let Outcome::Skipped(why) = outcome {
        return Verdict::Ignored(why);
    }
    match judge_run(expect, outcome) {
        Ok(()) => Verdict::Passed,
        Err(why) => Verdict::Failed(why),
    }
}

// The error is a fixed-size string on purpose (no allocation; see `Verdict`).
#[allow(clippy::result_large_err)]
fn judge_run(expect: Expect, outcome: &Outcome) -> Result<(), Reason> {
    let mut why = Reason::new();
    let _ = match (expect, outcome) {
        // Handled by `judge`.
        (_, Outcome::Skipped(_)) => return Ok(()),
        (Expect::Pass, Outcome::Returned) => return Ok(()),
        (Expect::Pass, Outcome::Panicked(m)) => write!(why, "panicked: {m}"),
        (Expect::Pass, Outcome::Faulted(f)) => write!(why, "unexpected {f}"),
        (Expect::Panic { message }, Outcome::Panicked(m)) => match message {
            Some(want) if !m.contains(want) => {
                write!(why, "panic message \"{m}\" does not contain \"{want}\"")
            }
            _ => return Ok(()),
        },
        (Expect::Panic { .. }, Outcome::Returned) => {
            write!(why, "expected a panic, but the test returned")
        }
        (Expect::Panic { .. }, Outcome::Faulted(f)) => write!(why, "expected a panic, got {f}"),
        (Expect::Fault { vector }, Outcome::Faulted(f)) if f.vector == vector => return Ok(()),
        (Expect::Fault { vector }, Outcome::Faulted(f)) => {
            write!(why, "expected {}, got {f}", mnemonic(vector))
        }
        (Expect::Fault { vector }, Outcome::Returned) => {
            write!(why, "expected {}, but no fault came", mnemonic(vector))
        }
        (Expect::Fault { vector }, Outcome::Panicked(m)) => {
            write!(why, "expected {}, but the test panicked: {m}", mnemonic(vector))
        }
    };
    Err(why)
}

/// Pass/fail counts of a run.
#[derive(Clone, Copy, Debug, Default)]
pub struct Tally {
    /// Tests that passed.
    pub passed: usize,
    /// Tests that failed.
    pub failed: usize,
    /// Tests that could not run here.
    pub ignored: usize,
}

/// Prints the start line of a test.
pub fn print_start(prefix: &str, name: &str) {
    crate::run_record::line(format_args!("{TEST_START}{prefix}{name}"));
}

/// Prints the result line of a test and counts it.
pub fn print_result(prefix: &str, name: &str, verdict: &Verdict, tally: &mut Tally) {
    match verdict {
        Verdict::Ignored(why) => {
            tally.ignored += 1;
            crate::run_record::line(format_args!(
                "{TEST_RESULT_PREFIX}{prefix}{name}{TEST_RESULT_SEPARATOR}ignored, {why}"
            ));
        }
        Verdict::Passed => {
            tally.passed += 1;
            crate::run_record::line(format_args!("{TEST_RESULT_PREFIX}{prefix}{name}{TEST_RESULT_SEPARATOR}{TEST_OK}"));
        }
        Verdict::Failed(why) => {
            tally.failed += 1;
            // The protocol is one line per result: fold a multi-line reason.
            let mut line = Reason::new();
            for (i, part) in why.split('\n').map(str::trim).filter(|p| !p.is_empty()).enumerate() {
                let _ = write!(line, "{}{part}", if i == 0 { "" } else { "; " });
            }
            crate::run_record::line(format_args!(
                "{TEST_RESULT_PREFIX}{prefix}{name}{TEST_RESULT_SEPARATOR}{TEST_FAILED}: {line}"
            ));
        }
    }
}

/// Runs one test guarded and prints its lines.
pub fn run_one(test: &TestCase, tally: &mut Tally) {
    let (prefix, name) = display_name(test.name);
    print_start(prefix, name);
    let outcome = recovery::run_guarded(test.run);
    print_result(prefix, name, &judge(test.expect, &outcome), tally);
}

/// Prints the closing line.
pub fn print_done(tally: Tally) {
    crate::run_record::line(format_args!(
        "{TEST_DONE}{} passed, {} failed, {} ignored",
        tally.passed, tally.failed, tally.ignored
    ));
}

/// Runs the kernel's registered tests (or the harness self-checks) and
/// ends the run with the result.
pub fn run_kernel_tests(options: &BootOptions<'_>) -> ! {
    if let Some(check) = options.self_check {
        self_check::run(check);
    }
    let mut tally = Tally::default();
    for test in registered() {
        if let Some(filter) = options.test_filter {
            let (prefix, name) = display_name(test.name);
            let mut full = heapless::String::<256>::new();
            let _ = write!(full, "{prefix}{name}");
            if !full.contains(filter) {
                continue;
            }
        }
        run_one(test, &mut tally);
    }
    print_done(tally);
    power::exit(if tally.failed == 0 { RunExit::Success } else { RunExit::Failure })
}
