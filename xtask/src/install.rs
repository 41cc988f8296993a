//! Finding the emulators and the tools around them, and installing them
//! (Debian packages, with apt-get) when they are missing and we may.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::build::toolchain::Toolchain;
use crate::emulator::bochs::{self, BOCHS, GRUB_MKRESCUE};
use crate::emulator::qemu::QEMU;

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

/// What the host tests run: the file system tests check our cpio reader
/// against GNU `cpio` and our ext2 against `mkfs.ext2`, `e2fsck` and
/// `debugfs` (`libos/fs/tests`).
pub const HOST_TEST_NEEDS: &[Need] = &[
    (Thing::Program("cpio"), "cpio"),
    (Thing::Program("mkfs.ext2"), "e2fsprogs"),
    (Thing::Program("e2fsck"), "e2fsprogs"),
    (Thing::Program("debugfs"), "e2fsprogs"),
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

/// Makes sure `toolchain` has the standard library of each of `targets`
/// (`rustc --print target-libdir --target T` holds a `libcore-*.rlib`).
/// rustup does not add a pinned toolchain's missing targets when the
/// toolchain itself is already installed, so a machine that had Rust 1.95
/// without them fails with "can't find crate for `core`". A missing target
/// is added with `rustup target add` (the command is printed first);
/// without rustup, the error names the command to run. A pinned toolchain
/// that is missing is installed first. `root` is the directory rustc and
/// rustup run in (the framework's, whose `rust-toolchain.toml` applies).
/// Asked once per toolchain, target and process.
pub fn ensure_rust_targets(toolchain: &Toolchain, root: &Path, targets: &[&str]) -> Result<()> {
    static CHECKED: std::sync::Mutex<Vec<(Toolchain, String)>> = std::sync::Mutex::new(Vec::new());
    let mut checked = CHECKED.lock().unwrap_or_else(|e| e.into_inner());
    let missing: Vec<&str> =
        targets.iter().copied().filter(|t| !checked.iter().any(|(c, ct)| c == toolchain && ct == t)).collect();
    if missing.is_empty() {
        return Ok(());
    }
    toolchain.ensure_installed()?;
    let missing: Vec<&str> = missing.into_iter().filter(|t| !target_installed(toolchain, root, t)).collect();
    if !missing.is_empty() {
        let (words, mut cmd) = toolchain.rustup_target_add(&missing);
        let list = missing.join(" ");
        if find_in_path("rustup").is_none() {
            bail!(
                "the Rust standard library for {list} is not installed, and there is no rustup to \
                 add it. Install the target(s) for this toolchain, with rustup:\n    {words}"
            );
        }
        eprintln!("xtask: the toolchain lacks the standard library for {list}; running `{words}`");
        let status = cmd.current_dir(root).status().context("running rustup")?;
        anyhow::ensure!(status.success(), "`{words}` failed (see its output above)");
        if let Some(still) = missing.iter().find(|t| !target_installed(toolchain, root, t)) {
            bail!(
                "`{words}` succeeded but rustc still has no standard library for {still}; \
                 try `rustup toolchain install` in {}",
                root.display()
            );
        }
    }
    checked.extend(targets.iter().map(|t| (toolchain.clone(), t.to_string())));
    Ok(())
}

/// Whether the rustc of `toolchain` (run in `root`) has `target`'s `core`.
fn target_installed(toolchain: &Toolchain, root: &Path, target: &str) -> bool {
    let Ok(out) = toolchain.rustc().current_dir(root).args(["--print", "target-libdir", "--target", target]).output()
    else {
        return false;
    };
    if !out.status.success() {
        return false;
    }
    let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries.flatten().any(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.starts_with("libcore-") && name.ends_with(".rlib")
        })
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

    #[test]
    fn the_host_target_has_its_standard_library() {
        let root = crate::build::workspace_root();
        assert!(target_installed(&Toolchain::Invoking, &root, "x86_64-unknown-linux-gnu"));
        assert!(!target_installed(&Toolchain::Invoking, &root, "surely-no-such-target"));
    }
}
