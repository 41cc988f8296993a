//! Booting an image under Bochs, whose CPU models have PCID (QEMU's TCG has
//! none), through a GRUB rescue ISO.
//!
//! - The ISO: `grub-mkrescue` with a `grub.cfg` that loads the image with
//!   GRUB's `multiboot` command and the kernel command line (GRUB passes it
//!   without the image's path). ISOs are kept in `target/images/bochs/`,
//!   named after the image and a hash of the `grub.cfg`, and rebuilt when the
//!   image or the configuration changes (a `.key` file next to each ISO
//!   holds a hash of both).
//! - The run: a directory `target/bochs/<image>-<pid>-<n>/` holds the
//!   generated `bochsrc`, the debugger command file (`c`: Bochs's internal
//!   debugger is compiled in, so it waits for commands), Bochs's log, the
//!   guest's console (COM1 in file mode) and the kernel's run record (COM2
//!   in file mode, see `libos_abi::run`); it is kept when the run
//!   failed, until an xtask cleans up after processes that no longer run
//!   ([`remove_stale_runs`]). Bochs runs headless with the
//!   `rfb` display and a zero connection timeout (Debian's build has no
//!   `nogui`; `rfb` listens on a TCP port from 5900 up while it runs).
//! - Judging the run: port 0xf4 does nothing under Bochs, so the verdict
//!   comes from the run record, which only the kernel writes (an app can
//!   print an exit line on the console, never in the record). Both files
//!   are polled; once the exit line (`[libos] exit: ...`) has arrived in the
//!   record, the UARTs get [`DRAIN_GRACE`] to deliver what follows (the
//!   kernel drains the console before it writes the record), then Bochs is killed (the
//!   kernel normally powers off through ACPI first, which ends Bochs). Bochs's
//!   own exit status means nothing (a few percent of its exits segfault
//!   after the run). No exit line before the timeout is a timeout; Bochs
//!   ending without one is a problem, reported with the tail of its log.

use std::fs::{self, File};
use std::io::{ErrorKind, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use libos_abi::run::{EXIT_LINE, RunExit};

use crate::build::write_atomically;
use crate::emulator::Stream;
use crate::emulator::process::{ChildGuard, die_with_parent};
use crate::emulator::qemu::shell_quote;
use crate::emulator::run_result::Verdict;

/// The Bochs binary.
pub const BOCHS: &str = "bochs";
/// The tool that makes the GRUB rescue ISO.
pub const GRUB_MKRESCUE: &str = "grub-mkrescue";
/// The system BIOS (Debian package `bochsbios`).
pub const BIOS_ROM: &str = "/usr/share/bochs/BIOS-bochs-latest";
/// The VGA BIOS (Debian package `vgabios`).
pub const VGA_ROM: &str = "/usr/share/vgabios/vgabios.bin";
/// The CPU model used unless told otherwise: PCID, INVPCID, SMEP, SMAP and
/// FSGSBASE.
pub const DEFAULT_CPU: &str = "corei7_skylake_x";
/// A CPU model with PCID but without INVPCID (the kernel's deferred-flush
/// path).
pub const SANDY_BRIDGE_CPU: &str = "corei7_sandy_bridge_2600k";
/// A CPU model with XSAVE but neither XSAVEOPT nor AVX (the kernel saves
/// threads' x87/SSE state with plain XSAVE).
pub const PENRYN_CPU: &str = "core2_penryn_t9600";
/// A 64-bit CPU model without XSAVE (the kernel falls back to FXSAVE).
pub const PHENOM_CPU: &str = "phenom_8650_toliman";
/// The instructions per second Bochs assumes to time its devices.
pub const IPS: u64 = 50_000_000;
/// The GRUB modules put on the ISO (enough to boot a multiboot image from a
/// CD with the BIOS).
pub const GRUB_MODULES: &str = "multiboot normal iso9660 biosdisk";
/// Where the image lies on the ISO.
pub const KERNEL_ON_ISO: &str = "/boot/kernel.bin";
/// What the internal debugger is told at start: continue.
pub const DEBUGGER_COMMANDS: &str = "c\n";
/// How often the serial output is read.
pub const POLL_INTERVAL: Duration = Duration::from_millis(50);
/// How long the UART may still deliver after the exit line before Bochs is
/// killed.
pub const DRAIN_GRACE: Duration = Duration::from_millis(200);
/// The default timeout of one Bochs boot (Bochs runs ~50 MIPS; a boot to
/// the kernel takes 1-2 s with one CPU and several with more).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);
/// Lines of Bochs's log shown when a run ends badly.
pub const LOG_TAIL_LINES: usize = 30;

/// The emulated machine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Machine {
    /// The CPU model (`cpu: model=`; `bochs --help cpu` lists them).
    pub cpu: String,
    /// Number of CPUs.
    pub smp: u32,
    /// Memory in MiB.
    pub mem_mib: u64,
}

impl Machine {
    /// `corei7_skylake_x, 2 CPUs, 128 MiB`.
    pub fn describe(&self) -> String {
        let cpus = if self.smp == 1 { "1 CPU".to_string() } else { format!("{} CPUs", self.smp) };
        format!("{}, {cpus}, {} MiB", self.cpu, self.mem_mib)
    }
}

/// The programs a Bochs boot runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tools {
    /// `bochs`.
    pub bochs: PathBuf,
    /// `grub-mkrescue`.
    pub grub_mkrescue: PathBuf,
}

/// One boot of an image under Bochs.
#[derive(Clone, Debug)]
pub struct Boot {
    /// The programs.
    pub tools: Tools,
    /// The multiboot image.
    pub image: PathBuf,
    /// The kernel command line.
    pub cmdline: String,
    /// A boot module (the root file system's cpio archive, `--files`),
    /// loaded by GRUB's `module` command.
    pub module: Option<PathBuf>,
    /// The machine.
    pub machine: Machine,
    /// How long to wait for the exit line.
    pub timeout: Duration,
    /// Where ISOs are kept (`target/images/bochs`).
    pub iso_dir: PathBuf,
    /// Where run directories go (`target/bochs`).
    pub work_root: PathBuf,
}

/// A finished Bochs boot.
#[derive(Clone, Debug)]
pub struct Finished {
    /// What the run means.
    pub verdict: Verdict,
    /// Everything the guest wrote to COM1.
    pub serial: Vec<u8>,
    /// Everything the kernel wrote to its run record (COM2).
    pub records: Vec<u8>,
    /// When the run did not end with an exit line: the tail of Bochs's log
    /// and its standard error; else empty.
    pub diagnostics: String,
    /// Wall time from starting Bochs to reaping it.
    pub elapsed: Duration,
    /// The run directory (bochsrc, log, serial output); the caller removes
    /// it when it is not needed.
    pub work_dir: PathBuf,
    /// The shell command that repeats the run.
    pub command: String,
}

/// Converts a memory size in QEMU's syntax (`128M`, `1G`, `512` = MiB) to
/// whole MiB, as Bochs's `megs:` wants it.
pub fn mem_mib(text: &str) -> Result<u64, String> {
    let digits_end = text.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(text.len());
    let (number, suffix) = text.split_at(digits_end);
    let number: f64 = number.parse().map_err(|_| format!("`{text}` is not a memory size"))?;
    let scale = match suffix {
        "" | "m" | "M" => 1.0,
        "g" | "G" => 1024.0,
        "t" | "T" => 1024.0 * 1024.0,
        "k" | "K" => 1.0 / 1024.0,
        "b" | "B" => 1.0 / (1024.0 * 1024.0),
        _ => return Err(format!("`{text}` is not a memory size")),
    };
    let mib = number * scale;
    if mib < 1.0 || mib.fract() != 0.0 {
        return Err(format!("Bochs needs a whole number of MiB (at least 1), not `{text}`"));
    }
    Ok(mib as u64)
}

/// Quotes one kernel command line word for GRUB's script language: as it is
/// when it is plain, else in single quotes. GRUB's `multiboot` command
/// escapes quotes and backslashes before it hands the words to the kernel,
/// so words with them cannot pass unchanged and are refused.
fn grub_word(word: &str) -> Result<String> {
    ensure!(
        !word.contains(['\'', '"', '\\']) && !word.contains(char::is_control),
        "the kernel command line word {word:?} cannot pass through GRUB unchanged \
         (GRUB escapes quotes and backslashes): not supported under Bochs"
    );
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./=:,+@%^".contains(c);
    Ok(if word.chars().all(plain) { word.to_string() } else { format!("'{word}'") })
}

/// Where a boot module lies on the ISO.
pub const MODULE_ON_ISO: &str = "/boot/files.cpio";

/// The `grub.cfg` that boots the image at once with this command line
/// (and, with `module`, loads [`MODULE_ON_ISO`] as its first module).
pub fn grub_cfg(cmdline: &str, module: bool) -> Result<String> {
    let mut line = format!("multiboot {KERNEL_ON_ISO}");
    for word in cmdline.split_whitespace() {
        line.push(' ');
        line.push_str(&grub_word(word)?);
    }
    if module {
        line.push_str(&format!("\n    module {MODULE_ON_ISO}"));
    }
    Ok(format!(
        "# Generated by cargo xtask (xtask/src/emulator/bochs.rs).\n\
         set timeout=0\n\
         set default=0\n\
         menuentry \"libos\" {{\n    \
             {line}\n    \
             boot\n\
         }}\n"
    ))
}

/// A path in a bochsrc, in double quotes.
fn bochsrc_path(path: &Path) -> Result<String> {
    let text = path.to_str().with_context(|| format!("{} is not UTF-8", path.display()))?;
    ensure!(!text.contains(['"', '\n']), "Bochs cannot take the path {text:?} (it has a double quote or a newline)");
    Ok(format!("\"{text}\""))
}

/// The files a bochsrc names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RcPaths {
    /// The ISO in the CD-ROM drive.
    pub iso: PathBuf,
    /// Where COM1's output goes.
    pub serial: PathBuf,
    /// Where COM2's output (the run record) goes.
    pub records: PathBuf,
    /// Bochs's log.
    pub log: PathBuf,
}

/// The bochsrc of a run.
pub fn bochsrc(machine: &Machine, paths: &RcPaths) -> Result<String> {
    ensure!(
        !machine.cpu.is_empty() && machine.cpu.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
        "`{}` is not a Bochs CPU model name (`bochs --help cpu` lists them)",
        machine.cpu
    );
    ensure!(machine.smp >= 1, "Bochs needs at least one CPU");
    Ok(format!(
        "# Generated by cargo xtask for one run (xtask/src/emulator/bochs.rs).\n\
         megs: {mem}\n\
         cpu: model={cpu}, count={smp}, ips={IPS}, reset_on_triple_fault=0\n\
         clock: sync=none\n\
         romimage: file=\"{BIOS_ROM}\", options=fastboot\n\
         vgaromimage: file=\"{VGA_ROM}\"\n\
         ata0-master: type=cdrom, path={iso}, status=inserted\n\
         boot: cdrom\n\
         com1: enabled=1, mode=file, dev={serial}\n\
         com2: enabled=1, mode=file, dev={records}\n\
         display_library: rfb, options=\"timeout=0\"\n\
         sound: driver=dummy\n\
         speaker: enabled=0\n\
         mouse: enabled=0\n\
         panic: action=fatal\n\
         error: action=report\n\
         log: {log}\n",
        mem = machine.mem_mib,
        cpu = machine.cpu,
        smp = machine.smp,
        iso = bochsrc_path(&paths.iso)?,
        serial = bochsrc_path(&paths.serial)?,
        records = bochsrc_path(&paths.records)?,
        log = bochsrc_path(&paths.log)?,
    ))
}

/// Decodes the exit line in `line`, if it has one: `Err` with the line when
/// it is not one that `libos_abi::run` defines. The line may start with
/// other output (a print that left a partial line).
pub fn exit_from_line(line: &str) -> Option<Result<RunExit, String>> {
    let at = line.find(EXIT_LINE)?;
    let rest = line[at + EXIT_LINE.len()..].trim();
    let bad = || line.trim().to_string();
    let number = |text: &str, range: std::ops::RangeInclusive<u8>| {
        text.trim().parse::<u8>().ok().filter(|n| range.contains(n)).ok_or_else(bad)
    };
    Some(match rest.split_once(' ') {
        None if rest == "success" => Ok(RunExit::Success),
        None if rest == "failure" => Ok(RunExit::Failure),
        // Code 0 is printed as `success`; signals stay below 128 so that
        // 128 + signo is an exit status.
        Some(("app-code", code)) => number(code, 1..=255).map(RunExit::AppCode),
        Some(("app-killed", signo)) => number(signo, 1..=127).map(RunExit::AppKilled),
        _ => Err(bad()),
    })
}

/// Finds the first exit line in a stream of output chunks (complete lines
/// only).
#[derive(Debug, Default)]
pub struct ExitWatch {
    partial: Vec<u8>,
    found: Option<Result<RunExit, String>>,
}

impl ExitWatch {
    /// Feeds a chunk; returns true when this chunk completed the first exit
    /// line.
    pub fn feed(&mut self, chunk: &[u8]) -> bool {
        if self.found.is_some() {
            return false;
        }
        let mut rest = chunk;
        while let Some(newline) = rest.iter().position(|&b| b == b'\n') {
            self.partial.extend_from_slice(&rest[..newline]);
            rest = &rest[newline + 1..];
            let line = std::mem::take(&mut self.partial);
            if let Some(exit) = exit_from_line(&String::from_utf8_lossy(&line)) {
                self.found = Some(exit);
                return true;
            }
        }
        self.partial.extend_from_slice(rest);
        false
    }

    /// The first exit line's meaning, once seen.
    pub fn found(&self) -> Option<&Result<RunExit, String>> {
        self.found.as_ref()
    }
}

/// How a supervised Bochs process ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ending {
    /// The guest printed this exit line (Bochs was then killed, or ended).
    ExitLine(Result<RunExit, String>),
    /// No exit line within the timeout; Bochs was killed.
    TimedOut,
    /// Bochs ended by itself, with this status, before any exit line.
    EmulatorExited(String),
}

/// A supervised run.
#[derive(Clone, Debug)]
pub struct Supervised {
    /// How it ended.
    pub ending: Ending,
    /// The console (COM1).
    pub serial: Vec<u8>,
    /// The run record (COM2).
    pub records: Vec<u8>,
    /// From spawning to reaping.
    pub elapsed: Duration,
}

/// Reads what was appended to a file since the last call; the file may not
/// exist yet (Bochs creates COM1's file when the guest first uses it).
struct FileTail {
    path: PathBuf,
    file: Option<File>,
}

impl FileTail {
    fn read_new(&mut self) -> Result<Vec<u8>> {
        if self.file.is_none() {
            match File::open(&self.path) {
                Ok(file) => self.file = Some(file),
                Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
                Err(e) => return Err(e).with_context(|| format!("opening {}", self.path.display())),
            }
        }
        let mut bytes = Vec::new();
        if let Some(file) = &mut self.file {
            file.read_to_end(&mut bytes).with_context(|| format!("reading {}", self.path.display()))?;
        }
        Ok(bytes)
    }
}

/// The two files a run writes.
struct Tails {
    console: FileTail,
    records: FileTail,
}

fn describe_status(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("status {code}"),
        (None, Some(signo)) => format!("signal {signo}"),
        _ => status.to_string(),
    }
}

/// Runs `command` (Bochs, or a stand-in) and judges the run from the file
/// `records` that it writes (COM2), showing `serial` (COM1): see the
/// module's documentation. `on_output` gets both as they arrive.
pub fn supervise(
    mut command: Command,
    serial: &Path,
    records: &Path,
    timeout: Duration,
    on_output: &mut dyn FnMut(Stream, &[u8]),
) -> Result<Supervised> {
    die_with_parent(&mut command);
    let started = Instant::now();
    let deadline = started + timeout;
    let program = command.get_program().to_string_lossy().into_owned();
    let child = command.spawn().with_context(|| format!("starting {program}"))?;
    let mut guard = ChildGuard::new(child);
    let mut tail = Tails {
        console: FileTail { path: serial.to_path_buf(), file: None },
        records: FileTail { path: records.to_path_buf(), file: None },
    };
    let mut watch = ExitWatch::default();
    let mut output = Vec::new();
    let mut record_output = Vec::new();
    let mut exit_seen: Option<Instant> = None;
    let mut take = |tail: &mut Tails, watch: &mut ExitWatch, exit_seen: &mut Option<Instant>| -> Result<()> {
        let chunk = tail.console.read_new()?;
        if !chunk.is_empty() {
            on_output(Stream::Console, &chunk);
            output.extend_from_slice(&chunk);
        }
        let chunk = tail.records.read_new()?;
        if !chunk.is_empty() {
            on_output(Stream::Record, &chunk);
            record_output.extend_from_slice(&chunk);
            if watch.feed(&chunk) {
                *exit_seen = Some(Instant::now());
            }
        }
        Ok(())
    };
    let ending = loop {
        // Whether it has exited first, so that the read after it sees
        // everything it wrote.
        let exited = guard.try_reap()?;
        take(&mut tail, &mut watch, &mut exit_seen)?;
        if let Some(status) = exited {
            break match watch.found() {
                Some(exit) => Ending::ExitLine(exit.clone()),
                None => Ending::EmulatorExited(describe_status(status)),
            };
        }
        let now = Instant::now();
        let wake = match exit_seen {
            Some(seen) if now >= seen + DRAIN_GRACE => {
                guard.kill_and_reap()?;
                take(&mut tail, &mut watch, &mut exit_seen)?;
                break Ending::ExitLine(watch.found().cloned().expect("an exit line was seen"));
            }
            Some(seen) => seen + DRAIN_GRACE,
            None if now >= deadline => {
                guard.kill_and_reap()?;
                take(&mut tail, &mut watch, &mut exit_seen)?;
                break match watch.found() {
                    Some(exit) => Ending::ExitLine(exit.clone()),
                    None => Ending::TimedOut,
                };
            }
            None => deadline,
        };
        thread::sleep(POLL_INTERVAL.min(wake.saturating_duration_since(now)));
    };
    Ok(Supervised { ending, serial: output, records: record_output, elapsed: started.elapsed() })
}

/// FNV-1a, 64 bits, over several byte strings (each followed by a 0xff
/// separator): the cache key of an ISO.
pub fn fnv64(parts: &[&[u8]]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for &b in part.iter().chain(&[0xff]) {
            hash ^= u64::from(b);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}

/// A name no other run (of this or another xtask process) uses.
fn unique_name(stem: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!("{stem}-{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}

/// The process id in a name made by [`unique_name`].
fn pid_of_unique_name(name: &str) -> Option<u32> {
    let mut parts = name.rsplit('-');
    parts.next()?.parse::<usize>().ok()?;
    parts.next()?.parse().ok()
}

/// Removes the run directories in `work_root` of xtask processes that no
/// longer run (the files of a failed run stay until the next run).
pub fn remove_stale_runs(work_root: &Path) {
    let Ok(entries) = fs::read_dir(work_root) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(pid) = pid_of_unique_name(&name)
            && !Path::new(&format!("/proc/{pid}")).exists()
        {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

/// The file stem of the image (`hello-tests`).
fn image_stem(image: &Path) -> String {
    image.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "image".to_string())
}

/// The ISO that boots `image` with `cmdline`: reused from `iso_dir` when
/// its key matches, else made with `grub-mkrescue` (in a staging directory
/// under `work_root`).
pub fn ensure_iso(
    tools: &Tools,
    image: &Path,
    cmdline: &str,
    module: Option<&Path>,
    iso_dir: &Path,
    work_root: &Path,
) -> Result<PathBuf> {
    let cfg = grub_cfg(cmdline, module.is_some())?;
    let image_bytes = fs::read(image).with_context(|| format!("reading {}", image.display()))?;
    let module_bytes = match module {
        Some(m) => Some(fs::read(m).with_context(|| format!("reading {}", m.display()))?),
        None => None,
    };
    let stem = image_stem(image);
    let module_key = module_bytes.as_deref().unwrap_or(&[]);
    let iso = iso_dir.join(format!("{stem}-{:016x}.iso", fnv64(&[cfg.as_bytes(), module_key])));
    let key_path = iso.with_extension("iso.key");
    let key = format!("{:016x}\n", fnv64(&[&image_bytes, cfg.as_bytes(), module_key]));
    if iso.is_file() && fs::read_to_string(&key_path).is_ok_and(|k| k == key) {
        return Ok(iso);
    }
    let staging = work_root.join(unique_name(&format!("iso-{stem}")));
    let result = make_iso(tools, &staging, &image_bytes, module_bytes.as_deref(), &cfg, &iso);
    let _ = fs::remove_dir_all(&staging);
    result?;
    write_atomically(&key_path, key.as_bytes())?;
    Ok(iso)
}

fn make_iso(tools: &Tools, staging: &Path, image: &[u8], module: Option<&[u8]>, cfg: &str, iso: &Path) -> Result<()> {
    let tree = staging.join("tree");
    let grub_dir = tree.join("boot/grub");
    fs::create_dir_all(&grub_dir).with_context(|| format!("creating {}", grub_dir.display()))?;
    fs::write(grub_dir.join("grub.cfg"), cfg).context("writing grub.cfg")?;
    let kernel = tree.join(KERNEL_ON_ISO.trim_start_matches('/'));
    fs::write(&kernel, image).with_context(|| format!("writing {}", kernel.display()))?;
    if let Some(bytes) = module {
        let path = tree.join(MODULE_ON_ISO.trim_start_matches('/'));
        fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(dir) = iso.parent() {
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    // Next to the ISO, so that the rename is atomic.
    let mut tmp = iso.as_os_str().to_owned();
    tmp.push(format!(".tmp{}", unique_name("")));
    let tmp = PathBuf::from(tmp);
    let mut cmd = Command::new(&tools.grub_mkrescue);
    cmd.arg("-o")
        .arg(&tmp)
        .arg(&tree)
        .arg(format!("--install-modules={GRUB_MODULES}"))
        .args(["--locales=", "--fonts=", "--themes="])
        .stdin(Stdio::null());
    let out = cmd.output().with_context(|| format!("running {}", tools.grub_mkrescue.display()))?;
    if !out.status.success() || !tmp.is_file() {
        let _ = fs::remove_file(&tmp);
        bail!(
            "{} failed ({}):\n{}{}",
            tools.grub_mkrescue.display(),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    fs::rename(&tmp, iso).with_context(|| format!("renaming {} to {}", tmp.display(), iso.display()))
}

/// The last `max` lines of a file, or a note that it could not be read.
fn file_tail(path: &Path, max: usize) -> String {
    match fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let lines: Vec<&str> = text.lines().collect();
            lines[lines.len().saturating_sub(max)..].join("\n")
        }
        Err(e) => format!("({}: {e})", path.display()),
    }
}

/// Whether a line is one of Bochs's log lines (`00000000000i[CPU0  ] ...`).
fn is_log_line(line: &str) -> bool {
    let rest = line.trim_start_matches(|c: char| c.is_ascii_digit());
    rest.len() < line.len() && rest.get(1..2) == Some("[")
}

/// Bochs's standard error without its log lines (it repeats the first of
/// them there), blank lines and banner rules: what is left are its own
/// messages (`Bochs is exiting with the following message: ...`).
fn stderr_messages(stderr: &str) -> String {
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.trim().is_empty() && !is_log_line(l) && !l.trim().chars().all(|c| c == '='))
        .collect();
    lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].join("\n")
}

/// The first panic or error message in Bochs's log (`p[` or `e[` lines,
/// or its `>>PANIC<<` lines), without the tick count.
fn first_complaint(log: &str) -> Option<String> {
    log.lines()
        .find(|l| l.contains(">>PANIC<<") || l.trim_start_matches(|c: char| c.is_ascii_digit()).starts_with("p["))
        .or_else(|| log.lines().find(|l| l.trim_start_matches(|c: char| c.is_ascii_digit()).starts_with("e[")))
        .map(|l| l.trim_start_matches(|c: char| c.is_ascii_digit()).trim().to_string())
}

/// Makes (or reuses) the ISO, writes the run directory, runs Bochs and
/// judges the run. `on_output` gets the guest's console and run record as
/// they arrive.
pub fn run(boot: &Boot, on_output: &mut dyn FnMut(Stream, &[u8])) -> Result<Finished> {
    let iso =
        ensure_iso(&boot.tools, &boot.image, &boot.cmdline, boot.module.as_deref(), &boot.iso_dir, &boot.work_root)?;
    let work_dir = boot.work_root.join(unique_name(&image_stem(&boot.image)));
    fs::create_dir_all(&work_dir).with_context(|| format!("creating {}", work_dir.display()))?;
    let work_dir = std::path::absolute(&work_dir).unwrap_or(work_dir);
    let paths = RcPaths {
        iso: std::path::absolute(&iso).unwrap_or(iso),
        serial: work_dir.join("serial.txt"),
        records: work_dir.join("records.txt"),
        log: work_dir.join("bochs.log"),
    };
    fs::write(work_dir.join("bochsrc"), bochsrc(&boot.machine, &paths)?).context("writing the bochsrc")?;
    fs::write(work_dir.join("cmds"), DEBUGGER_COMMANDS).context("writing the debugger commands")?;
    let stdout = File::create(work_dir.join("stdout.txt")).context("creating Bochs's stdout file")?;
    let stderr = File::create(work_dir.join("stderr.txt")).context("creating Bochs's stderr file")?;
    let mut command = Command::new(&boot.tools.bochs);
    command
        .args(["-q", "-f", "bochsrc", "-rc", "cmds"])
        .current_dir(&work_dir)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr);
    let shell = format!(
        "cd {} && {} -q -f bochsrc -rc cmds </dev/null",
        shell_quote(&work_dir.to_string_lossy()),
        shell_quote(&boot.tools.bochs.to_string_lossy())
    );
    let supervised = supervise(command, &paths.serial, &paths.records, boot.timeout, on_output)?;
    let log = fs::read_to_string(&paths.log).ok();
    let stderr = fs::read(work_dir.join("stderr.txt")).unwrap_or_default();
    let stderr = stderr_messages(&String::from_utf8_lossy(&stderr));
    let (verdict, show_log) = match supervised.ending {
        Ending::ExitLine(Ok(exit)) => (Verdict::Exit(exit), false),
        Ending::ExitLine(Err(line)) => {
            (Verdict::Problem(format!("the exit line `{line}` is not one that libos_abi::run defines")), false)
        }
        Ending::TimedOut => (Verdict::TimedOut(boot.timeout), true),
        Ending::EmulatorExited(status) => {
            // Its log's first complaint, else its last words on stderr.
            let why = log
                .as_deref()
                .and_then(first_complaint)
                .or_else(|| stderr.lines().last().map(|l| l.trim().to_string()))
                .map(|c| format!("; Bochs says: {c}"))
                .unwrap_or_default();
            (
                Verdict::Problem(format!(
                    "Bochs exited ({status}) before the kernel wrote an exit line (`{EXIT_LINE}...`) \
                     to its run record{why}"
                )),
                true,
            )
        }
    };
    let mut diagnostics = String::new();
    if show_log {
        if log.is_some() {
            diagnostics.push_str(&format!(
                "---- Bochs's log ({}, last {LOG_TAIL_LINES} lines)\n{}\n",
                paths.log.display(),
                file_tail(&paths.log, LOG_TAIL_LINES)
            ));
        }
        if !stderr.is_empty() {
            diagnostics.push_str(&format!("---- Bochs's stderr (without its log lines)\n{stderr}\n"));
        }
    }
    Ok(Finished {
        verdict,
        serial: supervised.serial,
        records: supervised.records,
        diagnostics,
        elapsed: supervised.elapsed,
        work_dir,
        command: shell,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn machine() -> Machine {
        Machine { cpu: DEFAULT_CPU.to_string(), smp: 2, mem_mib: 128 }
    }

    #[test]
    fn memory_sizes_in_mib() {
        assert_eq!(mem_mib("128M"), Ok(128));
        assert_eq!(mem_mib("512"), Ok(512));
        assert_eq!(mem_mib("1G"), Ok(1024));
        assert_eq!(mem_mib("1.5g"), Ok(1536));
        assert_eq!(mem_mib("4096K"), Ok(4));
        assert!(mem_mib("1000K").is_err(), "not whole MiB");
        assert!(mem_mib("0.5").is_err());
        assert!(mem_mib("12X").is_err());
    }

    #[test]
    fn the_grub_configuration_boots_at_once_with_the_command_line() {
        let cfg = grub_cfg("test  pcid=off test.filter=mm:: -- a", false).unwrap();
        assert_eq!(
            cfg,
            "# Generated by cargo xtask (xtask/src/emulator/bochs.rs).\n\
             set timeout=0\n\
             set default=0\n\
             menuentry \"libos\" {\n    \
                 multiboot /boot/kernel.bin test pcid=off test.filter=mm:: -- a\n    \
                 boot\n\
             }\n"
        );
        assert!(grub_cfg("", false).unwrap().contains("    multiboot /boot/kernel.bin\n"));
        assert!(grub_cfg("", true).unwrap().contains("    multiboot /boot/kernel.bin\n    module /boot/files.cpio\n"));
    }

    #[test]
    fn grub_words_are_quoted_or_refused() {
        assert_eq!(grub_word("loglevel=debug").unwrap(), "loglevel=debug");
        assert_eq!(grub_word("$x;{y}").unwrap(), "'$x;{y}'");
        assert_eq!(grub_word("#a").unwrap(), "'#a'");
        for bad in ["it's", "a\"b", "a\\b", "a\x07"] {
            let err = grub_word(bad).unwrap_err().to_string();
            assert!(err.contains("cannot pass through GRUB"), "{err}");
        }
    }

    #[test]
    fn the_bochsrc() {
        let paths = RcPaths {
            iso: PathBuf::from("/w/target/images/bochs/hello-0123.iso"),
            serial: PathBuf::from("/w/target/bochs/hello-1-0/serial.txt"),
            records: PathBuf::from("/w/target/bochs/hello-1-0/records.txt"),
            log: PathBuf::from("/w/target/bochs/hello-1-0/bochs.log"),
        };
        let rc = bochsrc(&machine(), &paths).unwrap();
        let lines: Vec<&str> = rc.lines().skip(1).collect();
        assert_eq!(
            lines,
            [
                "megs: 128",
                "cpu: model=corei7_skylake_x, count=2, ips=50000000, reset_on_triple_fault=0",
                "clock: sync=none",
                "romimage: file=\"/usr/share/bochs/BIOS-bochs-latest\", options=fastboot",
                "vgaromimage: file=\"/usr/share/vgabios/vgabios.bin\"",
                "ata0-master: type=cdrom, path=\"/w/target/images/bochs/hello-0123.iso\", status=inserted",
                "boot: cdrom",
                "com1: enabled=1, mode=file, dev=\"/w/target/bochs/hello-1-0/serial.txt\"",
                "com2: enabled=1, mode=file, dev=\"/w/target/bochs/hello-1-0/records.txt\"",
                "display_library: rfb, options=\"timeout=0\"",
                "sound: driver=dummy",
                "speaker: enabled=0",
                "mouse: enabled=0",
                "panic: action=fatal",
                "error: action=report",
                "log: \"/w/target/bochs/hello-1-0/bochs.log\"",
            ]
        );
        let bad_model = Machine { cpu: "skylake, count=9".into(), ..machine() };
        assert!(bochsrc(&bad_model, &paths).is_err());
        let bad_path = RcPaths { iso: PathBuf::from("/w/\"x\".iso"), ..paths };
        assert!(bochsrc(&machine(), &bad_path).is_err());
    }

    #[test]
    fn exit_lines_decode() {
        assert_eq!(exit_from_line("[libos] exit: success\r"), Some(Ok(RunExit::Success)));
        assert_eq!(exit_from_line("[libos] exit: failure"), Some(Ok(RunExit::Failure)));
        assert_eq!(exit_from_line("[libos] exit: app-code 42"), Some(Ok(RunExit::AppCode(42))));
        assert_eq!(exit_from_line("partial[libos] exit: app-killed 11\r"), Some(Ok(RunExit::AppKilled(11))));
        assert_eq!(Verdict::Exit(RunExit::AppKilled(11)).shell_status(), 139);
        assert_eq!(Verdict::Exit(RunExit::AppCode(42)).shell_status(), 42);
        assert_eq!(exit_from_line("hello"), None);
        for bad in ["[libos] exit: app-code 0", "[libos] exit: app-code 300", "[libos] exit: maybe", "[libos] exit: "] {
            assert_eq!(exit_from_line(bad), Some(Err(bad.trim().to_string())), "{bad}");
        }
    }

    #[test]
    fn the_exit_watch_needs_a_whole_line() {
        let mut watch = ExitWatch::default();
        assert!(!watch.feed(b"boot\r\n[libos] exit: app-co"));
        assert!(!watch.feed(b"de 4"));
        assert_eq!(watch.found(), None);
        assert!(watch.feed(b"2\r\n[libos] exit: failure\r\n"));
        assert_eq!(watch.found(), Some(&Ok(RunExit::AppCode(42))));
        assert!(!watch.feed(b"[libos] exit: success\n"), "only the first counts");
    }

    #[test]
    fn run_directories_name_their_process() {
        let name = unique_name("kernel-tests");
        assert_eq!(pid_of_unique_name(&name), Some(std::process::id()));
        assert_eq!(pid_of_unique_name("iso-hello-12-3"), Some(12));
        assert_eq!(pid_of_unique_name("hello"), None);
        assert_eq!(pid_of_unique_name("a-b"), None);
        let root = std::env::temp_dir().join(unique_name("xtask-stale"));
        let (mine, dead) = (root.join(unique_name("hello")), root.join(format!("hello-{}-0", u32::MAX)));
        let other = root.join("not-a-run");
        for dir in [&mine, &dead, &other] {
            fs::create_dir_all(dir).unwrap();
        }
        remove_stale_runs(&root);
        assert!(mine.is_dir() && other.is_dir() && !dead.exists());
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn iso_keys_differ_by_image_and_configuration() {
        let a = fnv64(&[b"image", b"cfg"]);
        assert_ne!(a, fnv64(&[b"image2", b"cfg"]));
        assert_ne!(a, fnv64(&[b"imagec", b"fg"]));
        assert_eq!(a, fnv64(&[b"image", b"cfg"]));
        assert_eq!(fnv64(&[]), 0xcbf2_9ce4_8422_2325);
    }

    #[test]
    fn bochs_complaints_are_found_in_its_log() {
        let log = "00000000000i[      ] reading configuration\n\
                   00000000000e[DEV   ] something odd\n\
                   00000000000p[      ] >>PANIC<< bochsrc:3: unknown CPU model\n";
        assert_eq!(first_complaint(log).as_deref(), Some("p[      ] >>PANIC<< bochsrc:3: unknown CPU model"));
        assert_eq!(first_complaint("00000000000e[DEV   ] odd\n").as_deref(), Some("e[DEV   ] odd"));
        assert_eq!(first_complaint("00000000000i[X] fine\n"), None);
    }

    #[test]
    fn bochs_stderr_keeps_its_messages() {
        let stderr = "00000000000i[      ] LTDL_LIBRARY_PATH not set.\n\
                      00000000000i[PLUGIN] loaded plugin libbx_serial.so\n\
                      ========================================================================\n\
                      Bochs is exiting with the following message:\n\
                      [ACPI  ] ACPI control: soft power off\n\
                      ========================================================================\n\
                      00220894766i[SIM   ] quit_sim called with exit code 1\n";
        assert_eq!(
            stderr_messages(stderr),
            "Bochs is exiting with the following message:\n[ACPI  ] ACPI control: soft power off"
        );
        assert!(is_log_line("00000000000e[DEV   ] x"));
        assert!(!is_log_line("[ACPI  ] x"));
        assert!(!is_log_line("2021 is a year"));
    }

    /// The supervision, with a shell script standing in for Bochs; it
    /// writes `serial.txt` (COM1) and `records.txt` (COM2) in its working
    /// directory.
    fn fake(script: &str, timeout: Duration) -> Supervised {
        let dir = std::env::temp_dir().join(unique_name("xtask-fake-bochs"));
        fs::create_dir_all(&dir).unwrap();
        let mut command = Command::new("sh");
        command.args(["-c", script]).current_dir(&dir).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
        let (mut streamed, mut streamed_records) = (Vec::new(), Vec::new());
        let supervised = supervise(
            command,
            &dir.join("serial.txt"),
            &dir.join("records.txt"),
            timeout,
            &mut |stream, c| match stream {
                Stream::Console => streamed.extend_from_slice(c),
                Stream::Record => streamed_records.extend_from_slice(c),
            },
        )
        .unwrap();
        fs::remove_dir_all(&dir).unwrap();
        assert_eq!(streamed, supervised.serial, "everything streamed is kept");
        assert_eq!(streamed_records, supervised.records, "every record streamed is kept");
        supervised
    }

    #[test]
    fn the_exit_line_ends_the_run_and_bochs_is_killed() {
        let started = Instant::now();
        let s = fake(
            "printf 'booting\\r\\n' > serial.txt; printf '[libos] exit: app-' > records.txt; sleep 0.2; \
             printf 'code 7\\n' >> records.txt; printf 'late\\r\\n' >> serial.txt; exec sleep 30",
            Duration::from_secs(20),
        );
        assert_eq!(s.ending, Ending::ExitLine(Ok(RunExit::AppCode(7))));
        assert_eq!(s.serial, b"booting\r\nlate\r\n");
        assert_eq!(s.records, b"[libos] exit: app-code 7\n");
        assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
    }

    #[test]
    fn an_exit_line_on_the_console_is_not_the_verdict() {
        // An app printed a forged exit line and then died: the kernel's
        // record, not the console, decides.
        let s = fake(
            "printf '[libos] exit: success\\r\\n' > serial.txt; sleep 0.3; \
             printf '[libos] exit: app-killed 11\\n' > records.txt; exec sleep 30",
            Duration::from_secs(20),
        );
        assert_eq!(s.ending, Ending::ExitLine(Ok(RunExit::AppKilled(11))));
        let s = fake("printf '[libos] exit: success\\r\\n' > serial.txt; exec sleep 30", Duration::from_millis(600));
        assert_eq!(s.ending, Ending::TimedOut, "a console exit line alone ends nothing");
    }

    #[test]
    fn bochs_ending_after_the_exit_line_does_not_matter() {
        let s = fake("printf '[libos] exit: success\\n' > records.txt; kill -SEGV $$", Duration::from_secs(20));
        assert_eq!(s.ending, Ending::ExitLine(Ok(RunExit::Success)));
    }

    #[test]
    fn no_exit_line_is_a_timeout() {
        let started = Instant::now();
        let s = fake("printf 'stuck\\n' > serial.txt; exec sleep 30", Duration::from_millis(400));
        assert_eq!(s.ending, Ending::TimedOut);
        assert_eq!(s.serial, b"stuck\n");
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn bochs_ending_without_an_exit_line_is_reported() {
        let s = fake("echo 'panic' >&2; exit 1", Duration::from_secs(20));
        assert_eq!(s.ending, Ending::EmulatorExited("status 1".into()));
        assert!(s.serial.is_empty());
    }
}
