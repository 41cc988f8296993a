//! The descriptor table: dup and friends, fcntl, offsets, EMFILE, the
//! console as 0, 1, 2, and reads and writes at offsets and in vectors.

use libos::fs;
use libos::prelude::*;

use crate::util::fs_types::*;
use crate::util::{Errno, fresh_dir, open, read_fd, sys, write_fd};

#[libos::test]
fn the_console_is_0_1_and_2() {
    for fd in 0..3 {
        let mut st = Stat::default();
        // SAFETY: writable.
        unsafe { sys::fstat(fd, &mut st) }.unwrap();
        assert_eq!(st.st_mode & S_IFMT, S_IFCHR, "fd {fd}");
    }
    assert_eq!(write_fd(1, b"fs-tests: written through fd 1\n"), Ok(31));
    assert_eq!(write_fd(2, b""), Ok(0));
    assert_eq!(sys::lseek(1, 0, SEEK_SET), Err(Errno::ESPIPE));
    assert_eq!(sys::fcntl(0, F_GETFL, 0), Ok(O_RDONLY));
    assert_eq!(sys::fcntl(1, F_GETFL, 0), Ok(O_WRONLY));
    assert_eq!(sys::fcntl(2, F_GETFL, 0), Ok(O_WRONLY));
    assert_eq!(read_fd(1, 1), Err(Errno::EBADF));
    assert_eq!(write_fd(0, b"x"), Err(Errno::EBADF));
}

#[libos::test]
fn dup_shares_the_offset_and_flags_not_cloexec() {
    let d = fresh_dir("/tmp/dup");
    let path = format!("{d}/f");
    fs::write(&path, b"0123456789").unwrap();
    let a = open(&path, O_RDWR | O_CLOEXEC, 0).unwrap();
    assert_eq!(sys::fcntl(a, F_GETFD, 0), Ok(FD_CLOEXEC));
    let b = sys::dup(a).unwrap();
    assert_eq!(sys::fcntl(b, F_GETFD, 0), Ok(0), "dup clears FD_CLOEXEC");
    assert_eq!(read_fd(a, 3).unwrap(), b"012");
    assert_eq!(read_fd(b, 3).unwrap(), b"345", "the offset is shared");
    assert_eq!(sys::lseek(b, 0, SEEK_CUR), Ok(6));
    sys::fcntl(a, F_SETFL, O_APPEND as u64).unwrap();
    assert_eq!(sys::fcntl(b, F_GETFL, 0).unwrap() & O_APPEND, O_APPEND, "status flags are shared");
    // dup2 onto an open descriptor closes it; onto itself does nothing.
    let c = open("/etc/app.conf", O_RDONLY, 0).unwrap();
    assert_eq!(sys::dup2(a, c), Ok(c));
    assert_eq!(sys::lseek(c, 0, SEEK_CUR), Ok(6));
    assert_eq!(sys::dup2(a, a), Ok(a));
    assert_eq!(sys::dup2(99, 100), Err(Errno::EBADF));
    assert_eq!(sys::dup2(a, 1 << 20), Err(Errno::EBADF));
    assert_eq!(sys::dup3(a, a, 0), Err(Errno::EINVAL));
    assert_eq!(sys::dup3(a, 50, O_CLOEXEC), Ok(50));
    assert_eq!(sys::fcntl(50, F_GETFD, 0), Ok(FD_CLOEXEC));
    assert_eq!(sys::dup3(a, 51, O_NONBLOCK), Err(Errno::EINVAL));
    // F_DUPFD picks the lowest free at or above its argument.
    assert_eq!(sys::fcntl(a, F_DUPFD, 40), Ok(40));
    assert_eq!(sys::fcntl(a, F_DUPFD_CLOEXEC, 40), Ok(41));
    assert_eq!(sys::fcntl(41, F_GETFD, 0), Ok(FD_CLOEXEC));
    assert_eq!(sys::fcntl(a, F_DUPFD, 5000), Err(Errno::EINVAL));
    assert_eq!(sys::fcntl(a, 9999, 0), Err(Errno::EINVAL));
    for fd in [a, b, c, 50, 40, 41] {
        sys::close(fd).unwrap();
    }
    assert_eq!(sys::close(a), Err(Errno::EBADF));
    assert_eq!(sys::close(-1), Err(Errno::EBADF));
    assert_eq!(read_fd(a, 1), Err(Errno::EBADF));
}

#[libos::test]
fn access_modes_are_enforced() {
    let d = fresh_dir("/tmp/modes");
    let path = format!("{d}/f");
    fs::write(&path, b"abc").unwrap();
    let r = open(&path, O_RDONLY, 0).unwrap();
    assert_eq!(write_fd(r, b"x"), Err(Errno::EBADF));
    assert_eq!(sys::ftruncate(r, 0), Err(Errno::EINVAL));
    let w = open(&path, O_WRONLY, 0).unwrap();
    assert_eq!(read_fd(w, 1), Err(Errno::EBADF));
    let p = open(&path, O_PATH, 0).unwrap();
    assert_eq!(read_fd(p, 1), Err(Errno::EBADF));
    let mut st = Stat::default();
    // SAFETY: writable.
    unsafe { sys::fstat(p, &mut st) }.unwrap();
    assert_eq!(st.st_size, 3);
    let dir = open(&d, O_RDONLY, 0).unwrap();
    assert_eq!(read_fd(dir, 1), Err(Errno::EISDIR));
    assert_eq!(sys::lseek(dir, 0, SEEK_SET), Ok(0));
    assert_eq!(sys::lseek(r, -1, SEEK_SET), Err(Errno::EINVAL));
    assert_eq!(sys::lseek(r, 0, 7), Err(Errno::EINVAL));
    assert_eq!(sys::lseek(r, -1, SEEK_END), Ok(2));
    for fd in [r, w, p, dir] {
        sys::close(fd).unwrap();
    }
}

#[libos::test]
fn emfile_at_the_descriptor_limit() {
    let mut fds = Vec::new();
    let err = loop {
        match open("/etc/app.conf", O_RDONLY, 0) {
            Ok(fd) => fds.push(fd),
            Err(e) => break e,
        }
        assert!(fds.len() <= 1024, "no limit");
    };
    assert_eq!(err, Errno::EMFILE);
    assert_eq!(fds.len(), 1024 - 3, "RLIMIT_NOFILE 1024, with 0, 1, 2 taken");
    assert_eq!(sys::dup(0), Err(Errno::EMFILE));
    let mut pair = [0i32; 2];
    // SAFETY: writable.
    assert_eq!(unsafe { sys::pipe(pair.as_mut_ptr()) }, Err(Errno::EMFILE));
    sys::close(fds[500]).unwrap();
    assert_eq!(sys::dup(0), Ok(fds[500]), "the lowest free number");
    for fd in fds {
        sys::close(fd).unwrap();
    }
}

#[libos::test]
fn pread_pwrite_readv_writev() {
    let d = fresh_dir("/tmp/vec");
    let path = format!("{d}/f");
    let fd = open(&path, O_CREAT | O_RDWR, 0o644).unwrap();
    let parts: [&[u8]; 3] = [b"hello ", b"", b"world"];
    let iov: Vec<Iovec> =
        parts.iter().map(|p| Iovec { iov_base: p.as_ptr() as u64, iov_len: p.len() as u64 }).collect();
    // SAFETY: the iovecs point at live buffers.
    assert_eq!(unsafe { sys::writev(fd, iov.as_ptr(), 3) }, Ok(11));
    // SAFETY: as above.
    assert_eq!(unsafe { sys::pwrite64(fd, b"W".as_ptr(), 1, 6) }, Ok(1));
    assert_eq!(sys::lseek(fd, 0, SEEK_CUR), Ok(11), "pwrite leaves the offset");
    let mut a = [0u8; 5];
    let mut b = [0u8; 6];
    let iov =
        [Iovec { iov_base: a.as_mut_ptr() as u64, iov_len: 5 }, Iovec { iov_base: b.as_mut_ptr() as u64, iov_len: 6 }];
    sys::lseek(fd, 0, SEEK_SET).unwrap();
    // SAFETY: as above.
    assert_eq!(unsafe { sys::readv(fd, iov.as_ptr(), 2) }, Ok(11));
    assert_eq!((&a, &b), (b"hello", b" World"));
    let mut c = [0u8; 4];
    // SAFETY: writable.
    assert_eq!(unsafe { sys::pread64(fd, c.as_mut_ptr(), 4, 7) }, Ok(4));
    assert_eq!(&c, b"orld");
    // SAFETY: writable.
    assert_eq!(unsafe { sys::pread64(fd, c.as_mut_ptr(), 4, -1) }, Err(Errno::EINVAL));
    // SAFETY: the kernel must refuse before reading the vector.
    assert_eq!(unsafe { sys::readv(fd, iov.as_ptr(), 1025) }, Err(Errno::EINVAL));
    // SAFETY: as above.
    assert_eq!(unsafe { sys::readv(fd, iov.as_ptr(), -1) }, Err(Errno::EINVAL));
    // Sparse: a write past the end leaves a hole of zeros.
    // SAFETY: readable.
    assert_eq!(unsafe { sys::pwrite64(fd, b"Z".as_ptr(), 1, 100_000) }, Ok(1));
    let all = fs::read(&path).unwrap();
    assert_eq!(all.len(), 100_001);
    assert!(all[11..100_000].iter().all(|&b| b == 0));
    sys::ftruncate(fd, 3).unwrap();
    assert_eq!(fs::read(&path).unwrap(), b"hel");
    sys::close(fd).unwrap();
}

/// `sendfile(out, in, offset, count)`.
fn sendfile(out: i32, input: i32, offset: Option<&mut i64>, count: usize) -> Result<usize, Errno> {
    let p = offset.map_or(core::ptr::null_mut(), |o| o as *mut i64);
    // SAFETY: `p` is null or a live i64.
    unsafe { sys::sendfile(out, input, p, count) }
}

#[libos::test]
fn sendfile_copies_between_descriptors() {
    let d = fresh_dir("/tmp/sendfile");
    let data = crate::util::pattern(9, 200_000);
    fs::write(format!("{d}/in"), &data).unwrap();
    let input = open(&format!("{d}/in"), O_RDONLY, 0).unwrap();
    let out = open(&format!("{d}/out"), O_CREAT | O_WRONLY, 0o644).unwrap();
    // At the input's offset, which moves (more than one kernel buffer).
    sys::lseek(input, 1000, SEEK_SET).unwrap();
    assert_eq!(sendfile(out, input, None, 150_000), Ok(150_000));
    assert_eq!(sys::lseek(input, 0, SEEK_CUR), Ok(151_000));
    assert_eq!(sys::lseek(out, 0, SEEK_CUR), Ok(150_000));
    // At *offset, which advances; the input's offset stays. Past the end:
    // what there is, then 0.
    let mut at = 190_000i64;
    assert_eq!(sendfile(out, input, Some(&mut at), 50_000), Ok(10_000));
    assert_eq!(at, 200_000);
    assert_eq!(sendfile(out, input, Some(&mut at), 50_000), Ok(0));
    assert_eq!(sys::lseek(input, 0, SEEK_CUR), Ok(151_000));
    let got = fs::read(format!("{d}/out")).unwrap();
    assert!(got[..150_000] == data[1000..151_000] && got[150_000..] == data[190_000..], "the bytes copied");
    // To a pipe and to the console.
    let mut fds = [0i32; 2];
    // SAFETY: writable.
    unsafe { sys::pipe2(fds.as_mut_ptr(), 0) }.unwrap();
    let mut at = 0i64;
    assert_eq!(sendfile(fds[1], input, Some(&mut at), 100), Ok(100));
    assert_eq!(read_fd(fds[0], 200).unwrap(), data[..100]);
    fs::write(format!("{d}/line"), b"fs-tests: a line sent by sendfile\n").unwrap();
    let line = open(&format!("{d}/line"), O_RDONLY, 0).unwrap();
    assert_eq!(sendfile(1, line, None, 1000), Ok(34));
    // Linux's errors: the input a pipe (EINVAL; with an offset ESPIPE),
    // access modes (EBADF), O_APPEND output (EINVAL), a negative or
    // unreadable offset (EINVAL, EFAULT).
    assert_eq!(sendfile(out, fds[0], None, 10), Err(Errno::EINVAL));
    assert_eq!(sendfile(out, fds[0], Some(&mut 0), 10), Err(Errno::ESPIPE));
    assert_eq!(sendfile(out, out, None, 10), Err(Errno::EBADF));
    assert_eq!(sendfile(input, input, None, 10), Err(Errno::EBADF));
    assert_eq!(sendfile(out, 999, None, 10), Err(Errno::EBADF));
    let appending = open(&format!("{d}/out"), O_WRONLY | O_APPEND, 0).unwrap();
    assert_eq!(sendfile(appending, input, None, 10), Err(Errno::EINVAL));
    assert_eq!(sendfile(out, input, Some(&mut -1), 10), Err(Errno::EINVAL));
    // SAFETY: the kernel must refuse the kernel address.
    assert_eq!(unsafe { sys::sendfile(out, input, 0xffff_8000_0000_0000usize as *mut i64, 10) }, Err(Errno::EFAULT));
    for fd in [input, out, fds[0], fds[1], line, appending] {
        sys::close(fd).unwrap();
    }
}

#[libos::test]
fn getdents_lists_every_entry_once_with_small_buffers() {
    let d = fresh_dir("/tmp/dents");
    for i in 0..100 {
        fs::write(format!("{d}/entry-{i:03}"), b"").unwrap();
    }
    let fd = open(&d, O_RDONLY | O_DIRECTORY, 0).unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 64];
    loop {
        // SAFETY: writable.
        let n = unsafe { sys::getdents64(fd, buf.as_mut_ptr(), buf.len()) }.unwrap();
        if n == 0 {
            break;
        }
        let mut at = 0;
        while at < n {
            let reclen = u16::from_ne_bytes([buf[at + 16], buf[at + 17]]) as usize;
            let name = &buf[at + 19..at + reclen];
            let name = &name[..name.iter().position(|&b| b == 0).unwrap()];
            seen.push(String::from_utf8(name.to_vec()).unwrap());
            at += reclen;
        }
    }
    // SAFETY: writable; one byte is too small for any record.
    assert_eq!(unsafe { sys::getdents64(fd, buf.as_mut_ptr(), 1) }, Ok(0), "at the end");
    sys::lseek(fd, 0, SEEK_SET).unwrap();
    // SAFETY: as above.
    assert_eq!(unsafe { sys::getdents64(fd, buf.as_mut_ptr(), 1) }, Err(Errno::EINVAL));
    let file = open("/etc/app.conf", O_RDONLY, 0).unwrap();
    // SAFETY: writable.
    assert_eq!(unsafe { sys::getdents64(file, buf.as_mut_ptr(), buf.len()) }, Err(Errno::ENOTDIR));
    sys::close(file).unwrap();
    sys::close(fd).unwrap();
    seen.sort();
    assert_eq!(seen.len(), 102);
    assert_eq!(&seen[..2], [".", ".."]);
    for i in 0..100 {
        assert_eq!(seen[i + 2], format!("entry-{i:03}"));
    }
}
