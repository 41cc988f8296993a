//! getpid, exit and exit_group (Linux's `kernel/sys.c`, `kernel/exit.c`).

use libos_abi::errno::Errno;
use libos_abi::syscalls::Process;

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

    /// Ends every thread of the app with `code`.
    fn exit_group(_cx: &mut Cx, code: i32) -> ! {
        if let Some(p) = process::current() {
            p.exit_group(ExitStatus::Exited(code & 0xFF));
        }
        sched::exit_current()
    }
}
