//! Differential tests: a static Linux program runs once on the host's
//! Linux and once in the unikernel, and its outputs must agree section by
//! section ([`crate::testing::plan::Expect::SameAsLinux`]).
//!
//! The program prints sections: a line `@@ section NAME` starts one that
//! is compared (one test line `PREFIX::NAME` each; a mismatch shows the
//! differing lines), `@@ uncompared NAME` one that is only shown (what the
//! kernel does not implement yet, beside Linux's answer), and `@@ end`
//! closes the run (test `PREFIX::ran_to_the_end`: both runs printed it and
//! exited with 0). The first argument after `--` is the program's scratch
//! folder: on the host a fresh folder replaces it.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result};

use crate::testing::serial_protocol::{Outcome, TestResult};

/// The line that starts a compared section.
const SECTION: &str = "@@ section ";
/// The line that starts a section that is shown, not compared.
const UNCOMPARED: &str = "@@ uncompared ";
/// The line that ends the run.
const END: &str = "@@ end";
/// Differing lines shown per section.
const SHOWN_DIFFERENCES: usize = 8;
/// How long the host run may take.
const HOST_TIMEOUT: Duration = Duration::from_secs(60);

/// One section of a program's output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section {
    /// Its name.
    pub name: String,
    /// Whether it is compared.
    pub compared: bool,
    /// Its lines.
    pub lines: Vec<String>,
}

/// A program's output cut into sections.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Transcript {
    /// The sections in order.
    pub sections: Vec<Section>,
    /// Whether the end line came.
    pub ended: bool,
}

/// Cuts `text` into sections. Lines before the first section (the boot
/// report) and the kernel's own lines (`[libos]...`) are left out, and
/// carriage returns dropped.
pub fn transcript(text: &str) -> Transcript {
    let mut out = Transcript::default();
    for raw in text.lines() {
        let line = raw.trim_end_matches('\r');
        if line.starts_with("[libos") {
            continue;
        }
        if let Some(name) = line.strip_prefix(SECTION) {
            out.sections.push(Section { name: name.to_string(), compared: true, lines: Vec::new() });
        } else if let Some(name) = line.strip_prefix(UNCOMPARED) {
            out.sections.push(Section { name: name.to_string(), compared: false, lines: Vec::new() });
        } else if line == END {
            out.ended = true;
        } else if !out.ended
            && let Some(section) = out.sections.last_mut()
        {
            section.lines.push(line.to_string());
        }
    }
    out
}

/// How a run of the program ended: `Ok` for exit status 0, else why not.
pub type RunEnd = Result<(), String>;

/// Compares Linux's transcript with ours: one result per compared section
/// of either side (in Linux's order, then sections only ours printed), one
/// ignored result per uncompared section (its lines beside Linux's), and
/// `PREFIX::ran_to_the_end`.
pub fn compare(
    prefix: &str,
    linux: &Transcript,
    linux_end: &RunEnd,
    ours: &Transcript,
    our_end: &RunEnd,
) -> Vec<TestResult> {
    let mut results = Vec::new();
    let find =
        |t: &Transcript, s: &Section| t.sections.iter().find(|o| o.name == s.name && o.compared == s.compared).cloned();
    for section in &linux.sections {
        let name = format!("{prefix}::{}", section.name);
        let theirs = find(ours, section);
        if !section.compared {
            let lines = theirs.map(|s| s.lines).unwrap_or_default();
            results.push(TestResult { name, outcome: Outcome::Ignored(uncompared_reason(&section.lines, &lines)) });
            continue;
        }
        results.push(match theirs {
            Some(s) if s.lines == section.lines => TestResult::ok(name),
            Some(s) => TestResult::failed(name, differences(&section.lines, &s.lines)),
            None => TestResult::failed(name, "the unikernel's run did not print this section"),
        });
    }
    for section in ours.sections.iter().filter(|s| find(linux, s).is_none()) {
        results.push(TestResult::failed(
            format!("{prefix}::{}", section.name),
            "only the unikernel's run printed this section (not Linux's)",
        ));
    }
    let mut problems = Vec::new();
    for (who, t, end) in [("Linux's", linux, linux_end), ("the unikernel's", ours, our_end)] {
        if !t.ended {
            problems.push(format!("{who} run did not print {END:?}"));
        }
        if let Err(why) = end {
            problems.push(format!("{who} run: {why}"));
        }
    }
    let name = format!("{prefix}::ran_to_the_end");
    results.push(if problems.is_empty() {
        TestResult::ok(name)
    } else {
        TestResult::failed(name, problems.join("; "))
    });
    results
}

/// `line N: Linux "..." / libos "..."` for the first differing lines.
fn differences(linux: &[String], ours: &[String]) -> String {
    let mut shown = Vec::new();
    let mut count = 0;
    for i in 0..linux.len().max(ours.len()) {
        let (a, b) = (linux.get(i), ours.get(i));
        if a == b {
            continue;
        }
        count += 1;
        if shown.len() < SHOWN_DIFFERENCES {
            let show = |l: Option<&String>| l.map_or("(no line)".to_string(), |l| format!("{l:?}"));
            shown.push(format!("line {}: Linux {} / libos {}", i + 1, show(a), show(b)));
        }
    }
    let more = if count > shown.len() {
        format!("\n    ({} more differing lines)", count - shown.len())
    } else {
        String::new()
    };
    format!("{count} line(s) differ:\n    {}{more}", shown.join("\n    "))
}

/// The uncompared section as one line: `ours (Linux: theirs)` per line
/// that differs, the line alone where both agree.
fn uncompared_reason(linux: &[String], ours: &[String]) -> String {
    let mut parts = Vec::new();
    for i in 0..linux.len().max(ours.len()) {
        match (ours.get(i), linux.get(i)) {
            (Some(a), Some(b)) if a == b => parts.push(a.clone()),
            (Some(a), Some(b)) => parts.push(format!("{a} (Linux: {b})")),
            (Some(a), None) => parts.push(a.clone()),
            (None, Some(b)) => parts.push(format!("(missing) (Linux: {b})")),
            (None, None) => {}
        }
    }
    format!("not compared: {}", parts.join("; "))
}

/// What the host run gave.
pub struct HostRun {
    /// Its standard output.
    pub stdout: String,
    /// How it ended.
    pub end: RunEnd,
}

/// Runs `elf` on the host with `args` (the first replaced by a fresh folder
/// under `scratch`), `argv[0]` its file name and only `env` in its
/// environment.
pub fn run_on_host(elf: &Path, args: &[String], env: &[(String, String)], scratch: &Path) -> Result<HostRun> {
    if scratch.exists() {
        std::fs::remove_dir_all(scratch).with_context(|| format!("removing {}", scratch.display()))?;
    }
    std::fs::create_dir_all(scratch).with_context(|| format!("creating {}", scratch.display()))?;
    let work = scratch.join("work");
    let mut cmd = Command::new(elf);
    if let Some(name) = elf.file_name() {
        cmd.arg0(name);
    }
    cmd.arg(&work)
        .args(args.iter().skip(1))
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .current_dir(scratch)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().with_context(|| format!("running {}", elf.display()))?;
    let stdout = child.stdout.take().context("no stdout")?;
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut std::io::BufReader::new(stdout), &mut text);
        text
    });
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break Some(status);
        }
        if started.elapsed() > HOST_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stdout = reader.join().unwrap_or_default();
    let end = match status {
        Some(s) if s.success() => Ok(()),
        Some(s) => Err(format!("exited with {s}")),
        None => Err(format!("timed out after {} s", HOST_TIMEOUT.as_secs())),
    };
    let _ = std::fs::remove_dir_all(scratch);
    Ok(HostRun { stdout, end })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINUX: &str = "@@ section a\nx: 1\ny: 2\n@@ section b\nz\n@@ uncompared missing\nfork: ok\n@@ end\n";

    #[test]
    fn sections_leave_out_the_boot_report_and_kernel_lines() {
        let ours = "[libos] booting\r\n  cmdline x\r\n@@ section a\r\nx: 1\r\n[libos] note\r\ny: 2\r\n@@ end\r\n[libos] exit: success\r\n";
        let t = transcript(ours);
        assert_eq!(
            t.sections,
            [Section { name: "a".into(), compared: true, lines: vec!["x: 1".into(), "y: 2".into()] }]
        );
        assert!(t.ended);
    }

    #[test]
    fn equal_sections_pass_and_uncompared_ones_are_shown() {
        let ours = LINUX.replace("fork: ok", "fork: ENOSYS");
        let results = compare("p", &transcript(LINUX), &Ok(()), &transcript(&ours), &Ok(()));
        let lines: Vec<String> = results.iter().map(|r| r.line("")).collect();
        assert_eq!(
            lines,
            [
                "test p::a ... ok",
                "test p::b ... ok",
                "test p::missing ... ignored, not compared: fork: ENOSYS (Linux: fork: ok)",
                "test p::ran_to_the_end ... ok",
            ]
        );
    }

    #[test]
    fn a_differing_line_fails_its_section_only_and_is_shown() {
        let ours = LINUX.replace("y: 2", "y: 3");
        let results = compare("p", &transcript(LINUX), &Ok(()), &transcript(&ours), &Ok(()));
        assert_eq!(
            results[0].outcome,
            Outcome::Failed("1 line(s) differ:\n    line 2: Linux \"y: 2\" / libos \"y: 3\"".into())
        );
        assert_eq!(results[1].outcome, Outcome::Ok);
    }

    #[test]
    fn a_run_cut_short_fails_the_missing_sections_and_the_end() {
        let ours = "@@ section a\nx: 1\ny: 2\n";
        let results = compare("p", &transcript(LINUX), &Ok(()), &transcript(ours), &Err("killed by signal 11".into()));
        assert_eq!(results[0].outcome, Outcome::Ok);
        assert!(matches!(&results[1].outcome, Outcome::Failed(why) if why.contains("did not print this section")));
        let Outcome::Failed(why) = &results[3].outcome else { panic!("{:?}", results[3]) };
        assert!(why.contains("the unikernel's run did not print \"@@ end\""), "{why}");
        assert!(why.contains("killed by signal 11"), "{why}");
    }

    #[test]
    fn a_section_only_ours_printed_fails() {
        let ours = LINUX.replace("@@ end", "@@ section extra\n@@ end");
        let results = compare("p", &transcript(LINUX), &Ok(()), &transcript(&ours), &Ok(()));
        assert!(results.iter().any(|r| r.name == "p::extra" && r.is_failure()));
    }
}
