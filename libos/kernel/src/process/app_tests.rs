//! Running an app's boot-time tests (`#[libos::test]`), driven by the kernel.
//!
//! The kernel first starts the app with `--libos-test-list`: its runtime
//! registers every test in its `.libos_tests` section through the
//! `libos_test_register` syscall and exits. Then each test runs in a fresh
//! process started with `--libos-test-run <index>`, so a test that faults
//! (on purpose or not) is ended like any faulting app, reported, and the
//! next test still runs. The kernel judges each outcome against the
//! test's expectation and prints the usual protocol lines.

use alloc::format;
use alloc::vec::Vec;
use core::fmt::Write;

use libos_abi::run::RunExit;
use libos_kcore::boot_options::BootOptions;

use super::{AppImage, ExitStatus, spawn};
use crate::arch::x86_64::power;
use crate::sched::ThreadName;
use crate::testing::recovery::{FaultInfo, Outcome};
use crate::testing::{Reason, Tally, Verdict, judge, print_done, print_result, print_start};

/// Exit code of the app runtime when a test panicked.
pub const EXIT_PANICKED: i32 = 101;
/// Exit code when a test panicked with a message that lacks the expected text.
pub const EXIT_WRONG_PANIC_MESSAGE: i32 = 102;
/// Exit code of a test that skipped itself (cannot run in this configuration).
pub const EXIT_SKIPPED: i32 = 103;

fn outcome_of(status: ExitStatus) -> Outcome {
    let mut msg = heapless::String::new();
    match status {
        ExitStatus::Exited(0) => Outcome::Returned,
        ExitStatus::Exited(EXIT_PANICKED) => {
            let _ = write!(msg, "the test panicked (message above)");
            Outcome::Panicked(msg)
        }
        ExitStatus::Exited(code) => {
            let _ = write!(msg, "the test exited with code {code}");
            Outcome::Panicked(msg)
        }
        ExitStatus::Killed(k) => match k.vector {
            Some(v) => Outcome::Faulted(FaultInfo { vector: v, error_code: 0, rip: k.rip, cr2: k.address }),
            None => {
                let _ = write!(msg, "killed by {}", super::signal::name(k.signo));
                Outcome::Panicked(msg)
            }
        },
    }
}

/// What a test asked of the fault that ends it, beyond its vector.
struct FaultExpectation {
    /// `EXPECT_ERROR_CODE`: (mask, value) the error code must match.
    error_code: Option<(u64, u64)>,
    /// `EXPECT_FAULTING_THREAD`: the thread it must come from.
    thread: Option<(u32, ThreadName)>,
    /// `EXPECT_EXIT_CODE`: the code the app must end with instead.
    exit_code: Option<i32>,
    /// `EXPECT_SIGNAL`: the signal the fault must be reported as.
    signal: Option<u8>,
    /// `EXPECT_OUTPUT`: a text the console must have printed, with what
    /// it printed from that call to the process's end.
    output: Option<(super::ExpectedOutput, Vec<u8>)>,
}

/// Whether a test that ended with `status` met `expect` (and, for a fault,
/// what the test asked for with `EXPECT_ERROR_CODE` and
/// `EXPECT_FAULTING_THREAD`; `EXPECT_SIGNAL` and `EXPECT_OUTPUT` for any
/// end).
fn verdict(expect: libos_abi::test::Expect, status: ExitStatus, mut expected: FaultExpectation) -> Verdict {
    let output = expected.output.take();
    let verdict = verdict_of_the_end(expect, status, expected);
    match (verdict, output) {
        (Verdict::Passed, Some((text, printed))) if !contains(&printed, &text) => {
            let mut why = Reason::new();
            let _ = write!(why, "the output lacks {:?}", core::str::from_utf8(&text).unwrap_or("(not UTF-8)"));
            Verdict::Failed(why)
        }
        (verdict, _) => verdict,
    }
}

/// Whether `haystack` contains `needle`.
fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

/// [`verdict`] without the output check.
fn verdict_of_the_end(expect: libos_abi::test::Expect, status: ExitStatus, expected: FaultExpectation) -> Verdict {
    if status == ExitStatus::Exited(EXIT_SKIPPED) {
        return Verdict::Ignored("skipped itself (see above)");
    }
    if let Some(code) = expected.exit_code {
        if status == ExitStatus::Exited(code) {
            return Verdict::Passed;
        }
        let mut why = Reason::new();
        let _ = write!(why, "the app ended with {status:?}, expected exit code {code}");
        return Verdict::Failed(why);
    }
    if let (ExitStatus::Killed(k), Some((mask, value))) = (status, expected.error_code)
        && k.error_code & mask != value
    {
        let mut why = Reason::new();
        let _ = write!(why, "fault error code {:#x}, expected (code & {mask:#x}) == {value:#x}", k.error_code);
        return Verdict::Failed(why);
    }
    if let Some(signo) = expected.signal {
        let killed_by = match status {
            ExitStatus::Killed(k) => Some(k.signo),
            ExitStatus::Exited(_) => None,
        };
        if killed_by != Some(signo) {
            let mut why = Reason::new();
            let _ = match killed_by {
                Some(other) => {
                    write!(why, "killed by {}, expected {}", super::signal::name(other), super::signal::name(signo))
                }
                None => write!(why, "the app ended with {status:?}, expected a kill by {}", super::signal::name(signo)),
            };
            return Verdict::Failed(why);
        }
    }
    if let (ExitStatus::Killed(k), Some((tid, name))) = (status, expected.thread)
        && (k.tid, k.thread_name) != (tid, name)
    {
        let mut why = Reason::new();
        let _ = write!(
            why,
            "the kill report names thread {} '{}', expected thread {tid} '{}'",
            k.tid,
            k.thread_name.as_str(),
            name.as_str()
        );
        return Verdict::Failed(why);
    }
    if status == ExitStatus::Exited(EXIT_WRONG_PANIC_MESSAGE) {
        // The substring of `should_panic = "..."` does not cross the
        // syscall; the app's runtime compared it and said no.
        let mut why = Reason::new();
        let _ = write!(why, "panicked, but the message lacks the expected text (see above)");
        return Verdict::Failed(why);
    }
    judge(expect, &outcome_of(status))
}

/// Runs the app's tests and ends the run with the result.
pub fn run(app: &AppImage, options: &BootOptions<'_>) -> ! {
    let list_failed = |why: &str| -> ! {
        crate::println!("[libos] cannot list the tests of '{}': {why}", app.name);
        power::exit(RunExit::Failure)
    };
    let lister = match spawn(app, &[app.name, "--libos-test-list"], &options.env) {
        Ok(p) => p,
        Err(e) => list_failed(&format!("{e}")),
    };
    match lister.wait() {
        ExitStatus::Exited(0) => {}
        other => list_failed(&format!("the listing run ended with {other:?}")),
    }
    let tests = lister.tests();
    drop(lister);
    let mut tally = Tally::default();
    for test in tests {
        if options.test_filter.is_some_and(|f| !test.name.contains(f)) {
            continue;
        }
        print_start("", &test.name);
        let index = format!("{}", test.index);
        let result = match spawn(app, &[app.name, "--libos-test-run", &index], &options.env) {
            Ok(process) => {
                let status = process.wait();
                let expected = FaultExpectation {
                    error_code: process.expected_error_code(),
                    thread: process.expected_faulting_thread(),
                    exit_code: process.expected_exit_code(),
                    signal: process.expected_signal(),
                    output: process
                        .expected_output()
                        .map(|text| (text, crate::console::capture::stop().unwrap_or_default())),
                };
                drop(process);
                verdict(test.expect, status, expected)
            }
            Err(e) => {
                let mut why = Reason::new();
                let _ = write!(why, "could not start the test: {e}");
                Verdict::Failed(why)
            }
        };
        print_result("", &test.name, &result, &mut tally);
    }
    // As after an app's end: what the tests sent reaches their peers (any
    // line about it comes before the done line), and the disk is left
    // consistent and clean.
    crate::net::finish_sending();
    print_done(tally);
    if let Err(e) = crate::fs::sync_all() {
        crate::println!("[libos] writing the file systems back failed: {e:?}");
    }
    power::exit(if tally.failed == 0 { RunExit::Success } else { RunExit::Failure })
}
