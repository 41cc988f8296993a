//! `-- measure`: rough figures for the report, read off the TSC (under
//! `qemu -icount shift=0` the TSC counts instructions): `open`+`fstat`+
//! `close` of a file in the root, and 64 MiB written and read in 4 KiB
//! and 1 MiB calls on `/tmp` and on `/data`. Not a test (no assertion on
//! a number); `cargo xtask bench` does not run it yet.

use libos::prelude::*;

use crate::util::fs_types::*;
use crate::util::{open, sys};

fn tsc() -> u64 {
    // SAFETY: RDTSC only reads a counter; ring 3 may (CR4.TSD is clear).
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// Writes then reads `total` bytes of `path` in calls of `chunk` bytes;
/// returns (write ticks, read ticks).
fn throughput(path: &str, total: usize, chunk: usize) -> (u64, u64) {
    let buf = vec![0x5au8; chunk];
    let fd = open(path, O_CREAT | O_TRUNC | O_RDWR, 0o644).unwrap();
    let t0 = tsc();
    let mut done = 0;
    while done < total {
        done += crate::util::write_fd(fd, &buf).unwrap();
    }
    sys::fsync(fd).unwrap();
    let t1 = tsc();
    sys::lseek(fd, 0, SEEK_SET).unwrap();
    let mut rbuf = vec![0u8; chunk];
    let mut got = 0;
    let t2 = tsc();
    while got < total {
        // SAFETY: writable.
        let n = unsafe { sys::read(fd, rbuf.as_mut_ptr(), rbuf.len()) }.unwrap();
        assert!(n > 0);
        got += n;
    }
    let t3 = tsc();
    sys::close(fd).unwrap();
    libos::fs::remove_file(path).unwrap();
    (t1 - t0, t3 - t2)
}

/// The figures, one line each.
pub fn run() -> i32 {
    let path = crate::util::c("/etc/app.conf");
    let mut st = Stat::default();
    let rounds = 1000u64;
    let t0 = tsc();
    for _ in 0..rounds {
        // SAFETY: NUL-terminated path, writable stat.
        let fd = unsafe { sys::openat(AT_FDCWD, path.as_ptr(), O_RDONLY, 0) }.unwrap();
        // SAFETY: as above.
        unsafe { sys::fstat(fd, &mut st) }.unwrap();
        sys::close(fd).unwrap();
    }
    let per = (tsc() - t0) / rounds;
    libos::println!("measure: open+fstat+close of /etc/app.conf: {per} ticks");
    for dir in ["/tmp", "/data"] {
        for chunk in [4096usize, 1 << 20] {
            let total = 64 << 20;
            let (w, r) = throughput(&format!("{dir}/measure"), total, chunk);
            libos::println!(
                "measure: {dir} 64 MiB in {} KiB calls: write+fsync {} ticks ({:.1} ticks/byte), read {} ticks ({:.1} ticks/byte)",
                chunk >> 10,
                w,
                w as f64 / total as f64,
                r,
                r as f64 / total as f64
            );
        }
    }
    0
}
