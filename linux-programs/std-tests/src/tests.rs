//! The tests: `std`'s threads, locks, channels, time, hashing, panics and
//! allocation on the Linux ABI.

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Barrier, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use libos_abi::test::Expect;

use crate::{Args, Test};

const fn pass(name: &'static str, run: fn(&Args)) -> Test {
    Test { name, expect: Expect::Pass, run, ends_the_process: false }
}

/// A test that ends the process: the runner judges how (a kill without a
/// fault vector counts as `Expect::Panic`, see the kernel's `app_tests`),
/// with what the test asked through the hooks.
const fn ends(name: &'static str, expect: Expect, run: fn(&Args)) -> Test {
    Test { name, expect, run, ends_the_process: true }
}

/// Every test, in registration order.
pub const ALL: &[Test] = &[
    pass("std_tests::args_and_environment", args_and_environment),
    pass("std_tests::threads_share_a_mutex", threads_share_a_mutex),
    pass("std_tests::condvar_hands_over", condvar_hands_over),
    pass("std_tests::mpsc_channel_between_threads", mpsc_channel_between_threads),
    pass("std_tests::barrier_releases_all", barrier_releases_all),
    pass("std_tests::scoped_threads_borrow", scoped_threads_borrow),
    pass("std_tests::instant_and_sleep", instant_and_sleep),
    pass("std_tests::system_time_is_after_2020", system_time_is_after_2020),
    pass("std_tests::hashmap_seeds_differ", hashmap_seeds_differ),
    pass("std_tests::catch_unwind_catches_a_panic", catch_unwind_catches_a_panic),
    pass("std_tests::available_parallelism", available_parallelism),
    pass("std_tests::large_allocations_grow_and_shrink", large_allocations_grow_and_shrink),
    Test {
        name: "std_tests::a_panic_is_reported",
        expect: Expect::Panic { message: None },
        run: a_panic_is_reported,
        ends_the_process: false,
    },
    ends("std_tests::process_abort_is_sigabrt", Expect::Panic { message: None }, process_abort_is_sigabrt),
    ends(
        "std_tests::main_thread_overflow_is_sigsegv",
        Expect::Fault { vector: PAGE_FAULT },
        main_thread_overflow_is_sigsegv,
    ),
    ends(
        "std_tests::thread_overflow_prints_the_message_and_aborts",
        Expect::Panic { message: None },
        thread_overflow_prints_the_message_and_aborts,
    ),
];

/// The page-fault vector (#PF).
const PAGE_FAULT: u8 = 14;
/// Linux's SIGABRT.
const SIGABRT: u64 = 6;
/// Linux's SIGSEGV.
const SIGSEGV: u64 = 11;

/// Tells the kernel's runner what must end this process (`libos_debug`).
fn expect(op: u64, arg0: u64, arg1: u64) {
    // SAFETY: the EXPECT_* operations only record an expectation (and read
    // `arg1` bytes at `arg0` for EXPECT_OUTPUT, which the callers pass).
    unsafe { libos_abi::syscalls::user_hooks::libos_debug(op, arg0, arg1) }
        .unwrap_or_else(|e| panic!("libos_debug({op}): {e:?} (not under a test kernel?)"));
}

/// Recurses `depth` times with a page of locals per call, so the stack
/// runs out; the optimiser may neither fold the frames nor make a loop.
fn recurse(depth: u64) -> u64 {
    let frame = std::hint::black_box([depth; 512]);
    if depth == 0 { 0 } else { recurse(depth - 1).wrapping_add(std::hint::black_box(frame)[7]) }
}

/// `argv[0]` is the file's name; the environment comes from `--env`.
fn args_and_environment(args: &Args) {
    assert!(args.argv[0].ends_with("std-tests"), "argv[0] = {:?}", args.argv[0]);
    // Under the kernel's runner (the boot passes env=STD_TESTS=1).
    if args.argv.get(1).is_some_and(|a| a == "--libos-test-run") {
        assert_eq!(std::env::var("STD_TESTS").as_deref(), Ok("1"));
        assert_eq!(std::env::var("STD_TESTS_EMPTY").as_deref(), Ok(""));
    }
    assert!(std::env::var("NO_SUCH_VARIABLE").is_err());
}

fn threads_share_a_mutex(_: &Args) {
    let counter = Arc::new(Mutex::new(0u64));
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let counter = counter.clone();
            thread::spawn(move || {
                for _ in 0..1000 {
                    *counter.lock().unwrap() += 1;
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(*counter.lock().unwrap(), 4000);
}

fn condvar_hands_over(_: &Args) {
    let pair = Arc::new((Mutex::new(0u32), Condvar::new()));
    let theirs = pair.clone();
    let t = thread::spawn(move || {
        for round in 1..=50 {
            let (lock, cv) = &*theirs;
            let mut turn = cv.wait_while(lock.lock().unwrap(), |t| *t % 2 == 0).unwrap();
            assert_eq!(*turn, 2 * round - 1);
            *turn += 1;
            cv.notify_all();
        }
    });
    for _ in 0..50 {
        let (lock, cv) = &*pair;
        let mut turn = lock.lock().unwrap();
        *turn += 1;
        cv.notify_all();
        drop(cv.wait_while(turn, |t| *t % 2 == 1).unwrap());
    }
    t.join().unwrap();
    assert_eq!(*pair.0.lock().unwrap(), 100);
}

fn mpsc_channel_between_threads(_: &Args) {
    let (tx, rx) = mpsc::channel();
    let senders: Vec<_> = (0..3)
        .map(|id| {
            let tx = tx.clone();
            thread::spawn(move || {
                for i in 0..100 {
                    tx.send(id * 1000 + i).unwrap();
                }
            })
        })
        .collect();
    drop(tx);
    let mut got: Vec<u32> = rx.iter().collect();
    for s in senders {
        s.join().unwrap();
    }
    got.sort();
    assert_eq!(got.len(), 300);
    assert_eq!((got[0], got[299]), (0, 2099));
    let (tx, rx) = mpsc::sync_channel(0);
    let t = thread::spawn(move || tx.send(42).unwrap());
    assert_eq!(rx.recv_timeout(Duration::from_secs(10)), Ok(42));
    t.join().unwrap();
}

fn barrier_releases_all(_: &Args) {
    let barrier = Arc::new(Barrier::new(4));
    let passed = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let (barrier, passed) = (barrier.clone(), passed.clone());
            thread::spawn(move || {
                barrier.wait();
                passed.fetch_add(1, Ordering::SeqCst);
                barrier.wait().is_leader()
            })
        })
        .collect();
    let leaders = handles.into_iter().map(|h| h.join().unwrap()).filter(|&l| l).count();
    assert_eq!((passed.load(Ordering::SeqCst), leaders), (4, 1));
}

fn scoped_threads_borrow(_: &Args) {
    let mut data = [1u64, 2, 3, 4, 5, 6, 7, 8];
    let total = AtomicUsize::new(0);
    thread::scope(|s| {
        for chunk in data.chunks_mut(2) {
            let total = &total;
            s.spawn(move || {
                for x in chunk.iter_mut() {
                    *x *= 10;
                    total.fetch_add(*x as usize, Ordering::Relaxed);
                }
            });
        }
    });
    assert_eq!(data, [10, 20, 30, 40, 50, 60, 70, 80]);
    assert_eq!(total.load(Ordering::Relaxed), 360);
}

fn instant_and_sleep(_: &Args) {
    let start = Instant::now();
    thread::sleep(Duration::from_millis(20));
    let slept = start.elapsed();
    assert!(slept >= Duration::from_millis(20), "{slept:?}");
    assert!(Instant::now() >= start + slept);
}

fn system_time_is_after_2020(_: &Args) {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    assert!(since.as_secs() > 1_577_836_800, "{since:?}");
}

/// `RandomState` seeds from `getrandom` (GRND_INSECURE on musl).
fn hashmap_seeds_differ(_: &Args) {
    let (a, b) = (RandomState::new(), RandomState::new());
    let differ = (0..8u64).any(|i| a.hash_one(i) != RandomState::new().hash_one(i)) || a.hash_one(1) != b.hash_one(1);
    assert!(differ, "two RandomStates hash alike");
    let mut m = HashMap::new();
    for i in 0..1000 {
        m.insert(i, i * 2);
    }
    assert_eq!(m.get(&777), Some(&1554));
}

fn catch_unwind_catches_a_panic(_: &Args) {
    let caught = std::panic::catch_unwind(|| {
        let v: Vec<u8> = Vec::new();
        #[allow(clippy::unnecessary_operation)]
        v[3]
    });
    assert!(caught.is_err());
    let value = std::panic::catch_unwind(|| 7).unwrap();
    assert_eq!(value, 7);
}

/// `sched_getaffinity` (std reads cgroup files first, which fail here).
fn available_parallelism(_: &Args) {
    let n = thread::available_parallelism().unwrap().get();
    assert!((1..=64).contains(&n), "{n}");
}

/// musl's malloc maps large blocks and grows them with `mremap`.
fn large_allocations_grow_and_shrink(_: &Args) {
    let mut v: Vec<u64> = Vec::with_capacity(1 << 16);
    for i in 0..(4 << 20) {
        v.push(i);
    }
    assert_eq!(v[(4 << 20) - 1], (4 << 20) - 1);
    assert_eq!(v.iter().step_by(4096).map(|&x| x % 7).sum::<u64>() % 7, v.iter().step_by(4096).sum::<u64>() % 7);
    v.truncate(10);
    v.shrink_to_fit();
    assert_eq!(v, (0..10).collect::<Vec<_>>());
}

fn a_panic_is_reported(_: &Args) {
    panic!("this test panics on purpose");
}

/// `process::abort` raises SIGABRT: the process ends with 128 + 6 = 134.
fn process_abort_is_sigabrt(_: &Args) {
    expect(libos_abi::debug::EXPECT_SIGNAL, SIGABRT, 0);
    std::process::abort();
}

/// Deep recursion on the main thread runs into the gap below the stack:
/// SIGSEGV, as on Linux. (musl's `std` knows no guard range for the main
/// thread, `install_main_guard_linux_musl` in std's `stack_overflow.rs`,
/// so its handler prints nothing, resets SIGSEGV to the default and
/// returns; the fault comes again and kills: exit status 139.)
fn main_thread_overflow_is_sigsegv(_: &Args) {
    expect(libos_abi::debug::EXPECT_SIGNAL, SIGSEGV, 0);
    println!("{}", recurse(u64::MAX));
}

/// A spawned thread's stack has a guard page below it (musl's
/// `pthread_create` maps it PROT_NONE); std's SIGSEGV handler, on its
/// alternate stack, sees the fault address in that guard, prints "thread
/// '...' has overflowed its stack" and aborts: SIGABRT, exit status 134.
fn thread_overflow_prints_the_message_and_aborts(_: &Args) {
    let message = "has overflowed its stack";
    expect(libos_abi::debug::EXPECT_OUTPUT, message.as_ptr() as u64, message.len() as u64);
    expect(libos_abi::debug::EXPECT_SIGNAL, SIGABRT, 0);
    let deep = thread::Builder::new().name("deep".into()).stack_size(64 * 1024).spawn(|| recurse(u64::MAX)).unwrap();
    println!("{}", deep.join().unwrap());
}
