//! Input and output: the console and the print macros, and the I/O
//! traits shaped like `std::io` ([`Read`], [`Write`], [`Seek`],
//! [`BufRead`], [`BufReader`], [`BufWriter`], [`Error`]), which
//! [`crate::fs::File`] implements.

mod buffered;
mod error;
mod traits;

pub use buffered::{BufReader, BufWriter};
pub use error::{Error, ErrorKind, Result};
pub use traits::{BufRead, Lines, Read, Seek, SeekFrom, Write};

use core::fmt;

use crate::Errno;
use libos_abi::syscalls::user;

/// File descriptor of standard input (the console).
pub const STDIN: i32 = 0;
/// File descriptor of standard output (the console).
pub const STDOUT: i32 = 1;
/// File descriptor of standard error (the console).
pub const STDERR: i32 = 2;

/// Writes all of `bytes` to `fd`.
pub fn write_all(fd: i32, mut bytes: &[u8]) -> core::result::Result<(), Errno> {
    while !bytes.is_empty() {
        // SAFETY: `bytes` is valid for reads of its length.
        let n = unsafe { user::write(fd, bytes.as_ptr(), bytes.len()) }?;
        if n == 0 {
            return Err(Errno::EIO);
        }
        bytes = &bytes[n..];
    }
    Ok(())
}

/// Reads what the console has (at least one byte) into `buf`.
pub fn read(buf: &mut [u8]) -> core::result::Result<usize, Errno> {
    // SAFETY: `buf` is valid for writes of its length and not aliased.
    unsafe { user::read(STDIN, buf.as_mut_ptr(), buf.len()) }
}

/// Formats into a buffer and writes it with as few syscalls as possible
/// (one for anything under 1 KiB), so lines from threads do not mix: the
/// kernel emits each `write` of up to 4096 bytes whole.
struct Buffered {
    fd: i32,
    buf: [u8; 1024],
    len: usize,
}

impl Buffered {
    fn flush(&mut self) {
        // Output errors have nowhere to go.
        let _ = write_all(self.fd, &self.buf[..self.len]);
        self.len = 0;
    }
}

impl fmt::Write for Buffered {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let mut bytes = s.as_bytes();
        while !bytes.is_empty() {
            if self.len == self.buf.len() {
                self.flush();
            }
            let n = bytes.len().min(self.buf.len() - self.len);
            self.buf[self.len..self.len + n].copy_from_slice(&bytes[..n]);
            self.len += n;
            bytes = &bytes[n..];
        }
        Ok(())
    }
}

#[doc(hidden)]
pub fn _print(fd: i32, args: fmt::Arguments<'_>) {
    let mut w = Buffered { fd, buf: [0; 1024], len: 0 };
    let _ = fmt::Write::write_fmt(&mut w, args);
    w.flush();
}

/// Prints to standard output.
#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => { $crate::io::_print($crate::io::STDOUT, format_args!($($arg)*)) };
}

/// Prints a line to standard output.
#[macro_export]
macro_rules! println {
    () => { $crate::io::_print($crate::io::STDOUT, format_args!("\n")) };
    ($($arg:tt)*) => { $crate::io::_print($crate::io::STDOUT, format_args!("{}\n", format_args!($($arg)*))) };
}

/// Prints to standard error.
#[macro_export]
macro_rules! eprint {
    ($($arg:tt)*) => { $crate::io::_print($crate::io::STDERR, format_args!($($arg)*)) };
}

/// Prints a line to standard error.
#[macro_export]
macro_rules! eprintln {
    () => { $crate::io::_print($crate::io::STDERR, format_args!("\n")) };
    ($($arg:tt)*) => { $crate::io::_print($crate::io::STDERR, format_args!("{}\n", format_args!($($arg)*))) };
}
