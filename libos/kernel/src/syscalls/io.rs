//! read and write on the console (Linux's `fs/read_write.c`).

use libos_abi::errno::Errno;
use libos_abi::syscalls::Io;
use libos_abi::user_ptr::{UserPtr, UserPtrMut};

use super::{Cx, Kernel};
use crate::console;
use crate::mm::user_access::{self, copy_from_user, copy_to_user};

/// Largest count one read or write handles (Linux's MAX_RW_COUNT).
const MAX_RW_COUNT: usize = 0x7FFF_F000;
/// Bytes copied per step.
const CHUNK: usize = 256;

impl Io for Kernel {
    /// fd 0 is the console. Waits for at least one byte, then returns what
    /// is there.
    fn read(_cx: &mut Cx, fd: i32, buf: UserPtrMut<u8>, count: usize) -> Result<usize, Errno> {
        if fd != 0 {
            return Err(Errno::EBADF);
        }
        let count = count.min(MAX_RW_COUNT);
        user_access::check(buf.addr(), count)?;
        if count == 0 {
            return Ok(0);
        }
        let mut got = [0u8; CHUNK];
        let mut n = 0;
        loop {
            while n < CHUNK.min(count) {
                match console::try_read_byte() {
                    Some(b) => {
                        got[n] = if b == b'\r' { b'\n' } else { b };
                        n += 1;
                    }
                    None => break,
                }
            }
            if n > 0 {
                break;
            }
            crate::sched::yield_now();
            core::hint::spin_loop();
        }
        copy_to_user(buf.addr(), &got[..n]).map_err(|(e, _)| e)?;
        Ok(n)
    }

    /// fds 1 and 2 are the console.
    fn write(_cx: &mut Cx, fd: i32, buf: UserPtr<u8>, count: usize) -> Result<usize, Errno> {
        if fd != 1 && fd != 2 {
            return Err(Errno::EBADF);
        }
        let count = count.min(MAX_RW_COUNT);
        user_access::check(buf.addr(), count)?;
        let mut done = 0;
        let mut chunk = [0u8; CHUNK];
        while done < count {
            let n = CHUNK.min(count - done);
            match copy_from_user(&mut chunk[..n], buf.addr() + done as u64) {
                Ok(()) => {
                    console::write_bytes(&chunk[..n]);
                    done += n;
                }
                Err((e, partial)) => {
                    console::write_bytes(&chunk[..partial]);
                    done += partial;
                    return if done > 0 { Ok(done) } else { Err(e) };
                }
            }
        }
        Ok(done)
    }
}
