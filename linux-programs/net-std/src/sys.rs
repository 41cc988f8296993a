//! The few C library calls `std` has no API for: signal dispositions and
//! masks, and `send` with flags. musl provides them (the program is
//! linked with it); `sigset_t` is musl's 128 bytes.

use std::ffi::{c_int, c_void};
use std::io;

/// `SIGPIPE`.
pub const SIGPIPE: c_int = 13;
/// `SIG_DFL`.
pub const SIG_DFL: usize = 0;
/// `SIG_IGN`.
pub const SIG_IGN: usize = 1;
/// `MSG_NOSIGNAL`.
pub const MSG_NOSIGNAL: c_int = 0x4000;
/// `SIG_BLOCK` and `SIG_UNBLOCK` of `sigprocmask`.
const SIG_BLOCK: c_int = 0;
const SIG_UNBLOCK: c_int = 1;

/// musl's `sigset_t`.
#[repr(C)]
#[derive(Clone, Copy)]
struct SigSet([u64; 16]);
const _: () = assert!(size_of::<SigSet>() == 128);

impl SigSet {
    fn of(sig: c_int) -> SigSet {
        let mut s = SigSet([0; 16]);
        s.0[0] = 1 << (sig - 1);
        s
    }
}

unsafe extern "C" {
    fn signal(sig: c_int, handler: usize) -> usize;
    fn write(fd: c_int, buf: *const c_void, len: usize) -> isize;
    fn send(fd: c_int, buf: *const c_void, len: usize, flags: c_int) -> isize;
    fn sigprocmask(how: c_int, set: *const SigSet, old: *mut SigSet) -> c_int;
    fn sigpending(set: *mut SigSet) -> c_int;
}

/// Sets `sig`'s disposition to `SIG_DFL` or `SIG_IGN`.
pub fn set_disposition(sig: c_int, handler: usize) {
    assert!(handler == SIG_DFL || handler == SIG_IGN);
    // SAFETY: no handler function is installed, only a disposition.
    let old = unsafe { signal(sig, handler) };
    assert_ne!(old, usize::MAX, "signal({sig}): {}", io::Error::last_os_error());
}

/// `write(fd, data)`: unlike `std`'s `TcpStream::write` (which is `send`
/// with `MSG_NOSIGNAL`), it may raise `SIGPIPE`.
pub fn write_fd(fd: c_int, data: &[u8]) -> io::Result<usize> {
    // SAFETY: `data` is readable for its length.
    let n = unsafe { write(fd, data.as_ptr().cast(), data.len()) };
    if n < 0 { Err(io::Error::last_os_error()) } else { Ok(n as usize) }
}

/// `send(fd, data, flags)`.
pub fn send_flags(fd: c_int, data: &[u8], flags: c_int) -> io::Result<usize> {
    // SAFETY: `data` is readable for its length.
    let n = unsafe { send(fd, data.as_ptr().cast(), data.len(), flags) };
    if n < 0 { Err(io::Error::last_os_error()) } else { Ok(n as usize) }
}

/// Blocks (`true`) or unblocks `sig` in the calling thread.
pub fn block(sig: c_int, blocked: bool) {
    let set = SigSet::of(sig);
    // SAFETY: `set` is a valid set; no old set is asked for.
    let r = unsafe { sigprocmask(if blocked { SIG_BLOCK } else { SIG_UNBLOCK }, &set, std::ptr::null_mut()) };
    assert_eq!(r, 0, "sigprocmask: {}", io::Error::last_os_error());
}

/// Whether `sig` is pending for the calling thread (or the process).
pub fn pending(sig: c_int) -> bool {
    let mut set = SigSet([0; 16]);
    // SAFETY: `set` is writable.
    let r = unsafe { sigpending(&mut set) };
    assert_eq!(r, 0, "sigpending: {}", io::Error::last_os_error());
    set.0[0] & (1 << (sig - 1)) != 0
}
