//! The per-thread flags word: work to do before the thread next returns
//! to ring 3 (Linux's `TIF_*` flags in `thread_info`,
//! `arch/x86/include/asm/thread_info.h`, tested once by
//! `exit_to_user_mode_prepare` in `kernel/entry/common.c`).
//!
//! Whoever needs the thread to stop on its way out sets a bit, from any
//! CPU; the return to ring 3 (every system call, and every interrupt or
//! exception that came from ring 3) tests the whole word with one load and
//! one test, through the running thread's word in the per-CPU header
//! (`current_thread_flags`), and only when a bit is set does it look at
//! which ([`crate::sched::exit_to_user_mode`]).
//!
//! Adding a kind of exit work: give it a bit here, with what sets it and
//! what the exit does about it; set it with [`ThreadFlags::set`] (and wake
//! or interrupt the thread if it may be blocked or running elsewhere: the
//! bit alone is only seen at its next return to ring 3); handle it in
//! `exit_to_user_mode_slow` (or, for system-call-only work, in the syscall
//! exit), clearing it with [`ThreadFlags::take`].

use core::sync::atomic::{AtomicU32, Ordering};

/// The bits.
pub mod bit {
    /// Reschedule before returning to ring 3 (a time slice ended, a task
    /// was queued on this CPU). Set by the CPU the thread runs on, for its
    /// current thread ([`crate::sched::set_need_resched`]); cleared when the
    /// thread is switched away from (Linux's `TIF_NEED_RESCHED`).
    pub const NEED_RESCHED: u32 = 1 << 0;
    /// The thread is to end instead of returning to ring 3: its process is
    /// being killed or is exiting (`Process::exit_group`, a fatal signal).
    /// Set from any CPU with [`super::ThreadFlags::kill`]; never cleared.
    /// Waits check it too ([`super::ThreadFlags::killed`]) and end early.
    pub const KILL_PENDING: u32 = 1 << 1;
    /// A system call declared `#[rewrites_frame]` ran: its handler may have
    /// changed where or how the thread returns, so the syscall exit checks
    /// the whole frame before it may use SYSRET (set by the syscall table's
    /// entry for such a call; cleared by the syscall exit).
    pub const SYSCALL_FRAME_REWRITTEN: u32 = 1 << 2;
    /// A signal the thread does not block is pending for it or its process
    /// (Linux's `TIF_SIGPENDING`): the return to ring 3 delivers it
    /// (`signal::delivery`), and waits end early for it. Set by whoever
    /// sends or unblocks a signal (`signal::recalc`, `signal::wake_for_signal`);
    /// cleared when nothing deliverable is left.
    pub const SIGPENDING: u32 = 1 << 3;
}

/// Every bit that makes the return to ring 3 stop for work.
pub const EXIT_TO_USER_WORK: u32 =
    bit::NEED_RESCHED | bit::KILL_PENDING | bit::SYSCALL_FRAME_REWRITTEN | bit::SIGPENDING;

/// A thread's flags word.
#[derive(Debug, Default)]
#[repr(transparent)]
pub struct ThreadFlags(AtomicU32);

impl ThreadFlags {
    /// No bits set.
    pub const fn new() -> ThreadFlags {
        ThreadFlags(AtomicU32::new(0))
    }

    /// The word itself, for the per-CPU header's pointer to it.
    pub fn word(&self) -> &AtomicU32 {
        &self.0
    }

    /// Sets `bits` (any CPU).
    #[inline]
    pub fn set(&self, bits: u32) {
        self.0.fetch_or(bits, Ordering::AcqRel);
    }

    /// Clears `bits` and returns whether any of them was set.
    #[inline]
    pub fn take(&self, bits: u32) -> bool {
        self.0.fetch_and(!bits, Ordering::AcqRel) & bits != 0
    }

    /// Whether any of `bits` is set.
    #[inline]
    pub fn any(&self, bits: u32) -> bool {
        self.0.load(Ordering::Acquire) & bits != 0
    }

    /// Marks the thread to end at its next return to ring 3.
    pub fn kill(&self) {
        self.set(bit::KILL_PENDING);
    }

    /// Whether the thread is to end (its waits stop early).
    #[inline]
    pub fn killed(&self) -> bool {
        self.any(bit::KILL_PENDING)
    }
}

/// What the flags word of a CPU's current thread is before its first task
/// (never any work).
pub static NO_THREAD: ThreadFlags = ThreadFlags::new();

/// The exit-work bits of the thread running on this CPU: one load of the
/// per-CPU pointer, one of the word. Interrupts must be off (so the
/// thread cannot be switched away between the two loads).
#[inline(always)]
pub fn current_exit_work() -> u32 {
    let word = crate::arch::x86_64::percpu::current_thread_flags();
    // SAFETY: the per-CPU header points at the running thread's flags word
    // (set at every switch, with interrupts off) or at `NO_THREAD`; the
    // running task is kept alive by the scheduler's `current` slot while
    // it runs, and interrupts are off, so it keeps running here.
    unsafe { (*word).load(Ordering::Relaxed) & EXIT_TO_USER_WORK }
}

/// Sets `bits` in the running thread's own word.
#[inline]
pub fn set_current(bits: u32) {
    let word = crate::arch::x86_64::percpu::current_thread_flags();
    // SAFETY: the per-CPU header points at the flags word of the thread
    // running this code (or `NO_THREAD`). Should the thread be preempted
    // between the two instructions and resume on another CPU, the pointer
    // it read is still its own word, alive while the thread is.
    unsafe { (*word).fetch_or(bits, Ordering::AcqRel) };
}

/// Clears `bits` in the running thread's own word and returns whether any
/// was set.
#[inline]
pub fn take_current(bits: u32) -> bool {
    let word = crate::arch::x86_64::percpu::current_thread_flags();
    // SAFETY: as in `set_current`.
    unsafe { (*word).fetch_and(!bits, Ordering::AcqRel) & bits != 0 }
}
