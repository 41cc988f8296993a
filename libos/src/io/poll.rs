//! Waiting for several descriptors: [`poll`] over `struct pollfd`
//! entries (Linux's `poll`), with a [`Duration`] timeout.

use core::time::Duration;

pub use libos_abi::poll_types::{POLLERR, POLLHUP, POLLIN, POLLNVAL, POLLOUT, POLLPRI, POLLRDHUP, PollFd};

use crate::Errno;
use libos_abi::syscalls::user;

/// An entry asking `fd` for `events` (`POLLIN`, `POLLOUT`...).
pub const fn poll_fd(fd: i32, events: u32) -> PollFd {
    PollFd { fd, events: events as i16, revents: 0 }
}

/// Waits until one of `fds` is ready for its `events` (its `revents` is
/// then non-zero; `POLLHUP`, `POLLERR` and `POLLNVAL` come unasked) or
/// `timeout` passes (`None`: no limit; a timeout is rounded up to whole
/// milliseconds); returns how many entries have events. `EINVAL` for more
/// than 1024 entries, `EINTR` when the app is ending.
pub fn poll(fds: &mut [PollFd], timeout: Option<Duration>) -> Result<usize, Errno> {
    let ms = match timeout {
        None => -1,
        Some(t) => i32::try_from(t.as_nanos().div_ceil(1_000_000)).unwrap_or(i32::MAX),
    };
    let n = u32::try_from(fds.len()).map_err(|_| Errno::EINVAL)?;
    // SAFETY: `fds` is valid for reads and writes of `n` entries, which
    // the kernel reads and whose `revents` it writes.
    unsafe { user::poll(fds.as_mut_ptr(), n, ms) }
}
