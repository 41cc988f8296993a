//! A reader of `cpio` archives in the "new ASCII" (`newc`) format, the one
//! Linux reads for its initramfs (`init/initramfs.c`) and GNU
//! `cpio -o -H newc` writes.
//!
//! Each member is a 110-byte header of ASCII hex fields, the NUL-terminated
//! name, padding to a multiple of 4, the data, and padding to a multiple of
//! 4 again. The member named `TRAILER!!!` ends the archive. Hard links: GNU
//! cpio writes every name of a file with the same `ino`, the data only with
//! the last one (the others have `filesize` 0), as Linux's `init/initramfs.c`
//! (`maybe_link`) expects.
//!
//! The reader borrows the archive and never panics on hostile input: every
//! field is parsed strictly, every offset is checked, and a bad or truncated
//! member ends the iteration with an [`CpioError`].
//!
//! Why our own reader: the crates on crates.io (`cpio_reader` 0.1, `cpio`
//! 0.4) are small, unmaintained or `std`-only and would need the same
//! hostile-input tests; the format is 110 bytes of header.

use core::fmt;

/// The header's length in bytes.
pub const HEADER_LEN: usize = 110;
/// The name of the member that ends an archive.
pub const TRAILER: &[u8] = b"TRAILER!!!";
/// `newc` magic.
const MAGIC_NEWC: &[u8; 6] = b"070701";
/// `newc` with checksums (`-H crc`); the checksum is of the data's bytes.
const MAGIC_CRC: &[u8; 6] = b"070702";

/// Why an archive could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CpioError {
    /// The archive ends inside the member at this offset.
    Truncated {
        /// The member's offset.
        offset: usize,
    },
    /// No `newc` magic at this offset.
    BadMagic {
        /// The member's offset.
        offset: usize,
    },
    /// A header field at this offset is not 8 hex digits.
    BadField {
        /// The member's offset.
        offset: usize,
    },
    /// The name of the member at this offset is empty or not NUL-terminated.
    BadName {
        /// The member's offset.
        offset: usize,
    },
    /// The data of a `070702` member does not match its checksum.
    BadChecksum {
        /// The member's offset.
        offset: usize,
    },
    /// The archive ends without a `TRAILER!!!` member.
    MissingTrailer,
}

impl fmt::Display for CpioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CpioError::Truncated { offset } => write!(f, "cpio: archive truncated in the member at {offset}"),
            CpioError::BadMagic { offset } => write!(f, "cpio: no newc magic at {offset}"),
            CpioError::BadField { offset } => write!(f, "cpio: bad header field in the member at {offset}"),
            CpioError::BadName { offset } => write!(f, "cpio: bad name in the member at {offset}"),
            CpioError::BadChecksum { offset } => write!(f, "cpio: bad checksum in the member at {offset}"),
            CpioError::MissingTrailer => write!(f, "cpio: no TRAILER!!! member"),
        }
    }
}

/// One member of an archive, borrowing its name and data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry<'a> {
    /// Where its header starts in the archive.
    pub offset: usize,
    /// The inode number on the machine that wrote it (hard links share it).
    pub ino: u32,
    /// Type (`S_IF*`) and permission bits.
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Hard links the file had.
    pub nlink: u32,
    /// Modification time, seconds since the epoch.
    pub mtime: u32,
    /// The device the file was on, major number.
    pub dev_major: u32,
    /// The device the file was on, minor number.
    pub dev_minor: u32,
    /// For a device file, the device's major number.
    pub rdev_major: u32,
    /// For a device file, the device's minor number.
    pub rdev_minor: u32,
    /// The name as stored (without the NUL), e.g. `./etc/passwd` or `etc`.
    pub name: &'a [u8],
    /// The data: a regular file's bytes or a symlink's target.
    pub data: &'a [u8],
}

impl<'a> Entry<'a> {
    /// The path inside the archive without leading `./` or `/` parts; the
    /// empty string for the root (`.`).
    pub fn path(&self) -> &'a [u8] {
        let mut p = self.name;
        loop {
            if let Some(rest) = p.strip_prefix(b"./") {
                p = rest;
            } else if let Some(rest) = p.strip_prefix(b"/") {
                p = rest;
            } else if p == b"." {
                return &[];
            } else {
                return p;
            }
        }
    }
}

/// The members of an archive, in order, up to (not including) the trailer.
///
/// After an error, the iterator yields nothing more.
#[derive(Clone, Debug)]
pub struct Reader<'a> {
    archive: &'a [u8],
    pos: usize,
    done: bool,
}

impl<'a> Reader<'a> {
    /// A reader of `archive`.
    pub fn new(archive: &'a [u8]) -> Reader<'a> {
        Reader { archive, pos: 0, done: false }
    }

    /// Where the next member starts.
    pub fn position(&self) -> usize {
        self.pos
    }

    fn next_entry(&mut self) -> Result<Option<Entry<'a>>, CpioError> {
        let offset = self.pos;
        let archive = self.archive;
        if offset >= archive.len() {
            return Err(CpioError::MissingTrailer);
        }
        let header = archive.get(offset..offset + HEADER_LEN).ok_or(CpioError::Truncated { offset })?;
        let magic = &header[..6];
        let with_crc = if magic == MAGIC_NEWC {
            false
        } else if magic == MAGIC_CRC {
            true
        } else {
            return Err(CpioError::BadMagic { offset });
        };
        let mut fields = [0u32; 13];
        for (i, field) in fields.iter_mut().enumerate() {
            let start = 6 + 8 * i;
            *field = parse_hex8(&header[start..start + 8]).ok_or(CpioError::BadField { offset })?;
        }
        let [
            ino,
            mode,
            uid,
            gid,
            nlink,
            mtime,
            filesize,
            dev_major,
            dev_minor,
            rdev_major,
            rdev_minor,
            namesize,
            check,
        ] = fields;
        let name_start = offset + HEADER_LEN;
        let namesize = namesize as usize;
        if namesize == 0 {
            return Err(CpioError::BadName { offset });
        }
        let name_end = name_start.checked_add(namesize).ok_or(CpioError::Truncated { offset })?;
        let name_with_nul = archive.get(name_start..name_end).ok_or(CpioError::Truncated { offset })?;
        let (&nul, name) = name_with_nul.split_last().ok_or(CpioError::BadName { offset })?;
        if nul != 0 || name.contains(&0) {
            return Err(CpioError::BadName { offset });
        }
        let data_start = align4(name_end).ok_or(CpioError::Truncated { offset })?;
        let data_end = data_start.checked_add(filesize as usize).ok_or(CpioError::Truncated { offset })?;
        if name == TRAILER {
            // The trailer has no data; what follows it (padding to a block
            // size) is not read.
            self.pos = archive.len();
            return Ok(None);
        }
        let data = archive.get(data_start..data_end).ok_or(CpioError::Truncated { offset })?;
        if with_crc {
            let sum = data.iter().fold(0u32, |s, &b| s.wrapping_add(u32::from(b)));
            if sum != check {
                return Err(CpioError::BadChecksum { offset });
            }
        }
        // The padding after the last member's data may be missing.
        self.pos = align4(data_end).ok_or(CpioError::Truncated { offset })?.min(archive.len());
        Ok(Some(Entry {
            offset,
            ino,
            mode,
            uid,
            gid,
            nlink,
            mtime,
            dev_major,
            dev_minor,
            rdev_major,
            rdev_minor,
            name,
            data,
        }))
    }
}

impl<'a> Iterator for Reader<'a> {
    type Item = Result<Entry<'a>, CpioError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.next_entry() {
            Ok(Some(entry)) => Some(Ok(entry)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

/// Eight ASCII hex digits (either case), as cpio writes them.
fn parse_hex8(field: &[u8]) -> Option<u32> {
    let mut value = 0u32;
    for &c in field {
        let digit = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            _ => return None,
        };
        value = (value << 4) | u32::from(digit);
    }
    Some(value)
}

fn align4(n: usize) -> Option<usize> {
    n.checked_add(3).map(|n| n & !3)
}

/// Writes an archive in the `newc` format (for tests and for the xtask,
/// which packs a host folder): `members` are (name, mode, mtime, data)
/// with inode numbers given in order.
#[cfg(test)]
pub(crate) fn write_newc(members: &[(&[u8], u32, u32, &[u8])]) -> alloc::vec::Vec<u8> {
    use alloc::format;
    let mut out = alloc::vec::Vec::new();
    let put = |out: &mut alloc::vec::Vec<u8>, ino: usize, name: &[u8], mode: u32, mtime: u32, data: &[u8]| {
        let header = format!(
            "070701{ino:08x}{mode:08x}{:08x}{:08x}{:08x}{mtime:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}",
            0,
            0,
            1,
            data.len(),
            0,
            0,
            0,
            0,
            name.len() + 1,
            0
        );
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(name);
        out.push(0);
        while !out.len().is_multiple_of(4) {
            out.push(0);
        }
        out.extend_from_slice(data);
        while !out.len().is_multiple_of(4) {
            out.push(0);
        }
    };
    for (i, &(name, mode, mtime, data)) in members.iter().enumerate() {
        put(&mut out, i + 1, name, mode, mtime, data);
    }
    put(&mut out, 0, TRAILER, 0, 0, &[]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn sample() -> Vec<u8> {
        write_newc(&[
            (b".", 0o040755, 5, b""),
            (b"./etc", 0o040755, 6, b""),
            (b"./etc/hostname", 0o100644, 7, b"unikernel\n"),
            (b"./link", 0o120777, 8, b"etc/hostname"),
        ])
    }

    #[test]
    fn reads_members_and_stops_at_the_trailer() {
        let a = sample();
        let entries: Vec<_> = Reader::new(&a).collect::<Result<_, _>>().unwrap();
        assert_eq!(entries.len(), 4);
        assert_eq!(entries[0].path(), b"");
        assert_eq!(entries[2].path(), b"etc/hostname");
        assert_eq!(entries[2].data, b"unikernel\n");
        assert_eq!(entries[2].mode, 0o100644);
        assert_eq!(entries[2].mtime, 7);
        assert_eq!(entries[3].data, b"etc/hostname");
    }

    #[test]
    fn a_missing_trailer_is_an_error() {
        let a = sample();
        let trailer_at = Reader::new(&a).map(|e| e.unwrap()).last().unwrap();
        let end = align4(trailer_at.offset + HEADER_LEN + trailer_at.name.len() + 1).unwrap() + 12;
        let cut = &a[..end];
        assert_eq!(Reader::new(cut).last(), Some(Err(CpioError::MissingTrailer)));
        assert_eq!(Reader::new(&[]).next(), Some(Err(CpioError::MissingTrailer)));
    }

    #[test]
    fn every_truncation_is_an_error_and_never_a_panic() {
        let a = sample();
        for len in 0..a.len() {
            let r: Result<Vec<_>, _> = Reader::new(&a[..len]).collect();
            // The last member's padding may be cut: everything up to the
            // trailer's own header must be there.
            assert!(r.is_err() || len >= a.len() - 3, "length {len} read as whole");
        }
    }

    #[test]
    fn hex_fields_are_strict() {
        assert_eq!(parse_hex8(b"0000001f"), Some(31));
        assert_eq!(parse_hex8(b"FFFFFFFF"), Some(u32::MAX));
        assert_eq!(parse_hex8(b"0000001g"), None);
        assert_eq!(parse_hex8(b" 0000001"), None);
        let mut a = sample();
        a[6 + 8 * 11 + 3] = b'x'; // namesize of the first member
        assert_eq!(Reader::new(&a).next(), Some(Err(CpioError::BadField { offset: 0 })));
    }

    #[test]
    fn huge_sizes_do_not_overflow() {
        let mut a = sample();
        a[6 + 8 * 6..6 + 8 * 7].copy_from_slice(b"ffffffff"); // filesize
        assert!(matches!(Reader::new(&a).next(), Some(Err(CpioError::Truncated { .. }))));
        let mut a = sample();
        a[6 + 8 * 11..6 + 8 * 12].copy_from_slice(b"ffffffff"); // namesize
        assert!(matches!(Reader::new(&a).next(), Some(Err(CpioError::Truncated { .. }))));
        let mut a = sample();
        a[6 + 8 * 11..6 + 8 * 12].copy_from_slice(b"00000000");
        assert_eq!(Reader::new(&a).next(), Some(Err(CpioError::BadName { offset: 0 })));
    }

    /// A small deterministic generator (xorshift) for the mutation test.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    #[test]
    fn random_mutations_never_panic_and_stay_in_bounds() {
        let base = sample();
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for _ in 0..20_000 {
            let mut a = base.clone();
            for _ in 0..1 + rng.next() % 4 {
                let i = (rng.next() as usize) % a.len();
                a[i] = match rng.next() % 4 {
                    0 => rng.next() as u8,
                    1 => b"0123456789abcdef"[(rng.next() % 16) as usize],
                    2 => b'f',
                    _ => 0,
                };
            }
            if rng.next().is_multiple_of(8) {
                let len = (rng.next() as usize) % a.len();
                a.truncate(len);
            }
            for entry in Reader::new(&a).flatten() {
                // Slices borrow from the archive, so they are in bounds by
                // construction; the name never holds a NUL.
                assert!(!entry.name.contains(&0));
                assert!(entry.offset + HEADER_LEN <= a.len());
            }
        }
    }
}
