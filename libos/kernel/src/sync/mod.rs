//! Synchronisation primitives for ring 0.

mod init_cell;
mod sleep_lock;
mod spinlock;

pub use init_cell::InitCell;
pub use sleep_lock::{SleepLock, SleepLockGuard};
pub use spinlock::{SpinLock, SpinLockGuard};
