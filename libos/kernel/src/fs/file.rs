//! Open file descriptions: what a file descriptor refers to (Linux's
//! `struct file`). A description holds an object (a file on a mount, a
//! pipe's end, the console, an epoll instance, an eventfd; later sockets)
//! behind the [`FileObject`] trait, the access mode and status flags, and
//! the offset that `dup`ed descriptors share.

use alloc::boxed::Box;

use core::sync::atomic::{AtomicI32, Ordering};

use libos_abi::errno::Errno;
use libos_abi::fs_types::{O_ACCMODE, O_APPEND, O_NONBLOCK, O_PATH, O_RDONLY, O_RDWR, O_WRONLY, Stat};
use libos_fs::filesystem::SetAttr;
use libos_fs::mount::Location;

use super::epoll::Epoll;
use crate::sched::wait::WaitQueue;
use crate::sync::Mutex;

/// `poll` readiness bits (`POLLIN`, `POLLOUT`, `POLLERR`, `POLLHUP`,
/// `POLLRDHUP`, `POLLPRI`...: Linux's values).
pub use libos_abi::poll_types as poll;

/// What an open file is: the operations of one kind of file. Each has
/// Linux's answer for an object that cannot do it as its default.
///
/// Positions: a seekable object ([`FileObject::is_seekable`]) reads and
/// writes at `*pos` and moves it; the caller holds the description's
/// offset lock around the call. A stream (pipe, console) ignores `pos`.
/// `flags` are the description's current status flags (`O_APPEND`,
/// `O_NONBLOCK`). Data moves through kernel buffers: an object never
/// touches app memory, so it may hold its locks across the call.
///
/// # Readiness (`poll`, `select`, `epoll`)
///
/// Two methods, as Linux's `f_op->poll` with its `poll_wait`:
///
/// - [`FileObject::poll`] says what the object is ready for *now*: a mask
///   of [`poll`] bits. `POLLIN`: a read would not wait (data, or the end of
///   it); `POLLOUT`: a write would not wait; `POLLHUP`: the other end is
///   gone (a pipe without writers; a socket both of whose halves are shut);
///   `POLLRDHUP`: the peer shut its writing half (stream sockets);
///   `POLLERR`: an error is pending (a pipe without readers; a socket's
///   `SO_ERROR`); `POLLPRI`: urgent data. Give the plain bits
///   (`POLLRDNORM`/`POLLWRNORM` are added with `POLLIN`/`POLLOUT` for you).
///   It must not block or sleep (spinlocks are fine) and should be cheap:
///   `epoll_wait` and `poll` call it on every look.
/// - [`FileObject::wait_queue`] gives the one [`WaitQueue`] that is woken
///   (`wake_all`) after **every** change of that answer, in every
///   direction: data arrived, room freed, a peer closed, an error came.
///   Change the state first (under the object's lock), then wake. One
///   queue per object: a socket may use the queue its blocked readers and
///   writers sleep on, if it wakes it on each of those events. `poll` and
///   `epoll` sleep on it and learn of changes from its wake count
///   ([`WaitQueue::wake_count`]): a change without a wake is never seen
///   (a lost wake-up), a wake without a change costs a look.
///
/// An object without a queue (the default) is always ready: `poll` and
/// `select` report it at once and `epoll_ctl` refuses it with `EPERM`, as
/// Linux does for regular files.
pub trait FileObject: Send + Sync {
    /// Whether the object has an offset (`lseek`, `pread64` work).
    fn is_seekable(&self) -> bool {
        false
    }

    /// Reads into `buf` at `*pos`.
    fn read(&self, pos: &mut u64, buf: &mut [u8], flags: i32) -> Result<usize, Errno> {
        let _ = (pos, buf, flags);
        Err(Errno::EINVAL)
    }

    /// Writes `buf` at `*pos` (at the end for `O_APPEND`).
    fn write(&self, pos: &mut u64, buf: &[u8], flags: i32) -> Result<usize, Errno> {
        let _ = (pos, buf, flags);
        Err(Errno::EINVAL)
    }

    /// The size `SEEK_END` counts from.
    fn size(&self) -> Result<u64, Errno> {
        Err(Errno::ESPIPE)
    }

    /// `struct stat`.
    fn stat(&self) -> Result<Stat, Errno>;

    /// Fills `buf` with directory records from `*pos`.
    fn getdents(&self, pos: &mut u64, buf: &mut [u8]) -> Result<usize, Errno> {
        let _ = (pos, buf);
        Err(Errno::ENOTDIR)
    }

    /// Sets the size (`ftruncate`).
    fn truncate(&self, size: u64) -> Result<(), Errno> {
        let _ = size;
        Err(Errno::EINVAL)
    }

    /// Changes attributes (`fchmod`).
    fn setattr(&self, set: &SetAttr) -> Result<(), Errno> {
        let _ = set;
        Err(Errno::EBADF)
    }

    /// `fallocate` of a regular file (the caller checked the arguments and
    /// the type): see `FileSystem::allocate`.
    fn allocate(&self, offset: u64, len: u64, keep_size: bool) -> Result<(), Errno> {
        let _ = (offset, len, keep_size);
        Err(Errno::EOPNOTSUPP)
    }

    /// Writes the file to stable storage.
    fn fsync(&self) -> Result<(), Errno> {
        Err(Errno::EINVAL)
    }

    /// A device-specific request (`ioctl`, after the requests every file
    /// takes: `FIONBIO`, `FIOCLEX`, `FIONCLEX`).
    fn ioctl(&self, cmd: u32, arg: u64) -> Result<i64, Errno> {
        let _ = (cmd, arg);
        Err(Errno::ENOTTY)
    }

    /// Readiness: what the object is ready for now, as [`poll`] bits (see
    /// "Readiness" on the trait). The default: always readable and
    /// writable (a regular file, a directory).
    fn poll(&self) -> u32 {
        poll::POLLIN | poll::POLLOUT
    }

    /// Readiness: the queue woken after every change of what
    /// [`FileObject::poll`] answers (see "Readiness" on the trait); `None`
    /// for an object whose answer never changes.
    fn wait_queue(&self) -> Option<&WaitQueue> {
        None
    }

    /// The object as an epoll instance (Linux's `is_file_epoll`): only
    /// [`Epoll`] says yes.
    fn as_epoll(&self) -> Option<&Epoll> {
        None
    }

    /// The file on a mount, for the calls that need one (`fchdir`,
    /// `fstatfs`, a `dirfd`).
    fn location(&self) -> Option<Location> {
        None
    }

    /// The socket, if the object is one (the socket calls need it;
    /// `ENOTSOCK` otherwise).
    fn as_socket(&self) -> Option<&crate::net::file::SocketFile> {
        None
    }

    /// A pipe's capacity in bytes (`fcntl(F_GETPIPE_SZ)`; `EBADF` for
    /// anything else, as Linux's `pipe_fcntl`).
    fn pipe_size(&self) -> Option<usize> {
        None
    }
}

/// An open file description.
pub struct OpenFile {
    object: Box<dyn FileObject>,
    /// Access mode and status flags (`O_RDONLY`..., `O_APPEND`,
    /// `O_NONBLOCK`, `O_PATH`).
    flags: AtomicI32,
    /// The offset, locked across a read or write as Linux's `f_pos_lock`
    /// (sleeping: the call may wait for the disk).
    pos: Mutex<u64>,
    /// It has taken a `flock` lock (its last close releases them).
    flocked: core::sync::atomic::AtomicBool,
}

/// The status flags `F_SETFL` may change (Linux also takes `O_ASYNC`,
/// `O_DIRECT`, `O_NOATIME`, which we do not implement: they are ignored).
pub const SETFL_MASK: i32 = O_APPEND | O_NONBLOCK;

impl OpenFile {
    /// A description of `object` opened with `flags` (`open`'s).
    pub fn new(object: Box<dyn FileObject>, flags: i32) -> OpenFile {
        // Only the flags a description keeps (`F_GETFL` shows them).
        let keep = O_ACCMODE | O_APPEND | O_NONBLOCK | O_PATH | libos_abi::fs_types::O_LARGEFILE;
        OpenFile {
            object,
            flags: AtomicI32::new(flags & keep),
            pos: Mutex::new(0),
            flocked: core::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Notes that it holds (or may hold) `flock` locks.
    pub fn note_flocked(&self) {
        self.flocked.store(true, Ordering::Relaxed);
    }

    /// The object.
    pub fn object(&self) -> &dyn FileObject {
        &*self.object
    }

    /// Access mode and status flags.
    pub fn flags(&self) -> i32 {
        self.flags.load(Ordering::Relaxed)
    }

    /// `F_SETFL`: changes the status flags in [`SETFL_MASK`].
    pub fn set_status_flags(&self, flags: i32) {
        let old = self.flags();
        self.flags.store((old & !SETFL_MASK) | (flags & SETFL_MASK), Ordering::Relaxed);
    }

    /// Whether it was opened for reading.
    pub fn readable(&self) -> bool {
        let f = self.flags();
        f & O_PATH == 0 && matches!(f & O_ACCMODE, O_RDONLY | O_RDWR)
    }

    /// Whether it was opened for writing.
    pub fn writable(&self) -> bool {
        let f = self.flags();
        f & O_PATH == 0 && matches!(f & O_ACCMODE, O_WRONLY | O_RDWR)
    }

    /// Whether it was opened with `O_PATH` (only a few calls take it).
    pub fn is_path_only(&self) -> bool {
        self.flags() & O_PATH != 0
    }

    /// `read`: at the shared offset.
    pub fn read(&self, buf: &mut [u8]) -> Result<usize, Errno> {
        if !self.readable() {
            return Err(Errno::EBADF);
        }
        if self.object.is_seekable() {
            let mut pos = self.pos.lock();
            self.object.read(&mut pos, buf, self.flags())
        } else {
            self.object.read(&mut 0, buf, self.flags())
        }
    }

    /// `write`: at the shared offset.
    pub fn write(&self, buf: &[u8]) -> Result<usize, Errno> {
        if !self.writable() {
            return Err(Errno::EBADF);
        }
        if self.object.is_seekable() {
            let mut pos = self.pos.lock();
            self.object.write(&mut pos, buf, self.flags())
        } else {
            self.object.write(&mut 0, buf, self.flags())
        }
    }

    /// `pread64`.
    pub fn pread(&self, buf: &mut [u8], offset: i64) -> Result<usize, Errno> {
        if !self.readable() {
            return Err(Errno::EBADF);
        }
        if !self.object.is_seekable() {
            return Err(Errno::ESPIPE);
        }
        let mut pos = u64::try_from(offset).map_err(|_| Errno::EINVAL)?;
        self.object.read(&mut pos, buf, self.flags())
    }

    /// `pwrite64`.
    pub fn pwrite(&self, buf: &[u8], offset: i64) -> Result<usize, Errno> {
        if !self.writable() {
            return Err(Errno::EBADF);
        }
        if !self.object.is_seekable() {
            return Err(Errno::ESPIPE);
        }
        let mut pos = u64::try_from(offset).map_err(|_| Errno::EINVAL)?;
        self.object.write(&mut pos, buf, self.flags())
    }

    /// The offset (`sendfile` reads from it without `read`'s lock, as
    /// Linux's `do_sendfile` reads `f_pos`).
    pub fn position(&self) -> u64 {
        *self.pos.lock()
    }

    /// Sets the offset (`sendfile`'s end).
    pub fn set_position(&self, pos: u64) {
        *self.pos.lock() = pos;
    }

    /// `lseek` (`SEEK_SET`, `SEEK_CUR`, `SEEK_END`; `SEEK_DATA`/`SEEK_HOLE`
    /// treat the whole file as data, as Linux's generic code does).
    pub fn seek(&self, offset: i64, whence: i32) -> Result<i64, Errno> {
        use libos_abi::fs_types::{SEEK_CUR, SEEK_DATA, SEEK_END, SEEK_HOLE, SEEK_SET};
        if !self.object.is_seekable() {
            return Err(Errno::ESPIPE);
        }
        let mut pos = self.pos.lock();
        let new = match whence {
            SEEK_SET => Some(offset),
            SEEK_CUR => (*pos as i64).checked_add(offset),
            SEEK_END => (self.object.size()? as i64).checked_add(offset),
            SEEK_DATA | SEEK_HOLE => {
                let size = self.object.size()? as i64;
                if offset < 0 || offset >= size {
                    return Err(Errno::ENXIO);
                }
                Some(if whence == SEEK_DATA { offset } else { size })
            }
            _ => return Err(Errno::EINVAL),
        };
        let new = new.ok_or(Errno::EOVERFLOW)?;
        if new < 0 {
            return Err(Errno::EINVAL);
        }
        *pos = new as u64;
        Ok(new)
    }

    /// `getdents64`: from the shared offset.
    pub fn getdents(&self, buf: &mut [u8]) -> Result<usize, Errno> {
        if self.is_path_only() {
            return Err(Errno::EBADF);
        }
        let mut pos = self.pos.lock();
        self.object.getdents(&mut pos, buf)
    }

    /// `ftruncate`: needs a description open for writing.
    pub fn truncate(&self, size: i64) -> Result<(), Errno> {
        let size = u64::try_from(size).map_err(|_| Errno::EINVAL)?;
        if self.is_path_only() {
            return Err(Errno::EBADF);
        }
        if !self.writable() {
            return Err(Errno::EINVAL);
        }
        self.object.truncate(size)
    }
}

impl Drop for OpenFile {
    /// The last close of a description releases its `flock` locks and its
    /// `F_OFD_` record locks.
    fn drop(&mut self) {
        if *self.flocked.get_mut() {
            super::flock::release_owner(self);
        }
        super::record_lock::release_description(self);
    }
}
