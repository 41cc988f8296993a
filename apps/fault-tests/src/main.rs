//! Ring-3 tests that must end the app with a fault, and only the app: each
//! declares the exception it expects (and fails if it does not come); the
//! kernel ends the process, reports it, and runs the next test.
#![no_std]
#![no_main]

mod memory;
mod privileged;
mod returns;

#[libos::main]
fn main() {
    libos::println!("fault-tests: run with `cargo xtask test fault_tests`");
}

/// Reads a byte with a plain `mov` (a fault is what the tests want).
pub fn read_byte(addr: u64) -> u8 {
    let v: u8;
    // SAFETY: a one-byte load the test expects to fault; the kernel ends
    // the app, so nothing observes an invalid value.
    unsafe { core::arch::asm!("mov {v}, byte ptr [{a}]", a = in(reg) addr, v = out(reg_byte) v, options(nostack)) };
    v
}

/// Writes a byte with a plain `mov`.
pub fn write_byte(addr: u64, value: u8) {
    // SAFETY: as `read_byte`.
    unsafe { core::arch::asm!("mov byte ptr [{a}], {v}", a = in(reg) addr, v = in(reg_byte) value, options(nostack)) };
}
