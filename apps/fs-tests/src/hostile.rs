//! Hostile arguments: paths that are unterminated, 64 KiB long, not
//! UTF-8, or point at kernel memory; buffers and lengths the kernel must
//! not honour. Every call answers Linux's error and the app goes on.

use core::ptr::{without_provenance, without_provenance_mut};

use libos::fs;
use libos::prelude::*;

use crate::util::fs_types::*;
use crate::util::{Errno, c, fresh_dir, open, stat, sys};
use libos::__private::abi::abi_types::{MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE};

/// Addresses no app may hand the kernel.
const BAD: [u64; 4] = [0xffff_ffff_8010_0000, 0xffff_8000_0000_1000, 0x0000_8000_0000_0000, 0x1234_5678_9abc_def0];

/// Two pages, the second unmapped: returns the first's address.
fn page_before_a_hole() -> u64 {
    // SAFETY: a fresh anonymous mapping the test owns.
    let page = unsafe { sys::mmap(0, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) }.unwrap();
    // SAFETY: unmapping the second page of our own mapping.
    unsafe { sys::munmap(page + 4096, 4096) }.unwrap();
    page as u64
}

#[libos::test]
fn an_unterminated_path_at_the_end_of_memory_is_efault() {
    let page = page_before_a_hole();
    let tail = page + 4096 - 100;
    // SAFETY: the last 100 bytes of our page, no NUL among them.
    unsafe { core::ptr::write_bytes(tail as *mut u8, b'a', 100) };
    let p: *const u8 = without_provenance(tail as usize);
    // SAFETY: every call below must stop at the hole; the writes are to our page.
    unsafe {
        assert_eq!(sys::openat(AT_FDCWD, p, O_RDONLY, 0), Err(Errno::EFAULT));
        assert_eq!(sys::mkdir(p, 0o755), Err(Errno::EFAULT));
        assert_eq!(sys::unlink(p), Err(Errno::EFAULT));
        assert_eq!(sys::rename(p, c("/tmp/x").as_ptr()), Err(Errno::EFAULT));
        assert_eq!(sys::symlink(c("/tmp").as_ptr(), p), Err(Errno::EFAULT));
        assert_eq!(sys::chdir(p), Err(Errno::EFAULT));
        // With the NUL as the page's last byte, the same path works (ENOENT).
        core::ptr::write((page + 4095) as *mut u8, 0);
        assert_eq!(sys::openat(AT_FDCWD, p, O_RDONLY, 0), Err(Errno::ENOENT));
        sys::munmap(page as usize, 4096).unwrap();
    }
}

#[libos::test]
fn long_paths_are_enametoolong() {
    // 64 KiB without a NUL in the first PATH_MAX bytes.
    let mut long = vec![b'a'; 64 * 1024];
    *long.last_mut().unwrap() = 0;
    // SAFETY: a NUL-terminated buffer; the kernel stops at PATH_MAX.
    unsafe {
        assert_eq!(sys::openat(AT_FDCWD, long.as_ptr(), O_RDONLY, 0), Err(Errno::ENAMETOOLONG));
        assert_eq!(sys::mkdir(long.as_ptr(), 0o755), Err(Errno::ENAMETOOLONG));
        assert_eq!(sys::chdir(long.as_ptr()), Err(Errno::ENAMETOOLONG));
    }
    // PATH_MAX - 1 bytes is a valid length (then each component is checked).
    let mut just = "/tmp/".as_bytes().to_vec();
    while just.len() < PATH_MAX - 1 {
        just.extend_from_slice(b"a/");
    }
    just.truncate(PATH_MAX - 1);
    just.push(0);
    // SAFETY: NUL-terminated.
    assert_eq!(unsafe { sys::openat(AT_FDCWD, just.as_ptr(), O_RDONLY, 0) }, Err(Errno::ENOENT));
    just.pop();
    just.extend_from_slice(b"a\0");
    // SAFETY: NUL-terminated, PATH_MAX bytes before it.
    assert_eq!(unsafe { sys::openat(AT_FDCWD, just.as_ptr(), O_RDONLY, 0) }, Err(Errno::ENAMETOOLONG));
    // A 255-byte name is fine, 256 is too long.
    let d = fresh_dir("/tmp/names");
    fs::write(format!("{d}/{}", "x".repeat(255)), b"").unwrap();
    assert_eq!(stat(&format!("{d}/{}", "x".repeat(256)), 0).unwrap_err(), Errno::ENAMETOOLONG);
}

#[libos::test]
fn names_that_are_not_utf8_work() {
    let d = fresh_dir("/tmp/bytes");
    let mut name = format!("{d}/").into_bytes();
    name.extend_from_slice(&[0xff, 0xfe, b'x', 0x80]);
    fs::write(&name, b"bytes").unwrap();
    assert_eq!(fs::read(&name).unwrap(), b"bytes");
    let entries: Vec<Vec<u8>> = fs::read_dir(&d).unwrap().map(|e| e.unwrap().file_name_bytes().to_vec()).collect();
    assert_eq!(entries, [vec![0xff, 0xfe, b'x', 0x80]]);
    assert_eq!(fs::write(b"/tmp/a\0b", b"").unwrap_err().kind(), libos::io::ErrorKind::InvalidInput);
}

#[libos::test]
fn kernel_and_null_pointers_are_efault() {
    let fd = open("/etc/app.conf", O_RDONLY, 0).unwrap();
    for addr in BAD.iter().copied().chain([0]) {
        let p: *const u8 = without_provenance(addr as usize);
        let m: *mut u8 = without_provenance_mut(addr as usize);
        // SAFETY: the kernel must refuse every pointer below.
        unsafe {
            assert_eq!(sys::openat(AT_FDCWD, p, O_RDONLY, 0), Err(Errno::EFAULT), "{addr:#x}");
            assert_eq!(sys::stat(p, without_provenance_mut(0x1000)), Err(Errno::EFAULT));
            assert_eq!(sys::read(fd, m, 16), Err(Errno::EFAULT), "read into {addr:#x}");
            assert_eq!(sys::pread64(fd, m, 16, 0), Err(Errno::EFAULT));
            assert_eq!(sys::fstat(fd, m.cast()), Err(Errno::EFAULT));
            assert_eq!(sys::newfstatat(AT_FDCWD, c("/etc").as_ptr(), m.cast(), 0), Err(Errno::EFAULT));
            assert_eq!(sys::getdents64(fd, m, 64), Err(Errno::EFAULT));
            assert_eq!(sys::getcwd(m, 64), Err(Errno::EFAULT));
            assert_eq!(sys::readlink(c("/etc/app.link").as_ptr(), m, 64), Err(Errno::EFAULT));
            assert_eq!(sys::pipe(m.cast()), Err(Errno::EFAULT));
            assert_eq!(sys::readv(fd, p.cast(), 1), Err(Errno::EFAULT));
            // (A null `times` means "now": not an error.)
            if addr != 0 {
                assert_eq!(sys::utimensat(AT_FDCWD, c("/tmp").as_ptr(), p.cast(), 0), Err(Errno::EFAULT));
            }
            let iov = [Iovec { iov_base: addr, iov_len: 16 }];
            assert_eq!(sys::readv(fd, iov.as_ptr(), 1), Err(Errno::EFAULT));
            assert_eq!(sys::writev(1, iov.as_ptr(), 1), Err(Errno::EFAULT));
        }
    }
    // A huge count is refused before any copy; the offset does not move.
    let mut buf = [0u8; 8];
    for len in [usize::MAX, 1 << 47] {
        // SAFETY: the length must be refused.
        assert_eq!(unsafe { sys::read(fd, buf.as_mut_ptr(), len) }, Err(Errno::EFAULT));
    }
    assert_eq!(sys::lseek(fd, 0, SEEK_CUR), Ok(0));
    // A pipe whose fds cannot be stored leaks no descriptor.
    let before = sys::dup(0).unwrap();
    sys::close(before).unwrap();
    // SAFETY: the kernel must refuse the pointer.
    assert_eq!(unsafe { sys::pipe2(without_provenance_mut(BAD[0] as usize), 0) }, Err(Errno::EFAULT));
    let after = sys::dup(0).unwrap();
    assert_eq!(after, before, "no descriptor left behind");
    sys::close(after).unwrap();
    sys::close(fd).unwrap();
}

#[libos::test]
fn a_read_into_a_buffer_that_runs_into_a_hole_is_short() {
    let page = page_before_a_hole();
    let fd = open("/etc/app.conf", O_RDONLY, 0).unwrap();
    // 10 bytes fit before the hole; the file has 58.
    let at: *mut u8 = without_provenance_mut((page + 4096 - 10) as usize);
    // SAFETY: 10 writable bytes, then the hole the kernel must stop at.
    assert_eq!(unsafe { sys::read(fd, at, 58) }, Ok(10));
    // SAFETY: reading back our own page.
    assert_eq!(unsafe { core::slice::from_raw_parts(at, 10) }, b"name = fs-");
    sys::close(fd).unwrap();
    // SAFETY: our own page.
    unsafe { sys::munmap(page as usize, 4096) }.unwrap();
}
