//! POSIX record locks on one file (`fcntl` `F_SETLK`, `F_GETLK` and their
//! open-file-description forms): byte ranges, each with an owner and a
//! kind, as Linux's `fs/locks.c` keeps them (`posix_lock_inode`).
//!
//! - An **owner** is whatever the caller says (a process for the classic
//!   locks, an open file description for the `F_OFD_` ones). Locks of one
//!   owner never conflict with each other: a new lock replaces, merges with
//!   or splits the owner's locks under its range (a write lock in the
//!   middle of a read lock leaves read locks on either side). Adjacent or
//!   overlapping locks of one owner and one kind merge into one.
//! - Locks of different owners conflict when their ranges overlap and
//!   either is a write lock (read locks share).
//! - Ranges are inclusive byte offsets up to [`OFFSET_MAX`] (`i64::MAX`,
//!   Linux's `OFFSET_MAX`); a `struct flock` with `l_len` 0 reaches it ("to
//!   the end of the file, however far it grows"). [`ByteRange::from_flock`]
//!   is Linux's `flock64_to_posix_lock` with its errors.
//! - Each lock carries a **payer** (the app its kernel memory is charged
//!   to): [`FileLocks::set`] tells the caller how many locks it adds and
//!   which it removes before it changes anything (the caller charges what
//!   the change adds beyond what it removes of its own), and hands back the
//!   removed locks.
//!
//! [`deadlocks`] is Linux's `posix_locks_deadlock`: a waiter would wait for
//! itself through a chain of owners each waiting for the next.

use alloc::vec::Vec;

use libos_abi::errno::Errno;

/// The largest byte offset a lock covers (Linux's `OFFSET_MAX`).
pub const OFFSET_MAX: u64 = i64::MAX as u64;

/// How many owners [`deadlocks`] follows before it gives up (Linux's
/// `MAX_DEADLK_ITERATIONS`).
pub const MAX_DEADLOCK_STEPS: usize = 10;

/// A lock's kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LockKind {
    /// Shared (`F_RDLCK`): other owners may read-lock the bytes too.
    Read,
    /// Exclusive (`F_WRLCK`): no other owner may lock the bytes.
    Write,
}

impl LockKind {
    /// Whether a lock of this kind and one of `other`'s, held by different
    /// owners over common bytes, conflict.
    pub fn conflicts_with(self, other: LockKind) -> bool {
        self == LockKind::Write || other == LockKind::Write
    }
}

/// Bytes `start..=end` of a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ByteRange {
    /// The first byte.
    pub start: u64,
    /// The last byte (inclusive; [`OFFSET_MAX`] for "to the end").
    pub end: u64,
}

impl ByteRange {
    /// `start..=end`.
    pub const fn new(start: u64, end: u64) -> ByteRange {
        ByteRange { start, end }
    }

    /// The range a `struct flock` names, as Linux's `flock64_to_posix_lock`:
    /// `base` is where `l_whence` counts from (0, the description's offset
    /// or the file's size, all at most [`OFFSET_MAX`]). `EOVERFLOW` when
    /// the range would pass [`OFFSET_MAX`], `EINVAL` when it would start
    /// before byte 0.
    pub fn from_flock(base: u64, l_start: i64, l_len: i64) -> Result<ByteRange, Errno> {
        let base = base.min(OFFSET_MAX) as i64;
        if l_start > i64::MAX - base {
            return Err(Errno::EOVERFLOW);
        }
        let start = base + l_start;
        if start < 0 {
            return Err(Errno::EINVAL);
        }
        if l_len > 0 {
            if l_len - 1 > i64::MAX - start {
                return Err(Errno::EOVERFLOW);
            }
            Ok(ByteRange::new(start as u64, (start + (l_len - 1)) as u64))
        } else if l_len < 0 {
            // POSIX-2001: the `-l_len` bytes before `l_start`.
            let first = start.checked_add(l_len).filter(|&f| f >= 0).ok_or(Errno::EINVAL)?;
            Ok(ByteRange::new(first as u64, (start - 1) as u64))
        } else {
            Ok(ByteRange::new(start as u64, OFFSET_MAX))
        }
    }

    /// `l_start` and `l_len` (from `SEEK_SET`) of the range, as Linux's
    /// `posix_lock_to_flock` reports it: `l_len` 0 for a range to the end.
    pub fn to_flock(self) -> (i64, i64) {
        let len = if self.end == OFFSET_MAX { 0 } else { (self.end - self.start + 1) as i64 };
        (self.start as i64, len)
    }

    /// Whether the two ranges share a byte.
    pub fn overlaps(self, other: ByteRange) -> bool {
        self.start <= other.end && other.start <= self.end
    }

    /// Whether the two ranges share a byte or touch end to start.
    fn touches(self, other: ByteRange) -> bool {
        self.start <= other.end.saturating_add(1) && other.start <= self.end.saturating_add(1)
    }

    /// Whether `self` holds every byte of `other`.
    fn contains(self, other: ByteRange) -> bool {
        self.start <= other.start && other.end <= self.end
    }
}

/// One lock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lock<O, P> {
    /// Who holds it.
    pub owner: O,
    /// Its kind.
    pub kind: LockKind,
    /// Its bytes.
    pub range: ByteRange,
    /// Who its memory is charged to.
    pub payer: P,
}

/// Why [`FileLocks::set`] changed nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetError<O> {
    /// Another owner's lock is in the way (the first one found).
    Conflict {
        /// Its owner.
        owner: O,
        /// Its kind.
        kind: LockKind,
        /// Its bytes.
        range: ByteRange,
    },
    /// The caller could not charge the locks the change adds (`ENOLCK`).
    NoLocks,
}

/// What [`FileLocks::set`] changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change<O, P> {
    /// The locks it removed (merged, split or released).
    pub removed: Vec<Lock<O, P>>,
    /// How many locks it added (each paid by the caller's payer).
    pub added: usize,
}

/// The record locks of one file.
#[derive(Clone, Debug)]
pub struct FileLocks<O, P> {
    locks: Vec<Lock<O, P>>,
}

impl<O, P> Default for FileLocks<O, P> {
    fn default() -> Self {
        FileLocks { locks: Vec::new() }
    }
}

impl<O: Copy + Eq, P: Clone> FileLocks<O, P> {
    /// No locks.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether no lock is held.
    pub fn is_empty(&self) -> bool {
        self.locks.is_empty()
    }

    /// The locks held, in the order they were made.
    pub fn locks(&self) -> &[Lock<O, P>] {
        &self.locks
    }

    /// The first lock of another owner that conflicts with `owner` taking
    /// a `kind` lock on `range` (`F_GETLK`).
    pub fn conflict(&self, owner: O, kind: LockKind, range: ByteRange) -> Option<&Lock<O, P>> {
        self.locks.iter().find(|l| l.owner != owner && l.range.overlaps(range) && l.kind.conflicts_with(kind))
    }

    /// Gives `owner` a `kind` lock on `range` (`None`: releases its locks
    /// there), paid by `payer`. Another owner's conflicting lock refuses
    /// it ([`SetError::Conflict`], nothing changed); releasing never
    /// conflicts. Before anything changes, `charge(added, removed)` is told
    /// how many locks the change adds (paid by `payer`) and which it
    /// removes, to charge them (false: [`SetError::NoLocks`], nothing
    /// changed). Returns the removed locks and the count added.
    pub fn set(
        &mut self,
        owner: O,
        kind: Option<LockKind>,
        range: ByteRange,
        payer: P,
        charge: impl FnOnce(usize, &[&Lock<O, P>]) -> bool,
    ) -> Result<Change<O, P>, SetError<O>> {
        if let Some(kind) = kind {
            if let Some(l) = self.conflict(owner, kind, range) {
                return Err(SetError::Conflict { owner: l.owner, kind: l.kind, range: l.range });
            }
            // Already held as asked: nothing to do (and nothing to charge).
            if self.locks.iter().any(|l| l.owner == owner && l.kind == kind && l.range.contains(range)) {
                return Ok(Change { removed: Vec::new(), added: 0 });
            }
        }
        // The owner's locks the change touches: those over the range, and
        // same-kind neighbours a new lock merges with.
        let touched = |l: &Lock<O, P>| {
            l.owner == owner && (l.range.overlaps(range) || (Some(l.kind) == kind && l.range.touches(range)))
        };
        let mut merged = range;
        let mut added: Vec<Lock<O, P>> = Vec::new();
        for l in self.locks.iter().filter(|l| touched(l)) {
            if Some(l.kind) == kind {
                merged = ByteRange::new(merged.start.min(l.range.start), merged.end.max(l.range.end));
                continue;
            }
            // Another kind (or a release): what lies outside the range stays.
            if l.range.start < range.start {
                added.push(Lock { range: ByteRange::new(l.range.start, range.start - 1), ..l.clone() });
            }
            if l.range.end > range.end {
                added.push(Lock { range: ByteRange::new(range.end + 1, l.range.end), ..l.clone() });
            }
        }
        if let Some(kind) = kind {
            added.push(Lock { owner, kind, range: merged, payer: payer.clone() });
        }
        let going: Vec<&Lock<O, P>> = self.locks.iter().filter(|l| touched(l)).collect();
        if (!added.is_empty() || !going.is_empty()) && !charge(added.len(), &going) {
            return Err(SetError::NoLocks);
        }
        let count = added.len();
        // The pieces left of split locks are new locks: paid by this caller.
        for l in &mut added {
            l.payer = payer.clone();
        }
        let mut removed = Vec::new();
        let mut kept = Vec::with_capacity(self.locks.len() + added.len());
        for l in self.locks.drain(..) {
            if touched(&l) { removed.push(l) } else { kept.push(l) }
        }
        kept.extend(added);
        self.locks = kept;
        Ok(Change { removed, added: count })
    }

    /// Releases every lock of `owner` (its process ended, it closed a
    /// descriptor of the file, or its description's last close); returns
    /// them.
    pub fn release_owner(&mut self, owner: O) -> Vec<Lock<O, P>> {
        let mut removed = Vec::new();
        self.locks.retain(|l| {
            if l.owner == owner {
                removed.push(l.clone());
                false
            } else {
                true
            }
        });
        removed
    }
}

/// Whether `me`, about to wait for `blocker`'s lock, would wait for itself:
/// `waiting_for(o)` names the owner `o` waits for, if it waits. Follows at
/// most [`MAX_DEADLOCK_STEPS`] owners and then says no, as Linux's
/// `posix_locks_deadlock`.
pub fn deadlocks<O: Copy + Eq>(me: O, blocker: O, waiting_for: impl Fn(O) -> Option<O>) -> bool {
    let mut o = blocker;
    for _ in 0..=MAX_DEADLOCK_STEPS {
        match waiting_for(o) {
            None => return false,
            Some(next) if next == me => return true,
            Some(next) => o = next,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec;

    const R: Option<LockKind> = Some(LockKind::Read);
    const W: Option<LockKind> = Some(LockKind::Write);
    const U: Option<LockKind> = None;

    fn r(start: u64, end: u64) -> ByteRange {
        ByteRange::new(start, end)
    }

    /// `(owner, kind, start, end)` of every lock, sorted.
    fn held(f: &FileLocks<u32, u32>) -> Vec<(u32, LockKind, u64, u64)> {
        let mut v: Vec<_> = f.locks().iter().map(|l| (l.owner, l.kind, l.range.start, l.range.end)).collect();
        v.sort_by_key(|&(o, _, s, _)| (o, s));
        v
    }

    fn set(
        f: &mut FileLocks<u32, u32>,
        owner: u32,
        kind: Option<LockKind>,
        range: ByteRange,
    ) -> Result<usize, SetError<u32>> {
        f.set(owner, kind, range, owner, |_, _| true).map(|c| c.removed.len())
    }

    #[test]
    fn flock_ranges_as_linux() {
        assert_eq!(ByteRange::from_flock(0, 10, 5), Ok(r(10, 14)));
        assert_eq!(ByteRange::from_flock(0, 10, 0), Ok(r(10, OFFSET_MAX)));
        assert_eq!(ByteRange::from_flock(100, -10, 0), Ok(r(90, OFFSET_MAX)));
        // Negative lengths: the bytes before the start.
        assert_eq!(ByteRange::from_flock(0, 10, -4), Ok(r(6, 9)));
        assert_eq!(ByteRange::from_flock(0, 10, -10), Ok(r(0, 9)));
        assert_eq!(ByteRange::from_flock(0, 10, -11), Err(Errno::EINVAL));
        assert_eq!(ByteRange::from_flock(0, -1, 1), Err(Errno::EINVAL));
        assert_eq!(ByteRange::from_flock(5, -6, 1), Err(Errno::EINVAL));
        assert_eq!(ByteRange::from_flock(0, 10, i64::MIN), Err(Errno::EINVAL));
        // Past OFFSET_MAX.
        assert_eq!(ByteRange::from_flock(1, i64::MAX, 1), Err(Errno::EOVERFLOW));
        assert_eq!(ByteRange::from_flock(0, i64::MAX, 1), Ok(r(OFFSET_MAX, OFFSET_MAX)));
        assert_eq!(ByteRange::from_flock(0, i64::MAX, 2), Err(Errno::EOVERFLOW));
        assert_eq!(ByteRange::from_flock(0, 1, i64::MAX), Ok(r(1, OFFSET_MAX)));
        assert_eq!(ByteRange::from_flock(0, 2, i64::MAX), Err(Errno::EOVERFLOW));
        assert_eq!(ByteRange::from_flock(0, 0, i64::MAX), Ok(r(0, OFFSET_MAX - 1)));
        // Reported back.
        assert_eq!(r(10, 14).to_flock(), (10, 5));
        assert_eq!(r(10, OFFSET_MAX).to_flock(), (10, 0));
    }

    #[test]
    fn same_owner_never_conflicts_and_converts() {
        let mut f = FileLocks::new();
        set(&mut f, 1, W, r(0, 99)).unwrap();
        set(&mut f, 1, R, r(10, 19)).unwrap();
        assert_eq!(
            held(&f),
            vec![(1, LockKind::Write, 0, 9), (1, LockKind::Read, 10, 19), (1, LockKind::Write, 20, 99)]
        );
        set(&mut f, 1, W, r(0, 99)).unwrap();
        assert_eq!(held(&f), vec![(1, LockKind::Write, 0, 99)]);
        assert!(f.conflict(1, LockKind::Write, r(0, 99)).is_none());
    }

    #[test]
    fn different_owners_conflict_unless_both_read() {
        let mut f = FileLocks::new();
        set(&mut f, 1, R, r(0, 9)).unwrap();
        set(&mut f, 2, R, r(5, 14)).unwrap();
        let e = set(&mut f, 3, W, r(9, 9)).unwrap_err();
        assert_eq!(e, SetError::Conflict { owner: 1, kind: LockKind::Read, range: r(0, 9) });
        assert_eq!(
            set(&mut f, 3, W, r(10, 10)).unwrap_err(),
            SetError::Conflict { owner: 2, kind: LockKind::Read, range: r(5, 14) }
        );
        set(&mut f, 3, W, r(15, 20)).unwrap();
        // A read lock conflicts with the write lock only.
        assert!(f.conflict(1, LockKind::Read, r(0, 14)).is_none());
        assert_eq!(f.conflict(1, LockKind::Read, r(0, 15)).map(|l| l.owner), Some(3));
        // Nothing changed by the refused requests.
        assert_eq!(held(&f), vec![(1, LockKind::Read, 0, 9), (2, LockKind::Read, 5, 14), (3, LockKind::Write, 15, 20)]);
    }

    #[test]
    fn adjacent_and_overlapping_locks_merge() {
        let mut f = FileLocks::new();
        set(&mut f, 1, R, r(0, 9)).unwrap();
        set(&mut f, 1, R, r(20, 29)).unwrap();
        assert_eq!(set(&mut f, 1, R, r(10, 19)), Ok(2));
        assert_eq!(held(&f), vec![(1, LockKind::Read, 0, 29)]);
        // Another kind next to it does not merge.
        set(&mut f, 1, W, r(30, 39)).unwrap();
        assert_eq!(held(&f), vec![(1, LockKind::Read, 0, 29), (1, LockKind::Write, 30, 39)]);
        // Re-taking a held range changes nothing.
        assert_eq!(set(&mut f, 1, R, r(3, 4)), Ok(0));
        assert_eq!(f.locks().len(), 2);
    }

    #[test]
    fn unlock_splits_and_never_conflicts() {
        let mut f = FileLocks::new();
        set(&mut f, 1, W, r(0, OFFSET_MAX)).unwrap();
        set(&mut f, 2, U, r(0, 10)).unwrap();
        assert_eq!(held(&f), vec![(1, LockKind::Write, 0, OFFSET_MAX)]);
        set(&mut f, 1, U, r(100, 199)).unwrap();
        assert_eq!(held(&f), vec![(1, LockKind::Write, 0, 99), (1, LockKind::Write, 200, OFFSET_MAX)]);
        set(&mut f, 1, U, r(0, OFFSET_MAX)).unwrap();
        assert!(f.is_empty());
        // Unlocking nothing succeeds.
        assert_eq!(set(&mut f, 1, U, r(0, 0)), Ok(0));
    }

    #[test]
    fn edges_at_zero_and_offset_max() {
        let mut f = FileLocks::new();
        set(&mut f, 1, R, r(OFFSET_MAX, OFFSET_MAX)).unwrap();
        set(&mut f, 1, R, r(0, OFFSET_MAX - 1)).unwrap();
        assert_eq!(held(&f), vec![(1, LockKind::Read, 0, OFFSET_MAX)]);
        set(&mut f, 1, W, r(0, 0)).unwrap();
        set(&mut f, 1, W, r(OFFSET_MAX, OFFSET_MAX)).unwrap();
        assert_eq!(
            held(&f),
            vec![
                (1, LockKind::Write, 0, 0),
                (1, LockKind::Read, 1, OFFSET_MAX - 1),
                (1, LockKind::Write, OFFSET_MAX, OFFSET_MAX)
            ]
        );
    }

    #[test]
    fn charges_added_locks_and_refuses_without_changing() {
        let mut f: FileLocks<u32, u32> = FileLocks::new();
        f.set(1, W, r(0, 99), 7, |n, going| n == 1 && going.is_empty()).unwrap();
        // A split adds two locks (the new one and the right piece) and
        // removes the old one, which comes back for its payer's release.
        let mut asked = (0, vec![]);
        assert_eq!(
            f.set(1, R, r(0, 9), 8, |n, going| {
                asked = (n, going.iter().map(|l| l.payer).collect());
                false
            }),
            Err(SetError::NoLocks)
        );
        assert_eq!(asked, (2, vec![7]));
        assert_eq!(f.locks().len(), 1);
        let change = f.set(1, R, r(0, 9), 8, |_, _| true).unwrap();
        assert_eq!(change.added, 2);
        assert_eq!(change.removed.iter().map(|l| l.payer).collect::<Vec<_>>(), vec![7]);
        assert!(f.locks().iter().all(|l| l.payer == 8));
        // Releasing an owner hands everything back.
        set(&mut f, 2, R, r(0, 5)).unwrap();
        assert_eq!(f.release_owner(1).len(), 2);
        assert_eq!(held(&f), vec![(2, LockKind::Read, 0, 5)]);
    }

    #[test]
    fn deadlock_chains() {
        // 1 waits for 2, 2 waits for 3: 3 waiting for 1 would close the loop.
        let waits = |o: u32| match o {
            1 => Some(2),
            2 => Some(3),
            _ => None,
        };
        assert!(deadlocks(3, 1, waits));
        assert!(!deadlocks(4, 1, waits));
        assert!(!deadlocks(3, 3, |_| None));
        // A loop that does not include the caller ends after the limit.
        assert!(!deadlocks(9, 1, |o| Some(if o == 1 { 2 } else { 1 })));
        // A chain longer than the limit is not followed to its end.
        assert!(!deadlocks(100, 0, |o: u32| Some(o + 1)));
        assert!(deadlocks(5, 0, |o: u32| Some(o + 1)));
    }
}
