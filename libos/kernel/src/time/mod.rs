//! Time: the TSC as the clock.
//!
//! The TSC frequency comes from CPUID when the CPU reports it, otherwise
//! from measuring it at boot against the HPET (if ACPI lists one) or else
//! the PIT. Monotonic time is TSC ticks
//! since boot scaled by one multiplication; realtime adds the wall-clock
//! time read from the CMOS RTC at boot. Both are read without a lock.

use core::sync::atomic::{AtomicU64, Ordering};

use libos_kcore::time::TscScale;

use crate::arch::x86_64::{acpi, cpu, hpet, pit, rtc};
use crate::sync::InitCell;

/// How the TSC frequency was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TscSource {
    /// CPUID leaf 0x15, 0x16 or the hypervisor's leaf 0x40000010.
    Cpuid,
    /// Measured against the HPET's main counter.
    Hpet,
    /// Measured against PIT channel 2.
    Pit,
}

/// How long the boot-time measurement runs (it is most of the kernel's
/// boot time; the HPET's 100 ns or finer period resolves 2 ms to 0.005%).
const CALIBRATION_MS: u64 = 2;
/// How long the check of a CPUID frequency runs.
const CHECK_MS: u64 = 1;
/// How far (in percent) a CPUID frequency may be from a quick measurement.
const CHECK_TOLERANCE_PERCENT: u64 = 10;

/// Measures the TSC against the HPET if ACPI lists one, else the PIT.
fn measure(ms: u64) -> (u64, TscSource) {
    match acpi::info().and_then(|a| a.hpet_address).and_then(|a| hpet::measure_tsc_hz(a, ms)) {
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
    /// A frequency CPUID reported but a measurement contradicted (an
    /// emulator whose TSC does not run at its CPU model's rate: Bochs).
    pub cpuid_rejected: Option<u64>,
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

/// Sets up the clock (boot CPU, once).
pub fn init() -> &'static Clock {
    let tsc_at_boot = rdtsc();
    let mut cpuid_rejected = None;
    let (hz, source) = match cpu::features().tsc_hz_from_cpuid {
        // Trusted after a quick check: some emulators report their CPU
        // model's frequency while their TSC runs at another rate.
        Some(hz) => {
            let (quick, _) = measure(CHECK_MS);
            if quick.abs_diff(hz) * 100 <= hz * CHECK_TOLERANCE_PERCENT {
                (hz, TscSource::Cpuid)
            } else {
                cpuid_rejected = Some(hz);
                measure(CALIBRATION_MS)
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
        cpuid_rejected,
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
