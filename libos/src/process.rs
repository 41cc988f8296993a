//! Ending the app, and who it is.

use libos_abi::syscalls::user;

/// An exit code, as `std::process::ExitCode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExitCode(pub u8);

impl ExitCode {
    /// Success (0).
    pub const SUCCESS: ExitCode = ExitCode(0);
    /// Failure (1).
    pub const FAILURE: ExitCode = ExitCode(1);
}

impl From<u8> for ExitCode {
    fn from(code: u8) -> ExitCode {
        ExitCode(code)
    }
}

/// Ends the app (every thread) with `code`; the run's exit status is
/// `code & 0xff`.
pub fn exit(code: i32) -> ! {
    user::exit_group(code)
}

/// Ends the app abnormally (exit code 134, as a SIGABRT would give).
pub fn abort() -> ! {
    exit(134)
}

/// The app's process id.
pub fn id() -> u32 {
    user::getpid().unwrap_or(0) as u32
}
