//! Clock arithmetic: calendar dates to Unix time, and TSC ticks to
//! nanoseconds without a division on the read path.

/// Days from 1970-01-01 to the given proleptic Gregorian date.
pub const fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    // Shift the year to start in March, so February's leap day is last.
    let y = if month <= 2 { year - 1 } else { year };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = month as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// A wall-clock reading as the CMOS RTC gives it (already binary, 24-hour).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CalendarTime {
    /// Full year (e.g. 2026).
    pub year: i64,
    /// 1..=12.
    pub month: u32,
    /// 1..=31.
    pub day: u32,
    /// 0..=23.
    pub hour: u32,
    /// 0..=59.
    pub minute: u32,
    /// 0..=59.
    pub second: u32,
}

impl CalendarTime {
    /// The UTC calendar fields of Unix time `secs` (the inverse of
    /// [`unix_seconds`](Self::unix_seconds)).
    pub const fn from_unix(secs: i64) -> CalendarTime {
        let days = secs.div_euclid(86_400);
        let in_day = secs.rem_euclid(86_400) as u32;
        // Days to a date, counting 400-year eras from 0000-03-01 so that the
        // leap day ends each year (the inverse of `days_from_civil`).
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = yoe + era * 400 + (month <= 2) as i64;
        CalendarTime { year, month, day, hour: in_day / 3600, minute: in_day / 60 % 60, second: in_day % 60 }
    }

    /// Seconds since the Unix epoch, or `None` if a field is out of range.
    pub const fn unix_seconds(&self) -> Option<i64> {
        if self.month < 1 || self.month > 12 || self.day < 1 || self.day > 31 || self.hour > 23 {
            return None;
        }
        if self.minute > 59 || self.second > 60 {
            return None;
        }
        let days = days_from_civil(self.year, self.month, self.day);
        Some(days * 86_400 + self.hour as i64 * 3600 + self.minute as i64 * 60 + self.second as i64)
    }
}

/// A CMOS register value in BCD to binary.
pub const fn bcd_to_binary(v: u8) -> u8 {
    (v & 0x0F) + (v >> 4) * 10
}

/// The RTC's hour register to 0..=23: `twelve_hour` mode keeps PM in bit 7.
pub const fn rtc_hour(raw: u8, bcd: bool, twelve_hour: bool) -> u8 {
    let pm = twelve_hour && raw & 0x80 != 0;
    let v = raw & 0x7F;
    let h = if bcd { bcd_to_binary(v) } else { v };
    if !twelve_hour {
        h
    } else if pm {
        if h == 12 { 12 } else { h + 12 }
    } else if h == 12 {
        0
    } else {
        h
    }
}

/// Converts TSC ticks to nanoseconds as `ticks * mult >> 32`: one
/// multiplication on the read path, no division.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TscScale {
    /// Ticks per second.
    pub hz: u64,
    /// Nanoseconds per tick, as a 32.32 fixed-point number.
    pub mult: u64,
}

impl TscScale {
    /// The scale for a TSC running at `hz` (at least 1 MHz).
    pub const fn new(hz: u64) -> TscScale {
        assert!(hz >= 1_000_000);
        TscScale { hz, mult: ((1_000_000_000u128 << 32) / hz as u128) as u64 }
    }

    /// Nanoseconds in `ticks`.
    pub const fn ticks_to_ns(&self, ticks: u64) -> u64 {
        ((ticks as u128 * self.mult as u128) >> 32) as u64
    }

    /// Ticks in `ns` nanoseconds (rounded up, so a deadline is never early).
    pub const fn ns_to_ticks(&self, ns: u64) -> u64 {
        ((ns as u128 * self.hz as u128).div_ceil(1_000_000_000)) as u64
    }
}

/// A reading of another clock taken between two TSC reads. Under an
/// emulator (or a hypervisor) the CPU may stop for milliseconds between
/// any two instructions; a reading whose TSC bracket is narrow is known to
/// have happened at the bracket's middle, give or take half its width.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PairedReading {
    /// The other clock's value.
    pub value: u64,
    /// The TSC just before the read.
    pub tsc_before: u64,
    /// The TSC just after the read.
    pub tsc_after: u64,
}

impl PairedReading {
    /// The TSC at the reading (the bracket's middle).
    pub const fn tsc(&self) -> u64 {
        self.tsc_before + (self.tsc_after - self.tsc_before) / 2
    }

    /// The bracket's width: how uncertain `tsc` is.
    pub const fn width(&self) -> u64 {
        self.tsc_after - self.tsc_before
    }
}

/// Of `tries` readings of `read` paired with `tsc`, the one with the
/// narrowest bracket.
pub fn read_paired(tries: usize, mut tsc: impl FnMut() -> u64, mut read: impl FnMut() -> u64) -> PairedReading {
    let mut best: Option<PairedReading> = None;
    for _ in 0..tries.max(1) {
        let tsc_before = tsc();
        let value = read();
        let tsc_after = tsc();
        let r = PairedReading { value, tsc_before, tsc_after: tsc_after.max(tsc_before) };
        if best.is_none_or(|b| r.width() < b.width()) {
            best = Some(r);
        }
    }
    best.expect("at least one try")
}

/// TSC ticks per `unit` of the other clock, from two paired readings of a
/// clock that counts up by `elapsed` units between them (`None` if no
/// time passed on either).
pub fn tsc_per(start: &PairedReading, end: &PairedReading, elapsed: u64, unit: u64) -> Option<u64> {
    let tsc = end.tsc().checked_sub(start.tsc())?;
    if elapsed == 0 || tsc == 0 {
        return None;
    }
    Some((tsc as u128 * unit as u128 / elapsed as u128) as u64)
}

/// The registers of one CPUID leaf (subleaf 0).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CpuidLeaf {
    /// EAX.
    pub eax: u32,
    /// EBX.
    pub ebx: u32,
    /// ECX.
    pub ecx: u32,
    /// EDX.
    pub edx: u32,
}

/// Who published the TSC frequency.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Publisher {
    /// The kernel command line's `tsc_khz=` (the xtask passes it under
    /// QEMU, whose TCG publishes nothing; Linux's `tsc_early_khz=`).
    CommandLine,
    /// CPUID leaf 0x15: TSC / core crystal clock ratio and the crystal's
    /// frequency (Intel SDM Vol. 2A, "CPUID", leaf 15H; Linux's
    /// `native_calibrate_tsc`).
    Cpuid15,
    /// The hypervisor's timing leaf 0x40000010 (VMware's, also KVM's and
    /// QEMU's with KVM): EAX = TSC kHz, EBX = APIC bus kHz.
    Hypervisor,
    /// CPUID leaf 0x16: the processor's base frequency in MHz, which the
    /// TSC usually but not always runs at (Linux's `cpu_khz_from_cpuid`):
    /// a hint that needs a real check.
    Cpuid16,
}

impl Publisher {
    /// Whether the value is a statement about the TSC (so a quick check
    /// that it is roughly right is enough), rather than a hint.
    pub const fn is_exact(self) -> bool {
        !matches!(self, Publisher::Cpuid16)
    }

    /// For the boot report.
    pub const fn describe(self) -> &'static str {
        match self {
            Publisher::CommandLine => "tsc_khz= on the command line",
            Publisher::Cpuid15 => "CPUID 0x15",
            Publisher::Hypervisor => "CPUID 0x40000010",
            Publisher::Cpuid16 => "CPUID 0x16",
        }
    }
}

/// A published TSC frequency, and the APIC timer's input clock when the
/// same source gives it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PublishedFrequency {
    /// TSC ticks per second.
    pub tsc_hz: u64,
    /// Where it came from.
    pub publisher: Publisher,
    /// The local APIC timer's input clock in Hz (before its divider): the
    /// core crystal with leaf 0x15 (Intel SDM Vol. 3A, 11.5.4), the bus
    /// clock with leaf 0x40000010.
    pub apic_timer_hz: Option<u64>,
}

/// CPUID.1:ECX bit 31: running under a hypervisor.
const HYPERVISOR_BIT: u32 = 1 << 31;
/// The hypervisor's timing leaf.
const HYPERVISOR_TIMING_LEAF: u32 = 0x4000_0010;

/// The TSC frequency someone published, if anyone did, in Linux's order of
/// trust: the command line (an explicit override), CPUID 0x15 (with the
/// crystal's frequency from 0x16 when 0x15 leaves it out), the hypervisor's
/// leaf 0x40000010 (only when leaf 0x40000000 says it exists), CPUID 0x16.
/// `cpuid(leaf)` runs CPUID; leaves above the maximum that leaf 0 (or
/// 0x40000000) reports are never asked for (Intel CPUs answer those with
/// the highest leaf's data, not zeros).
pub fn published_tsc_frequency(
    cpuid: impl Fn(u32) -> CpuidLeaf,
    cmdline_khz: Option<u64>,
) -> Option<PublishedFrequency> {
    if let Some(khz) = cmdline_khz.filter(|&k| k > 0) {
        return Some(PublishedFrequency { tsc_hz: khz * 1000, publisher: Publisher::CommandLine, apic_timer_hz: None });
    }
    let max_basic = cpuid(0).eax;
    let base_mhz = if max_basic >= 0x16 { u64::from(cpuid(0x16).eax & 0xFFFF) } else { 0 };
    if max_basic >= 0x15 {
        let l = cpuid(0x15);
        let (denominator, numerator) = (u64::from(l.eax), u64::from(l.ebx));
        if denominator != 0 && numerator != 0 {
            let crystal_hz = match u64::from(l.ecx) {
                // Leaf 0x15 without the crystal: derive it from the base
                // frequency (Linux does the same, native_calibrate_tsc).
                0 => base_mhz * 1_000_000 * denominator / numerator,
                hz => hz,
            };
            if crystal_hz != 0 {
                return Some(PublishedFrequency {
                    tsc_hz: crystal_hz * numerator / denominator,
                    publisher: Publisher::Cpuid15,
                    apic_timer_hz: Some(crystal_hz),
                });
            }
        }
    }
    if max_basic >= 1 && cpuid(1).ecx & HYPERVISOR_BIT != 0 && cpuid(0x4000_0000).eax >= HYPERVISOR_TIMING_LEAF {
        let l = cpuid(HYPERVISOR_TIMING_LEAF);
        if l.eax != 0 {
            return Some(PublishedFrequency {
                tsc_hz: u64::from(l.eax) * 1000,
                publisher: Publisher::Hypervisor,
                apic_timer_hz: (l.ebx != 0).then(|| u64::from(l.ebx) * 1000),
            });
        }
    }
    (base_mhz != 0).then(|| PublishedFrequency {
        tsc_hz: base_mhz * 1_000_000,
        publisher: Publisher::Cpuid16,
        apic_timer_hz: None,
    })
}

/// How far a published exact frequency may be from a quick check, before
/// the check's own uncertainty is added: 2% (the check exists to catch a
/// wrong source, such as an emulator whose TSC does not run at its CPU
/// model's rate, not to refine a right one).
pub const CHECK_TOLERANCE_PPM: u64 = 20_000;
/// How far a CPUID 0x16 base frequency may be from the check (it is only
/// the nominal frequency of the part).
pub const HINT_TOLERANCE_PPM: u64 = 100_000;

/// A measurement of the TSC against another clock over a short window,
/// with its uncertainty: both ends are [`PairedReading`]s whose brackets
/// (the TSC ticks spent reading the other clock) bound the error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateCheck {
    /// The TSC frequency the window measured.
    pub measured_hz: u64,
    /// The window's relative uncertainty, in parts per million: half of
    /// both brackets over the TSC ticks between them.
    pub uncertainty_ppm: u64,
}

impl RateCheck {
    /// The check of two paired readings of a clock running at `other_hz`
    /// (`None` if no time passed).
    pub fn of(start: &PairedReading, end: &PairedReading, other_hz: u64) -> Option<RateCheck> {
        let elapsed = end.value.checked_sub(start.value)?;
        let measured_hz = tsc_per(start, end, elapsed, other_hz)?;
        let tsc = end.tsc() - start.tsc();
        let uncertainty_ppm = ((start.width() + end.width()) as u128 * 500_000 / tsc as u128) as u64;
        Some(RateCheck { measured_hz, uncertainty_ppm })
    }

    /// Whether the window is settled: its uncertainty is at most
    /// `target_ppm` (the caller keeps measuring until it is, or until its
    /// time is up).
    pub const fn settled(&self, target_ppm: u64) -> bool {
        self.uncertainty_ppm <= target_ppm
    }

    /// Whether `published` agrees with the window, within `tolerance_ppm`
    /// plus the window's own uncertainty: a noisy window widens the
    /// tolerance instead of failing a right value, and a quiet one keeps it
    /// tight.
    pub const fn agrees_with(&self, published: u64, tolerance_ppm: u64) -> bool {
        let allowed = tolerance_ppm + self.uncertainty_ppm;
        (published.abs_diff(self.measured_hz) as u128 * 1_000_000) <= (published as u128 * allowed as u128)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The vDSO's formula (`libos_abi::vdso_data`) is the kernel's: the
    /// same nanoseconds for every TSC value, rate and boot offset.
    #[test]
    fn the_vdso_formula_is_the_kernels() {
        use libos_abi::vdso_data::{VVAR_MAGIC, VvarData};
        for hz in [1_000_000u64, 2_000_004_000, 3_399_999_999, 5_000_000_000] {
            let scale = TscScale::new(hz);
            for boot in [0u64, 12_345, u64::MAX / 3] {
                let data = VvarData {
                    magic: VVAR_MAGIC,
                    tsc_mult: scale.mult,
                    tsc_at_boot: boot,
                    realtime_at_boot_ns: 1_700_000_000_000_000_000,
                    flags: 0,
                };
                for ticks in [0u64, 1, 999, hz, hz * 3600, hz.saturating_mul(86_400 * 365)] {
                    let tsc = boot.wrapping_add(ticks);
                    assert_eq!(data.monotonic_ns(tsc), scale.ticks_to_ns(ticks), "hz {hz} boot {boot} ticks {ticks}");
                    assert_eq!(data.realtime_ns(tsc), 1_700_000_000_000_000_000 + scale.ticks_to_ns(ticks));
                }
            }
        }
    }

    #[test]
    fn the_narrowest_bracket_wins() {
        // A TSC that jumps by 1000 during the first two reads (the CPU
        // stopped), then advances by 1 per read.
        let mut now = 0u64;
        let steps = [0u64, 1000, 1, 1, 1, 1];
        let mut i = 0;
        let tsc = || {
            now += steps.get(i).copied().unwrap_or(1);
            i += 1;
            now
        };
        let mut value = 10;
        let r = read_paired(3, tsc, || {
            value += 1;
            value
        });
        assert_eq!(r.width(), 1);
        assert_eq!(r.value, 12);
        assert_eq!(r.tsc(), r.tsc_before);
    }

    #[test]
    fn rate_from_two_readings() {
        let start = PairedReading { value: 100, tsc_before: 1_000, tsc_after: 1_010 };
        let end = PairedReading { value: 1_100, tsc_before: 3_001_000, tsc_after: 3_001_010 };
        // 3,000,000 TSC ticks over 1000 units: 3000 per unit, 3e9 per 1e6 units.
        assert_eq!(tsc_per(&start, &end, 1_000, 1), Some(3_000));
        assert_eq!(tsc_per(&start, &end, 1_000, 1_000_000), Some(3_000_000_000));
        assert_eq!(tsc_per(&end, &start, 1_000, 1), None);
        assert_eq!(tsc_per(&start, &end, 0, 1), None);
    }

    #[test]
    fn known_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        let t = CalendarTime { year: 2026, month: 11, day: 21, hour: 21, minute: 44, second: 0 };
        assert_eq!(t.unix_seconds(), Some(1_795_297_440));
        let leap = CalendarTime { year: 2024, month: 2, day: 29, hour: 0, minute: 0, second: 0 };
        assert_eq!(leap.unix_seconds(), Some(1_709_164_800));
        assert_eq!(CalendarTime { month: 13, ..t }.unix_seconds(), None);
    }

    #[test]
    fn unix_time_to_dates_and_back() {
        let t = CalendarTime::from_unix(951_782_400);
        assert_eq!((t.year, t.month, t.day), (2000, 2, 29));
        assert_eq!(CalendarTime::from_unix(-1).unix_seconds(), Some(-1));
        assert_eq!(CalendarTime::from_unix(-1).year, 1969);
        for secs in [0i64, 1_735_787_045, 4_107_542_399, -86_400 * 365 * 300, 1_795_297_440] {
            assert_eq!(CalendarTime::from_unix(secs).unix_seconds(), Some(secs), "{secs}");
        }
    }

    #[test]
    fn rtc_registers() {
        assert_eq!(bcd_to_binary(0x59), 59);
        assert_eq!(rtc_hour(0x12, true, true), 0);
        assert_eq!(rtc_hour(0x92, true, true), 12);
        assert_eq!(rtc_hour(0x81, true, true), 13);
        assert_eq!(rtc_hour(0x23, true, false), 23);
        assert_eq!(rtc_hour(23, false, false), 23);
    }

    #[test]
    fn tsc_scale_round_trips() {
        for hz in [1_000_000_000u64, 2_399_999_999, 3_000_000_000, 1_000_000, 4_700_000_123] {
            let s = TscScale::new(hz);
            let err = s.ticks_to_ns(hz).abs_diff(1_000_000_000);
            assert!(err <= 1, "{hz} Hz: one second is {} ns", s.ticks_to_ns(hz));
            let ticks = s.ns_to_ticks(50_000_000);
            assert!(s.ticks_to_ns(ticks) >= 49_999_999);
            // A year of ticks does not overflow.
            assert!(s.ticks_to_ns(hz * 86_400 * 365) > 31_000_000_000_000_000);
        }
    }

    /// CPUID as QEMU 7.2's TCG shows it with `-cpu max`, as far as the
    /// choice depends on it: AuthenticAMD with a maximum basic leaf below
    /// 0x15 and no hypervisor timing leaf (a boot with `-cpu
    /// max,tsc-frequency=1000000000` still measured its TSC: nothing was
    /// published). The other register values are illustrative.
    fn qemu_tcg_max(leaf: u32) -> CpuidLeaf {
        match leaf {
            0 => CpuidLeaf { eax: 0xd, ebx: 0x6874_7541, ecx: 0x444d_4163, edx: 0x6974_6e65 },
            1 => CpuidLeaf { eax: 0x000f_06b1, ebx: 0x0000_0800, ecx: 0xfed8_3203, edx: 0x178b_fbff },
            _ => CpuidLeaf::default(),
        }
    }

    /// A recorded table of leaves; anything else is zeros.
    fn leaves(table: &[(u32, CpuidLeaf)]) -> impl Fn(u32) -> CpuidLeaf + '_ {
        move |leaf| table.iter().find(|(l, _)| *l == leaf).map(|(_, v)| *v).unwrap_or_default()
    }

    fn leaf(eax: u32, ebx: u32, ecx: u32, edx: u32) -> CpuidLeaf {
        CpuidLeaf { eax, ebx, ecx, edx }
    }

    #[test]
    fn qemu_tcg_publishes_nothing_but_the_command_line_can() {
        assert_eq!(published_tsc_frequency(qemu_tcg_max, None), None);
        let p = published_tsc_frequency(qemu_tcg_max, Some(1_000_000)).unwrap();
        assert_eq!((p.tsc_hz, p.publisher, p.apic_timer_hz), (1_000_000_000, Publisher::CommandLine, None));
        assert!(p.publisher.is_exact());
    }

    #[test]
    fn intel_leaf_15_with_and_without_the_crystal() {
        // A Skylake client: 0x15 = 2/188 with a 24 MHz crystal -> 2256 MHz.
        let skylake = [(0, leaf(0x16, 0, 0, 0)), (0x15, leaf(2, 188, 24_000_000, 0)), (0x16, leaf(2200, 4000, 100, 0))];
        let p = published_tsc_frequency(leaves(&skylake), None).unwrap();
        assert_eq!((p.tsc_hz, p.publisher, p.apic_timer_hz), (2_256_000_000, Publisher::Cpuid15, Some(24_000_000)));
        // Crystal left out (ECX = 0): from 0x16's base 2200 MHz * 2 / 188.
        let no_crystal = [(0, leaf(0x16, 0, 0, 0)), (0x15, leaf(2, 188, 0, 0)), (0x16, leaf(2200, 4000, 100, 0))];
        let p = published_tsc_frequency(leaves(&no_crystal), None).unwrap();
        assert_eq!(p.publisher, Publisher::Cpuid15);
        assert_eq!(p.tsc_hz, 2_200_000_000 * 2 / 188 * 188 / 2);
        // A max leaf below 0x15: the leaves are not read (Intel would
        // answer with leaf 0xd's data).
        let old = [(0, leaf(0xd, 0, 0, 0)), (0x15, leaf(2, 188, 24_000_000, 0))];
        assert_eq!(published_tsc_frequency(leaves(&old), None), None);
    }

    #[test]
    fn hypervisor_leaf_needs_the_hypervisor_and_its_max_leaf() {
        let kvm = [
            (0, leaf(0xd, 0, 0, 0)),
            (1, leaf(0, 0, HYPERVISOR_BIT, 0)),
            (0x4000_0000, leaf(0x4000_0010, 0x4b4d_564b, 0x564b_4d56, 0x4d)),
            (0x4000_0010, leaf(2_000_000, 1_000_000, 0, 0)),
        ];
        let p = published_tsc_frequency(leaves(&kvm), None).unwrap();
        assert_eq!(
            (p.tsc_hz, p.publisher, p.apic_timer_hz),
            (2_000_000_000, Publisher::Hypervisor, Some(1_000_000_000))
        );
        // The leaf is there but 0x40000000 does not list it.
        let short = [kvm[0], kvm[1], (0x4000_0000, leaf(0x4000_0001, 0, 0, 0)), kvm[3]];
        assert_eq!(published_tsc_frequency(leaves(&short), None), None);
        // No hypervisor bit: not asked.
        let bare = [kvm[0], (1, leaf(0, 0, 0, 0)), kvm[2], kvm[3]];
        assert_eq!(published_tsc_frequency(leaves(&bare), None), None);
    }

    #[test]
    fn leaf_16_alone_is_a_hint() {
        // Bochs's corei7_skylake_x: 0x15 zero, 0x16 a base frequency.
        let bochs = [(0, leaf(0x16, 0, 0, 0)), (0x16, leaf(3000, 4000, 100, 0))];
        let p = published_tsc_frequency(leaves(&bochs), None).unwrap();
        assert_eq!((p.tsc_hz, p.publisher), (3_000_000_000, Publisher::Cpuid16));
        assert!(!p.publisher.is_exact());
    }

    #[test]
    fn checks_widen_with_their_noise_and_never_pass_a_wrong_value() {
        // 20 us of a 1 GHz TSC against a 100 MHz HPET, brackets of 20 ticks.
        let start = PairedReading { value: 1_000, tsc_before: 10_000, tsc_after: 10_020 };
        let end = PairedReading { value: 3_000, tsc_before: 30_000, tsc_after: 30_020 };
        let c = RateCheck::of(&start, &end, 100_000_000).unwrap();
        assert_eq!(c.measured_hz, 1_000_000_000);
        assert_eq!(c.uncertainty_ppm, 1_000);
        assert!(c.settled(2_000) && !c.settled(500));
        assert!(c.agrees_with(1_000_000_000, CHECK_TOLERANCE_PPM));
        assert!(c.agrees_with(1_020_000_000, CHECK_TOLERANCE_PPM));
        assert!(!c.agrees_with(1_050_000_000, CHECK_TOLERANCE_PPM));
        // Bochs: a model frequency of 3 GHz, a TSC that counts 50 M/s.
        assert!(!c.agrees_with(3_000_000_000, HINT_TOLERANCE_PPM));
        // A wide bracket (a descheduled vCPU while reading) widens the
        // tolerance but still refuses a value 3x off.
        let noisy_end = PairedReading { value: 3_000, tsc_before: 30_000, tsc_after: 32_000 };
        let n = RateCheck::of(&start, &noisy_end, 100_000_000).unwrap();
        assert!(n.uncertainty_ppm > 40_000 && !n.settled(5_000));
        assert!(!n.agrees_with(3_000_000_000, CHECK_TOLERANCE_PPM));
        assert_eq!(RateCheck::of(&end, &start, 100_000_000), None);
    }
}
