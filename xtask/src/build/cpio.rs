//! A writer of cpio archives in the "new ASCII" (`newc`) format, the one
//! Linux unpacks as an initramfs (`init/initramfs.c`; the format is
//! described in `Documentation/driver-api/early-userspace/buffer-format.rst`).
//!
//! Each member is a 110-byte header of `070701` and thirteen 8-digit
//! hexadecimal fields, the NUL-terminated name, padding to a multiple of 4
//! bytes, the data and padding again; the archive ends with a member named
//! `TRAILER!!!`. Every field we write is deterministic (inode numbers count
//! from 1, owner root, times as given: 0 for the bench's initramfs), so the
//! same files give the same bytes.
//!
//! Two users: the bench's Linux initramfs (one file, `/init`), and
//! `--files DIR` ([`pack_dir`]), the root file system the kernel mounts at
//! `/`, read by `libos_fs::cpio` (tested there against GNU cpio's archives).

use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use anyhow::{Context, Result, bail, ensure};

/// The magic number of a `newc` header (no checksum).
pub const MAGIC: &str = "070701";
/// The name of the member that ends an archive.
pub const TRAILER: &str = "TRAILER!!!";
/// `S_IFREG`: a regular file, in a mode.
pub const S_IFREG: u32 = 0o100_000;
/// `S_IFDIR`: a directory.
pub const S_IFDIR: u32 = 0o040_000;
/// `S_IFLNK`: a symbolic link (its data is the target).
pub const S_IFLNK: u32 = 0o120_000;

/// One member: a regular file, a directory or a symbolic link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member<'a> {
    /// The path inside the archive, without a leading `/` (`init`,
    /// `dev/console`); any bytes but NUL.
    pub name: &'a [u8],
    /// The file type and permission bits (`S_IFREG | 0o755`).
    pub mode: u32,
    /// The contents (empty for a directory; the target for a link).
    pub data: &'a [u8],
    /// The modification time (seconds since the epoch).
    pub mtime: u32,
}

impl<'a> Member<'a> {
    /// A regular file with permissions `perm`.
    pub fn file(name: &'a str, perm: u32, data: &'a [u8]) -> Member<'a> {
        Member { name: name.as_bytes(), mode: S_IFREG | (perm & 0o7777), data, mtime: 0 }
    }
}

/// The archive of `members`, in their order, with its trailer.
pub fn archive(members: &[Member<'_>]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    for (i, m) in members.iter().enumerate() {
        let shown = String::from_utf8_lossy(m.name);
        ensure!(!m.name.is_empty() && !m.name.starts_with(b"/"), "cpio member name {shown:?} must be relative");
        ensure!(!m.name.contains(&0), "cpio member name {shown:?} contains a NUL");
        ensure!(m.name != TRAILER.as_bytes(), "a cpio member may not be named {TRAILER}");
        ensure!(m.mode & 0o170_000 != S_IFDIR || m.data.is_empty(), "the directory {shown} has contents");
        let nlink = if m.mode & 0o170_000 == S_IFDIR { 2 } else { 1 };
        push_member(&mut out, i as u32 + 1, m, nlink)?;
    }
    let trailer = Member { name: TRAILER.as_bytes(), mode: 0, data: &[], mtime: 0 };
    push_member(&mut out, 0, &trailer, 1)?;
    Ok(out)
}

/// One header, name and data, each padded to 4 bytes.
fn push_member(out: &mut Vec<u8>, ino: u32, m: &Member<'_>, nlink: u32) -> Result<()> {
    let size = u32::try_from(m.data.len()).map_err(|_| {
        anyhow::anyhow!("{}: {} bytes do not fit a cpio newc member", String::from_utf8_lossy(m.name), m.data.len())
    })?;
    let namesize = m.name.len() as u32 + 1;
    // ino, mode, uid, gid, nlink, mtime, filesize, devmajor, devminor,
    // rdevmajor, rdevminor, namesize, check.
    let fields = [ino, m.mode, 0, 0, nlink, m.mtime, size, 0, 0, 0, 0, namesize, 0];
    out.extend_from_slice(MAGIC.as_bytes());
    for field in fields {
        out.extend_from_slice(format!("{field:08X}").as_bytes());
    }
    let (name, data) = (m.name, m.data);
    out.extend_from_slice(name);
    out.push(0);
    pad4(out);
    out.extend_from_slice(data);
    pad4(out);
    Ok(())
}

/// The archive of everything under `dir` (regular files, directories and
/// symbolic links, with their permission bits and modification times;
/// names relative to `dir`, parents before children, sorted). Anything
/// else (a device, a FIFO, a socket) is refused, naming it.
pub fn pack_dir(dir: &Path) -> Result<Vec<u8>> {
    struct Owned {
        name: Vec<u8>,
        mode: u32,
        data: Vec<u8>,
        mtime: u32,
    }
    fn walk(root: &Path, rel: &Path, out: &mut Vec<Owned>) -> Result<()> {
        let here = root.join(rel);
        let mut entries: Vec<_> = std::fs::read_dir(&here)
            .with_context(|| format!("reading the folder {}", here.display()))?
            .collect::<std::io::Result<_>>()
            .with_context(|| format!("reading the folder {}", here.display()))?;
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let rel = rel.join(e.file_name());
            let path = root.join(&rel);
            let meta = std::fs::symlink_metadata(&path).with_context(|| format!("reading {}", path.display()))?;
            let perm = meta.permissions().mode() & 0o7777;
            let mtime = u32::try_from(meta.mtime().max(0)).unwrap_or(u32::MAX);
            let name = rel.as_os_str().as_bytes().to_vec();
            let kind = meta.file_type();
            if kind.is_symlink() {
                let target =
                    std::fs::read_link(&path).with_context(|| format!("reading the link {}", path.display()))?;
                out.push(Owned { name, mode: S_IFLNK | 0o777, data: target.as_os_str().as_bytes().to_vec(), mtime });
            } else if kind.is_dir() {
                out.push(Owned { name, mode: S_IFDIR | perm, data: Vec::new(), mtime });
                walk(root, &rel, out)?;
            } else if kind.is_file() {
                let data = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
                out.push(Owned { name, mode: S_IFREG | perm, data, mtime });
            } else {
                bail!("{}: only regular files, folders and symbolic links go into --files", path.display());
            }
        }
        Ok(())
    }
    ensure!(dir.is_dir(), "--files {}: not a folder", dir.display());
    let mut owned = Vec::new();
    walk(dir, Path::new(""), &mut owned)?;
    let members: Vec<Member<'_>> =
        owned.iter().map(|o| Member { name: &o.name, mode: o.mode, data: &o.data, mtime: o.mtime }).collect();
    archive(&members)
}

fn pad4(out: &mut Vec<u8>) {
    while !out.len().is_multiple_of(4) {
        out.push(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader, written from the format's description, that checks what
    /// the writer promises: magic, fields, padding, trailer.
    fn read(bytes: &[u8]) -> Vec<(String, u32, u32, Vec<u8>)> {
        let mut at = 0;
        let mut members = Vec::new();
        loop {
            assert_eq!(at % 4, 0, "every header starts 4-byte aligned");
            let header = std::str::from_utf8(&bytes[at..at + 110]).unwrap();
            assert_eq!(&header[..6], MAGIC);
            let field = |i: usize| u32::from_str_radix(&header[6 + 8 * i..14 + 8 * i], 16).unwrap();
            let (mode, nlink, size, namesize) = (field(1), field(4), field(6) as usize, field(11) as usize);
            let name_at = at + 110;
            assert_eq!(bytes[name_at + namesize - 1], 0, "the name ends with a NUL");
            let name = String::from_utf8(bytes[name_at..name_at + namesize - 1].to_vec()).unwrap();
            let data_at = (name_at + namesize).next_multiple_of(4);
            assert!(bytes[name_at + namesize..data_at].iter().all(|&b| b == 0), "padding is zeroes");
            let data = bytes[data_at..data_at + size].to_vec();
            at = (data_at + size).next_multiple_of(4);
            if name == TRAILER {
                assert_eq!(at, bytes.len(), "nothing after the trailer");
                return members;
            }
            members.push((name, mode, nlink, data));
        }
    }

    #[test]
    fn one_file_byte_for_byte() {
        let bytes = archive(&[Member::file("init", 0o755, b"#!")]).unwrap();
        let fields = [
            "00000001", // ino
            "000081ED", // mode: S_IFREG | 0755
            "00000000", // uid
            "00000000", // gid
            "00000001", // nlink
            "00000000", // mtime
            "00000002", // filesize
            "00000000", // devmajor
            "00000000", // devminor
            "00000000", // rdevmajor
            "00000000", // rdevminor
            "00000005", // namesize, with the NUL
            "00000000", // check
        ];
        assert_eq!(&bytes[..110], format!("{MAGIC}{}", fields.concat()).as_bytes());
        // 110 + "init\0" = 115, padded to 116; 2 bytes of data padded to 4.
        assert_eq!(&bytes[110..116], b"init\0\0");
        assert_eq!(&bytes[116..120], b"#!\0\0");
        assert_eq!(&bytes[120..126], MAGIC.as_bytes());
        assert_eq!(bytes.len(), 120 + 110 + 11 + 3, "the trailer's name is 11 bytes with its NUL, padded to 124");
        assert_eq!(read(&bytes), [("init".to_string(), 0o100_755, 1, b"#!".to_vec())]);
    }

    #[test]
    fn members_in_order_with_padding_of_every_length() {
        let data: Vec<u8> = (0..=255).collect();
        let names = ["a", "ab", "abc", "abcd"];
        let mut members = vec![Member { name: b"dev", mode: S_IFDIR | 0o755, data: &[], mtime: 0 }];
        for (i, name) in names.iter().enumerate() {
            members.push(Member::file(name, 0o644, &data[..i + 1]));
        }
        let bytes = archive(&members).unwrap();
        let read = read(&bytes);
        assert_eq!(read[0], ("dev".to_string(), 0o040_755, 2, Vec::new()));
        for (i, name) in names.iter().enumerate() {
            assert_eq!(read[i + 1], (name.to_string(), 0o100_644, 1, data[..i + 1].to_vec()));
        }
        assert_eq!(archive(&members).unwrap(), bytes, "deterministic");
    }

    #[test]
    fn bad_names_are_refused() {
        assert!(archive(&[Member::file("/init", 0o755, b"")]).is_err());
        assert!(archive(&[Member::file("", 0o755, b"")]).is_err());
        assert!(archive(&[Member::file(TRAILER, 0o644, b"")]).is_err());
        assert!(archive(&[Member::file("a\0b", 0o644, b"")]).is_err());
        assert_eq!(read(&archive(&[]).unwrap()), []);
    }

    #[test]
    fn a_folder_packs_with_links_modes_and_nesting() {
        let dir = std::env::temp_dir().join(format!("xtask-cpio-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("etc/sub")).unwrap();
        std::fs::write(dir.join("etc/app.conf"), b"port = 80\n").unwrap();
        std::fs::set_permissions(dir.join("etc/app.conf"), std::fs::Permissions::from_mode(0o640)).unwrap();
        std::os::unix::fs::symlink("app.conf", dir.join("etc/link")).unwrap();
        let members = read(&pack_dir(&dir).unwrap());
        std::fs::remove_dir_all(&dir).unwrap();
        let names: Vec<&str> = members.iter().map(|m| m.0.as_str()).collect();
        assert_eq!(names, ["etc", "etc/app.conf", "etc/link", "etc/sub"]);
        assert_eq!(members[1].1, S_IFREG | 0o640);
        assert_eq!(members[1].3, b"port = 80\n");
        assert_eq!((members[2].1, members[2].3.as_slice()), (S_IFLNK | 0o777, &b"app.conf"[..]));
        assert_eq!(members[3].1 & 0o170_000, S_IFDIR);
        assert!(pack_dir(Path::new("/nonexistent/xtask")).is_err());
    }
}
