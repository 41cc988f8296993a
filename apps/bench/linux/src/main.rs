//! The Linux guest of `cargo xtask bench`: the bench app's workloads as a
//! static Linux program, which the xtask builds for
//! `x86_64-unknown-linux-musl`, packs as the only file (`/init`) of an
//! initramfs and boots under Debian's cloud kernel, on the same QEMU
//! command line as our images. It measures with the same code as the bench
//! app (`bench-workload`), prints the same `[bench]` lines and powers the
//! machine off.
//!
//! Its arguments come from the kernel command line, after `--` (Linux
//! passes them to init, `init/main.c`): the mode and its count, as the
//! bench app's (`syscalls 100000`).
//!
//! Modes ([`WORKLOADS`]):
//! - `syscalls [iterations]`: the loop of known length (does the TSC count
//!   instructions?), the entry configuration (`pti`, `pcid` in
//!   `/proc/cpuinfo`), then round trips of an unknown syscall (-ENOSYS) and
//!   of `getpid`, timed with the TSC and `CLOCK_MONOTONIC`.
//! - `files [iterations] [MiB]`: `bench_workload::files`, in `/tmp` (made
//!   in the initramfs, a RAM file system), as the bench app's mode.
//! - `files-disk [MiB]`: `bench_workload::files::run_disk` on the virtio
//!   disk: loads the virtio modules the initramfs carries in `/modules`
//!   (Debian builds `virtio_blk` and the PCI transport as modules; its ext4
//!   driver, built in, mounts ext2), mounts `devtmpfs` on `/dev`, waits
//!   for `/dev/vda` and mounts it at `/data` as ext2; between the writing
//!   and the reading it drops the page cache (`/proc/sys/vm/drop_caches`)
//!   so that the reading comes from the disk, as ours does.
//! - `http [requests] [a.b.c.d/prefix]`: loads the network modules and
//!   configures `eth0` ([`net`]), then runs `/http-std 80 --requests N`
//!   (`linux-programs/http-std`, the binary our kernel runs too) and waits
//!   for it; the xtask's load generator drives it from the host.
//! - `start [clock-calls]`: prints `[start] init tsc=N`, the TSC at the
//!   first line of this program's `main` (under `-icount`, the
//!   instructions since the machine's reset plus halted time), then runs
//!   `/std-hello` (`linux-programs/std-hello`; with `clock N` when the
//!   count is not 0) and waits for it.
//!
//! Its console is the kernel's: before running init, Linux opens
//! `/dev/console` as fds 0-2 (`init/main.c`, `console_on_rootfs`), from its
//! built-in initramfs (`usr/default_cpio_list` has the node), so the
//! initramfs needs no device node. It must: Rust's `std` checks fds 0-2
//! before `main` and, when they are closed and `/dev/null` cannot be
//! opened, aborts (musl's abort ends in `hlt`, so init dies of SIGSEGV and
//! the kernel panics with "Attempted to kill init! exitcode=0x0000000b").
//!
//! As process 1 it mounts `/proc` first; at the end it waits for the serial
//! line to drain and calls `reboot(LINUX_REBOOT_CMD_POWER_OFF)`. Run as any
//! other process (on the host: `cargo run -p bench-linux -- syscalls 1000`)
//! it only measures and exits.

mod modules;
mod net;

use std::ffi::{CStr, CString};
use std::io::Write;
use std::process::ExitCode;
use std::time::Instant;

use bench_workload::line::{Config, Kernel, Syscall};
use bench_workload::{GETPID, UNKNOWN_SYSCALL, syscall_loop, warm_up};

/// A workload: its mode name (the first argument) and what it runs with
/// the count (the second).
type Workload = (&'static str, fn(u64) -> Result<(), String>);

/// Every mode. A new workload is a function and a line here (and the
/// matching function and line in `WORKLOADS` of
/// `xtask/src/bench/linux/mod.rs`).
const WORKLOADS: &[Workload] =
    &[("syscalls", syscalls), ("files", files), ("files-disk", files_disk), ("http", http), ("start", start)];

/// The count when the command line gives none.
const DEFAULT_ITERATIONS: u64 = 100_000;

/// The TSC at the first line of `main` (for `start`).
static MAIN_TSC: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

fn main() -> ExitCode {
    // SAFETY: RDTSC reads a counter; no memory is touched.
    MAIN_TSC.store(unsafe { core::arch::x86_64::_rdtsc() }, std::sync::atomic::Ordering::Relaxed);
    let init = std::process::id() == 1;
    if init && let Err(e) = mount("proc", "/proc", "proc") {
        eprintln!("bench-linux: {e}");
    }
    let status = run(std::env::args().skip(1).collect());
    if init {
        power_off();
    }
    status
}

/// Runs the mode the arguments name.
fn run(args: Vec<String>) -> ExitCode {
    let mode = args.first().map(String::as_str).unwrap_or("");
    let iterations = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(DEFAULT_ITERATIONS);
    let Some((_, workload)) = WORKLOADS.iter().find(|(name, _)| *name == mode) else {
        let names: Vec<&str> = WORKLOADS.iter().map(|(name, _)| *name).collect();
        eprintln!("bench-linux: unknown mode {mode:?} (the modes: {})", names.join(", "));
        return ExitCode::from(2);
    };
    match kernel_release() {
        Ok(release) => println!("{}", Kernel { release: &release }),
        Err(e) => eprintln!("bench-linux: {e}"),
    }
    match workload(iterations) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench-linux: {mode}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `syscalls`: the same measurements as the bench app's mode of that name,
/// but the floor entry, which only our kernel has.
fn syscalls(iterations: u64) -> Result<(), String> {
    println!("{}", bench_workload::check());
    println!("{}", entry_config()?);
    for (path, nr) in [("null", UNKNOWN_SYSCALL), ("getpid", GETPID)] {
        warm_up(nr, iterations);
        let started = Instant::now();
        let tsc = syscall_loop(nr, iterations);
        let ns = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        println!("{}", Syscall { path, iterations, tsc, ns });
    }
    Ok(())
}

/// `files`: the same measurements as the bench app's mode of that name;
/// the size in MiB is the third argument (64 without one).
fn files(iterations: u64) -> Result<(), String> {
    let mib: u64 = std::env::args().nth(3).and_then(|a| a.parse().ok()).unwrap_or(64);
    std::fs::create_dir_all("/tmp").map_err(|e| format!("creating /tmp: {e}"))?;
    let mut buf = vec![0u8; 1 << 20];
    let started = Instant::now();
    let now = || u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
    bench_workload::files::run(iterations, mib << 20, &mut buf, &now, &mut |op| println!("{op}"))
        .map_err(|e| format!("error {}", std::io::Error::from_raw_os_error(-e as i32)))
}

/// `files-disk`: the disk figures of the bench app's mode of that name;
/// `mib` is the file's size.
fn files_disk(mib: u64) -> Result<(), String> {
    mount_disk()?;
    let mut buf = vec![0u8; 1 << 20];
    let started = Instant::now();
    let now = || u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
    let drop_caches = || {
        // SAFETY: sync takes no arguments.
        unsafe { libc::sync() };
        if let Err(e) = std::fs::write("/proc/sys/vm/drop_caches", "3") {
            eprintln!("bench-linux: drop_caches: {e}");
        }
    };
    bench_workload::files::run_disk(mib << 20, &mut buf, &now, &drop_caches, &mut |op| println!("{op}"))
        .map_err(|e| format!("error {}", std::io::Error::from_raw_os_error(-e as i32)))
}

/// Loads the modules in `/modules` ([`modules::load_all`]), mounts
/// `devtmpfs`, waits for `/dev/vda` and mounts it at `/data` as ext2.
fn mount_disk() -> Result<(), String> {
    modules::load_all()?;
    mount("devtmpfs", "/dev", "devtmpfs")?;
    let started = Instant::now();
    while !std::path::Path::new("/dev/vda").exists() {
        if started.elapsed().as_secs() >= 10 {
            return Err("no /dev/vda 10 s after loading the virtio modules".to_string());
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    mount("/dev/vda", "/data", "ext2")
}

/// Where the xtask puts the HTTP server.
const HTTP_SERVER: &str = "/http-std";

/// `http`: the network up, then the HTTP server until it has served
/// `requests` requests; the address (the third argument) is QEMU's user
/// network's without one.
fn http(requests: u64) -> Result<(), String> {
    let cidr = std::env::args().nth(3).unwrap_or_else(|| "10.0.2.15/24".to_string());
    let (ip, prefix) = net::parse_cidr(&cidr)?;
    let loaded = modules::load_all()?;
    net::configure(ip, prefix)?;
    eprintln!("bench-linux: {loaded} modules loaded, {} is {cidr}", net::INTERFACE);
    let status = std::process::Command::new(HTTP_SERVER)
        .args(["80", "--requests", &requests.to_string()])
        .status()
        .map_err(|e| format!("running {HTTP_SERVER}: {e}"))?;
    if !status.success() {
        return Err(format!("{HTTP_SERVER} ended with {status}"));
    }
    Ok(())
}

/// Where the xtask puts the `std` hello.
const STD_HELLO: &str = "/std-hello";

/// `start`: this program's start mark, then `/std-hello` (with `clock
/// calls` when `calls` is not 0), waited for.
fn start(calls: u64) -> Result<(), String> {
    println!("[start] init tsc={}", MAIN_TSC.load(std::sync::atomic::Ordering::Relaxed));
    let _ = std::io::stdout().flush();
    let mut command = std::process::Command::new(STD_HELLO);
    if calls > 0 {
        command.args(["clock", &calls.to_string()]);
    }
    let status = command.status().map_err(|e| format!("running {STD_HELLO}: {e}"))?;
    if !status.success() {
        return Err(format!("{STD_HELLO} ended with {status}"));
    }
    Ok(())
}

/// KPTI and PCID as this kernel runs them: the `pti` flag of
/// `/proc/cpuinfo` is Linux's `X86_FEATURE_PTI`, set when it isolates page
/// tables (`arch/x86/mm/pti.c`, `pti_check_boottime_disable`); `pcid` is
/// the CPU's feature, which Linux uses whenever it is there
/// (`arch/x86/mm/init.c`, `setup_pcid`).
fn entry_config() -> Result<Config, String> {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").map_err(|e| format!("reading /proc/cpuinfo: {e}"))?;
    config_of_cpuinfo(&cpuinfo)
}

/// The entry configuration from the text of `/proc/cpuinfo` (its first
/// CPU's `flags` line).
fn config_of_cpuinfo(cpuinfo: &str) -> Result<Config, String> {
    let flags = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("flags").and_then(|rest| rest.trim_start().strip_prefix(':')))
        .ok_or("no `flags` line in /proc/cpuinfo")?;
    let has = |flag: &str| flags.split_whitespace().any(|f| f == flag);
    Ok(Config { kpti: has("pti"), pcid: has("pcid") })
}

/// `uname -r`.
fn kernel_release() -> Result<String, String> {
    // SAFETY: `utsname` is plain old data; all zeroes is a valid value.
    let mut names: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: `names` is a valid, writable `utsname`.
    if unsafe { libc::uname(&mut names) } != 0 {
        return Err(format!("uname: {}", std::io::Error::last_os_error()));
    }
    // SAFETY: uname(2) fills `release` with a NUL-terminated string.
    let release = unsafe { CStr::from_ptr(names.release.as_ptr()) };
    Ok(release.to_string_lossy().replace(char::is_whitespace, "_"))
}

/// Mounts a filesystem of `fstype` (no device) at `dir`, made first.
fn mount(source: &str, dir: &str, fstype: &str) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("creating {dir}: {e}"))?;
    let c = |s: &str| CString::new(s).expect("no NUL");
    let (source_c, dir_c, fstype_c) = (c(source), c(dir), c(fstype));
    // SAFETY: NUL-terminated strings that outlive the call; no data.
    let r = unsafe { libc::mount(source_c.as_ptr(), dir_c.as_ptr(), fstype_c.as_ptr(), 0, std::ptr::null()) };
    if r != 0 {
        return Err(format!("mounting {fstype} on {dir}: {}", std::io::Error::last_os_error()));
    }
    Ok(())
}

/// Ends the machine: flushes our output, waits until the serial line has
/// sent it (or the power-off would cut its tail), and powers off.
fn power_off() -> ! {
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    // SAFETY: tcdrain and sync take no pointers.
    unsafe {
        libc::tcdrain(1);
        libc::sync();
    }
    // SAFETY: powering off as process 1 is what this program is for.
    unsafe { libc::reboot(libc::LINUX_REBOOT_CMD_POWER_OFF) };
    // Only without CAP_SYS_BOOT: init exiting panics the kernel, which the
    // xtask's `panic=-1` turns into a reboot and QEMU's -no-reboot into an
    // exit.
    eprintln!("bench-linux: reboot(POWER_OFF): {}", std::io::Error::last_os_error());
    std::process::exit(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_entry_configuration_comes_from_the_flags() {
        let cpuinfo = "processor\t: 0\nvendor_id\t: AuthenticAMD\n\
                       flags\t\t: fpu vme pse tsc pti smep\nbugs\t\t: sysret_ss_attrs\n\
                       processor\t: 1\nflags\t\t: fpu pcid\n";
        assert_eq!(config_of_cpuinfo(cpuinfo), Ok(Config { kpti: true, pcid: false }));
        let pcid = "flags : fpu pcid ptis\n";
        assert_eq!(config_of_cpuinfo(pcid), Ok(Config { kpti: false, pcid: true }), "whole words only");
        assert!(config_of_cpuinfo("vendor_id : x\n").is_err());
    }

    #[test]
    fn unknown_modes_fail_and_known_ones_run() {
        assert_eq!(run(vec!["frobnicate".into()]), ExitCode::from(2));
        // On the host (a Linux), the workload itself runs.
        assert_eq!(run(vec!["syscalls".into(), "100".into()]), ExitCode::SUCCESS);
    }
}
