//! Memory calls and faults racing on several CPUs.

use core::sync::atomic::{AtomicUsize, Ordering};

use libos::__private::abi::abi_types::{MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, PROT_READ, PROT_WRITE};
use libos::prelude::*;
use libos::sync::{Arc, Barrier};
use libos::{cpu, sys, thread};

const PAGES: usize = 16;
const ROUNDS: usize = 40;
const WORKERS: usize = 4;

/// Threads on every CPU touch the same fresh pages at once, by plain
/// writes (page faults) and by user copies (`getrandom` into the page):
/// whoever loses the race to map a page finds it mapped, which is a
/// success. Once the second fault was reported "out of memory" and the app
/// killed, and copies failed with EFAULT (7792 in one run).
#[libos::test]
fn threads_touching_the_same_fresh_pages_all_succeed() {
    let shared = Arc::new(AtomicUsize::new(0));
    let failures = Arc::new(AtomicUsize::new(0));
    let barrier = Arc::new(Barrier::new(WORKERS + 1));
    let cpus = cpu::count();
    let workers: Vec<_> = (0..WORKERS)
        .map(|w| {
            let (shared, failures, barrier) = (shared.clone(), failures.clone(), barrier.clone());
            thread::spawn(move || {
                let _ = cpu::pin_to(w % cpus);
                for _ in 0..ROUNDS {
                    barrier.wait();
                    let base = shared.load(Ordering::Acquire);
                    for i in 0..PAGES {
                        // Half the workers go up, half down, half copy first.
                        let p = if w % 2 == 0 { i } else { PAGES - 1 - i };
                        let page = base + p * 4096;
                        let copy = |at: usize| {
                            // SAFETY: 16 bytes of the fresh mapping, ours alone.
                            if unsafe { sys::getrandom(at as *mut u8, 16, 0) } != Ok(16) {
                                failures.fetch_add(1, Ordering::Relaxed);
                            }
                        };
                        let slot = page + 64 * w;
                        if w < 2 {
                            copy(slot + 1024);
                        }
                        // SAFETY: a word of the fresh mapping, ours alone.
                        unsafe { (slot as *mut u64).write_volatile(w as u64 + 1) };
                        if w >= 2 {
                            copy(slot + 1024);
                        }
                    }
                    barrier.wait();
                }
            })
        })
        .collect();
    for _ in 0..ROUNDS {
        // SAFETY: a fresh mapping.
        let base = unsafe { sys::mmap(0, PAGES * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) }
            .expect("mmap");
        shared.store(base, Ordering::Release);
        barrier.wait();
        barrier.wait();
        for p in 0..PAGES {
            for w in 0..WORKERS {
                // SAFETY: the mapping, written by the workers before the barrier.
                let v = unsafe { ((base + p * 4096 + 64 * w) as *const u64).read_volatile() };
                assert_eq!(v, w as u64 + 1, "page {p}: worker {w}'s write is missing");
            }
        }
        // SAFETY: our mapping; the workers wait at the barrier.
        unsafe { sys::munmap(base, PAGES * 4096) }.unwrap();
    }
    for w in workers {
        w.join().unwrap();
    }
    assert_eq!(failures.load(Ordering::Relaxed), 0, "user copies into fresh memory failed");
}

/// An exit_group from one thread ends the app while another thread is
/// inside huge munmap calls: it maps 64 TiB, touches pages spread over it
/// (so that the walk has tables to visit) and unmaps it, over and over.
/// The calls let a kill in between bounded chunks. Once a page-by-page
/// walk with interrupts off took hours for 64 TiB, and the app never
/// ended.
#[libos::test]
fn exit_ends_the_app_during_huge_munmaps() {
    const TIB: usize = 1 << 40;
    let started = Arc::new(AtomicUsize::new(0));
    let s = started.clone();
    let _unmapper = thread::spawn(move || {
        let _ = cpu::pin_to(1 % cpu::count());
        loop {
            // SAFETY: 16..80 TiB holds nothing else of this app (mappings
            // go top-down from below the stack, near 128 TiB).
            unsafe {
                let at = sys::mmap(
                    16 * TIB,
                    64 * TIB,
                    PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
                    -1,
                    0,
                )
                .expect("64 TiB at 16 TiB");
                for i in 0..64 {
                    ((at + i * TIB + i * (2 << 20)) as *mut u8).write_volatile(1);
                }
                s.fetch_add(1, Ordering::Release);
                let _ = sys::munmap(at, 64 * TIB);
            }
        }
    });
    while started.load(Ordering::Acquire) < 2 {
        thread::yield_now();
    }
    // Ends the test as a pass only if the app does end.
    libos::process::exit(0);
}
