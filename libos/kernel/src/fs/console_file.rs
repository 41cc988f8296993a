//! The console (the serial port) as a file: descriptors 0, 1 and 2 of
//! every process. Reads wait for at least one byte and behave as a
//! terminal's in canonical mode (carriage returns become newlines, Ctrl-D
//! at the start of a line is end of file: see `console::input::take`;
//! `EAGAIN` with `O_NONBLOCK`); writes of up to 4096 bytes go out whole.

use libos_abi::errno::Errno;
use libos_abi::fs_types::{O_NONBLOCK, S_IFCHR, Stat};

use super::file::{FileObject, poll};
use crate::console;
use crate::console::input::Taken;
use crate::sched::wait::{WaitQueue, WaitResult};

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
    fn read(&self, _pos: &mut u64, buf: &mut [u8], flags: i32) -> Result<usize, Errno> {
        if buf.is_empty() {
            return Ok(0);
        }
        if flags & O_NONBLOCK != 0 {
            console::input::poll();
            return match console::input::take(buf) {
                Taken::Nothing => Err(Errno::EAGAIN),
                Taken::Bytes(n) => Ok(n),
                Taken::EndOfFile => Ok(0),
            };
        }
        loop {
            if console::input::wait_for_input()? == WaitResult::Interrupted {
                return Err(Errno::ERESTARTSYS);
            }
            // Another reader may have taken the bytes first.
            match console::input::take(buf) {
                Taken::Nothing => {}
                Taken::Bytes(n) => return Ok(n),
                Taken::EndOfFile => return Ok(0),
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

    /// Readable when typed bytes wait (looked for in the UART too), always
    /// writable.
    fn poll(&self) -> u32 {
        let input = if console::input::poll() { poll::POLLIN } else { 0 };
        input | poll::POLLOUT
    }

    /// Woken when bytes arrive (COM1's receive interrupt; without it,
    /// waiters look again every [`console::input::recheck_ns`]).
    fn wait_queue(&self) -> Option<&WaitQueue> {
        Some(&console::input::READERS)
    }
}
