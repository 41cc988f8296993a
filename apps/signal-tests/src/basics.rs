//! Handlers run with Linux's arguments; masks, pending sets and the
//! action flags behave as Linux's; default actions.

use core::sync::atomic::{AtomicI32, AtomicU64, Ordering::SeqCst};

use libos::sys;
use libos_abi::signal::{SIG_DFL, SIG_IGN, SigAction, SigInfo, UContext, how, sa, si_code, sig};

use crate::{action, bit, blocked, install, pending, pid, raise, set_action, sigprocmask, tid};

static CALLS: AtomicU64 = AtomicU64::new(0);
static SIGNO: AtomicI32 = AtomicI32::new(0);
static CODE: AtomicI32 = AtomicI32::new(0);
static SENDER: AtomicI32 = AtomicI32::new(0);
static MASK_IN_HANDLER: AtomicU64 = AtomicU64::new(0);
static UC_SIGMASK: AtomicU64 = AtomicU64::new(0);
static ARGS_OK: AtomicU64 = AtomicU64::new(0);

extern "C" fn record(signo: i32, info: *mut SigInfo, uc: *mut UContext) {
    CALLS.fetch_add(1, SeqCst);
    SIGNO.store(signo, SeqCst);
    // SAFETY: the kernel passes pointers into the frame, readable.
    let (info, uc) = unsafe { (&*info, &*uc) };
    CODE.store(info.si_code, SeqCst);
    SENDER.store(info.pid(), SeqCst);
    MASK_IN_HANDLER.store(blocked(), SeqCst);
    UC_SIGMASK.store(uc.uc_sigmask, SeqCst);
    // The siginfo and ucontext lie in the frame right above the handler's
    // return address, in Linux's order (pretcode, uc, info).
    let uc_addr = uc as *const UContext as u64;
    let info_addr = info as *const SigInfo as u64;
    if info.si_signo == signo && info_addr == uc_addr + 304 {
        ARGS_OK.fetch_add(1, SeqCst);
    }
}

fn reset() {
    for a in [&CALLS, &MASK_IN_HANDLER, &UC_SIGMASK, &ARGS_OK] {
        a.store(0, SeqCst);
    }
    SIGNO.store(0, SeqCst);
    CODE.store(0, SeqCst);
    SENDER.store(0, SeqCst);
}

#[libos::test]
fn tgkill_runs_the_handler_with_siginfo_and_ucontext() {
    reset();
    install(sig::SIGUSR1, record, 0, bit(sig::SIGHUP));
    sigprocmask(how::SIG_SETMASK, bit(sig::SIGWINCH));
    raise(sig::SIGUSR1);
    assert_eq!(CALLS.load(SeqCst), 1, "the handler ran once, before tgkill returned");
    assert_eq!(SIGNO.load(SeqCst), sig::SIGUSR1);
    assert_eq!(ARGS_OK.load(SeqCst), 1, "siginfo right after the ucontext");
    assert_eq!(CODE.load(SeqCst), si_code::SI_TKILL);
    assert_eq!(SENDER.load(SeqCst), pid());
    // In the handler: the old mask, plus the signal, plus sa_mask.
    assert_eq!(MASK_IN_HANDLER.load(SeqCst), bit(sig::SIGWINCH) | bit(sig::SIGUSR1) | bit(sig::SIGHUP));
    assert_eq!(UC_SIGMASK.load(SeqCst), bit(sig::SIGWINCH));
    // Restored by rt_sigreturn.
    assert_eq!(blocked(), bit(sig::SIGWINCH));
}

#[libos::test]
fn kill_sends_si_user_from_the_app_itself() {
    reset();
    install(sig::SIGUSR2, record, 0, 0);
    sys::kill(pid(), sig::SIGUSR2).unwrap();
    assert_eq!(CALLS.load(SeqCst), 1);
    assert_eq!(CODE.load(SeqCst), si_code::SI_USER);
    assert_eq!(SENDER.load(SeqCst), pid());
    sys::kill(0, sig::SIGUSR2).unwrap();
    sys::kill(-pid(), sig::SIGUSR2).unwrap();
    sys::tkill(tid(), sig::SIGUSR2).unwrap();
    assert_eq!(CALLS.load(SeqCst), 4);
    assert_eq!(CODE.load(SeqCst), si_code::SI_TKILL);
    // Signal 0 checks only.
    sys::kill(pid(), 0).unwrap();
    assert_eq!(CALLS.load(SeqCst), 4);
}

#[libos::test]
fn a_blocked_signal_stays_pending_until_unblocked() {
    reset();
    install(sig::SIGUSR1, record, 0, 0);
    sigprocmask(how::SIG_BLOCK, bit(sig::SIGUSR1));
    raise(sig::SIGUSR1);
    raise(sig::SIGUSR1);
    assert_eq!(CALLS.load(SeqCst), 0);
    assert_eq!(pending(), bit(sig::SIGUSR1));
    sigprocmask(how::SIG_UNBLOCK, bit(sig::SIGUSR1));
    // Delivered on the way out of rt_sigprocmask, once (not queued twice).
    assert_eq!(CALLS.load(SeqCst), 1);
    assert_eq!(pending(), 0);
}

#[libos::test]
fn sigkill_and_sigstop_are_never_blocked() {
    sigprocmask(how::SIG_SETMASK, u64::MAX);
    assert_eq!(blocked(), !(bit(sig::SIGKILL) | bit(sig::SIGSTOP)));
    sigprocmask(how::SIG_SETMASK, 0);
    assert_eq!(blocked(), 0);
}

static DEPTH: AtomicU64 = AtomicU64::new(0);
static MAX_DEPTH: AtomicU64 = AtomicU64::new(0);

extern "C" fn nest(signo: i32, _: *mut SigInfo, _: *mut UContext) {
    let d = DEPTH.fetch_add(1, SeqCst) + 1;
    MAX_DEPTH.fetch_max(d, SeqCst);
    let calls = CALLS.fetch_add(1, SeqCst) + 1;
    MASK_IN_HANDLER.store(blocked(), SeqCst);
    if calls < 3 {
        raise(signo);
    }
    DEPTH.fetch_sub(1, SeqCst);
}

#[libos::test]
fn sa_nodefer_lets_a_handler_nest_in_itself() {
    reset();
    install(sig::SIGUSR1, nest, sa::SA_NODEFER, 0);
    raise(sig::SIGUSR1);
    assert_eq!(CALLS.load(SeqCst), 3);
    assert_eq!(MAX_DEPTH.load(SeqCst), 3);
    assert_eq!(MASK_IN_HANDLER.load(SeqCst) & bit(sig::SIGUSR1), 0);
}

#[libos::test]
fn without_sa_nodefer_the_signal_waits_for_the_handler() {
    reset();
    MAX_DEPTH.store(0, SeqCst);
    install(sig::SIGUSR1, nest, 0, 0);
    raise(sig::SIGUSR1);
    // Each raise inside the handler is pending until it returns: three
    // calls, one after the other.
    assert_eq!(CALLS.load(SeqCst), 3);
    assert_eq!(MAX_DEPTH.load(SeqCst), 1);
}

static ORDER: AtomicU64 = AtomicU64::new(0);

extern "C" fn outer(_: i32, _: *mut SigInfo, _: *mut UContext) {
    ORDER.store(ORDER.load(SeqCst) * 10 + 1, SeqCst);
    raise(sig::SIGUSR2);
    ORDER.store(ORDER.load(SeqCst) * 10 + 3, SeqCst);
}

extern "C" fn inner(_: i32, _: *mut SigInfo, _: *mut UContext) {
    ORDER.store(ORDER.load(SeqCst) * 10 + 2, SeqCst);
}

#[libos::test]
fn a_different_signal_nests_inside_a_handler() {
    ORDER.store(0, SeqCst);
    install(sig::SIGUSR1, outer, 0, 0);
    install(sig::SIGUSR2, inner, 0, 0);
    raise(sig::SIGUSR1);
    assert_eq!(ORDER.load(SeqCst), 123);
}

#[libos::test]
fn two_unblocked_pending_signals_are_both_delivered() {
    ORDER.store(0, SeqCst);
    install(sig::SIGUSR1, inner, 0, 0);
    install(sig::SIGUSR2, inner, 0, 0);
    sigprocmask(how::SIG_BLOCK, bit(sig::SIGUSR1) | bit(sig::SIGUSR2));
    raise(sig::SIGUSR1);
    raise(sig::SIGUSR2);
    sigprocmask(how::SIG_SETMASK, 0);
    assert_eq!(ORDER.load(SeqCst), 22);
}

#[libos::test]
fn sa_resethand_restores_the_default_action() {
    reset();
    install(sig::SIGUSR1, record, sa::SA_RESETHAND, 0);
    raise(sig::SIGUSR1);
    assert_eq!(CALLS.load(SeqCst), 1);
    assert_eq!(action(sig::SIGUSR1).handler, SIG_DFL);
}

#[libos::test]
fn the_old_action_reads_back_and_unknown_flags_are_dropped() {
    let act = SigAction {
        handler: record as *const () as u64,
        flags: sa::SA_SIGINFO | sa::SA_RESTORER | sa::SA_ONSTACK | 0x0000_0100,
        restorer: crate::restorer(),
        mask: u64::MAX,
    };
    set_action(&act, sig::SIGHUP);
    let back = action(sig::SIGHUP);
    assert_eq!(back.handler, act.handler);
    assert_eq!(back.restorer, act.restorer);
    assert_eq!(back.flags, sa::SA_SIGINFO | sa::SA_RESTORER | sa::SA_ONSTACK);
    assert_eq!(back.mask, !(bit(sig::SIGKILL) | bit(sig::SIGSTOP)));
}

#[libos::test]
fn ignored_and_default_ignored_signals_do_nothing() {
    set_action(&SigAction { handler: SIG_IGN, ..SigAction::default() }, sig::SIGUSR1);
    raise(sig::SIGUSR1);
    sys::kill(pid(), sig::SIGUSR1).unwrap();
    // SIGCHLD, SIGURG and SIGWINCH are ignored by default.
    raise(sig::SIGCHLD);
    raise(sig::SIGWINCH);
    sys::kill(pid(), sig::SIGURG).unwrap();
    assert_eq!(pending(), 0);
}

#[libos::test]
fn ignoring_a_pending_signal_discards_it() {
    reset();
    install(sig::SIGUSR1, record, 0, 0);
    sigprocmask(how::SIG_BLOCK, bit(sig::SIGUSR1));
    raise(sig::SIGUSR1);
    sys::kill(pid(), sig::SIGUSR1).unwrap();
    assert_eq!(pending(), bit(sig::SIGUSR1));
    set_action(&SigAction { handler: SIG_IGN, ..SigAction::default() }, sig::SIGUSR1);
    assert_eq!(pending(), 0);
    install(sig::SIGUSR1, record, 0, 0);
    sigprocmask(how::SIG_SETMASK, 0);
    assert_eq!(CALLS.load(SeqCst), 0);
}

// Default actions that end the app: the kernel reports the app killed by
// the signal, which the test runner sees as a panic-like end (a test that
// returned instead fails).

#[libos::test(should_panic)]
fn sigterm_by_default_ends_the_app() {
    let _ = sys::kill(pid(), sig::SIGTERM);
    sys::exit_group(0);
}

#[libos::test(should_panic)]
fn sigabrt_by_default_ends_the_app() {
    let _ = sys::tgkill(pid(), tid(), sig::SIGABRT);
    sys::exit_group(0);
}

#[libos::test(should_panic)]
fn sigkill_ends_the_app_even_when_everything_is_blocked() {
    let all = u64::MAX;
    // SAFETY: a local.
    let _ = unsafe { sys::rt_sigprocmask(how::SIG_SETMASK, &all, core::ptr::null_mut(), 8) };
    let _ = sys::kill(pid(), sig::SIGKILL);
    sys::exit_group(0);
}

#[libos::test(should_panic)]
fn a_blocked_fatal_signal_ends_the_app_when_unblocked() {
    let set = bit(sig::SIGTERM);
    // SAFETY: a local.
    let _ = unsafe { sys::rt_sigprocmask(how::SIG_BLOCK, &set, core::ptr::null_mut(), 8) };
    let _ = sys::kill(pid(), sig::SIGTERM);
    // Still alive: it is blocked.
    // SAFETY: a local.
    let _ = unsafe { sys::rt_sigprocmask(how::SIG_UNBLOCK, &set, core::ptr::null_mut(), 8) };
    sys::exit_group(0);
}
