//! `io::Error`, shaped like `std::io::Error`: an OS error number, or a kind
//! with a message for errors the library makes itself.

use core::fmt;

use crate::Errno;

/// What kind of error (the subset of `std::io::ErrorKind` our calls give).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// `ENOENT`.
    NotFound,
    /// `EACCES`, `EPERM`.
    PermissionDenied,
    /// `EEXIST`.
    AlreadyExists,
    /// `EAGAIN`.
    WouldBlock,
    /// `ENOTDIR`.
    NotADirectory,
    /// `EISDIR`.
    IsADirectory,
    /// `ENOTEMPTY`.
    DirectoryNotEmpty,
    /// `EROFS`.
    ReadOnlyFilesystem,
    /// `ENOSPC`.
    StorageFull,
    /// `ESPIPE`.
    NotSeekable,
    /// `EFBIG`.
    FileTooLarge,
    /// `EBUSY`.
    ResourceBusy,
    /// `EXDEV`.
    CrossesDevices,
    /// `EMLINK`.
    TooManyLinks,
    /// `ENAMETOOLONG`.
    InvalidFilename,
    /// `EINVAL`, or an argument the library refuses.
    InvalidInput,
    /// Data that is not what was expected (not UTF-8...).
    InvalidData,
    /// `EPIPE`.
    BrokenPipe,
    /// `EINTR`.
    Interrupted,
    /// `ENOMEM`.
    OutOfMemory,
    /// A write that wrote nothing.
    WriteZero,
    /// The end came before the bytes needed.
    UnexpectedEof,
    /// `ENOSYS`, `EOPNOTSUPP`.
    Unsupported,
    /// `ECONNREFUSED`.
    ConnectionRefused,
    /// `ECONNRESET`.
    ConnectionReset,
    /// `ECONNABORTED`.
    ConnectionAborted,
    /// `ENOTCONN`.
    NotConnected,
    /// `EADDRINUSE`.
    AddrInUse,
    /// `EADDRNOTAVAIL`.
    AddrNotAvailable,
    /// `ENETDOWN`.
    NetworkDown,
    /// `ENETUNREACH`.
    NetworkUnreachable,
    /// `EHOSTUNREACH`.
    HostUnreachable,
    /// `ETIMEDOUT`.
    TimedOut,
    /// Anything else.
    Other,
}

/// An I/O error.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Error {
    repr: Repr,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Repr {
    Os(Errno),
    Simple(ErrorKind, &'static str),
}

/// `Result` with [`Error`].
pub type Result<T> = core::result::Result<T, Error>;

impl Error {
    /// An error of `kind` with a message.
    pub const fn new(kind: ErrorKind, message: &'static str) -> Error {
        Error { repr: Repr::Simple(kind, message) }
    }

    /// The error for an OS error number.
    pub const fn from_errno(errno: Errno) -> Error {
        Error { repr: Repr::Os(errno) }
    }

    /// The OS error number, if it came from a call.
    pub fn raw_os_error(&self) -> Option<i32> {
        match self.repr {
            Repr::Os(e) => Some(e as i32),
            Repr::Simple(..) => None,
        }
    }

    /// The [`Errno`], if it came from a call.
    pub fn errno(&self) -> Option<Errno> {
        match self.repr {
            Repr::Os(e) => Some(e),
            Repr::Simple(..) => None,
        }
    }

    /// Its kind.
    pub fn kind(&self) -> ErrorKind {
        match self.repr {
            Repr::Simple(kind, _) => kind,
            Repr::Os(e) => match e {
                Errno::ENOENT => ErrorKind::NotFound,
                Errno::EACCES | Errno::EPERM => ErrorKind::PermissionDenied,
                Errno::EEXIST => ErrorKind::AlreadyExists,
                Errno::EAGAIN => ErrorKind::WouldBlock,
                Errno::ECONNREFUSED => ErrorKind::ConnectionRefused,
                Errno::ECONNRESET => ErrorKind::ConnectionReset,
                Errno::ECONNABORTED => ErrorKind::ConnectionAborted,
                Errno::ENOTCONN => ErrorKind::NotConnected,
                Errno::EADDRINUSE => ErrorKind::AddrInUse,
                Errno::EADDRNOTAVAIL => ErrorKind::AddrNotAvailable,
                Errno::ENETDOWN => ErrorKind::NetworkDown,
                Errno::ENETUNREACH => ErrorKind::NetworkUnreachable,
                Errno::EHOSTUNREACH => ErrorKind::HostUnreachable,
                Errno::ETIMEDOUT => ErrorKind::TimedOut,
                Errno::ENOTDIR => ErrorKind::NotADirectory,
                Errno::EISDIR => ErrorKind::IsADirectory,
                Errno::ENOTEMPTY => ErrorKind::DirectoryNotEmpty,
                Errno::EROFS => ErrorKind::ReadOnlyFilesystem,
                Errno::ENOSPC => ErrorKind::StorageFull,
                Errno::ESPIPE => ErrorKind::NotSeekable,
                Errno::EFBIG => ErrorKind::FileTooLarge,
                Errno::EBUSY => ErrorKind::ResourceBusy,
                Errno::EXDEV => ErrorKind::CrossesDevices,
                Errno::EMLINK => ErrorKind::TooManyLinks,
                Errno::ENAMETOOLONG => ErrorKind::InvalidFilename,
                Errno::EINVAL => ErrorKind::InvalidInput,
                Errno::EPIPE => ErrorKind::BrokenPipe,
                Errno::EINTR => ErrorKind::Interrupted,
                Errno::ENOMEM => ErrorKind::OutOfMemory,
                Errno::ENOSYS | Errno::EOPNOTSUPP => ErrorKind::Unsupported,
                _ => ErrorKind::Other,
            },
        }
    }
}

impl From<Errno> for Error {
    fn from(e: Errno) -> Error {
        Error::from_errno(e)
    }
}

impl From<ErrorKind> for Error {
    fn from(kind: ErrorKind) -> Error {
        Error::new(kind, "")
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.repr {
            Repr::Os(e) => write!(f, "Os {{ code: {}, kind: {:?}, message: {e} }}", e as i32, self.kind()),
            Repr::Simple(kind, msg) => write!(f, "Error {{ kind: {kind:?}, message: {msg:?} }}"),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.repr {
            Repr::Os(e) => write!(f, "{e} (os error {})", e as i32),
            Repr::Simple(kind, "") => write!(f, "{kind:?}"),
            Repr::Simple(_, msg) => f.write_str(msg),
        }
    }
}

impl core::error::Error for Error {}
