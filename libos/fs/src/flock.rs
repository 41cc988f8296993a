//! `flock(2)` locks: whole-file advisory locks owned by open file
//! descriptions (Linux's `fs/locks.c`, `flock_lock_inode`).
//!
//! A file has at most one exclusive lock or any number of shared ones.
//! Locks belong to open file descriptions, not to processes: two separate
//! opens of one file conflict even in one process, while descriptors of
//! one description (`dup`, inheritance) share its lock. Asking for the
//! kind already held is a no-op; asking for the other kind first drops the
//! held lock (the conversion is not atomic, as on Linux), then takes the
//! new one if nothing conflicts. The caller waits and retries on
//! [`Conflict`]; everything of an owner goes when its description closes
//! ([`FlockTable::release_owner`]).
//!
//! The table holds entries only for files that have locks, in a vector
//! grown fallibly (`ENOMEM`, never a panic): its size is bounded by the
//! descriptions that hold locks.

use alloc::vec::Vec;

use libos_abi::errno::Errno;

/// Who holds a lock: an open file description (the kernel uses its address).
pub type Owner = usize;

/// A lock's kind (`LOCK_SH`, `LOCK_EX`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Any number of shared holders.
    Shared,
    /// One holder, nobody else.
    Exclusive,
}

/// The request conflicts with another owner's lock (`EWOULDBLOCK` with
/// `LOCK_NB`, else wait).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conflict;

/// The locks of one file.
#[derive(Debug, Default)]
struct FileLocks {
    exclusive: Option<Owner>,
    shared: Vec<Owner>,
}

impl FileLocks {
    fn held_by(&self, owner: Owner) -> Option<Kind> {
        if self.exclusive == Some(owner) {
            Some(Kind::Exclusive)
        } else if self.shared.contains(&owner) {
            Some(Kind::Shared)
        } else {
            None
        }
    }

    fn remove(&mut self, owner: Owner) -> bool {
        if self.exclusive == Some(owner) {
            self.exclusive = None;
            return true;
        }
        let before = self.shared.len();
        self.shared.retain(|&o| o != owner);
        self.shared.len() != before
    }

    fn is_empty(&self) -> bool {
        self.exclusive.is_none() && self.shared.is_empty()
    }
}

/// What a lock request did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// Whether the owner's earlier lock of the other kind was dropped (its
    /// waiters may go on, whatever the request's own outcome).
    pub released: bool,
    /// `Ok` when the lock is held now.
    pub result: Result<(), Conflict>,
}

/// The locks of every file, by a key naming the file.
#[derive(Debug)]
pub struct FlockTable<K> {
    files: Vec<(K, FileLocks)>,
}

impl<K> Default for FlockTable<K> {
    fn default() -> Self {
        FlockTable::new()
    }
}

impl<K> FlockTable<K> {
    /// No locks.
    pub const fn new() -> FlockTable<K> {
        FlockTable { files: Vec::new() }
    }

    /// Files with locks.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// Whether no file has a lock.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

impl<K: PartialEq + Copy> FlockTable<K> {
    fn index(&self, key: K) -> Option<usize> {
        self.files.iter().position(|(k, _)| *k == key)
    }

    /// `owner` asks for a `kind` lock on file `key`. `ENOMEM` when the
    /// table cannot grow (nothing changed then, but a dropped earlier lock
    /// stays dropped, as `Outcome::released` would have said: the caller
    /// wakes waiters on any error too).
    pub fn lock(&mut self, key: K, owner: Owner, kind: Kind) -> Result<Outcome, Errno> {
        let i = match self.index(key) {
            Some(i) => i,
            None => {
                self.files.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
                self.files.push((key, FileLocks::default()));
                self.files.len() - 1
            }
        };
        let locks = &mut self.files[i].1;
        let held = locks.held_by(owner);
        if held == Some(kind) {
            return Ok(Outcome { released: false, result: Ok(()) });
        }
        let released = held.is_some() && locks.remove(owner);
        let conflict = match kind {
            Kind::Exclusive => locks.exclusive.is_some() || !locks.shared.is_empty(),
            Kind::Shared => locks.exclusive.is_some(),
        };
        let result = if conflict {
            Err(Conflict)
        } else {
            match kind {
                Kind::Exclusive => locks.exclusive = Some(owner),
                Kind::Shared => {
                    if locks.shared.try_reserve(1).is_err() {
                        self.drop_if_empty(i);
                        return Err(Errno::ENOMEM);
                    }
                    locks.shared.push(owner);
                }
            }
            Ok(())
        };
        self.drop_if_empty(i);
        Ok(Outcome { released, result })
    }

    /// `LOCK_UN`: drops `owner`'s lock on `key`, if any; whether it had one.
    pub fn unlock(&mut self, key: K, owner: Owner) -> bool {
        let Some(i) = self.index(key) else { return false };
        let released = self.files[i].1.remove(owner);
        self.drop_if_empty(i);
        released
    }

    /// Drops every lock of `owner` (its description closed); whether it
    /// had any.
    pub fn release_owner(&mut self, owner: Owner) -> bool {
        let mut released = false;
        for (_, locks) in self.files.iter_mut() {
            released |= locks.remove(owner);
        }
        self.files.retain(|(_, l)| !l.is_empty());
        released
    }

    /// The kind of lock `owner` holds on `key`.
    pub fn held(&self, key: K, owner: Owner) -> Option<Kind> {
        self.index(key).and_then(|i| self.files[i].1.held_by(owner))
    }

    fn drop_if_empty(&mut self, i: usize) {
        if self.files[i].1.is_empty() {
            self.files.swap_remove(i);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK: Result<(), Conflict> = Ok(());

    #[test]
    fn exclusive_excludes_everyone_else() {
        let mut t = FlockTable::new();
        assert_eq!(t.lock(1, 10, Kind::Exclusive).unwrap().result, OK);
        assert_eq!(t.lock(1, 11, Kind::Exclusive).unwrap().result, Err(Conflict));
        assert_eq!(t.lock(1, 11, Kind::Shared).unwrap().result, Err(Conflict));
        // Another file is another lock.
        assert_eq!(t.lock(2, 11, Kind::Exclusive).unwrap().result, OK);
        // The holder asking again: nothing changes.
        assert_eq!(t.lock(1, 10, Kind::Exclusive).unwrap(), Outcome { released: false, result: OK });
        assert!(t.unlock(1, 10));
        assert!(!t.unlock(1, 10));
        assert_eq!(t.lock(1, 11, Kind::Exclusive).unwrap().result, OK);
    }

    #[test]
    fn shared_locks_coexist() {
        let mut t = FlockTable::new();
        assert_eq!(t.lock(1, 10, Kind::Shared).unwrap().result, OK);
        assert_eq!(t.lock(1, 11, Kind::Shared).unwrap().result, OK);
        assert_eq!(t.lock(1, 12, Kind::Exclusive).unwrap().result, Err(Conflict));
        assert_eq!(t.held(1, 11), Some(Kind::Shared));
    }

    #[test]
    fn conversion_drops_the_old_lock_first() {
        let mut t = FlockTable::new();
        t.lock(1, 10, Kind::Shared).unwrap();
        t.lock(1, 11, Kind::Shared).unwrap();
        // 10 wants to upgrade: its shared lock goes, 11's blocks the rest.
        assert_eq!(t.lock(1, 10, Kind::Exclusive).unwrap(), Outcome { released: true, result: Err(Conflict) });
        assert_eq!(t.held(1, 10), None);
        // So 11 can upgrade now.
        assert_eq!(t.lock(1, 11, Kind::Exclusive).unwrap(), Outcome { released: true, result: OK });
        // A downgrade always succeeds.
        assert_eq!(t.lock(1, 11, Kind::Shared).unwrap(), Outcome { released: true, result: OK });
        assert_eq!(t.held(1, 11), Some(Kind::Shared));
    }

    #[test]
    fn closing_a_description_releases_everything_and_leaves_no_entries() {
        let mut t = FlockTable::new();
        t.lock(1, 10, Kind::Exclusive).unwrap();
        t.lock(2, 10, Kind::Shared).unwrap();
        t.lock(2, 11, Kind::Shared).unwrap();
        assert_eq!(t.len(), 2);
        assert!(t.release_owner(10));
        assert!(!t.release_owner(10));
        assert_eq!(t.len(), 1);
        assert_eq!(t.lock(1, 12, Kind::Exclusive).unwrap().result, OK);
        t.release_owner(11);
        t.release_owner(12);
        assert!(t.is_empty());
        // A refused request leaves no empty entry behind.
        t.lock(3, 1, Kind::Exclusive).unwrap();
        t.lock(3, 2, Kind::Exclusive).unwrap();
        t.unlock(3, 1);
        assert!(t.is_empty());
    }
}
