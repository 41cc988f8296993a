//! Tests that are wrong on purpose, to prove the harness can fail
//! (`test.self-check=wrong|crash|hang`, run by `cargo xtask test`).
//!
//! They are not registered in `.libos_tests` (a normal test run never sees
//! them); the xtask boots the test image once per mode and checks that each
//! wrong test is reported as a failure, that a crash is charged to the test
//! that was running, and that a hang is charged to it at the timeout.

use libos_abi::run::RunExit;
use libos_abi::test::{Expect, TestCase};
use libos_kcore::boot_options::SelfCheck;

use super::{Tally, print_done, print_start, run_one};
use crate::arch::x86_64::power;

fn passes() {
    assert_eq!(core::hint::black_box(1) + 1, 2);
}

fn assertion_fails() {
    let answer = core::hint::black_box(41);
    assert_eq!(answer, 42, "the harness must report this failure");
}

fn returns_quietly() {
    core::hint::black_box(());
}

const fn case(name: &'static str, expect: Expect, run: fn()) -> TestCase {
    TestCase { name, file: file!(), line: line!(), expect, run }
}

const WRONG: [TestCase; 4] = [
    case("selfcheck::passes", Expect::Pass, passes),
    case("selfcheck::assertion_fails", Expect::Pass, assertion_fails),
    case("selfcheck::fault_never_comes", Expect::Fault { vector: entry_asm::hw::vector::PF }, returns_quietly),
    case("selfcheck::panic_never_comes", Expect::Panic { message: None }, returns_quietly),
];

/// Runs the chosen self-check and ends the run.
pub fn run(check: SelfCheck) -> ! {
    match check {
        SelfCheck::Wrong => {
            let mut tally = Tally::default();
            for test in &WRONG {
                run_one(test, &mut tally);
            }
            print_done(tally);
            power::exit(if tally.failed == 0 { RunExit::Success } else { RunExit::Failure })
        }
        SelfCheck::Crash => {
            // Unguarded on purpose: the exception handler must report it and
            // end the run, and the xtask must charge it to this test.
            print_start("", "selfcheck::crashes");
            // SAFETY: deliberately wrong: reads an address that no kernel
            // mapping covers, to crash the run.
            let value = unsafe { core::ptr::read_volatile(0xffff_ff00_dead_0000usize as *const u64) };
            core::hint::black_box(value);
            power::exit(RunExit::Success)
        }
        SelfCheck::Hang => {
            print_start("", "selfcheck::hangs");
            loop {
                core::hint::spin_loop();
            }
        }
    }
}
