//! getpid, exit, exit_group and wait4 (Linux's `kernel/sys.c`,
//! `kernel/exit.c`).

use libos_abi::errno::Errno;
use libos_abi::linux_types::Rusage;
use libos_abi::syscalls::Process;
use libos_abi::user_ptr::UserPtrMut;

use super::{Cx, Kernel};
use crate::process::{self, ExitStatus};
use crate::sched;

impl Process for Kernel {
    /// One load: the running thread's process id, cached in the per-CPU
    /// header at every task switch (no lock, no reference count).
    fn getpid(_cx: &mut Cx) -> Result<i32, Errno> {
        Ok(crate::arch::x86_64::percpu::current_tgid() as i32)
    }

    /// Ends the calling thread; the last thread's code is the app's,
    /// unless an `exit_group` or a fatal fault decided before
    /// (`Process::thread_exited` decides, under the process's lock).
    fn exit(_cx: &mut Cx, code: i32) -> ! {
        sched::current().exit_code.store(code, core::sync::atomic::Ordering::Release);
        sched::exit_current()
    }

    /// `kernel_wait4`'s argument checks, then `ECHILD`: the app never has
    /// a child to wait for.
    fn wait4(
        _cx: &mut Cx,
        pid: i32,
        _status: UserPtrMut<i32>,
        options: i32,
        _ru: UserPtrMut<Rusage>,
    ) -> Result<i32, Errno> {
        const WNOHANG: i32 = 1;
        const WUNTRACED: i32 = 2;
        const WCONTINUED: i32 = 8;
        const WNOTHREAD: i32 = 0x2000_0000;
        const WALL: i32 = 0x4000_0000;
        const WCLONE: i32 = 0x8000_0000_u32 as i32;
        if options & !(WNOHANG | WUNTRACED | WCONTINUED | WNOTHREAD | WALL | WCLONE) != 0 {
            return Err(Errno::EINVAL);
        }
        if pid == i32::MIN {
            return Err(Errno::ESRCH);
        }
        Err(Errno::ECHILD)
    }

    /// Ends every thread of the app with `code`.
    fn exit_group(_cx: &mut Cx, code: i32) -> ! {
        if let Some(p) = process::current() {
            p.exit_group(ExitStatus::Exited(code & 0xFF));
        }
        sched::exit_current()
    }
}
