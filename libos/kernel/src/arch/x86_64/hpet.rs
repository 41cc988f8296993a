//! The HPET (High Precision Event Timer), used at boot: to check a
//! published TSC frequency over a short window, or to measure the TSC when
//! nobody publishes its frequency. ACPI's HPET table gives its address; its
//! main counter runs at a period (in femtoseconds) the hardware reports.

use core::ptr::NonNull;

use libos_kcore::time::{RateCheck, read_paired, tsc_per};
use volatile::VolatilePtr;

use crate::mm::mmio::{self, Caching};

/// Register offsets (IA-PC HPET specification, 2.3).
mod reg {
    /// General capabilities and ID: bits 63:32 are the counter period (fs).
    pub const CAPABILITIES: u64 = 0x000;
    /// General configuration: bit 0 enables the main counter.
    pub const CONFIGURATION: u64 = 0x010;
    /// The main counter.
    pub const MAIN_COUNTER: u64 = 0x0F0;
    /// Bytes of the register block.
    pub const BLOCK_LEN: u64 = 0x400;
}

/// `CAPABILITIES` bit: the main counter is 64 bits wide (else 32).
const COUNT_SIZE_CAP: u64 = 1 << 13;
/// `CONFIGURATION` bit: the main counter runs.
const ENABLE_CNF: u64 = 1;
/// Femtoseconds per second.
const FS_PER_S: u128 = 1_000_000_000_000_000;
/// The largest period the specification allows (100 ns).
const MAX_PERIOD_FS: u64 = 100_000_000;
/// Reads per end of a measurement (the tightest counts).
const PAIRED_TRIES: usize = 5;

/// The HPET's registers, mapped.
struct Hpet {
    base: u64,
}

impl Hpet {
    fn reg(&self, offset: u64) -> VolatilePtr<'_, u64> {
        // SAFETY: `base` maps the whole register block (uncached) for as
        // long as `self` lives; the offsets are inside it and 8-aligned.
        unsafe { VolatilePtr::new(NonNull::new_unchecked((self.base + offset) as *mut u64)) }
    }
}

/// Counts TSC ticks over about `ms` milliseconds of the HPET at physical
/// address `phys`; `None` if its counter period is invalid.
pub fn measure_tsc_hz(phys: u64, ms: u64) -> Option<u64> {
    let hpet = Hpet { base: mmio::map(phys, reg::BLOCK_LEN, Caching::Uncached) };
    let result = measure(&hpet, ms);
    mmio::unmap(hpet.base, reg::BLOCK_LEN);
    result
}

fn measure(hpet: &Hpet, ms: u64) -> Option<u64> {
    let capabilities = hpet.reg(reg::CAPABILITIES).read();
    let period_fs = capabilities >> 32;
    let mask = if capabilities & COUNT_SIZE_CAP != 0 { u64::MAX } else { u32::MAX as u64 };
    if period_fs == 0 || period_fs > MAX_PERIOD_FS {
        return None;
    }
    let config = hpet.reg(reg::CONFIGURATION).read();
    if config & ENABLE_CNF == 0 {
        hpet.reg(reg::CONFIGURATION).write(config | ENABLE_CNF);
    }
    let ticks = (ms as u128 * FS_PER_S / 1000 / period_fs as u128) as u64;
    let counter = || hpet.reg(reg::MAIN_COUNTER).read();
    // Each end is the tightest of a few TSC-bracketed reads: an emulated
    // CPU can stop between any two instructions, and a stop between the
    // two clocks' reads would skew the result by its whole length.
    let start = read_paired(PAIRED_TRIES, crate::time::rdtsc, counter);
    while counter().wrapping_sub(start.value) & mask < ticks {
        core::hint::spin_loop();
    }
    let end = read_paired(PAIRED_TRIES, crate::time::rdtsc, counter);
    if config & ENABLE_CNF == 0 {
        hpet.reg(reg::CONFIGURATION).write(config);
    }
    let elapsed_fs = (end.value.wrapping_sub(start.value) & mask).checked_mul(period_fs)?;
    tsc_per(&start, &end, elapsed_fs, FS_PER_S as u64)
}

/// A short window of the TSC against the HPET at `phys`, long enough for
/// its uncertainty to fall to `settle_ppm` (the TSC-bracketed reads at its
/// ends bound it) or until `max_tsc` TSC ticks have passed, whichever comes
/// first; `None` if the HPET's period is invalid. Under QEMU -icount it
/// settles to 0.5% in about 10 microseconds (10 000 instructions).
pub fn check_tsc_window(phys: u64, settle_ppm: u64, max_tsc: u64) -> Option<RateCheck> {
    let hpet = Hpet { base: mmio::map(phys, reg::BLOCK_LEN, Caching::Uncached) };
    let result = check_window(&hpet, settle_ppm, max_tsc);
    mmio::unmap(hpet.base, reg::BLOCK_LEN);
    result
}

fn check_window(hpet: &Hpet, settle_ppm: u64, max_tsc: u64) -> Option<RateCheck> {
    let capabilities = hpet.reg(reg::CAPABILITIES).read();
    let period_fs = capabilities >> 32;
    if period_fs == 0 || period_fs > MAX_PERIOD_FS {
        return None;
    }
    let hz = (FS_PER_S / period_fs as u128) as u64;
    let config = hpet.reg(reg::CONFIGURATION).read();
    if config & ENABLE_CNF == 0 {
        hpet.reg(reg::CONFIGURATION).write(config | ENABLE_CNF);
    }
    let counter = || hpet.reg(reg::MAIN_COUNTER).read();
    let start = read_paired(PAIRED_TRIES, crate::time::rdtsc, counter);
    let mut check = None;
    loop {
        let end = read_paired(2, crate::time::rdtsc, counter);
        // A 32-bit counter wraps after minutes; the window is microseconds.
        if let Some(c) = RateCheck::of(&start, &end, hz) {
            check = Some(c);
            if c.settled(settle_ppm) {
                break;
            }
        }
        if end.tsc_after.wrapping_sub(start.tsc_before) > max_tsc {
            break;
        }
    }
    if config & ENABLE_CNF == 0 {
        hpet.reg(reg::CONFIGURATION).write(config);
    }
    check
}
