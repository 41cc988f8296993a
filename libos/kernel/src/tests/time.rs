//! The clock: the TSC frequency the kernel settled on agrees with both
//! reference timers, and the clock moves at that rate.

use libos_macros::kernel_test;

use crate::arch::x86_64::{acpi, hpet, pit};
use crate::testing::skip;
use crate::time;

/// How far two measurements may differ (an emulator's timers drift under
/// host load; real hardware agrees to well under 0.1%).
const TOLERANCE_PERCENT: u64 = 5;

/// Tries a measurement up to 5 times (the emulator's thread may be
/// descheduled in the middle of one on a loaded host) and returns the
/// first within tolerance of `hz`, or the last.
fn agrees(hz: u64, mut measure: impl FnMut() -> u64) -> Result<u64, u64> {
    let mut last = 0;
    for _ in 0..5 {
        last = measure();
        if last.abs_diff(hz) * 100 <= hz * TOLERANCE_PERCENT {
            return Ok(last);
        }
    }
    Err(last)
}

#[kernel_test]
fn the_tsc_frequency_agrees_with_the_pit() {
    let hz = time::clock().scale.hz;
    if let Err(pit) = agrees(hz, || pit::measure_tsc_hz(20)) {
        panic!("PIT says {pit} Hz, the clock uses {hz} Hz");
    }
}

#[kernel_test]
fn the_tsc_frequency_agrees_with_the_hpet() {
    let Some(address) = acpi::info().and_then(|a| a.hpet_address) else {
        skip("no HPET in the ACPI tables");
    };
    let hz = time::clock().scale.hz;
    if let Err(hpet) = agrees(hz, || hpet::measure_tsc_hz(address, 20).expect("the HPET reports a valid period")) {
        panic!("HPET says {hpet} Hz, the clock uses {hz} Hz");
    }
}

#[kernel_test]
fn monotonic_time_never_goes_back_and_deadlines_are_in_the_future() {
    let mut last = time::monotonic_ns();
    for _ in 0..10_000 {
        let now = time::monotonic_ns();
        assert!(now >= last, "monotonic time went from {last} to {now}");
        last = now;
    }
    let d = time::deadline_after(1_000_000);
    assert!(d > time::rdtsc());
    assert!(time::realtime_ns() > 1_577_836_800 * 1_000_000_000, "realtime is before 2020");
}
