//! The name-level part of Linux's file calls, over a mount table: what
//! `openat`, `mkdirat`, `unlinkat`, `renameat2`, `linkat`, `symlinkat`,
//! `readlinkat`, `newfstatat`, `truncate`, `fchmodat`, `utimensat`,
//! `statfs` and `getdents64` do between the path and the file system, with
//! Linux's errors and their order (`fs/namei.c`, `fs/open.c`, Linux 6.12).
//!
//! The kernel's handlers copy the path in, pick the starting directory (the
//! current directory, or a `dirfd`'s), call these, and keep the
//! [`Location`] of an opened file in its file description (reads and writes
//! then go straight to the file system through [`MountTable::with`]).
//!
//! Permission bits are not checked: apps run as root. A read-only mount
//! gives `EROFS` for every change, as Linux does (`mnt_want_write`).

use alloc::vec::Vec;

use libos_abi::errno::Errno;
use libos_abi::fs_types::{
    AT_REMOVEDIR, AT_SYMLINK_FOLLOW, O_ACCMODE, O_CREAT, O_DIRECTORY, O_EXCL, O_NOFOLLOW, O_PATH, O_RDONLY, O_TRUNC,
    RENAME_EXCHANGE, S_IALLUGO, S_ISGID, S_ISUID, S_IXGRP, ST_RDONLY, write_dirent64,
};

use crate::filesystem::{Attr, FileSystem, FileType, FsStats, SetAttr};
use crate::mount::{FsLock, Location, MountTable};
use crate::path::{Last, Lookup, Resolved};

/// Who is asking: the process's root and the directory relative paths start
/// from (its current directory or the `*at` call's `dirfd`), and its
/// identity for new files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Caller {
    /// The process's `/`.
    pub root: Location,
    /// Where relative paths start.
    pub base: Location,
    /// Owner of new files.
    pub uid: u32,
    /// Group of new files.
    pub gid: u32,
}

/// An opened file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Opened {
    /// The file.
    pub at: Location,
    /// Whether `open` created it.
    pub created: bool,
    /// Its type.
    pub kind: FileType,
}

/// `openat(dirfd, path, flags, mode)`: looks up (or with `O_CREAT` creates,
/// `mode` already masked by the umask) the file, truncates it for
/// `O_TRUNC`, and pins it (the caller unpins it at the last close, through
/// [`close`]).
pub fn open<H: FsLock>(t: &MountTable<H>, who: &Caller, path: &[u8], flags: i32, mode: u32) -> Result<Opened, Errno> {
    // Access mode 3 (`O_ACCMODE`) is not an error: Linux opens the file
    // for neither reading nor writing (`OPEN_FMODE` in include/linux/fs.h;
    // read and write then fail with EBADF) but checks it as a write
    // (`ACC_MODE` in fs/open.c: MAY_READ | MAY_WRITE), for ioctl-only use.
    let access = flags & O_ACCMODE;
    if flags & O_CREAT != 0 && flags & O_DIRECTORY != 0 {
        // Linux 6.4 and later (`build_open_flags`).
        return Err(Errno::EINVAL);
    }
    let writes = flags & O_PATH == 0 && access != O_RDONLY;
    let truncates = flags & O_PATH == 0 && flags & O_TRUNC != 0;
    let mut lookup = Lookup::new(t, who.root);
    let mut created = false;
    let at = if flags & O_CREAT != 0 && flags & O_PATH == 0 {
        // O_EXCL: a symbolic link in the last component is not followed and
        // counts as existing (`open(2)`).
        let follow = flags & (O_EXCL | O_NOFOLLOW) == 0;
        let parent = lookup.parent(who.base, path)?;
        let resolved = match parent.last {
            // `open_last_lookups`: a trailing slash with O_CREAT is EISDIR,
            // whether the name exists or not.
            Last::Name(_) if parent.trailing_slash => return Err(Errno::EISDIR),
            Last::Name(name) => lookup.resolve_or_absent(parent.dir, &name, follow)?,
            Last::Root | Last::Dot => Resolved::Found(parent.dir),
            Last::DotDot => Resolved::Found(lookup.dotdot(parent.dir)?),
        };
        match resolved {
            Resolved::Found(at) => {
                if flags & O_EXCL != 0 {
                    return Err(Errno::EEXIST);
                }
                at
            }
            Resolved::Absent { dir, name, trailing_slash } => {
                if trailing_slash {
                    return Err(Errno::EISDIR);
                }
                let ino = t.with_writable(dir.mount, |fs| fs.create(dir.ino, &name, mode, who.uid, who.gid))?;
                created = true;
                Location { mount: dir.mount, ino }
            }
        }
    } else {
        lookup.resolve(who.base, path, flags & O_NOFOLLOW == 0)?
    };
    let kind = t.with(at.mount, |fs| fs.getattr(at.ino))?.file_type();
    match kind {
        FileType::Symlink if flags & O_PATH == 0 => return Err(Errno::ELOOP),
        FileType::Directory if writes || flags & O_CREAT != 0 && flags & O_PATH == 0 => return Err(Errno::EISDIR),
        FileType::Directory => {}
        _ if flags & O_DIRECTORY != 0 => return Err(Errno::ENOTDIR),
        _ => {}
    }
    if (writes || truncates) && !created && t.get(at.mount)?.read_only {
        return Err(Errno::EROFS);
    }
    t.with(at.mount, |fs| {
        if truncates && kind == FileType::Regular && !created {
            fs.truncate(at.ino, 0)?;
        }
        fs.pin(at.ino)
    })?;
    Ok(Opened { at, created, kind })
}

/// The last close of a file [`open`] returned.
pub fn close<H: FsLock>(t: &MountTable<H>, at: Location) -> Result<(), Errno> {
    t.with(at.mount, |fs| fs.unpin(at.ino))
}

/// `mkdirat`.
pub fn mkdir<H: FsLock>(t: &MountTable<H>, who: &Caller, path: &[u8], mode: u32) -> Result<Location, Errno> {
    let parent = Lookup::new(t, who.root).parent(who.base, path)?;
    let Last::Name(name) = parent.last else { return Err(Errno::EEXIST) };
    let dir = parent.dir;
    // EEXIST before EROFS, as `filename_create` orders them.
    exists_check(t, dir, &name)?;
    let ino = t.with_writable(dir.mount, |fs| fs.mkdir(dir.ino, &name, mode, who.uid, who.gid))?;
    Ok(Location { mount: dir.mount, ino })
}

/// `symlinkat(target, newdirfd, path)`.
pub fn symlink<H: FsLock>(t: &MountTable<H>, who: &Caller, target: &[u8], path: &[u8]) -> Result<Location, Errno> {
    if target.is_empty() {
        return Err(Errno::ENOENT);
    }
    if target.len() >= libos_abi::fs_types::PATH_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    let parent = Lookup::new(t, who.root).parent(who.base, path)?;
    let Last::Name(name) = parent.last else { return Err(Errno::EEXIST) };
    let dir = parent.dir;
    exists_check(t, dir, &name)?;
    if parent.trailing_slash {
        return Err(Errno::ENOENT);
    }
    let ino = t.with_writable(dir.mount, |fs| fs.symlink(dir.ino, &name, target, who.uid, who.gid))?;
    Ok(Location { mount: dir.mount, ino })
}

/// `EEXIST` if `name` exists in `dir` (a dangling symbolic link exists).
fn exists_check<H: FsLock>(t: &MountTable<H>, dir: Location, name: &[u8]) -> Result<(), Errno> {
    match t.with(dir.mount, |fs| fs.lookup(dir.ino, name)) {
        Ok(_) => Err(Errno::EEXIST),
        Err(Errno::ENOENT) => Ok(()),
        Err(e) => Err(e),
    }
}

/// `unlinkat(dirfd, path, flags)`: `AT_REMOVEDIR` makes it `rmdir`.
pub fn unlink<H: FsLock>(t: &MountTable<H>, who: &Caller, path: &[u8], flags: i32) -> Result<(), Errno> {
    if flags & !AT_REMOVEDIR != 0 {
        return Err(Errno::EINVAL);
    }
    let remove_dir = flags & AT_REMOVEDIR != 0;
    let mut lookup = Lookup::new(t, who.root);
    let parent = lookup.parent(who.base, path)?;
    let name = match parent.last {
        Last::Name(name) => name,
        Last::Dot if remove_dir => return Err(Errno::EINVAL),
        Last::DotDot if remove_dir => return Err(Errno::ENOTEMPTY),
        Last::Root if remove_dir => return Err(Errno::EBUSY),
        _ => return Err(Errno::EISDIR),
    };
    let dir = parent.dir;
    // `do_unlinkat`/`do_rmdir` ask for write access to the mount first.
    if t.get(dir.mount)?.read_only {
        return Err(Errno::EROFS);
    }
    let victim = t.with(dir.mount, |fs| fs.lookup(dir.ino, &name))?;
    let victim = Location { mount: dir.mount, ino: victim };
    if remove_dir {
        if t.mounted_on(victim).is_some() {
            return Err(Errno::EBUSY);
        }
        t.with(dir.mount, |fs| fs.rmdir(dir.ino, &name))
    } else {
        if parent.trailing_slash {
            let kind = t.with(dir.mount, |fs| fs.getattr(victim.ino))?.file_type();
            return Err(if kind == FileType::Directory { Errno::EISDIR } else { Errno::ENOTDIR });
        }
        t.with(dir.mount, |fs| fs.unlink(dir.ino, &name))
    }
}

/// `renameat2(olddirfd, old, newdirfd, new, flags)`; `new_base` is where
/// `new` starts if relative.
pub fn rename<H: FsLock>(
    t: &MountTable<H>,
    who: &Caller,
    old: &[u8],
    new_base: Location,
    new: &[u8],
    flags: u32,
) -> Result<(), Errno> {
    let old_parent = Lookup::new(t, who.root).parent(who.base, old)?;
    let new_parent = Lookup::new(t, who.root).parent(new_base, new)?;
    let (Last::Name(old_name), Last::Name(new_name)) = (&old_parent.last, &new_parent.last) else {
        return Err(Errno::EBUSY);
    };
    let (od, nd) = (old_parent.dir, new_parent.dir);
    if od.mount != nd.mount {
        return Err(Errno::EXDEV);
    }
    if t.get(od.mount)?.read_only {
        return Err(Errno::EROFS);
    }
    let source = t.with(od.mount, |fs| fs.lookup(od.ino, old_name))?;
    let source = Location { mount: od.mount, ino: source };
    let source_kind = t.with(od.mount, |fs| fs.getattr(source.ino))?.file_type();
    if source_kind != FileType::Directory
        && (old_parent.trailing_slash || flags & RENAME_EXCHANGE == 0 && new_parent.trailing_slash)
    {
        return Err(Errno::ENOTDIR);
    }
    if t.mounted_on(source).is_some() {
        return Err(Errno::EBUSY);
    }
    if let Ok(target) = t.with(nd.mount, |fs| fs.lookup(nd.ino, new_name))
        && t.mounted_on(Location { mount: nd.mount, ino: target }).is_some()
    {
        return Err(Errno::EBUSY);
    }
    t.with(od.mount, |fs| fs.rename(od.ino, old_name, nd.ino, new_name, flags))
}

/// `linkat(olddirfd, old, newdirfd, new, flags)`: `AT_SYMLINK_FOLLOW`
/// follows a symbolic link in `old`.
pub fn link<H: FsLock>(
    t: &MountTable<H>,
    who: &Caller,
    old: &[u8],
    new_base: Location,
    new: &[u8],
    flags: i32,
) -> Result<(), Errno> {
    if flags & !AT_SYMLINK_FOLLOW != 0 {
        return Err(Errno::EINVAL);
    }
    let source = Lookup::new(t, who.root).resolve(who.base, old, flags & AT_SYMLINK_FOLLOW != 0)?;
    let parent = Lookup::new(t, who.root).parent(new_base, new)?;
    let Last::Name(name) = parent.last else { return Err(Errno::EEXIST) };
    let dir = parent.dir;
    exists_check(t, dir, &name)?;
    if parent.trailing_slash {
        return Err(Errno::ENOENT);
    }
    if source.mount != dir.mount {
        return Err(Errno::EXDEV);
    }
    t.with_writable(dir.mount, |fs| fs.link(source.ino, dir.ino, &name))
}

/// `readlinkat`: a symbolic link's target (`EINVAL` for anything else).
pub fn readlink<H: FsLock>(t: &MountTable<H>, who: &Caller, path: &[u8]) -> Result<Vec<u8>, Errno> {
    let at = Lookup::new(t, who.root).resolve(who.base, path, false)?;
    t.with(at.mount, |fs| fs.readlink(at.ino))
}

/// `newfstatat`/`statx` by path: the file's attributes and its mount's
/// device number; `follow` is false for `AT_SYMLINK_NOFOLLOW` (`lstat`).
pub fn stat<H: FsLock>(t: &MountTable<H>, who: &Caller, path: &[u8], follow: bool) -> Result<(Attr, u64), Errno> {
    let at = Lookup::new(t, who.root).resolve(who.base, path, follow)?;
    stat_at(t, at)
}

/// `fstat`: the attributes of an opened file and its mount's device.
pub fn stat_at<H: FsLock>(t: &MountTable<H>, at: Location) -> Result<(Attr, u64), Errno> {
    let attr = t.with(at.mount, |fs| fs.getattr(at.ino))?;
    Ok((attr, t.get(at.mount)?.dev))
}

/// `truncate(path, size)`.
pub fn truncate<H: FsLock>(t: &MountTable<H>, who: &Caller, path: &[u8], size: i64) -> Result<(), Errno> {
    if size < 0 {
        return Err(Errno::EINVAL);
    }
    let at = Lookup::new(t, who.root).resolve(who.base, path, true)?;
    let kind = t.with(at.mount, |fs| fs.getattr(at.ino))?.file_type();
    match kind {
        FileType::Directory => return Err(Errno::EISDIR),
        FileType::Regular => {}
        _ => return Err(Errno::EINVAL),
    }
    t.with_writable(at.mount, |fs| fs.truncate(at.ino, size as u64))
}

/// `fchmodat`/`utimensat`/`fchownat` by path.
pub fn setattr<H: FsLock>(
    t: &MountTable<H>,
    who: &Caller,
    path: &[u8],
    follow: bool,
    set: &SetAttr,
) -> Result<Attr, Errno> {
    let at = Lookup::new(t, who.root).resolve(who.base, path, follow)?;
    t.with_writable(at.mount, |fs| fs.setattr(at.ino, set))
}

/// The change `chown` makes to a file of mode `mode`: the new owner and
/// group (`None`: unchanged, Linux's -1), and for anything but a directory
/// the set-user-ID bit cleared, and the set-group-ID bit with group execute
/// (Linux's `chown_common` asks `ATTR_KILL_SUID | ATTR_KILL_SGID` whatever
/// changes, and `should_remove_suid` decides, root included since 2.2.13).
pub fn chown_change(mode: u32, uid: Option<u32>, gid: Option<u32>) -> SetAttr {
    let mut kill = 0;
    if FileType::from_mode(mode) != FileType::Directory {
        if mode & S_ISUID != 0 {
            kill |= S_ISUID;
        }
        if mode & S_ISGID != 0 && mode & S_IXGRP != 0 {
            kill |= S_ISGID;
        }
    }
    SetAttr { uid, gid, mode: (kill != 0).then_some(mode & S_IALLUGO & !kill), ..SetAttr::default() }
}

/// `chown`/`fchown`/`lchown`/`fchownat` on the file at `at`, under one
/// hold of its file system (see [`chown_change`]). `EROFS` on a read-only
/// mount.
pub fn chown_at<H: FsLock>(t: &MountTable<H>, at: Location, uid: Option<u32>, gid: Option<u32>) -> Result<Attr, Errno> {
    t.with_writable(at.mount, |fs| {
        let mode = fs.getattr(at.ino)?.mode;
        fs.setattr(at.ino, &chown_change(mode, uid, gid))
    })
}

/// `statfs`/`fstatfs`: the file system's sizes and `ST_*` mount flags.
pub fn statfs<H: FsLock>(t: &MountTable<H>, at: Location) -> Result<(FsStats, i64), Errno> {
    let stats = t.with(at.mount, |fs| fs.statfs())?;
    let flags = if t.get(at.mount)?.read_only { ST_RDONLY } else { 0 };
    Ok((stats, flags))
}

/// `getdents64`: fills `buf` with `linux_dirent64` records of directory
/// `at` from `cursor`; returns the bytes filled and the cursor to resume
/// from (the file offset). `EINVAL` if not even one record fits (Linux's
/// "result buffer is too small"), `ENOTDIR` for a non-directory.
pub fn getdents64<H: FsLock>(
    t: &MountTable<H>,
    at: Location,
    cursor: u64,
    buf: &mut [u8],
) -> Result<(usize, u64), Errno> {
    let mut filled = 0;
    let mut too_small = false;
    let next = t.with(at.mount, |fs| {
        // A removed directory lists nothing: Linux's `iterate_dir` answers
        // ENOENT for it (`IS_DEADDIR`).
        let attr = fs.getattr(at.ino)?;
        if attr.file_type() == FileType::Directory && attr.nlink == 0 {
            return Err(Errno::ENOENT);
        }
        fs.readdir(at.ino, cursor, &mut |entry| match write_dirent64(
            &mut buf[filled..],
            entry.ino,
            entry.next as i64,
            entry.d_type,
            entry.name,
        ) {
            Some(n) => {
                filled += n;
                true
            }
            None => {
                too_small = filled == 0;
                false
            }
        })
    })?;
    if too_small {
        return Err(Errno::EINVAL);
    }
    Ok((filled, next))
}

/// Whether an `open` with these flags reads only (for callers that pick a
/// file description's mode).
pub const fn is_read_only_open(flags: i32) -> bool {
    flags & O_ACCMODE == O_RDONLY
}

/// Whether an `open` with these flags is checked as a write (access mode 3
/// included: see [`open`]).
pub const fn is_writing_open(flags: i32) -> bool {
    flags & O_ACCMODE != O_RDONLY
}
