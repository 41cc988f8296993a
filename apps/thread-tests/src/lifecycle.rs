//! Spawning, joining, names and ids, scoped threads, thread-locals, and
//! what happens to a thread's memory and the thread limit.

use core::cell::{Cell, RefCell};
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use libos::__private::abi::abi_types::clone_flags::{CLONE_SIGHAND, CLONE_THREAD, CLONE_VM};
use libos::prelude::*;
use libos::sync::Arc;
use libos::time::{Duration, Instant};
use libos::{Errno, debug, sys, thread};

#[libos::test]
fn join_returns_the_value() {
    let h = thread::spawn(|| (1..=20u64).product::<u64>());
    assert_eq!(h.join().unwrap(), 2_432_902_008_176_640_000);
    let s = thread::spawn(|| String::from("from a thread")).join().unwrap();
    assert_eq!(s, "from a thread");
    // A big value crosses intact too.
    let v = thread::spawn(|| (0..10_000u32).collect::<Vec<_>>()).join().unwrap();
    assert_eq!(v.len(), 10_000);
    assert_eq!(v[9_999], 9_999);
}

#[libos::test]
fn threads_have_names_ids_and_kernel_tids() {
    let main = thread::current();
    assert_eq!(main.name(), Some("main"));
    assert_eq!(main.os_id() as i32, sys::gettid().unwrap());
    let h = thread::Builder::new()
        .name("worker-7".into())
        .stack_size(64 * 1024)
        .spawn(|| {
            let me = thread::current();
            let mut name = [0u8; 16];
            // SAFETY: PR_GET_NAME writes 16 bytes into `name`.
            unsafe { sys::prctl(16, name.as_mut_ptr() as u64, 0, 0, 0) }.unwrap();
            (me.id(), me.name().map(String::from), me.os_id() as i32, sys::gettid().unwrap(), name)
        })
        .unwrap();
    let spawned_id = h.thread().id();
    let (id, name, os_id, tid, kernel_name) = h.join().unwrap();
    assert_eq!(id, spawned_id);
    assert_ne!(id, main.id());
    assert_eq!(name.as_deref(), Some("worker-7"));
    assert_eq!(os_id, tid);
    assert_ne!(tid, sys::gettid().unwrap());
    assert_eq!(&kernel_name[..9], b"worker-7\0", "the kernel did not get the name");
    let unnamed = thread::spawn(|| thread::current().name().map(String::from)).join().unwrap();
    assert_eq!(unnamed, None);
}

#[libos::test]
fn scoped_threads_borrow_from_the_stack() {
    let mut numbers = [1u64, 2, 3, 4, 5, 6, 7, 8];
    let total = AtomicUsize::new(0);
    let (left, right) = numbers.split_at_mut(4);
    thread::scope(|s| {
        s.spawn(|| left.iter_mut().for_each(|n| *n *= 10));
        let r = s.spawn(|| {
            right.iter_mut().for_each(|n| *n += 100);
            right.iter().sum::<u64>()
        });
        s.spawn(|| total.fetch_add(1, Ordering::Relaxed));
        assert_eq!(r.join().unwrap(), 105 + 106 + 107 + 108);
    });
    // Every scoped thread has finished when scope returns.
    assert_eq!(total.load(Ordering::Relaxed), 1);
    assert_eq!(numbers, [10, 20, 30, 40, 105, 106, 107, 108]);
}

libos::thread_local! {
    static COUNTER: Cell<u64> = const { Cell::new(0) };
    static LOG: RefCell<Vec<u32>> = RefCell::new(Vec::new());
    static DROPPED: DropCounter = DropCounter;
}

/// Counts its drops (a thread-local destructor must run at thread exit).
struct DropCounter;

static DROPS: AtomicUsize = AtomicUsize::new(0);

impl Drop for DropCounter {
    fn drop(&mut self) {
        DROPS.fetch_add(1, Ordering::Release);
    }
}

#[libos::test]
fn thread_locals_are_per_thread_and_dropped_at_thread_exit() {
    COUNTER.set(41);
    LOG.with_borrow_mut(|l| l.push(1));
    let handles: Vec<_> = (0..4u64)
        .map(|i| {
            thread::spawn(move || {
                assert_eq!(COUNTER.get(), 0, "a new thread saw another thread's value");
                for _ in 0..1000 {
                    COUNTER.set(COUNTER.get() + i);
                    thread::yield_now();
                }
                DROPPED.with(|_| ());
                LOG.with_borrow(|l| assert!(l.is_empty()));
                COUNTER.get()
            })
        })
        .collect();
    for (i, h) in handles.into_iter().enumerate() {
        assert_eq!(h.join().unwrap(), 1000 * i as u64);
    }
    assert_eq!(COUNTER.get(), 41);
    LOG.with_borrow(|l| assert_eq!(l, &[1]));
    assert_eq!(DROPS.load(Ordering::Acquire), 4, "thread-local destructors did not run at exit");
}

/// Spawning hundreds of threads one after another (joined or detached)
/// neither leaks their memory nor runs into the kernel's thread limit.
#[libos::test]
fn finished_threads_give_back_their_stacks() {
    let resident = || debug::call(debug::RESIDENT_PAGES, 0, 0).unwrap();
    // Warm the heap up so its growth does not count.
    for _ in 0..4 {
        thread::spawn(|| ()).join().unwrap();
    }
    let before = resident();
    for i in 0..300u64 {
        assert_eq!(thread::spawn(move || i * 2).join().unwrap(), i * 2);
    }
    let done = Arc::new(AtomicUsize::new(0));
    for i in 0..300 {
        let done2 = done.clone();
        drop(thread::spawn(move || {
            done2.fetch_add(1, Ordering::Release);
        }));
        // Detached threads end on their own; keep them from piling up
        // faster than they finish (at most 64 at a time).
        while i + 1 - done.load(Ordering::Acquire) > 64 {
            thread::yield_now();
        }
    }
    // Each detached thread unmaps its stack itself as it exits.
    let start = Instant::now();
    loop {
        let now = resident();
        // Two pages at least per leaked thread (stack top and control block).
        if done.load(Ordering::Acquire) == 300 && now <= before + 64 {
            println!("resident pages: {before} before, {now} after 600 threads");
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "resident pages grew from {before} to {now}");
        thread::sleep(Duration::from_millis(5));
    }
}

/// Beyond the kernel's limit, spawning fails with a clear error (EAGAIN),
/// and the app goes on.
#[libos::test]
fn spawning_beyond_the_thread_limit_fails_with_eagain() {
    let release = Arc::new(AtomicBool::new(false));
    let mut handles = Vec::new();
    let error = loop {
        let release = release.clone();
        match thread::Builder::new().stack_size(16 * 1024).spawn(move || {
            while !release.load(Ordering::Acquire) {
                thread::park();
            }
        }) {
            Ok(h) => handles.push(h),
            Err(e) => break e,
        }
        assert!(handles.len() < 10_000, "no thread limit");
    };
    println!("{} threads ran at once; the next spawn failed with {error}", handles.len() + 1);
    assert_eq!(error, Errno::EAGAIN);
    release.store(true, Ordering::Release);
    for h in &handles {
        h.thread().unpark();
    }
    for h in handles {
        h.join().unwrap();
    }
    // And there is room again.
    assert_eq!(thread::spawn(|| 3).join().unwrap(), 3);
}

#[libos::test]
fn clone_with_inconsistent_thread_flags_is_einval() {
    // As Linux's `copy_process`: CLONE_THREAD needs CLONE_SIGHAND, which
    // needs CLONE_VM. (Without CLONE_THREAD, clone is a fork: the C sweep
    // tests that.)
    for flags in [CLONE_THREAD, CLONE_VM | CLONE_THREAD, CLONE_SIGHAND] {
        // SAFETY: the kernel rejects these flags before creating anything.
        let r = unsafe { sys::clone(flags, 0, core::ptr::null_mut(), core::ptr::null_mut(), 0) };
        assert_eq!(r, Err(Errno::EINVAL), "flags {flags:#x}");
    }
}

/// `exit` ends only the calling thread; the others go on. (Were it the
/// whole app's exit, the run would end here with code 5 and fail.)
#[libos::test]
fn exit_ends_one_thread_only() {
    let exiting = Arc::new(AtomicBool::new(false));
    let h = {
        let exiting = exiting.clone();
        thread::spawn(move || {
            exiting.store(true, Ordering::Release);
            // The raw syscall: the thread's runtime cleanup is skipped.
            sys::exit(5)
        })
    };
    while !exiting.load(Ordering::Acquire) {
        thread::yield_now();
    }
    let start = Instant::now();
    thread::sleep(Duration::from_millis(50));
    assert!(start.elapsed() >= Duration::from_millis(50));
    // Not joined: the thread never stored a result.
    drop(h);
}

/// `exit_group` (process::exit) from any thread ends every thread.
#[libos::test]
fn exit_group_from_a_thread_ends_the_app() {
    thread::spawn(|| libos::process::exit(0));
    let start = Instant::now();
    loop {
        assert!(start.elapsed() < Duration::from_secs(10), "exit_group did not end the main thread");
        core::hint::spin_loop();
    }
}
