//! POSIX record locks for apps: `fcntl` `F_GETLK`, `F_SETLK`, `F_SETLKW`
//! and the open file description forms `F_OFD_GETLK`, `F_OFD_SETLK`,
//! `F_OFD_SETLKW` (Linux's `fs/locks.c`: `fcntl_getlk`, `fcntl_setlk`;
//! man 2 fcntl, "Advisory record locking" and "Open file description
//! locks"). The range logic (merge, split, conflict, deadlock) is the
//! host-tested `libos_kcore::record_locks`; this file keeps the locks of
//! every file in one table and does the waiting, the releasing and the
//! accounting.
//!
//! - A file is its inode on its mount (two opens of one file share its
//!   locks); an object without one (a pipe, a socket) is itself.
//! - Classic locks belong to the **process** (by id): its threads share
//!   them, and closing *any* descriptor of the file releases all of them
//!   on that file ([`release_on_close`], POSIX's rule); the process's end
//!   releases everything it holds ([`release_process`]).
//! - `F_OFD_` locks belong to the **open file description**: two opens in
//!   one process conflict; they go at the description's last close
//!   ([`release_description`]).
//! - `F_SETLKW` sleeps on one queue woken whenever locks go away; a signal
//!   ends the wait with `-ERESTARTSYS` (`EINTR`, or a restart under
//!   `SA_RESTART`), the app's end ends it too. A classic lock's waiter that
//!   would wait for itself through other waiting processes gets `EDEADLK`
//!   (as Linux, not for `F_OFD_` locks).
//! - Every lock is charged to the app that made it
//!   (`Resource::RecordLocks`, `ENOLCK` at the limit).

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicUsize, Ordering};

use libos_abi::errno::Errno;
use libos_abi::fs_types::{
    F_GETLK, F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW, F_RDLCK, F_SETLKW, F_UNLCK, F_WRLCK, Flock, SEEK_CUR, SEEK_END,
    SEEK_SET,
};
use libos_fs::mount::Location;
use libos_kcore::limits::Resource;
use libos_kcore::record_locks::{ByteRange, FileLocks, Lock, LockKind, SetError, deadlocks};

use super::file::{FileObject, OpenFile};
use crate::mm::user_access::{Pod, read_user, write_user};
use crate::process::Process;
use crate::sched::wait::{WaitQueue, WaitResult};
use crate::sync::SpinLock;

// SAFETY: `struct flock` is integers with explicit padding fields (its
// layout is checked in libos-abi).
unsafe impl Pod for Flock {}

/// Who holds a lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Owner {
    /// A process (classic locks), by id.
    Process(u32),
    /// An open file description (`F_OFD_` locks), by address: unique while
    /// it is open, and its locks go at its last close.
    Description(usize),
}

/// Which file a lock is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FileKey {
    /// A file on a mount.
    Inode(Location),
    /// An object without one, by address (it lives while a descriptor
    /// holds it, and every lock on it goes with the last one).
    Object(usize),
}

/// A lock's memory is charged to this app.
type Payer = Arc<Process>;

/// Locks a change removed whose charges go back, and whether it removed or
/// shrank any lock (waiters may now get theirs).
type Released = (Vec<Lock<Owner, Payer>>, bool);

/// Every file's locks, and the classic-lock waiters.
struct Table {
    files: Vec<(FileKey, FileLocks<Owner, Payer>)>,
    /// `(tid, waiter, blocker)`: a thread of process `waiter` waits in
    /// `F_SETLKW` for `blocker`'s lock (what deadlock detection follows).
    waiting: Vec<(u32, Owner, Owner)>,
}

static TABLE: SpinLock<Table> = SpinLock::new(Table { files: Vec::new(), waiting: Vec::new() });
/// How many files have locks: closes skip the table when none has.
static LOCKED_FILES: AtomicUsize = AtomicUsize::new(0);
/// Woken whenever locks go away (`F_SETLKW` waiters re-try).
static RELEASED: WaitQueue = WaitQueue::new();

/// The file `f` is.
fn key_of(f: &OpenFile) -> FileKey {
    match f.object().location() {
        Some(at) => FileKey::Inode(at),
        None => FileKey::Object(f.object() as *const dyn FileObject as *const () as usize),
    }
}

/// `fcntl` with a record-lock command (`F_GETLK`, `F_SETLK`, `F_SETLKW`,
/// `F_OFD_GETLK`, `F_OFD_SETLK`, `F_OFD_SETLKW`) on `f` for process `p`;
/// `arg` points at a `struct flock`.
pub fn fcntl(p: &Arc<Process>, f: &Arc<OpenFile>, cmd: i32, arg: u64) -> Result<i32, Errno> {
    // Linux's `check_fcntl_cmd`: an O_PATH descriptor takes none of these.
    if f.is_path_only() {
        return Err(Errno::EBADF);
    }
    let mut fl: Flock = read_user(arg)?;
    let ofd = matches!(cmd, F_OFD_GETLK | F_OFD_SETLK | F_OFD_SETLKW);
    let owner = if ofd { Owner::Description(Arc::as_ptr(f) as usize) } else { Owner::Process(p.pid) };
    if matches!(cmd, F_GETLK | F_OFD_GETLK) {
        // `fcntl_getlk`: the type first, then the range, then `l_pid`.
        let kind = lock_kind(fl.l_type).ok_or(Errno::EINVAL)?;
        let range = range_of(f, &fl)?;
        if ofd && fl.l_pid != 0 {
            return Err(Errno::EINVAL);
        }
        let found = {
            let t = TABLE.lock();
            t.files
                .iter()
                .find(|(k, _)| *k == key_of(f))
                .and_then(|(_, locks)| locks.conflict(owner, kind, range))
                .map(|l| (l.owner, l.kind, l.range))
        };
        match found {
            None => fl.l_type = F_UNLCK,
            Some((holder, kind, range)) => {
                let (start, len) = range.to_flock();
                fl.l_type = if kind == LockKind::Read { F_RDLCK } else { F_WRLCK };
                fl.l_whence = SEEK_SET as i16;
                fl.l_start = start;
                fl.l_len = len;
                fl.l_pid = match holder {
                    Owner::Process(pid) => pid as i32,
                    Owner::Description(_) => -1,
                };
            }
        }
        write_user(arg, &fl)?;
        return Ok(0);
    }
    // `fcntl_setlk`: the range, then the type, then the access mode
    // (`check_fmode_for_setlk`), then `l_pid`.
    let range = range_of(f, &fl)?;
    let kind = match fl.l_type {
        F_UNLCK => None,
        t => Some(lock_kind(t).ok_or(Errno::EINVAL)?),
    };
    match kind {
        Some(LockKind::Read) if !f.readable() => return Err(Errno::EBADF),
        Some(LockKind::Write) if !f.writable() => return Err(Errno::EBADF),
        _ => {}
    }
    if ofd && fl.l_pid != 0 {
        return Err(Errno::EINVAL);
    }
    set(p, key_of(f), owner, kind, range, matches!(cmd, F_SETLKW | F_OFD_SETLKW)).map(|()| 0)
}

/// `l_type` as a lock kind (`None` for anything but `F_RDLCK`/`F_WRLCK`).
fn lock_kind(l_type: i16) -> Option<LockKind> {
    match l_type {
        F_RDLCK => Some(LockKind::Read),
        F_WRLCK => Some(LockKind::Write),
        _ => None,
    }
}

/// The bytes `fl` names on `f` (`l_whence` counts from the start, the
/// description's offset or the file's size).
fn range_of(f: &OpenFile, fl: &Flock) -> Result<ByteRange, Errno> {
    let base = match i32::from(fl.l_whence) {
        SEEK_SET => 0,
        SEEK_CUR => f.position(),
        // A pipe's or socket's size is 0, as Linux's `i_size` of its inode.
        SEEK_END => f.object().size().unwrap_or(0),
        _ => return Err(Errno::EINVAL),
    };
    ByteRange::from_flock(base, fl.l_start, fl.l_len)
}

/// Gives `owner` a `kind` lock (`None`: releases) on `range` of `key`,
/// waiting while another owner's lock conflicts if `wait`.
fn set(
    p: &Arc<Process>,
    key: FileKey,
    owner: Owner,
    kind: Option<LockKind>,
    range: ByteRange,
    wait: bool,
) -> Result<(), Errno> {
    let tid = crate::sched::current().tid;
    // One try: `None` when the caller must wait. The locks it removes go
    // to `gone`, given back by the caller once outside the wait (dropping
    // a payer may drop its process, which must not happen with interrupts
    // off, as `ready` runs).
    let attempt = |gone: &mut Released| -> Option<Result<(), Errno>> {
        let mut t = TABLE.lock();
        match t.set(key, owner, kind, range, p) {
            Ok((removed, changed)) => {
                gone.0.extend(removed);
                gone.1 |= changed;
                Some(Ok(()))
            }
            Err(SetError::NoLocks) => Some(Err(Errno::ENOLCK)),
            Err(SetError::Conflict { .. }) if !wait => Some(Err(Errno::EAGAIN)),
            Err(SetError::Conflict { owner: blocker, .. }) => {
                let waits_for = |o: Owner| t.waiting.iter().find(|w| w.1 == o).map(|w| w.2);
                if matches!(owner, Owner::Process(_)) && deadlocks(owner, blocker, waits_for) {
                    Some(Err(Errno::EDEADLK))
                } else {
                    t.note_waiting(tid, owner, blocker);
                    None
                }
            }
        }
    };
    let mut gone: Released = (Vec::new(), false);
    let result = if wait {
        let mut outcome = None;
        let waited = RELEASED.wait_event(None, || {
            outcome = attempt(&mut gone);
            outcome.is_some()
        });
        TABLE.lock().waiting.retain(|w| w.0 != tid);
        match waited {
            Ok(WaitResult::Ready) => outcome.unwrap_or(Err(Errno::EAGAIN)),
            Ok(WaitResult::Interrupted | WaitResult::TimedOut) => Err(Errno::ERESTARTSYS),
            Err(e) => Err(e),
        }
    } else {
        attempt(&mut gone).unwrap_or(Err(Errno::EAGAIN))
    };
    if gone.1 {
        give_back(gone.0);
    }
    result
}

/// Gives back the charges of locks that went away and wakes the waiters.
fn give_back(removed: Vec<Lock<Owner, Payer>>) {
    for l in &removed {
        l.payer.usage.release(Resource::RecordLocks);
    }
    RELEASED.wake_all();
    drop(removed);
}

impl Table {
    /// [`FileLocks::set`] on `key`'s locks, charging `payer`. Returns the
    /// removed locks whose charges go back, and whether any lock was
    /// removed or shrunk (waiters may now get theirs).
    fn set(
        &mut self,
        key: FileKey,
        owner: Owner,
        kind: Option<LockKind>,
        range: ByteRange,
        payer: &Arc<Process>,
    ) -> Result<Released, SetError<Owner>> {
        let i = match self.files.iter().position(|(k, _)| *k == key) {
            Some(i) => i,
            // Releasing on a file without locks: nothing to do.
            None if kind.is_none() => return Ok((Vec::new(), false)),
            None => {
                self.files.try_reserve(1).map_err(|_| SetError::NoLocks)?;
                self.files.push((key, FileLocks::new()));
                LOCKED_FILES.fetch_add(1, Ordering::Relaxed);
                self.files.len() - 1
            }
        };
        // The new locks are paid first by the caller's locks the change
        // removes (their charges move over), then by new charges.
        let charge = |added: usize, going: &[&Lock<Owner, Payer>]| {
            let moved = going.iter().filter(|l| Arc::ptr_eq(&l.payer, payer)).count().min(added);
            for done in 0..added - moved {
                if payer.usage.try_charge(Resource::RecordLocks).is_err() {
                    (0..done).for_each(|_| payer.usage.release(Resource::RecordLocks));
                    return false;
                }
            }
            true
        };
        let result = self.files[i].1.set(owner, kind, range, payer.clone(), charge);
        self.forget_if_empty(i);
        let change = result?;
        // The removed locks whose charges moved to new ones are not given back.
        let mut moved = change.removed.iter().filter(|l| Arc::ptr_eq(&l.payer, payer)).count().min(change.added);
        let changed = !change.removed.is_empty();
        let mut removed = change.removed;
        removed.retain(|l| {
            if moved > 0 && Arc::ptr_eq(&l.payer, payer) {
                moved -= 1;
                false
            } else {
                true
            }
        });
        Ok((removed, changed))
    }

    /// Drops file `i`'s entry once it has no locks.
    fn forget_if_empty(&mut self, i: usize) {
        if self.files[i].1.is_empty() {
            self.files.swap_remove(i);
            LOCKED_FILES.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Records that thread `tid` of `waiter` waits for `blocker`.
    fn note_waiting(&mut self, tid: u32, waiter: Owner, blocker: Owner) {
        if let Some(w) = self.waiting.iter_mut().find(|w| w.0 == tid) {
            *w = (tid, waiter, blocker);
        } else if matches!(waiter, Owner::Process(_)) && self.waiting.try_reserve(1).is_ok() {
            // (Without room the waiter is not followed: no EDEADLK for it.)
            self.waiting.push((tid, waiter, blocker));
        }
    }

    /// Releases `owner`'s locks on the files `which` selects.
    fn release(&mut self, owner: Owner, which: impl Fn(FileKey) -> bool) -> Vec<Lock<Owner, Payer>> {
        let mut removed = Vec::new();
        let mut i = 0;
        while i < self.files.len() {
            if which(self.files[i].0) {
                removed.extend(self.files[i].1.release_owner(owner));
                if self.files[i].1.is_empty() {
                    self.forget_if_empty(i);
                    continue;
                }
            }
            i += 1;
        }
        removed
    }
}

/// Releases `owner`'s locks on the files `which` selects, outside the
/// table's lock for the charges and the wake-up.
fn release(owner: Owner, which: impl Fn(FileKey) -> bool) {
    if LOCKED_FILES.load(Ordering::Relaxed) == 0 {
        return;
    }
    let removed = TABLE.lock().release(owner, which);
    if !removed.is_empty() {
        give_back(removed);
    }
}

/// Process `p` closed a descriptor of `f`: its classic locks on that file
/// go (all of them, whatever descriptor took them: POSIX's rule).
pub fn release_on_close(p: &Process, f: &OpenFile) {
    let key = key_of(f);
    release(Owner::Process(p.pid), |k| k == key);
}

/// The last close of description `f`: its `F_OFD_` locks go.
pub fn release_description(f: &OpenFile) {
    let key = key_of(f);
    release(Owner::Description(f as *const OpenFile as usize), |k| k == key);
}

/// Process `pid` ended: every classic lock it holds goes.
pub fn release_process(pid: u32) {
    release(Owner::Process(pid), |_| true);
}
