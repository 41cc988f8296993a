//! Mutex, Condvar, RwLock, Once, OnceLock, channels and parking.

use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use libos::prelude::*;
use libos::sync::{Arc, Condvar, Mutex, Once, OnceLock, RwLock, mpsc};
use libos::thread;
use libos::time::{Duration, Instant};

#[libos::test]
fn a_mutex_counter_from_4_threads_of_100k_increments_is_exact() {
    const THREADS: u64 = 4;
    const INCREMENTS: u64 = 100_000;
    let counter = Arc::new(Mutex::new(0u64));
    let handles: Vec<_> = (0..THREADS)
        .map(|_| {
            let counter = Arc::clone(&counter);
            thread::spawn(move || {
                for _ in 0..INCREMENTS {
                    // A read-modify-write in two steps: lost updates show
                    // if the lock ever lets two threads in.
                    let mut guard = counter.lock().unwrap();
                    let v = *guard;
                    core::hint::black_box(&v);
                    *guard = v + 1;
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(*counter.lock().unwrap(), THREADS * INCREMENTS);
}

#[libos::test]
fn try_lock_fails_while_another_thread_holds_the_lock() {
    let m = Arc::new(Mutex::new(1));
    let guard = m.lock().unwrap();
    let m2 = m.clone();
    let tried = thread::spawn(move || m2.try_lock().is_err()).join().unwrap();
    assert!(tried, "try_lock succeeded on a held mutex");
    drop(guard);
    let m3 = m.clone();
    assert_eq!(thread::spawn(move || *m3.try_lock().unwrap()).join().unwrap(), 1);
}

/// Two threads hand a token back and forth 1000 times through a Condvar;
/// each sees every value in order.
#[libos::test]
fn condvar_ping_pong() {
    const ROUNDS: u32 = 1000;
    let shared = Arc::new((Mutex::new(0u32), Condvar::new()));
    let other = {
        let shared = shared.clone();
        thread::spawn(move || {
            let (value, cv) = &*shared;
            let mut v = value.lock().unwrap();
            for i in 0..ROUNDS {
                v = cv.wait_while(v, |v| *v != 2 * i + 1).unwrap();
                *v += 1;
                cv.notify_one();
            }
        })
    };
    let (value, cv) = &*shared;
    let mut v = value.lock().unwrap();
    for i in 0..ROUNDS {
        assert_eq!(*v, 2 * i);
        *v += 1;
        cv.notify_one();
        v = cv.wait_while(v, |v| *v != 2 * i + 2).unwrap();
    }
    drop(v);
    other.join().unwrap();
    assert_eq!(*value.lock().unwrap(), 2 * ROUNDS);
}

#[libos::test]
fn condvar_wait_timeout_times_out_without_a_notification() {
    let m = Mutex::new(());
    let cv = Condvar::new();
    let start = Instant::now();
    let (_guard, result) = cv.wait_timeout(m.lock().unwrap(), Duration::from_millis(30)).unwrap();
    assert!(result.timed_out());
    assert!(start.elapsed() >= Duration::from_millis(30), "returned after {:?}", start.elapsed());
}

#[libos::test]
fn notify_all_wakes_every_waiter() {
    const WAITERS: usize = 6;
    let shared = Arc::new((Mutex::new((false, 0usize)), Condvar::new()));
    let handles: Vec<_> = (0..WAITERS)
        .map(|_| {
            let shared = shared.clone();
            thread::spawn(move || {
                let (m, cv) = &*shared;
                let mut g = m.lock().unwrap();
                g.1 += 1;
                cv.notify_all();
                let _g = cv.wait_while(g, |g| !g.0).unwrap();
            })
        })
        .collect();
    let (m, cv) = &*shared;
    let mut g = cv.wait_while(m.lock().unwrap(), |g| g.1 < WAITERS).unwrap();
    g.0 = true;
    drop(g);
    cv.notify_all();
    for h in handles {
        h.join().unwrap();
    }
}

#[libos::test]
fn rwlock_readers_share_and_writers_exclude() {
    let lock = Arc::new(RwLock::new(0u64));
    let readers_inside = Arc::new(AtomicUsize::new(0));
    let max_readers = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let (lock, inside, max) = (lock.clone(), readers_inside.clone(), max_readers.clone());
            thread::spawn(move || {
                for _ in 0..2000 {
                    if i == 0 {
                        let mut w = lock.write().unwrap();
                        assert_eq!(inside.load(Ordering::Acquire), 0, "a writer ran beside readers");
                        *w += 1;
                    } else {
                        let r = lock.read().unwrap();
                        let n = inside.fetch_add(1, Ordering::AcqRel) + 1;
                        max.fetch_max(n, Ordering::Relaxed);
                        core::hint::black_box(*r);
                        inside.fetch_sub(1, Ordering::AcqRel);
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(*lock.read().unwrap(), 2000);
}

#[libos::test]
fn once_runs_its_closure_once_however_many_threads_race() {
    static ONCE: Once = Once::new();
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    static CELL: OnceLock<u64> = OnceLock::new();
    let handles: Vec<_> = (0..6u64)
        .map(|i| {
            thread::spawn(move || {
                ONCE.call_once(|| {
                    RUNS.fetch_add(1, Ordering::Relaxed);
                    thread::sleep(Duration::from_millis(5));
                });
                // Everyone returns only after the one run has finished.
                assert!(ONCE.is_completed());
                *CELL.get_or_init(|| 100 + i)
            })
        })
        .collect();
    let values: Vec<u64> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(RUNS.load(Ordering::Relaxed), 1);
    assert!(values.iter().all(|&v| v == values[0]), "OnceLock gave different values: {values:?}");
    assert_eq!(CELL.set(7), Err(7));
}

#[libos::test]
fn a_channel_delivers_every_message_from_many_senders() {
    const SENDERS: u64 = 4;
    const EACH: u64 = 2500;
    let (tx, rx) = mpsc::channel();
    for s in 0..SENDERS {
        let tx = tx.clone();
        thread::spawn(move || {
            for i in 0..EACH {
                tx.send(s * EACH + i).unwrap();
            }
        });
    }
    drop(tx);
    let mut got: Vec<u64> = rx.iter().collect();
    got.sort_unstable();
    assert_eq!(got, (0..SENDERS * EACH).collect::<Vec<_>>());
    assert_eq!(rx.try_recv(), Err(mpsc::TryRecvError::Disconnected));
}

#[libos::test]
fn recv_timeout_times_out_and_then_receives() {
    let (tx, rx) = mpsc::channel::<u32>();
    assert_eq!(rx.recv_timeout(Duration::from_millis(20)), Err(mpsc::RecvTimeoutError::Timeout));
    let h = thread::spawn(move || {
        thread::sleep(Duration::from_millis(10));
        tx.send(5).unwrap();
    });
    assert_eq!(rx.recv_timeout(Duration::from_secs(10)), Ok(5));
    h.join().unwrap();
}

#[libos::test]
fn park_waits_for_unpark() {
    let flag = Arc::new(AtomicBool::new(false));
    let parked = {
        let flag = flag.clone();
        thread::spawn(move || {
            while !flag.load(Ordering::Acquire) {
                thread::park();
            }
        })
    };
    thread::sleep(Duration::from_millis(10));
    flag.store(true, Ordering::Release);
    parked.thread().unpark();
    parked.join().unwrap();
    // A token given before park makes park return at once.
    thread::current().unpark();
    let start = Instant::now();
    thread::park();
    assert!(start.elapsed() < Duration::from_secs(5));
    let start = Instant::now();
    thread::park_timeout(Duration::from_millis(20));
    assert!(start.elapsed() >= Duration::from_millis(20));
}
