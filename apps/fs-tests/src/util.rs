//! Helpers of the tests.

use libos::fs;
use libos::prelude::*;

pub use libos::__private::abi::fs_types;
pub use libos::Errno;
pub use libos::sys;

/// `text` with a NUL, for the raw calls.
pub fn c(text: &str) -> Vec<u8> {
    let mut v = text.as_bytes().to_vec();
    v.push(0);
    v
}

/// An empty directory `path` (removed first if it is there).
pub fn fresh_dir(path: &str) -> String {
    if fs::symlink_metadata(path).is_ok() {
        fs::remove_dir_all(path).unwrap();
    }
    fs::create_dir_all(path).unwrap();
    path.to_string()
}

/// `openat(AT_FDCWD, path, flags, mode)`.
pub fn open(path: &str, flags: i32, mode: u32) -> Result<i32, Errno> {
    let p = c(path);
    // SAFETY: `p` is NUL-terminated.
    unsafe { sys::openat(fs_types::AT_FDCWD, p.as_ptr(), flags, mode) }
}

/// `newfstatat(AT_FDCWD, path, flags)`.
pub fn stat(path: &str, flags: i32) -> Result<fs_types::Stat, Errno> {
    let p = c(path);
    let mut st = fs_types::Stat::default();
    // SAFETY: `p` is NUL-terminated, `st` writable.
    unsafe { sys::newfstatat(fs_types::AT_FDCWD, p.as_ptr(), &mut st, flags) }?;
    Ok(st)
}

/// Writes all of `data` to `fd`.
pub fn write_fd(fd: i32, data: &[u8]) -> Result<usize, Errno> {
    // SAFETY: `data` is readable for its length.
    unsafe { sys::write(fd, data.as_ptr(), data.len()) }
}

/// Reads up to `n` bytes from `fd`.
pub fn read_fd(fd: i32, n: usize) -> Result<Vec<u8>, Errno> {
    let mut buf = vec![0u8; n];
    // SAFETY: `buf` is writable for its length.
    let got = unsafe { sys::read(fd, buf.as_mut_ptr(), buf.len()) }?;
    buf.truncate(got);
    Ok(buf)
}

/// Whether the ext2 disk is mounted at `/data`; skips the test if not.
pub fn require_disk() {
    let p = c("/data");
    let mut st = fs_types::Statfs::default();
    // SAFETY: `p` is NUL-terminated, `st` writable.
    let ok = unsafe { sys::statfs(p.as_ptr(), &mut st) }.is_ok() && st.f_type == fs_types::EXT2_SUPER_MAGIC;
    if !ok {
        libos::testing::skip("no ext2 disk at /data (Bochs has no virtio; QEMU runs attach one)");
    }
}

/// A deterministic byte pattern for file `id`.
pub fn pattern(id: u64, len: usize) -> Vec<u8> {
    let mut x = id.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}
