//! Booting an image under QEMU: the command line, and a supervised run that
//! streams the serial output, enforces a timeout and never leaves a QEMU
//! process behind.
//!
//! QEMU is started with `PR_SET_PDEATHSIG = SIGKILL`, so it dies when the
//! thread that started it dies (the xtask killed by Ctrl-C included: QEMU
//! stays in our process group and gets the SIGINT as well). Its standard
//! input is `/dev/null` (or a pipe for [`Boot::stdin`]), so it never puts the
//! terminal in raw mode. A timeout
//! or any error kills it with SIGKILL and reaps it; a
//! [`ChildGuard`] does the same when a run is
//! abandoned by a panic.
//!
//! COM1 is QEMU's standard output (the console). COM2, the kernel's run
//! record (`libos_abi::run`), goes to a file of the run's own
//! (`-serial file:...`), read as it grows and removed afterwards.

use std::ffi::OsString;
use std::io::{Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::emulator::Stream;
use crate::emulator::process::{ChildGuard, die_with_parent};
use crate::emulator::run_result::QemuEnd;

/// The QEMU binary the xtask runs.
pub const QEMU: &str = "qemu-system-x86_64";
/// Where Debian installs qboot, the fast minimal firmware.
pub const QBOOT_ROM: &str = "/usr/share/qemu/qboot.rom";
/// The `isa-debug-exit` device through which the kernel ends a run.
pub const DEBUG_EXIT_DEVICE: &str = "isa-debug-exit,iobase=0xf4,iosize=0x01";

/// Which accelerator QEMU uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Accel {
    /// QEMU's software emulator (`-accel tcg -cpu max`).
    Tcg,
    /// Hardware virtualization (`-accel kvm -cpu host`).
    Kvm,
}

impl Accel {
    /// The name QEMU uses.
    pub fn name(self) -> &'static str {
        match self {
            Accel::Tcg => "tcg",
            Accel::Kvm => "kvm",
        }
    }
}

/// The firmware QEMU runs before loading the image.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Firmware {
    /// qboot (`-bios /usr/share/qemu/qboot.rom`): boots in ~0.06 s.
    Qboot,
    /// SeaBIOS, QEMU's default firmware: ~0.2 s, full ACPI tables.
    Seabios,
}

impl Firmware {
    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Firmware::Qboot => "qboot",
            Firmware::Seabios => "seabios",
        }
    }

    /// qboot when this host has it, SeaBIOS otherwise.
    pub fn host_default() -> Firmware {
        if Path::new(QBOOT_ROM).is_file() { Firmware::Qboot } else { Firmware::Seabios }
    }
}

/// The virtual machine a boot runs on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Machine {
    /// The accelerator.
    pub accel: Accel,
    /// A `-cpu` model instead of the accelerator's default (`max` / `host`).
    pub cpu: Option<String>,
    /// Memory size in QEMU's syntax (`128M`).
    pub mem: String,
    /// Number of CPUs.
    pub smp: u32,
    /// The firmware.
    pub firmware: Firmware,
    /// Count instructions (`-icount shift=0`, TCG only): the virtual clocks,
    /// the guest's TSC included, advance exactly one tick per instruction
    /// executed, which makes a run deterministic. It needs single-threaded
    /// TCG (`-accel tcg,thread=single`), whatever the number of CPUs.
    pub icount: bool,
}

/// The host's TSC frequency in kHz: published by its CPUID (leaf 0x15 or a
/// hypervisor's leaf 0x40000010; the same choice the kernel makes,
/// `libos_kcore::time::published_tsc_frequency`), else measured once
/// against the host's monotonic clock. The kernel checks what it is told
/// against the HPET and measures for itself if it is refuted. Unit tests
/// see none, so that their command lines do not depend on the host.
pub fn host_tsc_khz() -> Option<u64> {
    if cfg!(test) {
        return None;
    }
    static KHZ: std::sync::OnceLock<Option<u64>> = std::sync::OnceLock::new();
    *KHZ.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        {
            use libos_kcore::time::{CpuidLeaf, published_tsc_frequency};
            let cpuid = |leaf: u32| {
                let r = std::arch::x86_64::__cpuid_count(leaf, 0);
                CpuidLeaf { eax: r.eax, ebx: r.ebx, ecx: r.ecx, edx: r.edx }
            };
            published_tsc_frequency(cpuid, None)
                .filter(|p| p.publisher.is_exact())
                .map(|p| p.tsc_hz / 1000)
                .or_else(measure_host_tsc_khz)
        }
        #[cfg(not(target_arch = "x86_64"))]
        None
    })
}

/// The host's TSC against its monotonic clock over 20 ms, three times:
/// the median, if the three agree within 0.5% (a descheduled moment in the
/// middle does not matter; only the ends, which are adjacent reads).
#[cfg(target_arch = "x86_64")]
fn measure_host_tsc_khz() -> Option<u64> {
    let once = || {
        // SAFETY: RDTSC has no side effects.
        let (t0, c0) = (std::time::Instant::now(), unsafe { std::arch::x86_64::_rdtsc() });
        std::thread::sleep(Duration::from_millis(20));
        // SAFETY: as above.
        let (t1, c1) = (std::time::Instant::now(), unsafe { std::arch::x86_64::_rdtsc() });
        let ns = t1.duration_since(t0).as_nanos() as u64;
        (ns > 0).then(|| (c1.wrapping_sub(c0) as u128 * 1_000_000 / ns as u128) as u64)
    };
    let mut runs = [once()?, once()?, once()?];
    runs.sort_unstable();
    (runs[2] - runs[0] <= runs[1] / 200).then_some(runs[1])
}

/// One boot of an image.
#[derive(Clone, Debug)]
pub struct Boot {
    /// The QEMU binary.
    pub qemu: PathBuf,
    /// The image given to `-kernel`.
    pub image: PathBuf,
    /// An initial RAM disk (`-initrd`), for a Linux kernel.
    pub initrd: Option<PathBuf>,
    /// The kernel command line (`-append`), empty for none.
    pub cmdline: String,
    /// The machine.
    pub machine: Machine,
    /// Wait for gdb on TCP port 1234 before starting (`-s -S`).
    pub gdb: bool,
    /// Kill QEMU after this long (`None`: wait for ever).
    pub timeout: Option<Duration>,
    /// Arguments that attach devices (`-drive`, `-device`, `-netdev`).
    pub devices: Vec<String>,
    /// Bytes typed on COM1 (QEMU's standard input, a pipe) once the guest
    /// has printed something, that is once its console is set up (a UART
    /// reset drops what its FIFO held); `None`: standard input is
    /// `/dev/null`. See `console_input::typed`.
    pub stdin: Option<Vec<u8>>,
}

/// The arguments that attach the kernel tests' devices: `disk` (a raw
/// image) as a virtio-blk disk, and a virtio-net card on QEMU's user-mode
/// network (no host ports; the gateway 10.0.2.2 answers ARP and DHCP).
pub fn virtio_test_devices(disk: &Path) -> Vec<String> {
    // QEMU's option syntax escapes a comma by doubling it.
    let file = disk.to_string_lossy().replace(',', ",,");
    [
        "-drive",
        &format!("file={file},if=none,id=disk0,format=raw"),
        "-device",
        "virtio-blk-pci,drive=disk0",
        "-netdev",
        "user,id=net0",
        "-device",
        "virtio-net-pci,netdev=net0",
    ]
    .map(str::to_string)
    .to_vec()
}

impl Boot {
    /// QEMU's arguments.
    pub fn args(&self) -> Vec<OsString> {
        let m = &self.machine;
        let cpu = m.cpu.clone().unwrap_or_else(|| match m.accel {
            Accel::Tcg => "max".to_string(),
            Accel::Kvm => "host".to_string(),
        });
        // QEMU 7.2 runs an x86 guest's vCPUs one at a time on one host
        // thread unless asked for multi-threaded TCG: with it, an app's
        // threads really run in parallel (a 2-CPU prime sieve: 2.1x).
        // -icount refuses multi-threaded TCG (and KVM: QEMU then says so).
        let accel = match m.accel {
            Accel::Tcg if m.icount => "tcg,thread=single",
            Accel::Tcg if m.smp > 1 => "tcg,thread=multi",
            other => other.name(),
        };
        let mut args: Vec<OsString> = Vec::new();
        let mut push = |a: &str| args.push(a.into());
        for a in ["-machine", "pc", "-accel", accel, "-cpu", &cpu, "-m", &m.mem] {
            push(a);
        }
        push("-smp");
        push(&m.smp.to_string());
        if m.icount {
            push("-icount");
            push("shift=0");
        }
        push("-kernel");
        args.push(self.image.clone().into_os_string());
        if let Some(initrd) = &self.initrd {
            args.push("-initrd".into());
            args.push(initrd.clone().into_os_string());
        }
        let mut push = |a: &str| args.push(a.into());
        let cmdline = self.kernel_cmdline();
        if !cmdline.is_empty() {
            push("-append");
            push(&cmdline);
        }
        for a in
            ["-display", "none", "-monitor", "none", "-serial", "stdio", "-no-reboot", "-device", DEBUG_EXIT_DEVICE]
        {
            push(a);
        }
        for a in &self.devices {
            push(a);
        }
        if m.firmware == Firmware::Qboot {
            push("-bios");
            push(QBOOT_ROM);
        }
        if self.gdb {
            push("-s");
            push("-S");
        }
        args
    }

    /// The TSC frequency this machine's guest sees, where the xtask knows it
    /// (QEMU's TCG publishes none in CPUID, `tsc-frequency=` included): under
    /// `-icount shift=0` the TSC counts one tick per instruction, each one
    /// virtual nanosecond: 1 GHz; under plain TCG the guest reads the host's
    /// TSC, whose frequency the host's CPUID may publish. `None` under KVM
    /// (the CPU's own CPUID speaks there) and when the host publishes none.
    pub fn known_tsc_khz(&self) -> Option<u64> {
        match self.machine.accel {
            Accel::Tcg if self.machine.icount => Some(1_000_000),
            Accel::Tcg => host_tsc_khz(),
            Accel::Kvm => None,
        }
    }

    /// The command line given to `-append`: for our kernel (booted without
    /// an initrd) the known TSC frequency goes first as `tsc_khz=`, which
    /// the kernel checks against the HPET instead of measuring the TSC; a
    /// Linux guest's words are passed as they are.
    pub fn kernel_cmdline(&self) -> String {
        match self.known_tsc_khz() {
            Some(khz) if self.initrd.is_none() && !self.cmdline.contains("tsc_khz=") => {
                if self.cmdline.is_empty() {
                    format!("tsc_khz={khz}")
                } else {
                    format!("tsc_khz={khz} {}", self.cmdline)
                }
            }
            _ => self.cmdline.clone(),
        }
    }

    /// The whole command, quoted for a POSIX shell.
    pub fn shell_command(&self) -> String {
        let mut words = vec![shell_quote(&self.qemu.to_string_lossy())];
        words.extend(self.args().iter().map(|a| shell_quote(&a.to_string_lossy())));
        words.join(" ")
    }
}

/// Quotes a word for a POSIX shell (only when it needs it).
pub fn shell_quote(word: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "-_./=:,+@%^".contains(c);
    if !word.is_empty() && word.chars().all(safe) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// What to do with QEMU's standard error while it runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stderr {
    /// Copy it to our standard error as it comes (and keep it).
    Echo,
    /// Only keep it.
    Capture,
}

/// A finished boot.
#[derive(Clone, Debug)]
pub struct Finished {
    /// How QEMU ended.
    pub end: QemuEnd,
    /// Everything the guest wrote to its console (COM1).
    pub serial: Vec<u8>,
    /// Everything the kernel wrote to its run record (COM2).
    pub records: Vec<u8>,
    /// Everything QEMU wrote to its standard error.
    pub stderr: Vec<u8>,
    /// Wall time from spawning QEMU to reaping it.
    pub elapsed: Duration,
}

/// How often the run record's file is read while QEMU runs.
const RECORD_POLL_INTERVAL: Duration = Duration::from_millis(20);

/// A file of this process's own for one run's record (COM2).
fn record_file() -> PathBuf {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    std::env::temp_dir().join(format!("libos-xtask-record-{}-{n}.txt", std::process::id()))
}

/// Removes the record file when the run is over, however it ends.
struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Boots the image and waits for the run to end: QEMU exits, or the
/// timeout passes (QEMU is then killed). `on_output` gets the guest's
/// console (COM1) and run record (COM2) chunk by chunk as they arrive, on
/// the calling thread.
///
/// The calling thread must live until this returns (it does: the function
/// blocks), because QEMU's death signal is tied to the thread that spawned
/// it.
pub fn run(boot: &Boot, stderr_mode: Stderr, on_output: &mut dyn FnMut(Stream, &[u8])) -> Result<Finished> {
    let record_path = record_file();
    let _remove_record = RemoveOnDrop(record_path.clone());
    // QEMU opens it itself; created here so that the reader finds it.
    std::fs::File::create(&record_path).with_context(|| format!("creating {}", record_path.display()))?;
    let mut command = Command::new(&boot.qemu);
    let mut record_arg = OsString::from("file:");
    record_arg.push(&record_path);
    command
        .args(boot.args())
        .arg("-serial")
        .arg(record_arg)
        .stdin(if boot.stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    die_with_parent(&mut command);
    let started = Instant::now();
    let child = command.spawn().with_context(|| format!("starting {}", boot.qemu.display()))?;
    let mut guard = ChildGuard::new(child);

    // Typed once the guest has printed (see `Boot::stdin`), from a thread
    // of its own (a long text fills the pipe until the guest reads).
    let mut typing = boot.stdin.clone().zip(guard.child.stdin.take());
    let mut typist: Option<thread::JoinHandle<()>> = None;
    let mut stdout = guard.child.stdout.take().context("QEMU's stdout pipe")?;
    let mut stderr = guard.child.stderr.take().context("QEMU's stderr pipe")?;
    // `None`: QEMU closed its stdout (it exited).
    let (tx, rx) = mpsc::channel::<Option<(Stream, Vec<u8>)>>();
    let console_tx = tx.clone();
    let stdout_reader = thread::spawn(move || {
        let mut buf = [0u8; 4096];
        loop {
            match stdout.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if console_tx.send(Some((Stream::Console, buf[..n].to_vec()))).is_err() {
                        break;
                    }
                }
            }
        }
        let _ = console_tx.send(None);
    });
    // The record file is polled until QEMU's stdout closes (it exited or
    // was killed), then read to its end once more.
    let record_done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let record_reader = {
        let done = record_done.clone();
        let path = record_path.clone();
        thread::spawn(move || {
            let Ok(mut file) = std::fs::File::open(&path) else {
                return;
            };
            loop {
                let last = done.load(std::sync::atomic::Ordering::Acquire);
                let mut bytes = Vec::new();
                let _ = file.read_to_end(&mut bytes);
                if !bytes.is_empty() && tx.send(Some((Stream::Record, bytes))).is_err() {
                    break;
                }
                if last {
                    break;
                }
                thread::sleep(RECORD_POLL_INTERVAL);
            }
        })
    };
    let stderr_reader = thread::spawn(move || {
        let mut kept = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match stderr.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if stderr_mode == Stderr::Echo {
                        let mut out = std::io::stderr().lock();
                        let _ = out.write_all(&buf[..n]);
                        let _ = out.flush();
                    }
                    kept.extend_from_slice(&buf[..n]);
                }
            }
        }
        kept
    });

    let deadline = boot.timeout.map(|t| started + t);
    let mut serial = Vec::new();
    let mut records = Vec::new();
    let mut take = |stream: Stream, chunk: Vec<u8>| {
        if stream == Stream::Console
            && let Some((text, mut pipe)) = typing.take()
        {
            typist = Some(thread::spawn(move || {
                // An error is QEMU gone: the run's end says why. Closing
                // the pipe then is harmless (QEMU's 16550 ignores the
                // character device's close event).
                let _ = pipe.write_all(&text);
            }));
        }
        on_output(stream, &chunk);
        match stream {
            Stream::Console => serial.extend_from_slice(&chunk),
            Stream::Record => records.extend_from_slice(&chunk),
        }
    };
    let mut timed_out = false;
    // Until QEMU closes its stdout (it exits) or the deadline passes.
    loop {
        let next = match deadline {
            Some(d) => rx.recv_timeout(d.saturating_duration_since(Instant::now())),
            None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        match next {
            Ok(Some((stream, chunk))) => take(stream, chunk),
            Ok(None) | Err(RecvTimeoutError::Disconnected) => break,
            Err(RecvTimeoutError::Timeout) => {
                timed_out = true;
                break;
            }
        }
    }
    // Reap QEMU, still within the deadline.
    let status = if timed_out {
        guard.kill_and_reap()?
    } else {
        loop {
            if let Some(status) = guard.try_reap()? {
                break status;
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                timed_out = true;
                break guard.kill_and_reap()?;
            }
            thread::sleep(Duration::from_millis(1));
        }
    };
    let elapsed = started.elapsed();
    // The pipes are closed now: the readers finish; take what is left.
    let _ = stdout_reader.join();
    record_done.store(true, std::sync::atomic::Ordering::Release);
    let _ = record_reader.join();
    for (stream, chunk) in rx.try_iter().flatten() {
        take(stream, chunk);
    }
    // QEMU is gone: a write still blocked fails now.
    if let Some(typist) = typist {
        let _ = typist.join();
    }
    let stderr = stderr_reader.join().unwrap_or_default();

    let end = if timed_out {
        QemuEnd::TimedOut(boot.timeout.unwrap_or_default())
    } else if let Some(code) = status.code() {
        QemuEnd::Exited(code)
    } else {
        QemuEnd::Signaled(status.signal().unwrap_or(0))
    };
    Ok(Finished { end, serial, records, stderr, elapsed })
}

/// QEMU's version line (`QEMU emulator version 7.2.22 (...)`).
pub fn version(qemu: &Path) -> Result<String> {
    let out = Command::new(qemu)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {} --version", qemu.display()))?;
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(text.lines().next().unwrap_or("").trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn boot() -> Boot {
        Boot {
            qemu: PathBuf::from("/usr/bin/qemu-system-x86_64"),
            image: PathBuf::from("/w/target/images/hello.bin"),
            initrd: None,
            cmdline: "kpti=off -- a 'b c'".into(),
            machine: Machine {
                accel: Accel::Tcg,
                cpu: None,
                mem: "128M".into(),
                smp: 2,
                firmware: Firmware::Qboot,
                icount: false,
            },
            gdb: false,
            timeout: Some(Duration::from_secs(60)),
            devices: Vec::new(),
            stdin: None,
        }
    }

    #[test]
    fn command_line() {
        assert_eq!(
            boot().shell_command(),
            "/usr/bin/qemu-system-x86_64 -machine pc -accel tcg,thread=multi -cpu max -m 128M -smp 2 \
             -kernel /w/target/images/hello.bin -append 'kpti=off -- a '\\''b c'\\''' \
             -display none -monitor none -serial stdio -no-reboot \
             -device isa-debug-exit,iobase=0xf4,iosize=0x01 -bios /usr/share/qemu/qboot.rom"
        );
    }

    #[test]
    fn test_devices_attach_a_disk_and_a_network_card() {
        let mut b = boot();
        b.devices = virtio_test_devices(Path::new("/w/target/xtask/disks/a,b.img"));
        assert!(b.shell_command().ends_with(
            "-device isa-debug-exit,iobase=0xf4,iosize=0x01 \
             -drive file=/w/target/xtask/disks/a,,b.img,if=none,id=disk0,format=raw \
             -device virtio-blk-pci,drive=disk0 -netdev user,id=net0 -device virtio-net-pci,netdev=net0 \
             -bios /usr/share/qemu/qboot.rom"
        ));
    }

    #[test]
    fn one_cpu_keeps_single_threaded_tcg() {
        let mut b = boot();
        b.machine.smp = 1;
        assert!(b.shell_command().contains("-accel tcg -cpu max"));
    }

    #[test]
    fn icount_runs_single_threaded_tcg() {
        let mut b = boot();
        b.machine.icount = true;
        assert_eq!(
            b.shell_command(),
            "/usr/bin/qemu-system-x86_64 -machine pc -accel tcg,thread=single -cpu max -m 128M -smp 2 \
             -icount shift=0 -kernel /w/target/images/hello.bin -append 'tsc_khz=1000000 kpti=off -- a '\\''b c'\\''' \
             -display none -monitor none -serial stdio -no-reboot \
             -device isa-debug-exit,iobase=0xf4,iosize=0x01 -bios /usr/share/qemu/qboot.rom"
        );
        b.machine.smp = 1;
        assert!(b.shell_command().contains("-accel tcg,thread=single -cpu max -m 128M -smp 1 -icount shift=0 "));
        // A Linux guest (booted with an initrd) gets its words unchanged,
        // and a frequency on the command line already wins.
        b.initrd = Some("/w/initrd.cpio".into());
        assert!(b.shell_command().contains("-append 'kpti=off -- a "), "{}", b.shell_command());
        b.initrd = None;
        b.cmdline = "tsc_khz=5 --".into();
        assert_eq!(b.kernel_cmdline(), "tsc_khz=5 --");
    }

    #[test]
    fn kvm_seabios_gdb_and_cpu_override() {
        let mut b = boot();
        b.machine.accel = Accel::Kvm;
        b.machine.firmware = Firmware::Seabios;
        b.gdb = true;
        b.cmdline.clear();
        let cmd = b.shell_command();
        assert!(cmd.contains("-accel kvm -cpu host"), "{cmd}");
        assert!(!cmd.contains("-bios") && !cmd.contains("-append"), "{cmd}");
        assert!(cmd.ends_with("-s -S"), "{cmd}");
        b.machine.cpu = Some("qemu64,-nx".into());
        assert!(b.shell_command().contains("-cpu qemu64,-nx"));
    }

    #[test]
    fn an_initrd_follows_the_kernel() {
        let mut b = boot();
        b.initrd = Some(PathBuf::from("/w/target/linux/initramfs.cpio"));
        assert!(
            b.shell_command()
                .contains("-kernel /w/target/images/hello.bin -initrd /w/target/linux/initramfs.cpio -append"),
            "{}",
            b.shell_command()
        );
    }

    #[test]
    fn quoting() {
        assert_eq!(shell_quote("plain-word_1.2=x"), "plain-word_1.2=x");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
    }

    /// The supervision logic, with a shell script standing in for QEMU.
    fn fake(script: &str, timeout: Option<Duration>) -> Finished {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("xtask-fake-qemu-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("qemu");
        // `$record` is the file of the last `-serial file:...` argument (COM2).
        let find_record = "for a; do case $a in file:*) record=${a#file:};; esac; done";
        std::fs::write(&path, format!("#!/bin/sh\n{find_record}\n{script}\n")).unwrap();
        let mut perms = std::fs::metadata(&path).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
        std::fs::set_permissions(&path, perms).unwrap();
        let mut b = boot();
        b.qemu = path.clone();
        b.timeout = timeout;
        let (mut streamed, mut streamed_records) = (Vec::new(), Vec::new());
        let finished = run(&b, Stderr::Capture, &mut |stream, c| match stream {
            Stream::Console => streamed.extend_from_slice(c),
            Stream::Record => streamed_records.extend_from_slice(c),
        })
        .unwrap();
        let _ = std::fs::remove_file(&path);
        let _ = std::fs::remove_dir(&dir);
        assert_eq!(streamed, finished.serial, "everything streamed is kept");
        assert_eq!(streamed_records, finished.records, "every record streamed is kept");
        finished
    }

    #[test]
    fn the_record_port_is_a_file_apart_from_the_console() {
        let f = fake(
            "printf 'console\n'; printf '[libos] exit: app-code 3\n' >> \"$record\"; sleep 0.1; \
             printf 'late record\n' >> \"$record\"; exit 7",
            Some(Duration::from_secs(20)),
        );
        assert_eq!(f.serial, b"console\n");
        assert_eq!(f.records, b"[libos] exit: app-code 3\nlate record\n");
        assert_eq!(f.end, QemuEnd::Exited(7));
    }

    #[test]
    fn exit_status_and_output_are_collected() {
        let f = fake("printf 'one\\ntwo'; echo oops >&2; exit 5", Some(Duration::from_secs(20)));
        assert_eq!(f.end, QemuEnd::Exited(5));
        assert_eq!(f.serial, b"one\ntwo");
        assert_eq!(f.stderr, b"oops\n");
    }

    #[test]
    fn timeout_kills_the_process() {
        let started = Instant::now();
        let f = fake("echo started; exec sleep 30", Some(Duration::from_millis(300)));
        assert_eq!(f.end, QemuEnd::TimedOut(Duration::from_millis(300)));
        assert_eq!(f.serial, b"started\n");
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn timeout_applies_after_stdout_is_closed() {
        let f = fake("exec >/dev/null 2>&1; exec sleep 30", Some(Duration::from_millis(300)));
        assert_eq!(f.end, QemuEnd::TimedOut(Duration::from_millis(300)));
    }

    #[test]
    fn killed_by_a_signal() {
        let f = fake("kill -9 $$", None);
        assert_eq!(f.end, QemuEnd::Signaled(9));
    }
}
