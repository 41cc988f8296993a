//! The clock: the TSC frequency the kernel settled on agrees with both
//! reference timers, and the clock moves at that rate.

use libos_macros::kernel_test;

use libos_kcore::time::RateCheck;

use crate::arch::x86_64::{acpi, hpet, pit};
use crate::testing::skip;
use crate::time;

/// How far the HPET or the PIT may disagree with the clock, before the measurement's
/// own uncertainty is added (real hardware agrees to well under 0.1%).
const HPET_TOLERANCE_PPM: u64 = 10_000;
/// A window noisier than this is an outlier (the emulator's thread was
/// descheduled during one of the reads at its ends): measured again, never
/// counted as a pass.
const MAX_UNCERTAINTY_PPM: u64 = 20_000;
/// Windows tried before the test gives up.
const TRIES: usize = 5;
/// The longest window: 20 ms.
const WINDOW_NS: u64 = 20_000_000;

/// The first of up to [`TRIES`] HPET windows quiet enough to judge (its
/// uncertainty at most [`MAX_UNCERTAINTY_PPM`]), compared with `hz` within
/// `tolerance_ppm` plus that uncertainty: `Ok` if it agrees, `Err` with the
/// window if it does not (or with the last outlier if none was quiet).
fn hpet_agrees(address: u64, hz: u64, tolerance_ppm: u64) -> Result<RateCheck, (RateCheck, &'static str)> {
    let max_tsc = time::clock().scale.ns_to_ticks(WINDOW_NS);
    let mut last = None;
    for _ in 0..TRIES {
        let c = hpet::check_tsc_window(address, 1_000, max_tsc).expect("the HPET reports a valid period");
        last = Some(c);
        if c.uncertainty_ppm > MAX_UNCERTAINTY_PPM {
            continue;
        }
        return if c.agrees_with(hz, tolerance_ppm) { Ok(c) } else { Err((c, "disagrees")) };
    }
    Err((last.expect("tried"), "every window was an outlier"))
}

/// The first of up to [`TRIES`] PIT windows (10 ms, both ends latched
/// counts bracketed by TSC reads) quiet enough to judge, compared with `hz`
/// like the HPET's: outliers are measured again, never passed.
fn pit_agrees(hz: u64) -> Result<RateCheck, (RateCheck, &'static str)> {
    let mut last = None;
    for _ in 0..TRIES {
        let c = pit::tsc_window(10, hz);
        last = Some(c);
        if c.uncertainty_ppm > MAX_UNCERTAINTY_PPM {
            continue;
        }
        return if c.agrees_with(hz, HPET_TOLERANCE_PPM) { Ok(c) } else { Err((c, "disagrees")) };
    }
    Err((last.expect("tried"), "every window was an outlier"))
}

#[kernel_test]
fn the_tsc_frequency_agrees_with_the_pit() {
    let hz = time::clock().scale.hz;
    if let Err((c, why)) = pit_agrees(hz) {
        panic!("PIT: {why}: {} Hz +-{} ppm, the clock uses {hz} Hz", c.measured_hz, c.uncertainty_ppm);
    }
}

#[kernel_test]
fn the_tsc_frequency_agrees_with_the_hpet() {
    let Some(address) = acpi::info().and_then(|a| a.hpet_address) else {
        skip("no HPET in the ACPI tables");
    };
    let hz = time::clock().scale.hz;
    if let Err((c, why)) = hpet_agrees(address, hz, HPET_TOLERANCE_PPM) {
        panic!("HPET: {why}: {} Hz +-{} ppm, the clock uses {hz} Hz", c.measured_hz, c.uncertainty_ppm);
    }
}

#[kernel_test]
fn a_published_frequency_agrees_with_the_hpet_and_a_wrong_one_would_not() {
    let clock = time::clock();
    let Some(published) = clock.published else {
        skip("nothing publishes the TSC frequency here (run with tsc_khz=, as the xtask does under QEMU)");
    };
    let Some(address) = acpi::info().and_then(|a| a.hpet_address) else {
        skip("no HPET in the ACPI tables");
    };
    if clock.source != time::TscSource::Published {
        // Refuted at boot (Bochs's CPUID 0x16): the HPET must refute it
        // again, with the boot check's tolerance.
        let tolerance = time::check_tolerance_ppm(&published);
        assert!(
            hpet_agrees(address, published.tsc_hz, tolerance).is_err(),
            "{:?} was refuted at boot but agrees with the HPET now",
            published
        );
        return;
    }
    let c = match hpet_agrees(address, published.tsc_hz, time::check_tolerance_ppm(&published)) {
        Ok(c) => c,
        Err((c, why)) => panic!(
            "{} said {} Hz; the HPET {why}: {} Hz +-{} ppm",
            published.publisher.describe(),
            published.tsc_hz,
            c.measured_hz,
            c.uncertainty_ppm
        ),
    };
    // The same window refutes a frequency 10% off: the check can fail.
    assert!(!c.agrees_with(published.tsc_hz / 10 * 11, time::check_tolerance_ppm(&published)));
    // And the boot's own short check came out the same way.
    let boot = clock.check.expect("the boot checked the published frequency");
    assert!(boot.agrees_with(published.tsc_hz, time::check_tolerance_ppm(&published)), "{boot:?}");
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
