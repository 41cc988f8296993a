//! The `Signals` topic: actions, masks, the alternate stack, sending to
//! the app itself, and `rt_sigreturn` (Linux's `kernel/signal.c` and
//! `arch/x86/kernel/signal_64.c`). The mechanism is `crate::signal`.

use alloc::sync::Arc;

use libos_abi::dispatch::RewritesFrame;
use libos_abi::errno::Errno;
use libos_abi::signal::{SigAction, StackT, how, sa, si_code};
use libos_abi::syscalls::Signals;
use libos_abi::user_ptr::{UserPtr, UserPtrMut};
use libos_kcore::signal::{PendingInfo, UNBLOCKABLE, bit, is_valid};

use super::{Cx, Kernel};
use crate::mm::user_access::{read_user, write_user};
use crate::process::Process;
use crate::sched::wait::WaitResult;
use crate::sched::{self, Task};
use crate::signal::{self, frame};

/// The size of the kernel's `sigset_t`.
const SIGSET_SIZE: usize = 8;

fn current_process() -> Result<Arc<Process>, Errno> {
    crate::process::current().ok_or(Errno::ESRCH)
}

/// `sig` for a sending call: 0 (check only) or a signal number.
fn check_send_signal(sig: i32) -> Result<(), Errno> {
    if sig == 0 || is_valid(sig) { Ok(()) } else { Err(Errno::EINVAL) }
}

/// The information a signal sent by the caller carries (`si_pid`, `si_uid`
/// 0: everything runs as root).
fn sent_info(signo: i32, code: i32, process: &Process) -> PendingInfo {
    PendingInfo { signo, code, word0: u64::from(process.pid), trapno: 0, err: 0, fault: false }
}

/// Sends `sig` to `task` of the caller's process (`tkill`, `tgkill`).
fn send_to_tid(process: &Arc<Process>, tid: i32, sig: i32) -> Result<(), Errno> {
    let task: Arc<Task> = process.thread(tid as u32).ok_or(Errno::ESRCH)?;
    if sig != 0 {
        signal::send_to_thread(&task, sent_info(sig, si_code::SI_TKILL, process));
    }
    Ok(())
}

impl Signals for Kernel {
    fn rt_sigaction(
        _cx: &mut Cx,
        signo: i32,
        act: UserPtr<SigAction>,
        oact: UserPtrMut<SigAction>,
        sigsetsize: usize,
    ) -> Result<(), Errno> {
        if sigsetsize != SIGSET_SIZE {
            return Err(Errno::EINVAL);
        }
        // Linux copies the new action in before it looks at the signal.
        let new = if act.is_null() { None } else { Some(read_user::<SigAction>(act.addr())?) };
        if !is_valid(signo) || (new.is_some() && bit(signo) & UNBLOCKABLE != 0) {
            return Err(Errno::EINVAL);
        }
        let process = current_process()?;
        let old = {
            let mut ps = process.signals.lock();
            let old = ps.action(signo);
            if let Some(mut a) = new {
                a.flags &= sa::KNOWN;
                a.mask &= !UNBLOCKABLE;
                ps.actions[(signo - 1) as usize] = a;
                // POSIX: setting an action that ignores the signal discards
                // it where it is pending (Linux's `do_sigaction`).
                if ps.ignores(signo) {
                    ps.shared.discard(bit(signo));
                    for t in process.threads() {
                        t.signals.lock().pending.discard(bit(signo));
                    }
                }
            }
            old
        };
        if !oact.is_null() {
            write_user(oact.addr(), &old)?;
        }
        Ok(())
    }

    fn rt_sigprocmask(
        _cx: &mut Cx,
        how: i32,
        set: UserPtr<u64>,
        oset: UserPtrMut<u64>,
        sigsetsize: usize,
    ) -> Result<(), Errno> {
        if sigsetsize != SIGSET_SIZE {
            return Err(Errno::EINVAL);
        }
        let new = if set.is_null() { None } else { Some(read_user::<u64>(set.addr())?) };
        if new.is_some() && !matches!(how, how::SIG_BLOCK | how::SIG_UNBLOCK | how::SIG_SETMASK) {
            return Err(Errno::EINVAL);
        }
        let task = sched::current();
        let process = current_process()?;
        let old = {
            let ps = process.signals.lock();
            let mut ts = task.signals.lock();
            let old = ts.blocked;
            if let Some(s) = new {
                let blocked = match how {
                    how::SIG_BLOCK => old | s,
                    how::SIG_UNBLOCK => old & !s,
                    _ => s,
                };
                ts.blocked = blocked & !UNBLOCKABLE;
                signal::recalc(&task, &ps, &ts);
            }
            old
        };
        if !oset.is_null() {
            write_user(oset.addr(), &old)?;
        }
        Ok(())
    }

    fn rt_sigreturn(cx: &mut Cx, frame_token: RewritesFrame) -> Result<u64, Errno> {
        let regs = cx.regs_mut(frame_token);
        let restored = match frame::restore(regs) {
            Ok(r) => r,
            Err(why) => {
                signal::fault::bad_sigreturn(regs, why);
                return Ok(regs.rax);
            }
        };
        let task = sched::current();
        let process = current_process()?;
        {
            let ps = process.signals.lock();
            let mut ts = task.signals.lock();
            ts.blocked = restored.mask & !UNBLOCKABLE;
            // Linux's `restore_altstack`: errors other than EFAULT are
            // ignored (the frame was readable, so there is none).
            let s = restored.stack;
            if let Ok(alt) = ts.altstack.replaced(regs.rsp, s.ss_sp, s.ss_flags, s.ss_size) {
                ts.altstack = alt;
            }
            signal::recalc(&task, &ps, &ts);
        }
        Ok(regs.rax)
    }

    fn kill(_cx: &mut Cx, pid: i32, sig: i32) -> Result<(), Errno> {
        check_send_signal(sig)?;
        let process = current_process()?;
        let info = sent_info(sig, si_code::SI_USER, &process);
        let send = |p: &Arc<Process>| {
            // A zombie takes the signal and does nothing with it.
            if sig != 0 && !p.has_ended() {
                signal::send_to_process(p, info);
            }
        };
        let exists = |p: &Arc<Process>| p.is_visible();
        if pid > 0 {
            let target = crate::process::table::find(pid as u32).filter(exists).ok_or(Errno::ESRCH)?;
            send(&target);
            return Ok(());
        }
        // 0 and -pgid: the process group, which is every process; -1:
        // every process but the caller (Linux's `kill_something_info`).
        if pid != 0 && pid != -1 && pid.unsigned_abs() != process.pgid {
            return Err(Errno::ESRCH);
        }
        let targets: alloc::vec::Vec<Arc<Process>> = crate::process::table::all()
            .into_iter()
            .filter(|p| exists(p) && (pid != -1 || !Arc::ptr_eq(p, &process)))
            .collect();
        if targets.is_empty() {
            return Err(Errno::ESRCH);
        }
        // The caller last: a signal that ends it must not stop the sending.
        for p in targets.iter().filter(|p| !Arc::ptr_eq(p, &process)) {
            send(p);
        }
        if targets.iter().any(|p| Arc::ptr_eq(p, &process)) {
            send(&process);
        }
        Ok(())
    }

    fn rt_sigpending(_cx: &mut Cx, set: UserPtrMut<u64>, sigsetsize: usize) -> Result<(), Errno> {
        if sigsetsize > SIGSET_SIZE {
            return Err(Errno::EINVAL);
        }
        let task = sched::current();
        let process = current_process()?;
        let pending = {
            let ps = process.signals.lock();
            let ts = task.signals.lock();
            (ps.shared.set() | ts.pending.set()) & ts.blocked
        };
        let bytes = pending.to_le_bytes();
        crate::mm::user_access::copy_to_user(set.addr(), &bytes[..sigsetsize]).map_err(|(e, _)| e)
    }

    fn rt_sigsuspend(_cx: &mut Cx, mask: UserPtr<u64>, sigsetsize: usize) -> Result<(), Errno> {
        if sigsetsize != SIGSET_SIZE {
            return Err(Errno::EINVAL);
        }
        let new = read_user::<u64>(mask.addr())?;
        let task = sched::current();
        let process = current_process()?;
        {
            let ps = process.signals.lock();
            let mut ts = task.signals.lock();
            ts.saved_mask = Some(ts.blocked);
            ts.blocked = new & !UNBLOCKABLE;
            signal::recalc(&task, &ps, &ts);
        }
        // Until a signal it does not block is pending (or the app ends):
        // the return to ring 3 runs the handler with the old mask in its
        // frame, or restores the old mask if none runs.
        loop {
            match crate::sched::wait::wait_event(&[], None, || false) {
                Ok(WaitResult::Interrupted) => return Err(Errno::ERESTARTNOHAND),
                Ok(_) => {}
                Err(e) => {
                    let _ps = process.signals.lock();
                    let mut ts = task.signals.lock();
                    if let Some(saved) = ts.saved_mask.take() {
                        ts.blocked = saved;
                    }
                    return Err(e);
                }
            }
        }
    }

    /// Sleeps until a signal it does not block is pending (or the process
    /// ends); the way back to ring 3 runs the handler.
    fn pause(_cx: &mut Cx) -> Result<(), Errno> {
        loop {
            if let WaitResult::Interrupted = crate::sched::wait::wait_event(&[], None, || false)? {
                return Err(Errno::ERESTARTNOHAND);
            }
        }
    }

    fn sigaltstack(cx: &mut Cx, new: UserPtr<StackT>, old: UserPtrMut<StackT>) -> Result<(), Errno> {
        let sp = cx.regs().rsp;
        let task = sched::current();
        let new = if new.is_null() { None } else { Some(read_user::<StackT>(new.addr())?) };
        let current = task.signals.lock().altstack;
        if !old.is_null() {
            let (ss_sp, ss_flags, ss_size) = current.report(sp);
            write_user(old.addr(), &StackT { ss_sp, ss_flags, _pad: 0, ss_size })?;
        }
        if let Some(s) = new {
            let replaced = current.replaced(sp, s.ss_sp, s.ss_flags, s.ss_size)?;
            task.signals.lock().altstack = replaced;
        }
        Ok(())
    }

    fn tkill(_cx: &mut Cx, tid: i32, sig: i32) -> Result<(), Errno> {
        check_send_signal(sig)?;
        if tid <= 0 {
            return Err(Errno::EINVAL);
        }
        send_to_tid(&current_process()?, tid, sig)
    }

    fn tgkill(_cx: &mut Cx, tgid: i32, tid: i32, sig: i32) -> Result<(), Errno> {
        check_send_signal(sig)?;
        if tgid <= 0 || tid <= 0 {
            return Err(Errno::EINVAL);
        }
        let process = current_process()?;
        if tgid as u32 != process.pid {
            return Err(Errno::ESRCH);
        }
        send_to_tid(&process, tid, sig)
    }
}
