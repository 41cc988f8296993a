//! The arithmetic of signals, apart from any CPU: signal sets, default
//! actions, the pending set with its information, the alternate stack,
//! where a frame goes on the stack, what `rt_sigreturn` may restore, and
//! whether an interrupted system call restarts (Linux's `kernel/signal.c`,
//! `arch/x86/kernel/signal.c`, `arch/x86/kernel/signal_64.c`).

use libos_abi::errno::Errno;
use libos_abi::signal::{SigInfo, sig, ss};

/// The bit of signal `signo` in a set (bit `n - 1` for signal `n`, as
/// Linux's `sigset_t`). `signo` must be in `1..=NSIG`.
pub const fn bit(signo: i32) -> u64 {
    1 << (signo - 1)
}

/// Whether `signo` is a signal number (`1..=NSIG`).
pub const fn is_valid(signo: i32) -> bool {
    signo >= 1 && signo <= sig::NSIG
}

/// The signals nobody can catch, block or ignore.
pub const UNBLOCKABLE: u64 = bit(sig::SIGKILL) | bit(sig::SIGSTOP);

/// The signals a CPU exception raises, delivered before any other
/// (Linux's `SYNCHRONOUS_MASK`).
pub const SYNCHRONOUS: u64 =
    bit(sig::SIGSEGV) | bit(sig::SIGBUS) | bit(sig::SIGILL) | bit(sig::SIGTRAP) | bit(sig::SIGFPE) | bit(sig::SIGSYS);

/// What a signal does when its action is `SIG_DFL` (signal(7)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DefaultAction {
    /// The process ends.
    Terminate,
    /// The process ends and would dump core (here: ends the same way).
    CoreDump,
    /// Nothing happens.
    Ignore,
    /// The process stops (job control; here: ignored, there is no one to
    /// continue it).
    Stop,
    /// A stopped process continues (here: ignored).
    Continue,
}

impl DefaultAction {
    /// Whether the action ends the process.
    pub const fn kills(self) -> bool {
        matches!(self, DefaultAction::Terminate | DefaultAction::CoreDump)
    }
}

/// The default action of `signo` (Linux's `SIG_KERNEL_*_MASK`s).
pub const fn default_action(signo: i32) -> DefaultAction {
    match signo {
        sig::SIGCHLD | sig::SIGURG | sig::SIGWINCH => DefaultAction::Ignore,
        sig::SIGCONT => DefaultAction::Continue,
        sig::SIGSTOP | sig::SIGTSTP | sig::SIGTTIN | sig::SIGTTOU => DefaultAction::Stop,
        sig::SIGQUIT
        | sig::SIGILL
        | sig::SIGTRAP
        | sig::SIGABRT
        | sig::SIGBUS
        | sig::SIGFPE
        | sig::SIGSEGV
        | sig::SIGXCPU
        | sig::SIGXFSZ
        | sig::SIGSYS => DefaultAction::CoreDump,
        _ => DefaultAction::Terminate,
    }
}

/// What a pending signal carries: its `siginfo` fields and, for one a CPU
/// exception raised, the exception (for the frame's `trapno`, `err`,
/// `cr2`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PendingInfo {
    /// The signal number.
    pub signo: i32,
    /// `si_code`.
    pub code: i32,
    /// The union's first word: `si_addr`, or `si_pid | si_uid << 32`.
    pub word0: u64,
    /// The exception vector (faults), else 0.
    pub trapno: u64,
    /// The exception's error code (faults), else 0.
    pub err: u64,
    /// Whether a CPU exception raised it (`trapno` and `err` are valid).
    pub fault: bool,
}

impl PendingInfo {
    /// The `siginfo_t` the handler sees.
    pub fn siginfo(&self) -> SigInfo {
        let mut info = SigInfo { si_signo: self.signo, si_code: self.code, ..SigInfo::default() };
        info.fields[0] = self.word0;
        // A child's end (`SIGCHLD` from the kernel, not a fault): `err`
        // holds `si_status`, right after `si_pid` and `si_uid`.
        if self.signo == sig::SIGCHLD && self.code > 0 && !self.fault {
            info.fields[1] = self.err;
        }
        info
    }
}

/// A set of pending signals with the information of each. Like Linux for
/// the standard signals, a signal already pending is not queued again;
/// unlike Linux, real-time signals do not queue either (one instance each).
#[derive(Clone, Debug)]
pub struct PendingSet {
    set: u64,
    info: [PendingInfo; sig::NSIG as usize],
}

impl Default for PendingSet {
    fn default() -> PendingSet {
        PendingSet::new()
    }
}

impl PendingSet {
    /// No signal pending.
    pub const fn new() -> PendingSet {
        PendingSet { set: 0, info: [PendingInfo { signo: 0, code: 0, word0: 0, trapno: 0, err: 0, fault: false }; 64] }
    }

    /// The pending signals.
    pub const fn set(&self) -> u64 {
        self.set
    }

    /// Adds `info`; returns false if that signal was pending already (the
    /// first instance's information stays).
    pub fn queue(&mut self, info: PendingInfo) -> bool {
        let b = bit(info.signo);
        if self.set & b != 0 {
            return false;
        }
        self.set |= b;
        self.info[(info.signo - 1) as usize] = info;
        true
    }

    /// Removes the pending signals in `mask`.
    pub fn discard(&mut self, mask: u64) {
        self.set &= !mask;
    }

    /// The pending signals not in `blocked`.
    pub const fn deliverable(&self, blocked: u64) -> u64 {
        self.set & !blocked
    }

    /// Takes the signal to deliver next among those not in `blocked`: a
    /// synchronous one first, then the lowest number (Linux's
    /// `next_signal`).
    pub fn dequeue(&mut self, blocked: u64) -> Option<PendingInfo> {
        let ready = self.deliverable(blocked);
        if ready == 0 {
            return None;
        }
        let pick = if ready & SYNCHRONOUS != 0 { ready & SYNCHRONOUS } else { ready };
        let signo = pick.trailing_zeros() as i32 + 1;
        self.set &= !bit(signo);
        Some(self.info[(signo - 1) as usize])
    }
}

/// A thread's alternate signal stack (`sigaltstack`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AltStack {
    /// Its lowest address.
    pub sp: u64,
    /// Its size (0: none).
    pub size: u64,
    /// `SS_AUTODISARM` if asked.
    pub flags: i32,
}

impl AltStack {
    /// Whether `sp` is on the stack (Linux's `on_sig_stack`: above its
    /// base, at most at its top).
    pub const fn contains(&self, sp: u64) -> bool {
        sp > self.sp && sp - self.sp <= self.size
    }

    /// The `ss_flags` to report with the thread at `sp` (Linux's
    /// `sas_ss_flags`, plus the autodisarm bit as `sigaltstack` reports it).
    pub const fn flags_at(&self, sp: u64) -> i32 {
        if self.size == 0 {
            ss::SS_DISABLE
        } else if self.contains(sp) {
            ss::SS_ONSTACK
        } else {
            0
        }
    }

    /// What `sigaltstack` reports for the old stack.
    pub const fn report(&self, sp: u64) -> (u64, i32, u64) {
        (self.sp, self.flags_at(sp) | self.flags, self.size)
    }

    /// The stack a `sigaltstack(new)` call sets, the thread being at `sp`
    /// (Linux's `do_sigaltstack`): `EPERM` while on the current stack,
    /// `EINVAL` for unknown flags, `ENOMEM` below `MINSIGSTKSZ`.
    pub fn replaced(&self, sp: u64, new_sp: u64, new_flags: i32, new_size: u64) -> Result<AltStack, Errno> {
        if self.contains(sp) {
            return Err(Errno::EPERM);
        }
        let mode = new_flags & !ss::SS_AUTODISARM;
        if mode != ss::SS_DISABLE && mode != ss::SS_ONSTACK && mode != 0 {
            return Err(Errno::EINVAL);
        }
        if mode == ss::SS_DISABLE {
            return Ok(AltStack::default());
        }
        if new_size < ss::MINSIGSTKSZ {
            return Err(Errno::ENOMEM);
        }
        Ok(AltStack { sp: new_sp, size: new_size, flags: new_flags & ss::SS_AUTODISARM })
    }
}

/// Where a signal frame goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FramePlace {
    /// The frame's address (`struct rt_sigframe`, the handler's RSP; RSP + 8
    /// is 16-byte aligned, as after a `call`).
    pub frame: u64,
    /// The extended-state area's address (64-byte aligned).
    pub fpstate: u64,
    /// Whether the handler starts on the alternate stack now.
    pub entering_altstack: bool,
}

/// Places a frame of `frame_size` bytes and an extended-state area of
/// `fp_size` bytes (with its trailing magic) below `sp`, or at the top of
/// the alternate stack when `on_stack` is asked, it is set up and the
/// thread is not on it already (Linux's `get_sigframe`). `None` when the
/// frame would leave the alternate stack or wrap around: the caller ends
/// the process with SIGSEGV, as Linux does.
pub fn place_frame(sp: u64, on_stack: bool, alt: &AltStack, fp_size: u64, frame_size: u64) -> Option<FramePlace> {
    let mut top = sp.checked_sub(libos_abi::signal::RED_ZONE)?;
    let mut entering = false;
    let on_alt = alt.contains(sp);
    if on_stack && alt.size != 0 && !on_alt {
        top = alt.sp.checked_add(alt.size)?;
        entering = true;
    }
    let fpstate = top.checked_sub(fp_size)? & !63;
    let frame = (fpstate.checked_sub(frame_size)? & !15).checked_sub(8)?;
    if (entering || on_alt) && !alt.contains(frame) {
        return None;
    }
    Some(FramePlace { frame, fpstate, entering_altstack: entering })
}

/// The RFLAGS bits `rt_sigreturn` takes from the frame (Linux's
/// `FIX_EFLAGS`: AC, OF, DF, TF, SF, ZF, AF, PF, CF, RF); every other bit
/// (IF, IOPL, NT, VM, the reserved ones) keeps the kernel's value.
pub const SIGRETURN_RFLAGS: u64 =
    (1 << 18) | (1 << 11) | (1 << 10) | (1 << 8) | (1 << 7) | (1 << 6) | (1 << 4) | (1 << 2) | (1 << 0) | (1 << 16);

/// RFLAGS after `rt_sigreturn`: `current` (the kernel's view of the
/// thread's flags) with the frame's [`SIGRETURN_RFLAGS`] bits.
pub const fn sigreturn_rflags(current: u64, from_frame: u64) -> u64 {
    (current & !SIGRETURN_RFLAGS) | (from_frame & SIGRETURN_RFLAGS)
}

/// Whether the selectors of a frame are the ones `rt_sigreturn` may return
/// with: the 64-bit user code and data selectors, nothing else. (Linux
/// forces RPL 3 and lets IRET refuse the rest; this kernel refuses before.)
pub const fn sigreturn_selectors_ok(cs: u16, ss: u16, user_cs: u16, user_ss: u16) -> bool {
    cs == user_cs && ss == user_ss
}

/// Internal error numbers a system call returns when a signal interrupts
/// it (`include/linux/errno.h`): never seen by an app, the signal code
/// turns them into `EINTR` or a restart.
pub mod restart {
    /// Restart if the handler has `SA_RESTART` (or there is no handler).
    pub const ERESTARTSYS: i64 = 512;
    /// Always restart.
    pub const ERESTARTNOINTR: i64 = 513;
    /// Restart only if no handler runs.
    pub const ERESTARTNOHAND: i64 = 514;
}

/// What becomes of a system call that returned `ret` when a signal is
/// handled on the way out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyscallOutcome {
    /// The result stands.
    Keep,
    /// The app sees `-EINTR`.
    Eintr,
    /// The call runs again (RIP back over the SYSCALL, RAX = the number).
    Restart,
}

/// Linux's `handle_signal` / `arch_do_signal_or_restart` rule: `handler`
/// is `Some(sa_restart)` when a handler runs, `None` when none does.
pub const fn syscall_outcome(ret: i64, handler: Option<bool>) -> SyscallOutcome {
    match (-ret, handler) {
        (restart::ERESTARTNOINTR, _) => SyscallOutcome::Restart,
        (restart::ERESTARTSYS | restart::ERESTARTNOHAND, None) => SyscallOutcome::Restart,
        (restart::ERESTARTSYS, Some(true)) => SyscallOutcome::Restart,
        (restart::ERESTARTSYS | restart::ERESTARTNOHAND, Some(_)) => SyscallOutcome::Eintr,
        _ => SyscallOutcome::Keep,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(signo: i32) -> PendingInfo {
        PendingInfo { signo, code: 0, word0: signo as u64, trapno: 0, err: 0, fault: false }
    }

    #[test]
    fn a_childs_end_carries_its_status_after_pid_and_uid() {
        // CLD_EXITED (1) with exit code 9 from pid 42.
        let ended = PendingInfo { signo: sig::SIGCHLD, code: 1, word0: 42, trapno: 0, err: 9, fault: false };
        let si = ended.siginfo();
        assert_eq!((si.si_signo, si.si_code, si.fields[0], si.fields[1]), (sig::SIGCHLD, 1, 42, 9));
        // A SIGCHLD sent with kill (SI_USER, code 0) has no status.
        let sent = PendingInfo { code: 0, ..ended };
        assert_eq!(sent.siginfo().fields[1], 0);
        // Nor has another signal.
        assert_eq!(PendingInfo { signo: sig::SIGUSR1, ..ended }.siginfo().fields[1], 0);
    }

    #[test]
    fn bits_and_validity() {
        assert_eq!(bit(1), 1);
        assert_eq!(bit(64), 1 << 63);
        assert!(is_valid(1) && is_valid(64));
        assert!(!is_valid(0) && !is_valid(65) && !is_valid(-1));
        assert_eq!(UNBLOCKABLE, (1 << 8) | (1 << 18));
    }

    #[test]
    fn default_actions() {
        assert_eq!(default_action(sig::SIGSEGV), DefaultAction::CoreDump);
        assert_eq!(default_action(sig::SIGABRT), DefaultAction::CoreDump);
        assert_eq!(default_action(sig::SIGTERM), DefaultAction::Terminate);
        assert_eq!(default_action(sig::SIGUSR1), DefaultAction::Terminate);
        assert_eq!(default_action(40), DefaultAction::Terminate);
        assert_eq!(default_action(sig::SIGCHLD), DefaultAction::Ignore);
        assert_eq!(default_action(sig::SIGWINCH), DefaultAction::Ignore);
        assert!(!default_action(sig::SIGCONT).kills());
        assert!(!default_action(sig::SIGTSTP).kills());
        assert!(default_action(sig::SIGKILL).kills());
    }

    #[test]
    fn pending_queues_once_and_keeps_the_first_information() {
        let mut p = PendingSet::new();
        assert!(p.queue(info(sig::SIGUSR1)));
        assert!(!p.queue(PendingInfo { word0: 99, ..info(sig::SIGUSR1) }));
        assert_eq!(p.set(), bit(sig::SIGUSR1));
        assert_eq!(p.dequeue(0).map(|i| i.word0), Some(sig::SIGUSR1 as u64));
        assert_eq!(p.dequeue(0), None);
    }

    #[test]
    fn dequeue_respects_the_mask_and_prefers_synchronous_signals() {
        let mut p = PendingSet::new();
        p.queue(info(sig::SIGHUP));
        p.queue(info(sig::SIGSEGV));
        p.queue(info(sig::SIGUSR2));
        assert_eq!(p.dequeue(bit(sig::SIGSEGV)).map(|i| i.signo), Some(sig::SIGHUP));
        assert_eq!(p.deliverable(bit(sig::SIGSEGV)), bit(sig::SIGUSR2));
        assert_eq!(p.dequeue(0).map(|i| i.signo), Some(sig::SIGSEGV));
        assert_eq!(p.dequeue(bit(sig::SIGUSR2)), None);
        p.discard(bit(sig::SIGUSR2));
        assert_eq!(p.set(), 0);
    }

    #[test]
    fn altstack_bounds_and_flags() {
        let a = AltStack { sp: 0x1000, size: 0x2000, flags: 0 };
        assert!(!a.contains(0x1000));
        assert!(a.contains(0x1001));
        assert!(a.contains(0x3000));
        assert!(!a.contains(0x3001));
        assert_eq!(a.flags_at(0x2000), ss::SS_ONSTACK);
        assert_eq!(a.flags_at(0x9000), 0);
        assert_eq!(AltStack::default().flags_at(0x9000), ss::SS_DISABLE);
    }

    #[test]
    fn altstack_replacement_errors() {
        let a = AltStack { sp: 0x1000, size: 0x2000, flags: 0 };
        assert_eq!(a.replaced(0x2000, 0x8000, 0, 0x4000), Err(Errno::EPERM));
        assert_eq!(a.replaced(0x9000, 0x8000, 4, 0x4000), Err(Errno::EINVAL));
        assert_eq!(a.replaced(0x9000, 0x8000, 0, 2047), Err(Errno::ENOMEM));
        assert_eq!(a.replaced(0x9000, 0, ss::SS_DISABLE, 0), Ok(AltStack::default()));
        assert_eq!(
            a.replaced(0x9000, 0x8000, ss::SS_AUTODISARM, 0x4000),
            Ok(AltStack { sp: 0x8000, size: 0x4000, flags: ss::SS_AUTODISARM })
        );
    }

    #[test]
    fn frame_placement_on_the_thread_stack() {
        let p = place_frame(0x7000_0000, false, &AltStack::default(), 1000, 440).unwrap();
        assert_eq!(p.fpstate % 64, 0);
        assert!(p.fpstate + 1000 <= 0x7000_0000 - 128);
        assert_eq!((p.frame + 8) % 16, 0);
        assert!(p.frame + 440 <= p.fpstate);
        assert!(!p.entering_altstack);
    }

    #[test]
    fn frame_placement_on_the_alternate_stack() {
        let alt = AltStack { sp: 0x10_0000, size: 0x4000, flags: 0 };
        let p = place_frame(0x7000_0000, true, &alt, 1000, 440).unwrap();
        assert!(p.entering_altstack);
        assert!(alt.contains(p.frame) && p.fpstate + 1000 <= 0x10_4000);
        // Already on it: below the current RSP, not at its top again.
        let nested = place_frame(p.frame, true, &alt, 1000, 440).unwrap();
        assert!(!nested.entering_altstack);
        assert!(nested.fpstate + 1000 <= p.frame - 128);
        // Too small for a frame: refused.
        let tiny = AltStack { sp: 0x10_0000, size: 0x100, flags: 0 };
        assert_eq!(place_frame(0x7000_0000, true, &tiny, 1000, 440), None);
        // Overflowing it from inside: refused.
        assert_eq!(place_frame(alt.sp + 0x200, true, &alt, 1000, 440), None);
        // Wrapping below zero: refused.
        assert_eq!(place_frame(0x100, false, &AltStack::default(), 1000, 440), None);
    }

    #[test]
    fn sigreturn_keeps_privileged_rflags() {
        let kernel_view = 0x202; // IF | reserved bit 1
        let forged = u64::MAX; // IOPL 3, NT, VM, VIF, ID, every reserved bit
        let r = sigreturn_rflags(kernel_view, forged);
        assert_eq!(r & (3 << 12), 0, "IOPL");
        assert_eq!(r & (1 << 14), 0, "NT");
        assert_eq!(r & (1 << 17), 0, "VM");
        assert_eq!(r & !(SIGRETURN_RFLAGS | 0x202), 0, "reserved bits");
        assert_eq!(r & 0x202, 0x202);
        assert_eq!(sigreturn_rflags(0x202, 0x8d5) & 0x8d5, 0x8d5);
    }

    #[test]
    fn sigreturn_selectors() {
        assert!(sigreturn_selectors_ok(0x33, 0x2b, 0x33, 0x2b));
        assert!(!sigreturn_selectors_ok(0x10, 0x2b, 0x33, 0x2b));
        assert!(!sigreturn_selectors_ok(0x13, 0x2b, 0x33, 0x2b));
        assert!(!sigreturn_selectors_ok(0x23, 0x2b, 0x33, 0x2b));
        assert!(!sigreturn_selectors_ok(0x33, 0x18, 0x33, 0x2b));
    }

    #[test]
    fn restart_rules() {
        use restart::*;
        assert_eq!(syscall_outcome(-ERESTARTSYS, Some(true)), SyscallOutcome::Restart);
        assert_eq!(syscall_outcome(-ERESTARTSYS, Some(false)), SyscallOutcome::Eintr);
        assert_eq!(syscall_outcome(-ERESTARTSYS, None), SyscallOutcome::Restart);
        assert_eq!(syscall_outcome(-ERESTARTNOHAND, Some(true)), SyscallOutcome::Eintr);
        assert_eq!(syscall_outcome(-ERESTARTNOHAND, None), SyscallOutcome::Restart);
        assert_eq!(syscall_outcome(-ERESTARTNOINTR, Some(false)), SyscallOutcome::Restart);
        assert_eq!(syscall_outcome(-4, Some(false)), SyscallOutcome::Keep);
        assert_eq!(syscall_outcome(7, None), SyscallOutcome::Keep);
    }
}
