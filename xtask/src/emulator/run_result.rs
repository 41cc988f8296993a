//! Turning the way a QEMU process ended into a verdict about the run.
//!
//! The contract is `libos_abi::run`: the kernel ends a run by writing a byte
//! to the `isa-debug-exit` port, which QEMU turns into its exit status, and
//! writes an exit line (`[libos] exit: ...`) to its run record (COM2) first.
//! The app's exit code comes from the record, never from the console, where
//! the app can print an exit line of its own. Everything here is pure so
//! that it can be unit-tested without QEMU.

use std::time::Duration;

use libos_abi::run::{EXIT_LINE, RunExit};

/// How the QEMU process ended, as the operating system reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QemuEnd {
    /// QEMU exited with this status.
    Exited(i32),
    /// QEMU was killed by this signal (not by us).
    Signaled(i32),
    /// We killed QEMU because the run took longer than this.
    TimedOut(Duration),
}

/// What a run means, decoded from [`QemuEnd`] and the run record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The kernel ended the run; [`RunExit::AppCode`] carries the app's real
    /// exit code (taken from the exit line).
    Exit(RunExit),
    /// The run did not end within this many seconds.
    TimedOut(Duration),
    /// The run did not end the way the kernel ends runs: QEMU failed, the
    /// guest reset itself, or the output contradicts the status. The text
    /// says what happened.
    Problem(String),
}

/// Exit status of `cargo xtask run` after a timeout (as `timeout(1)`).
pub const TIMEOUT_STATUS: i32 = 124;
/// Exit status of `cargo xtask run` when QEMU or the guest misbehaved.
pub const PROBLEM_STATUS: i32 = 2;

impl Verdict {
    /// The status `cargo xtask run` exits with.
    pub fn shell_status(&self) -> i32 {
        match self {
            Verdict::Exit(exit) => exit.shell_status(),
            Verdict::TimedOut(_) => TIMEOUT_STATUS,
            Verdict::Problem(_) => PROBLEM_STATUS,
        }
    }

    /// A one-line description for reports.
    pub fn describe(&self) -> String {
        match self {
            Verdict::Exit(exit) => describe_exit(*exit),
            Verdict::TimedOut(after) => format!("timed out after {}", format_secs(*after)),
            Verdict::Problem(text) => text.clone(),
        }
    }
}

/// Describes a kernel-reported ending in words.
pub fn describe_exit(exit: RunExit) -> String {
    match exit {
        RunExit::Success => "the run succeeded".to_string(),
        RunExit::Failure => "the kernel reported a failure".to_string(),
        RunExit::AppCode(code) => format!("the app exited with code {code}"),
        RunExit::AppKilled(signo) => format!("the kernel killed the app with signal {signo}"),
    }
}

/// Formats a duration as whole seconds when it is whole (`10 s`), else with
/// one decimal (`2.5 s`).
pub fn format_secs(d: Duration) -> String {
    if d.subsec_nanos() == 0 { format!("{} s", d.as_secs()) } else { format!("{:.1} s", d.as_secs_f64()) }
}

/// Decodes how a run ended. `records` is the kernel's run record (COM2).
pub fn decode(end: QemuEnd, records: &[u8]) -> Verdict {
    let status = match end {
        QemuEnd::TimedOut(after) => return Verdict::TimedOut(after),
        QemuEnd::Signaled(signo) => {
            return Verdict::Problem(format!("QEMU was killed by signal {signo} before the guest ended the run"));
        }
        QemuEnd::Exited(status) => status,
    };
    match RunExit::from_qemu_status(status) {
        Some(RunExit::AppCode(_)) => match last_app_code(records) {
            Some(Ok(0)) => Verdict::Problem(format!(
                "QEMU exited with status {status} (the app exited with a nonzero code), \
                 but the exit line says `app-code 0`"
            )),
            Some(Ok(code)) => Verdict::Exit(RunExit::AppCode(code)),
            Some(Err(line)) => Verdict::Problem(format!(
                "QEMU exited with status {status} (the app exited with a nonzero code), \
                 but the exit line `{line}` does not carry a code from 1 to 255"
            )),
            None => Verdict::Problem(format!(
                "QEMU exited with status {status} (the app exited with a nonzero code), \
                 but the run record has no `{EXIT_LINE}app-code <N>` line"
            )),
        },
        Some(exit) => Verdict::Exit(exit),
        None => Verdict::Problem(undecodable_status(status)),
    }
}

/// Explains a QEMU exit status that the kernel never produces.
fn undecodable_status(status: i32) -> String {
    match status {
        0 => "QEMU exited with status 0: the guest reset itself (triple fault?) or powered off \
              — the kernel never exits this way"
            .to_string(),
        1 => "QEMU exited with status 1: QEMU itself failed (see its error output)".to_string(),
        s if s & 1 == 1 && (0..=255).contains(&s) => format!(
            "QEMU exited with status {s}: the guest wrote {:#04x} to the debug-exit port, \
             which is no exit code of libos_abi::run",
            s >> 1
        ),
        s => format!("QEMU exited with status {s}, which the kernel never produces"),
    }
}

/// The code in the last `[libos] exit: app-code <N>` line of the run
/// record, if there is one: `Err(line)` when that line does not end in a
/// number from 0 to 255.
pub fn last_app_code(records: &[u8]) -> Option<Result<u8, String>> {
    let text = String::from_utf8_lossy(records);
    let marker = format!("{EXIT_LINE}app-code");
    let line = text.lines().rev().find(|line| line.contains(&marker))?;
    let at = line.rfind(&marker).expect("the line contains the marker");
    let rest = line[at + marker.len()..].trim();
    Some(rest.parse::<u8>().map_err(|_| line.trim_end().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status_for(exit: RunExit) -> i32 {
        ((exit.port_value() as i32) << 1 | 1) & 0xFF
    }

    #[test]
    fn kernel_endings_decode() {
        assert_eq!(decode(QemuEnd::Exited(status_for(RunExit::Success)), b""), Verdict::Exit(RunExit::Success));
        assert_eq!(decode(QemuEnd::Exited(5), b""), Verdict::Exit(RunExit::Failure));
        let killed = decode(QemuEnd::Exited(status_for(RunExit::AppKilled(11))), b"");
        assert_eq!(killed, Verdict::Exit(RunExit::AppKilled(11)));
        assert_eq!(killed.shell_status(), 139);
        assert_eq!(Verdict::Exit(RunExit::Failure).shell_status(), 1);
        assert_eq!(Verdict::Exit(RunExit::Success).shell_status(), 0);
    }

    #[test]
    fn app_code_comes_from_the_last_exit_line() {
        let records = b"hello\r\n[libos] exit: app-code 3\r\n[libos] exit: app-code 42\r\n";
        let verdict = decode(QemuEnd::Exited(7), records);
        assert_eq!(verdict, Verdict::Exit(RunExit::AppCode(42)));
        assert_eq!(verdict.shell_status(), 42);
    }

    #[test]
    fn app_code_line_may_follow_other_output_on_the_same_line() {
        let records = b"partial line[libos] exit: app-code 9\n";
        assert_eq!(decode(QemuEnd::Exited(7), records), Verdict::Exit(RunExit::AppCode(9)));
    }

    #[test]
    fn missing_or_bad_app_code_is_a_problem() {
        let missing = decode(QemuEnd::Exited(7), b"[libos] exit: failure\n");
        assert!(matches!(&missing, Verdict::Problem(t) if t.contains("no `[libos] exit: app-code")));
        assert_eq!(missing.shell_status(), PROBLEM_STATUS);
        let bad = decode(QemuEnd::Exited(7), b"[libos] exit: app-code 300\n");
        assert!(matches!(&bad, Verdict::Problem(t) if t.contains("app-code 300")));
        let zero = decode(QemuEnd::Exited(7), b"[libos] exit: app-code 0\n");
        assert!(matches!(&zero, Verdict::Problem(t) if t.contains("app-code 0")));
    }

    #[test]
    fn qemu_statuses_the_kernel_never_produces() {
        let reset = decode(QemuEnd::Exited(0), b"");
        assert!(matches!(&reset, Verdict::Problem(t) if t.contains("triple fault")));
        assert_eq!(reset.shell_status(), 2);
        let own = decode(QemuEnd::Exited(1), b"");
        assert!(matches!(&own, Verdict::Problem(t) if t.contains("QEMU itself failed")));
        let odd = decode(QemuEnd::Exited(9), b"");
        assert!(matches!(&odd, Verdict::Problem(t) if t.contains("0x04")));
        let even = decode(QemuEnd::Exited(4), b"");
        assert!(matches!(&even, Verdict::Problem(t) if t.contains("status 4")));
        let signal = decode(QemuEnd::Signaled(9), b"");
        assert!(matches!(&signal, Verdict::Problem(t) if t.contains("signal 9")));
    }

    #[test]
    fn timeouts() {
        let verdict = decode(QemuEnd::TimedOut(Duration::from_secs(60)), b"");
        assert_eq!(verdict.shell_status(), TIMEOUT_STATUS);
        assert_eq!(verdict.describe(), "timed out after 60 s");
        assert_eq!(format_secs(Duration::from_millis(2500)), "2.5 s");
    }
}
