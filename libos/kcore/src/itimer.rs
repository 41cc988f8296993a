//! Interval-timer arithmetic (`setitimer`, `getitimer`, `alarm`), as
//! Linux's `kernel/time/itimer.c` does it: which settings are valid, how a
//! setting becomes nanoseconds and back, and what `alarm` returns.

/// Microseconds in a second.
const USEC_PER_SEC: i64 = 1_000_000;

/// A `struct timeval` as two numbers: seconds and microseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tv {
    /// Seconds.
    pub sec: i64,
    /// Microseconds.
    pub usec: i64,
}

impl Tv {
    /// Whether Linux accepts it (`timeval_valid`): seconds not negative,
    /// microseconds in `0..1_000_000`.
    pub fn is_valid(self) -> bool {
        self.sec >= 0 && (0..USEC_PER_SEC).contains(&self.usec)
    }

    /// Nanoseconds (saturating: a time past 2^64 ns, 584 years, never
    /// expires in practice). The caller checked [`Tv::is_valid`].
    pub fn to_nanos(self) -> u64 {
        (self.sec as u64).saturating_mul(1_000_000_000).saturating_add(self.usec as u64 * 1000)
    }

    /// The value of `ns` nanoseconds, truncated to whole microseconds (as
    /// Linux's `ns_to_timespec64` and the `timeval` conversion after it).
    pub fn from_nanos(ns: u64) -> Tv {
        let us = ns / 1000;
        Tv { sec: (us / 1_000_000) as i64, usec: (us % 1_000_000) as i64 }
    }
}

/// What `getitimer` reports as the time left of a timer armed to expire
/// `left_ns` from now: truncated to microseconds, but at least 1 µs while
/// it is armed (Linux's `itimer_get_remtime`: the timer may be about to
/// fire, it has not yet).
pub fn remaining(left_ns: u64) -> Tv {
    let tv = Tv::from_nanos(left_ns);
    if tv == Tv::default() { Tv { sec: 0, usec: 1 } } else { tv }
}

/// What `alarm` returns for the old timer value `old` (Linux's
/// `alarm_setitimer`): its seconds rounded to the nearest, and 1 rather
/// than 0 for a timer that was still armed.
pub fn alarm_seconds(old: Tv) -> u32 {
    let mut sec = old.sec;
    if (sec == 0 && old.usec != 0) || old.usec >= 500_000 {
        sec += 1;
    }
    sec.clamp(0, u32::MAX as i64) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validity() {
        assert!(Tv { sec: 0, usec: 0 }.is_valid());
        assert!(Tv { sec: 5, usec: 999_999 }.is_valid());
        assert!(!Tv { sec: -1, usec: 0 }.is_valid());
        assert!(!Tv { sec: 0, usec: 1_000_000 }.is_valid());
        assert!(!Tv { sec: 0, usec: -1 }.is_valid());
    }

    #[test]
    fn conversions() {
        assert_eq!(Tv { sec: 2, usec: 500 }.to_nanos(), 2_000_500_000);
        assert_eq!(Tv { sec: i64::MAX, usec: 0 }.to_nanos(), u64::MAX);
        assert_eq!(Tv::from_nanos(1), Tv { sec: 0, usec: 0 });
        assert_eq!(Tv::from_nanos(1_000_000_000), Tv { sec: 1, usec: 0 });
        assert_eq!(Tv::from_nanos(1_000_001_999), Tv { sec: 1, usec: 1 });
        assert_eq!(remaining(0), Tv { sec: 0, usec: 1 });
        assert_eq!(remaining(999), Tv { sec: 0, usec: 1 });
        assert_eq!(remaining(99_999_999_999), Tv { sec: 99, usec: 999_999 });
        assert_eq!(remaining(2_500_000_000), Tv { sec: 2, usec: 500_000 });
    }

    #[test]
    fn alarm_rounding() {
        assert_eq!(alarm_seconds(Tv::default()), 0);
        assert_eq!(alarm_seconds(Tv { sec: 0, usec: 1 }), 1);
        assert_eq!(alarm_seconds(Tv { sec: 4, usec: 499_999 }), 4);
        assert_eq!(alarm_seconds(Tv { sec: 4, usec: 500_000 }), 5);
        assert_eq!(alarm_seconds(Tv { sec: 9, usec: 0 }), 9);
    }
}
