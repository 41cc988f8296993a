//! The mount table: which file system is where.
//!
//! Mount 0 is the root at `/`; every other mount covers a directory of
//! another mount (its mount point), like `/tmp` or `/data`. Path lookup
//! ([`crate::path`]) steps into a mount's root when it reaches a mount point
//! and back to the mount point for `..` at a mount's root.
//!
//! The table holds each file system behind an [`FsLock`], the kernel's lock
//! (a sleeping lock for a disk-backed file system, whose calls wait for I/O);
//! lookup takes one mount's lock for one step at a time, never two at once.

use alloc::vec::Vec;
use core::ops::DerefMut;

use libos_abi::errno::Errno;

use crate::filesystem::{FileSystem, FileType, Ino};

/// A mount's index in the table.
pub type MountId = usize;

/// A file: which mount, which inode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Location {
    /// The mount.
    pub mount: MountId,
    /// The inode in the mount's file system.
    pub ino: Ino,
}

/// A file system behind a lock: the kernel's lock type implements this.
pub trait FsLock {
    /// The file system type inside.
    type Fs: FileSystem + ?Sized;

    /// Locks it; the guard unlocks when dropped.
    fn lock(&self) -> impl DerefMut<Target = Self::Fs> + '_;
}

/// One mount.
pub struct Mount<H> {
    /// The file system.
    pub fs: H,
    /// Its root directory's inode.
    pub root: Ino,
    /// The directory it covers; `None` for the root mount.
    pub covers: Option<Location>,
    /// Mounted read-only: every change gives `EROFS`.
    pub read_only: bool,
    /// The device number `stat` reports (`st_dev`).
    pub dev: u64,
}

/// The mounts.
pub struct MountTable<H> {
    mounts: Vec<Option<Mount<H>>>,
}

impl<H: FsLock> MountTable<H> {
    /// A table with `fs` mounted at `/` on device `dev`.
    pub fn new(fs: H, read_only: bool, dev: u64) -> MountTable<H> {
        let root = fs.lock().root();
        MountTable { mounts: alloc::vec![Some(Mount { fs, root, covers: None, read_only, dev })] }
    }

    /// `/` of the root mount.
    pub fn root(&self) -> Location {
        Location { mount: 0, ino: self.mounts[0].as_ref().map_or(0, |m| m.root) }
    }

    /// The mount `id`.
    pub fn get(&self, id: MountId) -> Result<&Mount<H>, Errno> {
        self.mounts.get(id).and_then(Option::as_ref).ok_or(Errno::ENOENT)
    }

    /// Mounts `fs` over the directory `at` (`ENOTDIR` if it is not one,
    /// `EBUSY` if something is mounted there already).
    pub fn mount(&mut self, at: Location, fs: H, read_only: bool, dev: u64) -> Result<MountId, Errno> {
        let kind = self.get(at.mount)?.fs.lock().getattr(at.ino)?.file_type();
        if kind != FileType::Directory {
            return Err(Errno::ENOTDIR);
        }
        if self.mounted_on(at).is_some() {
            return Err(Errno::EBUSY);
        }
        let root = fs.lock().root();
        self.mounts.push(Some(Mount { fs, root, covers: Some(at), read_only, dev }));
        Ok(self.mounts.len() - 1)
    }

    /// Removes mount `id` (`EBUSY` while another mount lies on it, `EINVAL`
    /// for the root mount); returns its file system.
    pub fn unmount(&mut self, id: MountId) -> Result<H, Errno> {
        if id == 0 {
            return Err(Errno::EINVAL);
        }
        self.get(id)?;
        if self.mounts.iter().flatten().any(|m| m.covers.is_some_and(|c| c.mount == id)) {
            return Err(Errno::EBUSY);
        }
        Ok(self.mounts[id].take().ok_or(Errno::EINVAL)?.fs)
    }

    /// The mount whose root covers `at`, if any.
    pub fn mounted_on(&self, at: Location) -> Option<MountId> {
        self.mounts.iter().position(|m| m.as_ref().is_some_and(|m| m.covers == Some(at)))
    }

    /// `at`, or the root of what is mounted on it (repeatedly).
    pub fn enter(&self, mut at: Location) -> Location {
        while let Some(id) = self.mounted_on(at) {
            let root = self.mounts[id].as_ref().map_or(at.ino, |m| m.root);
            at = Location { mount: id, ino: root };
        }
        at
    }

    /// Whether `at` is a mount point or a mount's root (`rmdir` and
    /// `rename` of it give `EBUSY`).
    pub fn is_busy(&self, at: Location) -> bool {
        self.mounted_on(at).is_some() || self.get(at.mount).is_ok_and(|m| m.root == at.ino)
    }

    /// Runs `f` on the file system of mount `id`, locked.
    pub fn with<R>(&self, id: MountId, f: impl FnOnce(&mut H::Fs) -> Result<R, Errno>) -> Result<R, Errno> {
        let mount = self.get(id)?;
        let mut guard = mount.fs.lock();
        f(&mut guard)
    }

    /// Runs `f` on the file system of mount `id`, locked, if it is writable
    /// (else `EROFS`).
    pub fn with_writable<R>(&self, id: MountId, f: impl FnOnce(&mut H::Fs) -> Result<R, Errno>) -> Result<R, Errno> {
        if self.get(id)?.read_only {
            return Err(Errno::EROFS);
        }
        self.with(id, f)
    }
}
