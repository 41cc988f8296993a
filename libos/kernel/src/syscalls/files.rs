//! The calls on paths (Linux's `fs/namei.c`, `fs/open.c`, `fs/stat.c`,
//! `fs/statfs.c`, `fs/utimes.c`, `fs/d_path.c`): each copies its paths in
//! ([`crate::fs::user_path`]), picks where a relative path starts (the
//! current directory or a `dirfd`), and calls the host-tested name-level
//! operations of `libos_fs::vfs`, which give Linux's errors in Linux's
//! order.

use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;

use libos_abi::abi_types::Timespec;
use libos_abi::errno::Errno;
use libos_abi::fs_types::{
    AT_EACCESS, AT_EMPTY_PATH, AT_FDCWD, AT_NO_AUTOMOUNT, AT_REMOVEDIR, AT_STATX_SYNC_TYPE, AT_SYMLINK_NOFOLLOW,
    O_CLOEXEC, O_CREAT, O_TMPFILE, O_TRUNC, O_WRONLY, R_OK, RENAME_EXCHANGE, RENAME_NOREPLACE, S_IALLUGO,
    STATX_BASIC_STATS, STATX_RESERVED, Stat, Statfs, Statx, StatxTimestamp, UTIME_NOW, UTIME_OMIT, W_OK, X_OK,
};
use libos_abi::syscalls::Files;
use libos_abi::user_ptr::{UserPtr, UserPtrMut};
use libos_fs::filesystem::{FileType, SetAttr, SetTime};
use libos_fs::mount::Location;
use libos_fs::path::Lookup;
use libos_fs::vfs::{self, Caller};

use super::descriptors::file;
use super::{Cx, Kernel};
use crate::fs::file::OpenFile;
use crate::fs::inode_file::InodeFile;
use crate::fs::user_path::copy_path;
use crate::fs::{mounts, path_of};
use crate::mm::user_access::{copy_to_user, read_user, write_user};
use crate::process::Process;

/// The calling process (every app thread has one).
pub fn files_of_caller() -> Result<Arc<Process>, Errno> {
    crate::process::current().ok_or(Errno::EBADF)
}

/// A path argument: copied in; `ENOENT` when empty unless `empty_ok`.
fn path_arg(path: UserPtr<u8>, empty_ok: bool) -> Result<Vec<u8>, Errno> {
    let p = copy_path(path.addr())?;
    if p.is_empty() && !empty_ok {
        return Err(Errno::ENOENT);
    }
    Ok(p)
}

/// Where `path` starts: `/` if absolute, else the current directory
/// (`AT_FDCWD`) or the directory open on `dirfd`.
fn base(p: &Process, dirfd: i32, path: &[u8]) -> Result<Location, Errno> {
    if path.first() == Some(&b'/') {
        return Ok(mounts().root());
    }
    if dirfd == AT_FDCWD {
        return Ok(p.files.cwd());
    }
    let f = p.files.fds.get(dirfd)?;
    let at = f.object().location().ok_or(Errno::ENOTDIR)?;
    // An empty path (AT_EMPTY_PATH) names the file itself, whatever it is.
    if !path.is_empty() && mounts().with(at.mount, |fs| fs.getattr(at.ino))?.file_type() != FileType::Directory {
        return Err(Errno::ENOTDIR);
    }
    Ok(at)
}

/// The caller for a lookup of `path` from `dirfd`.
fn caller(p: &Process, dirfd: i32, path: &[u8]) -> Result<Caller, Errno> {
    Ok(Caller { root: mounts().root(), base: base(p, dirfd, path)?, uid: 0, gid: 0 })
}

/// The file `path` names (from `dirfd`); an empty path with
/// `AT_EMPTY_PATH` names `dirfd`'s file (`None`: not a file on a mount).
fn resolve_at(p: &Process, dirfd: i32, path: &[u8], follow: bool) -> Result<Location, Errno> {
    let who = caller(p, dirfd, path)?;
    if path.is_empty() {
        return Ok(who.base);
    }
    Lookup::new(mounts(), who.root).resolve(who.base, path, follow)
}

/// `struct statfs` of the file system `at` is on.
pub fn statfs_of(at: Location) -> Result<Statfs, Errno> {
    let (s, flags) = vfs::statfs(mounts(), at)?;
    let dev = mounts().get(at.mount)?.dev;
    Ok(Statfs {
        f_type: s.magic,
        f_bsize: i64::from(s.block_size),
        f_blocks: s.blocks,
        f_bfree: s.blocks_free,
        f_bavail: s.blocks_avail,
        f_files: s.files,
        f_ffree: s.files_free,
        f_fsid: [dev as i32, (dev >> 32) as i32],
        f_namelen: i64::from(s.name_max),
        f_frsize: i64::from(s.block_size),
        // ST_VALID: the flags are meaningful.
        f_flags: flags | 0x20,
        f_spare: [0; 4],
    })
}

fn open_at(dirfd: i32, path: UserPtr<u8>, flags: i32, mode: u32) -> Result<i32, Errno> {
    let path = path_arg(path, false)?;
    if flags & O_TMPFILE == O_TMPFILE {
        return Err(Errno::EOPNOTSUPP);
    }
    let p = files_of_caller()?;
    // Linux reserves the descriptor before the lookup.
    if !p.files.fds.has_free() {
        return Err(Errno::EMFILE);
    }
    let who = caller(&p, dirfd, &path)?;
    let mode = mode & S_IALLUGO & !p.files.umask();
    let opened = vfs::open(mounts(), &who, &path, flags, mode)?;
    let file = Arc::new(OpenFile::new(Box::new(InodeFile::new(opened.at, opened.kind)), flags));
    p.files.fds.install(file, flags & O_CLOEXEC != 0, 0)
}

fn stat_at(dirfd: i32, path: UserPtr<u8>, flags: i32) -> Result<Stat, Errno> {
    if flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT | AT_STATX_SYNC_TYPE) != 0 {
        return Err(Errno::EINVAL);
    }
    let empty_ok = flags & AT_EMPTY_PATH != 0;
    let path = if path.is_null() && empty_ok { Vec::new() } else { path_arg(path, empty_ok)? };
    if path.is_empty() && dirfd != AT_FDCWD {
        // The descriptor's own file, whatever it is (a pipe too).
        return file(dirfd)?.object().stat();
    }
    let p = files_of_caller()?;
    let at = resolve_at(&p, dirfd, &path, flags & AT_SYMLINK_NOFOLLOW == 0)?;
    let (attr, dev) = vfs::stat_at(mounts(), at)?;
    Ok(attr.to_stat(dev))
}

fn access_at(dirfd: i32, path: UserPtr<u8>, mode: i32, flags: i32) -> Result<(), Errno> {
    if mode & !(R_OK | W_OK | X_OK) != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & !(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let path = path_arg(path, flags & AT_EMPTY_PATH != 0)?;
    let p = files_of_caller()?;
    let at = resolve_at(&p, dirfd, &path, flags & AT_SYMLINK_NOFOLLOW == 0)?;
    let attr = mounts().with(at.mount, |fs| fs.getattr(at.ino))?;
    // Root reads and writes anything; executing needs an execute bit
    // (`generic_permission`), except for a directory.
    if mode & X_OK != 0 && attr.file_type() != FileType::Directory && attr.mode & 0o111 == 0 {
        return Err(Errno::EACCES);
    }
    if mode & W_OK != 0 && mounts().get(at.mount)?.read_only && attr.file_type() != FileType::Other {
        return Err(Errno::EROFS);
    }
    Ok(())
}

fn rename_at(olddirfd: i32, old: UserPtr<u8>, newdirfd: i32, new: UserPtr<u8>, flags: u32) -> Result<(), Errno> {
    if flags & !(RENAME_NOREPLACE | RENAME_EXCHANGE) != 0
        || flags & RENAME_NOREPLACE != 0 && flags & RENAME_EXCHANGE != 0
    {
        return Err(Errno::EINVAL);
    }
    let old = path_arg(old, false)?;
    let new = path_arg(new, false)?;
    let p = files_of_caller()?;
    let who = caller(&p, olddirfd, &old)?;
    let new_base = base(&p, newdirfd, &new)?;
    vfs::rename(mounts(), &who, &old, new_base, &new, flags)
}

fn link_at(olddirfd: i32, old: UserPtr<u8>, newdirfd: i32, new: UserPtr<u8>, flags: i32) -> Result<(), Errno> {
    let old = path_arg(old, false)?;
    let new = path_arg(new, false)?;
    let p = files_of_caller()?;
    let who = caller(&p, olddirfd, &old)?;
    let new_base = base(&p, newdirfd, &new)?;
    vfs::link(mounts(), &who, &old, new_base, &new, flags)
}

fn symlink_at(target: UserPtr<u8>, dirfd: i32, path: UserPtr<u8>) -> Result<(), Errno> {
    let target = path_arg(target, true)?;
    let path = path_arg(path, false)?;
    let p = files_of_caller()?;
    vfs::symlink(mounts(), &caller(&p, dirfd, &path)?, &target, &path).map(|_| ())
}

fn readlink_at(dirfd: i32, path: UserPtr<u8>, buf: UserPtrMut<u8>, size: usize) -> Result<usize, Errno> {
    let path = path_arg(path, false)?;
    // `bufsiz` is an int: 0 or negative is EINVAL.
    if size == 0 || size > i32::MAX as usize {
        return Err(Errno::EINVAL);
    }
    let p = files_of_caller()?;
    let target = vfs::readlink(mounts(), &caller(&p, dirfd, &path)?, &path)?;
    let n = target.len().min(size);
    copy_to_user(buf.addr(), &target[..n]).map_err(|(e, _)| e)?;
    Ok(n)
}

fn mkdir_at(dirfd: i32, path: UserPtr<u8>, mode: u32) -> Result<(), Errno> {
    let path = path_arg(path, false)?;
    let p = files_of_caller()?;
    let mode = mode & S_IALLUGO & !p.files.umask();
    vfs::mkdir(mounts(), &caller(&p, dirfd, &path)?, &path, mode).map(|_| ())
}

fn unlink_at(dirfd: i32, path: UserPtr<u8>, flags: i32) -> Result<(), Errno> {
    if flags & !AT_REMOVEDIR != 0 {
        return Err(Errno::EINVAL);
    }
    let path = path_arg(path, false)?;
    let p = files_of_caller()?;
    vfs::unlink(mounts(), &caller(&p, dirfd, &path)?, &path, flags)
}

fn chmod_at(dirfd: i32, path: UserPtr<u8>, mode: u32) -> Result<(), Errno> {
    let path = path_arg(path, false)?;
    let p = files_of_caller()?;
    let set = SetAttr { mode: Some(mode & S_IALLUGO), ..Default::default() };
    vfs::setattr(mounts(), &caller(&p, dirfd, &path)?, &path, true, &set).map(|_| ())
}

/// `chown`'s id argument: `None` for -1 (unchanged).
pub fn chown_id(id: u32) -> Option<u32> {
    (id != u32::MAX).then_some(id)
}

fn chown_path(dirfd: i32, path: UserPtr<u8>, owner: u32, group: u32, flags: i32) -> Result<(), Errno> {
    if flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let path = path_arg(path, flags & AT_EMPTY_PATH != 0)?;
    let p = files_of_caller()?;
    let at = resolve_at(&p, dirfd, &path, flags & AT_SYMLINK_NOFOLLOW == 0)?;
    vfs::chown_at(mounts(), at, chown_id(owner), chown_id(group)).map(|_| ())
}

/// One `utimensat` time: `None` to leave it (`UTIME_OMIT`).
fn set_time(t: Timespec) -> Result<Option<SetTime>, Errno> {
    match t.tv_nsec {
        UTIME_OMIT => Ok(None),
        UTIME_NOW => Ok(Some(SetTime::Now)),
        0..=999_999_999 => Ok(Some(SetTime::At(t))),
        _ => Err(Errno::EINVAL),
    }
}

impl Files for Kernel {
    fn open(_cx: &mut Cx, path: UserPtr<u8>, flags: i32, mode: u32) -> Result<i32, Errno> {
        open_at(AT_FDCWD, path, flags, mode)
    }

    fn stat(_cx: &mut Cx, path: UserPtr<u8>, buf: UserPtrMut<Stat>) -> Result<(), Errno> {
        write_user(buf.addr(), &stat_at(AT_FDCWD, path, 0)?)
    }

    fn lstat(_cx: &mut Cx, path: UserPtr<u8>, buf: UserPtrMut<Stat>) -> Result<(), Errno> {
        write_user(buf.addr(), &stat_at(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW)?)
    }

    fn access(_cx: &mut Cx, path: UserPtr<u8>, mode: i32) -> Result<(), Errno> {
        access_at(AT_FDCWD, path, mode, 0)
    }

    fn truncate(_cx: &mut Cx, path: UserPtr<u8>, length: i64) -> Result<(), Errno> {
        let path = path_arg(path, false)?;
        let p = files_of_caller()?;
        vfs::truncate(mounts(), &caller(&p, AT_FDCWD, &path)?, &path, length)
    }

    fn getcwd(_cx: &mut Cx, buf: UserPtrMut<u8>, size: usize) -> Result<usize, Errno> {
        let p = files_of_caller()?;
        let mut path = path_of(mounts(), p.files.cwd())?;
        path.push(0);
        if path.len() > size {
            return Err(Errno::ERANGE);
        }
        copy_to_user(buf.addr(), &path).map_err(|(e, _)| e)?;
        Ok(path.len())
    }

    fn chdir(_cx: &mut Cx, path: UserPtr<u8>) -> Result<(), Errno> {
        let path = path_arg(path, false)?;
        let p = files_of_caller()?;
        let at = resolve_at(&p, AT_FDCWD, &path, true)?;
        if mounts().with(at.mount, |fs| fs.getattr(at.ino))?.file_type() != FileType::Directory {
            return Err(Errno::ENOTDIR);
        }
        p.files.set_cwd(at);
        Ok(())
    }

    fn rename(_cx: &mut Cx, old: UserPtr<u8>, new: UserPtr<u8>) -> Result<(), Errno> {
        rename_at(AT_FDCWD, old, AT_FDCWD, new, 0)
    }

    fn mkdir(_cx: &mut Cx, path: UserPtr<u8>, mode: u32) -> Result<(), Errno> {
        mkdir_at(AT_FDCWD, path, mode)
    }

    fn rmdir(_cx: &mut Cx, path: UserPtr<u8>) -> Result<(), Errno> {
        unlink_at(AT_FDCWD, path, AT_REMOVEDIR)
    }

    fn creat(_cx: &mut Cx, path: UserPtr<u8>, mode: u32) -> Result<i32, Errno> {
        open_at(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode)
    }

    fn link(_cx: &mut Cx, old: UserPtr<u8>, new: UserPtr<u8>) -> Result<(), Errno> {
        link_at(AT_FDCWD, old, AT_FDCWD, new, 0)
    }

    fn unlink(_cx: &mut Cx, path: UserPtr<u8>) -> Result<(), Errno> {
        unlink_at(AT_FDCWD, path, 0)
    }

    fn symlink(_cx: &mut Cx, target: UserPtr<u8>, path: UserPtr<u8>) -> Result<(), Errno> {
        symlink_at(target, AT_FDCWD, path)
    }

    fn readlink(_cx: &mut Cx, path: UserPtr<u8>, buf: UserPtrMut<u8>, size: usize) -> Result<usize, Errno> {
        readlink_at(AT_FDCWD, path, buf, size)
    }

    fn chmod(_cx: &mut Cx, path: UserPtr<u8>, mode: u32) -> Result<(), Errno> {
        chmod_at(AT_FDCWD, path, mode)
    }

    fn umask(_cx: &mut Cx, mask: u32) -> Result<u32, Errno> {
        Ok(files_of_caller()?.files.swap_umask(mask))
    }

    fn statfs(_cx: &mut Cx, path: UserPtr<u8>, buf: UserPtrMut<Statfs>) -> Result<(), Errno> {
        let path = path_arg(path, false)?;
        let p = files_of_caller()?;
        let at = resolve_at(&p, AT_FDCWD, &path, true)?;
        write_user(buf.addr(), &statfs_of(at)?)
    }

    fn openat(_cx: &mut Cx, dirfd: i32, path: UserPtr<u8>, flags: i32, mode: u32) -> Result<i32, Errno> {
        open_at(dirfd, path, flags, mode)
    }

    fn mkdirat(_cx: &mut Cx, dirfd: i32, path: UserPtr<u8>, mode: u32) -> Result<(), Errno> {
        mkdir_at(dirfd, path, mode)
    }

    fn newfstatat(_cx: &mut Cx, dirfd: i32, path: UserPtr<u8>, buf: UserPtrMut<Stat>, flags: i32) -> Result<(), Errno> {
        write_user(buf.addr(), &stat_at(dirfd, path, flags)?)
    }

    fn unlinkat(_cx: &mut Cx, dirfd: i32, path: UserPtr<u8>, flags: i32) -> Result<(), Errno> {
        unlink_at(dirfd, path, flags)
    }

    fn renameat(_cx: &mut Cx, olddirfd: i32, old: UserPtr<u8>, newdirfd: i32, new: UserPtr<u8>) -> Result<(), Errno> {
        rename_at(olddirfd, old, newdirfd, new, 0)
    }

    fn linkat(
        _cx: &mut Cx,
        olddirfd: i32,
        old: UserPtr<u8>,
        newdirfd: i32,
        new: UserPtr<u8>,
        flags: i32,
    ) -> Result<(), Errno> {
        link_at(olddirfd, old, newdirfd, new, flags)
    }

    fn symlinkat(_cx: &mut Cx, target: UserPtr<u8>, dirfd: i32, path: UserPtr<u8>) -> Result<(), Errno> {
        symlink_at(target, dirfd, path)
    }

    fn readlinkat(
        _cx: &mut Cx,
        dirfd: i32,
        path: UserPtr<u8>,
        buf: UserPtrMut<u8>,
        size: usize,
    ) -> Result<usize, Errno> {
        readlink_at(dirfd, path, buf, size)
    }

    fn chown(_cx: &mut Cx, path: UserPtr<u8>, owner: u32, group: u32) -> Result<(), Errno> {
        chown_path(AT_FDCWD, path, owner, group, 0)
    }

    fn lchown(_cx: &mut Cx, path: UserPtr<u8>, owner: u32, group: u32) -> Result<(), Errno> {
        chown_path(AT_FDCWD, path, owner, group, AT_SYMLINK_NOFOLLOW)
    }

    fn fchownat(_cx: &mut Cx, dirfd: i32, path: UserPtr<u8>, owner: u32, group: u32, flags: i32) -> Result<(), Errno> {
        chown_path(dirfd, path, owner, group, flags)
    }

    fn fchmodat(_cx: &mut Cx, dirfd: i32, path: UserPtr<u8>, mode: u32) -> Result<(), Errno> {
        chmod_at(dirfd, path, mode)
    }

    fn faccessat(_cx: &mut Cx, dirfd: i32, path: UserPtr<u8>, mode: i32) -> Result<(), Errno> {
        access_at(dirfd, path, mode, 0)
    }

    fn utimensat(
        _cx: &mut Cx,
        dirfd: i32,
        path: UserPtr<u8>,
        times: UserPtr<Timespec>,
        flags: i32,
    ) -> Result<(), Errno> {
        if flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
            return Err(Errno::EINVAL);
        }
        let (atime, mtime) = if times.is_null() {
            (Some(SetTime::Now), Some(SetTime::Now))
        } else {
            let a: Timespec = read_user(times.addr())?;
            let m: Timespec = read_user(times.addr() + core::mem::size_of::<Timespec>() as u64)?;
            (set_time(a)?, set_time(m)?)
        };
        // A null path is Linux's `futimens` (the descriptor's own file).
        let path = if path.is_null() { Vec::new() } else { path_arg(path, flags & AT_EMPTY_PATH != 0)? };
        let p = files_of_caller()?;
        let at = if path.is_empty() {
            if dirfd == AT_FDCWD {
                return Err(Errno::EFAULT);
            }
            file(dirfd)?.object().location().ok_or(Errno::EBADF)?
        } else {
            resolve_at(&p, dirfd, &path, flags & AT_SYMLINK_NOFOLLOW == 0)?
        };
        if atime.is_none() && mtime.is_none() {
            return Ok(());
        }
        let set = SetAttr { atime, mtime, ..Default::default() };
        mounts().with_writable(at.mount, |fs| fs.setattr(at.ino, &set)).map(|_| ())
    }

    fn renameat2(
        _cx: &mut Cx,
        olddirfd: i32,
        old: UserPtr<u8>,
        newdirfd: i32,
        new: UserPtr<u8>,
        flags: u32,
    ) -> Result<(), Errno> {
        rename_at(olddirfd, old, newdirfd, new, flags)
    }

    fn statx(
        _cx: &mut Cx,
        dirfd: i32,
        path: UserPtr<u8>,
        flags: i32,
        mask: u32,
        buf: UserPtrMut<Statx>,
    ) -> Result<(), Errno> {
        if flags & AT_STATX_SYNC_TYPE == AT_STATX_SYNC_TYPE || mask & STATX_RESERVED != 0 {
            return Err(Errno::EINVAL);
        }
        let st = stat_at(dirfd, path, flags)?;
        let ts = |sec: i64, nsec: i64| StatxTimestamp { tv_sec: sec, tv_nsec: nsec as u32, reserved: 0 };
        let x = Statx {
            stx_mask: STATX_BASIC_STATS,
            stx_blksize: st.st_blksize as u32,
            stx_nlink: st.st_nlink as u32,
            stx_uid: st.st_uid,
            stx_gid: st.st_gid,
            stx_mode: st.st_mode as u16,
            stx_ino: st.st_ino,
            stx_size: st.st_size as u64,
            stx_blocks: st.st_blocks as u64,
            stx_atime: ts(st.st_atime, st.st_atime_nsec),
            stx_ctime: ts(st.st_ctime, st.st_ctime_nsec),
            stx_mtime: ts(st.st_mtime, st.st_mtime_nsec),
            stx_rdev_major: (st.st_rdev >> 8) as u32 & 0xfff,
            stx_rdev_minor: st.st_rdev as u32 & 0xff,
            stx_dev_major: (st.st_dev >> 8) as u32 & 0xfff,
            stx_dev_minor: st.st_dev as u32 & 0xff,
            ..Default::default()
        };
        write_user(buf.addr(), &x)
    }

    fn faccessat2(_cx: &mut Cx, dirfd: i32, path: UserPtr<u8>, mode: i32, flags: i32) -> Result<(), Errno> {
        access_at(dirfd, path, mode, flags)
    }
}
