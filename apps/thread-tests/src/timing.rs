//! Sleeping, clocks and futex timeouts.

use core::ptr;
use core::sync::atomic::AtomicU32;

use libos::__private::abi::abi_types::Timespec;
use libos::__private::abi::abi_types::futex_op::{FUTEX_PRIVATE_FLAG, FUTEX_WAIT, FUTEX_WAKE};
use libos::prelude::*;
use libos::sync::Arc;
use libos::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use libos::{Errno, sys, thread};

/// How late a sleep may end under an emulator on a loaded host (generous:
/// the point is the lower bound, which is exact).
const SLACK: Duration = Duration::from_millis(400);

/// `nanosleep` itself (not the library's loop around it) never returns
/// before the time asked.
#[libos::test]
fn nanosleep_never_returns_early() {
    for ms in [1u64, 10, 50] {
        let want = Duration::from_millis(ms);
        let req = Timespec { tv_sec: 0, tv_nsec: want.as_nanos() as i64 };
        let mut rem = Timespec { tv_sec: 0, tv_nsec: 0 };
        let start = Instant::now();
        // SAFETY: both pointers are valid Timespecs on this stack.
        unsafe { sys::nanosleep(&req, &mut rem) }.unwrap();
        let took = start.elapsed();
        println!("nanosleep({ms} ms) took {took:?}");
        assert!(took >= want, "nanosleep({ms} ms) returned after {took:?}");
        assert!(took < want + SLACK, "nanosleep({ms} ms) took {took:?}");
    }
}

#[libos::test]
fn sleep_50ms_lasts_50ms() {
    let start = Instant::now();
    thread::sleep(Duration::from_millis(50));
    let took = start.elapsed();
    println!("sleep(50 ms) took {took:?}");
    assert!(took >= Duration::from_millis(50));
    assert!(took < Duration::from_millis(50) + SLACK, "took {took:?}");
}

/// Sleeping threads on one CPU do not delay each other: four threads each
/// sleeping 200 ms finish in about 200 ms, not 800.
#[libos::test]
fn sleeping_threads_sleep_at_the_same_time() {
    libos::cpu::pin_to(0).unwrap();
    let start = Instant::now();
    let handles: Vec<_> = (0..4).map(|_| thread::spawn(|| thread::sleep(Duration::from_millis(200)))).collect();
    for h in handles {
        h.join().unwrap();
    }
    let took = start.elapsed();
    assert!(took >= Duration::from_millis(200));
    assert!(took < Duration::from_millis(600), "four 200 ms sleeps took {took:?}: they ran one after another");
}

#[libos::test]
fn the_clocks_move_forward_and_realtime_is_plausible() {
    let a = Instant::now();
    let mut last = a;
    for _ in 0..1000 {
        let now = Instant::now();
        assert!(now >= last, "the monotonic clock went backwards");
        last = now;
    }
    let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    // After 2020-01-01 and before 2100-01-01.
    assert!(since_epoch.as_secs() > 1_577_836_800 && since_epoch.as_secs() < 4_102_444_800, "{since_epoch:?}");
}

/// The monotonic clock agrees across CPUs: a reading taken on one CPU and
/// then, strictly later, on another is never smaller.
#[libos::test]
fn the_monotonic_clock_agrees_across_cpus() {
    let n = libos::cpu::count();
    let mut last = Instant::now();
    for round in 0..20 {
        let cpu = round % n;
        libos::cpu::pin_to(cpu).unwrap();
        let now = Instant::now();
        assert!(now >= last, "CPU {cpu}'s clock is behind the previous CPU's");
        last = now;
    }
}

fn futex(word: &AtomicU32, op: i32, val: u32, timeout: Option<&Timespec>) -> Result<usize, Errno> {
    let t = timeout.map_or(ptr::null(), |t| t as *const Timespec);
    // SAFETY: `word` and the timeout are valid for the call.
    unsafe { sys::futex(word.as_ptr(), op | FUTEX_PRIVATE_FLAG, val, t, ptr::null_mut(), 0) }
}

#[libos::test]
fn futex_wait_times_out_and_checks_its_value() {
    let word = AtomicU32::new(7);
    let t = Timespec { tv_sec: 0, tv_nsec: 20_000_000 };
    let start = Instant::now();
    assert_eq!(futex(&word, FUTEX_WAIT, 7, Some(&t)), Err(Errno::ETIMEDOUT));
    assert!(start.elapsed() >= Duration::from_millis(20), "futex timeout ended early: {:?}", start.elapsed());
    assert_eq!(futex(&word, FUTEX_WAIT, 8, None), Err(Errno::EAGAIN));
    assert_eq!(futex(&word, FUTEX_WAKE, 1, None), Ok(0));
    let bad = Timespec { tv_sec: 0, tv_nsec: 1_000_000_000 };
    assert_eq!(futex(&word, FUTEX_WAIT, 7, Some(&bad)), Err(Errno::EINVAL));
    // Linux's answer to an unknown operation.
    assert_eq!(futex(&word, 99, 7, None), Err(Errno::ENOSYS));
}

#[libos::test]
fn futex_rejects_bad_addresses() {
    for addr in [0usize, 0xffff_8000_0000_0000, 0x8000_0000_0000_0000, usize::MAX - 1] {
        // SAFETY: the kernel checks the address before any access.
        let r = unsafe { sys::futex(addr as *mut u32, FUTEX_WAIT, 0, ptr::null(), ptr::null_mut(), 0) };
        assert!(matches!(r, Err(Errno::EFAULT) | Err(Errno::EINVAL)), "{addr:#x}: {r:?}");
    }
    let words = [AtomicU32::new(0), AtomicU32::new(0)];
    let misaligned = (words.as_ptr() as usize + 1) as *mut u32;
    // SAFETY: as above.
    let r = unsafe { sys::futex(misaligned, FUTEX_WAIT, 0, ptr::null(), ptr::null_mut(), 0) };
    assert_eq!(r, Err(Errno::EINVAL));
}

/// A wake reaches a waiter on another thread, and only as many as asked.
#[libos::test]
fn futex_wake_wakes_the_waiters_asked_for() {
    let word = Arc::new(AtomicU32::new(0));
    let handles: Vec<_> = (0..3)
        .map(|_| {
            let word = word.clone();
            thread::spawn(move || {
                while word.load(core::sync::atomic::Ordering::Acquire) == 0 {
                    let _ = futex(&word, FUTEX_WAIT, 0, None);
                }
            })
        })
        .collect();
    thread::sleep(Duration::from_millis(30));
    word.store(1, core::sync::atomic::Ordering::Release);
    let mut woken = 0;
    let start = Instant::now();
    while woken < 3 {
        woken += futex(&word, FUTEX_WAKE, 1, None).unwrap();
        assert!(start.elapsed() < Duration::from_secs(10), "woke only {woken} of 3");
        thread::yield_now();
        if handles.iter().all(|h| h.is_finished()) {
            break;
        }
    }
    for h in handles {
        h.join().unwrap();
    }
}
