//! Ring-3 tests of threads: spawning and joining, locks on futexes, time
//! and sleeping, preemption and spreading over CPUs, thread-locals, and
//! what a faulting thread or an unmapping on another CPU does.
//!
//! Tests that need more than one CPU skip themselves (reported as ignored)
//! when the run has fewer.
#![no_std]
#![no_main]

mod faults;
mod hostile;
mod lifecycle;
mod locks;
mod memory;
mod parallel;
mod requeue;
mod timing;

#[libos::main]
fn main() {
    libos::println!("thread-tests: run with `cargo xtask test thread_tests --smp 4`");
}

/// TSC ticks since reset (`rdtsc` works in ring 3 and makes no syscall:
/// for loops that must not enter the kernel).
pub fn rdtsc() -> u64 {
    // SAFETY: RDTSC reads a counter; CR4.TSD is clear so ring 3 may.
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// TSC ticks per millisecond (the kernel's clock frequency: an emulator's
/// TSC may run far slower than real hardware's).
pub fn ticks_per_ms() -> u64 {
    libos::debug::call(libos::debug::TSC_HZ, 0, 0).expect("TSC frequency") / 1000
}

/// Reads a byte with a plain `mov` (a fault is what some tests want).
pub fn read_byte(addr: usize) -> u8 {
    // SAFETY: a one-byte volatile load the caller expects to work or to
    // fault (which ends the app in the kernel, observing nothing).
    unsafe { core::ptr::read_volatile(addr as *const u8) }
}

/// Writes a byte with a plain `mov`.
pub fn write_byte(addr: usize, value: u8) {
    // SAFETY: as `read_byte`.
    unsafe { core::ptr::write_volatile(addr as *mut u8, value) }
}
