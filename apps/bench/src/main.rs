//! The ring-3 side of `cargo xtask bench`. It measures and prints; the
//! xtask runs it under the configurations it compares (QEMU with and
//! without `-icount`, KPTI on and off, Bochs with PCID) and turns the
//! figures into a table.
//!
//! Each figure is one line, `[bench] <what> key=value ...`, with raw
//! totals (TSC ticks, nanoseconds, iterations); the xtask divides.
//!
//! Modes (the first argument):
//! - `syscalls [iterations]`: on CPU 0, a loop of known length (to check
//!   that the TSC counts instructions, under `-icount`), then round trips of
//!   an unknown syscall (-ENOSYS), of `getpid`, and of the floor entry
//!   that returns at once (`libos_debug BENCH_FLOOR`).
//! - `boot`: TSC ticks from the kernel's first instruction to here.
//! - `scaling [iterations]`: `getpid` throughput with 1..N threads, each
//!   pinned to its own CPU.
#![no_std]
#![no_main]

use core::arch::asm;
use core::sync::atomic::{AtomicUsize, Ordering};

use libos::prelude::*;
use libos::sync::{Arc, Barrier};
use libos::time::Instant;
use libos::{cpu, debug, thread};

/// A syscall number no kernel table has: the call fails with -ENOSYS.
const UNKNOWN_SYSCALL: u64 = 500;
/// `getpid`.
const GETPID: u64 = libos::sys::nr::GETPID;

/// The TSC (with `-icount shift=0`: instructions executed).
fn rdtsc() -> u64 {
    // SAFETY: RDTSC only reads a counter (allowed in ring 3).
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// `iterations` round trips of syscall `nr` with no arguments, in a tight
/// loop: returns the TSC ticks they took.
fn syscall_loop(nr: u64, iterations: u64) -> u64 {
    let start = rdtsc();
    // SAFETY: `nr` is an unknown number or getpid (or any number under the
    // floor entry): none takes arguments or touches memory. SYSCALL
    // clobbers RCX and R11.
    unsafe {
        asm!(
            "2:",
            "mov rax, {nr}",
            "syscall",
            "dec {n}",
            "jnz 2b",
            nr = in(reg) nr,
            n = inout(reg) iterations => _,
            out("rax") _, out("rcx") _, out("r11") _,
            options(nostack),
        );
    }
    rdtsc() - start
}

/// `iterations` runs of a loop body of exactly 2 instructions (`dec`,
/// `jnz`): the TSC ticks they took.
fn known_loop(iterations: u64) -> u64 {
    let start = rdtsc();
    // SAFETY: only a register counts down.
    unsafe {
        asm!("2:", "dec {n}", "jnz 2b", n = inout(reg) iterations => _, options(nomem, nostack));
    }
    rdtsc() - start
}

/// Times `iterations` round trips of `nr` (after a warm-up). No other
/// syscall may run meanwhile: under the floor entry every call but
/// `libos_debug` does nothing, printing included.
fn measure(nr: u64, iterations: u64) -> u64 {
    syscall_loop(nr, iterations / 10 + 1);
    syscall_loop(nr, iterations)
}

fn report(name: &str, iterations: u64, ticks: u64, hz: u64) {
    let ns = ticks as u128 * 1_000_000_000 / hz as u128;
    println!("[bench] syscall path={name} iterations={iterations} tsc={ticks} ns={ns}");
}

fn syscalls(iterations: u64) {
    cpu::pin_to(0).expect("pin to CPU 0");
    // Two lengths, so the fixed cost of reading the TSC drops out.
    let (a, b) = (known_loop(10_000), known_loop(110_000));
    println!("[bench] check loop_instructions=2 iterations=100000 tsc={}", b - a);
    let flags = debug::call(debug::ENTRY_FLAGS, 0, 0).unwrap_or(0);
    println!("[bench] config kpti={} pcid={}", flags & 1, (flags >> 1) & 1);
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
    let flags = debug::call(debug::ENTRY_FLAGS, 0, 0).unwrap_or(0);
    println!("[bench] config kpti={} pcid={}", flags & 1, (flags >> 1) & 1);
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

#[libos::main]
fn main() -> i32 {
    let args: Vec<&str> = libos::env::args().collect();
    let iterations = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(100_000u64);
    match args.get(1).copied() {
        Some("boot") | None => boot(),
        Some("syscalls") => syscalls(iterations),
        Some("scaling") => scaling(iterations),
        Some(other) => {
            eprintln!("bench: unknown mode {other:?} (boot, syscalls, scaling)");
            return 2;
        }
    }
    0
}
