//! Synchronisation primitives for ring 0.

mod init_cell;
mod mutex;
mod spinlock;

pub use init_cell::InitCell;
pub use mutex::{Mutex, MutexGuard};
pub use spinlock::{SpinLock, SpinLockGuard};
