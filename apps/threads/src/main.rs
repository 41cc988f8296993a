//! Counts the primes below a limit (10 million by default) with a segmented
//! sieve of Eratosthenes, first on one thread, then on one thread per CPU,
//! and prints which CPU each thread ran on, how much of the work it did,
//! and the speed-up.
//!
//! `cargo xtask run threads --smp 4` (arguments after `--`: the limit and
//! the number of threads, e.g. `cargo xtask run threads --smp 4 -- -- 1000000 8`).
//! Exits with 1 if the two counts differ or the known count is wrong.
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicUsize, Ordering};

use libos::prelude::*;
use libos::sync::Arc;
use libos::time::{Duration, Instant};
use libos::{cpu, thread};

/// Numbers per segment: small enough that a segment's bytes stay in cache.
const SEGMENT: usize = 128 * 1024;

/// π(n) for powers of ten, to check the result.
const KNOWN: [(usize, usize); 6] = [
    (1_000, 168),
    (10_000, 1_229),
    (100_000, 9_592),
    (1_000_000, 78_498),
    (10_000_000, 664_579),
    (100_000_000, 5_761_455),
];

/// What one worker did.
struct Report {
    cpus: Vec<usize>,
    segments: usize,
    primes: usize,
    busy: Duration,
    /// When it started, after the run's start.
    started: Duration,
    /// When it finished, after the run's start.
    finished: Duration,
}

/// The primes up to `n` (a plain sieve; `n` is the square root of the limit).
fn small_primes(n: usize) -> Vec<usize> {
    let mut composite = vec![false; n + 1];
    let mut primes = Vec::new();
    for i in 2..=n {
        if !composite[i] {
            primes.push(i);
            let mut j = i * i;
            while j <= n {
                composite[j] = true;
                j += i;
            }
        }
    }
    primes
}

/// Counts the primes in `[lo, hi)` using `base` (every prime up to √hi).
fn count_segment(lo: usize, hi: usize, base: &[usize], sieve: &mut [bool]) -> usize {
    let sieve = &mut sieve[..hi - lo];
    sieve.fill(true);
    for &p in base {
        if p * p >= hi {
            break;
        }
        let mut m = (lo.div_ceil(p) * p).max(p * p);
        while m < hi {
            sieve[m - lo] = false;
            m += p;
        }
    }
    let skip = 2usize.saturating_sub(lo).min(sieve.len());
    sieve[skip..].iter().filter(|&&b| b).count()
}

/// Sieves `[0, limit)` on `threads` threads (thread i pinned to CPU
/// i mod CPUs), which take segments from a shared counter until none are
/// left.
fn run(limit: usize, threads: usize, base: &Arc<Vec<usize>>) -> (usize, Duration, Vec<Report>) {
    let next = Arc::new(AtomicUsize::new(0));
    let segments = limit.div_ceil(SEGMENT);
    let cpus = cpu::count();
    let start = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|i| {
            let (next, base) = (next.clone(), base.clone());
            thread::Builder::new()
                .name(format!("sieve-{i}"))
                .spawn(move || {
                    let began = Instant::now();
                    cpu::pin_to(i % cpus).expect("pin to a CPU");
                    let mut sieve = vec![true; SEGMENT];
                    let mut report = Report {
                        cpus: Vec::new(),
                        segments: 0,
                        primes: 0,
                        busy: Duration::ZERO,
                        started: began - start,
                        finished: Duration::ZERO,
                    };
                    loop {
                        let s = next.fetch_add(1, Ordering::Relaxed);
                        if s >= segments {
                            break;
                        }
                        let c = cpu::current();
                        if !report.cpus.contains(&c) {
                            report.cpus.push(c);
                        }
                        let lo = s * SEGMENT;
                        report.primes += count_segment(lo, (lo + SEGMENT).min(limit), &base, &mut sieve);
                        report.segments += 1;
                    }
                    report.busy = began.elapsed();
                    report.finished = start.elapsed();

                    report
                })
                .expect("spawn a sieve thread")
        })
        .collect();
    let reports: Vec<Report> = handles.into_iter().map(|h| h.join().expect("sieve thread")).collect();
    let elapsed = start.elapsed();
    (reports.iter().map(|r| r.primes).sum(), elapsed, reports)
}

#[libos::main]
fn main() -> i32 {
    let args: Vec<&str> = libos::env::args().collect();
    let limit: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(10_000_000);
    let threads: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or_else(cpu::count).max(1);
    println!("counting primes below {limit} on {} CPU(s)", cpu::count());
    let base = Arc::new(small_primes(limit.isqrt() + 1));

    let (one, t1, _) = run(limit, 1, &base);
    println!("1 thread:   {one} primes in {:.3} s", t1.as_secs_f64());

    let (many, tn, reports) = run(limit, threads, &base);
    println!("{threads} threads: {many} primes in {:.3} s", tn.as_secs_f64());
    for (i, r) in reports.iter().enumerate() {
        println!(
            "  sieve-{i}: CPU {:?}, {} segments ({:.0}%), {} primes, busy {:.3} s (from {:.3} to {:.3} s)",
            r.cpus,
            r.segments,
            100.0 * r.segments as f64 / limit.div_ceil(SEGMENT) as f64,
            r.primes,
            r.busy.as_secs_f64(),
            r.started.as_secs_f64(),
            r.finished.as_secs_f64()
        );
    }
    let mut used: Vec<usize> = reports.iter().flat_map(|r| r.cpus.iter().copied()).collect();
    used.sort_unstable();
    used.dedup();
    println!("work spread over CPUs {used:?}");
    println!("speed-up with {threads} threads: {:.2}x", t1.as_secs_f64() / tn.as_secs_f64());

    if one != many {
        eprintln!("the counts differ: {one} with one thread, {many} with {threads}");
        return 1;
    }
    if let Some(&(_, want)) = KNOWN.iter().find(|&&(n, _)| n == limit)
        && one != want
    {
        eprintln!("wrong count: {one}, but there are {want} primes below {limit}");
        return 1;
    }
    0
}
