//! The calls on file descriptors (Linux's `fs/read_write.c`, `fs/file.c`,
//! `fs/fcntl.c`, `fs/pipe.c`, `fs/stat.c`, `fs/readdir.c`, `fs/sync.c`).
//! Data crosses between app memory and the file objects through kernel
//! buffers of at most [`BUF_MAX`] bytes, so no file system lock is ever
//! held across a copy that may fault.

use alloc::sync::Arc;
use alloc::vec::Vec;

use libos_abi::errno::Errno;
use libos_abi::fs_types::{
    F_DUPFD, F_DUPFD_CLOEXEC, F_GETFD, F_GETFL, F_GETLK, F_GETPIPE_SZ, F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW, F_SETFD,
    F_SETFL, F_SETLK, F_SETLKW, FD_CLOEXEC, Iovec, O_CLOEXEC, O_NONBLOCK, O_RDONLY, O_WRONLY, S_IALLUGO, S_IFIFO,
    S_IFMT, Stat, Statfs, UIO_MAXIOV,
};
use libos_abi::syscalls::Descriptors;
use libos_abi::user_ptr::{UserPtr, UserPtrMut};
use libos_fs::filesystem::{FileType, SetAttr};

use super::files::{files_of_caller, statfs_of};
use super::{Cx, Kernel};
use crate::fs::file::OpenFile;
use crate::fs::{mounts, pipe};
use crate::mm::user_access::{self, Pod, copy_from_user, copy_to_user, read_user, write_user};

/// Largest count one read or write handles (Linux's `MAX_RW_COUNT`).
pub const MAX_RW_COUNT: usize = 0x7FFF_F000;
/// The largest kernel buffer a transfer goes through at a time.
pub const BUF_MAX: usize = 64 * 1024;

// SAFETY: `struct stat`, `struct statx`, `struct statfs` and `struct iovec`
// are integers and integer arrays with no padding (their layouts are
// checked in libos-abi).
unsafe impl Pod for Stat {}
// SAFETY: as above.
unsafe impl Pod for libos_abi::fs_types::Statx {}
// SAFETY: as above.
unsafe impl Pod for Statfs {}
// SAFETY: as above.
unsafe impl Pod for Iovec {}
// SAFETY: an integer.
unsafe impl Pod for i32 {}

/// The description of `fd` of the calling process.
pub fn file(fd: i32) -> Result<Arc<OpenFile>, Errno> {
    files_of_caller()?.files.fds.get(fd)
}

/// Reads from `file` into app memory `buf..buf + count`: one object call
/// for a stream (a pipe returns what it has), as many as needed for a
/// file. Returns the bytes read.
pub fn read_into_user(
    count: usize,
    buf: u64,
    mut read: impl FnMut(&mut [u8], usize) -> Result<usize, Errno>,
    stream: bool,
) -> Result<usize, Errno> {
    let count = count.min(MAX_RW_COUNT);
    user_access::check(buf, count)?;
    if count == 0 {
        return read(&mut [], 0);
    }
    let mut kbuf = kernel_buffer(count.min(BUF_MAX))?;
    let mut done = 0;
    while done < count {
        let want = (count - done).min(kbuf.len());
        let n = match read(&mut kbuf[..want], done) {
            Ok(n) => n,
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        };
        if let Err((e, copied)) = copy_to_user(buf + done as u64, &kbuf[..n]) {
            done += copied;
            return if done > 0 { Ok(done) } else { Err(e) };
        }
        done += n;
        if n < want || stream {
            break;
        }
    }
    Ok(done)
}

/// Writes app memory `buf..buf + count` through `write`, in kernel-buffer
/// pieces. Returns the bytes written.
pub fn write_from_user(
    count: usize,
    buf: u64,
    mut write: impl FnMut(&[u8], usize) -> Result<usize, Errno>,
) -> Result<usize, Errno> {
    let count = count.min(MAX_RW_COUNT);
    user_access::check(buf, count)?;
    if count == 0 {
        return write(&[], 0);
    }
    let mut kbuf = kernel_buffer(count.min(BUF_MAX))?;
    let mut done = 0;
    while done < count {
        let want = (count - done).min(kbuf.len());
        let (avail, fault) = match copy_from_user(&mut kbuf[..want], buf + done as u64) {
            Ok(()) => (want, None),
            Err((e, copied)) => (copied, Some(e)),
        };
        let n = if avail > 0 {
            match write(&kbuf[..avail], done) {
                Ok(n) => n,
                Err(e) if done == 0 => return Err(e),
                Err(_) => break,
            }
        } else {
            0
        };
        done += n;
        if let Some(e) = fault {
            return if done > 0 { Ok(done) } else { Err(e) };
        }
        if n < want {
            break;
        }
    }
    Ok(done)
}

/// A zeroed kernel buffer of `len` bytes for a copy on an app's behalf:
/// `ENOMEM` (for that call) if the heap cannot give it.
fn kernel_buffer(len: usize) -> Result<Vec<u8>, Errno> {
    let mut v = Vec::new();
    v.try_reserve_exact(len).map_err(|_| Errno::ENOMEM)?;
    v.resize(len, 0);
    Ok(v)
}

/// `read` on a description.
pub fn read_file(f: &OpenFile, buf: u64, count: usize) -> Result<usize, Errno> {
    let stream = !f.object().is_seekable();
    read_into_user(count, buf, |k, _| f.read(k), stream)
}

/// `write` on a description.
pub fn write_file(f: &OpenFile, buf: u64, count: usize) -> Result<usize, Errno> {
    write_from_user(count, buf, |k, _| f.write(k))
}

/// The iovecs of `readv`/`writev`, checked as Linux's `import_iovec`:
/// `EINVAL` for a negative count, more than `UIO_MAXIOV`, or a total over
/// `MAX_RW_COUNT`'s type (`ssize_t`).
fn iovecs(iov: UserPtr<Iovec>, iovcnt: i32) -> Result<Vec<Iovec>, Errno> {
    let n = usize::try_from(iovcnt).map_err(|_| Errno::EINVAL)?;
    if n > UIO_MAXIOV {
        return Err(Errno::EINVAL);
    }
    read_iovecs(iov.addr(), n)
}

/// Reads `n` (at most `UIO_MAXIOV`, checked by the caller with its own
/// errno) iovecs from app memory at `addr`: `EINVAL` when their total does
/// not fit `ssize_t`, `EFAULT`, `ENOMEM`.
pub fn read_iovecs(addr: u64, n: usize) -> Result<Vec<Iovec>, Errno> {
    let mut v = Vec::new();
    v.try_reserve_exact(n).map_err(|_| Errno::ENOMEM)?;
    let mut total: u64 = 0;
    for i in 0..n {
        let one: Iovec = read_user(addr + (i * core::mem::size_of::<Iovec>()) as u64)?;
        total = total.checked_add(one.iov_len).filter(|&t| t <= isize::MAX as u64).ok_or(Errno::EINVAL)?;
        v.push(one);
    }
    Ok(v)
}

/// Runs `io` on each iovec in turn, as Linux's `do_loop_readv_writev`:
/// the bytes done in all; stops at a short transfer; an error counts only
/// if nothing was done yet.
fn each_iovec(v: Vec<Iovec>, mut io: impl FnMut(u64, usize) -> Result<usize, Errno>) -> Result<usize, Errno> {
    let mut total = 0;
    for one in v {
        let n = match io(one.iov_base, one.iov_len as usize) {
            Ok(n) => n,
            Err(e) if total == 0 => return Err(e),
            Err(_) => break,
        };
        total += n;
        if n < one.iov_len as usize {
            break;
        }
    }
    Ok(total)
}

fn install_pipe(fds: UserPtrMut<i32>, flags: i32) -> Result<(), Errno> {
    if flags & !(O_CLOEXEC | O_NONBLOCK) != 0 {
        return Err(Errno::EINVAL);
    }
    let p = files_of_caller()?;
    let (r, w) = pipe::new();
    let nonblock = flags & O_NONBLOCK;
    let r = Arc::new(OpenFile::new(alloc::boxed::Box::new(r), O_RDONLY | nonblock));
    let w = Arc::new(OpenFile::new(alloc::boxed::Box::new(w), O_WRONLY | nonblock));
    let cloexec = flags & O_CLOEXEC != 0;
    let rfd = p.files.fds.install(r, cloexec, 0)?;
    let wfd = match p.files.fds.install(w, cloexec, 0) {
        Ok(fd) => fd,
        Err(e) => {
            drop(p.files.fds.remove(rfd));
            return Err(e);
        }
    };
    if let Err(e) = write_user(fds.addr(), &rfd).and_then(|()| write_user(fds.addr() + 4, &wfd)) {
        drop(p.files.fds.remove(rfd));
        drop(p.files.fds.remove(wfd));
        return Err(e);
    }
    Ok(())
}

fn dup_to(oldfd: i32, newfd: i32, cloexec: bool) -> Result<i32, Errno> {
    let p = files_of_caller()?;
    let f = p.files.fds.get(oldfd)?;
    let replaced = p.files.fds.install_at(newfd, f, cloexec)?;
    if let Some(old) = &replaced {
        crate::fs::record_lock::release_on_close(&p, &old.file);
    }
    // The replaced description's last close may sleep: outside the table's lock.
    drop(replaced);
    Ok(newfd)
}

impl Descriptors for Kernel {
    fn close(_cx: &mut Cx, fd: i32) -> Result<(), Errno> {
        let p = files_of_caller()?;
        let slot = p.files.fds.remove(fd)?;
        // POSIX: closing any descriptor of a file releases the process's
        // record locks on it.
        crate::fs::record_lock::release_on_close(&p, &slot.file);
        drop(slot);
        Ok(())
    }

    fn lseek(_cx: &mut Cx, fd: i32, offset: i64, whence: i32) -> Result<i64, Errno> {
        file(fd)?.seek(offset, whence)
    }

    fn pread64(_cx: &mut Cx, fd: i32, buf: UserPtrMut<u8>, count: usize, offset: i64) -> Result<usize, Errno> {
        let f = file(fd)?;
        if offset < 0 {
            return Err(Errno::EINVAL);
        }
        read_into_user(count, buf.addr(), |k, done| f.pread(k, offset + done as i64), false)
    }

    fn pwrite64(_cx: &mut Cx, fd: i32, buf: UserPtr<u8>, count: usize, offset: i64) -> Result<usize, Errno> {
        let f = file(fd)?;
        if offset < 0 {
            return Err(Errno::EINVAL);
        }
        write_from_user(count, buf.addr(), |k, done| f.pwrite(k, offset + done as i64))
    }

    fn readv(_cx: &mut Cx, fd: i32, iov: UserPtr<Iovec>, iovcnt: i32) -> Result<usize, Errno> {
        let f = file(fd)?;
        each_iovec(iovecs(iov, iovcnt)?, |base, len| read_file(&f, base, len))
    }

    fn writev(_cx: &mut Cx, fd: i32, iov: UserPtr<Iovec>, iovcnt: i32) -> Result<usize, Errno> {
        let f = file(fd)?;
        each_iovec(iovecs(iov, iovcnt)?, |base, len| write_file(&f, base, len))
    }

    /// Linux's `do_sendfile`: the checks in its order, then the bytes
    /// through a kernel buffer (read at the position, write all of it),
    /// stopping at the end of the input, a short write, an error after
    /// some bytes (which then count), or a kill or signal.
    fn sendfile(_cx: &mut Cx, out_fd: i32, in_fd: i32, offset: UserPtrMut<i64>, count: usize) -> Result<usize, Errno> {
        // The syscall reads `*offset` before anything else (`EFAULT`).
        let explicit = !offset.is_null();
        let given: i64 = if explicit { read_user(offset.addr())? } else { 0 };
        let input = file(in_fd)?;
        if !input.readable() {
            return Err(Errno::EBADF);
        }
        let start: i64 = if explicit {
            let at = given;
            if !input.object().is_seekable() {
                return Err(Errno::ESPIPE);
            }
            at
        } else {
            input.position() as i64
        };
        // `rw_verify_area`.
        if start < 0 {
            return Err(Errno::EINVAL);
        }
        let output = file(out_fd)?;
        if !output.writable() {
            return Err(Errno::EBADF);
        }
        if output.flags() & libos_abi::fs_types::O_APPEND != 0 {
            return Err(Errno::EINVAL);
        }
        // The input must be a file (`splice_read`): not a pipe, the console
        // or a socket.
        if !input.object().is_seekable() {
            return Err(Errno::EINVAL);
        }
        let mut count = count.min(MAX_RW_COUNT);
        if (start as u64).checked_add(count as u64).is_none_or(|end| end > i64::MAX as u64) {
            count = (i64::MAX - start) as usize;
            if count == 0 {
                return Err(Errno::EOVERFLOW);
            }
        }
        let mut pos = start as u64;
        let mut done = 0usize;
        let result = if count == 0 {
            Ok(0)
        } else {
            let mut kbuf = kernel_buffer(count.min(BUF_MAX))?;
            loop {
                if done > 0 && crate::sched::with_current(crate::sched::wait::interrupted) {
                    break Ok(done);
                }
                let want = (count - done).min(kbuf.len());
                let got = match input.pread(&mut kbuf[..want], pos as i64) {
                    Ok(n) => n,
                    Err(e) => break if done > 0 { Ok(done) } else { Err(e) },
                };
                let mut written = 0;
                let mut failed = None;
                while written < got {
                    match output.write(&kbuf[written..got]) {
                        Ok(0) => break,
                        Ok(n) => written += n,
                        Err(e) => {
                            failed = Some(e);
                            break;
                        }
                    }
                }
                pos += written as u64;
                done += written;
                if let Some(e) = failed
                    && done == 0
                {
                    break Err(e);
                }
                if got < want || written < got || done == count {
                    break Ok(done);
                }
            }
        };
        if explicit {
            write_user(offset.addr(), &(pos as i64))?;
        } else {
            input.set_position(pos);
        }
        result
    }

    fn pipe(_cx: &mut Cx, fds: UserPtrMut<i32>) -> Result<(), Errno> {
        install_pipe(fds, 0)
    }

    fn dup(_cx: &mut Cx, fd: i32) -> Result<i32, Errno> {
        let p = files_of_caller()?;
        let f = p.files.fds.get(fd)?;
        p.files.fds.install(f, false, 0)
    }

    fn dup2(_cx: &mut Cx, oldfd: i32, newfd: i32) -> Result<i32, Errno> {
        if oldfd == newfd {
            file(oldfd)?;
            return Ok(newfd);
        }
        dup_to(oldfd, newfd, false)
    }

    fn ioctl(_cx: &mut Cx, fd: i32, cmd: u32, arg: u64) -> Result<i64, Errno> {
        use libos_abi::net_types::{FIOCLEX, FIONBIO, FIONCLEX};
        let p = files_of_caller()?;
        let f = p.files.fds.get(fd)?;
        match cmd {
            FIONBIO => super::sockets::fionbio(&f, arg),
            FIOCLEX | FIONCLEX => p.files.fds.set_cloexec(fd, cmd == FIOCLEX).map(|()| 0),
            _ => f.object().ioctl(cmd, arg),
        }
    }

    fn fcntl(_cx: &mut Cx, fd: i32, cmd: i32, arg: u64) -> Result<i32, Errno> {
        let p = files_of_caller()?;
        let f = p.files.fds.get(fd)?;
        match cmd {
            F_DUPFD | F_DUPFD_CLOEXEC => {
                // The argument is an `int` in Linux's `do_fcntl`.
                // `EINVAL` at or above the soft `RLIMIT_NOFILE`.
                let limit = p.files.fds.soft_limit();
                let min = usize::try_from(arg as i32).ok().filter(|&m| m < limit).ok_or(Errno::EINVAL)?;
                p.files.fds.install(f, cmd == F_DUPFD_CLOEXEC, min)
            }
            F_GETFD => Ok(if p.files.fds.cloexec(fd)? { FD_CLOEXEC } else { 0 }),
            F_SETFD => p.files.fds.set_cloexec(fd, arg as i32 & FD_CLOEXEC != 0).map(|()| 0),
            F_GETFL => Ok(f.flags()),
            // F_SETPIPE_SZ is not implemented (the capacity is fixed): EINVAL.
            F_GETPIPE_SZ => f.object().pipe_size().map(|n| n as i32).ok_or(Errno::EBADF),
            F_SETFL => {
                if f.is_path_only() {
                    return Err(Errno::EBADF);
                }
                f.set_status_flags(arg as i32);
                Ok(0)
            }
            F_GETLK | F_SETLK | F_SETLKW | F_OFD_GETLK | F_OFD_SETLK | F_OFD_SETLKW => {
                crate::fs::record_lock::fcntl(&p, &f, cmd, arg)
            }
            _ => Err(Errno::EINVAL),
        }
    }

    fn fsync(_cx: &mut Cx, fd: i32) -> Result<(), Errno> {
        let f = file(fd)?;
        if f.is_path_only() {
            return Err(Errno::EBADF);
        }
        f.object().fsync()
    }

    fn fdatasync(cx: &mut Cx, fd: i32) -> Result<(), Errno> {
        Self::fsync(cx, fd)
    }

    fn ftruncate(_cx: &mut Cx, fd: i32, length: i64) -> Result<(), Errno> {
        file(fd)?.truncate(length)
    }

    fn fchdir(_cx: &mut Cx, fd: i32) -> Result<(), Errno> {
        let p = files_of_caller()?;
        let f = p.files.fds.get(fd)?;
        let at = f.object().location().ok_or(Errno::ENOTDIR)?;
        if mounts().with(at.mount, |fs| fs.getattr(at.ino))?.file_type() != FileType::Directory {
            return Err(Errno::ENOTDIR);
        }
        p.files.set_cwd(at);
        Ok(())
    }

    fn fchown(_cx: &mut Cx, fd: i32, owner: u32, group: u32) -> Result<(), Errno> {
        let f = file(fd)?;
        if f.is_path_only() {
            return Err(Errno::EBADF);
        }
        let at = f.object().location().ok_or(Errno::EBADF)?;
        let (owner, group) = (super::files::chown_id(owner), super::files::chown_id(group));
        libos_fs::vfs::chown_at(crate::fs::mounts(), at, owner, group).map(|_| ())
    }

    fn flock(_cx: &mut Cx, fd: i32, operation: i32) -> Result<(), Errno> {
        use libos_abi::fs_types::{LOCK_EX, LOCK_NB, LOCK_SH, LOCK_UN};
        use libos_fs::flock::Kind;
        // Linux checks the operation before the descriptor.
        let kind = match operation & !LOCK_NB {
            LOCK_SH => Some(Kind::Shared),
            LOCK_EX => Some(Kind::Exclusive),
            LOCK_UN => None,
            _ => return Err(Errno::EINVAL),
        };
        let f = file(fd)?;
        if f.is_path_only() {
            return Err(Errno::EBADF);
        }
        match kind {
            Some(kind) => crate::fs::flock::lock(&f, kind, operation & LOCK_NB != 0),
            None => {
                crate::fs::flock::unlock(&f);
                Ok(())
            }
        }
    }

    fn fallocate(_cx: &mut Cx, fd: i32, mode: i32, offset: i64, len: i64) -> Result<(), Errno> {
        use libos_abi::fs_types::{S_IFDIR, S_IFIFO, S_IFMT, S_IFREG};
        /// `FALLOC_FL_KEEP_SIZE`.
        const KEEP_SIZE: i32 = 1;
        let f = file(fd)?;
        if f.is_path_only() {
            return Err(Errno::EBADF);
        }
        if offset < 0 || len <= 0 {
            return Err(Errno::EINVAL);
        }
        // Only allocation: Linux's other modes (holes, zeroing, collapsing,
        // inserting) are not offered by our file systems.
        if mode & !KEEP_SIZE != 0 {
            return Err(Errno::EOPNOTSUPP);
        }
        if !f.writable() {
            return Err(Errno::EBADF);
        }
        match f.object().stat()?.st_mode & S_IFMT {
            S_IFIFO => return Err(Errno::ESPIPE),
            S_IFDIR => return Err(Errno::EISDIR),
            S_IFREG => {}
            _ => return Err(Errno::ENODEV),
        }
        if offset.checked_add(len).is_none() {
            return Err(Errno::EFBIG);
        }
        f.object().allocate(offset as u64, len as u64, mode & KEEP_SIZE != 0)
    }

    fn fchmod(_cx: &mut Cx, fd: i32, mode: u32) -> Result<(), Errno> {
        let f = file(fd)?;
        if f.is_path_only() {
            return Err(Errno::EBADF);
        }
        f.object().setattr(&SetAttr { mode: Some(mode & S_IALLUGO), ..Default::default() })
    }

    fn fstat(_cx: &mut Cx, fd: i32, buf: UserPtrMut<Stat>) -> Result<(), Errno> {
        let st = file(fd)?.object().stat()?;
        write_user(buf.addr(), &st)
    }

    fn fstatfs(_cx: &mut Cx, fd: i32, buf: UserPtrMut<Statfs>) -> Result<(), Errno> {
        let f = file(fd)?;
        let st = match f.object().location() {
            Some(at) => statfs_of(at)?,
            None => {
                // Pipes live on Linux's pipefs, the console on devtmpfs.
                let is_fifo = f.object().stat()?.st_mode & S_IFMT == S_IFIFO;
                let f_type = if is_fifo { 0x5049_5045 } else { 0x0102_1994 };
                Statfs { f_type, f_bsize: 4096, f_namelen: 255, f_frsize: 4096, f_flags: 0x20, ..Default::default() }
            }
        };
        write_user(buf.addr(), &st)
    }

    fn getdents64(_cx: &mut Cx, fd: i32, buf: UserPtrMut<u8>, count: usize) -> Result<usize, Errno> {
        let f = file(fd)?;
        let count = count.min(i32::MAX as usize);
        user_access::check(buf.addr(), count)?;
        let mut kbuf = kernel_buffer(count.min(BUF_MAX))?;
        let n = f.getdents(&mut kbuf)?;
        copy_to_user(buf.addr(), &kbuf[..n]).map_err(|(e, _)| e)?;
        Ok(n)
    }

    fn dup3(_cx: &mut Cx, oldfd: i32, newfd: i32, flags: i32) -> Result<i32, Errno> {
        if flags & !O_CLOEXEC != 0 || oldfd == newfd {
            return Err(Errno::EINVAL);
        }
        dup_to(oldfd, newfd, flags & O_CLOEXEC != 0)
    }

    fn pipe2(_cx: &mut Cx, fds: UserPtrMut<i32>, flags: i32) -> Result<(), Errno> {
        install_pipe(fds, flags)
    }

    /// Linux's order: the descriptor, a pipe, then the length and advice.
    fn fadvise64(_cx: &mut Cx, fd: i32, _offset: i64, len: i64, advice: i32) -> Result<(), Errno> {
        let f = file(fd)?;
        if f.object().pipe_size().is_some() {
            return Err(Errno::ESPIPE);
        }
        // POSIX_FADV_NORMAL (0) to POSIX_FADV_NOREUSE (5).
        if len < 0 || !(0..=5).contains(&advice) {
            return Err(Errno::EINVAL);
        }
        Ok(())
    }
}
