//! getuid, getgid, geteuid, getegid, getppid, getpgrp, setsid, getpgid and
//! getsid (Linux's `kernel/sys.c`): the app is the only user; its first
//! process leads the one process group and session every process is in.

use libos_abi::errno::Errno;
use libos_abi::syscalls::Identity;
use libos_abi::user_ptr::UserPtrMut;

use super::{Cx, Kernel};
use crate::process;
use crate::process::loader::APP_ID;

/// The caller's process id.
fn pid() -> Result<i32, Errno> {
    process::current().map(|p| p.pid as i32).ok_or(Errno::ESRCH)
}

/// The caller's process group (and session): the first process's pid.
fn pgid() -> Result<i32, Errno> {
    process::current().map(|p| p.pgid as i32).ok_or(Errno::ESRCH)
}

/// The process group of process `pid_arg` (0: the caller), which is every
/// process's; `ESRCH` for a pid that names no process.
fn group_of(pid_arg: i32) -> Result<i32, Errno> {
    let me = pid()?;
    if pid_arg == 0 || pid_arg == me {
        return pgid();
    }
    let other =
        u32::try_from(pid_arg).ok().and_then(process::table::find).filter(|p| p.is_visible()).ok_or(Errno::ESRCH)?;
    Ok(other.pgid as i32)
}

impl Identity for Kernel {
    fn getuid(_cx: &mut Cx) -> Result<u32, Errno> {
        Ok(APP_ID as u32)
    }

    fn getgid(_cx: &mut Cx) -> Result<u32, Errno> {
        Ok(APP_ID as u32)
    }

    fn geteuid(_cx: &mut Cx) -> Result<u32, Errno> {
        Ok(APP_ID as u32)
    }

    fn getegid(_cx: &mut Cx) -> Result<u32, Errno> {
        Ok(APP_ID as u32)
    }

    /// The parent's pid; 0 for the first process (as for Linux's first
    /// process) and for an orphan (see `process`).
    fn getppid(_cx: &mut Cx) -> Result<i32, Errno> {
        Ok(process::current().map_or(0, |p| p.parent_pid() as i32))
    }

    fn getpgrp(_cx: &mut Cx) -> Result<i32, Errno> {
        pgid()
    }

    /// Linux's `ksys_setsid`: a process group leader may not start a
    /// session.
    fn setsid(_cx: &mut Cx) -> Result<i32, Errno> {
        Err(Errno::EPERM)
    }

    fn getpgid(_cx: &mut Cx, pid: i32) -> Result<i32, Errno> {
        group_of(pid)
    }

    fn getsid(_cx: &mut Cx, pid: i32) -> Result<i32, Errno> {
        group_of(pid)
    }

    /// No supplementary groups: nothing to copy, whatever `size` says.
    fn getgroups(_cx: &mut Cx, size: i32, _list: UserPtrMut<u32>) -> Result<i32, Errno> {
        if size < 0 { Err(Errno::EINVAL) } else { Ok(0) }
    }
}
