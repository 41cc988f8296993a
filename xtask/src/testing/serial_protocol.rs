//! The boot-time test protocol, read from a guest's run record.
//!
//! A kernel (or app) built with boot-time tests and started with the command
//! line word `test` has the kernel write, for each test, to its run record
//! (COM2, which only the kernel writes; see `libos_abi::run`):
//!
//! ```text
//! [libos-test] start <name>
//! test <name> ... ok
//! test <name> ... FAILED: <reason>
//! ```
//!
//! and after the last test `[libos-test] done: N passed, M failed`, then the
//! exit line (`[libos] exit: ...`) and the debug-exit port write (success iff
//! every test passed). The kernel echoes these lines on the console (COM1),
//! where whatever a test prints goes too.
//!
//! [`Parser`] reads the record as it arrives ([`Parser::feed_records`], in
//! chunks that split lines anywhere) and emits an [`Event`] per protocol
//! line; from the console ([`Parser::feed_console`]) it only keeps the last
//! lines printed since the running test started, to quote them when the
//! test crashes. A protocol line an app prints on the console is output
//! like any other: it makes no result. At the end of the run
//! ([`Parser::finish`]) it turns what is missing into failures: a test that
//! started and never reported crashed (or timed out), a run that ended before
//! its done line without a running test failed as a whole, and a done line
//! or exit status that contradicts the results is a failure too. Tests that
//! were never reached are never invented.

use std::collections::VecDeque;

// The protocol's words are shared with the kernel through libos_abi.
use libos_abi::run::{
    EXIT_LINE, RunExit, TEST_DONE, TEST_FAILED, TEST_OK, TEST_RESULT_PREFIX, TEST_RESULT_SEPARATOR, TEST_START,
};

use crate::emulator::run_result::{Verdict, format_secs};

/// How many lines of output a crash report quotes.
const CRASH_CONTEXT_LINES: usize = 3;
/// Longest quoted line in a crash report, in characters.
const CRASH_CONTEXT_LINE_CHARS: usize = 160;

/// The result of one test.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The test passed.
    Ok,
    /// The test failed for this reason (possibly empty).
    Failed(String),
    /// The test was skipped (`test <name> ... ignored[, <reason>]`: the
    /// reason, possibly empty); not counted.
    Ignored(String),
}

/// A test name with its outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TestResult {
    /// The test's full name (`selfcheck::passes`, `hello::args`).
    pub name: String,
    /// Its outcome.
    pub outcome: Outcome,
}

impl TestResult {
    /// A passing result.
    pub fn ok(name: impl Into<String>) -> TestResult {
        TestResult { name: name.into(), outcome: Outcome::Ok }
    }

    /// A failing result.
    pub fn failed(name: impl Into<String>, reason: impl Into<String>) -> TestResult {
        TestResult { name: name.into(), outcome: Outcome::Failed(reason.into()) }
    }

    /// Whether the outcome is a failure.
    pub fn is_failure(&self) -> bool {
        matches!(self.outcome, Outcome::Failed(_))
    }

    /// The line the xtask prints for this result, with an optional
    /// configuration suffix (`" [kpti=off]"`) after the name.
    pub fn line(&self, suffix: &str) -> String {
        match &self.outcome {
            Outcome::Ok => format!("test {}{suffix} ... ok", self.name),
            Outcome::Ignored(reason) if reason.is_empty() => format!("test {}{suffix} ... ignored", self.name),
            Outcome::Ignored(reason) => format!("test {}{suffix} ... ignored, {reason}", self.name),
            Outcome::Failed(reason) if reason.is_empty() => {
                format!("test {}{suffix} ... FAILED", self.name)
            }
            Outcome::Failed(reason) => format!("test {}{suffix} ... FAILED: {reason}", self.name),
        }
    }
}

/// The counts of the done line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Done {
    /// Tests that passed.
    pub passed: u32,
    /// Tests that failed.
    pub failed: u32,
}

/// Something the parser recognised in the output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// `[libos-test] start <name>`.
    Started(String),
    /// A result line.
    Result(TestResult),
    /// The done line.
    Done(Done),
}

/// Reads the test protocol from a run record, with the console beside it
/// for crash reports.
#[derive(Debug, Default)]
pub struct Parser {
    /// Bytes of the record line not yet ended by `\n`.
    partial: Vec<u8>,
    /// Bytes of the console line not yet ended by `\n`.
    console_partial: Vec<u8>,
    /// The test that started and has not reported yet.
    running: Option<String>,
    /// The first line printed since the running test started (or since the
    /// last result), exit lines left out.
    first_context: Option<String>,
    /// The last few lines printed since then, exit lines left out.
    context: VecDeque<String>,
    /// How many lines were printed since then, exit lines left out.
    context_count: usize,
    /// Every result seen, in order.
    results: Vec<TestResult>,
    /// The done line, once seen.
    done: Option<Done>,
}

impl Parser {
    /// A parser at the start of a run.
    pub fn new() -> Parser {
        Parser::default()
    }

    /// Feeds the next chunk of the run record; returns the events its
    /// complete lines carry. A line split across chunks is handled when its
    /// end arrives.
    pub fn feed_records(&mut self, bytes: &[u8]) -> Vec<Event> {
        let mut events = Vec::new();
        let mut rest = bytes;
        while let Some(newline) = rest.iter().position(|&b| b == b'\n') {
            self.partial.extend_from_slice(&rest[..newline]);
            rest = &rest[newline + 1..];
            let line = std::mem::take(&mut self.partial);
            self.record_line(&String::from_utf8_lossy(&line), &mut events);
        }
        self.partial.extend_from_slice(rest);
        events
    }

    /// Feeds a transcript as the kernel writes it (for tests): every line to
    /// the console, and the protocol lines to the record too.
    #[cfg(test)]
    pub fn feed_transcript(&mut self, transcript: &str) {
        let is_record = |line: &str| {
            line.starts_with(TEST_START)
                || line.starts_with(TEST_DONE)
                || line.starts_with(EXIT_LINE)
                || parse_result(line.trim_end()).is_some()
        };
        let records: String = transcript.split_inclusive('\n').filter(|l| is_record(l)).collect();
        self.feed_console(transcript.as_bytes());
        self.feed_records(records.as_bytes());
    }

    /// Feeds the next chunk of the console: kept only to quote in a crash
    /// report, never read for results.
    pub fn feed_console(&mut self, bytes: &[u8]) {
        let mut rest = bytes;
        while let Some(newline) = rest.iter().position(|&b| b == b'\n') {
            self.console_partial.extend_from_slice(&rest[..newline]);
            rest = &rest[newline + 1..];
            let line = std::mem::take(&mut self.console_partial);
            self.console_line(&String::from_utf8_lossy(&line));
        }
        self.console_partial.extend_from_slice(rest);
    }

    /// The results seen so far.
    pub fn results(&self) -> &[TestResult] {
        &self.results
    }

    /// The done line, if it was seen.
    pub fn done(&self) -> Option<Done> {
        self.done
    }

    /// Ends the run: handles an unterminated last line, then returns the
    /// failures that the ending implies (events for that line included).
    /// `suite` names the failure of a run that ended badly with no test
    /// running; `verdict` is how the run ended.
    pub fn finish(&mut self, suite: &str, verdict: &Verdict) -> Vec<Event> {
        let mut events = Vec::new();
        if !self.console_partial.is_empty() {
            let line = std::mem::take(&mut self.console_partial);
            self.console_line(&String::from_utf8_lossy(&line));
        }
        if !self.partial.is_empty() {
            let line = std::mem::take(&mut self.partial);
            self.record_line(&String::from_utf8_lossy(&line), &mut events);
        }
        if let Some(name) = self.running.take() {
            let reason = match verdict {
                Verdict::TimedOut(after) => format!("timed out after {}", format_secs(*after)),
                _ => self.crash_reason(verdict),
            };
            self.push_result(TestResult::failed(name, reason), &mut events);
            return events;
        }
        let problem = match (self.done, verdict) {
            (None, Verdict::TimedOut(after)) => {
                Some(format!("timed out after {} with no test running and before the done line", format_secs(*after)))
            }
            (None, verdict) => Some(format!(
                "the run ended before the done line with no test running ({}){}",
                verdict.describe(),
                self.last_lines_note()
            )),
            (Some(done), verdict) => self.check_done(done, verdict),
        };
        if let Some(problem) = problem {
            self.push_result(TestResult::failed(suite, problem), &mut events);
        }
        events
    }

    /// Checks the done line against the results and the run's ending.
    fn check_done(&self, done: Done, verdict: &Verdict) -> Option<String> {
        let ok = self.results.iter().filter(|r| r.outcome == Outcome::Ok).count();
        let failed = self.results.iter().filter(|r| r.is_failure()).count();
        if (ok, failed) != (done.passed as usize, done.failed as usize) {
            return Some(format!(
                "the done line says {} passed, {} failed, but the output had {ok} ok and \
                 {failed} FAILED lines",
                done.passed, done.failed
            ));
        }
        let expected = if done.failed == 0 { RunExit::Success } else { RunExit::Failure };
        match verdict {
            Verdict::Exit(exit) if *exit == expected => None,
            other => Some(format!(
                "after the done line ({} passed, {} failed) the run should end with {:?}, \
                 but {}",
                done.passed,
                done.failed,
                expected,
                other.describe()
            )),
        }
    }

    /// The reason given for a test that started and never reported: the
    /// first line printed after its start line (an exception or panic
    /// report usually leads with what happened) and the last ones.
    fn crash_reason(&self, verdict: &Verdict) -> String {
        let mut text =
            if self.context_count == 0 { "no output after its start line".to_string() } else { self.quoted_context() };
        if *verdict != Verdict::Exit(RunExit::Failure) {
            text.push_str("; ");
            text.push_str(&verdict.describe());
        }
        format!("crashed ({text})")
    }

    /// The first and the last lines of the context, joined by ` | `.
    fn quoted_context(&self) -> String {
        let tail = CRASH_CONTEXT_LINES - 1;
        let mut lines: Vec<String> = Vec::new();
        if self.context_count > CRASH_CONTEXT_LINES {
            lines.extend(self.first_context.clone());
            lines.push("…".to_string());
            lines.extend(self.context.iter().skip(self.context.len() - tail).cloned());
        } else {
            lines.extend(self.context.iter().cloned());
        }
        let lines: Vec<String> = lines.iter().map(|l| truncate(l, CRASH_CONTEXT_LINE_CHARS)).collect();
        lines.join(" | ")
    }

    /// "; output: ..." for a run that ended early, or nothing.
    fn last_lines_note(&self) -> String {
        if self.context_count == 0 { String::new() } else { format!("; output: {}", self.quoted_context()) }
    }

    /// Handles one complete line of the run record (without its `\n`).
    fn record_line(&mut self, raw: &str, events: &mut Vec<Event>) {
        let line = raw.trim_end_matches(['\r', '\n']);
        if let Some(name) = line.strip_prefix(TEST_START) {
            let name = name.trim();
            if !name.is_empty() {
                self.running = Some(name.to_string());
                events.push(Event::Started(name.to_string()));
                return;
            }
        }
        if let Some(done) = line.strip_prefix(TEST_DONE).and_then(parse_done) {
            self.done = Some(done);
            events.push(Event::Done(done));
            return;
        }
        if let Some(result) = parse_result(line) {
            self.push_result(result, events);
        }
    }

    /// Handles one complete line of the console: the context of a crash
    /// report. The kernel echoes the start line of each test there, which
    /// begins a new context (an app can print one too; that only changes
    /// what a crash report quotes).
    fn console_line(&mut self, raw: &str) {
        let line = raw.trim_end_matches(['\r', '\n']);
        if line.contains(TEST_START) || parse_result(line).is_some() {
            self.clear_context();
            return;
        }
        if !line.trim().is_empty() && !line.contains(EXIT_LINE) {
            if self.first_context.is_none() {
                self.first_context = Some(line.to_string());
            }
            self.context_count += 1;
            self.context.push_back(line.to_string());
            while self.context.len() > CRASH_CONTEXT_LINES {
                self.context.pop_front();
            }
        }
    }

    fn clear_context(&mut self) {
        self.first_context = None;
        self.context.clear();
        self.context_count = 0;
    }

    /// Records a result; it ends the running test if it is that test's.
    fn push_result(&mut self, result: TestResult, events: &mut Vec<Event>) {
        if self.running.as_deref() == Some(result.name.as_str()) {
            self.running = None;
        }
        self.results.push(result.clone());
        events.push(Event::Result(result));
    }
}

/// A result line: `test <name> ... <outcome>`, the name one word.
fn parse_result(line: &str) -> Option<TestResult> {
    let body = line.strip_prefix(TEST_RESULT_PREFIX)?;
    let (name, outcome) = body.split_once(TEST_RESULT_SEPARATOR)?;
    let outcome = parse_outcome(outcome)?;
    let name = name.trim();
    (!name.is_empty() && !name.contains(char::is_whitespace)).then(|| TestResult { name: name.to_string(), outcome })
}

/// `ok`, `ignored`, `ignored, <reason>`, `FAILED` or `FAILED: <reason>`.
fn parse_outcome(text: &str) -> Option<Outcome> {
    let text = text.trim_end();
    if text == TEST_OK {
        Some(Outcome::Ok)
    } else if text == "ignored" {
        Some(Outcome::Ignored(String::new()))
    } else if let Some(reason) = text.strip_prefix("ignored,") {
        Some(Outcome::Ignored(reason.trim().to_string()))
    } else if text == TEST_FAILED {
        Some(Outcome::Failed(String::new()))
    } else {
        let reason = text.strip_prefix(TEST_FAILED)?.strip_prefix(':')?;
        Some(Outcome::Failed(reason.trim().to_string()))
    }
}

/// `N passed, M failed` (anything after it is ignored).
fn parse_done(text: &str) -> Option<Done> {
    let mut words = text.split([' ', ',']).filter(|w| !w.is_empty());
    let passed = words.next()?.parse().ok()?;
    (words.next()? == "passed").then_some(())?;
    let failed = words.next()?.parse().ok()?;
    (words.next()? == "failed").then_some(())?;
    Some(Done { passed, failed })
}

/// At most `max` characters of `line`, with `…` when cut.
fn truncate(line: &str, max: usize) -> String {
    let line = line.trim();
    match line.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &line[..at]),
        None => line.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn success() -> Verdict {
        Verdict::Exit(RunExit::Success)
    }

    fn failure() -> Verdict {
        Verdict::Exit(RunExit::Failure)
    }

    /// Feeds the whole transcript at once, then finishes; returns all results.
    fn run(transcript: &str, verdict: Verdict) -> (Vec<TestResult>, Option<Done>) {
        let mut parser = Parser::new();
        parser.feed_transcript(transcript);
        parser.finish("suite", &verdict);
        (parser.results().to_vec(), parser.done())
    }

    #[test]
    fn passing_and_failing_tests() {
        let transcript = "\
[libos] booting\r\n\
[libos-test] start mm::frames\r\n\
test mm::frames ... ok\r\n\
[libos-test] start mm::pages\r\n\
test mm::pages ... FAILED: assertion `left == right` failed at kernel/src/mm.rs:10\r\n\
[libos-test] done: 1 passed, 1 failed\r\n\
[libos] exit: failure\r\n";
        let (results, done) = run(transcript, failure());
        assert_eq!(
            results,
            vec![
                TestResult::ok("mm::frames"),
                TestResult::failed("mm::pages", "assertion `left == right` failed at kernel/src/mm.rs:10"),
            ]
        );
        assert_eq!(done, Some(Done { passed: 1, failed: 1 }));
    }

    #[test]
    fn events_come_as_lines_complete() {
        let mut parser = Parser::new();
        assert_eq!(parser.feed_records(b"[libos-test] sta"), vec![]);
        assert_eq!(parser.feed_records(b"rt a::b\n"), vec![Event::Started("a::b".into())]);
        assert_eq!(parser.feed_records(b"test a::b .."), vec![]);
        assert_eq!(parser.feed_records(b". o"), vec![]);
        assert_eq!(parser.feed_records(b"k\r"), vec![]);
        assert_eq!(parser.feed_records(b"\n[libos-test] done: 1"), vec![Event::Result(TestResult::ok("a::b"))]);
        assert_eq!(parser.feed_records(b" passed, 0 failed\n"), vec![Event::Done(Done { passed: 1, failed: 0 })]);
        assert_eq!(parser.finish("suite", &success()), vec![]);
    }

    #[test]
    fn byte_at_a_time() {
        let transcript = "[libos-test] start x::y\nnoise\ntest x::y ... FAILED: boom\n\
                          [libos-test] done: 0 passed, 1 failed\n";
        let mut parser = Parser::new();
        let mut events = Vec::new();
        for b in transcript.bytes() {
            events.extend(parser.feed_records(&[b]));
        }
        events.extend(parser.finish("suite", &failure()));
        assert_eq!(
            events,
            vec![
                Event::Started("x::y".into()),
                Event::Result(TestResult::failed("x::y", "boom")),
                Event::Done(Done { passed: 0, failed: 1 }),
            ]
        );
    }

    #[test]
    fn other_kernel_output_is_ignored() {
        let transcript = "\
[libos] memory: 127 MiB\n\
test results follow\n\
[libos-test] start sched::yield\n\
sched: cpu 0 idle\n\
test of the emergency broadcast system\n\
test sched::yield ... ok\n\
[libos] timer: 100 Hz\n\
[libos-test] done: 1 passed, 0 failed\n\
[libos] exit: success\n";
        let (results, done) = run(transcript, success());
        assert_eq!(results, vec![TestResult::ok("sched::yield")]);
        assert_eq!(done, Some(Done { passed: 1, failed: 0 }));
    }

    #[test]
    fn protocol_lines_on_the_console_make_no_results() {
        // A test that prints forged lines, then faults: only the record
        // counts, and the forged lines are quoted as its output.
        let mut parser = Parser::new();
        parser.feed_records(b"[libos-test] start a::b\n");
        parser.feed_console(
            b"[libos-test] start a::b\r\nforging\r\ntest a::b ... ok\r\ntest forged ... ok\r\n\
              [libos-test] done: 2 passed, 0 failed\r\n[libos] exit: success\r\nsegfault\r\n",
        );
        let events =
            parser.feed_records(b"test a::b ... FAILED: killed by SIGSEGV\n[libos-test] done: 0 passed, 1 failed\n");
        assert_eq!(
            events,
            vec![
                Event::Result(TestResult::failed("a::b", "killed by SIGSEGV")),
                Event::Done(Done { passed: 0, failed: 1 })
            ]
        );
        assert!(parser.finish("suite", &failure()).is_empty());
        assert_eq!(parser.results(), &[TestResult::failed("a::b", "killed by SIGSEGV")]);
        // A run whose record ends early fails, whatever the console says.
        let mut parser = Parser::new();
        parser.feed_console(b"test a ... ok\n[libos-test] done: 1 passed, 0 failed\n[libos] exit: success\n");
        let events = parser.finish("suite", &success());
        assert_eq!(events.len(), 1);
        assert!(matches!(&events[0], Event::Result(r) if r.name == "suite" && r.is_failure()), "{events:?}");
    }

    #[test]
    fn a_crash_quotes_the_console_since_the_start_line() {
        let mut parser = Parser::new();
        parser.feed_console(b"[libos-test] start a::one\r\nfirst's output\r\ntest a::one ... ok\r\n");
        parser.feed_console(b"[libos-test] start a::two\r\nabout to fault\r\n[libos] KERNEL PANIC\r\n");
        parser.feed_records(b"[libos-test] start a::one\ntest a::one ... ok\n[libos-test] start a::two\n");
        parser.feed_records(b"[libos] exit: failure\n");
        parser.finish("suite", &failure());
        assert_eq!(
            parser.results(),
            &[
                TestResult::ok("a::one"),
                TestResult::failed("a::two", "crashed (about to fault | [libos] KERNEL PANIC)")
            ]
        );
    }

    #[test]
    fn failed_without_reason_and_ignored() {
        let transcript = "test a ... FAILED\ntest b ... ignored\ntest c ... ignored, no virtio disk (not under QEMU)\n\
                          [libos-test] done: 0 passed, 1 failed\n";
        let (results, _) = run(transcript, failure());
        assert_eq!(
            results,
            vec![
                TestResult::failed("a", ""),
                TestResult { name: "b".into(), outcome: Outcome::Ignored(String::new()) },
                TestResult { name: "c".into(), outcome: Outcome::Ignored("no virtio disk (not under QEMU)".into()) },
            ]
        );
        assert_eq!(results[0].line(""), "test a ... FAILED");
        assert_eq!(results[1].line(" [smp=4]"), "test b [smp=4] ... ignored");
        // The reason the kernel gave is shown.
        assert_eq!(results[2].line(""), "test c ... ignored, no virtio disk (not under QEMU)");
    }

    #[test]
    fn crash_is_attributed_to_the_running_test() {
        let transcript = "\
[libos-test] start a::first\n\
test a::first ... ok\n\
[libos-test] start a::second\n\
about to fault\n\
[libos] PANIC: unexpected page fault at 0xdead (rip 0xffffffff80101234)\n\
[libos]   error code 0x2\n\
[libos]   cr2 0xdead\n\
[libos] exit: failure\n";
        let (results, done) = run(transcript, failure());
        assert_eq!(done, None);
        assert_eq!(results.len(), 2, "no test is invented: {results:?}");
        assert_eq!(results[0], TestResult::ok("a::first"));
        assert_eq!(
            results[1],
            TestResult::failed(
                "a::second",
                "crashed (about to fault | … | [libos]   error code 0x2 | [libos]   cr2 0xdead)"
            )
        );
        assert_eq!(
            results[1].line(" [kpti=off]"),
            format!(
                "test a::second [kpti=off] ... FAILED: {}",
                match &results[1].outcome {
                    Outcome::Failed(r) => r.as_str(),
                    _ => unreachable!(),
                }
            )
        );
    }

    #[test]
    fn crash_report_leads_with_the_first_line() {
        // As the kernel reports an unexpected exception.
        let transcript = "\
[libos-test] start selfcheck::crashes\r\n\
[libos] unexpected exception in the kernel on CPU 0: #PF page fault (vector 14)\r\n\
  error code 0x0 (page not present, read, supervisor mode) at address 0xffffff00dead0000\r\n\
  RIP 0xffffffff801206cd  CS 0x0010  RFLAGS 0x00000086  ring 0\r\n\
  R13 0x0000000000000000 R14 0x0000000008000000 R15 0xffffffff8014ffc0\r\n\
[libos] exit: failure\r\n";
        let (results, _) = run(transcript, failure());
        assert_eq!(
            results,
            vec![TestResult::failed(
                "selfcheck::crashes",
                "crashed ([libos] unexpected exception in the kernel on CPU 0: #PF page fault \
                 (vector 14) | … | RIP 0xffffffff801206cd  CS 0x0010  RFLAGS 0x00000086  ring 0 \
                 | R13 0x0000000000000000 R14 0x0000000008000000 R15 0xffffffff8014ffc0)"
            )]
        );
        // Three lines or fewer are quoted whole.
        let (results, _) = run("[libos-test] start a\none\ntwo\nthree\n", failure());
        assert_eq!(results, vec![TestResult::failed("a", "crashed (one | two | three)")]);
    }

    #[test]
    fn crash_with_any_exit_status_and_no_output() {
        let (results, _) = run("[libos-test] start a::b\n", success());
        assert_eq!(
            results,
            vec![TestResult::failed("a::b", "crashed (no output after its start line; the run succeeded)")]
        );
        let reset = Verdict::Problem("QEMU exited with status 0: triple fault?".into());
        let (results, _) = run("[libos-test] start a::b\nlast words", reset);
        assert_eq!(
            results,
            vec![TestResult::failed("a::b", "crashed (last words; QEMU exited with status 0: triple fault?)")]
        );
    }

    #[test]
    fn timeout_is_attributed_to_the_running_test() {
        let transcript = "[libos-test] start a::ok\ntest a::ok ... ok\n\
                          [libos-test] start a::spins\nspinning\n";
        let (results, _) = run(transcript, Verdict::TimedOut(Duration::from_secs(10)));
        assert_eq!(results, vec![TestResult::ok("a::ok"), TestResult::failed("a::spins", "timed out after 10 s")]);
    }

    #[test]
    fn timeout_with_no_running_test_fails_the_suite() {
        let (results, _) = run("[libos-test] start a\ntest a ... ok\n", Verdict::TimedOut(Duration::from_secs(5)));
        assert_eq!(results.len(), 2);
        assert_eq!(results[1].name, "suite");
        assert!(matches!(&results[1].outcome, Outcome::Failed(r) if r.contains("timed out after 5 s")));
    }

    #[test]
    fn missing_done_line_fails_the_suite_once() {
        let transcript = "[libos-test] start a\ntest a ... ok\nsomething odd\n[libos] exit: failure\n";
        let (results, _) = run(transcript, failure());
        assert_eq!(results.len(), 2);
        assert_eq!(results[0], TestResult::ok("a"));
        assert_eq!(results[1].name, "suite");
        let Outcome::Failed(reason) = &results[1].outcome else { panic!() };
        assert!(reason.contains("before the done line"), "{reason}");
        assert!(reason.contains("something odd"), "{reason}");
    }

    #[test]
    fn no_output_at_all_fails_the_suite() {
        let (results, _) = run("", Verdict::Problem("QEMU exited with status 1".into()));
        assert_eq!(results.len(), 1);
        assert!(results[0].is_failure());
        assert_eq!(results[0].name, "suite");
    }

    #[test]
    fn done_line_must_match_the_results() {
        let transcript = "test a ... ok\n[libos-test] done: 2 passed, 0 failed\n";
        let (results, _) = run(transcript, success());
        assert_eq!(results.len(), 2);
        let Outcome::Failed(reason) = &results[1].outcome else { panic!() };
        assert!(reason.contains("2 passed, 0 failed"), "{reason}");
        assert!(reason.contains("1 ok and 0 FAILED"), "{reason}");
    }

    #[test]
    fn exit_status_must_match_the_done_line() {
        let all_passed = "test a ... ok\n[libos-test] done: 1 passed, 0 failed\n";
        let (results, _) = run(all_passed, failure());
        assert_eq!(results.len(), 2);
        assert!(results[1].is_failure());
        let some_failed = "test a ... FAILED: x\n[libos-test] done: 0 passed, 1 failed\n";
        let (results, _) = run(some_failed, success());
        assert_eq!(results.len(), 2);
        assert!(results[1].is_failure());
        let (results, _) = run(some_failed, failure());
        assert_eq!(results.len(), 1);
        let (results, _) = run(all_passed, Verdict::TimedOut(Duration::from_secs(3)));
        assert_eq!(results.len(), 2, "hanging after the done line is a failure");
    }

    #[test]
    fn filtered_run_with_no_tests() {
        // The kernel applies test.filter; a filter that matches nothing is a
        // clean, empty run.
        let (results, done) = run("[libos-test] done: 0 passed, 0 failed\n", success());
        assert!(results.is_empty());
        assert_eq!(done, Some(Done { passed: 0, failed: 0 }));
    }

    #[test]
    fn unterminated_last_line_is_read_at_the_end() {
        let (results, _) = run("[libos-test] start a\ntest a ... ok\n[libos-test] done: 1 passed, 0 failed", success());
        assert_eq!(results, vec![TestResult::ok("a")]);
    }

    #[test]
    fn long_crash_lines_are_shortened() {
        let long = "x".repeat(500);
        let (results, _) = run(&format!("[libos-test] start a\n{long}\n"), failure());
        let Outcome::Failed(reason) = &results[0].outcome else { panic!() };
        assert!(reason.len() < 200, "{reason}");
        assert!(reason.ends_with("…)"), "{reason}");
    }

    #[test]
    fn invalid_utf8_does_not_stop_the_parser() {
        let mut parser = Parser::new();
        parser.feed_console(b"\xff\xfe garbage\n\xc3");
        parser.feed_records(b"\xff\xfe garbage\n[libos-test] start a\n\xc3");
        parser.feed_records(b"\x28\ntest a ... ok\n[libos-test] done: 1 passed, 0 failed\n");
        assert!(parser.finish("suite", &success()).is_empty());
        assert_eq!(parser.results(), &[TestResult::ok("a")]);
    }

    #[test]
    fn done_line_parsing() {
        assert_eq!(parse_done("3 passed, 1 failed"), Some(Done { passed: 3, failed: 1 }));
        assert_eq!(parse_done("3 passed, 1 failed, 2 ignored"), Some(Done { passed: 3, failed: 1 }));
        assert_eq!(parse_done("three passed"), None);
        assert_eq!(parse_done("3 passed"), None);
    }
}
