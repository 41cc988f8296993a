//! Sleeping for a while.

use crate::time;

/// Sleeps at least `ns` nanoseconds (other tasks run meanwhile). Returns
/// `false` if the app was ended before that.
pub fn sleep_ns(ns: u64) -> bool {
    super::timer::sleep_until(time::deadline_after(ns))
}
