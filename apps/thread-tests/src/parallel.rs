//! Threads on every CPU, spreading, and preemption.

use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use libos::prelude::*;
use libos::sync::{Arc, Barrier};
use libos::testing::{require_cpus, spin_with_register_patterns};
use libos::{cpu, debug, thread};

use crate::{rdtsc, ticks_per_ms};

/// Spins (no syscalls) until `counter` reaches `n`, or panics after
/// `ticks` TSC ticks.
fn spin_until(counter: &AtomicUsize, n: usize, ticks: u64, what: &str) {
    let start = rdtsc();
    while counter.load(Ordering::Acquire) < n {
        assert!(rdtsc() - start < ticks, "{what}: only {} of {n} arrived", counter.load(Ordering::Relaxed));
        core::hint::spin_loop();
    }
}

/// How long a spin may wait before the test calls it a failure.
fn long() -> u64 {
    20_000 * ticks_per_ms()
}

#[libos::test]
fn cpu_count_agrees_with_the_kernel() {
    let kernel = debug::call(debug::CPU_COUNT, 0, 0).unwrap() as usize;
    assert_eq!(cpu::count(), kernel);
    assert_eq!(thread::available_parallelism().unwrap().get(), kernel);
    assert!(cpu::current() < kernel);
}

/// One thread pinned to each CPU; all of them spin at the same time until
/// every one has arrived, which only completes if they truly run in
/// parallel (each is pinned to a different CPU and never enters the kernel
/// while it waits).
#[libos::test]
fn threads_run_in_parallel_on_every_cpu() {
    let n = cpu::count();
    let arrived = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..n)
        .map(|c| {
            let arrived = arrived.clone();
            thread::spawn(move || {
                cpu::pin_to(c).unwrap();
                let on = cpu::current();
                arrived.fetch_add(1, Ordering::AcqRel);
                spin_until(&arrived, n, long(), "parallel threads");
                // Still on the pinned CPU after the spin.
                (on, cpu::current())
            })
        })
        .collect();
    for (c, h) in handles.into_iter().enumerate() {
        let (on, after) = h.join().unwrap();
        println!("thread {c}: ran on CPU {on}");
        assert_eq!((on, after), (c, c), "thread pinned to CPU {c} ran elsewhere");
    }
}

/// N unpinned threads that stay runnable end up on N different CPUs: two
/// that start on one CPU take turns there, and at the end of a time slice
/// the waiting one moves to an idle CPU. They are given 100 slices (on a
/// loaded host an emulated CPU may not run for a while) before they look.
#[libos::test]
fn runnable_threads_spread_over_the_cpus() {
    require_cpus(2);
    let n = cpu::count();
    let arrived = Arc::new(AtomicUsize::new(0));
    let recorded = Arc::new(AtomicUsize::new(0));
    let settle = 1000 * ticks_per_ms();
    let handles: Vec<_> = (0..n)
        .map(|_| {
            let (arrived, recorded) = (arrived.clone(), recorded.clone());
            thread::spawn(move || {
                arrived.fetch_add(1, Ordering::AcqRel);
                spin_until(&arrived, n, long(), "spreading threads");
                let until = rdtsc() + settle;
                while rdtsc() < until {
                    core::hint::spin_loop();
                }
                let on = cpu::current();
                recorded.fetch_add(1, Ordering::AcqRel);
                // Keep the CPU busy until everyone has looked, so no CPU
                // is freed early and reused.
                spin_until(&recorded, n, long(), "spreading threads");
                on
            })
        })
        .collect();
    let mut cpus: Vec<usize> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    println!("threads ran on CPUs {cpus:?}");
    cpus.sort_unstable();
    cpus.dedup();
    assert_eq!(cpus.len(), n, "{n} runnable threads did not spread over {n} CPUs");
}

/// A thread in an endless ring-3 loop (no syscalls) does not keep another
/// thread on the same CPU from running: the timer preempts it.
#[libos::test]
fn a_spinning_thread_does_not_starve_another_on_the_same_cpu() {
    cpu::pin_to(0).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let started = Arc::new(AtomicBool::new(false));
    let spinner = {
        let (stop, started) = (stop.clone(), started.clone());
        thread::spawn(move || {
            started.store(true, Ordering::Release);
            let begin = rdtsc();
            let limit = long();
            let mut spins = 0u64;
            while !stop.load(Ordering::Acquire) {
                assert!(rdtsc() - begin < limit, "the other thread never ran: starved");
                spins += 1;
            }
            spins
        })
    };
    while !started.load(Ordering::Acquire) {
        thread::yield_now();
    }
    // The spinner runs now; this thread (and the next) share its CPU.
    let other = {
        let stop = stop.clone();
        thread::spawn(move || {
            assert_eq!(cpu::current(), 0);
            stop.store(true, Ordering::Release);
        })
    };
    other.join().unwrap();
    let spins = spinner.join().unwrap();
    assert!(spins > 0);
}

/// Two threads on one CPU, each spinning with known values in its
/// registers while the timer switches between them: every interrupt in ring
/// 3 and every switch gives each thread its registers back.
#[libos::test]
fn registers_survive_preemption() {
    cpu::pin_to(0).unwrap();
    let switches_seen = Arc::new(AtomicU64::new(0));
    let ms = ticks_per_ms();
    let handles: Vec<_> = (0..2u64)
        .map(|i| {
            let seen = switches_seen.clone();
            thread::spawn(move || {
                // 300 ms each (30 time slices): the two must take turns.
                let spin = spin_with_register_patterns(0x1234_5678 * (i + 1), 300 * ms, ms);
                seen.fetch_add(spin.gaps, Ordering::Relaxed);
                spin.intact
            })
        })
        .collect();
    for h in handles {
        assert!(h.join().unwrap(), "a register changed across preemption");
    }
    let gaps = switches_seen.load(Ordering::Relaxed);
    println!("the two threads saw {gaps} long gaps (preemptions) between them");
    assert!(gaps > 0, "no thread was ever preempted");
}

/// All threads meet at a barrier many times over; each round has exactly
/// one leader.
#[libos::test]
fn a_barrier_holds_every_round() {
    const THREADS: usize = 4;
    const ROUNDS: usize = 200;
    let barrier = Arc::new(Barrier::new(THREADS));
    let leaders = Arc::new(AtomicUsize::new(0));
    let phase = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..THREADS)
        .map(|_| {
            let (barrier, leaders, phase) = (barrier.clone(), leaders.clone(), phase.clone());
            thread::spawn(move || {
                for round in 0..ROUNDS {
                    // Nobody may be a round ahead.
                    assert!(phase.load(Ordering::Acquire) >= round * THREADS);
                    phase.fetch_add(1, Ordering::AcqRel);
                    if barrier.wait().is_leader() {
                        leaders.fetch_add(1, Ordering::Relaxed);
                    }
                    assert!(phase.load(Ordering::Acquire) >= (round + 1) * THREADS, "left the barrier early");
                    barrier.wait();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(leaders.load(Ordering::Relaxed), ROUNDS);
}
