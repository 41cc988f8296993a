//! The file workload, the same under both kernels: the cost of
//! `open`+`fstat`+`close` of one file, and the throughput of writing then
//! reading a file in calls of a given size. Raw `syscall` instructions with
//! Linux's numbers (`arch/x86/entry/syscalls/syscall_64.tbl`), which our
//! table keeps, so both guests run the same instructions around the calls.

use core::arch::asm;

use crate::rdtsc;

/// `read`.
pub const READ: u64 = 0;
/// `write`.
pub const WRITE: u64 = 1;
/// `open`.
pub const OPEN: u64 = 2;
/// `close`.
pub const CLOSE: u64 = 3;
/// `fstat`.
pub const FSTAT: u64 = 5;
/// `lseek`.
pub const LSEEK: u64 = 8;
/// `unlink`.
pub const UNLINK: u64 = 87;
/// `fsync`.
pub const FSYNC: u64 = 74;

const O_RDONLY: u64 = 0;
const O_RDWR: u64 = 2;
const O_CREAT: u64 = 0o100;
const O_TRUNC: u64 = 0o1000;

/// The calls of one `open`+`fstat`+`close`.
pub const CALLS_PER_OPEN: u64 = 3;

/// A syscall with three arguments: its return value (negative: `-errno`).
///
/// # Safety
///
/// The call must only read and write memory the caller lends it through
/// the arguments (a path, a buffer of the length given).
#[inline(always)]
pub unsafe fn syscall3(nr: u64, a: u64, b: u64, c: u64) -> i64 {
    let ret: i64;
    // SAFETY: the caller's contract; SYSCALL clobbers RCX and R11.
    unsafe {
        asm!(
            "syscall",
            inlateout("rax") nr as i64 => ret,
            in("rdi") a, in("rsi") b, in("rdx") c,
            out("rcx") _, out("r11") _,
            options(nostack),
        );
    }
    ret
}

/// `struct stat`'s size on x86-64 (`arch/x86/include/uapi/asm/stat.h`).
const STAT_SIZE: usize = 144;

/// `iterations` rounds of `open(path, O_RDONLY)`, `fstat`, `close`, after
/// a tenth as many to warm up: the TSC ticks of the timed ones, or the
/// first error (`-errno`). `path` ends with a NUL.
pub fn open_fstat_close(path: &[u8], iterations: u64) -> Result<u64, i64> {
    assert_eq!(path.last(), Some(&0), "the path ends with a NUL");
    let mut st = [0u64; STAT_SIZE / 8];
    let mut round = || -> Result<(), i64> {
        // SAFETY: `path` is NUL-terminated; `st` is a writable `struct
        // stat`; the descriptor is the one just opened.
        unsafe {
            let fd = syscall3(OPEN, path.as_ptr() as u64, O_RDONLY, 0);
            if fd < 0 {
                return Err(fd);
            }
            let r = syscall3(FSTAT, fd as u64, st.as_mut_ptr() as u64, 0);
            if r < 0 {
                return Err(r);
            }
            let r = syscall3(CLOSE, fd as u64, 0, 0);
            if r < 0 {
                return Err(r);
            }
        }
        Ok(())
    };
    for _ in 0..iterations / 10 + 1 {
        round()?;
    }
    let start = rdtsc();
    for _ in 0..iterations {
        round()?;
    }
    Ok(rdtsc() - start)
}

/// What [`write_then_read`] took: TSC ticks and nanoseconds (from the
/// caller's clock) of the writing and of the reading.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Transfer {
    /// Writing the whole file: TSC ticks.
    pub write_tsc: u64,
    /// Writing: nanoseconds.
    pub write_ns: u64,
    /// Reading it back: TSC ticks.
    pub read_tsc: u64,
    /// Reading: nanoseconds.
    pub read_ns: u64,
}

/// How [`write_then_read`] treats the device under the file.
#[derive(Clone, Copy)]
pub struct OnDisk<'a> {
    /// `fsync` after the last write, inside the write's time.
    pub fsync: bool,
    /// Runs between the writing and the reading (untimed): the Linux
    /// guest drops its page cache there, so that the reading comes from
    /// the disk as ours does (our ext2 keeps no data cache).
    pub between: &'a dyn Fn(),
}

/// A RAM file system: no `fsync`, nothing between.
pub const IN_RAM: OnDisk<'static> = OnDisk { fsync: false, between: &|| {} };

/// Creates `path` (NUL-terminated), writes `total` bytes in calls of
/// `buf.len()` bytes, seeks back and reads them in calls of the same
/// size, then removes it; `now_ns` is the caller's clock. Returns the
/// times, or the first error (`-errno`; a short write is `-ENOSPC`).
pub fn write_then_read(
    path: &[u8],
    total: u64,
    buf: &mut [u8],
    now_ns: &dyn Fn() -> u64,
    disk: OnDisk<'_>,
) -> Result<Transfer, i64> {
    assert_eq!(path.last(), Some(&0), "the path ends with a NUL");
    for (i, b) in buf.iter_mut().enumerate() {
        *b = i as u8;
    }
    let chunk = buf.len() as u64;
    let mut t = Transfer::default();
    // SAFETY: `path` is NUL-terminated; `buf` is ours for its length.
    unsafe {
        let fd = syscall3(OPEN, path.as_ptr() as u64, O_RDWR | O_CREAT | O_TRUNC, 0o600);
        if fd < 0 {
            return Err(fd);
        }
        let fd = fd as u64;
        let result = (|| {
            let (tsc, ns) = (rdtsc(), now_ns());
            let mut done = 0;
            while done < total {
                let n = syscall3(WRITE, fd, buf.as_ptr() as u64, chunk.min(total - done));
                if n <= 0 {
                    return Err(if n < 0 { n } else { -28 });
                }
                done += n as u64;
            }
            if disk.fsync {
                let r = syscall3(FSYNC, fd, 0, 0);
                if r < 0 {
                    return Err(r);
                }
            }
            (t.write_tsc, t.write_ns) = (rdtsc() - tsc, now_ns() - ns);
            (disk.between)();
            let r = syscall3(LSEEK, fd, 0, 0);
            if r < 0 {
                return Err(r);
            }
            let (tsc, ns) = (rdtsc(), now_ns());
            let mut done = 0;
            while done < total {
                let n = syscall3(READ, fd, buf.as_mut_ptr() as u64, chunk.min(total - done));
                if n <= 0 {
                    return Err(if n < 0 { n } else { -5 });
                }
                done += n as u64;
            }
            (t.read_tsc, t.read_ns) = (rdtsc() - tsc, now_ns() - ns);
            Ok(())
        })();
        syscall3(CLOSE, fd, 0, 0);
        syscall3(UNLINK, path.as_ptr() as u64, 0, 0);
        result?;
    }
    Ok(t)
}

/// The file the throughput runs write (`/tmp` is a RAM file system under
/// both kernels: ours' ramfs, Linux's initramfs).
pub const DATA_PATH: &[u8] = b"/tmp/bench-data\0";
/// The file `open`+`fstat`+`close` opens.
pub const STAT_PATH: &[u8] = b"/tmp/bench-stat\0";
/// The call sizes of the throughput runs: 4 KiB and 1 MiB.
pub const CHUNKS: [usize; 2] = [4096, 1 << 20];

/// The whole workload: `iterations` rounds of `open`+`fstat`+`close`, then
/// for each of [`CHUNKS`], `total` bytes written and read back in calls of
/// that size (`buf` holds at least the largest). Hands each figure to
/// `out`; stops at the first error (`-errno`).
pub fn run(
    iterations: u64,
    total: u64,
    buf: &mut [u8],
    now_ns: &dyn Fn() -> u64,
    out: &mut dyn FnMut(crate::line::FileOp<'_>),
) -> Result<(), i64> {
    // SAFETY: a NUL-terminated path; then the descriptor just opened.
    unsafe {
        let fd = syscall3(OPEN, STAT_PATH.as_ptr() as u64, O_RDWR | O_CREAT | O_TRUNC, 0o600);
        if fd < 0 {
            return Err(fd);
        }
        syscall3(CLOSE, fd as u64, 0, 0);
    }
    let ns = now_ns();
    let tsc = open_fstat_close(STAT_PATH, iterations);
    let ns = now_ns() - ns;
    // SAFETY: a NUL-terminated path.
    unsafe { syscall3(UNLINK, STAT_PATH.as_ptr() as u64, 0, 0) };
    out(crate::line::FileOp { op: "open_fstat_close", chunk: 0, count: iterations, tsc: tsc?, ns });
    for chunk in CHUNKS {
        let t = write_then_read(DATA_PATH, total, &mut buf[..chunk], now_ns, IN_RAM)?;
        out(crate::line::FileOp { op: "write", chunk: chunk as u64, count: total, tsc: t.write_tsc, ns: t.write_ns });
        out(crate::line::FileOp { op: "read", chunk: chunk as u64, count: total, tsc: t.read_tsc, ns: t.read_ns });
    }
    Ok(())
}

/// The file the disk runs write: on the ext2 disk mounted at `/data`
/// under both kernels (ours' virtio-blk driver and ext2, Linux's
/// `virtio_blk` and ext4 driver mounting it as ext2).
pub const DISK_DATA_PATH: &[u8] = b"/data/bench-data\0";

/// The disk workload: for each of [`CHUNKS`], `total` bytes written (then
/// `fsync`: the time until the data is on the disk) and read back (after
/// `drop_caches`, untimed) in calls of that size, as `disk_write` and
/// `disk_read` figures. Stops at the first error (`-errno`).
pub fn run_disk(
    total: u64,
    buf: &mut [u8],
    now_ns: &dyn Fn() -> u64,
    drop_caches: &dyn Fn(),
    out: &mut dyn FnMut(crate::line::FileOp<'_>),
) -> Result<(), i64> {
    let disk = OnDisk { fsync: true, between: drop_caches };
    for chunk in CHUNKS {
        let t = write_then_read(DISK_DATA_PATH, total, &mut buf[..chunk], now_ns, disk)?;
        let (chunk, count) = (chunk as u64, total);
        out(crate::line::FileOp { op: "disk_write", chunk, count, tsc: t.write_tsc, ns: t.write_ns });
        out(crate::line::FileOp { op: "disk_read", chunk, count, tsc: t.read_tsc, ns: t.read_ns });
    }
    Ok(())
}
