//! Structures and flag values that system calls exchange, with the Linux
//! x86_64 layouts and values.
//!
//! Every structure is `#[repr(C)]` and its size and field offsets are
//! checked at compile time against Linux's, so an app built against these
//! definitions also runs under Linux and the kernel can copy them to and from
//! user memory as plain bytes.

use core::mem::{offset_of, size_of};

/// Nanoseconds in a second.
pub const NSEC_PER_SEC: i64 = 1_000_000_000;

/// A point in time or a duration: `struct timespec`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Timespec {
    /// Whole seconds.
    pub tv_sec: i64,
    /// Nanoseconds, `0..NSEC_PER_SEC` in a valid value.
    pub tv_nsec: i64,
}

impl Timespec {
    /// Zero.
    pub const ZERO: Timespec = Timespec::new(0, 0);

    /// `tv_sec` seconds and `tv_nsec` nanoseconds.
    pub const fn new(tv_sec: i64, tv_nsec: i64) -> Timespec {
        Timespec { tv_sec, tv_nsec }
    }

    /// The value for a number of nanoseconds.
    pub const fn from_nanos(nanos: u64) -> Timespec {
        Timespec { tv_sec: (nanos / NSEC_PER_SEC as u64) as i64, tv_nsec: (nanos % NSEC_PER_SEC as u64) as i64 }
    }

    /// Whether Linux accepts it as a duration: non-negative seconds and
    /// nanoseconds in `0..NSEC_PER_SEC` (else `EINVAL`).
    pub const fn is_valid(&self) -> bool {
        self.tv_sec >= 0 && self.tv_nsec >= 0 && self.tv_nsec < NSEC_PER_SEC
    }

    /// The total in nanoseconds, or `None` when invalid or beyond `u64`.
    pub const fn as_nanos(&self) -> Option<u64> {
        if !self.is_valid() {
            return None;
        }
        match (self.tv_sec as u64).checked_mul(NSEC_PER_SEC as u64) {
            Some(n) => n.checked_add(self.tv_nsec as u64),
            None => None,
        }
    }
}

/// Bytes in each [`Utsname`] field, NUL terminator included.
pub const UTSNAME_FIELD_LEN: usize = 65;

/// What `uname` fills in: `struct utsname` (`struct new_utsname` in Linux).
/// Each field is a NUL-terminated string.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Utsname {
    /// Operating system name (`"Linux"` under Linux).
    pub sysname: [u8; UTSNAME_FIELD_LEN],
    /// Host name.
    pub nodename: [u8; UTSNAME_FIELD_LEN],
    /// Operating system release.
    pub release: [u8; UTSNAME_FIELD_LEN],
    /// Operating system version.
    pub version: [u8; UTSNAME_FIELD_LEN],
    /// Hardware name (`"x86_64"`).
    pub machine: [u8; UTSNAME_FIELD_LEN],
    /// NIS domain name.
    pub domainname: [u8; UTSNAME_FIELD_LEN],
}

impl Utsname {
    /// All fields empty.
    pub const fn zeroed() -> Utsname {
        let empty = [0; UTSNAME_FIELD_LEN];
        Utsname { sysname: empty, nodename: empty, release: empty, version: empty, machine: empty, domainname: empty }
    }

    /// A field holding `s`, cut to 64 bytes so the NUL terminator fits.
    pub const fn field(s: &str) -> [u8; UTSNAME_FIELD_LEN] {
        let bytes = s.as_bytes();
        let mut field = [0; UTSNAME_FIELD_LEN];
        let mut i = 0;
        while i < bytes.len() && i < UTSNAME_FIELD_LEN - 1 {
            field[i] = bytes[i];
            i += 1;
        }
        field
    }

    /// The text of a field up to its first NUL, or `None` when that is not
    /// UTF-8.
    pub fn field_str(field: &[u8; UTSNAME_FIELD_LEN]) -> Option<&str> {
        let len = field.iter().position(|&b| b == 0).unwrap_or(field.len());
        core::str::from_utf8(&field[..len]).ok()
    }
}

impl Default for Utsname {
    fn default() -> Utsname {
        Utsname::zeroed()
    }
}

// The layouts are Linux's; the kernel copies these as bytes.
const _: () = {
    assert!(size_of::<Timespec>() == 16);
    assert!(offset_of!(Timespec, tv_sec) == 0);
    assert!(offset_of!(Timespec, tv_nsec) == 8);
    assert!(size_of::<Utsname>() == 6 * 65);
    assert!(core::mem::align_of::<Utsname>() == 1);
    assert!(offset_of!(Utsname, sysname) == 0);
    assert!(offset_of!(Utsname, nodename) == 65);
    assert!(offset_of!(Utsname, release) == 130);
    assert!(offset_of!(Utsname, version) == 195);
    assert!(offset_of!(Utsname, machine) == 260);
    assert!(offset_of!(Utsname, domainname) == 325);
};

/// `clock_gettime` clock: wall-clock time since the Unix epoch.
pub const CLOCK_REALTIME: i32 = 0;
/// `clock_gettime` clock: time since an unspecified start (boot), never
/// going backwards.
pub const CLOCK_MONOTONIC: i32 = 1;

/// `mmap`/`mprotect` protection: no access.
pub const PROT_NONE: i32 = 0;
/// `mmap`/`mprotect` protection: readable.
pub const PROT_READ: i32 = 1;
/// `mmap`/`mprotect` protection: writable.
pub const PROT_WRITE: i32 = 2;
/// `mmap`/`mprotect` protection: executable.
pub const PROT_EXEC: i32 = 4;

/// `mmap` flag: changes are shared with other mappings of the object.
pub const MAP_SHARED: i32 = 0x01;
/// `mmap` flag: a private copy-on-write mapping.
pub const MAP_PRIVATE: i32 = 0x02;
/// `mmap` flag: place the mapping exactly at `addr`, replacing what is there.
pub const MAP_FIXED: i32 = 0x10;
/// `mmap` flag: not backed by a file; zero-filled, `fd` and `offset` ignored.
pub const MAP_ANONYMOUS: i32 = 0x20;
/// `mmap` flag: exactly at `addr`, but fail with `EEXIST` rather than
/// replace an existing mapping.
pub const MAP_FIXED_NOREPLACE: i32 = 0x10_0000;

/// `getrandom` flag: fail with `EAGAIN` instead of blocking.
pub const GRND_NONBLOCK: u32 = 0x01;
/// `getrandom` flag: draw from the "random" source rather than "urandom".
pub const GRND_RANDOM: u32 = 0x02;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timespec_conversions() {
        let t = Timespec::from_nanos(3_000_000_007);
        assert_eq!(t, Timespec::new(3, 7));
        assert_eq!(t.as_nanos(), Some(3_000_000_007));
        assert!(!Timespec::new(0, NSEC_PER_SEC).is_valid());
        assert!(!Timespec::new(-1, 0).is_valid());
        assert_eq!(Timespec::new(0, -1).as_nanos(), None);
        assert_eq!(Timespec::new(i64::MAX, 0).as_nanos(), None);
        assert_eq!(Timespec::ZERO.as_nanos(), Some(0));
    }

    #[test]
    fn utsname_fields() {
        let mut u = Utsname::default();
        assert_eq!(Utsname::field_str(&u.sysname), Some(""));
        u.sysname = Utsname::field("libos");
        assert_eq!(Utsname::field_str(&u.sysname), Some("libos"));
        let long = Utsname::field(core::str::from_utf8(&[b'x'; 100]).unwrap());
        assert_eq!(long[63], b'x');
        assert_eq!(long[64], 0);
        assert_eq!(Utsname::field_str(&long).map(str::len), Some(64));
    }
}

/// `clone` flags (Linux values).
pub mod clone_flags {
    /// Share the address space.
    pub const CLONE_VM: u64 = 0x0000_0100;
    /// Share filesystem information.
    pub const CLONE_FS: u64 = 0x0000_0200;
    /// Share the file descriptor table.
    pub const CLONE_FILES: u64 = 0x0000_0400;
    /// Share signal handlers.
    pub const CLONE_SIGHAND: u64 = 0x0000_0800;
    /// Same thread group (a thread, not a process).
    pub const CLONE_THREAD: u64 = 0x0001_0000;
    /// Share System V semaphore undo lists.
    pub const CLONE_SYSVSEM: u64 = 0x0004_0000;
    /// Set the new thread's TLS (FS base).
    pub const CLONE_SETTLS: u64 = 0x0008_0000;
    /// Write the new tid to `parent_tid`.
    pub const CLONE_PARENT_SETTID: u64 = 0x0010_0000;
    /// Clear `child_tid` and futex-wake it when the thread exits.
    pub const CLONE_CHILD_CLEARTID: u64 = 0x0020_0000;
    /// Write the new tid to `child_tid`.
    pub const CLONE_CHILD_SETTID: u64 = 0x0100_0000;
    /// Ignored by Linux since 2.6 (musl's `pthread_create` still passes it).
    pub const CLONE_DETACHED: u64 = 0x0040_0000;
    /// The parent sleeps until the child execs or ends (`vfork`).
    pub const CLONE_VFORK: u64 = 0x0000_4000;
    /// The low byte: the signal the parent gets when the child ends.
    pub const CSIGNAL: u64 = 0x0000_00ff;
    /// The flags a threads library passes.
    pub const THREAD_FLAGS: u64 = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM;
}

/// `futex` operations (Linux values).
pub mod futex_op {
    /// Wait while the value is as expected.
    pub const FUTEX_WAIT: i32 = 0;
    /// Wake waiters.
    pub const FUTEX_WAKE: i32 = 1;
    /// Wake some waiters, move others to a second futex.
    pub const FUTEX_REQUEUE: i32 = 3;
    /// The same if the value is as expected (`EAGAIN` otherwise).
    pub const FUTEX_CMP_REQUEUE: i32 = 4;
    /// Wait, with a bitset and an absolute timeout.
    pub const FUTEX_WAIT_BITSET: i32 = 9;
    /// Wake waiters whose bitset intersects.
    pub const FUTEX_WAKE_BITSET: i32 = 10;
    /// The futex is private to the process.
    pub const FUTEX_PRIVATE_FLAG: i32 = 128;
    /// Absolute timeouts are on CLOCK_REALTIME.
    pub const FUTEX_CLOCK_REALTIME: i32 = 256;
    /// The bitset that matches every waiter.
    pub const FUTEX_BITSET_MATCH_ANY: u32 = u32::MAX;
}

/// `prctl` options.
pub mod prctl_option {
    /// Names the calling thread.
    pub const PR_SET_NAME: i32 = 15;
    /// Reads the calling thread's name.
    pub const PR_GET_NAME: i32 = 16;
    /// Bytes of a thread name, its NUL included (Linux's `TASK_COMM_LEN`).
    pub const TASK_COMM_LEN: usize = 16;
}

/// `arch_prctl` codes (Linux values).
pub mod arch_prctl_code {
    /// Set the GS base.
    pub const ARCH_SET_GS: i32 = 0x1001;
    /// Set the FS base.
    pub const ARCH_SET_FS: i32 = 0x1002;
    /// Get the FS base.
    pub const ARCH_GET_FS: i32 = 0x1003;
    /// Get the GS base.
    pub const ARCH_GET_GS: i32 = 0x1004;
}
