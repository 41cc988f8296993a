//! `FUTEX_REQUEUE` and `FUTEX_CMP_REQUEUE` (Linux's kernel/futex/requeue.c):
//! wake some waiters of one futex, move others to a second one.

use core::ptr;
use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

use libos::prelude::*;
use libos::sync::Arc;
use libos::thread;
use libos::time::{Duration, Instant};
use libos_abi::abi_types::Timespec;
use libos_abi::abi_types::futex_op::{FUTEX_CMP_REQUEUE, FUTEX_PRIVATE_FLAG, FUTEX_REQUEUE, FUTEX_WAIT, FUTEX_WAKE};
use libos_abi::errno::Errno;
use libos_abi::syscalls::user;

/// Two futex words and how many waiters have come back.
struct Words {
    a: AtomicU32,
    b: AtomicU32,
    back: AtomicUsize,
}

/// `futex(uaddr, op, val, val2 in the timeout slot, uaddr2, val3)`.
fn futex(uaddr: &AtomicU32, op: i32, val: u32, val2: usize, uaddr2: *mut u32, val3: u32) -> Result<usize, Errno> {
    // SAFETY: `uaddr` is a live u32; the requeues and wakes read no
    // timeout (val2 is a count) and only compare or move waiters; a wait
    // gets a null timeout.
    unsafe { user::futex(uaddr.as_ptr(), op | FUTEX_PRIVATE_FLAG, val, val2 as *const Timespec, uaddr2, val3) }
}

/// Starts `n` threads that each wait once on `words.a` (value 0) with
/// `timeout` and return the wait's result.
fn waiters(words: &Arc<Words>, n: usize, timeout: Option<Timespec>) -> Vec<thread::JoinHandle<Result<usize, Errno>>> {
    (0..n)
        .map(|_| {
            let words = words.clone();
            thread::spawn(move || {
                let ts = timeout.as_ref().map_or(ptr::null(), |t| t as *const Timespec);
                // SAFETY: a live u32 and a Timespec on this stack (or none).
                let r = unsafe {
                    user::futex(words.a.as_ptr(), FUTEX_WAIT | FUTEX_PRIVATE_FLAG, 0, ts, ptr::null_mut(), 0)
                };
                words.back.fetch_add(1, Ordering::SeqCst);
                r
            })
        })
        .collect()
}

/// Moves every one of `n` waiters from `a` to `b` (as they arrive in the
/// kernel), waking none; panics after 5 s.
fn move_all(words: &Words, n: usize) {
    let start = Instant::now();
    let mut moved = 0;
    while moved < n {
        assert!(start.elapsed() < Duration::from_secs(5), "only {moved} of {n} waiters were ever queued");
        moved += futex(&words.a, FUTEX_REQUEUE, 0, n - moved, words.b.as_ptr(), 0).unwrap();
        thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(moved, n);
}

/// Waits until `count` waiters have come back; panics after 5 s.
fn until_back(words: &Words, count: usize) {
    let start = Instant::now();
    while words.back.load(Ordering::SeqCst) < count {
        assert!(start.elapsed() < Duration::from_secs(5), "a woken waiter did not come back");
        thread::sleep(Duration::from_millis(1));
    }
}

fn words() -> Arc<Words> {
    Arc::new(Words { a: AtomicU32::new(0), b: AtomicU32::new(0), back: AtomicUsize::new(0) })
}

/// FUTEX_REQUEUE with nothing to wake moves every waiter: none wakes, a
/// wake of the first word finds nobody, and the second word's wakes
/// reach them, one, then the other three.
#[libos::test]
fn requeue_moves_waiters_to_the_second_futex() {
    let w = words();
    let threads = waiters(&w, 4, None);
    move_all(&w, 4);
    assert_eq!(w.back.load(Ordering::SeqCst), 0, "a requeue with nr_wake 0 woke a waiter");
    assert_eq!(futex(&w.a, FUTEX_WAKE, u32::MAX >> 1, 0, ptr::null_mut(), 0), Ok(0));
    assert_eq!(futex(&w.b, FUTEX_WAKE, 1, 0, ptr::null_mut(), 0), Ok(1));
    until_back(&w, 1);
    assert_eq!(futex(&w.b, FUTEX_WAKE, u32::MAX >> 1, 0, ptr::null_mut(), 0), Ok(3));
    for t in threads {
        assert_eq!(t.join().unwrap(), Ok(0));
    }
}

/// FUTEX_CMP_REQUEUE: `EAGAIN` (and nothing moves) unless the first word
/// holds val3; then it wakes nr_wake and moves nr_requeue, and returns
/// both counts together.
#[libos::test]
fn cmp_requeue_checks_the_value_then_wakes_and_moves() {
    let w = words();
    let threads = waiters(&w, 2, None);
    move_all(&w, 2);
    // Now both wait on b; b holds 0. Back from b to a:
    w.b.store(7, Ordering::SeqCst);
    assert_eq!(futex(&w.b, FUTEX_CMP_REQUEUE, 0, 2, w.a.as_ptr(), 6), Err(Errno::EAGAIN));
    assert_eq!(futex(&w.a, FUTEX_WAKE, u32::MAX >> 1, 0, ptr::null_mut(), 0), Ok(0), "EAGAIN moved a waiter");
    assert_eq!(futex(&w.b, FUTEX_CMP_REQUEUE, 1, 1, w.a.as_ptr(), 7), Ok(2));
    until_back(&w, 1);
    assert_eq!(futex(&w.b, FUTEX_WAKE, u32::MAX >> 1, 0, ptr::null_mut(), 0), Ok(0));
    assert_eq!(futex(&w.a, FUTEX_WAKE, u32::MAX >> 1, 0, ptr::null_mut(), 0), Ok(1));
    for t in threads {
        assert_eq!(t.join().unwrap(), Ok(0));
    }
}

/// A requeued waiter whose timeout passes leaves the second word's queue
/// (it finds where it was moved): `ETIMEDOUT`, and nobody is left to wake.
#[libos::test]
fn a_requeued_waiter_times_out_from_its_new_queue() {
    let w = words();
    let threads = waiters(&w, 1, Some(Timespec { tv_sec: 0, tv_nsec: 200_000_000 }));
    move_all(&w, 1);
    until_back(&w, 1);
    assert_eq!(futex(&w.b, FUTEX_WAKE, 1, 0, ptr::null_mut(), 0), Ok(0));
    for t in threads {
        assert_eq!(t.join().unwrap(), Err(Errno::ETIMEDOUT));
    }
}

/// Linux's checks: negative counts and a misaligned second word are
/// `EINVAL`, a second word outside user space `EFAULT`.
#[libos::test]
fn requeue_refuses_bad_arguments() {
    let w = words();
    let b = w.b.as_ptr();
    assert_eq!(futex(&w.a, FUTEX_REQUEUE, 0, 0x8000_0000, b, 0), Err(Errno::EINVAL));
    assert_eq!(futex(&w.a, FUTEX_REQUEUE, 0x8000_0000, 1, b, 0), Err(Errno::EINVAL));
    assert_eq!(futex(&w.a, FUTEX_REQUEUE, 1, 1, (b as usize + 1) as *mut u32, 0), Err(Errno::EINVAL));
    assert_eq!(futex(&w.a, FUTEX_CMP_REQUEUE, 1, 1, 0xffff_8000_0000_0000usize as *mut u32, 0), Err(Errno::EFAULT));
    // Nobody waits: nothing to do.
    assert_eq!(futex(&w.a, FUTEX_CMP_REQUEUE, 1, 1, b, 0), Ok(0));
}
