//! A system-call fuzzer of our own: random numbers (0..=1100, the table's
//! calls weighted up) with hostile arguments (null, kernel, non-canonical
//! and unmapped pointers, huge lengths, -1, random values), from a fixed
//! seed, on several threads at once, a bounded count per thread. Then it
//! checks that the kernel is alive and consistent: every call came back,
//! every result is a value or `-1..=-4095`, numbers the table does not
//! declare answered `-ENOSYS`, a canary the pointers never aim at is intact,
//! and ordinary calls (a thread, memory, output) still work. It exits with 0
//! when all holds, 1 otherwise; a kernel panic or hang ends the run badly.
//!
//! `cargo xtask run fuzz -- -- SEED COUNT` repeats a run (the seed is
//! printed at the start; COUNT is calls per thread).
//!
//! Calls that would legitimately end the app or block for ever are not
//! made, or get arguments that cannot: see [`EXCLUDED`] and
//! [`Fuzzer::pick`]. New blocking calls (a read of a new kind of object,
//! `accept`) must be added there, or the run hangs.
#![no_std]
#![no_main]

mod args;
mod rng;

use core::arch::asm;
use core::sync::atomic::{AtomicU64, Ordering};

use libos::prelude::*;
use libos::sys::nr;
use libos_abi::syscalls::{is_hook, syscall_name};

use args::{Arena, Fuzzer};
use rng::Rng;

/// The seed unless one is given (with the default count, it found the
/// futex bug fixed with it: a word on a page not yet present).
const DEFAULT_SEED: u64 = 1;
/// Calls per thread unless a count is given.
const DEFAULT_COUNT: u64 = 10_000;
/// Threads that fuzz (the main thread and the rest).
const THREADS: usize = 4;
/// The highest number tried.
const MAX_NR: u64 = 1100;

/// Numbers never called: they end the app or the run (exit, signals to
/// itself, reboot), replace the process (execveat; execve is called with a
/// path from scratch memory, which names no program: see `Fuzzer::pick`),
/// create threads or processes (clone, fork, vfork: a child would fuzz
/// too; wait4 then always answers ECHILD, so it never blocks), rewrite the caller's
/// registers from garbage (rt_sigreturn), install signal handlers or
/// timers that would fire into garbage, wait for ever (pause, waitid,
/// sigsuspend: no timeout we control; an eventfd, which a later read of its
/// number would wait on at 0), or are the test and benchmark hooks (not the
/// production ABI; `no-hooks` checks them). The readiness waits (poll,
/// select, epoll_wait...) are made, with short or invalid timeouts (see
/// `Fuzzer::pick`).
pub const EXCLUDED: &[u64] = &[
    13,  // rt_sigaction
    15,  // rt_sigreturn
    34,  // pause
    37,  // alarm
    38,  // setitimer
    56,  // clone
    57,  // fork
    58,  // vfork
    60,  // exit
    62,  // kill
    101, // ptrace
    128, // rt_sigtimedwait
    130, // rt_sigsuspend
    169, // reboot
    200, // tkill
    219, // restart_syscall
    222, // timer_create
    230, // clock_nanosleep
    231, // exit_group
    234, // tgkill
    247, // waitid
    284, // eventfd
    290, // eventfd2
    322, // execveat
    435, // clone3
];

/// What one thread saw.
#[derive(Clone, Copy, Default)]
struct Tally {
    calls: u64,
    errors: u64,
    /// Results outside both the value and the error range.
    bad_results: u64,
    /// Undeclared numbers that did not answer -ENOSYS.
    not_enosys: u64,
}

/// The first problem seen, for the report: (number, args, result).
static FIRST_PROBLEM: [AtomicU64; 8] = [const { AtomicU64::new(0) }; 8];

fn note_problem(kind: u64, nr: u64, a: &[u64; 6], ret: i64) {
    if FIRST_PROBLEM[0].compare_exchange(0, kind, Ordering::SeqCst, Ordering::SeqCst).is_ok() {
        FIRST_PROBLEM[1].store(nr, Ordering::SeqCst);
        for (i, v) in a.iter().enumerate().take(5) {
            FIRST_PROBLEM[2 + i].store(*v, Ordering::SeqCst);
        }
        FIRST_PROBLEM[7].store(ret as u64, Ordering::SeqCst);
    }
}

/// A 64 KiB canary in the app's data: no argument ever points at it, so
/// the kernel must never write it.
static mut CANARY: [u64; 8192] = [0; 8192];

fn canary_value(i: usize) -> u64 {
    (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0xc0ff_ee00_dead_beef
}

fn fuzz_thread(index: usize, seed: u64, count: u64, arena: Arena) -> Tally {
    let mut fuzzer = Fuzzer::new(Rng::new(seed ^ (index as u64 + 1).wrapping_mul(0xa076_1d64_78bd_642f)), arena);
    let mut tally = Tally::default();
    for _ in 0..count {
        let (number, a) = fuzzer.pick(index == 0);
        let ret = syscall6(number, a);
        tally.calls += 1;
        if (-libos_abi::errno::MAX_ERRNO..=-1).contains(&ret) {
            tally.errors += 1;
        } else if ret < 0 && !returns_address(number) {
            tally.bad_results += 1;
            note_problem(1, number, &a, ret);
        }
        let declared = syscall_name(number).is_some() && !is_hook(number);
        if !declared && ret != -(libos::Errno::ENOSYS as i64) {
            tally.not_enosys += 1;
            note_problem(2, number, &a, ret);
        }
        fuzzer.after(number, &a, ret);
    }
    tally
}

/// Calls whose successful result may be any address (negative as `i64`).
fn returns_address(number: u64) -> bool {
    matches!(number, nr::MMAP | nr::BRK | 25 /* mremap */)
}

/// The raw `syscall` instruction with six arguments.
fn syscall6(number: u64, a: [u64; 6]) -> i64 {
    let ret: i64;
    // SAFETY: `Fuzzer::pick` leaves out the calls that end the app, block
    // for ever, or could write memory the app uses: pointers aim only at
    // the fuzzer's scratch and arena mappings (each followed by a
    // PROT_NONE guard), or at nothing. SYSCALL clobbers RCX and R11.
    unsafe {
        asm!(
            "syscall",
            inlateout("rax") number as i64 => ret,
            in("rdi") a[0],
            in("rsi") a[1],
            in("rdx") a[2],
            in("r10") a[3],
            in("r8") a[4],
            in("r9") a[5],
            out("rcx") _,
            out("r11") _,
            options(nostack),
        );
    }
    ret
}

/// Ordinary calls after the storm: they must still work.
fn kernel_still_works() -> Result<(), &'static str> {
    let handle = libos::thread::spawn(|| 6 * 7);
    if handle.join().map_err(|_| "a new thread did not finish")? != 42 {
        return Err("a new thread returned the wrong value");
    }
    let v: Vec<u64> = (0..100_000).collect();
    if v.iter().sum::<u64>() != 4_999_950_000 {
        return Err("fresh memory does not hold what was written");
    }
    if libos::process::id() != 1 {
        return Err("getpid changed");
    }
    Ok(())
}

#[libos::main]
fn main() -> i32 {
    let seed = libos::env::arg(1).and_then(parse_u64).unwrap_or(DEFAULT_SEED);
    let count = libos::env::arg(2).and_then(parse_u64).unwrap_or(DEFAULT_COUNT);
    println!(
        "fuzz: seed {seed:#x}, {count} calls on each of {THREADS} threads, {} CPUs \
         (repeat: cargo xtask run fuzz -- -- {seed:#x} {count})",
        libos::cpu::count()
    );
    // SAFETY: no other thread runs yet.
    unsafe {
        for (i, slot) in (*core::ptr::addr_of_mut!(CANARY)).iter_mut().enumerate() {
            *slot = canary_value(i);
        }
    }
    let arena = match Arena::map() {
        Ok(a) => a,
        Err(e) => {
            println!("fuzz: cannot map the scratch memory: {e}");
            return 1;
        }
    };
    let workers: Vec<_> =
        (1..THREADS).map(|i| libos::thread::spawn(move || fuzz_thread(i, seed, count, arena))).collect();
    let mut total = fuzz_thread(0, seed, count, arena);
    for w in workers {
        match w.join() {
            Ok(t) => {
                total.calls += t.calls;
                total.errors += t.errors;
                total.bad_results += t.bad_results;
                total.not_enosys += t.not_enosys;
            }
            Err(_) => {
                println!("fuzz: FAILED: a fuzzing thread panicked");
                return 1;
            }
        }
    }
    println!(
        "fuzz: {} calls came back ({} errors, {} results out of range, {} undeclared numbers not -ENOSYS)",
        total.calls, total.errors, total.bad_results, total.not_enosys
    );
    let mut ok = total.bad_results == 0 && total.not_enosys == 0;
    if FIRST_PROBLEM[0].load(Ordering::SeqCst) != 0 {
        let g = |i: usize| FIRST_PROBLEM[i].load(Ordering::SeqCst);
        println!(
            "fuzz: first problem: syscall {}({:#x}, {:#x}, {:#x}, {:#x}, {:#x}) = {}",
            g(1),
            g(2),
            g(3),
            g(4),
            g(5),
            g(6),
            g(7) as i64
        );
    }
    // SAFETY: every fuzzing thread has finished.
    let canary = unsafe { &*core::ptr::addr_of!(CANARY) };
    if let Some(i) = canary.iter().enumerate().position(|(i, v)| *v != canary_value(i)) {
        println!("fuzz: FAILED: the canary changed at word {i}");
        ok = false;
    }
    if let Err(why) = kernel_still_works() {
        println!("fuzz: FAILED: {why}");
        ok = false;
    }
    if ok {
        println!("fuzz: the kernel survived and is consistent");
        0
    } else {
        println!("fuzz: FAILED");
        1
    }
}

/// A decimal or `0x` hexadecimal number.
fn parse_u64(text: &str) -> Option<u64> {
    match text.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}
