//! Signals and threads: masks are per thread and inherited, a signal sent
//! to the process goes to a thread that does not block it, and signals
//! racing the exit of their target thread (on every CPU) end in `ESRCH` or
//! a handler, never in a kernel fault.

use core::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering::SeqCst};

use libos::sys;
use libos_abi::errno::Errno;
use libos_abi::signal::{SigInfo, UContext, how, sig};

use crate::{bit, blocked, install, pid, sigprocmask, tid};

static HANDLED_BY: AtomicI32 = AtomicI32::new(0);
static HANDLED: AtomicU64 = AtomicU64::new(0);

extern "C" fn note_thread(_: i32, _: *mut SigInfo, _: *mut UContext) {
    HANDLED_BY.store(tid(), SeqCst);
    HANDLED.fetch_add(1, SeqCst);
}

#[libos::test]
fn a_process_signal_goes_to_a_thread_that_does_not_block_it() {
    install(sig::SIGUSR2, note_thread, 0, 0);
    sigprocmask(how::SIG_BLOCK, bit(sig::SIGUSR2));
    static READY: AtomicBool = AtomicBool::new(false);
    static WORKER: AtomicI32 = AtomicI32::new(0);
    let worker = libos::thread::spawn(|| {
        // The mask is inherited.
        let inherited = blocked();
        WORKER.store(tid(), SeqCst);
        sigprocmask(how::SIG_UNBLOCK, bit(sig::SIGUSR2));
        READY.store(true, SeqCst);
        while HANDLED.load(SeqCst) == 0 {
            libos::thread::yield_now();
        }
        inherited
    });
    while !READY.load(SeqCst) {
        libos::thread::yield_now();
    }
    sys::kill(pid(), sig::SIGUSR2).unwrap();
    let inherited = worker.join().unwrap();
    assert_eq!(inherited & bit(sig::SIGUSR2), bit(sig::SIGUSR2));
    assert_eq!(HANDLED_BY.load(SeqCst), WORKER.load(SeqCst));
    // The main thread's own mask did not change.
    assert_eq!(blocked(), bit(sig::SIGUSR2));
}

#[libos::test]
fn tgkill_to_a_thread_of_the_app_runs_the_handler_there() {
    install(sig::SIGUSR1, note_thread, 0, 0);
    static WORKER: AtomicI32 = AtomicI32::new(0);
    static STOP: AtomicBool = AtomicBool::new(false);
    let worker = libos::thread::spawn(|| {
        WORKER.store(tid(), SeqCst);
        while !STOP.load(SeqCst) {
            libos::thread::yield_now();
        }
    });
    while WORKER.load(SeqCst) == 0 {
        libos::thread::yield_now();
    }
    sys::tgkill(pid(), WORKER.load(SeqCst), sig::SIGUSR1).unwrap();
    while HANDLED.load(SeqCst) == 0 {
        libos::thread::yield_now();
    }
    assert_eq!(HANDLED_BY.load(SeqCst), WORKER.load(SeqCst));
    STOP.store(true, SeqCst);
    worker.join().unwrap();
}

static TIDS: [AtomicI32; 3] = [const { AtomicI32::new(0) }; 3];
static GO: AtomicBool = AtomicBool::new(false);

#[libos::test]
fn signals_racing_thread_exit_end_in_esrch_or_a_handler() {
    install(sig::SIGUSR1, note_thread, 0, 0);
    let mut sent = 0u64;
    let mut gone = 0u64;
    for round in 0..40u32 {
        for t in &TIDS {
            t.store(0, SeqCst);
        }
        GO.store(false, SeqCst);
        let workers: [_; 3] = core::array::from_fn(|i| {
            libos::thread::spawn(move || {
                TIDS[i].store(tid(), SeqCst);
                // Wait for the first signals (bounded), then short lives of
                // different lengths while more come; one signals the app too.
                for _ in 0..10_000 {
                    if GO.load(SeqCst) {
                        break;
                    }
                    libos::thread::yield_now();
                }
                for _ in 0..(round % 5) * (i as u32 + 1) {
                    libos::thread::yield_now();
                }
                if i == 0 {
                    let _ = sys::kill(pid(), sig::SIGUSR1);
                }
            })
        });
        // Each has started (some may be gone already).
        while TIDS.iter().any(|t| t.load(SeqCst) == 0) {
            libos::thread::yield_now();
        }
        for sweep in 0..30 {
            if sweep == 1 {
                GO.store(true, SeqCst);
            }
            for t in &TIDS {
                let id = t.load(SeqCst);
                if id == 0 {
                    continue;
                }
                match sys::tgkill(pid(), id, sig::SIGUSR1) {
                    Ok(()) => sent += 1,
                    Err(Errno::ESRCH) => gone += 1,
                    Err(e) => panic!("tgkill to a thread that exits: {e:?}"),
                }
            }
        }
        for w in workers {
            w.join().unwrap();
        }
    }
    libos::println!("signals sent {sent}, to threads already gone {gone}, handled {}", HANDLED.load(SeqCst));
    assert!(sent > 0);
    assert!(HANDLED.load(SeqCst) > 0);
}
