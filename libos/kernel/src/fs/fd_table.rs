//! A process's file-descriptor table (Linux's `struct files_struct`,
//! `fs/file.c`): numbers to open file descriptions, with the close-on-exec
//! flag per number. One per process, shared by its threads. The lowest
//! free number is always the one handed out.
//!
//! The table's lock is a spinlock held for a few instructions; a
//! description is never dropped under it (its last close may wait for the
//! disk): removing functions hand the description back to the caller.

use alloc::sync::Arc;
use alloc::vec::Vec;

use libos_abi::errno::Errno;

use super::file::OpenFile;
use crate::sync::SpinLock;

/// The most descriptors a process may have: `RLIMIT_NOFILE`'s hard limit
/// at start and its ceiling (Linux's default soft limit, 1024).
pub const NOFILE_LIMIT: usize = 1024;

/// One slot.
#[derive(Clone)]
pub struct Fd {
    /// The open file description.
    pub file: Arc<OpenFile>,
    /// `FD_CLOEXEC`.
    pub cloexec: bool,
}

/// The table.
pub struct FdTable {
    slots: SpinLock<Vec<Option<Fd>>>,
    /// `RLIMIT_NOFILE` (soft, hard): numbers at or above the soft limit
    /// are never handed out (Linux's `alloc_fd`, `do_dup2`, `F_DUPFD`).
    nofile: SpinLock<(usize, usize)>,
}

impl Default for FdTable {
    fn default() -> Self {
        Self::new()
    }
}

impl FdTable {
    /// An empty table.
    pub const fn new() -> FdTable {
        FdTable { slots: SpinLock::new(Vec::new()), nofile: SpinLock::new((NOFILE_LIMIT, NOFILE_LIMIT)) }
    }

    /// `RLIMIT_NOFILE`: the soft and the hard limit.
    pub fn nofile(&self) -> (usize, usize) {
        *self.nofile.lock()
    }

    /// Sets `RLIMIT_NOFILE` (checked by the caller: soft at most hard, hard
    /// at most [`NOFILE_LIMIT`]). Descriptors already open above the new
    /// soft limit stay open, as on Linux.
    pub fn set_nofile(&self, soft: usize, hard: usize) {
        debug_assert!(soft <= hard && hard <= NOFILE_LIMIT);
        *self.nofile.lock() = (soft, hard);
    }

    /// The soft limit: the first number never handed out.
    pub fn soft_limit(&self) -> usize {
        self.nofile.lock().0
    }

    /// Whether a number below the soft limit is free (what `open` checks
    /// before its lookup, as Linux reserves the descriptor first).
    pub fn has_free(&self) -> bool {
        let limit = self.soft_limit();
        let slots = self.slots.lock();
        (0..limit).any(|i| slots.get(i).is_none_or(|s| s.is_none()))
    }

    /// The description of `fd` (`EBADF`).
    pub fn get(&self, fd: i32) -> Result<Arc<OpenFile>, Errno> {
        let slots = self.slots.lock();
        usize::try_from(fd)
            .ok()
            .and_then(|i| slots.get(i))
            .and_then(|s| s.as_ref())
            .map(|s| s.file.clone())
            .ok_or(Errno::EBADF)
    }

    /// Installs `file` at the lowest free number at least `min`; `EMFILE`
    /// when none is below the soft limit.
    pub fn install(&self, file: Arc<OpenFile>, cloexec: bool, min: usize) -> Result<i32, Errno> {
        let limit = self.soft_limit();
        let mut slots = self.slots.lock();
        let free = (min..limit).find(|&i| slots.get(i).is_none_or(|s| s.is_none())).ok_or(Errno::EMFILE)?;
        if slots.len() <= free {
            slots.resize(free + 1, None);
        }
        slots[free] = Some(Fd { file, cloexec });
        Ok(free as i32)
    }

    /// Puts `file` at `fd` (`dup2`), returning what was there for the
    /// caller to drop; `EBADF` for a number at or above the soft limit.
    pub fn install_at(&self, fd: i32, file: Arc<OpenFile>, cloexec: bool) -> Result<Option<Fd>, Errno> {
        let limit = self.soft_limit();
        let i = usize::try_from(fd).ok().filter(|&i| i < limit).ok_or(Errno::EBADF)?;
        let mut slots = self.slots.lock();
        if slots.len() <= i {
            slots.resize(i + 1, None);
        }
        Ok(slots[i].replace(Fd { file, cloexec }))
    }

    /// Removes `fd`, handing its slot back (`EBADF`).
    pub fn remove(&self, fd: i32) -> Result<Fd, Errno> {
        let mut slots = self.slots.lock();
        usize::try_from(fd).ok().and_then(|i| slots.get_mut(i)).and_then(Option::take).ok_or(Errno::EBADF)
    }

    /// `FD_CLOEXEC` of `fd`.
    pub fn cloexec(&self, fd: i32) -> Result<bool, Errno> {
        let slots = self.slots.lock();
        usize::try_from(fd)
            .ok()
            .and_then(|i| slots.get(i))
            .and_then(|s| s.as_ref())
            .map(|s| s.cloexec)
            .ok_or(Errno::EBADF)
    }

    /// Sets `FD_CLOEXEC` of `fd`.
    pub fn set_cloexec(&self, fd: i32, on: bool) -> Result<(), Errno> {
        let mut slots = self.slots.lock();
        let slot =
            usize::try_from(fd).ok().and_then(|i| slots.get_mut(i)).and_then(|s| s.as_mut()).ok_or(Errno::EBADF)?;
        slot.cloexec = on;
        Ok(())
    }

    /// A copy of the table (`fork`): the same open file descriptions
    /// under the same numbers and flags, and the same `RLIMIT_NOFILE`
    /// (limits are inherited). `ENOMEM` if it cannot be made.
    pub fn duplicate(&self) -> Result<FdTable, Errno> {
        let slots = self.slots.lock();
        let mut copy = Vec::new();
        copy.try_reserve(slots.len()).map_err(|_| Errno::ENOMEM)?;
        copy.extend(slots.iter().cloned());
        Ok(FdTable { slots: SpinLock::new(copy), nofile: SpinLock::new(self.nofile()) })
    }

    /// Takes every descriptor with `FD_CLOEXEC` out (`execve`), handing
    /// them back to be dropped.
    pub fn take_cloexec(&self) -> Vec<Fd> {
        let mut slots = self.slots.lock();
        let mut out = Vec::new();
        for slot in slots.iter_mut() {
            if slot.as_ref().is_some_and(|s| s.cloexec) && out.try_reserve(1).is_ok() {
                out.extend(slot.take());
            }
        }
        out
    }

    /// Empties the table (the process ended), handing everything back.
    pub fn take_all(&self) -> Vec<Fd> {
        let mut slots = self.slots.lock();
        core::mem::take(&mut *slots).into_iter().flatten().collect()
    }
}
