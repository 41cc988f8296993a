//! Choosing the accelerator: TCG, KVM, or KVM only where it works.
//!
//! `/dev/kvm` is not enough: on some hosts it is a software nested
//! hypervisor on which SYSCALL from ring 3 fails and STAC/CLAC leave QEMU
//! paused for ever. `--accel auto` therefore boots a probe — the `hello`
//! image with the kernel command line word `probe=ring3`, under KVM, with a
//! 15 s timeout — and uses KVM only if the guest prints
//! [`PROBE_OK_LINE`] and exits with success. The verdict is cached in
//! `target/xtask/kvm-probe`, keyed by QEMU's version, the host kernel's
//! release and the probe image's hash.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Result;
use libos_abi::run::RunExit;

use crate::emulator::qemu::{self, Accel, Boot, Machine};
use crate::emulator::run_result::{self, Verdict};

/// The line the kernel prints when `probe=ring3` succeeded.
pub const PROBE_OK_LINE: &str = "[libos] probe: ring3 ok";
/// The kernel command line of the probe.
pub const PROBE_CMDLINE: &str = "probe=ring3";
/// How long the probe may take.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(15);
/// The framework's app whose image is the probe.
pub const PROBE_APP: &str = "hello";

/// The app whose image is the probe: [`PROBE_APP`] in the framework's
/// workspace; the app itself outside it (every app runs the probe: the
/// runtime answers `--libos-probe`).
pub fn probe_app(layout: &crate::build::Layout) -> String {
    match &layout.outside {
        Some(app) => app.name.clone(),
        None => PROBE_APP.to_string(),
    }
}

/// What the user asked for with `--accel`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum AccelChoice {
    /// KVM if a (cached) probe shows that this host's KVM runs our guest, else TCG.
    Auto,
    /// QEMU's software emulator.
    Tcg,
    /// KVM, unconditionally.
    Kvm,
}

/// The accelerator chosen, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chosen {
    /// The accelerator.
    pub accel: Accel,
    /// Why, in words.
    pub reason: String,
}

/// What the probe needs besides its image.
pub struct ProbeSetup<'a> {
    /// The QEMU binary.
    pub qemu: &'a Path,
    /// The machine to probe with (its accelerator is replaced by KVM).
    pub machine: Machine,
    /// `target/xtask/kvm-probe`.
    pub cache: PathBuf,
}

/// Chooses the accelerator. `probe_image` builds the probe image; it is
/// called only when `--accel auto` needs to probe.
pub fn choose(choice: AccelChoice, setup: &ProbeSetup<'_>, probe_image: &mut dyn FnMut() -> Result<PathBuf>) -> Chosen {
    match choice {
        AccelChoice::Tcg => Chosen { accel: Accel::Tcg, reason: "--accel tcg, the default".into() },
        AccelChoice::Kvm => Chosen { accel: Accel::Kvm, reason: "--accel kvm".into() },
        AccelChoice::Auto => auto(setup, probe_image),
    }
}

fn auto(setup: &ProbeSetup<'_>, probe_image: &mut dyn FnMut() -> Result<PathBuf>) -> Chosen {
    let tcg = |reason: String| Chosen { accel: Accel::Tcg, reason };
    if let Err(e) = fs::OpenOptions::new().read(true).write(true).open("/dev/kvm") {
        return tcg(format!("--accel auto: /dev/kvm is not usable ({e})"));
    }
    let image = match probe_image() {
        Ok(image) => image,
        Err(e) => {
            return tcg(format!("--accel auto: could not build the KVM probe image: {e:#}"));
        }
    };
    let key = match ProbeKey::current(setup.qemu, &image) {
        Ok(key) => key,
        Err(e) => return tcg(format!("--accel auto: could not identify this host: {e:#}")),
    };
    let cache_note = format!("cached in {}", setup.cache.display());
    if let Some(cached) = fs::read_to_string(&setup.cache).ok().and_then(|t| Cached::parse(&t))
        && cached.key == key
    {
        return verdict_choice(cached.passed, &format!("{} ({cache_note})", cached.reason));
    }
    eprintln!(
        "xtask: probing KVM (boot {} with `{PROBE_CMDLINE}`, {} s timeout)",
        image.display(),
        PROBE_TIMEOUT.as_secs()
    );
    let (passed, reason) = probe(setup, &image);
    let cached = Cached { key, passed, reason: reason.clone() };
    let note = match crate::build::write_atomically(&setup.cache, cached.render().as_bytes()) {
        Ok(()) => cache_note,
        Err(e) => format!("not cached: {e:#}"),
    };
    verdict_choice(passed, &format!("{reason} ({note})"))
}

fn verdict_choice(passed: bool, reason: &str) -> Chosen {
    if passed {
        Chosen { accel: Accel::Kvm, reason: format!("--accel auto: KVM probe passed: {reason}") }
    } else {
        Chosen { accel: Accel::Tcg, reason: format!("--accel auto: KVM probe failed: {reason}") }
    }
}

/// Boots the probe; whether it passed, and what happened.
fn probe(setup: &ProbeSetup<'_>, image: &Path) -> (bool, String) {
    let boot = Boot {
        qemu: setup.qemu.to_path_buf(),
        image: image.to_path_buf(),
        initrd: None,
        cmdline: PROBE_CMDLINE.to_string(),
        machine: Machine { accel: Accel::Kvm, cpu: None, smp: 1, ..setup.machine.clone() },
        gdb: false,
        timeout: Some(PROBE_TIMEOUT),
        devices: Vec::new(),
        stdin: None,
    };
    match qemu::run(&boot, qemu::Stderr::Capture, &mut |_, _| {}) {
        Err(e) => (false, format!("could not run QEMU: {e:#}")),
        Ok(finished) => {
            let verdict = run_result::decode(finished.end, &finished.records);
            let stderr = String::from_utf8_lossy(&finished.stderr);
            judge_probe(&finished.serial, &verdict, stderr.trim())
        }
    }
}

/// The probe's verdict from its output and ending (pure).
pub fn judge_probe(serial: &[u8], verdict: &Verdict, qemu_stderr: &str) -> (bool, String) {
    let text = String::from_utf8_lossy(serial);
    let printed = text.lines().any(|l| l.trim_end_matches('\r').trim_end() == PROBE_OK_LINE);
    match (printed, verdict) {
        (true, Verdict::Exit(RunExit::Success)) => {
            (true, format!("the guest printed `{PROBE_OK_LINE}` and exited with success"))
        }
        (true, other) => (false, format!("the guest printed `{PROBE_OK_LINE}` but then {}", other.describe())),
        (false, other) => {
            let mut reason = format!("the guest never printed `{PROBE_OK_LINE}`; {}", other.describe());
            if let Some(first) = qemu_stderr.lines().next() {
                reason.push_str(&format!("; QEMU said: {first}"));
            }
            (false, reason)
        }
    }
}

/// What a cached verdict is valid for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeKey {
    /// `qemu-system-x86_64 --version`'s first line.
    pub qemu_version: String,
    /// The host kernel's release (`uname -r`).
    pub host_kernel: String,
    /// FNV-1a hash of the probe image.
    pub image_hash: String,
}

impl ProbeKey {
    fn current(qemu: &Path, image: &Path) -> Result<ProbeKey> {
        use anyhow::Context;
        let bytes = fs::read(image).with_context(|| format!("reading {}", image.display()))?;
        let release = fs::read_to_string("/proc/sys/kernel/osrelease").context("reading /proc/sys/kernel/osrelease")?;
        Ok(ProbeKey {
            qemu_version: qemu::version(qemu)?,
            host_kernel: release.trim().to_string(),
            image_hash: format!("fnv1a64:{:016x}", fnv1a64(&bytes)),
        })
    }
}

/// A verdict as stored in the cache file.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Cached {
    key: ProbeKey,
    passed: bool,
    reason: String,
}

impl Cached {
    fn render(&self) -> String {
        format!(
            "# KVM probe verdict of `cargo xtask ... --accel auto`; delete this file to probe again\n\
             qemu: {}\nhost-kernel: {}\nimage: {}\nverdict: {}\nreason: {}\n",
            self.key.qemu_version,
            self.key.host_kernel,
            self.key.image_hash,
            if self.passed { "pass" } else { "fail" },
            self.reason.replace('\n', " "),
        )
    }

    fn parse(text: &str) -> Option<Cached> {
        let field = |name: &str| {
            text.lines().find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(": "))).map(str::to_string)
        };
        Some(Cached {
            key: ProbeKey {
                qemu_version: field("qemu")?,
                host_kernel: field("host-kernel")?,
                image_hash: field("image")?,
            },
            passed: match field("verdict")?.as_str() {
                "pass" => true,
                "fail" => false,
                _ => return None,
            },
            reason: field("reason").unwrap_or_default(),
        })
    }
}

/// 64-bit FNV-1a: a small, stable hash for cache keys (not cryptographic).
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_known_values() {
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x85944171f73967e8);
    }

    #[test]
    fn cache_round_trip() {
        let cached = Cached {
            key: ProbeKey {
                qemu_version: "QEMU emulator version 7.2.22 (Debian)".into(),
                host_kernel: "6.1.0-30-amd64".into(),
                image_hash: "fnv1a64:0123456789abcdef".into(),
            },
            passed: false,
            reason: "the guest never printed it;\ntimed out after 15 s".into(),
        };
        let parsed = Cached::parse(&cached.render()).unwrap();
        assert_eq!(parsed.key, cached.key);
        assert!(!parsed.passed);
        assert_eq!(parsed.reason, "the guest never printed it; timed out after 15 s");
        assert_eq!(Cached::parse("qemu: x\n"), None);
    }

    #[test]
    fn probe_judgement() {
        let ok = b"[libos] booting\r\n[libos] probe: ring3 ok\r\n[libos] exit: success\r\n";
        assert!(judge_probe(ok, &Verdict::Exit(RunExit::Success), "").0);
        let (passed, reason) = judge_probe(ok, &Verdict::Exit(RunExit::Failure), "");
        assert!(!passed);
        assert!(reason.contains("but then the kernel reported a failure"), "{reason}");
        let (passed, reason) = judge_probe(
            b"[libos] booting\n",
            &Verdict::TimedOut(Duration::from_secs(15)),
            "KVM internal error. Suberror: 1\nmore",
        );
        assert!(!passed);
        assert!(reason.contains("timed out after 15 s"), "{reason}");
        assert!(reason.contains("QEMU said: KVM internal error. Suberror: 1"), "{reason}");
    }

    #[test]
    fn forced_choices_do_not_probe() {
        let setup = ProbeSetup {
            qemu: Path::new("/nonexistent/qemu"),
            machine: Machine {
                accel: Accel::Tcg,
                cpu: None,
                mem: "128M".into(),
                smp: 1,
                firmware: qemu::Firmware::Seabios,
                icount: false,
            },
            cache: PathBuf::from("/nonexistent/cache"),
        };
        let mut never = || -> Result<PathBuf> { panic!("must not build the probe image") };
        assert_eq!(choose(AccelChoice::Tcg, &setup, &mut never).accel, Accel::Tcg);
        assert_eq!(choose(AccelChoice::Kvm, &setup, &mut never).accel, Accel::Kvm);
    }
}
