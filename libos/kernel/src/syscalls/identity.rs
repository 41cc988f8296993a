//! getuid, getgid, geteuid, getegid, getppid, getpgrp, setsid, getpgid and
//! getsid (Linux's `kernel/sys.c`): the app is the only user and the only
//! process, its process group's and session's leader.

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

/// The caller's process id when `pid` names it (0 or its own id).
fn this_process(pid_arg: i32) -> Result<i32, Errno> {
    let me = pid()?;
    if pid_arg == 0 || pid_arg == me { Ok(me) } else { Err(Errno::ESRCH) }
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

    /// No parent: 0, as for Linux's first process.
    fn getppid(_cx: &mut Cx) -> Result<i32, Errno> {
        Ok(0)
    }

    fn getpgrp(_cx: &mut Cx) -> Result<i32, Errno> {
        pid()
    }

    /// Linux's `ksys_setsid`: a process group leader may not start a
    /// session.
    fn setsid(_cx: &mut Cx) -> Result<i32, Errno> {
        Err(Errno::EPERM)
    }

    fn getpgid(_cx: &mut Cx, pid: i32) -> Result<i32, Errno> {
        this_process(pid)
    }

    fn getsid(_cx: &mut Cx, pid: i32) -> Result<i32, Errno> {
        this_process(pid)
    }

    /// No supplementary groups: nothing to copy, whatever `size` says.
    fn getgroups(_cx: &mut Cx, size: i32, _list: UserPtrMut<u32>) -> Result<i32, Errno> {
        if size < 0 { Err(Errno::EINVAL) } else { Ok(0) }
    }
}
