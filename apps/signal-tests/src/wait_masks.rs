//! The signal mask of `ppoll`, `pselect6`, `epoll_pwait` and
//! `epoll_pwait2` (Linux's `set_user_sigmask` and
//! `restore_saved_sigmask_unless`, kernel/signal.c): installed for the
//! wait; a pending signal it lets through ends the wait with `EINTR` and
//! its handler runs under that mask, the old one in its frame and back
//! after `rt_sigreturn`; a wait that ends otherwise gives the old mask
//! back at once, the signal left pending.
//!
//! The old mask blocks SIGUSR1 and SIGWINCH, the wait's mask SIGUSR2 only:
//! the mask seen in the handler tells which of the two was in force.

use core::ptr;
use core::sync::atomic::{AtomicU64, Ordering::SeqCst};

use libos::sys;
use libos_abi::abi_types::Timespec;
use libos_abi::errno::Errno;
use libos_abi::poll_types::{EPOLL_CTL_ADD, EPOLLIN, EpollEvent, POLLIN, PollFd, SigsetArgpack};
use libos_abi::signal::{SigInfo, UContext, how, sa, sig};

use crate::{bit, blocked, install, pending, raise, sigprocmask};

static HANDLED: AtomicU64 = AtomicU64::new(0);
static MASK_IN_HANDLER: AtomicU64 = AtomicU64::new(0);
static UC_SIGMASK: AtomicU64 = AtomicU64::new(0);

extern "C" fn note_masks(_: i32, _: *mut SigInfo, uc: *mut UContext) {
    HANDLED.fetch_add(1, SeqCst);
    MASK_IN_HANDLER.store(blocked(), SeqCst);
    // SAFETY: the kernel passes a pointer into the frame, readable.
    UC_SIGMASK.store(unsafe { (*uc).uc_sigmask }, SeqCst);
}

/// The mask before the wait.
const OLD: u64 = bit(sig::SIGUSR1) | bit(sig::SIGWINCH);
/// The wait's mask: lets SIGUSR1 through.
const LETS_USR1_THROUGH: u64 = bit(sig::SIGUSR2);
/// A wait's mask that still blocks SIGUSR1.
const BLOCKS_USR1: u64 = bit(sig::SIGUSR1) | bit(sig::SIGUSR2);

/// A handler for SIGUSR1 with `flags`, the old mask in force and SIGUSR1
/// pending (blocked).
fn pending_usr1(flags: u64) {
    install(sig::SIGUSR1, note_masks, flags, 0);
    sigprocmask(how::SIG_SETMASK, OLD);
    raise(sig::SIGUSR1);
    assert_eq!(HANDLED.load(SeqCst), 0, "blocked");
    assert_eq!(pending(), bit(sig::SIGUSR1));
}

/// The read end of a pipe nobody writes to: never ready.
fn idle_pipe() -> i32 {
    let mut fds = [-1i32; 2];
    // SAFETY: two ints for the kernel to fill.
    unsafe { sys::pipe(fds.as_mut_ptr()) }.expect("pipe");
    fds[0]
}

/// `ppoll` on a pipe that never becomes ready, for up to `ms`, under `mask`.
fn ppoll_idle(mask: u64, ms: i64) -> Result<usize, Errno> {
    let mut fds = [PollFd { fd: idle_pipe(), events: POLLIN as i16, revents: 0 }];
    let mut t = Timespec::new(0, ms * 1_000_000);
    // SAFETY: locals.
    unsafe { sys::ppoll(fds.as_mut_ptr(), 1, &mut t, &mask, 8) }
}

/// `pselect6` on such a pipe, for up to `ms`, under `mask`.
fn pselect6_idle(mask: u64, ms: i64) -> Result<usize, Errno> {
    let fd = idle_pipe();
    let mut rs = [0u64; 1];
    rs[0] = 1 << fd;
    let mut t = Timespec::new(0, ms * 1_000_000);
    let pack = SigsetArgpack { ss: &mask as *const u64 as u64, ss_len: 8 };
    // SAFETY: locals.
    unsafe { sys::pselect6(fd + 1, rs.as_mut_ptr(), ptr::null_mut(), ptr::null_mut(), &mut t, &pack) }
}

/// An epoll instance watching such a pipe.
fn idle_epoll() -> i32 {
    let ep = sys::epoll_create1(0).expect("epoll_create1");
    let ev = EpollEvent { events: EPOLLIN, data: 7 };
    // SAFETY: a local.
    unsafe { sys::epoll_ctl(ep, EPOLL_CTL_ADD, idle_pipe(), &ev) }.expect("epoll_ctl");
    ep
}

/// `epoll_pwait` on such an instance, for up to `ms`, under `mask`.
fn epoll_pwait_idle(mask: u64, ms: i64) -> Result<usize, Errno> {
    let ep = idle_epoll();
    let mut evs = [EpollEvent::default(); 2];
    // SAFETY: locals.
    unsafe { sys::epoll_pwait(ep, evs.as_mut_ptr(), 2, ms as i32, &mask, 8) }
}

/// `epoll_pwait2` on such an instance, for up to `ms`, under `mask`.
fn epoll_pwait2_idle(mask: u64, ms: i64) -> Result<usize, Errno> {
    let ep = idle_epoll();
    let mut evs = [EpollEvent::default(); 2];
    let t = Timespec::new(0, ms * 1_000_000);
    // SAFETY: locals.
    unsafe { sys::epoll_pwait2(ep, evs.as_mut_ptr(), 2, &t, &mask, 8) }
}

/// The wait `call` under a mask that lets the pending SIGUSR1 through:
/// `EINTR` at once (a wait that ignored the mask would time out after
/// 500 ms), the handler ran once, the old mask back, nothing pending.
fn interrupted_by_the_pending_signal(call: fn(u64, i64) -> Result<usize, Errno>) {
    pending_usr1(0);
    assert_eq!(call(LETS_USR1_THROUGH, 500), Err(Errno::EINTR));
    assert_eq!(HANDLED.load(SeqCst), 1, "the handler ran once");
    assert_eq!(blocked(), OLD, "the old mask is back");
    assert_eq!(pending(), 0);
}

#[libos::test]
fn ppoll_under_a_mask_that_lets_a_pending_signal_through_ends_with_eintr_then_restores_the_mask() {
    interrupted_by_the_pending_signal(ppoll_idle);
}

#[libos::test]
fn pselect6_under_a_mask_that_lets_a_pending_signal_through_ends_with_eintr_then_restores_the_mask() {
    interrupted_by_the_pending_signal(pselect6_idle);
}

#[libos::test]
fn epoll_pwait_under_a_mask_that_lets_a_pending_signal_through_ends_with_eintr_then_restores_the_mask() {
    interrupted_by_the_pending_signal(epoll_pwait_idle);
}

#[libos::test]
fn epoll_pwait2_under_a_mask_that_lets_a_pending_signal_through_ends_with_eintr_then_restores_the_mask() {
    interrupted_by_the_pending_signal(epoll_pwait2_idle);
}

#[libos::test]
fn the_handler_after_ppoll_runs_under_ppolls_mask_with_the_old_one_in_its_frame() {
    pending_usr1(0);
    assert_eq!(ppoll_idle(LETS_USR1_THROUGH, 500), Err(Errno::EINTR));
    assert_eq!(HANDLED.load(SeqCst), 1);
    // ppoll's mask plus the signal itself (no SA_NODEFER).
    assert_eq!(MASK_IN_HANDLER.load(SeqCst), LETS_USR1_THROUGH | bit(sig::SIGUSR1));
    assert_eq!(UC_SIGMASK.load(SeqCst), OLD, "rt_sigreturn gives back the mask before ppoll");
    assert_eq!(blocked(), OLD);
}

#[libos::test]
fn the_handler_after_pselect6_runs_under_its_mask_alone_with_sa_nodefer() {
    pending_usr1(sa::SA_NODEFER);
    assert_eq!(pselect6_idle(LETS_USR1_THROUGH, 500), Err(Errno::EINTR));
    assert_eq!(HANDLED.load(SeqCst), 1);
    assert_eq!(MASK_IN_HANDLER.load(SeqCst), LETS_USR1_THROUGH);
    assert_eq!(UC_SIGMASK.load(SeqCst), OLD);
    assert_eq!(blocked(), OLD);
}

/// The wait `call` under a mask that still blocks the pending SIGUSR1:
/// it times out, no handler ran, the signal is still pending and the old
/// mask is back; unblocking it then runs the handler under the old mask.
fn not_interrupted_by_a_signal_the_mask_blocks(call: fn(u64, i64) -> Result<usize, Errno>) {
    pending_usr1(0);
    assert_eq!(call(BLOCKS_USR1, 20), Ok(0), "timed out");
    assert_eq!(HANDLED.load(SeqCst), 0, "no handler ran");
    assert_eq!(pending(), bit(sig::SIGUSR1), "still pending");
    assert_eq!(blocked(), OLD, "the mask is unchanged");
    sigprocmask(how::SIG_UNBLOCK, bit(sig::SIGUSR1));
    assert_eq!(HANDLED.load(SeqCst), 1);
    assert_eq!(MASK_IN_HANDLER.load(SeqCst), bit(sig::SIGWINCH) | bit(sig::SIGUSR1));
}

#[libos::test]
fn ppoll_under_a_mask_that_blocks_the_pending_signal_times_out_and_leaves_it_pending() {
    not_interrupted_by_a_signal_the_mask_blocks(ppoll_idle);
}

#[libos::test]
fn pselect6_under_a_mask_that_blocks_the_pending_signal_times_out_and_leaves_it_pending() {
    not_interrupted_by_a_signal_the_mask_blocks(pselect6_idle);
}

#[libos::test]
fn epoll_pwait_under_a_mask_that_blocks_the_pending_signal_times_out_and_leaves_it_pending() {
    not_interrupted_by_a_signal_the_mask_blocks(epoll_pwait_idle);
}

/// A wait that finds its descriptor ready returns it even with a signal
/// its mask lets through pending (Linux looks at the files first), and
/// the old mask comes back at once: the signal stays pending, blocked.
#[libos::test]
fn ppoll_that_finds_a_ready_descriptor_returns_it_and_restores_the_mask_with_the_signal_pending() {
    pending_usr1(0);
    let mut fds = [-1i32; 2];
    // SAFETY: two ints for the kernel to fill.
    unsafe { sys::pipe(fds.as_mut_ptr()) }.expect("pipe");
    // SAFETY: one byte from a static.
    unsafe { sys::write(fds[1], b"x".as_ptr(), 1) }.expect("write");
    let mut p = [PollFd { fd: fds[0], events: POLLIN as i16, revents: 0 }];
    let mut t = Timespec::new(0, 500_000_000);
    let mask = LETS_USR1_THROUGH;
    // SAFETY: locals.
    assert_eq!(unsafe { sys::ppoll(p.as_mut_ptr(), 1, &mut t, &mask, 8) }, Ok(1));
    assert_eq!(HANDLED.load(SeqCst), 0, "no handler ran");
    assert_eq!(pending(), bit(sig::SIGUSR1), "still pending");
    assert_eq!(blocked(), OLD);
}

/// A wait with no mask (a null pointer) keeps the thread's own: the
/// pending, blocked signal does not interrupt it.
#[libos::test]
fn ppoll_without_a_mask_keeps_the_threads_mask() {
    pending_usr1(0);
    let mut fds = [PollFd { fd: idle_pipe(), events: POLLIN as i16, revents: 0 }];
    let mut t = Timespec::new(0, 20_000_000);
    // SAFETY: locals.
    assert_eq!(unsafe { sys::ppoll(fds.as_mut_ptr(), 1, &mut t, ptr::null(), 8) }, Ok(0));
    assert_eq!(HANDLED.load(SeqCst), 0);
    assert_eq!(pending(), bit(sig::SIGUSR1));
    assert_eq!(blocked(), OLD);
}
