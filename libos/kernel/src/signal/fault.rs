//! Signals from CPU exceptions (Linux's `force_sig_fault` from
//! `arch/x86/kernel/traps.c` and `arch/x86/mm/fault.c`): the exception the
//! app raised becomes SIGSEGV, SIGBUS, SIGILL, SIGFPE or SIGTRAP with
//! Linux's `si_code` and `si_addr`, for the faulting thread alone. If the
//! app has a handler for it and the thread does not block it, the handler
//! runs on the way back to ring 3; otherwise the app ends as before, with
//! the report (Linux's `force_sig_info` resets a blocked or ignored
//! signal to its default action, which ends the process).

use entry_asm::hw::vector;
use entry_asm::pt_regs::PtRegs;
use libos_abi::signal::{SIG_DFL, SIG_IGN, si_code};
use libos_kcore::signal::{PendingInfo, bit};

use crate::mm::address_space::FaultError;
use crate::process::fault::{Cause, kill_current, signal_for};
use crate::sched::{self, thread_flags::bit as flag};
use crate::signal::frame::RestoreError;

/// The `si_code` and `si_addr` Linux gives exception `v` (`cr2`: the
/// faulting address of a page fault; `page_fault`: why it was not resolved).
fn code_and_addr(regs: &PtRegs, v: u8, cr2: u64, page_fault: Option<FaultError>) -> (i32, u64) {
    match v {
        vector::PF => {
            let code = match page_fault {
                Some(FaultError::Protection) => si_code::SEGV_ACCERR,
                _ => si_code::SEGV_MAPERR,
            };
            (code, cr2)
        }
        vector::DE => (si_code::FPE_INTDIV, regs.rip),
        vector::UD => (si_code::ILL_ILLOPN, regs.rip),
        vector::AC => (si_code::BUS_ADRALN, 0),
        // SIMD and x87 exceptions: Linux reads MXCSR or the x87 status word
        // for the code; the kernel does not touch those registers, so 0.
        vector::MF | vector::XM => (0, regs.rip),
        // #GP, #SS, #NP, #TS, #BP: Linux's `do_trap` sends SI_KERNEL.
        _ => (si_code::SI_KERNEL, 0),
    }
}

/// An exception `v` raised by the running thread in ring 3 that demand
/// paging did not resolve: queues the signal for its handler, or ends the
/// app (no handler, the thread blocks it, or the signal is SIGKILL for
/// memory exhaustion). Interrupts on.
pub fn raise(regs: &PtRegs, v: u8, cr2: u64, page_fault: Option<FaultError>) {
    let cause = Cause::Exception { vector: v, page_fault };
    if page_fault == Some(FaultError::OutOfMemory) {
        kill_current(regs, cause);
    }
    let signo = i32::from(signal_for(v));
    let task = sched::current();
    let Some(process) = task.process.clone() else { kill_current(regs, cause) };
    let (code, addr) = code_and_addr(regs, v, cr2, page_fault);
    let err = if regs.orig_rax == u64::MAX { 0 } else { regs.orig_rax };
    let info = PendingInfo { signo, code, word0: addr, trapno: u64::from(v), err, fault: true };
    let queued = {
        let ps = process.signals.lock();
        let mut ts = task.signals.lock();
        let handler = ps.action(signo).handler;
        let catchable = handler != SIG_DFL && handler != SIG_IGN && ts.blocked & bit(signo) == 0;
        // A second fault of the same kind before the first was delivered
        // cannot happen: the thread returns to its handler first.
        catchable && {
            ts.pending.discard(bit(signo));
            ts.pending.queue(info)
        }
    };
    if !queued {
        drop(task);
        kill_current(regs, cause);
    }
    task.flags.set(flag::SIGPENDING);
}

/// `rt_sigreturn` refused its frame (`why`): SIGSEGV for the thread, as
/// Linux's `signal_fault` forces it: its handler runs if it has one the
/// thread does not block, else the app ends with a report. `regs` are the
/// caller's, unchanged.
pub fn bad_sigreturn(regs: &PtRegs, why: RestoreError) {
    let task = sched::current();
    let Some(process) = task.process.clone() else { kill_current(regs, Cause::BadSigreturn { why }) };
    let info = PendingInfo {
        signo: libos_abi::signal::sig::SIGSEGV,
        code: si_code::SI_KERNEL,
        word0: 0,
        trapno: 0,
        err: 0,
        fault: false,
    };
    let signo = info.signo;
    let queued = {
        let ps = process.signals.lock();
        let mut ts = task.signals.lock();
        let handler = ps.action(signo).handler;
        handler != SIG_DFL && handler != SIG_IGN && ts.blocked & bit(signo) == 0 && {
            ts.pending.discard(bit(signo));
            ts.pending.queue(info)
        }
    };
    if !queued {
        drop(task);
        kill_current(regs, Cause::BadSigreturn { why });
    }
    task.flags.set(flag::SIGPENDING);
}
