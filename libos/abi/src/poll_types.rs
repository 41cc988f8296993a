//! Readiness: the structures and flag values of `poll`, `select`, `epoll`
//! and `eventfd`, with the Linux x86_64 layouts and values
//! (`include/uapi/asm-generic/poll.h`, `include/uapi/linux/eventpoll.h`,
//! `include/uapi/linux/eventfd.h`, `include/uapi/linux/time.h`). Layouts are
//! checked at compile time.

use core::mem::{offset_of, size_of};

use crate::fs_types::{O_CLOEXEC, O_NONBLOCK};

/// Data to read (or the end of it).
pub const POLLIN: u32 = 0x001;
/// Urgent data (out-of-band).
pub const POLLPRI: u32 = 0x002;
/// Room to write.
pub const POLLOUT: u32 = 0x004;
/// An error (always reported, whatever was asked).
pub const POLLERR: u32 = 0x008;
/// Hung up (always reported).
pub const POLLHUP: u32 = 0x010;
/// Not an open descriptor (`poll` only; always reported).
pub const POLLNVAL: u32 = 0x020;
/// Normal data to read (with `POLLIN`).
pub const POLLRDNORM: u32 = 0x040;
/// Priority band data to read.
pub const POLLRDBAND: u32 = 0x080;
/// Room to write normal data (with `POLLOUT`).
pub const POLLWRNORM: u32 = 0x100;
/// Room to write priority band data.
pub const POLLWRBAND: u32 = 0x200;
/// The peer shut its writing half down (stream sockets).
pub const POLLRDHUP: u32 = 0x2000;

/// One entry of `poll`'s array: `struct pollfd`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PollFd {
    /// The descriptor (negative: ignored, `revents` 0).
    pub fd: i32,
    /// What to wait for (`POLLIN`...).
    pub events: i16,
    /// What happened (filled by the kernel).
    pub revents: i16,
}

/// `select`'s descriptor sets hold this many bits (`FD_SETSIZE`).
pub const FD_SETSIZE: usize = 1024;
/// A descriptor set: `fd_set`, bit `fd % 64` of word `fd / 64`.
pub type FdSet = [u64; FD_SETSIZE / 64];

/// `select`'s timeout: `struct timeval` (`__kernel_old_timeval`), the
/// same structure as `gettimeofday`'s.
pub use crate::linux_types::Timeval;

/// `pselect6`'s sixth argument: the signal mask and its size
/// (`struct sigset_argpack` in `fs/select.c`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SigsetArgpack {
    /// Address of the mask (0: none).
    pub ss: u64,
    /// Its size in bytes (8).
    pub ss_len: u64,
}

/// The size of a signal mask (`sigsetsize` of the calls that take one).
pub const SIGSET_SIZE: usize = 8;

/// `epoll` event bits: the `POLL*` values, plus these.
pub const EPOLLIN: u32 = POLLIN;
/// See [`POLLPRI`].
pub const EPOLLPRI: u32 = POLLPRI;
/// See [`POLLOUT`].
pub const EPOLLOUT: u32 = POLLOUT;
/// See [`POLLERR`].
pub const EPOLLERR: u32 = POLLERR;
/// See [`POLLHUP`].
pub const EPOLLHUP: u32 = POLLHUP;
/// See [`POLLRDNORM`].
pub const EPOLLRDNORM: u32 = POLLRDNORM;
/// See [`POLLRDBAND`].
pub const EPOLLRDBAND: u32 = POLLRDBAND;
/// See [`POLLWRNORM`].
pub const EPOLLWRNORM: u32 = POLLWRNORM;
/// See [`POLLWRBAND`].
pub const EPOLLWRBAND: u32 = POLLWRBAND;
/// See [`POLLRDHUP`].
pub const EPOLLRDHUP: u32 = POLLRDHUP;
/// Wake one of the epoll instances watching the file, not all (accepted;
/// this kernel wakes all of them, which Linux allows).
pub const EPOLLEXCLUSIVE: u32 = 1 << 28;
/// Keep the system awake (needs `CAP_BLOCK_SUSPEND`; ignored, as Linux
/// ignores it without the capability).
pub const EPOLLWAKEUP: u32 = 1 << 29;
/// Report once, then disarm until `EPOLL_CTL_MOD`.
pub const EPOLLONESHOT: u32 = 1 << 30;
/// Edge-triggered: report a change once.
pub const EPOLLET: u32 = 1 << 31;

/// `epoll_create1`: close on `exec`.
pub const EPOLL_CLOEXEC: i32 = O_CLOEXEC;
/// `epoll_ctl`: add a watch.
pub const EPOLL_CTL_ADD: i32 = 1;
/// `epoll_ctl`: remove a watch.
pub const EPOLL_CTL_DEL: i32 = 2;
/// `epoll_ctl`: change a watch.
pub const EPOLL_CTL_MOD: i32 = 3;

/// One event: `struct epoll_event`, packed on x86_64 (12 bytes).
#[repr(C, packed)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EpollEvent {
    /// `EPOLL*` bits.
    pub events: u32,
    /// The caller's value, given back with the event.
    pub data: u64,
}

/// `eventfd2`: reads take 1 at a time.
pub const EFD_SEMAPHORE: i32 = 1;
/// `eventfd2`: close on `exec`.
pub const EFD_CLOEXEC: i32 = O_CLOEXEC;
/// `eventfd2`: non-blocking.
pub const EFD_NONBLOCK: i32 = O_NONBLOCK;
/// The largest value an eventfd counter holds (`ULLONG_MAX - 1`).
pub const EVENTFD_MAX: u64 = u64::MAX - 1;

const _: () = {
    assert!(size_of::<PollFd>() == 8);
    assert!(offset_of!(PollFd, events) == 4);
    assert!(offset_of!(PollFd, revents) == 6);
    assert!(size_of::<Timeval>() == 16);
    assert!(size_of::<SigsetArgpack>() == 16);
    assert!(size_of::<EpollEvent>() == 12);
    assert!(offset_of!(EpollEvent, data) == 4);
    assert!(size_of::<FdSet>() == 128);
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_linux_s() {
        assert_eq!(EPOLLET, 0x8000_0000);
        assert_eq!(EPOLLONESHOT, 0x4000_0000);
        assert_eq!(EPOLLEXCLUSIVE, 0x1000_0000);
        assert_eq!(EPOLL_CLOEXEC, 0x80000);
        assert_eq!(EFD_NONBLOCK, 0x800);
        assert_eq!(POLLRDHUP, 0x2000);
    }
}
