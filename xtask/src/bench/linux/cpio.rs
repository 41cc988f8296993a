//! A writer of cpio archives in the "new ASCII" (`newc`) format, the one
//! Linux unpacks as an initramfs (`init/initramfs.c`; the format is
//! described in `Documentation/driver-api/early-userspace/buffer-format.rst`).
//!
//! Each member is a 110-byte header of `070701` and thirteen 8-digit
//! hexadecimal fields, the NUL-terminated name, padding to a multiple of 4
//! bytes, the data and padding again; the archive ends with a member named
//! `TRAILER!!!`. Every field we write is deterministic (inode numbers count
//! from 1, times are 0, owner root), so the same files give the same bytes.

use anyhow::{Result, ensure};

/// The magic number of a `newc` header (no checksum).
pub const MAGIC: &str = "070701";
/// The name of the member that ends an archive.
pub const TRAILER: &str = "TRAILER!!!";
/// `S_IFREG`: a regular file, in a mode.
pub const S_IFREG: u32 = 0o100_000;
/// `S_IFDIR`: a directory.
pub const S_IFDIR: u32 = 0o040_000;

/// One member: a regular file or a directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member<'a> {
    /// The path inside the archive, without a leading `/` (`init`,
    /// `dev/console`).
    pub name: &'a str,
    /// The file type and permission bits (`S_IFREG | 0o755`).
    pub mode: u32,
    /// The contents (empty for a directory).
    pub data: &'a [u8],
}

impl<'a> Member<'a> {
    /// A regular file with permissions `perm`.
    pub fn file(name: &'a str, perm: u32, data: &'a [u8]) -> Member<'a> {
        Member { name, mode: S_IFREG | (perm & 0o7777), data }
    }
}

/// The archive of `members`, in their order, with its trailer.
pub fn archive(members: &[Member<'_>]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    for (i, m) in members.iter().enumerate() {
        ensure!(!m.name.is_empty() && !m.name.starts_with('/'), "cpio member name {:?} must be relative", m.name);
        ensure!(!m.name.contains('\0'), "cpio member name {:?} contains a NUL", m.name);
        ensure!(m.name != TRAILER, "a cpio member may not be named {TRAILER}");
        ensure!(m.mode & S_IFDIR == 0 || m.data.is_empty(), "the directory {} has contents", m.name);
        let nlink = if m.mode & 0o170_000 == S_IFDIR { 2 } else { 1 };
        push_member(&mut out, i as u32 + 1, m.mode, nlink, m.name, m.data)?;
    }
    push_member(&mut out, 0, 0, 1, TRAILER, &[])?;
    Ok(out)
}

/// One header, name and data, each padded to 4 bytes.
fn push_member(out: &mut Vec<u8>, ino: u32, mode: u32, nlink: u32, name: &str, data: &[u8]) -> Result<()> {
    let size = u32::try_from(data.len())
        .map_err(|_| anyhow::anyhow!("{name}: {} bytes do not fit a cpio newc member", data.len()))?;
    let namesize = name.len() as u32 + 1;
    // ino, mode, uid, gid, nlink, mtime, filesize, devmajor, devminor,
    // rdevmajor, rdevminor, namesize, check.
    let fields = [ino, mode, 0, 0, nlink, 0, size, 0, 0, 0, 0, namesize, 0];
    out.extend_from_slice(MAGIC.as_bytes());
    for field in fields {
        out.extend_from_slice(format!("{field:08X}").as_bytes());
    }
    out.extend_from_slice(name.as_bytes());
    out.push(0);
    pad4(out);
    out.extend_from_slice(data);
    pad4(out);
    Ok(())
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
        let mut members = vec![Member { name: "dev", mode: S_IFDIR | 0o755, data: &[] }];
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
}
