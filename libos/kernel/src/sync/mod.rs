//! Synchronisation primitives for ring 0.

mod init_cell;
mod spinlock;

pub use init_cell::InitCell;
pub use spinlock::{SpinLock, SpinLockGuard};
