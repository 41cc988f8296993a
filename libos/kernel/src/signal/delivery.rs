//! Delivering pending signals on the way back to ring 3 (Linux's
//! `arch_do_signal_or_restart`, `get_signal` and `handle_signal`), and the
//! end of an app by a signal.
//!
//! `sched::exit_to_user_mode_slow` calls [`do_signal`] while the thread's
//! `SIGPENDING` bit is set. Each call takes one deliverable signal (the
//! thread's own first, then the process's; synchronous ones first) and
//! either ignores it, ends the app (its default action), or writes a frame
//! and points the thread at the handler; the exit loop calls again while
//! the bit is set, so several unblocked signals nest, as on Linux. A system
//! call a signal interrupted gets `EINTR` or is restarted
//! (`libos_kcore::signal::syscall_outcome`).

use alloc::sync::Arc;

use entry_asm::pt_regs::PtRegs;
use libos_abi::errno::Errno;
use libos_abi::signal::{SIG_DFL, SIG_IGN, sa};
use libos_kcore::signal::{PendingInfo, SyscallOutcome, UNBLOCKABLE, bit, default_action, syscall_outcome};

use super::frame::{self, SetupError};
use crate::arch::x86_64::interrupts;
use crate::process::fault::{Cause, kill_current};
use crate::process::{ExitStatus, Kill, Process};
use crate::sched::thread_flags::{self, bit as flag};
use crate::sched::{self, ThreadName};

/// Delivers the running thread's next deliverable signal, if any, on its
/// way back to ring 3 with `regs`. `in_syscall`: the thread is returning
/// from a system call (whose result may be `-ERESTART*`). Interrupts off on
/// entry and on return; on while a frame is written.
pub fn do_signal(regs: &mut PtRegs, in_syscall: bool) {
    let task = sched::current();
    let Some(process) = task.process.clone() else {
        task.flags.take(flag::SIGPENDING);
        return;
    };
    let syscall_ret = (in_syscall && regs.orig_rax != u64::MAX).then_some(regs.rax as i64);
    loop {
        let (info, act, old_mask, alt) = {
            let mut ps = process.signals.lock();
            let mut ts = task.signals.lock();
            let blocked = ts.blocked;
            let Some(info) = ts.pending.dequeue(blocked).or_else(|| ps.shared.dequeue(blocked)) else {
                // No handler ran: a mask `rt_sigsuspend` set comes off.
                if let Some(saved) = ts.saved_mask.take() {
                    ts.blocked = saved;
                }
                super::recalc(&task, &ps, &ts);
                drop((ts, ps));
                if let Some(ret) = syscall_ret {
                    apply_outcome(regs, syscall_outcome(ret, None));
                }
                return;
            };
            let act = ps.action(info.signo);
            if act.handler == SIG_IGN || (act.handler == SIG_DFL && !default_action(info.signo).kills()) {
                super::recalc(&task, &ps, &ts);
                continue;
            }
            if act.handler == SIG_DFL {
                drop((ts, ps));
                drop(task);
                drop(process);
                end_by_signal(regs, info);
            }
            // A handler runs: Linux's `signal_setup_done`.
            if act.flags & sa::SA_RESETHAND != 0 {
                ps.actions[(info.signo - 1) as usize].handler = SIG_DFL;
            }
            // The frame saves the mask to return to: the one before
            // `rt_sigsuspend`, if it set one.
            let old_mask = ts.saved_mask.take().unwrap_or(ts.blocked);
            let mut add = act.mask;
            if act.flags & sa::SA_NODEFER == 0 {
                add |= bit(info.signo);
            }
            ts.blocked = (ts.blocked | add) & !UNBLOCKABLE;
            let alt = ts.altstack;
            let entering_alt = act.flags & sa::SA_ONSTACK != 0 && alt.size != 0 && !alt.contains(regs.rsp);
            if entering_alt && alt.flags & libos_abi::signal::ss::SS_AUTODISARM != 0 {
                ts.altstack = Default::default();
            }
            super::recalc(&task, &ps, &ts);
            (info, act, old_mask, alt)
        };
        if let Some(ret) = syscall_ret {
            apply_outcome(regs, syscall_outcome(ret, Some(act.flags & sa::SA_RESTART != 0)));
        }
        interrupts::enable();
        let written = frame::setup(regs, &info, &act, old_mask, &alt);
        interrupts::disable();
        match written {
            Ok(()) => {
                if in_syscall {
                    // SYSRET cannot return to a handler (RCX is not its RIP):
                    // the syscall exit checks the frame and uses IRET.
                    thread_flags::set_current(flag::SYSCALL_FRAME_REWRITTEN);
                }
                return;
            }
            Err(e) => {
                drop(task);
                drop(process);
                unusable_frame(regs, info, e)
            }
        }
    }
}

/// The result an interrupted system call leaves in `regs`.
fn apply_outcome(regs: &mut PtRegs, outcome: SyscallOutcome) {
    match outcome {
        SyscallOutcome::Keep => {}
        SyscallOutcome::Eintr => regs.rax = (-(Errno::EINTR as i64)) as u64,
        SyscallOutcome::Restart => {
            // Back over the two-byte SYSCALL, with the number again in RAX.
            // SYSRET would return to RCX (after the SYSCALL): the syscall
            // exit must check the frame and use IRET.
            regs.rax = regs.orig_rax;
            regs.rip = regs.rip.wrapping_sub(2);
            thread_flags::set_current(flag::SYSCALL_FRAME_REWRITTEN);
        }
    }
}

/// The app ends by `info`'s default action: the report, then every thread
/// ends; exit status 128 + the signal.
fn end_by_signal(regs: &PtRegs, info: PendingInfo) -> ! {
    interrupts::enable();
    kill_current(regs, Cause::Signal { info })
}

/// The handler's frame could not be written: the app ends with SIGSEGV
/// (Linux's `force_sigsegv` then finds the default action).
fn unusable_frame(regs: &PtRegs, info: PendingInfo, why: SetupError) -> ! {
    interrupts::enable();
    kill_current(regs, Cause::SignalFrame { info, why })
}

/// Ends `process` for SIGKILL (sent with `kill`, `tgkill`): no report
/// beyond one line, as nothing in the app went wrong.
pub fn kill_process(process: &Arc<Process>, info: PendingInfo) {
    crate::console::emergency_println(format_args!(
        "[libos] app '{}' (pid {}) killed by SIGKILL (sent by pid {})",
        process.name, process.pid, info.word0 as u32
    ));
    let task = sched::current();
    process.exit_group(ExitStatus::Killed(Kill {
        signo: info.signo as u8,
        vector: None,
        rip: 0,
        address: 0,
        error_code: u64::MAX,
        tid: task.tid,
        thread_name: task.name.try_lock().map(|n| *n).unwrap_or(ThreadName::new(b"")),
    }));
}
