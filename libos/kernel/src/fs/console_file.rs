//! The console (the serial port) as a file: descriptors 0, 1 and 2 of
//! every process. Reads wait for at least one byte (carriage returns
//! become newlines); writes go out whole.

use libos_abi::errno::Errno;
use libos_abi::fs_types::{S_IFCHR, Stat};

use super::file::{FileObject, poll};
use crate::console;

/// `/dev/console`'s device number (5:1).
const CONSOLE_RDEV: u64 = (5 << 8) | 1;

/// The console.
pub struct Console;

impl FileObject for Console {
    fn read(&self, _pos: &mut u64, buf: &mut [u8], _flags: i32) -> Result<usize, Errno> {
        if buf.is_empty() {
            return Ok(0);
        }
        let mut n = 0;
        loop {
            while n < buf.len() {
                match console::try_read_byte() {
                    Some(b) => {
                        buf[n] = if b == b'\r' { b'\n' } else { b };
                        n += 1;
                    }
                    None => break,
                }
            }
            if n > 0 {
                return Ok(n);
            }
            if crate::sched::current().killed.load(core::sync::atomic::Ordering::Acquire) {
                return Err(Errno::EINTR);
            }
            crate::sched::yield_now();
            core::hint::spin_loop();
        }
    }

    fn write(&self, _pos: &mut u64, buf: &[u8], _flags: i32) -> Result<usize, Errno> {
        console::write_bytes(buf);
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
