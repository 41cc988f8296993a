//! The console (the serial port) as a file: descriptors 0, 1 and 2 of
//! every process. Reads wait for at least one byte (carriage returns
//! become newlines); writes of up to 4096 bytes go out whole.

use libos_abi::errno::Errno;
use libos_abi::fs_types::{S_IFCHR, Stat};

use super::file::{FileObject, poll};
use crate::console;
use crate::sched::wait::WaitResult;

/// Bytes one console write emits whole: a `write` of up to this many bytes
/// never has other threads' output inside it (libos's print macros rely on
/// it for lines under 1 KiB; Linux gives pipes the same promise up to
/// `PIPE_BUF`, 4096). Longer writes go out in pieces of this size.
pub const ATOMIC_WRITE: usize = 4096;

/// `/dev/console`'s device number (5:1).
const CONSOLE_RDEV: u64 = (5 << 8) | 1;

/// The console.
pub struct Console;

impl FileObject for Console {
    /// Waits for at least one byte (COM1's receive interrupt wakes the
    /// reader), then returns what is there; `-ERESTARTSYS` when a signal is
    /// pending or the app is ending (Linux's `n_tty_read`: `EINTR`, or a
    /// restart under `SA_RESTART`).
    fn read(&self, _pos: &mut u64, buf: &mut [u8], _flags: i32) -> Result<usize, Errno> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if console::input::wait_for_input()? == WaitResult::Interrupted {
                return Err(Errno::ERESTARTSYS);
            }
            // Another reader may have taken the bytes first.
            let n = console::input::take(buf);
            if n > 0 {
                return Ok(n);
            }
        }
    }

    /// Each piece of up to [`ATOMIC_WRITE`] bytes goes out under one hold
    /// of the console, so other threads' output never lands inside it.
    fn write(&self, _pos: &mut u64, buf: &[u8], _flags: i32) -> Result<usize, Errno> {
        for piece in buf.chunks(ATOMIC_WRITE) {
            console::write_bytes(piece);
        }
        Ok(buf.len())
    }

    fn stat(&self) -> Result<Stat, Errno> {
        Ok(Stat {
            st_mode: S_IFCHR | 0o600,
            st_rdev: CONSOLE_RDEV,
            st_nlink: 1,
            st_blksize: 1024,
            ..Default::default()
        })
    }

    fn poll(&self) -> u32 {
        poll::POLLOUT
    }
}
