//! BusyBox over `--files` and `--disk` (QEMU only: the disk is virtio):
//! Debian's `busybox-static`, unmodified, runs one applet per boot with the
//! root packed from `linux-programs/busybox/files`, and every answer is
//! checked against what the host computes from the same folder:
//!
//! - `cat FILE`: the file's bytes;
//! - `ls -l DIR...`: each entry's mode string, size (not for folders,
//!   whose sizes differ between file systems), name and link target, as the
//!   host's `lstat` gives them, and nothing more;
//! - `wc FILE`: lines, words and bytes counted on the host;
//! - `sha256sum FILE...`: the host's `sha256sum` of the same files;
//! - on a fresh ext2 disk at `/data`, one boot each: `mkdir -p` of a path,
//!   `cp` of a file into it, then `rm -r` of the tree; after each boot the
//!   host reads the image with `debugfs` (the folder is there, the copy
//!   holds the file's bytes, the tree is gone), and `e2fsck -f -n` finds
//!   nothing wrong at the end.
//!
//! A boot is a fraction of a second; the seven run one after the other
//! after the test plan's boots. One test line per applet.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use libos_abi::run::RunExit;

use crate::build::disk;
use crate::emulator::qemu::{self, Machine};
use crate::emulator::run_result::{self, Verdict};
use crate::testing::runner::Totals;
use crate::testing::serial_protocol::TestResult;

/// What the boots need (these and the sweep's, `busybox_sweep`).
pub struct Setup {
    /// `qemu-system-x86_64`.
    pub qemu: PathBuf,
    /// The production kernel with BusyBox as the app.
    pub image: PathBuf,
    /// The host folder packed as the root.
    pub files: PathBuf,
    /// The root archive packed from [`Setup::files`].
    pub archive: PathBuf,
    /// The machine.
    pub machine: Machine,
    /// Where the runs' files go (the disk image; the sweep's host copies).
    pub dir: PathBuf,
    /// Print every boot's output.
    pub verbose: bool,
}

/// The host folder packed as the root (under the workspace).
pub const FILES_DIR: &str = "linux-programs/busybox/files";

/// The test names, in run order.
pub const NAMES: [&str; 7] = [
    "busybox_files::cat_prints_the_file",
    "busybox_files::ls_l_shows_modes_sizes_names_and_links",
    "busybox_files::wc_counts_as_the_host",
    "busybox_files::sha256sum_matches_the_host",
    "busybox_files::mkdir_p_makes_the_path_on_the_disk",
    "busybox_files::cp_copies_a_file_onto_the_disk",
    "busybox_files::rm_r_removes_the_tree_and_fsck_is_clean",
];

/// The file `cat`, `wc` and `sha256sum` read (in the root).
const LINES: &str = "srv/data/lines.txt";
/// The folders `ls -l` lists (in the order it prints them: sorted).
const LISTED: [&str; 3] = ["etc", "srv", "srv/data"];
/// The path `mkdir -p` makes on the disk.
const MADE: &str = "made/a/b/c";

/// Boots BusyBox with `args` (the applet first); with a disk, at `/data`.
/// Returns how it ended and the app's output (the kernel's `[libos]`
/// lines and carriage returns taken out).
fn boot(setup: &Setup, args: &str, disk: Option<&Path>) -> (Verdict, String) {
    let b = qemu::Boot {
        qemu: setup.qemu.clone(),
        image: setup.image.clone(),
        initrd: Some(setup.archive.clone()),
        cmdline: if disk.is_some() { format!("fs.disk=/data -- {args}") } else { format!("-- {args}") },
        machine: setup.machine.clone(),
        gdb: false,
        timeout: Some(Duration::from_secs(60)),
        devices: disk.map(disk::qemu_args).unwrap_or_default(),
        stdin: None,
    };
    match qemu::run(&b, qemu::Stderr::Capture, &mut |_, _| {}) {
        Ok(f) => {
            let text = String::from_utf8_lossy(&f.serial).into_owned();
            if setup.verbose {
                println!("---- busybox {args}\n{text}");
            }
            (run_result::decode(f.end, &f.records), app_output(&text))
        }
        Err(e) => (Verdict::Problem(format!("{e:#}")), String::new()),
    }
}

/// The app's lines of a serial transcript: after the boot report (whose
/// last line is `  cmdline ...`), without the kernel's `[libos]` lines,
/// and without carriage returns. A kernel line that follows app output
/// not ended by a newline (`head -c 20`) starts in the middle of a line:
/// what comes before it is the app's, without a newline.
pub(crate) fn app_output(serial: &str) -> String {
    let after_report = match serial.find("\n  cmdline ") {
        Some(at) => serial[at + 1..].split_once('\n').map_or("", |(_, rest)| rest),
        None => serial,
    };
    let mut out = String::new();
    for line in after_report.split_inclusive('\n') {
        match line.find("[libos] ") {
            Some(0) => {}
            Some(at) => out.push_str(&line[..at].replace('\r', "")),
            None => out.push_str(&line.replace('\r', "")),
        }
    }
    out
}

/// Checks that the run exited with 0, then runs `check` on the output.
fn judge(name: &str, (verdict, out): (Verdict, String), check: impl FnOnce(&str) -> Result<(), String>) -> TestResult {
    if verdict != Verdict::Exit(RunExit::Success) && verdict != Verdict::Exit(RunExit::AppCode(0)) {
        return TestResult::failed(name, format!("the applet ended {}: {}", verdict.describe(), tail(&out)));
    }
    match check(&out) {
        Ok(()) => TestResult::ok(name),
        Err(why) => TestResult::failed(name, why),
    }
}

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(6)..].join(" | ")
}

/// `ls -l`'s mode string of a host `st_mode`: the type letter and the
/// nine permission bits (set-id and sticky bits as `ls` shows them).
pub fn mode_string(mode: u32) -> String {
    let kind = match mode & 0o170000 {
        0o040000 => 'd',
        0o120000 => 'l',
        0o020000 => 'c',
        0o060000 => 'b',
        0o010000 => 'p',
        0o140000 => 's',
        _ => '-',
    };
    let mut s = String::from(kind);
    let special = [(0o4000, 's', 'S'), (0o2000, 's', 'S'), (0o1000, 't', 'T')];
    for (i, (bit, set, unset)) in special.iter().enumerate() {
        let bits = (mode >> (6 - 3 * i)) & 7;
        s.push(if bits & 4 != 0 { 'r' } else { '-' });
        s.push(if bits & 2 != 0 { 'w' } else { '-' });
        let x = bits & 1 != 0;
        s.push(match (mode & bit != 0, x) {
            (true, true) => *set,
            (true, false) => *unset,
            (false, true) => 'x',
            (false, false) => '-',
        });
    }
    s
}

/// One entry as `ls -l` should show it: mode string, size (`None` for a
/// folder), name, link target.
#[derive(Debug, PartialEq, Eq)]
pub struct Entry {
    /// `drwxr-xr-x`...
    pub mode: String,
    /// The size, except for folders.
    pub size: Option<u64>,
    /// The name.
    pub name: String,
    /// A symbolic link's target.
    pub target: Option<String>,
}

/// The entries of host folder `dir`, sorted by name (as `ls` sorts them
/// in the C locale).
fn host_entries(dir: &Path) -> Result<Vec<Entry>, String> {
    use std::os::unix::fs::MetadataExt;
    let mut entries = Vec::new();
    for e in std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))? {
        let e = e.map_err(|e| e.to_string())?;
        let meta = e.path().symlink_metadata().map_err(|e| e.to_string())?;
        let target = meta.is_symlink().then(|| std::fs::read_link(e.path()).unwrap().to_string_lossy().into_owned());
        entries.push(Entry {
            mode: mode_string(meta.mode()),
            size: (!meta.is_dir()).then_some(meta.len()),
            name: e.file_name().to_string_lossy().into_owned(),
            target,
        });
    }
    entries.sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
    Ok(entries)
}

/// One listed folder of `ls -l DIR...`: its `DIR:` header (one folder
/// alone has none) and its entries.
pub type Listing = (Option<String>, Vec<Entry>);

/// Parses `ls -l DIR...` output: per listed folder, the entries (`total`
/// lines left out).
pub fn parse_ls_l(out: &str) -> Result<Vec<Listing>, String> {
    let mut sections: Vec<Listing> = Vec::new();
    for line in out.lines() {
        if line.is_empty() || line.starts_with("total ") {
            continue;
        }
        if let Some(dir) = line.strip_suffix(':')
            && !dir.contains(' ')
        {
            sections.push((Some(dir.to_string()), Vec::new()));
            continue;
        }
        // mode links owner group size month day time-or-year name [-> target]
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() < 9 {
            return Err(format!("not an `ls -l` line: {line:?}"));
        }
        let size = fields[4].parse::<u64>().map_err(|_| format!("no size in {line:?}"))?;
        let rest = fields[8..].join(" ");
        let (name, target) = match rest.split_once(" -> ") {
            Some((n, t)) => (n.to_string(), Some(t.to_string())),
            None => (rest, None),
        };
        let mode = fields[0].to_string();
        let entry = Entry { size: (!mode.starts_with('d')).then_some(size), mode, name, target };
        if sections.is_empty() {
            sections.push((None, Vec::new()));
        }
        sections.last_mut().expect("pushed above").1.push(entry);
    }
    Ok(sections)
}

/// Checks `ls -l /A /B ...` output against the host folders under `root`.
fn check_ls(out: &str, root: &Path) -> Result<(), String> {
    let sections = parse_ls_l(out)?;
    let mut want = Vec::new();
    for dir in LISTED {
        want.push((Some(format!("/{dir}")), host_entries(&root.join(dir))?));
    }
    if sections != want {
        return Err(format!("`ls -l` showed {sections:?}, the host folder has {want:?}"));
    }
    Ok(())
}

/// `wc FILE`'s line for `data`: lines, words, bytes and the name.
pub fn wc_line(data: &[u8], name: &str) -> String {
    let lines = data.iter().filter(|&&b| b == b'\n').count();
    let words = data.split(|b| b.is_ascii_whitespace()).filter(|w| !w.is_empty()).count();
    format!("{lines} {words} {} {name}", data.len())
}

/// The host's `sha256sum` of `files` (relative to `root`), named as in the
/// guest (`/FILE`).
fn host_sha256(root: &Path, files: &[&str]) -> Result<String, String> {
    let out = Command::new("sha256sum")
        .current_dir(root)
        .args(files)
        .output()
        .map_err(|e| format!("running the host's sha256sum: {e}"))?;
    if !out.status.success() {
        return Err(format!("the host's sha256sum failed: {}", String::from_utf8_lossy(&out.stderr)));
    }
    Ok(String::from_utf8_lossy(&out.stdout).lines().map(|l| l.replacen("  ", "  /", 1) + "\n").collect())
}

/// `debugfs -R REQUEST image`: (stdout, stderr).
fn debugfs(image: &Path, request: &str) -> Result<(Vec<u8>, String), String> {
    let out = Command::new("debugfs")
        .args(["-R", request])
        .arg(image)
        .output()
        .map_err(|e| format!("running debugfs: {e}"))?;
    Ok((out.stdout, String::from_utf8_lossy(&out.stderr).into_owned()))
}

/// Runs the boots, one result line each (those whose names contain
/// `filter`, if given; the disk's steps run in order, so a later one runs
/// the earlier ones).
pub fn run(setup: &Setup, filter: Option<&str>, totals: &mut Totals) {
    let wanted = |i: usize| filter.is_none_or(|f| NAMES[i].contains(f));
    let mut report = |r: TestResult| {
        if filter.is_none_or(|f| r.name.contains(f)) {
            println!("{}", r.line(""));
            totals.add(&r);
        }
    };
    let root = &setup.files;
    let lines = match std::fs::read(root.join(LINES)) {
        Ok(bytes) => bytes,
        Err(e) => {
            report(TestResult::failed(NAMES[0], format!("reading {}: {e}", root.join(LINES).display())));
            return;
        }
    };
    let guest_lines = format!("/{LINES}");
    if wanted(0) {
        report(judge(NAMES[0], boot(setup, &format!("cat {guest_lines}"), None), |out| {
            if out.as_bytes() == lines.as_slice() {
                Ok(())
            } else {
                Err(format!("`cat` printed {} bytes, not the file's {}: {}", out.len(), lines.len(), tail(out)))
            }
        }));
    }
    if wanted(1) {
        let dirs: Vec<String> = LISTED.iter().map(|d| format!("/{d}")).collect();
        report(judge(NAMES[1], boot(setup, &format!("ls -l {}", dirs.join(" ")), None), |out| check_ls(out, root)));
    }
    if wanted(2) {
        let want = wc_line(&lines, &guest_lines);
        report(judge(NAMES[2], boot(setup, &format!("wc {guest_lines}"), None), |out| {
            let got = out.split_whitespace().collect::<Vec<_>>().join(" ");
            if got == want { Ok(()) } else { Err(format!("`wc` said {got:?}, the host counts {want:?}")) }
        }));
    }
    if wanted(3) {
        let files = [LINES, "etc/motd", "srv/data/empty"];
        let guest: Vec<String> = files.iter().map(|f| format!("/{f}")).collect();
        report(judge(NAMES[3], boot(setup, &format!("sha256sum {}", guest.join(" ")), None), |out| {
            let want = host_sha256(root, &files)?;
            if out == want { Ok(()) } else { Err(format!("`sha256sum` printed {out:?}, the host's says {want:?}")) }
        }));
    }
    if (4..7).any(wanted) {
        disk_steps(setup, &lines, &mut report);
    }
}

/// `mkdir -p`, `cp`, `rm -r` on a fresh disk, each checked with `debugfs`.
fn disk_steps(setup: &Setup, lines: &[u8], report: &mut impl FnMut(TestResult)) {
    let image = setup.dir.join("busybox-files.img");
    let _ = std::fs::remove_file(&image);
    if let Err(e) = std::fs::create_dir_all(&setup.dir)
        .map_err(anyhow::Error::from)
        .and_then(|()| disk::format_new(&image, 16 << 20))
    {
        report(TestResult::failed(NAMES[4], format!("making the disk: {e:#}")));
        return;
    }
    let made = judge(NAMES[4], boot(setup, &format!("mkdir -p /data/{MADE}"), Some(&image)), |_| {
        let (out, err) = debugfs(&image, &format!("stat /{MADE}"))?;
        if String::from_utf8_lossy(&out).contains("Type: directory") {
            Ok(())
        } else {
            Err(format!("debugfs finds no folder /{MADE} on the disk: {}", tail(&err)))
        }
    });
    let ok = !made.is_failure();
    report(made);
    if !ok {
        return;
    }
    let copy = format!("{MADE}/lines.txt");
    let copied = judge(NAMES[5], boot(setup, &format!("cp /{LINES} /data/{copy}"), Some(&image)), |_| {
        let (out, err) = debugfs(&image, &format!("cat /{copy}"))?;
        if out == lines {
            Ok(())
        } else {
            Err(format!(
                "debugfs reads {} bytes from /{copy}, not the file's {}: {}",
                out.len(),
                lines.len(),
                tail(&err)
            ))
        }
    });
    let ok = !copied.is_failure();
    report(copied);
    if !ok {
        return;
    }
    report(judge(NAMES[6], boot(setup, "rm -r /data/made", Some(&image)), |_| {
        let (out, err) = debugfs(&image, "ls -l /")?;
        let listing = String::from_utf8_lossy(&out);
        if listing.contains(" made") || !listing.contains("lost+found") {
            return Err(format!("/made is still on the disk (or debugfs failed): {} {}", tail(&listing), err));
        }
        let fsck = Command::new("e2fsck").args(["-f", "-n"]).arg(&image).output();
        match fsck {
            Ok(o) if o.status.success() => Ok(()),
            Ok(o) => Err(format!(
                "e2fsck -fn exit {:?}: {}",
                o.status.code(),
                tail(&(String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr)))
            )),
            Err(e) => Err(format!("running e2fsck: {e}")),
        }
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mode_strings_as_ls_prints_them() {
        assert_eq!(mode_string(0o100644), "-rw-r--r--");
        assert_eq!(mode_string(0o040755), "drwxr-xr-x");
        assert_eq!(mode_string(0o120777), "lrwxrwxrwx");
        assert_eq!(mode_string(0o104755), "-rwsr-xr-x");
        assert_eq!(mode_string(0o041777), "drwxrwxrwt");
        assert_eq!(mode_string(0o100600), "-rw-------");
    }

    #[test]
    fn ls_l_output_is_parsed() {
        let out = "/etc:\ntotal 1\n-rw-r--r--    1 0        0              119 Dec  3 09:24 motd\n\
                   lrwxrwxrwx    1 0        0                4 Dec  3 09:24 motd.link -> motd\n\n\
                   /srv:\ntotal 0\ndrwxr-xr-x    2 0        0               76 Dec  3  2025 data\n";
        let sections = parse_ls_l(out).unwrap();
        assert_eq!(sections.len(), 2);
        assert_eq!(sections[0].0.as_deref(), Some("/etc"));
        assert_eq!(
            sections[0].1[1],
            Entry { mode: "lrwxrwxrwx".into(), size: Some(4), name: "motd.link".into(), target: Some("motd".into()) }
        );
        assert_eq!(
            sections[1].1[0],
            Entry { mode: "drwxr-xr-x".into(), size: None, name: "data".into(), target: None }
        );
        assert!(parse_ls_l("garbage line\n").is_err());
    }

    #[test]
    fn wc_counts_like_coreutils() {
        assert_eq!(wc_line(b"a b\n c\n\nd", "/f"), "3 4 9 /f");
        assert_eq!(wc_line(b"", "/e"), "0 0 0 /e");
    }

    #[test]
    fn kernel_lines_are_not_app_output() {
        let serial = "libos 0.1.0 booting\r\n  cpus     1 online\r\n  cmdline  \"x -- echo\"\r\n\
                      [libos] fs: /\r\nhello\r\n[libos] exit: success\r\n";
        assert_eq!(app_output(serial), "hello\n");
        let unterminated = "libos\r\n  cmdline  \"x\"\r\nab\r\ng[libos] app 'busybox' exited with code 0\r\n";
        assert_eq!(app_output(unterminated), "ab\ng");
    }
}
