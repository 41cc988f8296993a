//! Synchronisation between threads, shaped like `std::sync`.
//!
//! Every blocking type here sleeps on a [`futex`] (the kernel's one
//! blocking primitive): [`Mutex`], [`Condvar`], [`RwLock`], [`Once`],
//! [`OnceLock`], [`LazyLock`], [`Barrier`] and the [`mpsc`] channels.
//! [`Arc`], [`Weak`] and [`atomic`] are re-exported so `use std::sync::...`
//! becomes `use libos::sync::...` and nothing else changes.
//!
//! One difference: a panic ends the whole app (there is no unwinding), so
//! locks are never poisoned (see [`poison`]).

mod barrier;
mod condvar;
pub mod futex;
pub mod mpsc;
mod mutex;
mod once;
mod once_lock;
pub mod poison;
pub(crate) mod raw_mutex;
mod rwlock;

pub use alloc::sync::{Arc, Weak};
pub use core::sync::atomic;

pub use barrier::{Barrier, BarrierWaitResult};
pub use condvar::{Condvar, WaitTimeoutResult};
pub use mutex::{Mutex, MutexGuard};
pub use once::{Once, OnceState};
pub use once_lock::{LazyLock, OnceLock};
pub use poison::{LockResult, PoisonError, TryLockError, TryLockResult};
pub use rwlock::{RwLock, RwLockReadGuard, RwLockWriteGuard};
