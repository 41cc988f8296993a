//! The ring-3 side of `cargo xtask bench`. It measures and prints; the
//! xtask runs it under the configurations it compares (QEMU with and
//! without `-icount`, KPTI on and off, Bochs with PCID) and turns the
//! figures into a table.
//!
//! Each figure is one line, `[bench] <what> key=value ...`, with raw
//! totals (TSC ticks, nanoseconds, iterations); the xtask divides.
//!
//! The measured loops and the lines are `bench-workload`'s
//! (`apps/bench/workload`): the Linux guest's `/init` (`apps/bench/linux`)
//! runs the same code under Linux in the same benchmark run, so that the
//! two kernels are compared on the same instructions.
//!
//! Modes (the first argument):
//! - `syscalls [iterations]`: on CPU 0, a loop of known length (to check
//!   that the TSC counts instructions, under `-icount`), then round trips of
//!   an unknown syscall (-ENOSYS), of `getpid`, and of the floor entry
//!   that returns at once (`libos_debug BENCH_FLOOR`).
//! - `boot`: TSC ticks from the kernel's first instruction to here.
//! - `scaling [iterations]`: `getpid` throughput with 1..N threads, each
//!   pinned to its own CPU.
//! - `files [iterations] [MiB]`: `bench_workload::files`: `open`+`fstat`+
//!   `close` rounds, then a file of that size written and read in 4 KiB
//!   and 1 MiB calls, in `/tmp` (a RAM file system; the image needs
//!   `fs.ram=` above the size).
//! - `files-disk [MiB]`: `bench_workload::files::run_disk`: a file of that
//!   size written (with `fsync`) and read in 4 KiB and 1 MiB calls on the
//!   ext2 disk at `/data` (`--disk`).
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicUsize, Ordering};

use bench_workload::line::{Config, Syscall};
use bench_workload::{GETPID, UNKNOWN_SYSCALL, measure, rdtsc, syscall_loop};
use libos::prelude::*;
use libos::sync::{Arc, Barrier};
use libos::time::Instant;
use libos::{cpu, debug, thread};

// The shared workload speaks Linux's numbers, which our table keeps.
const _: () = assert!(GETPID == libos::sys::nr::GETPID);

fn report(path: &str, iterations: u64, tsc: u64, hz: u64) {
    let ns = (tsc as u128 * 1_000_000_000 / hz as u128) as u64;
    println!("{}", Syscall { path, iterations, tsc, ns });
}

/// The entry configuration, as the kernel reports it.
fn config() -> Config {
    let flags = debug::call(debug::ENTRY_FLAGS, 0, 0).unwrap_or(0);
    Config { kpti: flags & 1 != 0, pcid: flags & 2 != 0 }
}

fn syscalls(iterations: u64) {
    cpu::pin_to(0).expect("pin to CPU 0");
    println!("{}", bench_workload::check());
    println!("{}", config());
    let hz = debug::call(debug::TSC_HZ, 0, 0).expect("TSC frequency");
    report("null", iterations, measure(UNKNOWN_SYSCALL, iterations), hz);
    report("getpid", iterations, measure(GETPID, iterations), hz);
    // SAFETY: this thread is pinned to CPU 0 (above) and makes no system
    // call but the measured loop while the floor is installed.
    let floor = unsafe {
        debug::set_bench_floor(true).expect("install the floor entry");
        let floor = measure(UNKNOWN_SYSCALL, iterations);
        debug::set_bench_floor(false).expect("remove the floor entry");
        floor
    };
    // The normal entry is back: getpid answers again.
    assert_eq!(libos::sys::getpid().ok(), Some(libos::process::id() as i32), "the floor entry is still installed");
    report("floor", iterations, floor, hz);
}

fn boot() {
    let now = rdtsc();
    let first = debug::call(debug::FIRST_INSTRUCTION_TSC, 0, 0).expect("first-instruction TSC");
    let hz = debug::call(debug::TSC_HZ, 0, 0).expect("TSC frequency");
    println!("[bench] boot tsc={} tsc_hz={hz}", now - first);
}

fn scaling(iterations: u64) {
    println!("{}", config());
    let n = cpu::count();
    for threads in 1..=n {
        let barrier = Arc::new(Barrier::new(threads + 1));
        let done = Arc::new(AtomicUsize::new(0));
        let handles: Vec<_> = (0..threads)
            .map(|c| {
                let (barrier, done) = (barrier.clone(), done.clone());
                thread::spawn(move || {
                    cpu::pin_to(c).expect("pin");
                    syscall_loop(GETPID, iterations / 10 + 1);
                    barrier.wait();
                    syscall_loop(GETPID, iterations);
                    done.fetch_add(1, Ordering::Release);
                })
            })
            .collect();
        barrier.wait();
        let t = Instant::now();
        for h in handles {
            h.join().expect("scaling thread");
        }
        let ns = t.elapsed().as_nanos();
        assert_eq!(done.load(Ordering::Acquire), threads);
        println!("[bench] scaling threads={threads} calls={} ns={ns}", iterations * threads as u64);
    }
}

fn files(iterations: u64, mib: u64) -> i32 {
    let mut buf = vec![0u8; 1 << 20];
    let started = Instant::now();
    let now = || started.elapsed().as_nanos() as u64;
    match bench_workload::files::run(iterations, mib << 20, &mut buf, &now, &mut |op| println!("{op}")) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("bench: files: error {}", -e);
            1
        }
    }
}

fn files_disk(mib: u64) -> i32 {
    let mut buf = vec![0u8; 1 << 20];
    let started = Instant::now();
    let now = || started.elapsed().as_nanos() as u64;
    // Our ext2 keeps no data cache: nothing to drop between.
    match bench_workload::files::run_disk(mib << 20, &mut buf, &now, &|| {}, &mut |op| println!("{op}")) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("bench: files-disk: error {}", -e);
            1
        }
    }
}

#[libos::main]
fn main() -> i32 {
    let args: Vec<&str> = libos::env::args().collect();
    let iterations = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(100_000u64);
    match args.get(1).copied() {
        Some("boot") | None => boot(),
        Some("syscalls") => syscalls(iterations),
        Some("scaling") => scaling(iterations),
        Some("files") => return files(iterations, args.get(3).and_then(|a| a.parse().ok()).unwrap_or(64)),
        Some("files-disk") => return files_disk(args.get(2).and_then(|a| a.parse().ok()).unwrap_or(64)),
        Some(other) => {
            eprintln!("bench: unknown mode {other:?} (boot, syscalls, scaling, files, files-disk)");
            return 2;
        }
    }
    0
}
