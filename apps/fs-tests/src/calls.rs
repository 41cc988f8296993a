//! The path calls and their errors, as Linux gives them.

use libos::fs;
use libos::prelude::*;

use crate::util::fs_types::*;
use crate::util::{Errno, c, fresh_dir, open, stat, sys};
use libos::__private::abi::abi_types::Timespec;

fn errno_of<T: core::fmt::Debug>(r: Result<T, Errno>) -> Errno {
    r.expect_err("the call should have failed")
}

#[libos::test]
fn open_errors() {
    let d = fresh_dir("/tmp/open");
    assert_eq!(errno_of(open("/nonexistent", O_RDONLY, 0)), Errno::ENOENT);
    assert_eq!(errno_of(open("/etc/app.conf/x", O_RDONLY, 0)), Errno::ENOTDIR);
    assert_eq!(errno_of(open("/etc", O_WRONLY, 0)), Errno::EISDIR);
    assert_eq!(errno_of(open("/etc", O_RDWR, 0)), Errno::EISDIR);
    assert_eq!(errno_of(open("/etc/app.conf", O_CREAT | O_EXCL | O_WRONLY, 0o644)), Errno::EEXIST);
    assert_eq!(errno_of(open("/etc/app.conf", O_DIRECTORY, 0)), Errno::ENOTDIR);
    assert_eq!(errno_of(open(&format!("{d}/new"), O_CREAT | O_DIRECTORY, 0o644)), Errno::EINVAL);
    assert_eq!(errno_of(open("/etc/app.link", O_RDONLY | O_NOFOLLOW, 0)), Errno::ELOOP);
    let long = "n".repeat(256);
    assert_eq!(errno_of(open(&format!("{d}/{long}"), O_CREAT | O_WRONLY, 0o644)), Errno::ENAMETOOLONG);
    assert_eq!(errno_of(open(&format!("{d}/missing/x"), O_CREAT | O_WRONLY, 0o644)), Errno::ENOENT);
    assert_eq!(errno_of(open("", O_RDONLY, 0)), Errno::ENOENT);
    // A loop of links.
    fs::symlink(format!("{d}/b"), format!("{d}/a")).unwrap();
    fs::symlink(format!("{d}/a"), format!("{d}/b")).unwrap();
    assert_eq!(errno_of(open(&format!("{d}/a"), O_RDONLY, 0)), Errno::ELOOP);
    // A chain of 40 links resolves; 41 is too many.
    fs::write(format!("{d}/t0"), b"end").unwrap();
    for i in 1..=41 {
        fs::symlink(format!("t{}", i - 1), format!("{d}/t{i}")).unwrap();
    }
    assert_eq!(fs::read(format!("{d}/t40")).unwrap(), b"end");
    assert_eq!(errno_of(open(&format!("{d}/t41"), O_RDONLY, 0)), Errno::ELOOP);
}

#[libos::test]
fn directory_call_errors() {
    let d = fresh_dir("/tmp/dirs");
    let dc = |p: &str| c(&format!("{d}/{p}"));
    // SAFETY: every call below gets NUL-terminated paths.
    unsafe {
        sys::mkdir(dc("x").as_ptr(), 0o755).unwrap();
        assert_eq!(sys::mkdir(dc("x").as_ptr(), 0o755), Err(Errno::EEXIST));
        fs::write(format!("{d}/x/f"), b"1").unwrap();
        assert_eq!(sys::rmdir(dc("x").as_ptr()), Err(Errno::ENOTEMPTY));
        assert_eq!(sys::rmdir(dc("x/f").as_ptr()), Err(Errno::ENOTDIR));
        assert_eq!(sys::unlink(dc("x").as_ptr()), Err(Errno::EISDIR));
        assert_eq!(sys::rmdir(dc("x/.").as_ptr()), Err(Errno::EINVAL));
        assert_eq!(sys::rename(dc("x").as_ptr(), dc("x/sub").as_ptr()), Err(Errno::EINVAL));
        assert_eq!(sys::rename(dc("missing").as_ptr(), dc("y").as_ptr()), Err(Errno::ENOENT));
        sys::mkdir(dc("y").as_ptr(), 0o755).unwrap();
        fs::write(format!("{d}/y/g"), b"2").unwrap();
        assert_eq!(sys::rename(dc("x").as_ptr(), dc("y").as_ptr()), Err(Errno::ENOTEMPTY));
        assert_eq!(sys::rename(dc("x/f").as_ptr(), dc("y").as_ptr()), Err(Errno::EISDIR));
        assert_eq!(sys::rename(dc("x").as_ptr(), dc("y/g").as_ptr()), Err(Errno::ENOTDIR));
        // Across mounts: EXDEV (rename and link).
        assert_eq!(sys::rename(dc("x/f").as_ptr(), c("/etc/f").as_ptr()), Err(Errno::EXDEV));
        assert_eq!(sys::link(dc("x/f").as_ptr(), c("/etc/f").as_ptr()), Err(Errno::EXDEV));
        // The mount point itself is busy.
        assert_eq!(sys::rmdir(c("/tmp").as_ptr()), Err(Errno::EBUSY));
        // renameat2's flags.
        assert_eq!(
            sys::renameat2(AT_FDCWD, dc("x/f").as_ptr(), AT_FDCWD, dc("y/g").as_ptr(), RENAME_NOREPLACE),
            Err(Errno::EEXIST)
        );
        sys::renameat2(AT_FDCWD, dc("x/f").as_ptr(), AT_FDCWD, dc("y/g").as_ptr(), RENAME_EXCHANGE).unwrap();
        assert_eq!(fs::read(format!("{d}/x/f")).unwrap(), b"2");
        assert_eq!(fs::read(format!("{d}/y/g")).unwrap(), b"1");
        assert_eq!(
            sys::renameat2(
                AT_FDCWD,
                dc("x/f").as_ptr(),
                AT_FDCWD,
                dc("y/g").as_ptr(),
                RENAME_EXCHANGE | RENAME_NOREPLACE
            ),
            Err(Errno::EINVAL)
        );
        assert_eq!(sys::unlinkat(AT_FDCWD, dc("x/f").as_ptr(), 0x4), Err(Errno::EINVAL));
    }
}

#[libos::test]
fn links_and_attributes() {
    let d = fresh_dir("/tmp/attrs");
    let f = format!("{d}/f");
    fs::write(&f, b"hello").unwrap();
    fs::hard_link(&f, format!("{d}/g")).unwrap();
    assert_eq!(stat(&f, 0).unwrap().st_nlink, 2);
    assert_eq!(stat(&f, 0).unwrap().st_ino, stat(&format!("{d}/g"), 0).unwrap().st_ino);
    fs::symlink("f", format!("{d}/l")).unwrap();
    let l = stat(&format!("{d}/l"), AT_SYMLINK_NOFOLLOW).unwrap();
    assert_eq!((l.st_mode & S_IFMT, l.st_size), (S_IFLNK, 1));
    // readlink truncates to the buffer and refuses a non-link.
    let mut buf = [0u8; 1];
    // SAFETY: NUL-terminated paths, writable buffers.
    unsafe {
        assert_eq!(sys::readlink(c(&format!("{d}/l")).as_ptr(), buf.as_mut_ptr(), 1), Ok(1));
        assert_eq!(sys::readlink(c(&f).as_ptr(), buf.as_mut_ptr(), 1), Err(Errno::EINVAL));
        assert_eq!(sys::readlink(c(&format!("{d}/l")).as_ptr(), buf.as_mut_ptr(), 0), Err(Errno::EINVAL));
        // chmod, umask, access.
        sys::chmod(c(&f).as_ptr(), 0o600).unwrap();
        assert_eq!(stat(&f, 0).unwrap().st_mode, S_IFREG | 0o600);
        assert_eq!(sys::access(c(&f).as_ptr(), X_OK), Err(Errno::EACCES));
        sys::access(c(&f).as_ptr(), R_OK | W_OK).unwrap();
        assert_eq!(sys::access(c(&f).as_ptr(), 8), Err(Errno::EINVAL));
        sys::access(c("/bin/tool.sh").as_ptr(), X_OK).unwrap();
        let old = sys::umask(0o077).unwrap();
        fs::write(format!("{d}/masked"), b"").unwrap();
        sys::umask(old).unwrap();
        assert_eq!(stat(&format!("{d}/masked"), 0).unwrap().st_mode, S_IFREG | 0o600);
        // truncate, utimensat.
        sys::truncate(c(&f).as_ptr(), 2).unwrap();
        assert_eq!(fs::read(&f).unwrap(), b"he");
        assert_eq!(sys::truncate(c(&f).as_ptr(), -1), Err(Errno::EINVAL));
        assert_eq!(sys::truncate(c(&d).as_ptr(), 0), Err(Errno::EISDIR));
        let times = [Timespec { tv_sec: 1_000_000, tv_nsec: 5 }, Timespec { tv_sec: 2_000_000, tv_nsec: UTIME_OMIT }];
        sys::utimensat(AT_FDCWD, c(&f).as_ptr(), times.as_ptr(), 0).unwrap();
        let st = stat(&f, 0).unwrap();
        assert_eq!((st.st_atime, st.st_atime_nsec), (1_000_000, 5));
        assert_ne!(st.st_mtime, 2_000_000);
        let bad = [Timespec { tv_sec: 0, tv_nsec: 1_000_000_000 }, Timespec { tv_sec: 0, tv_nsec: 0 }];
        assert_eq!(sys::utimensat(AT_FDCWD, c(&f).as_ptr(), bad.as_ptr(), 0), Err(Errno::EINVAL));
    }
}

#[libos::test]
fn stat_statx_and_statfs_agree() {
    let st = stat("/etc/app.conf", 0).unwrap();
    let mut x = Statx::default();
    // SAFETY: NUL-terminated path, writable buffers.
    unsafe {
        sys::statx(AT_FDCWD, c("/etc/app.conf").as_ptr(), 0, STATX_BASIC_STATS, &mut x).unwrap();
        assert_eq!(
            sys::statx(AT_FDCWD, c("/etc/app.conf").as_ptr(), AT_STATX_SYNC_TYPE, 0, &mut x),
            Err(Errno::EINVAL)
        );
        assert_eq!(sys::statx(AT_FDCWD, c("/etc").as_ptr(), 0, STATX_RESERVED, &mut x), Err(Errno::EINVAL));
    }
    assert_eq!((x.stx_ino, x.stx_size, u32::from(x.stx_mode)), (st.st_ino, st.st_size as u64, st.st_mode));
    assert_eq!(x.stx_mask & STATX_BASIC_STATS, STATX_BASIC_STATS);
    let mut fs_root = Statfs::default();
    let mut fs_tmp = Statfs::default();
    // SAFETY: as above.
    unsafe {
        sys::statfs(c("/etc").as_ptr(), &mut fs_root).unwrap();
        sys::statfs(c("/tmp").as_ptr(), &mut fs_tmp).unwrap();
    }
    assert_eq!(fs_root.f_type, RAMFS_MAGIC);
    assert_ne!(fs_root.f_fsid, fs_tmp.f_fsid, "/ and /tmp are different file systems");
    assert_ne!(stat("/", 0).unwrap().st_dev, stat("/tmp", 0).unwrap().st_dev);
    assert!(fs_root.f_blocks > 0 && fs_root.f_bfree <= fs_root.f_blocks);
}

#[libos::test]
fn cwd_chdir_and_relative_paths() {
    let d = fresh_dir("/tmp/cwd");
    fs::create_dir_all(format!("{d}/a/b")).unwrap();
    let mut buf = [0u8; 256];
    // SAFETY: NUL-terminated paths, writable buffers.
    unsafe {
        sys::chdir(c(&format!("{d}/a/b")).as_ptr()).unwrap();
        let n = sys::getcwd(buf.as_mut_ptr(), buf.len()).unwrap();
        assert_eq!(&buf[..n], b"/tmp/cwd/a/b\0");
        assert_eq!(sys::getcwd(buf.as_mut_ptr(), 5), Err(Errno::ERANGE));
        fs::write("rel", b"relative").unwrap();
        assert_eq!(fs::read(format!("{d}/a/b/rel")).unwrap(), b"relative");
        assert_eq!(fs::read("../b/./rel").unwrap(), b"relative");
        // `..` never leaves `/`.
        assert_eq!(stat("../../../../../../..", 0).unwrap().st_ino, stat("/", 0).unwrap().st_ino);
        assert_eq!(fs::read_to_string("../../../../../../../etc/app.conf").unwrap().len(), 58);
        sys::chdir(c("/etc/nested").as_ptr()).unwrap();
        let n = sys::getcwd(buf.as_mut_ptr(), buf.len()).unwrap();
        assert_eq!(&buf[..n], b"/etc/nested\0");
        assert_eq!(sys::chdir(c("/etc/app.conf").as_ptr()), Err(Errno::ENOTDIR));
        // fchdir, and *at calls relative to a directory descriptor.
        let dir = open(&format!("{d}/a"), O_RDONLY | O_DIRECTORY, 0).unwrap();
        let fd = sys::openat(dir, c("b/rel").as_ptr(), O_RDONLY, 0).unwrap();
        sys::close(fd).unwrap();
        let file = open("/etc/app.conf", O_RDONLY, 0).unwrap();
        assert_eq!(sys::openat(file, c("x").as_ptr(), O_RDONLY, 0), Err(Errno::ENOTDIR));
        assert_eq!(sys::openat(99, c("x").as_ptr(), O_RDONLY, 0), Err(Errno::EBADF));
        // An absolute path ignores dirfd, even a bad one.
        sys::close(sys::openat(99, c("/etc/app.conf").as_ptr(), O_RDONLY, 0).unwrap()).unwrap();
        sys::fchdir(dir).unwrap();
        let n = sys::getcwd(buf.as_mut_ptr(), buf.len()).unwrap();
        assert_eq!(&buf[..n], b"/tmp/cwd/a\0");
        assert_eq!(sys::fchdir(file), Err(Errno::ENOTDIR));
        // The current directory removed: getcwd says ENOENT.
        sys::mkdir(c("gone").as_ptr(), 0o755).unwrap();
        sys::chdir(c("gone").as_ptr()).unwrap();
        sys::rmdir(c("/tmp/cwd/a/gone").as_ptr()).unwrap();
        assert_eq!(sys::getcwd(buf.as_mut_ptr(), buf.len()), Err(Errno::ENOENT));
        sys::chdir(c("/").as_ptr()).unwrap();
        sys::close(dir).unwrap();
        sys::close(file).unwrap();
    }
}

#[libos::test]
fn a_removed_open_file_lives_until_closed() {
    let d = fresh_dir("/tmp/unlinked");
    let f = format!("{d}/f");
    fs::write(&f, b"still here").unwrap();
    let fd = open(&f, O_RDONLY, 0).unwrap();
    fs::remove_file(&f).unwrap();
    assert_eq!(crate::util::read_fd(fd, 64).unwrap(), b"still here");
    sys::close(fd).unwrap();
    assert_eq!(errno_of(open(&f, O_RDONLY, 0)), Errno::ENOENT);
}
