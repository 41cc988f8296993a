//! Hello world on Rust `std`, for `cargo xtask bench` (its `start` part):
//! an ordinary `fn main` that prints and exits, built as a static
//! `x86_64-unknown-linux-musl` binary and booted on our kernel (`--elf`)
//! and on the Linux guest (as a child of its `/init`).
//!
//! It reads the TSC (under QEMU `-icount shift=0`, one tick per guest
//! instruction since the machine's reset, plus the time a halted CPU
//! skips) at two points and prints the values:
//! - `[start] main tsc=N`: the first thing `main` does;
//! - `[start] exit tsc=N`: the first thing an `atexit(3)` handler does,
//!   registered in `main`: musl runs it in `exit` after Rust's runtime has
//!   returned from `main` (stdout flushed), just before `exit_group`.
//!
//! After the exit mark it asks our benchmark kernel for the TSC of its
//! first instruction (`libos_debug` number 1025, operation 24; any other
//! kernel answers `ENOSYS` and the line is left out):
//! `[start] first_instruction tsc=N`.
//!
//! `std-hello clock N` also times N calls of
//! `clock_gettime(CLOCK_MONOTONIC)` through musl (the vDSO when the
//! kernel gives one in `AT_SYSINFO_EHDR`, as Linux does; else the
//! syscall, as on ours): `[start] clock_gettime iterations=N tsc=T`.

use std::io::Write;

/// `libos_debug` (libos/abi/src/debug.rs): a benchmark kernel's hook.
const LIBOS_DEBUG: libc::c_long = 1025;
/// Its operation `FIRST_INSTRUCTION_TSC`.
const FIRST_INSTRUCTION_TSC: libc::c_long = 24;

fn rdtsc() -> u64 {
    // SAFETY: RDTSC reads a counter; no memory is touched.
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// Writes `text` to fd 1 without `std` (which has shut down by then).
fn write_raw(text: &[u8]) {
    // SAFETY: `text` is valid for its length.
    unsafe { libc::write(1, text.as_ptr().cast(), text.len()) };
}

/// Formats `[start] <what> tsc=<n>\n` without allocating.
fn mark_line<'a>(buf: &'a mut [u8; 96], what: &str, n: u64) -> &'a [u8] {
    let mut out = &mut buf[..];
    let _ = writeln!(out, "[start] {what} tsc={n}");
    let left = out.len();
    &buf[..96 - left]
}

/// The exit mark (run by musl's `exit`, after `main` has returned).
extern "C" fn at_exit() {
    let tsc = rdtsc();
    let mut buf = [0u8; 96];
    write_raw(mark_line(&mut buf, "exit", tsc));
    // SAFETY: a syscall with integer arguments only; an unknown number is
    // ENOSYS.
    let first = unsafe { libc::syscall(LIBOS_DEBUG, FIRST_INSTRUCTION_TSC, 0, 0) };
    if first > 0 {
        write_raw(mark_line(&mut buf, "first_instruction", first as u64));
    }
}

fn main() {
    let tsc = rdtsc();
    println!("[start] main tsc={tsc}");
    // SAFETY: `at_exit` is an `extern "C" fn()` that touches only its own
    // stack and fd 1.
    if unsafe { libc::atexit(at_exit) } != 0 {
        eprintln!("std-hello: atexit failed");
    }
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("clock") {
        let iterations: u64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(10_000);
        clock(iterations);
    }
    println!("Hello from Rust std!");
}

/// Times `iterations` calls of `clock_gettime(CLOCK_MONOTONIC)`.
fn clock(iterations: u64) {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // One call first: the vDSO's or the syscall's first use is not the cost.
    // SAFETY: `ts` is a valid, writable timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    let started = rdtsc();
    for _ in 0..iterations {
        // SAFETY: as above.
        unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, core::hint::black_box(&mut ts)) };
    }
    let tsc = rdtsc() - started;
    println!("[start] clock_gettime iterations={iterations} tsc={tsc}");
}
