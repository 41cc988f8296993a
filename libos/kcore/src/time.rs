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

#[cfg(test)]
mod tests {
    use super::*;

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
}
