//! Time: the TSC as the clock.
//!
//! The TSC frequency comes from whoever published it (the command line's
//! `tsc_khz=`, CPUID 0x15, the hypervisor's leaf 0x40000010, CPUID 0x16:
//! `libos_kcore::time::published_tsc_frequency` picks), checked against the
//! HPET over a short window (tens of microseconds, not milliseconds); it is
//! measured at boot (2 ms against the HPET, else the PIT) only when nobody
//! publishes it or the check refutes what was published. Monotonic time is
//! TSC ticks since boot scaled by one multiplication; realtime adds the
//! wall-clock time read from the CMOS RTC at boot. Both are read without a
//! lock.

pub mod itimer;

use core::sync::atomic::{AtomicU64, Ordering};

use libos_kcore::time::{
    CHECK_TOLERANCE_PPM, CpuidLeaf, HINT_TOLERANCE_PPM, PublishedFrequency, RateCheck, TscScale,
    published_tsc_frequency,
};

use crate::arch::x86_64::{acpi, hpet, pit, rtc};
use crate::sync::InitCell;

/// How the TSC frequency was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TscSource {
    /// Published (`Clock::published` says by whom) and not refuted by the
    /// check (`Clock::check`; `None` there: no HPET to check it with).
    Published,
    /// Measured against the HPET's main counter.
    Hpet,
    /// Measured against PIT channel 2.
    Pit,
}

/// How long the boot-time measurement runs when nothing is published (the
/// HPET's 100 ns or finer period resolves 2 ms to 0.005%).
const CALIBRATION_MS: u64 = 2;
/// How long the check of a CPUID 0x16 hint runs without an HPET (PIT).
const PIT_CHECK_MS: u64 = 1;
/// How settled the check of a published frequency must be (0.5%).
const CHECK_SETTLE_PPM: u64 = 5_000;
/// The longest the check may take (1 ms of the published frequency; a
/// busy host's plain TCG may need it, -icount settles in ~10 us).
const CHECK_MAX_US: u64 = 1_000;

/// Measures the TSC against the HPET if ACPI lists one, else the PIT.
fn measure(ms: u64) -> (u64, TscSource) {
    match hpet_address().and_then(|a| hpet::measure_tsc_hz(a, ms)) {
        Some(hz) => (hz, TscSource::Hpet),
        // The PIT's start cannot be bracketed like the HPET's reads: the
        // median of three runs drops one disturbed by a stopped CPU.
        None => {
            let mut runs = [0u64; 3];
            runs.iter_mut().for_each(|r| *r = pit::measure_tsc_hz(ms));
            runs.sort_unstable();
            (runs[1], TscSource::Pit)
        }
    }
}

fn hpet_address() -> Option<u64> {
    acpi::info().and_then(|a| a.hpet_address)
}

/// CPUID leaf `leaf`, subleaf 0.
fn cpuid(leaf: u32) -> CpuidLeaf {
    // CPUID has no side effects; leaves a CPU does not have answer with
    // some other leaf's data, which `published_tsc_frequency` never asks for.
    let r = core::arch::x86_64::__cpuid_count(leaf, 0);
    CpuidLeaf { eax: r.eax, ebx: r.ebx, ecx: r.ecx, edx: r.edx }
}

/// Checks a published frequency against the HPET over a short window
/// (`None`: no HPET).
pub fn check_published(hz: u64) -> Option<RateCheck> {
    let max_tsc = (hz as u128 * CHECK_MAX_US as u128 / 1_000_000) as u64;
    hpet_address().and_then(|a| hpet::check_tsc_window(a, CHECK_SETTLE_PPM, max_tsc))
}

/// The tolerance of the check for a publisher.
pub fn check_tolerance_ppm(p: &PublishedFrequency) -> u64 {
    if p.publisher.is_exact() { CHECK_TOLERANCE_PPM } else { HINT_TOLERANCE_PPM }
}

/// The clock's parameters, fixed at boot.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    /// TSC to nanoseconds.
    pub scale: TscScale,
    /// TSC value at boot (monotonic zero).
    pub tsc_at_boot: u64,
    /// Unix time in nanoseconds at `tsc_at_boot`.
    pub realtime_at_boot_ns: u64,
    /// Where the frequency came from.
    pub source: TscSource,
    /// What was published, if anything (used when `source` is
    /// `Published`; refuted otherwise).
    pub published: Option<PublishedFrequency>,
    /// The short check of the published frequency against the HPET.
    pub check: Option<RateCheck>,
}

impl Clock {
    /// The APIC timer's input clock, if the published source gave it and
    /// was believed.
    pub fn published_apic_timer_hz(&self) -> Option<u64> {
        match self.source {
            TscSource::Published => self.published.and_then(|p| p.apic_timer_hz),
            _ => None,
        }
    }
}

static CLOCK: InitCell<Clock> = InitCell::new();

/// The TSC at the kernel's first instructions (start32), for the
/// benchmark's boot figures.
static FIRST_INSTRUCTION_TSC: AtomicU64 = AtomicU64::new(0);

/// Records the TSC start32 read (once, at the top of `kernel_main`).
pub fn set_first_instruction_tsc(tsc: u64) {
    FIRST_INSTRUCTION_TSC.store(tsc, Ordering::Relaxed);
}

/// The TSC at the kernel's first instructions (the benchmark reads it
/// through the hooks).
#[cfg(feature = "hooks")]
pub fn first_instruction_tsc() -> u64 {
    FIRST_INSTRUCTION_TSC.load(Ordering::Relaxed)
}

/// Reads the TSC.
#[inline]
pub fn rdtsc() -> u64 {
    // SAFETY: RDTSC has no side effects (CR4.TSD is clear, so it is allowed anywhere).
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// Sets up the clock (boot CPU, once). `cmdline_khz`: the command line's
/// `tsc_khz=`.
pub fn init(cmdline_khz: Option<u64>) -> &'static Clock {
    let tsc_at_boot = rdtsc();
    let published = published_tsc_frequency(cpuid, cmdline_khz);
    let mut check = None;
    let (hz, source) = match published {
        // Trusted after a quick check: some emulators report their CPU
        // model's frequency while their TSC runs at another rate (Bochs).
        Some(p) => {
            check = check_published(p.tsc_hz);
            match check {
                Some(c) if c.agrees_with(p.tsc_hz, check_tolerance_ppm(&p)) => (p.tsc_hz, TscSource::Published),
                Some(_) => measure(CALIBRATION_MS),
                // No HPET: an exact statement stands; a hint gets the PIT.
                None if p.publisher.is_exact() => (p.tsc_hz, TscSource::Published),
                None => {
                    let (quick, _) = measure(PIT_CHECK_MS);
                    let tolerance = p.tsc_hz as u128 * HINT_TOLERANCE_PPM as u128 / 1_000_000;
                    if (quick.abs_diff(p.tsc_hz) as u128) <= tolerance {
                        (p.tsc_hz, TscSource::Published)
                    } else {
                        measure(CALIBRATION_MS)
                    }
                }
            }
        }
        None => measure(CALIBRATION_MS),
    };
    let wall = rtc::read().unix_seconds().unwrap_or(0).max(0) as u64;
    CLOCK.set(Clock {
        scale: TscScale::new(hz.max(1_000_000)),
        tsc_at_boot,
        realtime_at_boot_ns: wall * 1_000_000_000,
        source,
        published,
        check,
    })
}

/// The clock's parameters.
pub fn clock() -> &'static Clock {
    CLOCK.expect("clock")
}

/// Nanoseconds since boot.
#[inline]
pub fn monotonic_ns() -> u64 {
    let c = clock();
    c.scale.ticks_to_ns(rdtsc().wrapping_sub(c.tsc_at_boot))
}

/// Nanoseconds since the Unix epoch.
pub fn realtime_ns() -> u64 {
    let c = clock();
    c.realtime_at_boot_ns + monotonic_ns()
}

/// The TSC value at which `ns` nanoseconds from now have passed.
pub fn deadline_after(ns: u64) -> u64 {
    rdtsc().saturating_add(clock().scale.ns_to_ticks(ns))
}
