//! Error numbers, with Linux x86_64 values.
//!
//! A failed system call returns `-errno` in RAX, as Linux does: raw values in
//! `-MAX_ERRNO..=-1` are errors, everything else is a successful result (see
//! [`crate::syscall_arg::decode_result`]). The kernel's handlers return
//! `Result<T, Errno>` and the dispatch table turns `Err(e)` into
//! [`Errno::to_ret`].

use core::fmt;

/// The largest error number a system call can return: raw results in
/// `-MAX_ERRNO..=-1` are errors (Linux's `MAX_ERRNO`).
pub const MAX_ERRNO: i64 = 4095;

/// Declares [`Errno`] with its names and descriptions from one list.
macro_rules! errnos {
    ($($name:ident = $value:literal, $desc:literal;)*) => {
        /// A system call error number, with the Linux x86_64 value.
        ///
        /// `Errno::EFAULT as i64` is the number (14); a handler's `Err(e)`
        /// reaches the app as `-(e as i64)`.
        #[repr(i32)]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Errno {
            $(
                #[doc = concat!("`", stringify!($name), "` (", stringify!($value), "): ", $desc, ".")]
                $name = $value,
            )*
        }

        impl Errno {
            /// Every error number this enum knows, in increasing order.
            pub const ALL: &'static [Errno] = &[$(Errno::$name),*];

            /// The symbolic name, as in C: `"EFAULT"`.
            pub const fn name(self) -> &'static str {
                match self {
                    $(Errno::$name => stringify!($name),)*
                }
            }

            /// The description glibc's `strerror` gives: `"Bad address"`.
            pub const fn description(self) -> &'static str {
                match self {
                    $(Errno::$name => $desc,)*
                }
            }

            /// The error with number `n` (positive, as in C's `errno`), or
            /// `None` for a number this enum does not know.
            pub const fn from_raw(n: i64) -> Option<Errno> {
                match n {
                    $($value => Some(Errno::$name),)*
                    _ => None,
                }
            }
        }
    };
}

errnos! {
    EPERM = 1, "Operation not permitted";
    ENOENT = 2, "No such file or directory";
    ESRCH = 3, "No such process";
    EINTR = 4, "Interrupted system call";
    EIO = 5, "Input/output error";
    ENXIO = 6, "No such device or address";
    E2BIG = 7, "Argument list too long";
    ENOEXEC = 8, "Exec format error";
    EBADF = 9, "Bad file descriptor";
    ECHILD = 10, "No child processes";
    EAGAIN = 11, "Resource temporarily unavailable";
    ENOMEM = 12, "Cannot allocate memory";
    EACCES = 13, "Permission denied";
    EFAULT = 14, "Bad address";
    EBUSY = 16, "Device or resource busy";
    EEXIST = 17, "File exists";
    EXDEV = 18, "Invalid cross-device link";
    ENODEV = 19, "No such device";
    ENOTDIR = 20, "Not a directory";
    EISDIR = 21, "Is a directory";
    EINVAL = 22, "Invalid argument";
    ENFILE = 23, "Too many open files in system";
    EMFILE = 24, "Too many open files";
    ENOTTY = 25, "Inappropriate ioctl for device";
    EFBIG = 27, "File too large";
    ENOSPC = 28, "No space left on device";
    ESPIPE = 29, "Illegal seek";
    EROFS = 30, "Read-only file system";
    EMLINK = 31, "Too many links";
    EPIPE = 32, "Broken pipe";
    EDOM = 33, "Numerical argument out of domain";
    ERANGE = 34, "Numerical result out of range";
    EDEADLK = 35, "Resource deadlock avoided";
    ENAMETOOLONG = 36, "File name too long";
    ENOLCK = 37, "No locks available";
    ENOSYS = 38, "Function not implemented";
    ENOTEMPTY = 39, "Directory not empty";
    ELOOP = 40, "Too many levels of symbolic links";
    EOVERFLOW = 75, "Value too large for defined data type";
    ENOTSOCK = 88, "Socket operation on non-socket";
    EDESTADDRREQ = 89, "Destination address required";
    EMSGSIZE = 90, "Message too long";
    EPROTOTYPE = 91, "Protocol wrong type for socket";
    ENOPROTOOPT = 92, "Protocol not available";
    EPROTONOSUPPORT = 93, "Protocol not supported";
    ESOCKTNOSUPPORT = 94, "Socket type not supported";
    EOPNOTSUPP = 95, "Operation not supported";
    EAFNOSUPPORT = 97, "Address family not supported by protocol";
    EADDRINUSE = 98, "Address already in use";
    EADDRNOTAVAIL = 99, "Cannot assign requested address";
    ENETDOWN = 100, "Network is down";
    ENETUNREACH = 101, "Network is unreachable";
    ECONNABORTED = 103, "Software caused connection abort";
    ECONNRESET = 104, "Connection reset by peer";
    ENOBUFS = 105, "No buffer space available";
    EISCONN = 106, "Transport endpoint is already connected";
    ENOTCONN = 107, "Transport endpoint is not connected";
    ETIMEDOUT = 110, "Connection timed out";
    ECONNREFUSED = 111, "Connection refused";
    EHOSTUNREACH = 113, "No route to host";
    EALREADY = 114, "Operation already in progress";
    EINPROGRESS = 115, "Operation now in progress";
    // Kernel-internal (Linux's `include/linux/errno.h`): a system call a
    // signal interrupted returns one of these, and the return to ring 3
    // turns it into `EINTR` or a restart of the call. An app never sees them.
    ERESTARTSYS = 512, "Interrupted system call (restarted under SA_RESTART; kernel-internal)";
    ERESTARTNOINTR = 513, "Interrupted system call (always restarted; kernel-internal)";
    ERESTARTNOHAND = 514, "Interrupted system call (restarted if no handler runs; kernel-internal)";
}

impl Errno {
    /// `ENOTSUP` is `EOPNOTSUPP` on Linux (both 95).
    pub const ENOTSUP: Errno = Errno::EOPNOTSUPP;

    /// The number, as in C's `errno`: 14 for [`Errno::EFAULT`].
    pub const fn code(self) -> i32 {
        self as i32
    }

    /// The raw system call return value for this error: `-(self as i64)`.
    pub const fn to_ret(self) -> i64 {
        -(self as i64)
    }
}

impl fmt::Display for Errno {
    /// `EFAULT (Bad address)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.description())
    }
}

impl core::error::Error for Errno {}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use std::string::ToString;

    #[test]
    fn linux_values() {
        let expected = [
            (Errno::EPERM, 1),
            (Errno::ENOENT, 2),
            (Errno::ESRCH, 3),
            (Errno::EINTR, 4),
            (Errno::EIO, 5),
            (Errno::EBADF, 9),
            (Errno::ECHILD, 10),
            (Errno::EAGAIN, 11),
            (Errno::ENOMEM, 12),
            (Errno::EACCES, 13),
            (Errno::EFAULT, 14),
            (Errno::EBUSY, 16),
            (Errno::EEXIST, 17),
            (Errno::EINVAL, 22),
            (Errno::ENFILE, 23),
            (Errno::EMFILE, 24),
            (Errno::ENOSPC, 28),
            (Errno::ESPIPE, 29),
            (Errno::EPIPE, 32),
            (Errno::EDOM, 33),
            (Errno::ERANGE, 34),
            (Errno::EDEADLK, 35),
            (Errno::ENAMETOOLONG, 36),
            (Errno::ENOLCK, 37),
            (Errno::ENOSYS, 38),
            (Errno::ENOTSUP, 95),
            (Errno::EOPNOTSUPP, 95),
            (Errno::ETIMEDOUT, 110),
            (Errno::ENOTSOCK, 88),
            (Errno::EAFNOSUPPORT, 97),
            (Errno::EADDRINUSE, 98),
            (Errno::ECONNRESET, 104),
            (Errno::ENOBUFS, 105),
            (Errno::EISCONN, 106),
            (Errno::ENOTCONN, 107),
            (Errno::ECONNREFUSED, 111),
            (Errno::EINPROGRESS, 115),
        ];
        for (errno, value) in expected {
            assert_eq!(errno.code(), value, "{}", errno.name());
            assert_eq!(errno as i64, i64::from(value));
        }
    }

    #[test]
    fn every_errno_round_trips() {
        for &errno in Errno::ALL {
            assert_eq!(Errno::from_raw(errno as i64), Some(errno));
            assert_eq!(Errno::from_raw(-errno.to_ret()), Some(errno));
            assert!(errno.to_ret() < 0 && errno.to_ret() >= -MAX_ERRNO);
            assert!(errno.name().starts_with('E'));
            assert!(!errno.description().is_empty());
        }
        assert!(Errno::ALL.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn unknown_numbers() {
        for n in [0, -14, 15, 41, 4095, 4096, i64::MAX, i64::MIN] {
            assert_eq!(Errno::from_raw(n), None, "{n}");
        }
    }

    #[test]
    fn display() {
        assert_eq!(Errno::EFAULT.to_string(), "EFAULT (Bad address)");
        assert_eq!(Errno::ENOSYS.to_string(), "ENOSYS (Function not implemented)");
        assert_eq!(Errno::ENOTSUP.name(), "EOPNOTSUPP");
    }
}
