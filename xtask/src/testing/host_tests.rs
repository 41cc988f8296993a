//! The host unit tests: `cargo test --no-fail-fast` at the workspace root
//! (the workspace's `default-members` are the crates that build for the
//! host), summarised as one line per test binary.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, Result};

use crate::build::cargo;

/// The results of one test binary (unit tests of a crate, an integration
/// test, or a crate's doc-tests).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Binary {
    /// `host::<crate>`, with ` [doc-tests]` or ` [tests/x.rs]` as needed.
    pub name: String,
    /// Tests that passed.
    pub passed: u32,
    /// Tests that failed.
    pub failed: u32,
    /// Whether a `test result: ok.` line was seen (false: failed or crashed).
    pub ok: bool,
    /// Its part of the output.
    pub output: String,
}

impl Binary {
    /// The line printed for it.
    pub fn line(&self) -> String {
        let n = self.passed + self.failed;
        let tests = if n == 1 { "test" } else { "tests" };
        if self.ok {
            format!("test {} ... ok ({n} {tests})", self.name)
        } else if self.passed + self.failed == 0 {
            format!("test {} ... FAILED (no test result: it crashed or did not run)", self.name)
        } else {
            format!("test {} ... FAILED ({} of {n} {tests} failed)", self.name, self.failed)
        }
    }

    /// How many failures it counts for in the totals (a crashed binary: one).
    pub fn failures(&self) -> u32 {
        if self.ok { self.failed } else { self.failed.max(1) }
    }
}

/// The outcome of the host stage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostReport {
    /// The test binaries, in cargo's order.
    pub binaries: Vec<Binary>,
    /// Whether cargo succeeded.
    pub cargo_ok: bool,
    /// The whole output (for a build failure).
    pub output: String,
}

/// Runs the host tests (filtered by `filter` like `cargo test FILTER`);
/// `echo` shows cargo's output as it comes.
pub fn run(root: &Path, filter: Option<&str>, echo: bool) -> Result<HostReport> {
    let (reader, writer) = std::io::pipe().context("creating a pipe")?;
    let mut cmd = Command::new(cargo());
    cmd.current_dir(root)
        .args(["test", "--no-fail-fast", "--color", "never"])
        .stdin(Stdio::null())
        .stdout(writer.try_clone().context("duplicating a pipe")?)
        .stderr(writer);
    if let Some(filter) = filter {
        cmd.args(["--", filter]);
    }
    let mut child = cmd.spawn().context("running cargo test")?;
    // Our copies of the pipe's write end went into `cmd`: drop it so that
    // the read below ends when cargo exits.
    drop(cmd);
    let mut output = String::new();
    let mut lines = BufReader::new(reader);
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = lines.read_until(b'\n', &mut line).context("reading cargo test's output")?;
        if n == 0 {
            break;
        }
        let text = String::from_utf8_lossy(&line);
        if echo {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(text.as_bytes());
            let _ = out.flush();
        }
        output.push_str(&text);
    }
    let status = child.wait().context("waiting for cargo test")?;
    Ok(HostReport { binaries: parse(&output), cargo_ok: status.success(), output })
}

/// Splits `cargo test` output into test binaries and reads their results.
pub fn parse(output: &str) -> Vec<Binary> {
    let mut binaries: Vec<(Binary, String)> = Vec::new();
    for line in output.lines() {
        let trimmed = line.trim();
        if let Some(rest) = trimmed.strip_prefix("Running ") {
            let (name, source) = running_name(rest);
            binaries.push((Binary { name, passed: 0, failed: 0, ok: false, output: String::new() }, source));
        } else if let Some(krate) = trimmed.strip_prefix("Doc-tests ") {
            let binary = Binary {
                name: format!("host::{krate} [doc-tests]"),
                passed: 0,
                failed: 0,
                ok: false,
                output: String::new(),
            };
            binaries.push((binary, String::new()));
        } else if let Some((binary, _)) = binaries.last_mut()
            && let Some(result) = trimmed.strip_prefix("test result: ")
            && let Some((ok, passed, failed)) = parse_result(result)
        {
            binary.ok = ok;
            binary.passed = passed;
            binary.failed = failed;
        }
        if let Some((binary, _)) = binaries.last_mut() {
            binary.output.push_str(line);
            binary.output.push('\n');
        }
    }
    // Two unit-test binaries with one name (a lib and a bin): add sources.
    let names: Vec<String> = binaries.iter().map(|(b, _)| b.name.clone()).collect();
    for (binary, source) in &mut binaries {
        if !source.is_empty() && names.iter().filter(|n| **n == binary.name).count() > 1 {
            binary.name = format!("{} [{source}]", binary.name);
        }
    }
    binaries.into_iter().map(|(b, _)| b).collect()
}

/// From `unittests src/lib.rs (target/debug/deps/libos_abi-0123abcd)`: the
/// name (`host::libos_abi`, or `host::foo [tests/foo.rs]` for an
/// integration test) and the source file.
fn running_name(rest: &str) -> (String, String) {
    let (described, path) = match rest.rsplit_once(" (") {
        Some((d, p)) => (d.trim(), p.trim_end_matches(')')),
        None => (rest.trim(), rest.trim()),
    };
    let file = path.rsplit(['/', '\\']).next().unwrap_or(path);
    let stem = match file.rsplit_once('-') {
        Some((stem, hash)) if hash.chars().all(|c| c.is_ascii_hexdigit()) => stem,
        _ => file,
    };
    match described.strip_prefix("unittests ") {
        Some(source) => (format!("host::{stem}"), source.to_string()),
        None => (format!("host::{stem} [{described}]"), described.to_string()),
    }
}

/// `ok. 3 passed; 0 failed; ...` → (ok, passed, failed).
fn parse_result(text: &str) -> Option<(bool, u32, u32)> {
    let (status, counts) = text.split_once(". ")?;
    let ok = match status {
        "ok" => true,
        "FAILED" => false,
        _ => return None,
    };
    let mut passed = None;
    let mut failed = None;
    for part in counts.split(';') {
        let mut words = part.split_whitespace();
        let (Some(n), Some(what)) = (words.next(), words.next()) else {
            continue;
        };
        match what {
            "passed" => passed = n.parse().ok(),
            "failed" => failed = n.parse().ok(),
            _ => {}
        }
    }
    Some((ok, passed?, failed?))
}

#[cfg(test)]
mod tests {
    use super::*;

    const OUTPUT: &str = "\
   Compiling libos-abi v0.1.0 (/w/libos/abi)
    Finished `test` profile [optimized + debuginfo] target(s) in 3.21s
     Running unittests src/lib.rs (target/debug/deps/libos_abi-1a2b3c4d5e6f7a8b)

running 2 tests
test image::tests::round_trip ... ok
test run::tests::exit_code_zero_is_success ... ok

test result: ok. 2 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s

     Running unittests src/main.rs (target/debug/deps/xtask-0011223344556677)

running 3 tests
test a ... ok
test b ... FAILED
test c ... ok

failures:

---- b stdout ----
thread 'b' panicked at src/main.rs:1:1:
boom

failures:
    b

test result: FAILED. 2 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.01s

error: test failed, to rerun pass `-p xtask --bin xtask`
     Running tests/image.rs (target/debug/deps/image-99aabbccddeeff00)

running 1 test
error: test failed, to rerun pass `-p xtask --test image`

Caused by:
  process didn't exit successfully: `/w/target/debug/deps/image-99aabbccddeeff00` (signal: 11, SIGSEGV: invalid memory reference)
   Doc-tests libos_abi

running 0 tests

test result: ok. 0 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s

error: 2 targets failed:
    `-p xtask --bin xtask`
    `-p xtask --test image`
";

    #[test]
    fn binaries_and_counts() {
        let binaries = parse(OUTPUT);
        let lines: Vec<String> = binaries.iter().map(Binary::line).collect();
        assert_eq!(
            lines,
            [
                "test host::libos_abi ... ok (2 tests)",
                "test host::xtask ... FAILED (1 of 3 tests failed)",
                "test host::image [tests/image.rs] ... FAILED (no test result: it crashed or did not run)",
                "test host::libos_abi [doc-tests] ... ok (0 tests)",
            ]
        );
        let failures: Vec<u32> = binaries.iter().map(Binary::failures).collect();
        assert_eq!(failures, [0, 1, 1, 0]);
        assert!(binaries[1].output.contains("boom"));
        assert!(!binaries[1].output.contains("round_trip"));
        assert!(binaries[2].output.contains("SIGSEGV"));
    }

    #[test]
    fn same_stem_gets_its_source() {
        let output = "\
     Running unittests src/lib.rs (target/debug/deps/foo-0123456789abcdef)
test result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s
     Running unittests src/main.rs (target/debug/deps/foo-fedcba9876543210)
test result: ok. 4 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s
";
        let names: Vec<String> = parse(output).into_iter().map(|b| b.name).collect();
        assert_eq!(names, ["host::foo [src/lib.rs]", "host::foo [src/main.rs]"]);
    }

    #[test]
    fn build_failure_has_no_binaries() {
        let output = "error[E0425]: cannot find value `x` in this scope\n\
                      error: could not compile `xtask` (bin \"xtask\" test) due to 1 previous error\n";
        assert!(parse(output).is_empty());
    }

    #[test]
    fn result_lines() {
        assert_eq!(
            parse_result("ok. 12 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.00s"),
            Some((true, 12, 0))
        );
        assert_eq!(parse_result("FAILED. 1 passed; 2 failed; 0 ignored"), Some((false, 1, 2)));
        assert_eq!(parse_result("weird"), None);
    }
}
