//! `flock` (Linux's `fs/locks.c`): whole-file advisory locks owned by open
//! file descriptions, over `libos_fs::flock`'s table (the conflict rules,
//! host-tested). One table and one wait queue for the whole kernel: a
//! blocked `flock` sleeps on the queue and re-tries whenever any lock is
//! dropped, until it gets its lock, a signal interrupts it
//! (`-ERESTARTSYS`: `EINTR`, or a restart under `SA_RESTART`) or its app
//! ends. A waiter holds one queue slot; the table holds one entry per
//! locked file and one slot per holder, so the kernel memory an app can
//! make the kernel hold is bounded by its descriptions and threads.
//!
//! A file on a mount is named by its [`Location`] (two opens of one file
//! conflict); any other file (a pipe, a socket) by its description, so
//! its locks never conflict with another description's.

use libos_abi::errno::Errno;
use libos_fs::flock::{Conflict, FlockTable, Kind, Owner};
use libos_fs::mount::Location;

use super::file::OpenFile;
use crate::sched::wait::{WaitQueue, WaitResult};
use crate::sync::SpinLock;

/// What a lock is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Key {
    /// A file on a mount.
    File(Location),
    /// Anything else: the description itself.
    Description(Owner),
}

static TABLE: SpinLock<FlockTable<Key>> = SpinLock::new(FlockTable::new());
/// Waiters for any lock; woken whenever a lock is dropped.
static WAITERS: WaitQueue = WaitQueue::new();

fn owner(file: &OpenFile) -> Owner {
    file as *const OpenFile as Owner
}

fn key(file: &OpenFile) -> Key {
    file.object().location().map_or(Key::Description(owner(file)), Key::File)
}

/// `flock(fd, LOCK_SH/LOCK_EX)` on `file`: waits for a conflicting lock
/// to go unless `nonblocking` (`EWOULDBLOCK`).
pub fn lock(file: &OpenFile, kind: Kind, nonblocking: bool) -> Result<(), Errno> {
    let (key, owner) = (key(file), owner(file));
    file.note_flocked();
    let attempt = || -> Result<Result<(), Conflict>, Errno> {
        let outcome = TABLE.lock().lock(key, owner, kind);
        // A dropped lock (a conversion), or an error after one, lets
        // others on.
        if outcome.is_err() || outcome.is_ok_and(|o| o.released) {
            WAITERS.wake_all();
        }
        outcome.map(|o| o.result)
    };
    match attempt()? {
        Ok(()) => return Ok(()),
        Err(Conflict) if nonblocking => return Err(Errno::EAGAIN),
        Err(Conflict) => {}
    }
    let mut result = Ok(());
    let waited = WAITERS.wait_event(None, || match attempt() {
        Ok(Ok(())) => true,
        Ok(Err(Conflict)) => false,
        Err(e) => {
            result = Err(e);
            true
        }
    })?;
    match waited {
        WaitResult::Ready => result,
        WaitResult::Interrupted | WaitResult::TimedOut => Err(Errno::ERESTARTSYS),
    }
}

/// `flock(fd, LOCK_UN)`.
pub fn unlock(file: &OpenFile) {
    if TABLE.lock().unlock(key(file), owner(file)) {
        WAITERS.wake_all();
    }
}

/// The description is closing: its locks go.
pub fn release_owner(file: &OpenFile) {
    if TABLE.lock().release_owner(owner(file)) {
        WAITERS.wake_all();
    }
}
