//! A signal while a thread is blocked in a system call: the call ends with
//! `EINTR` when a handler runs, or is restarted (RIP back over the
//! SYSCALL) under `SA_RESTART`, as Linux's `-ERESTARTSYS` does; a signal
//! the thread blocks does not disturb the wait.

use core::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, AtomicU64, Ordering::SeqCst};
use core::time::Duration;

use libos::sys;
use libos_abi::abi_types::{Timespec, futex_op};
use libos_abi::errno::Errno;
use libos_abi::signal::{SigInfo, UContext, how, sa, sig};

use crate::{bit, install, pid, sigprocmask, tid};

static HANDLED: AtomicU64 = AtomicU64::new(0);

extern "C" fn count(_: i32, _: *mut SigInfo, _: *mut UContext) {
    HANDLED.fetch_add(1, SeqCst);
}

fn futex_wait(word: &AtomicU32, val: u32, timeout: Option<&Timespec>) -> Result<usize, Errno> {
    // SAFETY: the word is a live static; the timeout a reference or null.
    unsafe {
        sys::futex(
            word.as_ptr(),
            futex_op::FUTEX_WAIT,
            val,
            timeout.map_or(core::ptr::null(), |t| t),
            core::ptr::null_mut(),
            0,
        )
    }
}

fn futex_wake(word: &AtomicU32) {
    // SAFETY: the word is a live static.
    unsafe { sys::futex(word.as_ptr(), futex_op::FUTEX_WAKE, 1, core::ptr::null(), core::ptr::null_mut(), 0) }.unwrap();
}

/// Runs `wait` on a new thread, and from this one sends it SIGUSR1 every
/// 10 ms (up to 2 s) until it returns; `after` runs once `signals` were sent.
fn signal_while_waiting<T: Send + 'static>(signals: u32, wait: fn() -> T, after: fn()) -> T {
    static WAITER: AtomicI32 = AtomicI32::new(0);
    static DONE: AtomicBool = AtomicBool::new(false);
    WAITER.store(0, SeqCst);
    DONE.store(false, SeqCst);
    let waiter = libos::thread::spawn(move || {
        WAITER.store(tid(), SeqCst);
        let r = wait();
        DONE.store(true, SeqCst);
        r
    });
    while WAITER.load(SeqCst) == 0 {
        libos::thread::yield_now();
    }
    let mut sent = 0;
    for _ in 0..200 {
        libos::thread::sleep(Duration::from_millis(10));
        if DONE.load(SeqCst) {
            break;
        }
        if sent < signals {
            sys::tgkill(pid(), WAITER.load(SeqCst), sig::SIGUSR1).unwrap();
            sent += 1;
        } else {
            after();
        }
    }
    waiter.join().unwrap()
}

static WORD: AtomicU32 = AtomicU32::new(0);

#[libos::test]
fn a_handler_interrupts_a_futex_wait_with_eintr() {
    install(sig::SIGUSR1, count, 0, 0);
    WORD.store(0, SeqCst);
    let r = signal_while_waiting(u32::MAX, || futex_wait(&WORD, 0, None), || {});
    assert_eq!(r, Err(Errno::EINTR));
    assert!(HANDLED.load(SeqCst) >= 1);
}

#[libos::test]
fn sa_restart_restarts_a_futex_wait() {
    install(sig::SIGUSR1, count, sa::SA_RESTART, 0);
    WORD.store(0, SeqCst);
    // Three signals, each handled, then the real wake-up.
    let r = signal_while_waiting(
        3,
        || futex_wait(&WORD, 0, None),
        || {
            WORD.store(1, SeqCst);
            futex_wake(&WORD);
        },
    );
    assert_eq!(r, Ok(0), "woken, not interrupted");
    assert_eq!(HANDLED.load(SeqCst), 3);
}

#[libos::test]
fn a_blocked_signal_does_not_interrupt_a_wait() {
    install(sig::SIGUSR1, count, 0, 0);
    WORD.store(0, SeqCst);
    let r = signal_while_waiting(
        3,
        || {
            sigprocmask(how::SIG_BLOCK, bit(sig::SIGUSR1));
            let r = futex_wait(&WORD, 0, None);
            (r, crate::pending(), HANDLED.load(SeqCst))
        },
        || {
            WORD.store(1, SeqCst);
            futex_wake(&WORD);
        },
    );
    assert_eq!(r, (Ok(0), bit(sig::SIGUSR1), 0));
}

#[libos::test]
fn a_handler_interrupts_nanosleep_with_the_time_left() {
    install(sig::SIGUSR1, count, sa::SA_RESTART, 0);
    let (r, rem) = signal_while_waiting(
        1,
        || {
            let req = Timespec::new(5, 0);
            let mut rem = Timespec::new(-1, -1);
            // SAFETY: locals.
            let r = unsafe { sys::nanosleep(&req, &mut rem) };
            (r, rem)
        },
        || {},
    );
    // nanosleep is not restarted under SA_RESTART when a handler ran.
    assert_eq!(r, Err(Errno::EINTR));
    assert!(rem.tv_sec >= 0 && rem.tv_sec < 5 && rem.is_valid(), "{rem:?}");
    assert!(rem.tv_sec >= 3, "most of the time is left: {rem:?}");
}

static MASK_IN_HANDLER: AtomicU64 = AtomicU64::new(0);

extern "C" fn note_mask(_: i32, _: *mut SigInfo, _: *mut UContext) {
    MASK_IN_HANDLER.store(crate::blocked(), SeqCst);
    HANDLED.fetch_add(1, SeqCst);
}

#[libos::test]
fn rt_sigsuspend_waits_under_its_mask_and_restores_the_old_one() {
    install(sig::SIGUSR1, note_mask, sa::SA_RESTART, 0);
    sigprocmask(how::SIG_SETMASK, bit(sig::SIGUSR1) | bit(sig::SIGUSR2));
    let main = tid();
    let sender = libos::thread::spawn(move || {
        for _ in 0..200 {
            libos::thread::sleep(Duration::from_millis(10));
            if HANDLED.load(SeqCst) != 0 {
                break;
            }
            sys::tgkill(pid(), main, sig::SIGUSR1).unwrap();
        }
    });
    let during = bit(sig::SIGUSR2);
    // SAFETY: a local.
    let r = unsafe { sys::rt_sigsuspend(&during, 8) };
    sender.join().unwrap();
    // Not restarted under SA_RESTART (Linux's -ERESTARTNOHAND).
    assert_eq!(r, Err(Errno::EINTR));
    assert_eq!(HANDLED.load(SeqCst), 1);
    // The handler ran under the suspend mask plus its signal.
    assert_eq!(MASK_IN_HANDLER.load(SeqCst), bit(sig::SIGUSR2) | bit(sig::SIGUSR1));
    assert_eq!(crate::blocked(), bit(sig::SIGUSR1) | bit(sig::SIGUSR2));
    // Bad arguments.
    // SAFETY: a local, and a bad pointer the kernel must refuse.
    unsafe {
        assert_eq!(sys::rt_sigsuspend(&during, 4), Err(Errno::EINVAL));
        assert_eq!(sys::rt_sigsuspend(0x5000_0000_0000 as *const u64, 8), Err(Errno::EFAULT));
    }
}

static PIPE: [AtomicI32; 2] = [const { AtomicI32::new(-1) }; 2];

fn open_pipe() {
    let mut fds = [-1i32; 2];
    // SAFETY: two ints for the kernel to fill.
    unsafe { sys::pipe(fds.as_mut_ptr()) }.expect("pipe");
    PIPE[0].store(fds[0], SeqCst);
    PIPE[1].store(fds[1], SeqCst);
}

fn read_pipe() -> Result<usize, Errno> {
    let mut byte = [0u8; 1];
    // SAFETY: a local buffer.
    unsafe { sys::read(PIPE[0].load(SeqCst), byte.as_mut_ptr(), 1) }
}

#[libos::test]
fn a_handler_interrupts_a_pipe_read_with_eintr() {
    install(sig::SIGUSR1, count, 0, 0);
    open_pipe();
    assert_eq!(signal_while_waiting(u32::MAX, read_pipe, || {}), Err(Errno::EINTR));
    assert!(HANDLED.load(SeqCst) >= 1);
}

#[libos::test]
fn sa_restart_restarts_a_pipe_read() {
    install(sig::SIGUSR1, count, sa::SA_RESTART, 0);
    open_pipe();
    let r = signal_while_waiting(3, read_pipe, || {
        // SAFETY: one byte from a static.
        let _ = unsafe { sys::write(PIPE[1].load(SeqCst), b"x".as_ptr(), 1) };
    });
    assert_eq!(r, Ok(1), "the read went on after each handler");
    assert_eq!(HANDLED.load(SeqCst), 3);
}
