//! Finding QEMU, and installing it when it is missing and we may.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::qemu::QEMU;

/// The Debian package that provides `qemu-system-x86_64`.
pub const QEMU_PACKAGE: &str = "qemu-system-x86";

/// The path of `name` in `PATH`, if it is there.
pub fn find_in_path(name: &str) -> Option<PathBuf> {
    let path = env::var_os("PATH")?;
    env::split_paths(&path).map(|dir| dir.join(name)).find(|p| is_executable(p))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata().is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The path of `qemu-system-x86_64`. When it is missing: as root, installs
/// it with apt-get (running `apt-get update` and trying again once if the
/// first install fails); otherwise fails with the command to run.
pub fn ensure_qemu() -> Result<PathBuf> {
    if let Some(path) = find_in_path(QEMU) {
        return Ok(path);
    }
    if !running_as_root() {
        bail!(
            "{QEMU} is not installed (not found in PATH). Install it with:\n    \
             sudo apt-get install -y {QEMU_PACKAGE}"
        );
    }
    eprintln!("xtask: {QEMU} not found in PATH; installing the Debian package {QEMU_PACKAGE}");
    if !apt_get(&["install", "-y", QEMU_PACKAGE])? {
        eprintln!("xtask: apt-get install failed; updating the package lists and trying again");
        if !apt_get(&["update"])? {
            bail!("`apt-get update` failed; cannot install {QEMU_PACKAGE}");
        }
        if !apt_get(&["install", "-y", QEMU_PACKAGE])? {
            bail!("`apt-get install -y {QEMU_PACKAGE}` failed (see its output above)");
        }
    }
    find_in_path(QEMU).with_context(|| format!("{QEMU} is still not in PATH after installing {QEMU_PACKAGE}"))
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
}
