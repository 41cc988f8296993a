//! The float workloads of `cargo xtask bench`. Each prints one line,
//! `[float] <what> key=value ...`, with raw TSC ticks (instructions under
//! `-icount shift=0`); the xtask divides and compares.
//!
//! Modes (the first argument):
//! - `mandelbrot`: a fixed 96x64 Mandelbrot set in `f64`, 256 iterations at
//!   most per point. The xtask builds this app twice, for the apps'
//!   hard-float target and for the kernel's soft-float one, and compares
//!   the instructions; the checksum (iterations summed) must be equal.
//! - `pingpong [round trips]`: two threads hand a futex word back and forth
//!   on one CPU; every hand-over is a thread switch, which saves and
//!   restores the extended state of both.
#![no_std]
#![no_main]

use core::hint::black_box;
use core::sync::atomic::{AtomicU32, Ordering};

use libos::prelude::*;
use libos::sync::Arc;
use libos::thread;

/// TSC ticks (one per instruction under `-icount shift=0`).
fn rdtsc() -> u64 {
    // SAFETY: RDTSC reads a counter; ring 3 may (CR4.TSD clear).
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// Iterations before escape of each point of a `w` x `h` grid over
/// [-2, 1] x [-1, 1], at most `max`; their sum.
fn mandelbrot(w: u32, h: u32, max: u32) -> u64 {
    let mut total = 0u64;
    for py in 0..h {
        let ci = -1.0 + 2.0 * f64::from(py) / f64::from(h);
        for px in 0..w {
            let cr = -2.0 + 3.0 * f64::from(px) / f64::from(w);
            let (mut zr, mut zi, mut n) = (0.0f64, 0.0f64, 0);
            while n < max && zr * zr + zi * zi <= 4.0 {
                let t = zr * zr - zi * zi + cr;
                zi = 2.0 * zr * zi + ci;
                zr = t;
                n += 1;
            }
            total += u64::from(n);
        }
    }
    total
}

const FUTEX_WAIT_PRIVATE: i32 = 128;
const FUTEX_WAKE_PRIVATE: i32 = 129;

fn wait(word: &AtomicU32, while_value: u32) {
    while word.load(Ordering::Acquire) == while_value {
        // SAFETY: the futex word lives as long as both threads (an Arc).
        let _ = unsafe {
            libos::sys::futex(
                word.as_ptr(),
                FUTEX_WAIT_PRIVATE,
                while_value,
                core::ptr::null(),
                core::ptr::null_mut(),
                0,
            )
        };
    }
}

fn wake(word: &AtomicU32) {
    // SAFETY: as in `wait`.
    let _ =
        unsafe { libos::sys::futex(word.as_ptr(), FUTEX_WAKE_PRIVATE, 1, core::ptr::null(), core::ptr::null_mut(), 0) };
}

/// `trips` round trips: the main thread sets the word to 1 and waits for
/// 0; the partner waits for 1 and sets 0.
fn pingpong(trips: u64) -> u64 {
    let word = Arc::new(AtomicU32::new(0));
    let partner = {
        let word = Arc::clone(&word);
        thread::spawn(move || {
            for _ in 0..trips {
                wait(&word, 0);
                word.store(0, Ordering::Release);
                wake(&word);
            }
        })
    };
    let start = rdtsc();
    for _ in 0..trips {
        word.store(1, Ordering::Release);
        wake(&word);
        wait(&word, 1);
    }
    let ticks = rdtsc() - start;
    partner.join().unwrap();
    ticks
}

#[libos::main]
fn main() -> i32 {
    let mut args = libos::env::args().skip(1);
    match args.next() {
        Some("mandelbrot") => {
            let start = rdtsc();
            let sum = mandelbrot(black_box(96), black_box(64), black_box(256));
            let ticks = rdtsc() - start;
            let float = if cfg!(target_feature = "sse2") { "hard" } else { "soft" };
            println!("[float] mandelbrot float={float} ticks={ticks} checksum={sum}");
            0
        }
        Some("pingpong") => {
            let trips = args.next().and_then(|a| a.parse().ok()).unwrap_or(2000);
            pingpong(trips / 10); // warm up
            let ticks = pingpong(trips);
            println!("[float] pingpong trips={trips} ticks={ticks}");
            0
        }
        _ => {
            println!("float-bench: mandelbrot | pingpong [round trips]");
            2
        }
    }
}
