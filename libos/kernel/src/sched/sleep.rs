//! Sleeping for a while.

use crate::time;

/// Sleeps at least `ns` nanoseconds. Other runnable tasks run meanwhile.
pub fn sleep_ns(ns: u64) {
    let deadline = time::deadline_after(ns);
    while time::rdtsc() < deadline {
        super::yield_now();
        core::hint::spin_loop();
    }
}
