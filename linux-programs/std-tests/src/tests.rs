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
    Test { name, expect: Expect::Pass, run }
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
    Test { name: "std_tests::a_panic_is_reported", expect: Expect::Panic { message: None }, run: a_panic_is_reported },
];

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
