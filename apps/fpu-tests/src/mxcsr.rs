//! MXCSR is per thread: threads with different rounding modes divide
//! concurrently, each getting its own mode's bit-exact result all along.

use alloc::vec::Vec;
use core::arch::asm;
use core::hint::black_box;

use libos::thread;

/// MXCSR now.
pub fn read() -> u32 {
    let mut v = 0u32;
    // SAFETY: STMXCSR stores 4 bytes into `v`.
    unsafe { asm!("stmxcsr [{}]", in(reg) &mut v, options(nostack)) };
    v
}

/// Sets MXCSR (only valid values: reserved bits raise #GP).
pub fn write(v: u32) {
    // SAFETY: LDMXCSR reads 4 bytes; callers pass defined bits only. The
    // rounding mode affects only this thread's float results.
    unsafe { asm!("ldmxcsr [{}]", in(reg) &v, options(nostack)) };
}

/// MXCSR's exception flags (IE DE ZE OE UE PE).
const FLAGS: u32 = 0x3f;

/// MXCSR with every exception masked and round to nearest (the default).
pub const NEAREST: u32 = 0x1f80;
/// ... and round toward zero (RC = 11b).
pub const TOWARD_ZERO: u32 = 0x7f80;
/// ... and round down (RC = 01b).
pub const DOWN: u32 = 0x3f80;
/// ... and round up (RC = 10b).
pub const UP: u32 = 0x5f80;

/// 1/10 in each rounding mode: 0x3fb999999999999a rounded to nearest (and
/// up), 0x3fb9999999999999 toward zero (and down) (the exact value lies
/// between; the host's `1.0f64 / 10.0` is the former).
fn tenth(mode: u32) -> u64 {
    match mode {
        NEAREST | UP => 0x3fb9_9999_9999_999a,
        _ => 0x3fb9_9999_9999_9999,
    }
}

#[libos::test]
fn rounding_mode_is_per_thread() {
    let modes = [NEAREST, TOWARD_ZERO, DOWN, UP, TOWARD_ZERO, NEAREST];
    let workers: Vec<_> = modes
        .iter()
        .map(|&mode| {
            thread::spawn(move || {
                write(mode);
                for round in 0..300 {
                    let q = black_box(1.0f64) / black_box(10.0f64);
                    // The exception flags (bits 0-5) are sticky: the division sets PE.
                    if q.to_bits() != tenth(mode) || read() & !FLAGS != mode {
                        return Err((mode, round, q.to_bits(), read()));
                    }
                    if round % 3 == 0 {
                        thread::yield_now();
                    }
                }
                Ok(())
            })
        })
        .collect();
    for w in workers {
        if let Err((mode, round, bits, now)) = w.join().unwrap() {
            panic!("MXCSR {mode:#x}: round {round} gave {bits:#x} with MXCSR {now:#x}");
        }
    }
    assert_eq!(read() & !FLAGS, NEAREST, "the main thread's MXCSR is its own");
}
