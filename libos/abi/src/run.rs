//! How a run ends, and the console lines the xtask reads.
//!
//! # Ending a run
//!
//! The kernel ends a run under QEMU by writing one byte `v` to the
//! `isa-debug-exit` port (0xF4). QEMU then exits with status `(v << 1) | 1`;
//! only the low 7 bits of `v` survive in an 8-bit exit status. QEMU's own
//! errors exit with status 1, which is `v = 0`: the kernel never writes 0, so
//! status 1 is never mistaken for a result.
//!
//! | `v` | QEMU status | meaning | `cargo xtask run` exits with |
//! |---|---|---|---|
//! | [`EXIT_SUCCESS`] (1) | 3 | the run finished: tests passed, or the app exited with 0 | 0 |
//! | [`EXIT_FAILURE`] (2) | 5 | kernel panic, unexpected kernel exception, failed test, unloadable app | 1 |
//! | [`EXIT_APP_CODE`] (3) | 7 | the app exited with a nonzero code, printed in the [`EXIT_LINE`] | that code |
//! | [`EXIT_APP_KILLED`] `\| signo` (0x40..0x7F) | 129..255 | the kernel killed the app | 128 + signo |
//!
//! Before writing the port the kernel prints an [`EXIT_LINE`] with the same
//! information, so that runs where the port does nothing (Bochs, hardware)
//! can be judged from it. When the port does nothing the kernel powers off
//! through ACPI, then halts.
//!
//! # The run record: a channel the app cannot write
//!
//! An app's `write(1, ...)` goes to COM1, so a line on COM1 proves nothing:
//! an app can print `[libos] exit: success` or `test x ... ok` itself. The
//! kernel therefore writes the lines the xtask judges a run by — the test
//! protocol's [`TEST_START`], result and [`TEST_DONE`] lines and the
//! [`EXIT_LINE`] — to the second serial port, [`RECORD_PORT`] (COM2), as
//! well, one line per record; no system call reaches it and ring 3 cannot
//! use I/O ports. It echoes them on COM1 for humans. The xtask reads
//! verdicts, app exit codes and test results from the record only, and
//! COM1 only for what it shows (and the text of crash reports).
//!
//! Test names cross into the record from apps (`libos_test_register`):
//! the kernel refuses names with whitespace or control characters, so a
//! name cannot make a line of its own.

/// The run finished successfully.
pub const EXIT_SUCCESS: u8 = 0x01;
/// The run failed (kernel panic, unexpected exception, failed test, ...).
pub const EXIT_FAILURE: u8 = 0x02;
/// The app exited with a nonzero code (the code is in the exit line).
pub const EXIT_APP_CODE: u8 = 0x03;
/// The kernel killed the app; the low six bits carry the signal number.
pub const EXIT_APP_KILLED: u8 = 0x40;

/// The I/O port base of the run record's UART (COM2).
pub const RECORD_PORT: u16 = 0x2F8;

/// Size of the raw disk that `cargo xtask test` attaches (as virtio-blk) to
/// QEMU boots of the kernel's test image; the kernel's disk tests check
/// the capacity they find against it.
pub const TEST_DISK_BYTES: u64 = 16 << 20;

/// Prefix of the last line the kernel prints: `[libos] exit: <kind> <value>`
/// where kind is `success`, `failure`, `app-code <code>` or
/// `app-killed <signo>`.
pub const EXIT_LINE: &str = "[libos] exit: ";

/// Printed by the kernel before it runs a boot-time test: `[libos-test] start <name>`.
/// A crash or timeout after it (and before the test's result line) is
/// charged to that test.
pub const TEST_START: &str = "[libos-test] start ";
/// Result line of a test: `test <name> ... ok` or `test <name> ... FAILED: <reason>`.
pub const TEST_RESULT_PREFIX: &str = "test ";
/// Separator between a test's name and its result.
pub const TEST_RESULT_SEPARATOR: &str = " ... ";
/// Result word of a passing test.
pub const TEST_OK: &str = "ok";
/// Result word of a failing test (followed by `: <reason>`).
pub const TEST_FAILED: &str = "FAILED";
/// Printed once all tests of a boot have run: `[libos-test] done: N passed, M failed`.
pub const TEST_DONE: &str = "[libos-test] done: ";

/// How a run ended, as both sides understand it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunExit {
    /// Everything finished as it should.
    Success,
    /// The kernel failed.
    Failure,
    /// The app exited with this nonzero code.
    AppCode(u8),
    /// The kernel killed the app with this signal number.
    AppKilled(u8),
}

impl RunExit {
    /// The byte written to the debug-exit port.
    pub const fn port_value(self) -> u8 {
        match self {
            RunExit::Success => EXIT_SUCCESS,
            RunExit::Failure => EXIT_FAILURE,
            RunExit::AppCode(0) => EXIT_SUCCESS,
            RunExit::AppCode(_) => EXIT_APP_CODE,
            RunExit::AppKilled(signo) => EXIT_APP_KILLED | (signo & 0x3F),
        }
    }

    /// Decodes QEMU's process exit status. `None` for statuses the kernel
    /// never produces (QEMU's own error status 1, a signal, ...).
    /// [`RunExit::AppCode`] comes back with code 0: the code itself is in the
    /// exit line.
    pub const fn from_qemu_status(status: i32) -> Option<RunExit> {
        if status & 1 == 0 || status <= 1 || status > 255 {
            return None;
        }
        let v = (status >> 1) as u8;
        match v {
            EXIT_SUCCESS => Some(RunExit::Success),
            EXIT_FAILURE => Some(RunExit::Failure),
            EXIT_APP_CODE => Some(RunExit::AppCode(0)),
            _ if v & EXIT_APP_KILLED != 0 => Some(RunExit::AppKilled(v & 0x3F)),
            _ => None,
        }
    }

    /// The exit status `cargo xtask run` reports for this ending.
    pub const fn shell_status(self) -> i32 {
        match self {
            RunExit::Success => 0,
            RunExit::Failure => 1,
            RunExit::AppCode(code) => code as i32,
            RunExit::AppKilled(signo) => 128 + signo as i32,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What QEMU does with a byte written to isa-debug-exit.
    fn qemu_status(v: u8) -> i32 {
        (((v as i32) << 1) | 1) & 0xFF
    }

    #[test]
    fn every_ending_survives_the_qemu_status() {
        for exit in
            [RunExit::Success, RunExit::Failure, RunExit::AppCode(42), RunExit::AppKilled(11), RunExit::AppKilled(4)]
        {
            let decoded = RunExit::from_qemu_status(qemu_status(exit.port_value())).unwrap();
            match exit {
                RunExit::AppCode(_) => assert_eq!(decoded, RunExit::AppCode(0)),
                other => assert_eq!(decoded, other),
            }
        }
    }

    #[test]
    fn qemu_errors_are_not_results() {
        assert_eq!(RunExit::from_qemu_status(1), None);
        assert_eq!(RunExit::from_qemu_status(0), None);
        assert_eq!(RunExit::from_qemu_status(2), None);
        assert_eq!(RunExit::from_qemu_status(-1), None);
    }

    #[test]
    fn exit_code_zero_is_success() {
        assert_eq!(RunExit::AppCode(0).port_value(), EXIT_SUCCESS);
    }
}
