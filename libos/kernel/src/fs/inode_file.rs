//! A file on a mount, opened: reads, writes, directory listing and the
//! attribute calls go to its file system through the mount table, under
//! the mount's lock. The file stays pinned while open (a removed file
//! lives until its last close).

use libos_abi::errno::Errno;
use libos_abi::fs_types::{O_APPEND, Stat};
use libos_fs::filesystem::{FileType, SetAttr};
use libos_fs::mount::Location;
use libos_fs::vfs;

use super::file::FileObject;
use super::mounts;

/// An opened file on a mount.
pub struct InodeFile {
    at: Location,
    kind: FileType,
}

impl InodeFile {
    /// The object of a file [`vfs::open`] opened (and pinned).
    pub fn new(at: Location, kind: FileType) -> InodeFile {
        InodeFile { at, kind }
    }
}

impl FileObject for InodeFile {
    fn is_seekable(&self) -> bool {
        true
    }

    fn read(&self, pos: &mut u64, buf: &mut [u8], _flags: i32) -> Result<usize, Errno> {
        if self.kind == FileType::Directory {
            return Err(Errno::EISDIR);
        }
        let n = mounts().with(self.at.mount, |fs| fs.read(self.at.ino, *pos, buf))?;
        *pos += n as u64;
        Ok(n)
    }

    fn write(&self, pos: &mut u64, buf: &[u8], flags: i32) -> Result<usize, Errno> {
        if self.kind == FileType::Directory {
            return Err(Errno::EISDIR);
        }
        let n = mounts().with_writable(self.at.mount, |fs| {
            // The end and the write under one lock: appends never overlap.
            if flags & O_APPEND != 0 {
                *pos = fs.getattr(self.at.ino)?.size;
            }
            fs.write(self.at.ino, *pos, buf)
        })?;
        *pos += n as u64;
        Ok(n)
    }

    fn size(&self) -> Result<u64, Errno> {
        Ok(mounts().with(self.at.mount, |fs| fs.getattr(self.at.ino))?.size)
    }

    fn stat(&self) -> Result<Stat, Errno> {
        let (attr, dev) = vfs::stat_at(mounts(), self.at)?;
        Ok(attr.to_stat(dev))
    }

    fn getdents(&self, pos: &mut u64, buf: &mut [u8]) -> Result<usize, Errno> {
        if self.kind != FileType::Directory {
            return Err(Errno::ENOTDIR);
        }
        let (n, next) = vfs::getdents64(mounts(), self.at, *pos, buf)?;
        *pos = next;
        Ok(n)
    }

    fn truncate(&self, size: u64) -> Result<(), Errno> {
        if self.kind != FileType::Regular {
            return Err(Errno::EINVAL);
        }
        mounts().with_writable(self.at.mount, |fs| fs.truncate(self.at.ino, size))
    }

    fn setattr(&self, set: &SetAttr) -> Result<(), Errno> {
        mounts().with_writable(self.at.mount, |fs| fs.setattr(self.at.ino, set)).map(|_| ())
    }

    fn allocate(&self, offset: u64, len: u64, keep_size: bool) -> Result<(), Errno> {
        if self.kind != FileType::Regular {
            return Err(Errno::ENODEV);
        }
        mounts().with_writable(self.at.mount, |fs| fs.allocate(self.at.ino, offset, len, keep_size))
    }

    fn fsync(&self) -> Result<(), Errno> {
        mounts().with(self.at.mount, |fs| fs.fsync(self.at.ino))
    }

    fn location(&self) -> Option<Location> {
        Some(self.at)
    }
}

impl Drop for InodeFile {
    fn drop(&mut self) {
        // An error here has no one to go to (Linux's release ignores it too).
        let _ = vfs::close(mounts(), self.at);
    }
}
