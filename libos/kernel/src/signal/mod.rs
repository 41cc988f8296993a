//! Signals: what the app asked for (actions, masks, the alternate stack),
//! what is pending for whom, and the way a pending signal reaches a thread
//! (Linux's `kernel/signal.c`).
//!
//! - State: the actions and the signals pending for the whole process live
//!   in [`ProcessSignals`] (`Process::signals`); each thread's blocked mask,
//!   its own pending signals and its alternate stack in [`ThreadSignals`]
//!   (`Task::signals`). Lock order: the process's, then a thread's. The
//!   arithmetic (sets, default actions, frame placement, the sigreturn
//!   rules) is `libos_kcore::signal`, tested on the host.
//! - Sending ([`send_to_process`], [`send_to_thread`], [`fault`] for CPU
//!   exceptions): the signal is queued, and a thread that does not block it
//!   gets `SIGPENDING` in its flags word (`sched::thread_flags`), and is
//!   interrupted if it runs elsewhere.
//! - Delivery ([`delivery`]): on the way back to ring 3 a thread with
//!   `SIGPENDING` takes its next deliverable signal: the default action
//!   (ignore, or end the app with the usual report and 128 + signal), or a
//!   handler entered through a Linux-layout `rt_sigframe` ([`frame`]), which
//!   `rt_sigreturn` undoes after checking it.
//!
//! Limits: one instance of each signal is pending at a time (real-time
//! signals do not queue); no stop/continue (SIGSTOP and friends are
//! ignored by default: there is nobody to continue the app).

pub mod delivery;
pub mod fault;
pub mod frame;

use alloc::sync::Arc;
use core::sync::atomic::Ordering;

use libos_abi::signal::{SIG_DFL, SIG_IGN, SigAction};
use libos_kcore::signal::{AltStack, PendingInfo, PendingSet, bit, default_action};

use crate::process::Process;
use crate::sched::thread_flags::bit as flag;
use crate::sched::{self, Task, TaskState};

/// A process's signal state: one action per signal and the signals sent
/// to the process as a whole (`kill`).
pub struct ProcessSignals {
    /// `actions[n - 1]` is signal `n`'s.
    pub actions: [SigAction; 64],
    /// Pending for whichever thread takes it first.
    pub shared: PendingSet,
}

impl ProcessSignals {
    /// Every action `SIG_DFL`, nothing pending.
    pub const fn new() -> ProcessSignals {
        ProcessSignals {
            actions: [SigAction { handler: SIG_DFL, flags: 0, restorer: 0, mask: 0 }; 64],
            shared: PendingSet::new(),
        }
    }

    /// Signal `signo`'s action.
    pub fn action(&self, signo: i32) -> SigAction {
        self.actions[(signo - 1) as usize]
    }

    /// Whether sending `signo` now would do nothing: ignored by its action
    /// (Linux's `sig_task_ignored`; the caller keeps a signal the target
    /// blocks, since the action may change before it is unblocked).
    pub fn ignores(&self, signo: i32) -> bool {
        let handler = self.action(signo).handler;
        handler == SIG_IGN || (handler == SIG_DFL && !default_action(signo).kills())
    }
}

impl Default for ProcessSignals {
    fn default() -> ProcessSignals {
        ProcessSignals::new()
    }
}

/// A thread's signal state.
#[derive(Default)]
pub struct ThreadSignals {
    /// The signals it blocks (never SIGKILL or SIGSTOP).
    pub blocked: u64,
    /// Signals sent to it alone (`tgkill`, CPU exceptions).
    pub pending: PendingSet,
    /// Its alternate stack (`sigaltstack`).
    pub altstack: AltStack,
    /// The mask to restore once a handler's frame saved it, or on the way
    /// out if none runs: set by `rt_sigsuspend`, which waits under another
    /// mask (Linux's `saved_sigmask` with `TIF_RESTORE_SIGMASK`).
    pub saved_mask: Option<u64>,
}

impl ThreadSignals {
    /// The state of a new thread: its creator's mask, nothing pending, no
    /// alternate stack (Linux clears it for `CLONE_VM` threads).
    pub fn inherited(blocked: u64) -> ThreadSignals {
        ThreadSignals { blocked, ..ThreadSignals::default() }
    }
}

/// Sets or clears `task`'s `SIGPENDING` bit after its mask or the pending
/// sets changed (Linux's `recalc_sigpending`): set while a signal it does
/// not block is pending for it or for the process. Called with both locks
/// held.
pub fn recalc(task: &Task, process: &ProcessSignals, thread: &ThreadSignals) {
    if (process.shared.set() | thread.pending.set()) & !thread.blocked != 0 {
        task.flags.set(flag::SIGPENDING);
    } else {
        task.flags.take(flag::SIGPENDING);
    }
}

/// Makes `task` notice a signal soon (Linux's `signal_wake_up`): its
/// `SIGPENDING` bit, a wake-up if it is blocked in a wait (which then
/// stops early: `sched::wait::interrupted`), a reschedule IPI if it runs
/// on another CPU (so it passes its return to ring 3).
pub fn wake_for_signal(task: &Arc<Task>) {
    task.flags.set(flag::SIGPENDING);
    if task.try_unblock() {
        sched::enqueue(task.clone());
    } else if task.state() == TaskState::Running {
        let cpu = task.last_cpu.load(Ordering::Relaxed);
        if cpu != crate::percpu::cpu_index() {
            crate::smp::send_ipi(cpu, crate::arch::x86_64::vectors::RESCHEDULE);
        }
    }
}

/// Sends `info` to the process (`kill`): queued for the process, and the
/// first thread that does not block it (the caller first) is told.
/// SIGKILL ends the app at once. An ignored signal is dropped.
pub fn send_to_process(process: &Arc<Process>, info: PendingInfo) {
    if info.signo == libos_abi::signal::sig::SIGKILL {
        delivery::kill_process(process, info);
        return;
    }
    let me = sched::current();
    let threads = process.threads();
    let mut target = None;
    {
        let mut ps = process.signals.lock();
        let blocked_by_all = threads.iter().all(|t| t.signals.lock().blocked & bit(info.signo) != 0);
        if ps.ignores(info.signo) && !blocked_by_all {
            return;
        }
        if !ps.shared.queue(info) {
            return;
        }
        let candidates = core::iter::once(&me).chain(threads.iter());
        for t in candidates {
            let same_process = t.process.as_ref().is_some_and(|p| Arc::ptr_eq(p, process));
            if same_process && t.signals.lock().blocked & bit(info.signo) == 0 {
                target = Some(t.clone());
                break;
            }
        }
        drop(ps);
    }
    if let Some(t) = target {
        wake_for_signal(&t);
    }
}

/// Sends `info` to thread `task` alone (`tgkill`, `tkill`). An ignored
/// signal the thread does not block is dropped.
pub fn send_to_thread(task: &Arc<Task>, info: PendingInfo) {
    let Some(process) = task.process.clone() else { return };
    if info.signo == libos_abi::signal::sig::SIGKILL {
        delivery::kill_process(&process, info);
        return;
    }
    let deliverable = {
        let ps = process.signals.lock();
        let mut ts = task.signals.lock();
        let blocked = ts.blocked & bit(info.signo) != 0;
        if ps.ignores(info.signo) && !blocked {
            return;
        }
        ts.pending.queue(info) && !blocked
    };
    if deliverable {
        wake_for_signal(task);
    }
}

/// Sends `SIGPIPE` to the calling thread, as Linux's
/// `send_sig(SIGPIPE, current, 0)` does when a write finds nobody to read
/// it (`pipe_write` in fs/pipe.c, `sk_stream_error` in net/core/stream.c):
/// `SI_USER` from the app itself. Dropped when ignored and not blocked;
/// pending while blocked; by default it ends the app (128 + 13).
pub fn raise_sigpipe() {
    let task = sched::current();
    let Some(process) = task.process.clone() else { return };
    let info = PendingInfo {
        signo: libos_abi::signal::sig::SIGPIPE,
        code: libos_abi::signal::si_code::SI_USER,
        word0: u64::from(process.pid),
        trapno: 0,
        err: 0,
        fault: false,
    };
    send_to_thread(&task, info);
}

/// Tells every thread of `process` that does not block a signal pending for
/// the whole process about it: called when a thread exits, since it may
/// have been the one told (Linux's `retarget_shared_pending`).
pub fn retarget_shared(process: &Process) {
    let threads = process.threads();
    let mut told = alloc::vec::Vec::new();
    {
        let ps = process.signals.lock();
        if ps.shared.set() == 0 {
            return;
        }
        for t in &threads {
            let ts = t.signals.lock();
            if ps.shared.set() & !ts.blocked != 0 && !t.flags.any(flag::SIGPENDING) && told.try_reserve(1).is_ok() {
                told.push(t.clone());
            }
        }
    }
    for t in told {
        wake_for_signal(&t);
    }
}
