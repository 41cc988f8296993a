//! read and write on the console (Linux's `fs/read_write.c`).

use libos_abi::errno::Errno;
use libos_abi::syscalls::Io;
use libos_abi::user_ptr::{UserPtr, UserPtrMut};

use super::{Cx, Kernel};
use crate::console;
use crate::mm::user_access::{self, copy_from_user, copy_to_user};
use crate::sched::wait::WaitResult;

/// Largest count one read or write handles (Linux's MAX_RW_COUNT).
const MAX_RW_COUNT: usize = 0x7FFF_F000;
/// Bytes one write emits whole: a `write` of up to this many bytes is copied
/// into the kernel first and goes out under one hold of the console, so
/// other threads' output never lands inside it (libos's print macros rely
/// on it for lines under 1 KiB; Linux gives pipes the same promise up to
/// `PIPE_BUF`, 4096). Longer writes go out in pieces of this size.
pub const ATOMIC_WRITE: usize = 4096;

impl Io for Kernel {
    /// fd 0 is the console. Waits for at least one byte, then returns what
    /// is there. The wait ends with `EINTR` if the app is ending.
    fn read(_cx: &mut Cx, fd: i32, buf: UserPtrMut<u8>, count: usize) -> Result<usize, Errno> {
        if fd != 0 {
            return Err(Errno::EBADF);
        }
        let count = count.min(MAX_RW_COUNT);
        user_access::check(buf.addr(), count)?;
        if count == 0 {
            return Ok(0);
        }
        let mut got = [0u8; 256];
        loop {
            if console::input::wait_for_input()? == WaitResult::Interrupted {
                return Err(Errno::EINTR);
            }
            // Another reader may have taken the bytes first.
            let n = console::input::take(&mut got[..count.min(256)]);
            if n > 0 {
                copy_to_user(buf.addr(), &got[..n]).map_err(|(e, _)| e)?;
                return Ok(n);
            }
        }
    }

    /// fds 1 and 2 are the console. Each piece of up to [`ATOMIC_WRITE`]
    /// bytes comes out whole.
    fn write(_cx: &mut Cx, fd: i32, buf: UserPtr<u8>, count: usize) -> Result<usize, Errno> {
        if fd != 1 && fd != 2 {
            return Err(Errno::EBADF);
        }
        let count = count.min(MAX_RW_COUNT);
        user_access::check(buf.addr(), count)?;
        let mut done = 0;
        let mut piece = [0u8; ATOMIC_WRITE];
        while done < count {
            let n = ATOMIC_WRITE.min(count - done);
            match copy_from_user(&mut piece[..n], buf.addr() + done as u64) {
                Ok(()) => {
                    console::write_bytes(&piece[..n]);
                    done += n;
                }
                Err((e, partial)) => {
                    console::write_bytes(&piece[..partial]);
                    done += partial;
                    return if done > 0 { Ok(done) } else { Err(e) };
                }
            }
        }
        Ok(done)
    }
}
