//! exit, exit_group, getpid.

use libos_abi::errno::Errno;

use crate::process::{self, ExitStatus};
use crate::sched;

/// `getpid`.
pub fn getpid() -> Result<i32, Errno> {
    Ok(process::current().map_or(0, |p| p.pid as i32))
}

/// `exit`: ends the calling thread; the last thread's code is the app's.
pub fn exit(code: i32) -> ! {
    if let Some(p) = process::current()
        && p.thread_count() <= 1
    {
        p.exit_group(ExitStatus::Exited(code & 0xFF));
    }
    sched::exit_current()
}

/// `exit_group`: ends every thread of the app with `code`.
pub fn exit_group(code: i32) -> ! {
    if let Some(p) = process::current() {
        p.exit_group(ExitStatus::Exited(code & 0xFF));
    }
    sched::exit_current()
}
