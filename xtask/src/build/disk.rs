//! `--disk FILE[,size=SIZE]`: a raw disk image with an ext2 file system,
//! attached as a virtio-blk disk; the kernel mounts it at `fs.disk=PATH`.
//! A missing FILE is created at SIZE (default [`DEFAULT_DISK_SIZE`],
//! sparse) and formatted with the host's `mkfs.ext2` (e2fsprogs), so Linux
//! mounts it too (`sudo mount -o loop FILE /mnt`, or `debugfs FILE`). An
//! existing FILE is used as it is.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail, ensure};

use crate::install::{self, Thing};

/// The size of a new disk without `size=`.
pub const DEFAULT_DISK_SIZE: u64 = 64 << 20;

/// A parsed `--disk` value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiskSpec {
    /// The image file.
    pub path: PathBuf,
    /// The size to create it at, if given.
    pub size: Option<u64>,
}

/// Parses `FILE[,size=SIZE]` (SIZE in bytes or with K, M, G).
pub fn parse(spec: &str) -> Result<DiskSpec, String> {
    let (file, rest) = match spec.split_once(',') {
        Some((f, r)) => (f, Some(r)),
        None => (spec, None),
    };
    if file.is_empty() {
        return Err("expected FILE[,size=SIZE]".to_string());
    }
    let size = match rest {
        None => None,
        Some(r) => {
            let value =
                r.strip_prefix("size=").ok_or_else(|| format!("unknown disk option {r:?} (expected size=SIZE)"))?;
            Some(parse_size(value).ok_or_else(|| format!("{value:?} is not a size (e.g. 64M, 1G)"))?)
        }
    };
    Ok(DiskSpec { path: PathBuf::from(file), size })
}

/// `123`, `64K`, `64M`, `1G` (binary units).
pub fn parse_size(text: &str) -> Option<u64> {
    let (digits, shift) = match text.char_indices().last()? {
        (i, 'K' | 'k') => (&text[..i], 10),
        (i, 'M' | 'm') => (&text[..i], 20),
        (i, 'G' | 'g') => (&text[..i], 30),
        _ => (text, 0),
    };
    digits.parse::<u64>().ok()?.checked_mul(1 << shift)
}

/// What formatting needs.
const MKFS_NEEDS: &[install::Need] = &[(Thing::Program("mkfs.ext2"), "e2fsprogs")];

/// Creates and formats the image if it does not exist.
pub fn prepare(spec: &DiskSpec) -> Result<()> {
    if spec.path.exists() {
        ensure!(spec.path.is_file(), "--disk {}: not a file", spec.path.display());
        if let Some(size) = spec.size {
            let have = std::fs::metadata(&spec.path)?.len();
            if have != size {
                eprintln!(
                    "xtask: note: --disk {} exists ({have} bytes); size={size} applies only to a new disk",
                    spec.path.display()
                );
            }
        }
        return Ok(());
    }
    let size = spec.size.unwrap_or(DEFAULT_DISK_SIZE);
    ensure!(size >= 1 << 20, "--disk: a disk needs at least 1 MiB");
    format_new(&spec.path, size)
}

/// Makes a sparse image of `size` bytes at `path` and runs `mkfs.ext2` on it.
pub fn format_new(path: &Path, size: u64) -> Result<()> {
    install::ensure(MKFS_NEEDS, "formatting --disk")?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let file = std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    file.set_len(size).with_context(|| format!("sizing {}", path.display()))?;
    drop(file);
    let out = Command::new("mkfs.ext2")
        .args(["-q", "-F", "-b", "4096", "-L", "libos"])
        .arg(path)
        .output()
        .context("running mkfs.ext2")?;
    if !out.status.success() {
        let _ = std::fs::remove_file(path);
        bail!("mkfs.ext2 {} failed: {}", path.display(), String::from_utf8_lossy(&out.stderr).trim());
    }
    eprintln!("xtask: created {} ({} MiB, ext2)", path.display(), size >> 20);
    Ok(())
}

/// QEMU's arguments that attach `path` as a virtio-blk disk.
pub fn qemu_args(path: &Path) -> Vec<String> {
    // QEMU's option syntax escapes a comma by doubling it.
    let file = path.to_string_lossy().replace(',', ",,");
    vec![
        "-drive".to_string(),
        format!("file={file},if=none,id=disk0,format=raw"),
        "-device".to_string(),
        "virtio-blk-pci,drive=disk0".to_string(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs() {
        assert_eq!(parse("d.img").unwrap(), DiskSpec { path: "d.img".into(), size: None });
        assert_eq!(parse("d.img,size=16M").unwrap().size, Some(16 << 20));
        assert_eq!(parse("a,,b.img").unwrap_err(), "unknown disk option \",b.img\" (expected size=SIZE)");
        assert!(parse("d.img,size=lots").is_err());
        assert!(parse(",size=1M").is_err());
        assert_eq!(parse_size("1G"), Some(1 << 30));
        assert_eq!(parse_size("4096"), Some(4096));
    }

    #[test]
    fn qemu_arguments_escape_commas() {
        assert_eq!(qemu_args(Path::new("a,b.img"))[1], "file=a,,b.img,if=none,id=disk0,format=raw");
    }
}
