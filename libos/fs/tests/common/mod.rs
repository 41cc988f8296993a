//! What the integration tests share: a clock, a lock, a mount table over a
//! RAM file system, and helpers.
#![allow(dead_code)]

use std::ops::DerefMut;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use libos_abi::abi_types::Timespec;
use libos_fs::filesystem::{Clock, FileSystem};
use libos_fs::mount::{FsLock, Location, MountTable};
use libos_fs::ramfs::RamFs;
use libos_fs::vfs::Caller;

/// A clock that ticks one second per reading, from `start`.
pub struct Ticking(pub AtomicI64);

impl Clock for Ticking {
    fn now(&self) -> Timespec {
        Timespec::new(self.0.fetch_add(1, Ordering::Relaxed), 0)
    }
}

pub fn clock() -> Arc<Ticking> {
    Arc::new(Ticking(AtomicI64::new(1_000_000)))
}

/// A file system behind a std mutex, as the kernel puts one behind its lock.
pub struct Locked(pub Mutex<Box<dyn FileSystem>>);

impl Locked {
    pub fn new(fs: impl FileSystem + 'static) -> Locked {
        Locked(Mutex::new(Box::new(fs)))
    }
}

impl FsLock for Locked {
    type Fs = Box<dyn FileSystem>;
    fn lock(&self) -> impl DerefMut<Target = Box<dyn FileSystem>> + '_ {
        self.0.lock().unwrap()
    }
}

pub fn ramfs(limit: u64) -> RamFs {
    RamFs::new(limit, clock()).unwrap()
}

/// A table with an empty RAM file system at `/`.
pub fn table() -> MountTable<Locked> {
    MountTable::new(Locked::new(ramfs(64 << 20)), false, 1)
}

/// A caller at `base` with the table's root.
pub fn caller(t: &MountTable<Locked>, base: Location) -> Caller {
    Caller { root: t.root(), base, uid: 0, gid: 0 }
}
