//! `/proc`, as much of Linux's as programs commonly read, read-only:
//!
//! - `/proc/self`: a symbolic link to `<pid>` (the calling app's), as
//!   Linux's (`fs/proc/self.c`);
//! - `/proc/<pid>/exe`: a symbolic link to the program's path: `/<app
//!   name>` for the boot image's (its ELF comes from the boot image, not from
//!   a file system, so the target need not exist: `readlink` is what Rust's
//!   `std::env::current_exe` uses; `execve` of `/proc/self/exe` runs it
//!   again), else the path `execve` was given;
//! - `/proc/<pid>/maps`, `/proc/<pid>/status`, `/proc/cpuinfo`,
//!   `/proc/meminfo`: generated at each read ([`text`]).
//!
//! Only the calling app's pid exists under `/proc` (one app runs at a
//! time). The mount is read-only: writes and creations give `EROFS` (Linux
//! has `/proc` writable and refuses per file: `EACCES` or `EIO`).

pub mod text;

use alloc::format;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicUsize, Ordering};

use libos_abi::abi_types::Timespec;
use libos_abi::errno::Errno;
use libos_abi::fs_types::{DT_DIR, DT_LNK, DT_REG, S_IFDIR, S_IFLNK, S_IFREG};
use libos_fs::filesystem::{Attr, DirEntry, DirSink, FileSystem, FsStats, Ino, SetAttr};
use libos_fs::mount::MountId;

use crate::process::{self, Process};

/// `PROC_SUPER_MAGIC` (`include/uapi/linux/magic.h`).
const PROC_SUPER_MAGIC: i64 = 0x9fa0;

const ROOT: Ino = 1;
const SELF: Ino = 2;
const CPUINFO: Ino = 3;
const MEMINFO: Ino = 4;
const PID_DIR: Ino = 5;
const EXE: Ino = 6;
const MAPS: Ino = 7;
const STATUS: Ino = 8;

/// The entries of `/proc` after `.` and `..` (the pid directory is added
/// with the caller's pid), and of `/proc/<pid>`.
const ROOT_FILES: [(&[u8], Ino); 3] = [(b"cpuinfo", CPUINFO), (b"meminfo", MEMINFO), (b"self", SELF)];
const PID_FILES: [(&[u8], Ino); 3] = [(b"exe", EXE), (b"maps", MAPS), (b"status", STATUS)];

/// Where `/proc` is in the mount table (`usize::MAX` before it is).
static PROC_MOUNT: AtomicUsize = AtomicUsize::new(usize::MAX);

/// Records the mount `/proc` got.
pub fn set_mount(id: MountId) {
    PROC_MOUNT.store(id, Ordering::Relaxed);
}

/// Whether mount `id` is `/proc` (its files cannot be mapped: `ENODEV`).
pub fn is_proc(id: MountId) -> bool {
    PROC_MOUNT.load(Ordering::Relaxed) == id
}

/// The `/proc` file system.
pub struct ProcFs {
    /// When it was mounted: every inode's time stamps.
    mounted: Timespec,
}

impl ProcFs {
    /// `/proc`, mounted at `now`.
    pub fn new(now: Timespec) -> ProcFs {
        ProcFs { mounted: now }
    }
}

/// The calling app: `ENOENT` for its files when there is none (a kernel
/// task).
fn caller() -> Result<Arc<Process>, Errno> {
    process::current().ok_or(Errno::ENOENT)
}

/// The decimal text of the caller's pid.
fn pid_name() -> Result<Vec<u8>, Errno> {
    Ok(format!("{}", caller()?.pid).into_bytes())
}

/// The contents of file `ino`.
fn contents(ino: Ino) -> Result<Vec<u8>, Errno> {
    match ino {
        CPUINFO => Ok(text::cpuinfo()),
        MEMINFO => Ok(text::meminfo()),
        MAPS => Ok(text::maps(&*caller()?)),
        STATUS => Ok(text::status(&*caller()?)),
        _ => Err(Errno::EINVAL),
    }
}

impl FileSystem for ProcFs {
    fn root(&self) -> Ino {
        ROOT
    }

    fn lookup(&mut self, dir: Ino, name: &[u8]) -> Result<Ino, Errno> {
        match dir {
            ROOT if name == b"." || name == b".." => Ok(ROOT),
            ROOT if name == pid_name()?.as_slice() => Ok(PID_DIR),
            ROOT => ROOT_FILES.iter().find(|(n, _)| *n == name).map(|&(_, i)| i).ok_or(Errno::ENOENT),
            PID_DIR if name == b"." => Ok(PID_DIR),
            PID_DIR if name == b".." => Ok(ROOT),
            PID_DIR => PID_FILES.iter().find(|(n, _)| *n == name).map(|&(_, i)| i).ok_or(Errno::ENOENT),
            SELF | CPUINFO | MEMINFO | EXE | MAPS | STATUS => Err(Errno::ENOTDIR),
            _ => Err(Errno::ENOENT),
        }
    }

    fn getattr(&mut self, ino: Ino) -> Result<Attr, Errno> {
        // Linux shows 0 as the size of its generated files.
        let (mode, nlink, size) = match ino {
            ROOT | PID_DIR => (S_IFDIR | 0o555, 2, 0),
            SELF => (S_IFLNK | 0o777, 1, pid_name()?.len() as u64),
            EXE => (S_IFLNK | 0o777, 1, 0),
            CPUINFO | MEMINFO | MAPS | STATUS => (S_IFREG | 0o444, 1, 0),
            _ => return Err(Errno::ENOENT),
        };
        let t = self.mounted;
        Ok(Attr {
            ino,
            mode,
            nlink,
            uid: 0,
            gid: 0,
            size,
            blocks: 0,
            blksize: 1024,
            rdev: 0,
            atime: t,
            mtime: t,
            ctime: t,
        })
    }

    fn setattr(&mut self, _ino: Ino, _set: &SetAttr) -> Result<Attr, Errno> {
        Err(Errno::EROFS)
    }

    fn create(&mut self, _dir: Ino, _name: &[u8], _mode: u32, _uid: u32, _gid: u32) -> Result<Ino, Errno> {
        Err(Errno::EROFS)
    }

    fn mkdir(&mut self, _dir: Ino, _name: &[u8], _mode: u32, _uid: u32, _gid: u32) -> Result<Ino, Errno> {
        Err(Errno::EROFS)
    }

    fn symlink(&mut self, _dir: Ino, _name: &[u8], _target: &[u8], _uid: u32, _gid: u32) -> Result<Ino, Errno> {
        Err(Errno::EROFS)
    }

    fn link(&mut self, _ino: Ino, _dir: Ino, _name: &[u8]) -> Result<(), Errno> {
        Err(Errno::EROFS)
    }

    fn unlink(&mut self, _dir: Ino, _name: &[u8]) -> Result<(), Errno> {
        Err(Errno::EROFS)
    }

    fn rmdir(&mut self, _dir: Ino, _name: &[u8]) -> Result<(), Errno> {
        Err(Errno::EROFS)
    }

    fn rename(&mut self, _od: Ino, _on: &[u8], _nd: Ino, _nn: &[u8], _flags: u32) -> Result<(), Errno> {
        Err(Errno::EROFS)
    }

    fn readlink(&mut self, ino: Ino) -> Result<Vec<u8>, Errno> {
        match ino {
            SELF => pid_name(),
            EXE => Ok(caller()?.program().path.clone().into_bytes()),
            ROOT..=STATUS => Err(Errno::EINVAL),
            _ => Err(Errno::ENOENT),
        }
    }

    fn read(&mut self, ino: Ino, offset: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        if matches!(ino, ROOT | PID_DIR) {
            return Err(Errno::EISDIR);
        }
        let text = contents(ino)?;
        let from = usize::try_from(offset).unwrap_or(usize::MAX).min(text.len());
        let n = buf.len().min(text.len() - from);
        buf[..n].copy_from_slice(&text[from..from + n]);
        Ok(n)
    }

    fn write(&mut self, _ino: Ino, _offset: u64, _buf: &[u8]) -> Result<usize, Errno> {
        Err(Errno::EROFS)
    }

    fn truncate(&mut self, _ino: Ino, _size: u64) -> Result<(), Errno> {
        Err(Errno::EROFS)
    }

    fn readdir(&mut self, dir: Ino, cursor: u64, sink: &mut DirSink<'_>) -> Result<u64, Errno> {
        let pid = pid_name()?;
        let mut entries: Vec<(&[u8], Ino, u8)> = Vec::new();
        match dir {
            ROOT => {
                entries.extend([(&b"."[..], ROOT, DT_DIR), (&b".."[..], ROOT, DT_DIR)]);
                entries.extend(ROOT_FILES.iter().map(|&(n, i)| (n, i, if i == SELF { DT_LNK } else { DT_REG })));
                entries.push((pid.as_slice(), PID_DIR, DT_DIR));
            }
            PID_DIR => {
                entries.extend([(&b"."[..], PID_DIR, DT_DIR), (&b".."[..], ROOT, DT_DIR)]);
                entries.extend(PID_FILES.iter().map(|&(n, i)| (n, i, if i == EXE { DT_LNK } else { DT_REG })));
            }
            _ => return Err(Errno::ENOTDIR),
        }
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
        Ok(FsStats { magic: PROC_SUPER_MAGIC, block_size: 4096, name_max: 255, ..Default::default() })
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
