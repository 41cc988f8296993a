//! getpid, exit, exit_group, wait4, fork, vfork and execve (Linux's
//! `kernel/sys.c`, `kernel/exit.c`, `kernel/fork.c`, `fs/exec.c`).

use libos_abi::dispatch::RewritesFrame;
use libos_abi::errno::Errno;
use libos_abi::linux_types::Rusage;
use libos_abi::syscalls::Process;
use libos_abi::user_ptr::{UserPtr, UserPtrMut};

use super::{Cx, Kernel};
use crate::mm::user_access::write_user;
use crate::process::fork::ForkArgs;
use crate::process::{self, ExitStatus};
use crate::sched;
use crate::sched::wait::{WaitResult, wait_event};

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

    /// Linux's `kernel_wait4` (kernel/exit.c) for ended children: checks,
    /// then reaps a zombie, or sleeps until one of the wanted children
    /// ends (`WNOHANG`: 0 at once).
    fn wait4(
        _cx: &mut Cx,
        pid: i32,
        status: UserPtrMut<i32>,
        options: i32,
        ru: UserPtrMut<Rusage>,
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
        let me = process::current().ok_or(Errno::ECHILD)?;
        // pid > 0: that child; -1, 0 and -pgid: any child, since every
        // process is in the one process group (another group has none).
        let wanted = |c: &process::Process| match pid {
            p if p > 0 => c.pid == p as u32,
            -1 => true,
            0 => c.pgid == me.pgid,
            p => c.pgid == p.unsigned_abs(),
        };
        loop {
            if let Some(child) = me.reap_child(wanted)? {
                let word = match child.exit_status() {
                    Some(ExitStatus::Exited(code)) => (code & 0xff) << 8,
                    Some(ExitStatus::Killed(kill)) => i32::from(kill.signo & 0x7f),
                    None => 0,
                };
                if !status.is_null() {
                    write_user(status.addr(), &word)?;
                }
                if !ru.is_null() {
                    write_user(ru.addr(), &Rusage::default())?;
                }
                return Ok(child.pid as i32);
            }
            if options & WNOHANG != 0 {
                return Ok(0);
            }
            match wait_event(&[me.child_ended_queue()], None, || me.child_waitable(wanted))? {
                WaitResult::Interrupted => return Err(Errno::ERESTARTSYS),
                WaitResult::Ready | WaitResult::TimedOut => {}
            }
        }
    }

    fn fork(cx: &mut Cx) -> Result<i32, Errno> {
        process::fork::fork(cx.regs(), ForkArgs::FORK)
    }

    /// Shares the memory with the child, and sleeps until it calls
    /// `execve` or ends.
    fn vfork(cx: &mut Cx) -> Result<i32, Errno> {
        process::fork::fork(cx.regs(), ForkArgs::VFORK)
    }

    fn execve(
        cx: &mut Cx,
        frame: RewritesFrame,
        path: UserPtr<u8>,
        argv: UserPtr<u64>,
        envp: UserPtr<u64>,
    ) -> Result<u64, Errno> {
        process::exec::execve(cx.regs_mut(frame), path.addr(), argv.addr(), envp.addr())
    }

    /// Ends every thread of the app with `code`.
    fn exit_group(_cx: &mut Cx, code: i32) -> ! {
        if let Some(p) = process::current() {
            p.exit_group(ExitStatus::Exited(code & 0xFF));
        }
        sched::exit_current()
    }
}
