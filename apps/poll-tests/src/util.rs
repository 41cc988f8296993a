//! Helpers of the tests: the raw calls with slices and options.

use core::ptr;

use libos::prelude::*;

pub use libos::__private::abi::abi_types::Timespec;
pub use libos::__private::abi::fs_types::*;
pub use libos::__private::abi::poll_types::*;
pub use libos::{Errno, sys};

/// A pipe's read and write ends.
pub fn pipe(flags: i32) -> (i32, i32) {
    let mut fds = [0i32; 2];
    // SAFETY: writable.
    unsafe { sys::pipe2(fds.as_mut_ptr(), flags) }.unwrap();
    (fds[0], fds[1])
}

/// Writes `data` to `fd`.
pub fn write_fd(fd: i32, data: &[u8]) -> Result<usize, Errno> {
    // SAFETY: readable for its length.
    unsafe { sys::write(fd, data.as_ptr(), data.len()) }
}

/// Reads up to `n` bytes from `fd`.
pub fn read_fd(fd: i32, n: usize) -> Result<Vec<u8>, Errno> {
    let mut buf = vec![0u8; n];
    // SAFETY: writable for its length.
    let got = unsafe { sys::read(fd, buf.as_mut_ptr(), buf.len()) }?;
    buf.truncate(got);
    Ok(buf)
}

/// `poll` on `fds` (their `revents` filled).
pub fn poll(fds: &mut [PollFd], timeout_ms: i32) -> Result<usize, Errno> {
    // SAFETY: `fds` is valid for its length.
    unsafe { sys::poll(fds.as_mut_ptr(), fds.len() as u32, timeout_ms) }
}

/// One entry of `poll`'s array.
pub fn pfd(fd: i32, events: u32) -> PollFd {
    PollFd { fd, events: events as i16, revents: 0 }
}

/// `revents` as bits.
pub fn rev(p: &PollFd) -> u32 {
    p.revents as u16 as u32
}

/// A new epoll instance.
pub fn epoll() -> i32 {
    sys::epoll_create1(EPOLL_CLOEXEC).unwrap()
}

/// `epoll_ctl` with an event.
pub fn ctl(ep: i32, op: i32, fd: i32, events: u32, data: u64) -> Result<(), Errno> {
    let ev = EpollEvent { events, data };
    // SAFETY: `ev` is readable.
    unsafe { sys::epoll_ctl(ep, op, fd, &ev) }
}

/// `epoll_wait` for up to `max` events: `(events, data)` pairs.
pub fn wait(ep: i32, max: usize, timeout_ms: i32) -> Result<Vec<(u32, u64)>, Errno> {
    let mut evs = vec![EpollEvent::default(); max];
    // SAFETY: `evs` is writable for `max` events.
    let n = unsafe { sys::epoll_wait(ep, evs.as_mut_ptr(), max as i32, timeout_ms) }?;
    Ok(evs[..n].iter().map(|e| (e.events, e.data)).collect())
}

/// A new eventfd.
pub fn eventfd(initval: u32, flags: i32) -> Result<i32, Errno> {
    sys::eventfd2(initval, flags)
}

/// Adds `v` to an eventfd.
pub fn ev_write(fd: i32, v: u64) -> Result<usize, Errno> {
    write_fd(fd, &v.to_ne_bytes())
}

/// Reads an eventfd's value.
pub fn ev_read(fd: i32) -> Result<u64, Errno> {
    let mut b = [0u8; 8];
    // SAFETY: writable for 8 bytes.
    unsafe { sys::read(fd, b.as_mut_ptr(), 8) }?;
    Ok(u64::from_ne_bytes(b))
}

/// Closes each of `fds`.
pub fn close_all(fds: &[i32]) {
    for &fd in fds {
        sys::close(fd).unwrap();
    }
}

/// A null pointer of any type (for the hostile tests).
pub fn null<T>() -> *mut T {
    ptr::null_mut()
}

/// An address in the app's half where nothing is mapped (the first
/// pages).
pub const LOW_ADDR: usize = 0x1000;

/// Eight bytes of read-only memory (a `struct pollfd` whose `revents`
/// cannot be written).
pub static READ_ONLY_POLLFD: [u8; 8] = [1, 0, 0, 0, 4, 0, 0, 0];

/// An address in the kernel's half.
pub const KERNEL_ADDR: usize = 0xffff_8000_0000_0000;
