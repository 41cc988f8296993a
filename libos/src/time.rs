//! Time, shaped like `std::time`.

use core::ops::{Add, Sub};
pub use core::time::Duration;

use libos_abi::abi_types::{CLOCK_MONOTONIC, CLOCK_REALTIME, Timespec};
use libos_abi::syscalls::user;

fn now(clock: i32) -> Duration {
    let mut t = Timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `t` is valid for writes.
    unsafe { user::clock_gettime(clock, &mut t) }.expect("clock_gettime");
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

/// A point in monotonic time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(Duration);

impl Instant {
    /// Now.
    pub fn now() -> Instant {
        Instant(now(CLOCK_MONOTONIC))
    }

    /// Time since `earlier` (zero if `earlier` is later).
    pub fn duration_since(&self, earlier: Instant) -> Duration {
        self.0.saturating_sub(earlier.0)
    }

    /// Time since `earlier`, or `None` if `earlier` is later.
    pub fn checked_duration_since(&self, earlier: Instant) -> Option<Duration> {
        self.0.checked_sub(earlier.0)
    }

    /// Time since `earlier` (zero if `earlier` is later).
    pub fn saturating_duration_since(&self, earlier: Instant) -> Duration {
        self.duration_since(earlier)
    }

    /// Time since this instant.
    pub fn elapsed(&self) -> Duration {
        Instant::now().duration_since(*self)
    }

    /// `self + d`, or `None` on overflow.
    pub fn checked_add(&self, d: Duration) -> Option<Instant> {
        self.0.checked_add(d).map(Instant)
    }

    /// `self - d`, or `None` before the clock's start.
    pub fn checked_sub(&self, d: Duration) -> Option<Instant> {
        self.0.checked_sub(d).map(Instant)
    }

    /// Later than any instant a program meets (for "no deadline").
    pub(crate) const FAR_FUTURE: Instant = Instant(Duration::MAX);
}

impl Add<Duration> for Instant {
    type Output = Instant;
    fn add(self, d: Duration) -> Instant {
        Instant(self.0 + d)
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;
    fn sub(self, other: Instant) -> Duration {
        self.duration_since(other)
    }
}

/// A point in wall-clock time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SystemTime(Duration);

/// 1970-01-01 00:00:00 UTC.
pub const UNIX_EPOCH: SystemTime = SystemTime(Duration::ZERO);

impl SystemTime {
    /// 1970-01-01 00:00:00 UTC.
    pub const UNIX_EPOCH: SystemTime = UNIX_EPOCH;

    /// Now.
    pub fn now() -> SystemTime {
        SystemTime(now(CLOCK_REALTIME))
    }

    /// Time since `earlier`, or the negative difference as an error.
    pub fn duration_since(&self, earlier: SystemTime) -> Result<Duration, Duration> {
        self.0.checked_sub(earlier.0).ok_or_else(|| earlier.0 - self.0)
    }

    /// `d` later, or `None` past what a `SystemTime` holds.
    pub fn checked_add(&self, d: Duration) -> Option<SystemTime> {
        self.0.checked_add(d).map(SystemTime)
    }
}

impl Add<Duration> for SystemTime {
    type Output = SystemTime;

    fn add(self, d: Duration) -> SystemTime {
        self.checked_add(d).expect("overflow when adding duration to instant")
    }
}

/// Sleeps at least `d`: never returns early (the timer's resolution may
/// add a little).
pub fn sleep(d: Duration) {
    let start = Instant::now();
    let mut left = d;
    while !left.is_zero() {
        let req = Timespec { tv_sec: left.as_secs().min(i64::MAX as u64) as i64, tv_nsec: left.subsec_nanos() as i64 };
        let mut rem = Timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: both pointers are valid.
        let _ = unsafe { user::nanosleep(&req, &mut rem) };
        left = d.saturating_sub(start.elapsed());
    }
}
