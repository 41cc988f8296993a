//! `mmap` of a file: contents, offsets, copy-on-write isolation, `SIGBUS`
//! past the end of the file, `PROT_EXEC`, read-only `MAP_SHARED`, `msync`,
//! and Linux's errors.

use libos::fs;
use libos::prelude::*;

use crate::util::fs_types::*;
use crate::util::{Errno, fresh_dir, open, pattern, sys};
use libos::__private::abi::abi_types::{
    MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, MAP_SHARED, PROT_EXEC, PROT_READ, PROT_WRITE,
};

const PAGE: usize = 4096;

/// `mmap(0, len, prot, flags, fd, offset)`.
fn map(len: usize, prot: i32, flags: i32, fd: i32, offset: i64) -> Result<usize, Errno> {
    // SAFETY: not MAP_FIXED: a fresh range the test owns.
    unsafe { sys::mmap(0, len, prot, flags, fd, offset) }
}

/// The `len` bytes at `addr` (a mapping the test owns).
fn bytes(addr: usize, len: usize) -> &'static [u8] {
    // SAFETY: the test mapped `addr..addr + len` readable and leaks it.
    unsafe { core::slice::from_raw_parts(addr as *const u8, len) }
}

/// A file of `len` bytes of pattern `id` in `/tmp/map`; returns its path.
fn file(name: &str, id: u64, len: usize) -> String {
    let d = fresh_dir(&format!("/tmp/map-{name}"));
    let path = format!("{d}/f");
    fs::write(&path, pattern(id, len)).unwrap();
    path
}

#[libos::test]
fn a_private_mapping_holds_the_file_from_its_offset() {
    let data = pattern(1, 3 * PAGE + 100);
    let path = file("contents", 1, data.len());
    let fd = open(&path, O_RDONLY, 0).unwrap();
    let whole = map(data.len(), PROT_READ, MAP_PRIVATE, fd, 0).unwrap();
    assert_eq!(bytes(whole, data.len()), &data[..]);
    // The rest of the last page reads as zeros.
    assert!(bytes(whole + data.len(), 4 * PAGE - data.len()).iter().all(|&b| b == 0));
    let from_page_2 = map(PAGE + 100, PROT_READ, MAP_PRIVATE, fd, 2 * PAGE as i64).unwrap();
    assert_eq!(bytes(from_page_2, PAGE + 100), &data[2 * PAGE..]);
    // Closing the descriptor leaves the mapping.
    sys::close(fd).unwrap();
    assert_eq!(bytes(whole, 16), &data[..16]);
}

#[libos::test]
fn private_writes_stay_in_the_mapping() {
    let data = pattern(2, 2 * PAGE);
    let path = file("cow", 2, data.len());
    let fd = open(&path, O_RDWR, 0).unwrap();
    let a = map(data.len(), PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0).unwrap();
    let b = map(data.len(), PROT_READ, MAP_PRIVATE, fd, 0).unwrap();
    // SAFETY: `a` is our writable mapping of two pages.
    unsafe { core::ptr::write_bytes(a as *mut u8, 0xAB, PAGE + 10) };
    assert!(bytes(a, PAGE + 10).iter().all(|&x| x == 0xAB));
    assert_eq!(bytes(b, data.len()), &data[..], "another mapping of the file is untouched");
    assert_eq!(fs::read(&path).unwrap(), data, "the file is untouched");
    sys::close(fd).unwrap();
}

#[libos::test(expect_fault = PF)]
fn touching_a_page_past_the_end_of_the_file_is_sigbus() {
    let path = file("sigbus", 3, 100);
    let fd = open(&path, O_RDONLY, 0).unwrap();
    let at = map(3 * PAGE, PROT_READ, MAP_PRIVATE, fd, 0).unwrap();
    // The file's one page reads, zeros after its 100 bytes.
    assert_eq!(bytes(at, 100), &pattern(3, 100)[..]);
    assert_eq!(bytes(at + PAGE - 1, 1), [0]);
    libos::debug::call(libos::debug::EXPECT_SIGNAL, 7, 0).unwrap();
    // SAFETY: inside our mapping, past the file's end: must fault.
    let x = unsafe { core::ptr::read_volatile((at + PAGE) as *const u8) };
    panic!("reading past the end of the file gave {x}, not SIGBUS");
}

#[libos::test]
fn an_exec_mapping_runs_code_from_the_file() {
    // mov eax, 42; ret
    let code = [0xB8, 42, 0, 0, 0, 0xC3];
    let d = fresh_dir("/tmp/map-exec");
    let path = format!("{d}/code");
    fs::write(&path, code).unwrap();
    let fd = open(&path, O_RDONLY, 0).unwrap();
    let at = map(code.len(), PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0).unwrap();
    // SAFETY: the mapping holds the function above, executable.
    let f: extern "C" fn() -> u32 = unsafe { core::mem::transmute(at) };
    assert_eq!(f(), 42);
    sys::close(fd).unwrap();
}

#[libos::test]
fn a_shared_mapping_is_read_only_here() {
    let data = pattern(4, PAGE);
    let path = file("shared", 4, data.len());
    let ro = open(&path, O_RDONLY, 0).unwrap();
    let rw = open(&path, O_RDWR, 0).unwrap();
    let at = map(PAGE, PROT_READ, MAP_SHARED, ro, 0).unwrap();
    assert_eq!(bytes(at, PAGE), &data[..]);
    assert_eq!(sys::msync(at, PAGE, 4), Ok(()), "MS_SYNC");
    assert_eq!(sys::msync(at, PAGE, 1 | 4), Err(Errno::EINVAL), "MS_ASYNC | MS_SYNC");
    assert_eq!(sys::msync(at + 1, PAGE, 4), Err(Errno::EINVAL), "unaligned");
    assert_eq!(sys::msync(at, PAGE, 8), Err(Errno::EINVAL), "unknown flag");
    // Linux: EACCES for a file opened read-only.
    assert_eq!(map(PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0), Err(Errno::EACCES));
    // SAFETY: only the protection of our own mapping changes (and must not).
    assert_eq!(unsafe { sys::mprotect(at, PAGE, PROT_READ | PROT_WRITE) }, Err(Errno::EACCES));
    // Writable shared mappings are not supported: ENODEV, never a copy
    // that would not reach the file.
    assert_eq!(map(PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, rw, 0), Err(Errno::ENODEV));
    // A private writable one of the same descriptor is fine.
    assert!(map(PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, rw, 0).is_ok());
    sys::close(ro).unwrap();
    sys::close(rw).unwrap();
}

#[libos::test]
fn file_mappings_answer_linux_errors() {
    let path = file("errors", 5, 2 * PAGE);
    let ro = open(&path, O_RDONLY, 0).unwrap();
    let wo = open(&path, O_WRONLY, 0).unwrap();
    assert_eq!(map(PAGE, PROT_READ, MAP_PRIVATE, 999, 0), Err(Errno::EBADF));
    assert_eq!(map(PAGE, PROT_READ, MAP_PRIVATE, -1, 0), Err(Errno::EBADF));
    assert_eq!(map(PAGE, PROT_READ, MAP_PRIVATE, ro, 100), Err(Errno::EINVAL), "unaligned offset");
    assert_eq!(map(PAGE, PROT_READ, MAP_PRIVATE, ro, 4095), Err(Errno::EINVAL));
    assert_eq!(map(0, PROT_READ, MAP_PRIVATE, ro, 0), Err(Errno::EINVAL), "zero length");
    assert_eq!(map(PAGE, PROT_READ, MAP_PRIVATE, wo, 0), Err(Errno::EACCES), "not open for reading");
    let mut fds = [0i32; 2];
    // SAFETY: `fds` is writable.
    unsafe { sys::pipe2(fds.as_mut_ptr(), 0) }.unwrap();
    assert_eq!(map(PAGE, PROT_READ, MAP_PRIVATE, fds[0], 0), Err(Errno::ENODEV), "a pipe");
    assert_eq!(map(PAGE, PROT_READ, MAP_PRIVATE, 0, 0), Err(Errno::ENODEV), "the console");
    let dir = open("/tmp", O_RDONLY | O_DIRECTORY, 0).unwrap();
    assert_eq!(map(PAGE, PROT_READ, MAP_PRIVATE, dir, 0), Err(Errno::ENODEV), "a directory");
    let proc = open("/proc/cpuinfo", O_RDONLY, 0).unwrap();
    assert_eq!(map(PAGE, PROT_READ, MAP_PRIVATE, proc, 0), Err(Errno::ENODEV), "a /proc file");
    let opath = open(&path, O_PATH, 0).unwrap();
    assert_eq!(map(PAGE, PROT_READ, MAP_PRIVATE, opath, 0), Err(Errno::EBADF), "O_PATH");
    // An offset past the end maps nothing of the file: every page is SIGBUS
    // (not tested here), the call succeeds as on Linux.
    assert!(map(PAGE, PROT_READ, MAP_PRIVATE, ro, 16 * PAGE as i64).is_ok());
    // msync of an unmapped range: ENOMEM.
    let anon = map(2 * PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0).unwrap();
    // SAFETY: our own anonymous mapping.
    unsafe { sys::munmap(anon + PAGE, PAGE) }.unwrap();
    assert_eq!(sys::msync(anon, 2 * PAGE, 4), Err(Errno::ENOMEM));
    for fd in [ro, wo, fds[0], fds[1], dir, proc, opath] {
        sys::close(fd).unwrap();
    }
}

#[libos::test]
fn a_fixed_file_mapping_replaces_what_was_there() {
    let data = pattern(6, PAGE);
    let path = file("fixed", 6, data.len());
    let fd = open(&path, O_RDONLY, 0).unwrap();
    let anon = map(2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0).unwrap();
    // SAFETY: our own anonymous mapping, written then replaced.
    unsafe { core::ptr::write_bytes(anon as *mut u8, 0x11, 2 * PAGE) };
    // SAFETY: replacing the first page of our own mapping.
    let at = unsafe { sys::mmap(anon, PAGE, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0) }.unwrap();
    assert_eq!(at, anon);
    assert_eq!(bytes(anon, PAGE), &data[..]);
    assert!(bytes(anon + PAGE, PAGE).iter().all(|&b| b == 0x11));
    sys::close(fd).unwrap();
}

#[libos::test]
fn maps_shows_a_file_mapping_with_its_offset_and_inode() {
    let path = file("maps", 7, 3 * PAGE);
    let fd = open(&path, O_RDONLY, 0).unwrap();
    let mut st = Stat::default();
    // SAFETY: writable.
    unsafe { sys::fstat(fd, &mut st) }.unwrap();
    let at = map(2 * PAGE, PROT_READ, MAP_PRIVATE, fd, PAGE as i64).unwrap();
    let maps = fs::read_to_string("/proc/self/maps").unwrap();
    let (major, minor) = ((st.st_dev >> 8) & 0xfff, st.st_dev & 0xff);
    let want = format!("{:08x}-{:08x} r--p {:08x} {major:02x}:{minor:02x} {} \n", at, at + 2 * PAGE, PAGE, st.st_ino);
    assert!(maps.contains(&want), "no line {want:?} in\n{maps}");
    sys::close(fd).unwrap();
}
