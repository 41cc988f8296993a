//! Linux beside us, in the same run: the bench boots Debian's cloud kernel
//! ([`package`]) under the same QEMU command line as our images (`-machine
//! pc -cpu max`, the same memory and firmware; `-icount shift=0` for
//! instruction counts, plain TCG for times), with an initramfs ([`crate::build::cpio`])
//! whose only file, `/init`, is `apps/bench/linux` built for
//! `x86_64-unknown-linux-musl`: the bench app's workloads, from the same
//! source (`apps/bench/workload`), printing the same `[bench]` lines.
//! [`beside`] puts each Linux figure next to ours, with the ratio.
//!
//! A workload is a function here and a mode of `/init`, each one line in
//! its table ([`WORKLOADS`], and `WORKLOADS` in `apps/bench/linux`). The
//! function boots the guest ([`Guest::boot`]) in the configurations it
//! needs and adds its figures to the [`LinuxReport`].
//!
//! When Debian's kernel cannot be had (no apt, no network) or the musl
//! target cannot be installed, the bench says so in one note and goes on;
//! a guest that boots but fails, or whose output cannot be read, is an
//! error, as our own boots are.

pub mod beside;
pub mod package;

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, anyhow, bail, ensure};
use serde::{Deserialize, Serialize};

use self::package::Kernel;
use super::lines::{self, SyscallPath, SyscallsRun};
use super::report::{Report, Setup, SyscallFigure, TscCheck};
use super::{Bench, MEM, QEMU_TIMEOUT, TAIL_LINES, instruction_figures, serial_tail, timed_figures};
use crate::build::{Layout, cargo, write_atomically};
use crate::emulator::qemu::{self, Stderr};
use crate::emulator::run_result::QemuEnd;
use crate::emulator::{Launch, Stream};
use crate::install;

/// The target `/init` is built for: static, no libc on the guest.
pub const MUSL_TARGET: &str = "x86_64-unknown-linux-musl";
/// `/init`'s package (`apps/bench/linux`).
pub const INIT_PACKAGE: &str = "bench-linux";
/// The Linux command line of every boot, before `pti=` and `--`:
/// - `console=ttyS0`: the kernel's console, and `/init`'s output, on the
///   serial port QEMU gives us (`-serial stdio`);
/// - `quiet`: only errors from the kernel (loglevel 4);
/// - `panic=-1`: a panic (say, `/init` died) reboots at once, which
///   `-no-reboot` turns into QEMU's exit, instead of hanging to the timeout;
/// - `cryptomgr.notests`: no crypto self-tests at boot, which take about
///   half the boot's virtual time (0.87 of 1.57 s under `-icount`).
///
/// Everything else is the kernel's default (its other mitigations
/// included).
pub const CMDLINE: &str = "console=ttyS0 quiet panic=-1 cryptomgr.notests";
/// What the kernel prints as it powers off (`kernel/reboot.c`,
/// `kernel_power_off`): the end of every good run.
pub const POWER_DOWN_LINE: &str = "reboot: Power down";
/// What the kernel prints when it has no `/dev/console` to give init
/// (`init/main.c`, `console_on_rootfs`).
pub const NO_CONSOLE_LINE: &str = "unable to open an initial console";
/// The syscall paths the Linux guest times (the floor entry is ours only).
pub const PATHS: [SyscallPath; 2] = [SyscallPath::Null, SyscallPath::Getpid];

/// What the Linux guest measured, and which Linux it was.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LinuxReport {
    /// The Debian package (`linux-image-6.1.0-57-cloud-amd64`).
    pub package: String,
    /// Its version (`6.1.192-3`).
    pub version: String,
    /// What the booted kernel calls itself (`uname -r`).
    pub release: String,
    /// The Linux command line before `pti=` and `--`.
    pub cmdline: String,
    /// The TSC check of each `-icount` run (pti on, off).
    pub tsc_checks: Vec<TscCheck>,
    /// Syscall round trips, as ours ([`SyscallFigure::entry`] is what
    /// `/proc/cpuinfo` reported: `kpti` is `pti`).
    pub syscalls: Vec<SyscallFigure>,
    /// The file workload's figures (`files`).
    #[serde(default)]
    pub files: Vec<crate::bench::files::FileFigure>,
    /// HTTP and bulk TCP (`http`).
    #[serde(default)]
    pub http: Vec<crate::bench::http::HttpFigure>,
    /// Start-up and `clock_gettime` of the `std` hello (`start`).
    #[serde(default)]
    pub start: Option<crate::bench::start::StartFigure>,
    /// What a workload could not measure, and why.
    #[serde(default)]
    pub notes: Vec<String>,
    /// Boots of the guest.
    pub boots: u32,
    /// Seconds the Linux part of the run took, the fetch and build
    /// included.
    pub elapsed_s: f64,
}

/// A workload run under Linux: boots the guest as it needs and adds its
/// figures.
pub type Workload = fn(&Guest<'_>, &mut LinuxReport) -> Result<()>;

/// Every workload, by the name of its mode in `/init`.
pub const WORKLOADS: &[(&str, Workload)] = &[
    ("syscalls", syscalls),
    ("files", super::files::linux),
    ("http", super::http::linux),
    ("start", super::start::linux),
];

/// The Linux guest, ready to boot.
pub struct Guest<'a> {
    bench: &'a Bench,
    kernel: Kernel,
    /// `/init`'s ELF.
    init: PathBuf,
    initrd: PathBuf,
    /// Boots so far and the release they reported.
    seen: RefCell<(u32, Option<String>)>,
}

impl Guest<'_> {
    /// The kernel command line of a boot: [`CMDLINE`], `pti=`, then `/init`'s
    /// arguments after `--`.
    pub fn cmdline(pti: bool, init_args: &str) -> String {
        format!("{CMDLINE} pti={} -- {init_args}", if pti { "on" } else { "off" })
    }

    /// Boots Linux with `/init` running `init_args`, the machine of our
    /// boots (with `-icount shift=0` or plain TCG), and returns the serial
    /// output of a run that powered off. `what` names it in messages.
    pub fn boot(&self, pti: bool, icount: bool, init_args: &str, what: &str) -> Result<String> {
        self.boot_with_memory(pti, icount, MEM, init_args, what)
    }

    /// [`Guest::boot`] with `mem` of memory (QEMU's `-m`).
    pub fn boot_with_memory(&self, pti: bool, icount: bool, mem: &str, init_args: &str, what: &str) -> Result<String> {
        let extras = Extras { initrd: &self.initrd, devices: Vec::new() };
        self.boot_with(pti, icount, mem, init_args, extras, &mut |_, _| {}, what)
    }

    /// [`Guest::boot_with_memory`] with another initramfs and devices,
    /// feeding the serial output to `on_output` as it comes.
    #[allow(clippy::too_many_arguments)]
    pub fn boot_with(
        &self,
        pti: bool,
        icount: bool,
        mem: &str,
        init_args: &str,
        extras: Extras<'_>,
        on_output: &mut dyn FnMut(Stream, &[u8]),
        what: &str,
    ) -> Result<String> {
        let Launch::Qemu(mut boot) =
            self.bench.qemu_launch(&self.kernel.vmlinuz, Self::cmdline(pti, init_args), 1, mem, icount, QEMU_TIMEOUT)
        else {
            unreachable!("qemu_launch makes QEMU launches");
        };
        boot.initrd = Some(extras.initrd.to_path_buf());
        boot.devices = extras.devices;
        let what = format!(
            "Linux, {}, pti={}: {what}",
            if icount { "QEMU -icount" } else { "QEMU TCG" },
            if pti { "on" } else { "off" }
        );
        let finished = qemu::run(&boot, Stderr::Capture, on_output).with_context(|| format!("{what}: running QEMU"))?;
        eprintln!("bench: {what} ({:.2} s)", finished.elapsed.as_secs_f64());
        let serial = String::from_utf8_lossy(&finished.serial).into_owned();
        let fail = |why: String| {
            let stderr = String::from_utf8_lossy(&finished.stderr);
            let stderr = if stderr.trim().is_empty() { String::new() } else { format!("---- QEMU's stderr\n{stderr}") };
            let hint = if serial.contains(NO_CONSOLE_LINE) {
                "\n(this kernel has no /dev/console in its built-in initramfs: /init, a Rust std program, \
                 aborts without fds 0-2)"
            } else {
                ""
            };
            anyhow!(
                "{what}: {why}{hint}\n$ {}\n{stderr}{}",
                boot.shell_command(),
                serial_tail(&finished.serial, TAIL_LINES)
            )
        };
        match finished.end {
            QemuEnd::Exited(0) if serial.contains(POWER_DOWN_LINE) => {}
            QemuEnd::Exited(0) => {
                return Err(fail(format!("QEMU exited, but Linux did not power off (no `{POWER_DOWN_LINE}`)")));
            }
            QemuEnd::Exited(status) => return Err(fail(format!("QEMU exited with status {status}"))),
            QemuEnd::Signaled(signo) => return Err(fail(format!("QEMU was killed by signal {signo}"))),
            QemuEnd::TimedOut(after) => return Err(fail(format!("timed out after {} s", after.as_secs()))),
        }
        let release = lines::kernel_release(&serial).map_err(|e| fail(format!("{e:#}")))?;
        let mut seen = self.seen.borrow_mut();
        seen.0 += 1;
        match &seen.1 {
            Some(earlier) if *earlier != release => {
                return Err(fail(format!("this boot reports Linux {release}, an earlier one {earlier}")));
            }
            _ => seen.1 = Some(release),
        }
        Ok(serial)
    }

    /// Decodes a run's output with `parse`; an error shows the tail.
    pub(super) fn decode<T>(what: &str, serial: &str, parse: impl Fn(&str) -> Result<T>) -> Result<T> {
        parse(serial).map_err(|e| anyhow!("Linux, {what}: {e:#}\n{}", serial_tail(serial.as_bytes(), TAIL_LINES)))
    }

    pub(super) fn plan(&self) -> &super::Plan {
        &self.bench.plan
    }

    /// The xtask's state folder (disk images go in `disks/`).
    pub(super) fn state_dir(&self) -> PathBuf {
        self.bench.layout.state_dir()
    }

    /// [`Guest::boot_with_memory`] with more QEMU `devices` (a disk).
    pub fn boot_with_devices(
        &self,
        pti: bool,
        icount: bool,
        mem: &str,
        init_args: &str,
        what: &str,
        devices: Vec<String>,
    ) -> Result<String> {
        let extras = Extras { initrd: &self.initrd, devices };
        self.boot_with(pti, icount, mem, init_args, extras, &mut |_, _| {}, what)
    }

    /// The kernel booted.
    pub(super) fn kernel(&self) -> &Kernel {
        &self.kernel
    }

    /// `/init`'s ELF.
    pub(super) fn init(&self) -> &Path {
        &self.init
    }

    /// The run in progress.
    pub(super) fn bench(&self) -> &Bench {
        self.bench
    }
}

/// What a boot of [`Guest::boot_with`] adds to the usual one.
pub struct Extras<'a> {
    /// The initramfs.
    pub initrd: &'a Path,
    /// QEMU's arguments that attach devices.
    pub devices: Vec<String>,
}

/// The `syscalls` workload: the null syscall and `getpid`, as the bench app
/// times them, with `pti=on` and `pti=off`: once each under `-icount`
/// (instructions), `--runs` times each under plain TCG (ns, emulated
/// cycles).
fn syscalls(guest: &Guest<'_>, linux: &mut LinuxReport) -> Result<()> {
    let args = format!("syscalls {}", guest.plan().iterations);
    let run = |pti: bool, icount: bool, what: &str| -> Result<SyscallsRun> {
        let serial = guest.boot(pti, icount, &args, what)?;
        let run = Guest::decode(what, &serial, |s| lines::syscalls_run_of(s, &PATHS))?;
        ensure!(
            run.config.kpti == pti,
            "Linux, {what}: booted with pti={} but /proc/cpuinfo says pti is {}",
            if pti { "on" } else { "off" },
            if run.config.kpti { "on" } else { "off" }
        );
        Ok(run)
    };
    for pti in [true, false] {
        let (check, figures) = instruction_figures(Setup::QemuIcount, &run(pti, true, "syscalls")?);
        linux.tsc_checks.push(check);
        linux.syscalls.extend(figures);
    }
    for pti in [true, false] {
        let n = guest.plan().runs;
        let runs = (1..=n).map(|i| run(pti, false, &format!("syscalls, run {i}/{n}"))).collect::<Result<Vec<_>>>()?;
        linux.syscalls.extend(timed_figures(&runs)?);
    }
    Ok(())
}

/// Builds `/init` (release, stripped) and returns its ELF.
fn build_init(layout: &Layout) -> Result<PathBuf> {
    let target_dir = layout.root.join("target/linux/init");
    let mut cmd = Command::new(cargo());
    cmd.current_dir(&layout.root)
        .args(["build", "--release", "-p", INIT_PACKAGE, "--target", MUSL_TARGET, "--target-dir"])
        .arg(&target_dir)
        // Not our kernel's or apps' flags: a plain static Linux program.
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env("CARGO_PROFILE_RELEASE_STRIP", "symbols");
    let status = cmd.status().context("running cargo")?;
    ensure!(status.success(), "building the Linux guest's /init ({INIT_PACKAGE}) failed; see cargo's errors above");
    let elf = target_dir.join(MUSL_TARGET).join("release").join(INIT_PACKAGE);
    ensure!(elf.is_file(), "cargo built {INIT_PACKAGE} but {} does not exist", elf.display());
    Ok(elf)
}

/// Writes the initramfs: `/init` and the virtio modules of the disk bench
/// in `/modules` (by their kept names, which order them). The kernel's own
/// built-in initramfs (`usr/default_cpio_list`) already has `/dev/console`,
/// which the kernel opens as init's fds 0-2 (see `apps/bench/linux`).
fn write_initramfs(init_elf: &Path, modules: &[PathBuf], out: &Path) -> Result<()> {
    use crate::build::cpio::{Member, S_IFDIR};
    let init = std::fs::read(init_elf).with_context(|| format!("reading {}", init_elf.display()))?;
    let mut loaded = Vec::new();
    for module in modules {
        let name = format!("modules/{}", module.file_name().context("a module file name")?.to_string_lossy());
        loaded.push((name, std::fs::read(module).with_context(|| format!("reading {}", module.display()))?));
    }
    let mut members = vec![Member::file("init", 0o755, &init)];
    if !loaded.is_empty() {
        members.push(Member { name: b"modules", mode: S_IFDIR | 0o755, data: &[], mtime: 0 });
    }
    members.extend(loaded.iter().map(|(name, data)| Member::file(name, 0o644, data)));
    let archive = crate::build::cpio::archive(&members)?;
    write_atomically(out, &archive)
}

/// Measures Linux beside us (unless the plan leaves it out): fetches the
/// kernel, builds `/init`, runs every workload, and puts the figures in
/// `report.linux`, or a note in `report.notes` saying why there are none.
pub(super) fn run(bench: &Bench, report: &mut Report) -> Result<()> {
    if let Some(why) = &bench.plan.linux_skipped {
        report.notes.push(format!("Linux: not run ({why})"));
        return Ok(());
    }
    let started = Instant::now();
    let root = &bench.layout.root;
    let kernel = match package::ensure(root) {
        Ok(kernel) => kernel,
        Err(e) => {
            let note = format!("Linux: not run (Debian's {} cannot be had: {e:#})", package::METAPACKAGE);
            eprintln!("bench: {note}");
            report.notes.push(note);
            return Ok(());
        }
    };
    if let Err(e) = install::ensure_rust_targets(&bench.layout.toolchain, root, &[MUSL_TARGET]) {
        let first = format!("{e:#}");
        let note =
            format!("Linux: not run (no {MUSL_TARGET} target for /init: {})", first.lines().next().unwrap_or(""));
        eprintln!("bench: {note}");
        report.notes.push(note);
        return Ok(());
    }
    eprintln!(
        "bench: Linux guest: {} {}{}",
        kernel.package,
        kernel.version,
        if kernel.cached { format!(" (cached in {})", package::cache_dir(root).display()) } else { String::new() }
    );
    let init = build_init(&bench.layout)?;
    let initrd = root.join("target/linux/initramfs.cpio");
    write_initramfs(&init, &kernel.modules, &initrd)?;
    let guest = Guest { bench, kernel: kernel.clone(), init, initrd, seen: RefCell::new((0, None)) };
    let mut linux = LinuxReport {
        package: kernel.package,
        version: kernel.version,
        cmdline: CMDLINE.to_string(),
        ..LinuxReport::default()
    };
    for (name, workload) in WORKLOADS {
        workload(&guest, &mut linux).with_context(|| format!("the Linux guest's {name} workload"))?;
    }
    let (boots, release) = guest.seen.into_inner();
    linux.boots = boots;
    linux.release = release.unwrap_or_default();
    linux.elapsed_s = started.elapsed().as_secs_f64();
    report.notes.extend(linux.notes.iter().map(|n| format!("Linux: {n}")));
    if linux.boots == 0 {
        bail!("the Linux guest ran no workload");
    }
    report.linux = Some(linux);
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::bench::lines::EntryConfig;
    use crate::bench::report::Summary;

    /// The output of `/init syscalls 100000` under Linux 6.1 and `-icount`,
    /// pti=on, as it came (with the kernel's last line).
    pub(crate) const ICOUNT_PTI_ON: &str = "[bench] kernel release=6.1.0-57-cloud-amd64\r\n\
        [bench] check loop_instructions=2 iterations=100000 tsc=200000\r\n\
        [bench] config kpti=1 pcid=0\r\n\
        [bench] syscall path=null iterations=100000 tsc=21964292 ns=21964474\r\n\
        [bench] syscall path=getpid iterations=100000 tsc=31720122 ns=31720218\r\n\
        [    1.632903] reboot: Power down\r\n";

    #[test]
    fn the_guest_output_decodes() {
        let run = lines::syscalls_run_of(ICOUNT_PTI_ON, &PATHS).unwrap();
        assert_eq!(run.config, EntryConfig { kpti: true, pcid: false });
        let (check, figures) = instruction_figures(Setup::QemuIcount, &run);
        assert_eq!(check.ticks_per_instruction(), Some(1));
        let instructions: Vec<_> = figures.iter().map(|f| (f.path, f.instructions)).collect();
        assert_eq!(instructions, [(SyscallPath::Null, Some(219.64292)), (SyscallPath::Getpid, Some(317.20122))]);
        assert_eq!(lines::kernel_release(ICOUNT_PTI_ON).unwrap(), "6.1.0-57-cloud-amd64");
        // Our app's output has no kernel line, and the guest's no floor.
        assert!(lines::kernel_release("[bench] config kpti=1 pcid=0\n").is_err());
        let err = lines::syscalls_run(ICOUNT_PTI_ON).unwrap_err().to_string();
        assert!(err.contains("no `[bench] syscall path=floor` line"), "{err}");
    }

    #[test]
    fn timed_runs_without_the_floor_take_medians() {
        let run = |null_ns: u64| {
            let text = ICOUNT_PTI_ON.replace("ns=21964474", &format!("ns={null_ns}"));
            lines::syscalls_run_of(&text, &PATHS).unwrap()
        };
        let figures = timed_figures(&[run(3_000_000_000), run(1_000_000_000), run(2_000_000_000)]).unwrap();
        assert_eq!(figures.iter().map(|f| f.path).collect::<Vec<_>>(), PATHS);
        assert_eq!(figures[0].ns, Summary::of(vec![30_000.0, 10_000.0, 20_000.0]));
        let ours = format!("{ICOUNT_PTI_ON}[bench] syscall path=floor iterations=100000 tsc=700000 ns=1\n");
        let mixed = [run(1), lines::syscalls_run(&ours).unwrap()];
        assert!(timed_figures(&mixed).is_err(), "runs that timed different paths do not mix");
    }

    /// The workload crate writes the lines the xtask reads: one source for
    /// both guests, one parser.
    #[test]
    fn the_shared_writer_and_the_parser_agree() {
        use bench_workload::line;
        let text = format!(
            "{}\n{}\n{}\n{}\n{}\n",
            line::Kernel { release: "6.1.0-57-cloud-amd64" },
            line::Check { loop_instructions: 2, iterations: 100_000, tsc: 200_000 },
            line::Config { kpti: false, pcid: true },
            line::Syscall { path: "null", iterations: 7, tsc: 1_540, ns: 9 },
            line::Syscall { path: "getpid", iterations: 7, tsc: 2_170, ns: 11 },
        );
        let run = lines::syscalls_run_of(&text, &PATHS).unwrap();
        assert_eq!(run.check.instructions(), 200_000);
        assert_eq!(run.config, EntryConfig { kpti: false, pcid: true });
        assert_eq!(run.timing(SyscallPath::Getpid).tsc, 2_170);
        assert_eq!(run.timing(SyscallPath::Null).ns, 9);
        assert_eq!(lines::kernel_release(&text).unwrap(), "6.1.0-57-cloud-amd64");
    }

    #[test]
    fn command_lines() {
        assert_eq!(
            Guest::cmdline(true, "syscalls 100000"),
            "console=ttyS0 quiet panic=-1 cryptomgr.notests pti=on -- syscalls 100000"
        );
        assert!(Guest::cmdline(false, "x").contains(" pti=off -- x"));
    }

    #[test]
    fn the_initramfs_holds_init_only() {
        let dir = std::env::temp_dir().join(format!("xtask-initramfs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let elf = dir.join("init.elf");
        std::fs::write(&elf, b"\x7fELF...").unwrap();
        let out = dir.join("initramfs.cpio");
        write_initramfs(&elf, &[], &out).unwrap();
        let bytes = std::fs::read(&out).unwrap();
        assert_eq!(
            bytes,
            crate::build::cpio::archive(&[crate::build::cpio::Member::file("init", 0o755, b"\x7fELF...")]).unwrap()
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
