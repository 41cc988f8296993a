//! Sleeping for a while.

use libos_abi::errno::Errno;

use crate::time;

/// Sleeps at least `ns` nanoseconds (other tasks run meanwhile). Returns
/// `Ok(false)` if the sleep was interrupted (the app is ending) before
/// that, `ENOMEM` if no timer could be armed.
pub fn sleep_ns(ns: u64) -> Result<bool, Errno> {
    super::wait::sleep_until(time::deadline_after(ns))
}
