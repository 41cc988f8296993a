//! The interface every file system implements, and the values it exchanges.
//!
//! A file system names its files by inode number ([`Ino`]) and answers
//! Linux's errors ([`Errno`]). It is driven through `&mut self`: the kernel
//! puts each mounted file system behind one lock (a coarse per-mount lock).
//! For a disk-backed one that lock must be a sleeping lock, since its calls
//! wait for block I/O; and data moves through kernel buffers (`&[u8]`,
//! `&mut [u8]`) so the lock is never held across a copy from or to user
//! memory, which may fault.
//!
//! Name handling (`.`/`..`, symbolic links, mount points, `NAME_MAX`) lives
//! in [`crate::path`]; a file system's `lookup` sees one component at a time
//! and also answers `..`.

use alloc::boxed::Box;
use alloc::vec::Vec;

use libos_abi::abi_types::Timespec;
use libos_abi::errno::Errno;
use libos_abi::fs_types::{self, S_IFDIR, S_IFLNK, S_IFMT, S_IFREG};

/// An inode number, unique within one file system.
pub type Ino = u64;

/// A file's type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FileType {
    /// A regular file.
    Regular,
    /// A directory.
    Directory,
    /// A symbolic link.
    Symlink,
    /// Anything else (device, FIFO, socket): stored, not served.
    Other,
}

impl FileType {
    /// The type of an `st_mode`.
    pub const fn from_mode(mode: u32) -> FileType {
        match mode & S_IFMT {
            S_IFREG => FileType::Regular,
            S_IFDIR => FileType::Directory,
            S_IFLNK => FileType::Symlink,
            _ => FileType::Other,
        }
    }
}

/// What `getattr` answers: everything `struct stat` and `struct statx` hold
/// except the device, which the mount supplies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Attr {
    /// The inode number.
    pub ino: Ino,
    /// Type (`S_IF*`) and permission bits.
    pub mode: u32,
    /// Hard links.
    pub nlink: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Size in bytes (a symlink: its target's length).
    pub size: u64,
    /// 512-byte units of storage the file holds.
    pub blocks: u64,
    /// The preferred I/O size.
    pub blksize: u32,
    /// For a device file, the device (`makedev` encoding); else 0.
    pub rdev: u64,
    /// Last access.
    pub atime: Timespec,
    /// Last modification of the contents.
    pub mtime: Timespec,
    /// Last change of the contents or the attributes.
    pub ctime: Timespec,
}

impl Attr {
    /// Its type.
    pub const fn file_type(&self) -> FileType {
        FileType::from_mode(self.mode)
    }

    /// `struct stat` for it, on device `dev`.
    pub fn to_stat(&self, dev: u64) -> fs_types::Stat {
        fs_types::Stat {
            st_dev: dev,
            st_ino: self.ino,
            st_nlink: u64::from(self.nlink),
            st_mode: self.mode,
            st_uid: self.uid,
            st_gid: self.gid,
            st_rdev: self.rdev,
            st_size: self.size as i64,
            st_blksize: i64::from(self.blksize),
            st_blocks: self.blocks as i64,
            st_atime: self.atime.tv_sec,
            st_atime_nsec: self.atime.tv_nsec,
            st_mtime: self.mtime.tv_sec,
            st_mtime_nsec: self.mtime.tv_nsec,
            st_ctime: self.ctime.tv_sec,
            st_ctime_nsec: self.ctime.tv_nsec,
            ..Default::default()
        }
    }
}

/// A time stamp to set (`utimensat`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetTime {
    /// The file system's clock's now (`UTIME_NOW`).
    Now,
    /// This time.
    At(Timespec),
}

/// What `setattr` changes (`chmod`, `chown`, `utimensat`); `None` leaves a
/// field alone. The size changes through [`FileSystem::truncate`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SetAttr {
    /// New permission bits (`S_IALLUGO`; the type bits are ignored).
    pub mode: Option<u32>,
    /// New owner.
    pub uid: Option<u32>,
    /// New group.
    pub gid: Option<u32>,
    /// New access time.
    pub atime: Option<SetTime>,
    /// New modification time.
    pub mtime: Option<SetTime>,
}

/// One directory entry, as `readdir` hands it to its sink.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DirEntry<'a> {
    /// The inode number.
    pub ino: Ino,
    /// The type (`DT_*`).
    pub d_type: u8,
    /// The name.
    pub name: &'a [u8],
    /// The cursor that resumes after this entry (`d_off`).
    pub next: u64,
}

/// What `statfs` answers (the mount adds its flags and device).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FsStats {
    /// `f_type`: the file system's magic number.
    pub magic: i64,
    /// The block size.
    pub block_size: u32,
    /// Blocks in all.
    pub blocks: u64,
    /// Free blocks.
    pub blocks_free: u64,
    /// Free blocks an unprivileged user may use.
    pub blocks_avail: u64,
    /// Inodes in all (0 when unlimited).
    pub files: u64,
    /// Free inodes.
    pub files_free: u64,
    /// The longest name.
    pub name_max: u32,
}

/// The clock that stamps times (the kernel's wall clock; a fixed or
/// stepping clock in tests).
pub trait Clock: Send + Sync {
    /// Now, as `CLOCK_REALTIME`.
    fn now(&self) -> Timespec;
}

/// Whether `readdir` should go on after an entry: the sink returns `false`
/// when it had no room for the entry (which is then handed out again at the
/// next call from the same cursor).
pub type DirSink<'s> = dyn FnMut(DirEntry<'_>) -> bool + 's;

/// A file system: the operations Linux's file calls need, over inode
/// numbers, answering Linux's error numbers.
///
/// Conventions, as Linux's VFS has them (`fs/namei.c`, `fs/open.c`):
/// - `dir` arguments must be directories (else `ENOTDIR`); names are single
///   components, never empty, `.` or `..` (except for `lookup`, which
///   answers `..` and `.`), at most [`FileSystem::name_max`] bytes.
/// - Creating an existing name gives `EEXIST`; a missing name `ENOENT`.
/// - Permission checks and the read-only flag are the caller's (the mount's),
///   not the file system's; a file system that cannot write at all answers
///   `EROFS`.
/// - An inode whose last link goes stays alive while it is [`pinned`]
///   (an open file), and its space is freed at the last [`unpin`].
///
/// [`pinned`]: FileSystem::pin
/// [`unpin`]: FileSystem::unpin
pub trait FileSystem: Send {
    /// The root directory's inode number.
    fn root(&self) -> Ino;

    /// The longest name this file system stores (255 for ours).
    fn name_max(&self) -> usize {
        fs_types::NAME_MAX
    }

    /// The inode `name` names in directory `dir` (`.` and `..` included;
    /// `..` of the root is the root).
    fn lookup(&mut self, dir: Ino, name: &[u8]) -> Result<Ino, Errno>;

    /// The attributes of `ino`.
    fn getattr(&mut self, ino: Ino) -> Result<Attr, Errno>;

    /// Changes attributes of `ino` (ctime becomes now); returns the new ones.
    fn setattr(&mut self, ino: Ino, set: &SetAttr) -> Result<Attr, Errno>;

    /// Makes a regular file `name` in `dir` with permission bits `mode`
    /// (the caller applied the umask), owned by `uid`/`gid`.
    fn create(&mut self, dir: Ino, name: &[u8], mode: u32, uid: u32, gid: u32) -> Result<Ino, Errno>;

    /// Makes a directory.
    fn mkdir(&mut self, dir: Ino, name: &[u8], mode: u32, uid: u32, gid: u32) -> Result<Ino, Errno>;

    /// Makes a symbolic link to `target` (not empty, shorter than `PATH_MAX`).
    fn symlink(&mut self, dir: Ino, name: &[u8], target: &[u8], uid: u32, gid: u32) -> Result<Ino, Errno>;

    /// Adds the name `name` in `dir` for the existing non-directory `ino`
    /// (`EPERM` for a directory, `EMLINK` past the link limit).
    fn link(&mut self, ino: Ino, dir: Ino, name: &[u8]) -> Result<(), Errno>;

    /// Removes the non-directory `name` from `dir` (`EISDIR` for a
    /// directory).
    fn unlink(&mut self, dir: Ino, name: &[u8]) -> Result<(), Errno>;

    /// Removes the empty directory `name` from `dir` (`ENOTDIR` for a
    /// non-directory, `ENOTEMPTY` when it has entries).
    fn rmdir(&mut self, dir: Ino, name: &[u8]) -> Result<(), Errno>;

    /// Renames, with `renameat2`'s flags (`RENAME_NOREPLACE`,
    /// `RENAME_EXCHANGE`; others `EINVAL`), with Linux's rules: a directory
    /// replaces only an empty directory (`ENOTEMPTY`, `ENOTDIR`, `EISDIR`),
    /// and never moves into itself (`EINVAL`); renaming a name onto a link
    /// of the same inode does nothing.
    fn rename(&mut self, old_dir: Ino, old_name: &[u8], new_dir: Ino, new_name: &[u8], flags: u32)
    -> Result<(), Errno>;

    /// A symbolic link's target.
    fn readlink(&mut self, ino: Ino) -> Result<Vec<u8>, Errno>;

    /// Reads at `offset` into `buf`; returns the bytes read (0 at or past the
    /// end). `EISDIR` for a directory.
    fn read(&mut self, ino: Ino, offset: u64, buf: &mut [u8]) -> Result<usize, Errno>;

    /// Writes `buf` at `offset` (holes read as zeros); returns the bytes
    /// written, short when space ran out after some (`ENOSPC` when none fit),
    /// `EFBIG` past the largest file.
    fn write(&mut self, ino: Ino, offset: u64, buf: &[u8]) -> Result<usize, Errno>;

    /// Sets the size of a regular file (`EISDIR`, `EINVAL` otherwise).
    fn truncate(&mut self, ino: Ino, size: u64) -> Result<(), Errno>;

    /// Hands `dir`'s entries (`.` and `..` first) to `sink` from `cursor`
    /// (0 is the start, then an entry's `next`); stops when the sink returns
    /// `false` or at the end. Returns the cursor to resume from.
    fn readdir(&mut self, dir: Ino, cursor: u64, sink: &mut DirSink<'_>) -> Result<u64, Errno>;

    /// The file system's sizes.
    fn statfs(&mut self) -> Result<FsStats, Errno>;

    /// Writes everything to stable storage.
    fn sync(&mut self) -> Result<(), Errno>;

    /// Writes one file's data and metadata to stable storage (`fsync`).
    fn fsync(&mut self, ino: Ino) -> Result<(), Errno> {
        let _ = ino;
        self.sync()
    }

    /// `fallocate`: makes the storage of `offset..offset + len` of regular
    /// file `ino` allocated, so that later writes there cannot fail for
    /// space (`ENOSPC` now instead, and nothing allocated), and with
    /// `keep_size` false grows the file to `offset + len` if it is shorter
    /// (the new bytes read as zeros). The caller checked the arguments
    /// (`len` > 0, no overflow).
    ///
    /// The default, for file systems with no allocation of their own:
    /// rewrites the range's bytes in place and writes zeros past the end
    /// (each write allocates what it covers), after checking the free
    /// space for the growth; `EOPNOTSUPP` with `keep_size` (blocks past
    /// the end cannot be held).
    fn allocate(&mut self, ino: Ino, offset: u64, len: u64, keep_size: bool) -> Result<(), Errno> {
        if keep_size {
            return Err(Errno::EOPNOTSUPP);
        }
        let end = offset.checked_add(len).ok_or(Errno::EFBIG)?;
        let size = self.getattr(ino)?.size;
        let stats = self.statfs()?;
        let free = stats.blocks_free.saturating_mul(u64::from(stats.block_size));
        if end.saturating_sub(size) > free {
            return Err(Errno::ENOSPC);
        }
        let mut buf = [0u8; 4096];
        let mut at = offset;
        while at < end {
            let n = (end - at).min(buf.len() as u64) as usize;
            let got = if at < size { self.read(ino, at, &mut buf[..n])? } else { 0 };
            buf[got..n].fill(0);
            let written = self.write(ino, at, &buf[..n]).and_then(|w| if w == n { Ok(()) } else { Err(Errno::ENOSPC) });
            if let Err(e) = written {
                // Undo the growth: the call failed.
                if at > size {
                    let _ = self.truncate(ino, size);
                }
                return Err(e);
            }
            at += n as u64;
        }
        Ok(())
    }

    /// Keeps `ino` alive while an open file refers to it.
    fn pin(&mut self, ino: Ino) -> Result<(), Errno>;

    /// Undoes one [`FileSystem::pin`]; frees the inode if it has no links
    /// left.
    fn unpin(&mut self, ino: Ino) -> Result<(), Errno>;
}

impl<T: FileSystem + ?Sized> FileSystem for Box<T> {
    fn root(&self) -> Ino {
        (**self).root()
    }
    fn name_max(&self) -> usize {
        (**self).name_max()
    }
    fn lookup(&mut self, dir: Ino, name: &[u8]) -> Result<Ino, Errno> {
        (**self).lookup(dir, name)
    }
    fn getattr(&mut self, ino: Ino) -> Result<Attr, Errno> {
        (**self).getattr(ino)
    }
    fn setattr(&mut self, ino: Ino, set: &SetAttr) -> Result<Attr, Errno> {
        (**self).setattr(ino, set)
    }
    fn create(&mut self, dir: Ino, name: &[u8], mode: u32, uid: u32, gid: u32) -> Result<Ino, Errno> {
        (**self).create(dir, name, mode, uid, gid)
    }
    fn mkdir(&mut self, dir: Ino, name: &[u8], mode: u32, uid: u32, gid: u32) -> Result<Ino, Errno> {
        (**self).mkdir(dir, name, mode, uid, gid)
    }
    fn symlink(&mut self, dir: Ino, name: &[u8], target: &[u8], uid: u32, gid: u32) -> Result<Ino, Errno> {
        (**self).symlink(dir, name, target, uid, gid)
    }
    fn link(&mut self, ino: Ino, dir: Ino, name: &[u8]) -> Result<(), Errno> {
        (**self).link(ino, dir, name)
    }
    fn unlink(&mut self, dir: Ino, name: &[u8]) -> Result<(), Errno> {
        (**self).unlink(dir, name)
    }
    fn rmdir(&mut self, dir: Ino, name: &[u8]) -> Result<(), Errno> {
        (**self).rmdir(dir, name)
    }
    fn rename(
        &mut self,
        old_dir: Ino,
        old_name: &[u8],
        new_dir: Ino,
        new_name: &[u8],
        flags: u32,
    ) -> Result<(), Errno> {
        (**self).rename(old_dir, old_name, new_dir, new_name, flags)
    }
    fn readlink(&mut self, ino: Ino) -> Result<Vec<u8>, Errno> {
        (**self).readlink(ino)
    }
    fn read(&mut self, ino: Ino, offset: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        (**self).read(ino, offset, buf)
    }
    fn write(&mut self, ino: Ino, offset: u64, buf: &[u8]) -> Result<usize, Errno> {
        (**self).write(ino, offset, buf)
    }
    fn truncate(&mut self, ino: Ino, size: u64) -> Result<(), Errno> {
        (**self).truncate(ino, size)
    }
    fn readdir(&mut self, dir: Ino, cursor: u64, sink: &mut DirSink<'_>) -> Result<u64, Errno> {
        (**self).readdir(dir, cursor, sink)
    }
    fn statfs(&mut self) -> Result<FsStats, Errno> {
        (**self).statfs()
    }
    fn sync(&mut self) -> Result<(), Errno> {
        (**self).sync()
    }
    fn fsync(&mut self, ino: Ino) -> Result<(), Errno> {
        (**self).fsync(ino)
    }
    fn allocate(&mut self, ino: Ino, offset: u64, len: u64, keep_size: bool) -> Result<(), Errno> {
        (**self).allocate(ino, offset, len, keep_size)
    }
    fn pin(&mut self, ino: Ino) -> Result<(), Errno> {
        (**self).pin(ino)
    }
    fn unpin(&mut self, ino: Ino) -> Result<(), Errno> {
        (**self).unpin(ino)
    }
}

/// Checks a name a file system is asked to create or remove: not empty,
/// not `.` or `..`, no `/` or NUL (`EINVAL`... Linux never lets such a name
/// reach a file system; this guards direct callers), at most `max` bytes
/// (`ENAMETOOLONG`).
pub fn check_name(name: &[u8], max: usize) -> Result<(), Errno> {
    if name.len() > max {
        return Err(Errno::ENAMETOOLONG);
    }
    if name.is_empty() || name == b"." || name == b".." || name.iter().any(|&c| c == b'/' || c == 0) {
        return Err(Errno::EINVAL);
    }
    Ok(())
}
