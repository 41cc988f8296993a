//! `/dev` with the memory devices every Linux program may open
//! (`drivers/char/mem.c`, `Documentation/admin-guide/devices.txt`):
//!
//! - `null` (1:3): reads are end of file, writes succeed and are dropped;
//! - `zero` (1:5): reads give zeros, writes are dropped;
//! - `full` (1:7): reads give zeros, writes fail with `ENOSPC`.
//!
//! Character devices with mode `crw-rw-rw-`, size 0, in a folder that
//! cannot be changed: Linux's VFS answers a file system without the
//! operation with `EACCES` for `create` and `EPERM` for `mkdir`, `symlink`,
//! `link`, `unlink`, `rmdir` and `rename` (`fs/namei.c`); attribute changes
//! get `EPERM` here too (devtmpfs would take them).

use alloc::vec::Vec;

use libos_abi::abi_types::Timespec;
use libos_abi::errno::Errno;
use libos_abi::fs_types::{DT_CHR, DT_DIR, S_IFCHR, S_IFDIR};

use crate::filesystem::{Attr, DirEntry, DirSink, FileSystem, FsStats, Ino, SetAttr};

/// `TMPFS_MAGIC` (`include/uapi/linux/magic.h`): devtmpfs is a tmpfs.
const TMPFS_MAGIC: i64 = 0x0102_1994;

const ROOT: Ino = 1;
const NULL: Ino = 2;
const ZERO: Ino = 3;
const FULL: Ino = 4;

/// The devices: name, inode, minor number (major 1, "memory devices").
const DEVICES: [(&[u8], Ino, u64); 3] = [(b"full", FULL, 7), (b"null", NULL, 3), (b"zero", ZERO, 5)];

/// Linux's `new_encode_dev` (`include/linux/kdev_t.h`) of `major:minor`.
pub const fn encode_dev(major: u64, minor: u64) -> u64 {
    (minor & 0xff) | (major << 8) | ((minor & !0xff) << 12)
}

/// The `/dev` file system.
pub struct DevFs {
    /// When it was mounted: every inode's time stamps.
    mounted: Timespec,
}

impl DevFs {
    /// `/dev`, mounted at `now`.
    pub fn new(now: Timespec) -> DevFs {
        DevFs { mounted: now }
    }
}

impl FileSystem for DevFs {
    fn root(&self) -> Ino {
        ROOT
    }

    fn lookup(&mut self, dir: Ino, name: &[u8]) -> Result<Ino, Errno> {
        match dir {
            ROOT if name == b"." || name == b".." => Ok(ROOT),
            ROOT => DEVICES.iter().find(|(n, _, _)| *n == name).map(|&(_, i, _)| i).ok_or(Errno::ENOENT),
            NULL | ZERO | FULL => Err(Errno::ENOTDIR),
            _ => Err(Errno::ENOENT),
        }
    }

    fn getattr(&mut self, ino: Ino) -> Result<Attr, Errno> {
        let (mode, nlink, rdev) = match ino {
            ROOT => (S_IFDIR | 0o755, 2, 0),
            _ => match DEVICES.iter().find(|&&(_, i, _)| i == ino) {
                Some(&(_, _, minor)) => (S_IFCHR | 0o666, 1, encode_dev(1, minor)),
                None => return Err(Errno::ENOENT),
            },
        };
        let t = self.mounted;
        Ok(Attr {
            ino,
            mode,
            nlink,
            uid: 0,
            gid: 0,
            size: 0,
            blocks: 0,
            blksize: 4096,
            rdev,
            atime: t,
            mtime: t,
            ctime: t,
        })
    }

    fn setattr(&mut self, _ino: Ino, _set: &SetAttr) -> Result<Attr, Errno> {
        Err(Errno::EPERM)
    }

    fn create(&mut self, _dir: Ino, _name: &[u8], _mode: u32, _uid: u32, _gid: u32) -> Result<Ino, Errno> {
        Err(Errno::EACCES)
    }

    fn mkdir(&mut self, _dir: Ino, _name: &[u8], _mode: u32, _uid: u32, _gid: u32) -> Result<Ino, Errno> {
        Err(Errno::EPERM)
    }

    fn symlink(&mut self, _dir: Ino, _name: &[u8], _target: &[u8], _uid: u32, _gid: u32) -> Result<Ino, Errno> {
        Err(Errno::EPERM)
    }

    fn link(&mut self, _ino: Ino, _dir: Ino, _name: &[u8]) -> Result<(), Errno> {
        Err(Errno::EPERM)
    }

    fn unlink(&mut self, _dir: Ino, _name: &[u8]) -> Result<(), Errno> {
        Err(Errno::EPERM)
    }

    fn rmdir(&mut self, _dir: Ino, _name: &[u8]) -> Result<(), Errno> {
        Err(Errno::EPERM)
    }

    fn rename(&mut self, _od: Ino, _on: &[u8], _nd: Ino, _nn: &[u8], _flags: u32) -> Result<(), Errno> {
        Err(Errno::EPERM)
    }

    fn readlink(&mut self, ino: Ino) -> Result<Vec<u8>, Errno> {
        self.getattr(ino).and(Err(Errno::EINVAL))
    }

    fn read(&mut self, ino: Ino, _offset: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        match ino {
            ROOT => Err(Errno::EISDIR),
            NULL => Ok(0),
            ZERO | FULL => {
                buf.fill(0);
                Ok(buf.len())
            }
            _ => Err(Errno::ENOENT),
        }
    }

    fn write(&mut self, ino: Ino, _offset: u64, buf: &[u8]) -> Result<usize, Errno> {
        match ino {
            ROOT => Err(Errno::EISDIR),
            NULL | ZERO => Ok(buf.len()),
            FULL => Err(Errno::ENOSPC),
            _ => Err(Errno::ENOENT),
        }
    }

    fn truncate(&mut self, ino: Ino, _size: u64) -> Result<(), Errno> {
        // Linux: O_TRUNC on a device is ignored; truncate(2) on one is
        // EINVAL (`do_sys_truncate` wants a regular file).
        self.getattr(ino).and(Err(Errno::EINVAL))
    }

    fn readdir(&mut self, dir: Ino, cursor: u64, sink: &mut DirSink<'_>) -> Result<u64, Errno> {
        if dir != ROOT {
            return Err(if self.getattr(dir).is_ok() { Errno::ENOTDIR } else { Errno::ENOENT });
        }
        let mut entries: Vec<(&[u8], Ino, u8)> = Vec::from([(&b"."[..], ROOT, DT_DIR), (&b".."[..], ROOT, DT_DIR)]);
        entries.extend(DEVICES.iter().map(|&(n, i, _)| (n, i, DT_CHR)));
        let mut at = cursor;
        for (k, &(name, ino, d_type)) in entries.iter().enumerate().skip(cursor as usize) {
            if !sink(DirEntry { ino, d_type, name, next: k as u64 + 1 }) {
                return Ok(at);
            }
            at = k as u64 + 1;
        }
        Ok(at.max(entries.len() as u64))
    }

    fn statfs(&mut self) -> Result<FsStats, Errno> {
        Ok(FsStats { magic: TMPFS_MAGIC, block_size: 4096, name_max: 255, ..Default::default() })
    }

    fn sync(&mut self) -> Result<(), Errno> {
        Ok(())
    }

    fn pin(&mut self, ino: Ino) -> Result<(), Errno> {
        self.getattr(ino).map(|_| ())
    }

    fn unpin(&mut self, _ino: Ino) -> Result<(), Errno> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filesystem::FileType;

    fn fs() -> DevFs {
        DevFs::new(Timespec { tv_sec: 5, tv_nsec: 0 })
    }

    #[test]
    fn the_devices_are_character_devices_with_linux_numbers() {
        let mut d = fs();
        for (name, minor) in [(&b"null"[..], 3), (b"zero", 5), (b"full", 7)] {
            let ino = d.lookup(ROOT, name).unwrap();
            let a = d.getattr(ino).unwrap();
            assert_eq!(a.mode, S_IFCHR | 0o666);
            assert_eq!(a.file_type(), FileType::Other);
            assert_eq!(a.rdev, (1 << 8) | minor);
            assert_eq!(d.lookup(ino, b"x"), Err(Errno::ENOTDIR));
        }
        assert_eq!(encode_dev(1, 3), 0x103);
        assert_eq!(encode_dev(259, 0x1234), 0x121_0334);
        assert_eq!(d.lookup(ROOT, b"random"), Err(Errno::ENOENT));
        assert_eq!(d.getattr(ROOT).unwrap().mode, S_IFDIR | 0o755);
    }

    #[test]
    fn null_zero_and_full_read_and_write_as_linux() {
        let mut d = fs();
        let mut buf = [7u8; 8];
        assert_eq!(d.read(NULL, 0, &mut buf), Ok(0));
        assert_eq!(buf, [7; 8]);
        assert_eq!(d.write(NULL, 100, b"dropped"), Ok(7));
        assert_eq!(d.read(ZERO, 9, &mut buf), Ok(8));
        assert_eq!(buf, [0; 8]);
        assert_eq!(d.write(ZERO, 0, b"abc"), Ok(3));
        buf.fill(1);
        assert_eq!(d.read(FULL, 0, &mut buf), Ok(8));
        assert_eq!(buf, [0; 8]);
        assert_eq!(d.write(FULL, 0, b"abc"), Err(Errno::ENOSPC));
        assert_eq!(d.read(ROOT, 0, &mut buf), Err(Errno::EISDIR));
        assert_eq!(d.truncate(NULL, 0), Err(Errno::EINVAL));
    }

    #[test]
    fn the_folder_lists_its_devices_and_cannot_change() {
        let mut d = fs();
        let mut seen = Vec::new();
        let end = d
            .readdir(ROOT, 0, &mut |e| {
                seen.push((e.name.to_vec(), e.d_type));
                true
            })
            .unwrap();
        assert_eq!(end, 5);
        let names: Vec<&[u8]> = seen.iter().map(|(n, _)| n.as_slice()).collect();
        assert_eq!(names, [&b"."[..], b"..", b"full", b"null", b"zero"]);
        assert!(seen[2..].iter().all(|&(_, t)| t == DT_CHR));
        assert_eq!(d.create(ROOT, b"f", 0o644, 0, 0), Err(Errno::EACCES));
        assert_eq!(d.mkdir(ROOT, b"d", 0o755, 0, 0), Err(Errno::EPERM));
        assert_eq!(d.unlink(ROOT, b"null"), Err(Errno::EPERM));
        assert_eq!(d.rename(ROOT, b"null", ROOT, b"nul", 0), Err(Errno::EPERM));
        assert_eq!(d.readdir(NULL, 0, &mut |_| true), Err(Errno::ENOTDIR));
    }
}
