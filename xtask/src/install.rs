//! Finding the emulators and the tools around them, and installing them
//! (Debian packages, with apt-get) when they are missing and we may.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::bochs::{self, BOCHS, GRUB_MKRESCUE};
use crate::qemu::QEMU;

/// The Debian package that provides `qemu-system-x86_64`.
pub const QEMU_PACKAGE: &str = "qemu-system-x86";

/// Something the xtask runs or reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Thing {
    /// A program found in `PATH`.
    Program(&'static str),
    /// A file at this path.
    File(&'static str),
}

impl Thing {
    fn present(self) -> bool {
        match self {
            Thing::Program(name) => find_in_path(name).is_some(),
            Thing::File(path) => Path::new(path).is_file(),
        }
    }

    fn describe(self) -> String {
        match self {
            Thing::Program(name) => format!("{name} (not in PATH)"),
            Thing::File(path) => path.to_string(),
        }
    }
}

/// A [`Thing`] and the Debian package that provides it.
pub type Need = (Thing, &'static str);

/// What QEMU boots need.
pub const QEMU_NEEDS: &[Need] = &[(Thing::Program(QEMU), QEMU_PACKAGE)];

/// What Bochs boots need: Bochs, its BIOS and VGA BIOS, and what
/// `grub-mkrescue` needs to make a BIOS-bootable ISO.
pub const BOCHS_NEEDS: &[Need] = &[
    (Thing::Program(BOCHS), "bochs"),
    (Thing::File(bochs::BIOS_ROM), "bochsbios"),
    (Thing::File(bochs::VGA_ROM), "vgabios"),
    (Thing::Program(GRUB_MKRESCUE), "grub-common"),
    (Thing::File("/usr/lib/grub/i386-pc/multiboot.mod"), "grub-pc-bin"),
    (Thing::Program("xorriso"), "xorriso"),
    (Thing::Program("mformat"), "mtools"),
];

/// The things that are missing, and their packages (each package once).
fn missing(needs: &[Need]) -> (Vec<String>, Vec<&'static str>) {
    let mut things = Vec::new();
    let mut packages: Vec<&'static str> = Vec::new();
    for &(thing, package) in needs.iter().filter(|(thing, _)| !thing.present()) {
        things.push(thing.describe());
        if !packages.contains(&package) {
            packages.push(package);
        }
    }
    (things, packages)
}

/// Makes sure everything in `needs` is there. When something is missing:
/// as root, installs the packages with apt-get (running `apt-get update`
/// and trying again once if the first install fails); otherwise fails with
/// the command to run. `what` names them in messages.
pub fn ensure(needs: &[Need], what: &str) -> Result<()> {
    let (things, packages) = missing(needs);
    if packages.is_empty() {
        return Ok(());
    }
    let list = packages.join(" ");
    if !running_as_root() {
        bail!("{what}: missing {}. Install with:\n    sudo apt-get install -y {list}", things.join(", "));
    }
    eprintln!("xtask: {what}: missing {}; installing the Debian package(s) {list}", things.join(", "));
    let install: Vec<&str> = ["install", "-y"].into_iter().chain(packages.iter().copied()).collect();
    if !apt_get(&install)? {
        eprintln!("xtask: apt-get install failed; updating the package lists and trying again");
        if !apt_get(&["update"])? {
            bail!("`apt-get update` failed; cannot install {list}");
        }
        if !apt_get(&install)? {
            bail!("`apt-get install -y {list}` failed (see its output above)");
        }
    }
    let (still, _) = missing(needs);
    if !still.is_empty() {
        bail!("{what}: still missing after installing {list}: {}", still.join(", "));
    }
    Ok(())
}

/// The path of `qemu-system-x86_64`, installed first if need be (see
/// [`ensure`]).
pub fn ensure_qemu() -> Result<PathBuf> {
    ensure(QEMU_NEEDS, "QEMU")?;
    find_in_path(QEMU).with_context(|| format!("{QEMU} is not in PATH"))
}

/// Bochs and `grub-mkrescue`, installed first if need be (see [`ensure`]).
pub fn ensure_bochs() -> Result<bochs::Tools> {
    ensure(BOCHS_NEEDS, "Bochs boots")?;
    Ok(bochs::Tools {
        bochs: find_in_path(BOCHS).with_context(|| format!("{BOCHS} is not in PATH"))?,
        grub_mkrescue: find_in_path(GRUB_MKRESCUE).with_context(|| format!("{GRUB_MKRESCUE} is not in PATH"))?,
    })
}

/// The path of `name` in `PATH`, if it is there.
pub fn find_in_path(name: &str) -> Option<PathBuf> {
    let path = env::var_os("PATH")?;
    env::split_paths(&path).map(|dir| dir.join(name)).find(|p| is_executable(p))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata().is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Whether the effective user id is 0 (from `/proc/self/status`: the
/// second number of its `Uid:` line).
pub fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|status| {
        status
            .lines()
            .find_map(|l| l.strip_prefix("Uid:"))
            .and_then(|ids| ids.split_whitespace().nth(1).map(|euid| euid == "0"))
            .unwrap_or(false)
    })
}

/// Runs `apt-get ARGS` non-interactively, printing the command; whether it
/// succeeded.
fn apt_get(args: &[&str]) -> Result<bool> {
    eprintln!("xtask: running `apt-get {}`", args.join(" "));
    let status = Command::new("apt-get")
        .args(args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()
        .context("running apt-get")?;
    Ok(status.success())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_shell_in_path() {
        let sh = find_in_path("sh").expect("sh is in PATH");
        assert!(sh.ends_with("sh"));
        assert_eq!(find_in_path("surely-no-such-program-here"), None);
    }

    #[test]
    fn missing_things_name_their_packages_once() {
        let needs: &[Need] = &[
            (Thing::Program("sh"), "dash"),
            (Thing::Program("surely-no-such-program-here"), "pkg-a"),
            (Thing::File("/surely/no/such/file"), "pkg-a"),
            (Thing::File("/surely/no/such/other-file"), "pkg-b"),
        ];
        let (things, packages) = missing(needs);
        assert_eq!(
            things,
            ["surely-no-such-program-here (not in PATH)", "/surely/no/such/file", "/surely/no/such/other-file"]
        );
        assert_eq!(packages, ["pkg-a", "pkg-b"]);
        assert!(ensure(&needs[..1], "sh").is_ok());
    }
}
