//! The BusyBox sweep (QEMU only): Debian's `busybox-static`, unmodified,
//! runs `sh sweep.sh SECTION` for every section of
//! `linux-programs/busybox/sweep/sweep.sh` twice: on the host's Linux, in a
//! fresh copy of that folder, and in our kernel, with the folder packed as
//! the root (one boot per section; the shell forks and execs its pipelines
//! and applets as on Linux). Both runs have the environment `SWEEP=1 TZ=UTC`, nothing else.
//!
//! A section passes when both runs print the same lines (standard output and
//! error together; in order, or as sorted lists for the sections marked
//! `unordered`, whose order is the file system's directory order) and end
//! with the same exit status. The host's absolute paths (`realpath`, `pwd`)
//! are rewritten from its copy's folder to `/`, where the guest has it. One
//! test line per section, `busybox_sweep::SECTION`; a failure names the
//! first differing line.

use std::path::Path;
use std::process::Command;
use std::sync::Mutex;
use std::time::Duration;

use libos_abi::run::RunExit;

use crate::emulator::console_input;
use crate::emulator::qemu;
use crate::emulator::run_result::{self, Verdict};
use crate::testing::busybox_files::{Setup, app_output};
use crate::testing::runner::Totals;
use crate::testing::serial_protocol::TestResult;

/// The folder packed as the root (under the workspace): `sweep.sh` and the
/// files its sections read and write.
pub const SWEEP_DIR: &str = "linux-programs/busybox/sweep";

/// The script (in [`SWEEP_DIR`]).
const SCRIPT: &str = "sweep.sh";

/// The test names' prefix.
pub const PREFIX: &str = "busybox_sweep::";

/// The environment both runs get (`TZ`: the host's `/etc/localtime` is
/// not the guest's).
const ENV: [(&str, &str); 2] = [("SWEEP", "1"), ("TZ", "UTC")];

/// How a section's lines are compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    /// Line by line.
    Ordered,
    /// As sorted lists (the output follows the directory order).
    Unordered,
}

/// One section of the script.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section {
    /// Its case label.
    pub name: String,
    /// How its output is compared.
    pub order: Order,
    /// For a `direct` section, the argv after `busybox` (its `exec`
    /// line's words); otherwise the shell runs the section.
    pub direct: Option<Vec<String>>,
    /// For a `direct` section whose line ends with `< FILE`, the file its
    /// standard input reads (typed on the console in the guest).
    pub stdin: Option<String>,
}

/// The sections of the script: its case labels written `  NAME) # KIND`,
/// KIND `ordered`, `unordered`, `direct` or `direct unordered`; a direct
/// section's first line below the label that is not a comment is
/// `exec WORDS ;;`.
pub fn sections(script: &str) -> Result<Vec<Section>, String> {
    let lines: Vec<&str> = script.lines().collect();
    let mut found = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some((label, kind)) = line.strip_prefix("  ").and_then(|l| l.split_once(") # ")) else {
            continue;
        };
        if label.is_empty() || !label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            continue;
        }
        let at = |why: String| format!("{SCRIPT} line {}: section {label}: {why}", i + 1);
        let (direct, order) = match kind.trim() {
            "ordered" => (false, Order::Ordered),
            "unordered" => (false, Order::Unordered),
            "direct" => (true, Order::Ordered),
            "direct unordered" => (true, Order::Unordered),
            other => return Err(at(format!("unknown kind {other:?}"))),
        };
        let (direct, stdin) = if direct {
            let body = lines[i + 1..].iter().map(|l| l.trim()).find(|l| !l.starts_with('#')).unwrap_or("");
            let (words, stdin) = direct_words(body).map_err(at)?;
            (Some(words), stdin)
        } else {
            (None, None)
        };
        if found.iter().any(|s: &Section| s.name == label) {
            return Err(at("a second time".to_string()));
        }
        found.push(Section { name: label.to_string(), order, direct, stdin });
    }
    if found.is_empty() {
        return Err(format!("{SCRIPT} has no sections"));
    }
    Ok(found)
}

/// The words of `exec WORDS [< FILE] ;;`: split at spaces, single quotes
/// around a word taken off; anything the shell would read differently from
/// the plain words (other quotes, other redirections, variables, globs)
/// refused. Returns the words and FILE.
pub fn direct_words(line: &str) -> Result<(Vec<String>, Option<String>), String> {
    let Some(words) = line.strip_prefix("exec ").and_then(|l| l.strip_suffix(" ;;")) else {
        return Err(format!("a direct section's line must be `exec WORDS ;;`, not {line:?}"));
    };
    let (words, stdin) = match words.rsplit_once(" < ") {
        Some((w, file)) if !file.contains(char::is_whitespace) && !file.is_empty() => (w, Some(file.to_string())),
        Some(_) => return Err(format!("`< FILE` must end the line: {line:?}")),
        None => (words, None),
    };
    let mut argv = Vec::new();
    for word in words.split_whitespace() {
        let quoted = word.len() >= 2 && word.starts_with('\'') && word.ends_with('\'');
        let inner = if quoted { &word[1..word.len() - 1] } else { word };
        let special: &[char] =
            if quoted { &['\''] } else { &['\'', '"', '\\', '<', '>', '|', '&', ';', '$', '`', '*', '?', '(', ')'] };
        if inner.is_empty() || inner.contains(special) {
            return Err(format!("word {word:?} means something else to the shell"));
        }
        argv.push(inner.to_string());
    }
    if argv.is_empty() {
        return Err("no words after `exec`".to_string());
    }
    Ok((argv, stdin))
}

/// What one run printed and how it ended (the exit code; `None` when it
/// did not end with one).
#[derive(Debug, PartialEq, Eq)]
pub struct Run {
    /// Standard output and error, without carriage returns.
    pub output: String,
    /// The exit code, or what happened instead.
    pub status: Result<u8, String>,
}

/// Compares the guest's run with the host's: `Err` says how they differ.
pub fn compare(order: Order, host: &Run, guest: &Run) -> Result<(), String> {
    let lines = |run: &Run| {
        let mut lines: Vec<String> = run.output.lines().map(str::to_string).collect();
        if order == Order::Unordered {
            lines.sort();
        }
        lines
    };
    let (want, got) = (lines(host), lines(guest));
    if want != got {
        let at = want.iter().zip(&got).position(|(w, g)| w != g).unwrap_or(want.len().min(got.len()));
        let show = |v: &[String]| v.get(at).map_or("(no line)".to_string(), |l| format!("{l:?}"));
        return Err(format!(
            "line {} differs: the host printed {}, the guest {} ({} and {} lines{})",
            at + 1,
            show(&want),
            show(&got),
            want.len(),
            got.len(),
            if order == Order::Unordered { ", sorted" } else { "" }
        ));
    }
    if host.status != guest.status {
        return Err(format!("the host's run ended {:?}, the guest's {:?}", host.status, guest.status));
    }
    Ok(())
}

/// Runs the section on the host (`busybox sh sweep.sh SECTION`, or the
/// direct argv) in a fresh copy of the folder and rewrites the copy's path
/// to `/`.
fn host_run(setup: &Setup, section: &Section) -> Result<Run, String> {
    let copy = setup.dir.join(&section.name);
    let _ = std::fs::remove_dir_all(&copy);
    copy_tree(&setup.files, &copy).map_err(|e| format!("copying {}: {e}", setup.files.display()))?;
    let (reader, writer) = std::io::pipe().map_err(|e| e.to_string())?;
    let mut child = Command::new(crate::build::linux_programs::BUSYBOX_PATH)
        .args(argv(section))
        .current_dir(&copy)
        .env_clear()
        .envs(ENV)
        .stdin(match &section.stdin {
            Some(file) => std::fs::File::open(copy.join(file)).map_err(|e| format!("{file}: {e}"))?.into(),
            None => std::process::Stdio::null(),
        })
        .stdout(writer.try_clone().map_err(|e| e.to_string())?)
        .stderr(writer)
        .spawn()
        .map_err(|e| format!("running the host's busybox: {e}"))?;
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut { reader }, &mut bytes).map_err(|e| e.to_string())?;
    let status = child.wait().map_err(|e| e.to_string())?;
    let root = copy.canonicalize().map_err(|e| e.to_string())?;
    let root = root.to_string_lossy();
    let output = String::from_utf8_lossy(&bytes).replace(&format!("{root}/"), "/").replace(&*root, "/");
    let _ = std::fs::remove_dir_all(&copy);
    Ok(Run {
        output,
        status: status.code().map(|c| c as u8).ok_or_else(|| format!("the host's run ended by {status}")),
    })
}

/// Copies folder `from` to `to` with modes, symbolic links, and the
/// modification times of files and folders in whole seconds (as the cpio
/// archive carries them to the guest).
fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    let meta = std::fs::metadata(from)?;
    std::fs::set_permissions(to, meta.permissions())?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type()?;
        if kind.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&src)?, &dst)?;
        } else if kind.is_dir() {
            copy_tree(&src, &dst)?;
        } else {
            std::fs::copy(&src, &dst)?;
            set_mtime(&dst, &entry.metadata()?)?;
        }
    }
    set_mtime(to, &meta)
}

/// Gives `path` (a file or a folder) the modification time of `like`,
/// in whole seconds.
fn set_mtime(path: &Path, like: &std::fs::Metadata) -> std::io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let secs = Duration::from_secs(u64::try_from(like.mtime()).unwrap_or(0));
    std::fs::File::open(path)?.set_modified(std::time::UNIX_EPOCH + secs)
}

/// BusyBox's argv after its name for `section`.
fn argv(section: &Section) -> Vec<String> {
    match &section.direct {
        Some(words) => words.clone(),
        None => vec!["sh".to_string(), SCRIPT.to_string(), section.name.clone()],
    }
}

/// Boots BusyBox running the section (the root is the folder).
fn guest_run(setup: &Setup, section: &Section) -> Run {
    let b = qemu::Boot {
        qemu: setup.qemu.clone(),
        image: setup.image.clone(),
        initrd: Some(setup.archive.clone()),
        cmdline: format!("{} -- {}", ENV.map(|(k, v)| format!("env={k}={v}")).join(" "), argv(section).join(" ")),
        machine: setup.machine.clone(),
        gdb: false,
        timeout: Some(Duration::from_secs(60)),
        devices: Vec::new(),
        stdin: match section.stdin.as_ref().map(|file| std::fs::read(setup.files.join(file))) {
            None => None,
            Some(Ok(bytes)) => Some(console_input::typed(&bytes)),
            Some(Err(e)) => return Run { output: String::new(), status: Err(format!("reading its input: {e}")) },
        },
    };
    match qemu::run(&b, qemu::Stderr::Capture, &mut |_, _| {}) {
        Ok(f) => {
            let text = String::from_utf8_lossy(&f.serial).into_owned();
            if setup.verbose {
                println!("---- busybox {}\n{text}", argv(section).join(" "));
            }
            let status = match run_result::decode(f.end, &f.records) {
                Verdict::Exit(RunExit::Success) => Ok(0),
                Verdict::Exit(RunExit::AppCode(c)) => Ok(c),
                other => Err(other.describe()),
            };
            Run { output: app_output(&text), status }
        }
        Err(e) => Run { output: String::new(), status: Err(format!("{e:#}")) },
    }
}

/// Runs the sections (those whose test names contain `filter`), the
/// guest's boots `jobs` at a time, one result line each in the
/// script's order.
pub fn run(setup: &Setup, jobs: usize, filter: Option<&str>, totals: &mut Totals) {
    let script = setup.files.join(SCRIPT);
    let all = match std::fs::read_to_string(&script)
        .map_err(|e| format!("{}: {e}", script.display()))
        .and_then(|s| sections(&s))
    {
        Ok(all) => all,
        Err(e) => {
            let r = TestResult::failed(format!("{PREFIX}sections"), e);
            println!("{}", r.line(""));
            totals.add(&r);
            return;
        }
    };
    let wanted: Vec<Section> =
        all.into_iter().filter(|s| filter.is_none_or(|f| format!("{PREFIX}{}", s.name).contains(f))).collect();
    let results: Vec<Mutex<Option<TestResult>>> = wanted.iter().map(|_| Mutex::new(None)).collect();
    let next = Mutex::new(0usize);
    let printed = Mutex::new(0usize);
    let totals = Mutex::new(totals);
    std::thread::scope(|scope| {
        for _ in 0..jobs.clamp(1, wanted.len().max(1)) {
            scope.spawn(|| {
                loop {
                    let i = {
                        let mut n = next.lock().unwrap();
                        let i = *n;
                        *n += 1;
                        i
                    };
                    let Some(section) = wanted.get(i) else { break };
                    let name = format!("{PREFIX}{}", section.name);
                    let result = match host_run(setup, section) {
                        Err(e) => TestResult::failed(&name, format!("the host's run: {e}")),
                        Ok(host) => {
                            let guest = guest_run(setup, section);
                            match compare(section.order, &host, &guest) {
                                Ok(()) => TestResult::ok(&name),
                                Err(why) => TestResult::failed(&name, why),
                            }
                        }
                    };
                    *results[i].lock().unwrap() = Some(result);
                    // Print the finished results in the script's order.
                    let mut p = printed.lock().unwrap();
                    while let Some(r) = results.get(*p).and_then(|m| m.lock().unwrap().take()) {
                        println!("{}", r.line(""));
                        totals.lock().unwrap().add(&r);
                        *p += 1;
                    }
                }
            });
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_are_the_marked_case_labels() {
        let script = "case \"$1\" in\n  ls_1) # ordered\n    exec ls ;;\n  find_name) # unordered\n    exec find ;;\n  \
                      cat_n) # direct\n    # a comment\n    exec cat -n 'a b.txt' ;;\n  \
                      tr) # direct\n    exec tr a-z A-Z < in.txt ;;\n  \
                      grep_r) # direct unordered\n    exec grep -r '^(x|y)$' tree ;;\n  *)\n    exit 2 ;;\nesac\n";
        let words = |w: &[&str]| Some(w.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(
            sections(script).unwrap_err(),
            "sweep.sh line 6: section cat_n: word \"'a\" means something else to the shell"
        );
        let script = script.replace("'a b.txt'", "a.txt");
        assert_eq!(
            sections(&script).unwrap(),
            [
                Section { name: "ls_1".into(), order: Order::Ordered, direct: None, stdin: None },
                Section { name: "find_name".into(), order: Order::Unordered, direct: None, stdin: None },
                Section {
                    name: "cat_n".into(),
                    order: Order::Ordered,
                    direct: words(&["cat", "-n", "a.txt"]),
                    stdin: None
                },
                Section {
                    name: "tr".into(),
                    order: Order::Ordered,
                    direct: words(&["tr", "a-z", "A-Z"]),
                    stdin: Some("in.txt".into())
                },
                Section {
                    name: "grep_r".into(),
                    order: Order::Unordered,
                    direct: words(&["grep", "-r", "^(x|y)$", "tree"]),
                    stdin: None
                },
            ]
        );
        assert!(sections("  a) # direct\n    exec tr a b < f > g ;;\n").is_err());
        assert!(sections("  a) # direct\n    exec tr a b < f g ;;\n").is_err());
        assert!(sections("  a) # direct\n    exec echo $HOME ;;\n").is_err());
        assert!(sections("  a) # direct\n    echo x ;;\n").is_err());
        assert!(sections("  a) # sorted\n").is_err());
        assert!(sections("  a) # ordered\n  a) # ordered\n").is_err());
        assert!(sections("nothing\n").is_err());
    }

    #[test]
    fn runs_are_compared_by_lines_and_status() {
        let run = |output: &str, status| Run { output: output.into(), status: Ok(status) };
        assert!(compare(Order::Ordered, &run("a\nb\n", 0), &run("a\nb\n", 0)).is_ok());
        let e = compare(Order::Ordered, &run("a\nb\n", 0), &run("b\na\n", 0)).unwrap_err();
        assert!(e.starts_with("line 1 differs"), "{e}");
        assert!(compare(Order::Unordered, &run("a\nb\n", 0), &run("b\na\n", 0)).is_ok());
        let e = compare(Order::Ordered, &run("a\n", 0), &run("a\nc\n", 0)).unwrap_err();
        assert!(e.contains("line 2 differs") && e.contains("(no line)"), "{e}");
        assert!(compare(Order::Ordered, &run("a\n", 1), &run("a\n", 0)).is_err());
        let killed = Run { output: "a\n".into(), status: Err("killed by SIGSEGV".into()) };
        assert!(compare(Order::Ordered, &run("a\n", 0), &killed).is_err());
    }
}
