//! The disk across boots (QEMU only: Bochs has no virtio), with the file
//! tests' app (`apps/fs-tests`, its `main` modes) on one ext2 image:
//!
//! 1. `persist-write` writes files to `/data/persist`, `fsync`s them and
//!    exits cleanly (the last file without `fsync`: the kernel's sync at
//!    exit covers it); then the host's `e2fsck -f -n` must find nothing
//!    (exit 0) and `dumpe2fs -h` must say the file system is clean.
//! 2. The next boot, `persist-check`, reads them back byte for byte.
//! 3. `churn` writes, renames and removes files until the timeout kills
//!    QEMU mid-write. ext2 has no journal, so a crash can leave fixable
//!    damage (Linux's ext2 too): what we require is that `e2fsck` repairs
//!    it, so that `e2fsck -f -n` afterwards finds nothing. Preen (`-p`,
//!    what a boot-time fsck runs) is tried first; when the kill fell
//!    between writing an inode and its directory entry, the result is an
//!    unattached inode with data, which preen leaves to a human (exit 4,
//!    as it does for Linux's ext2), and `-y` then repairs it. Which it was
//!    is printed as a note. And the next boot mounts the unrepaired image
//!    and still reads step 1's files.
//!
//! 5. A Rust `std` program (`linux-programs/std-files`, an unmodified
//!    static Linux binary) on the same disk, with its own `--files` root:
//!    `write` reads its configuration from the root, works in `/tmp`,
//!    writes and `fsync`s its records to `/data`; `e2fsck -f -n` finds
//!    nothing; the next boot, `check`, reads them back.
//!
//! 6. SQLite (`linux-programs/sqlite-std`, a static Rust `std` program with
//!    SQLite's C amalgamation): `write` makes its databases in
//!    `/data/sqlite` (rollback journal and WAL, two connections contending
//!    for the record locks); `e2fsck -f -n` finds nothing; the next boot,
//!    `check`, reopens the database and checks it (`integrity_check`, the
//!    figures). Run first, on the freshly made disk.
//!
//! The libos app's `persist-write` and `persist-check` read their
//! configuration (`/etc/app.conf`) from the `--files` root too.
//!
//! One test line per step, like every other test.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use libos_abi::run::RunExit;

use crate::build::disk;
use crate::emulator::qemu::{self, Machine};
use crate::emulator::run_result::{self, Verdict};
use crate::testing::runner::Totals;
use crate::testing::serial_protocol::TestResult;

/// What the boots need.
pub struct Setup {
    /// `qemu-system-x86_64`.
    pub qemu: PathBuf,
    /// The fs-tests image (a test build: its `main` runs without `test`).
    pub image: PathBuf,
    /// The root archive (`apps/fs-tests/files`).
    pub archive: PathBuf,
    /// The machine.
    pub machine: Machine,
    /// The `std::fs` program's image and root archive
    /// (`linux-programs/std-files`), if they could be built.
    pub std_files: Option<(PathBuf, PathBuf)>,
    /// The SQLite program's image (`linux-programs/sqlite-std`), if it
    /// could be built.
    pub sqlite: Option<PathBuf>,
    /// Where the disk image goes.
    pub dir: PathBuf,
    /// Print every boot's output.
    pub verbose: bool,
}

/// How long `churn` runs before the kill.
const CHURN_SECS: u64 = 6;

fn boot(setup: &Setup, disk: &Path, mode: &str, timeout: Duration) -> (Verdict, String) {
    boot_image(setup, (&setup.image, &setup.archive), disk, mode, timeout)
}

/// Boots `image` with the root `archive` and the disk, `mode` as the app's
/// argument.
fn boot_image(
    setup: &Setup,
    (image, archive): (&Path, &Path),
    disk: &Path,
    mode: &str,
    timeout: Duration,
) -> (Verdict, String) {
    let b = qemu::Boot {
        qemu: setup.qemu.clone(),
        image: image.to_path_buf(),
        initrd: Some(archive.to_path_buf()),
        cmdline: format!("fs.disk=/data -- {mode}"),
        machine: setup.machine.clone(),
        gdb: false,
        timeout: Some(timeout),
        devices: disk::qemu_args(disk),
        stdin: None,
    };
    match qemu::run(&b, qemu::Stderr::Capture, &mut |_, _| {}) {
        Ok(f) => {
            let text = String::from_utf8_lossy(&f.serial).into_owned();
            if setup.verbose {
                println!("---- {mode}\n{text}");
            }
            (run_result::decode(f.end, &f.records), text)
        }
        Err(e) => (Verdict::Problem(format!("{e:#}")), String::new()),
    }
}

/// `e2fsck ARGS image`: (exit code, output).
fn e2fsck(args: &[&str], image: &Path) -> (i32, String) {
    match Command::new("e2fsck").args(args).arg(image).output() {
        Ok(out) => (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
        ),
        Err(e) => (-1, format!("running e2fsck: {e}")),
    }
}

/// The superblock's "Filesystem state" (`dumpe2fs -h`): `clean` once the
/// kernel synced at a clean exit.
fn superblock_state(image: &Path) -> Option<String> {
    let out = Command::new("dumpe2fs").arg("-h").arg(image).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let line = text.lines().find(|l| l.starts_with("Filesystem state:"))?;
    Some(line["Filesystem state:".len()..].trim().to_string())
}

/// Whether the app exited with 0.
fn succeeded(v: &Verdict) -> bool {
    matches!(v, Verdict::Exit(RunExit::Success | RunExit::AppCode(0)))
}

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(6)..].join(" | ")
}

/// Runs the steps, one result line each (those whose names contain
/// `filter`, if given; a step that needs an earlier one runs it anyway).
pub fn run(setup: &Setup, filter: Option<&str>, totals: &mut Totals) {
    const NAMES: [&str; 8] = [
        "disk::host_e2fsck_finds_nothing_after_a_clean_exit",
        "disk::written_fsynced_and_read_back_on_the_next_boot",
        "disk::std_fs_program_reads_its_config_and_writes_the_disk",
        "disk::std_fs_program_reads_its_data_back_on_the_next_boot",
        "disk::a_run_killed_mid_write_leaves_an_image_fsck_repairs",
        "disk::the_next_boot_mounts_the_killed_image_and_reads_old_files",
        "sqlite::disk_databases_written_and_e2fsck_finds_nothing",
        "sqlite::disk_database_reopened_and_checked_on_the_next_boot",
    ];
    if filter.is_some_and(|f| !NAMES.iter().any(|n| n.contains(f))) {
        return;
    }
    let mut report = |r: TestResult| {
        if filter.is_none_or(|f| r.name.contains(f)) {
            println!("{}", r.line(""));
            totals.add(&r);
        }
    };
    let image = setup.dir.join("persistence.img");
    let _ = std::fs::remove_file(&image);
    if let Err(e) = std::fs::create_dir_all(&setup.dir)
        .map_err(anyhow::Error::from)
        .and_then(|()| disk::format_new(&image, 32 << 20))
    {
        report(TestResult::failed(NAMES[0], format!("making the disk: {e:#}")));
        return;
    }
    let minute = Duration::from_secs(60);

    // 6 (first, on the fresh disk). SQLite's databases on the disk, and
    // back on the next boot.
    if filter.is_none_or(|f| NAMES[6].contains(f) || NAMES[7].contains(f)) {
        sqlite(setup, &image, &mut report, [NAMES[6], NAMES[7]]);
    }
    if filter.is_some_and(|f| !NAMES[..6].iter().any(|n| n.contains(f))) {
        return;
    }

    // 1. Write, fsync, clean exit; e2fsck -fn finds nothing.
    let (v, out) = boot(setup, &image, "persist-write", minute);
    if !succeeded(&v) {
        report(TestResult::failed(NAMES[0], format!("persist-write ended {v:?}: {}", tail(&out))));
        return;
    }
    let (code, text) = e2fsck(&["-f", "-n"], &image);
    let state = superblock_state(&image);
    report(if code != 0 {
        TestResult::failed(NAMES[0], format!("e2fsck -fn exit {code}: {}", tail(&text)))
    } else if state.as_deref() != Some("clean") {
        TestResult::failed(NAMES[0], format!("the superblock says {state:?}, not clean, after a clean exit"))
    } else {
        TestResult::ok(NAMES[0])
    });

    // 2. The next boot reads them back.
    let (v, out) = boot(setup, &image, "persist-check", minute);
    report(if succeeded(&v) && out.contains("persist-check ok") {
        TestResult::ok(NAMES[1])
    } else {
        TestResult::failed(NAMES[1], format!("persist-check ended {v:?}: {}", tail(&out)))
    });

    // 3. The std::fs program: its configuration from its root, /tmp, its
    // records on the disk (e2fsck -fn after), read back by the next boot.
    if filter.is_none_or(|f| NAMES[2].contains(f) || NAMES[3].contains(f)) {
        std_files(setup, &image, &mut report, [NAMES[2], NAMES[3]]);
    }

    if filter.is_some_and(|f| !NAMES[4].contains(f) && !NAMES[5].contains(f)) {
        return;
    }
    // 4. Killed mid-write: e2fsck repairs the image (on a copy).
    let (v, out) = boot(setup, &image, "churn", Duration::from_secs(CHURN_SECS));
    if !matches!(v, Verdict::TimedOut(_)) || !out.contains("churning until killed") {
        report(TestResult::failed(
            NAMES[4],
            format!("churn was to be killed while writing, but ended {v:?}: {}", tail(&out)),
        ));
        return;
    }
    let copy = setup.dir.join("persistence-killed.img");
    if let Err(e) = std::fs::copy(&image, &copy) {
        report(TestResult::failed(NAMES[4], format!("copying the image: {e}")));
        return;
    }
    let (n_code, _) = e2fsck(&["-f", "-n"], &copy);
    let (p_code, p_text) = e2fsck(&["-f", "-p"], &copy);
    // Preen stops (4) at what it leaves to a human; `-y` repairs that too
    // (exit 1: errors corrected).
    let (y_code, y_text) = if p_code <= 1 { (p_code, String::new()) } else { e2fsck(&["-f", "-y"], &copy) };
    let (after, after_text) = e2fsck(&["-f", "-n"], &copy);
    println!(
        "note: after the kill, e2fsck -fn exits {n_code} (0 nothing to fix, 4 errors left); -fp exits {p_code}{}; then -fn {after}",
        if p_code <= 1 { String::new() } else { format!(" ({}), -fy {y_code}", tail(&p_text)) }
    );
    report(if y_code <= 1 && after == 0 {
        TestResult::ok(NAMES[4])
    } else {
        TestResult::failed(
            NAMES[4],
            format!(
                "e2fsck -fp exit {p_code}: {} / -fy exit {y_code}: {} / then -fn {after}: {}",
                tail(&p_text),
                tail(&y_text),
                tail(&after_text)
            ),
        )
    });
    let _ = std::fs::remove_file(&copy);

    // 5. The next boot mounts the unrepaired image; step 1's files are there.
    let (v, out) = boot(setup, &image, "persist-check", minute);
    report(if succeeded(&v) && out.contains("persist-check ok") {
        TestResult::ok(NAMES[5])
    } else {
        TestResult::failed(NAMES[5], format!("persist-check after the kill ended {v:?}: {}", tail(&out)))
    });
}

/// The SQLite program's two boots on `image`: `write` in `/data/sqlite`
/// (then `e2fsck -f -n` must find nothing), and `check`.
fn sqlite(setup: &Setup, image: &Path, report: &mut impl FnMut(TestResult), names: [&str; 2]) {
    let Some(program) = &setup.sqlite else {
        report(TestResult::failed(names[0], "the sqlite-std image could not be built (see its build line)"));
        return;
    };
    let limit = Duration::from_secs(300);
    let (v, out) = boot_image(setup, (program, &setup.archive), image, "/data/sqlite write", limit);
    if !succeeded(&v) || !out.contains("sqlite-std: write ok") {
        report(TestResult::failed(names[0], format!("sqlite-std write ended {v:?}: {}", tail(&out))));
        return;
    }
    let (code, text) = e2fsck(&["-f", "-n"], image);
    report(if code == 0 {
        TestResult::ok(names[0])
    } else {
        TestResult::failed(names[0], format!("after sqlite-std write, e2fsck -fn exit {code}: {}", tail(&text)))
    });
    let (v, out) = boot_image(setup, (program, &setup.archive), image, "/data/sqlite check", limit);
    report(if succeeded(&v) && out.contains("sqlite-std: check ok") && out.contains("integrity_check: ok") {
        TestResult::ok(names[1])
    } else {
        TestResult::failed(names[1], format!("sqlite-std check ended {v:?}: {}", tail(&out)))
    });
}

/// The `std::fs` program's two boots on `image`: `write` (then `e2fsck -f
/// -n` must find nothing), and `check`.
fn std_files(setup: &Setup, image: &Path, report: &mut impl FnMut(TestResult), names: [&str; 2]) {
    let Some((program, archive)) = &setup.std_files else {
        report(TestResult::failed(names[0], "the std-files image could not be built (see its build line)"));
        return;
    };
    let minute = Duration::from_secs(60);
    let (v, out) = boot_image(setup, (program, archive), image, "write", minute);
    if !succeeded(&v) || !out.contains("std-files: write ok") {
        report(TestResult::failed(names[0], format!("std-files write ended {v:?}: {}", tail(&out))));
        return;
    }
    let (code, text) = e2fsck(&["-f", "-n"], image);
    report(if code == 0 {
        TestResult::ok(names[0])
    } else {
        TestResult::failed(names[0], format!("after std-files write, e2fsck -fn exit {code}: {}", tail(&text)))
    });
    let (v, out) = boot_image(setup, (program, archive), image, "check", minute);
    report(if succeeded(&v) && out.contains("std-files: check ok") {
        TestResult::ok(names[1])
    } else {
        TestResult::failed(names[1], format!("std-files check ended {v:?}: {}", tail(&out)))
    });
}
