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

/// `RLIMIT_NOFILE`: descriptors per process (Linux's default soft limit;
/// there is no `setrlimit` yet to change it).
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
}

impl Default for FdTable {
    fn default() -> Self {
        Self::new()
    }
}

impl FdTable {
    /// An empty table.
    pub const fn new() -> FdTable {
        FdTable { slots: SpinLock::new(Vec::new()) }
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
    /// when none is below the limit.
    pub fn install(&self, file: Arc<OpenFile>, cloexec: bool, min: usize) -> Result<i32, Errno> {
        let mut slots = self.slots.lock();
        let free = (min..NOFILE_LIMIT).find(|&i| slots.get(i).is_none_or(|s| s.is_none())).ok_or(Errno::EMFILE)?;
        if slots.len() <= free {
            slots.resize(free + 1, None);
        }
        slots[free] = Some(Fd { file, cloexec });
        Ok(free as i32)
    }

    /// Puts `file` at `fd` (`dup2`), returning what was there for the
    /// caller to drop; `EBADF` for a number outside the limit.
    pub fn install_at(&self, fd: i32, file: Arc<OpenFile>, cloexec: bool) -> Result<Option<Fd>, Errno> {
        let i = usize::try_from(fd).ok().filter(|&i| i < NOFILE_LIMIT).ok_or(Errno::EBADF)?;
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
    /// under the same numbers and flags. `ENOMEM` if it cannot be made.
    pub fn duplicate(&self) -> Result<FdTable, Errno> {
        let slots = self.slots.lock();
        let mut copy = Vec::new();
        copy.try_reserve(slots.len()).map_err(|_| Errno::ENOMEM)?;
        copy.extend(slots.iter().cloned());
        Ok(FdTable { slots: SpinLock::new(copy) })
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

    /// How many numbers are open.
    pub fn open_count(&self) -> usize {
        self.slots.lock().iter().filter(|s| s.is_some()).count()
    }
}
