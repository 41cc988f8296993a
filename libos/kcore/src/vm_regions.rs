//! The regions of a user address space (Linux's VMAs), as bookkeeping.
//!
//! A [`RegionSet`] maps page-aligned, non-overlapping ranges of user
//! virtual addresses to their protection and kind. `mmap`, `munmap`,
//! `mprotect` and `brk` are operations on it; the kernel mirrors each change
//! in the page tables. Pages inside a region are populated on first touch
//! (demand paging), so the set is the truth about what an app may access.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use crate::PAGE_SIZE;

/// Protection bits (Linux's PROT_*).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Prot(pub u32);

impl Prot {
    /// No access.
    pub const NONE: Prot = Prot(0);
    /// Readable.
    pub const READ: Prot = Prot(1);
    /// Writable.
    pub const WRITE: Prot = Prot(2);
    /// Executable.
    pub const EXEC: Prot = Prot(4);
    /// Read + write.
    pub const RW: Prot = Prot(3);

    /// Whether every bit of `other` is set.
    pub const fn contains(self, other: Prot) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether only the known bits are set.
    pub const fn is_valid(self) -> bool {
        self.0 & !7 == 0
    }
}

/// A file mapped into a region (`mmap` of a file).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MappedFile {
    /// The file's device (`st_dev`).
    pub dev: u64,
    /// Its inode number.
    pub ino: u64,
    /// The address of the file's byte 0: the region's start minus its file
    /// offset (wrapping). Kept so, a piece of a split region still knows its
    /// offset ([`Region::file_offset`]).
    pub origin: u64,
    /// The address where the file's last page ends (`origin` plus its size
    /// when mapped, rounded up to a page): a page at or above it lies wholly
    /// past the end of the file, and touching it is `SIGBUS` as on Linux.
    pub end: u64,
    /// `MAP_SHARED`.
    pub shared: bool,
}

/// What a region holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A loaded segment of the app's ELF image (populated at load);
    /// `origin` is the address of the ELF file's byte 0 for it (the
    /// segment's address minus its file offset).
    Image {
        /// As [`MappedFile::origin`].
        origin: u64,
    },
    /// A mapped file.
    File(MappedFile),
    /// The program break area (`brk`).
    Heap,
    /// Anonymous memory from `mmap`.
    Anonymous,
    /// The main thread's stack.
    Stack,
    /// A thread's stack or other kernel-placed mapping.
    Other,
    /// The vDSO's code (`[vdso]`).
    Vdso,
    /// The vDSO's data page (`[vvar]`).
    Vvar,
}

/// One region.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Region {
    /// First address (page aligned).
    pub start: u64,
    /// One past the last address (page aligned).
    pub end: u64,
    /// Protection.
    pub prot: Prot,
    /// Kind.
    pub kind: Kind,
}

impl Region {
    /// The file offset of the region's first byte, for an image segment or
    /// a mapped file (0 otherwise).
    pub fn file_offset(&self) -> u64 {
        match self.kind {
            Kind::Image { origin } | Kind::File(MappedFile { origin, .. }) => self.start.wrapping_sub(origin),
            _ => 0,
        }
    }
}

/// Why an operation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegionError {
    /// Not page aligned, empty, or outside the managed range.
    Invalid,
    /// The range overlaps an existing region (for a fixed, no-replace map).
    Exists,
    /// Not enough free address space.
    NoSpace,
    /// Part of the range is not mapped (for `mprotect`).
    NotMapped,
    /// Too many regions.
    TooMany,
}

/// Most regions one address space may grow to: Linux's default
/// `vm.max_map_count` (`DEFAULT_MAX_MAP_COUNT` in `include/linux/mm.h`,
/// 65530). Only growth checks it (`insert`, and the splits of `protect`);
/// removal never fails for the count (see [`MAX_REGIONS_AFTER_REMOVAL`]).
pub const MAX_REGIONS: usize = 65530;

/// Hard ceiling on regions, reached only by removals that split a region
/// in two while the set is at [`MAX_REGIONS`]: removal must stay possible
/// there (Linux refuses such a split with `ENOMEM`; an app that freed its
/// memory region by region would then be stuck), yet an app must not grow
/// the kernel's bookkeeping without bound by punching holes forever.
pub const MAX_REGIONS_AFTER_REMOVAL: usize = 2 * MAX_REGIONS;

/// The regions of one address space, inside `[floor, ceiling)`.
#[derive(Clone, Debug)]
pub struct RegionSet {
    floor: u64,
    ceiling: u64,
    /// Keyed by start address.
    regions: BTreeMap<u64, Region>,
}

/// `len` rounded up to whole pages, or `None` if that passes 2^64.
pub fn page_len(len: u64) -> Option<u64> {
    len.checked_next_multiple_of(PAGE_SIZE)
}

/// The page range `[addr, addr + len rounded up)` of a `munmap` or
/// `mprotect`, or `None` when `addr` is unaligned or the range wraps.
pub fn page_range(addr: u64, len: u64) -> Option<(u64, u64)> {
    let end = addr.checked_add(page_len(len)?)?;
    aligned(addr).then_some((addr, end))
}

/// The heap's page ends for a `brk(addr)` call: `(old_end, new_end)`, or
/// `None` when the call cannot be honoured (`addr` below the heap's
/// `start`, at or above `ceiling`, or no heap yet: `start` 0). `old` is
/// the current break.
pub fn brk_ends(start: u64, old: u64, addr: u64, ceiling: u64) -> Option<(u64, u64)> {
    if start == 0 || addr < start || addr >= ceiling {
        return None;
    }
    let new_end = page_len(addr).filter(|&e| e <= ceiling)?;
    Some((page_len(old)?, new_end))
}

fn aligned(x: u64) -> bool {
    x.is_multiple_of(PAGE_SIZE)
}

impl RegionSet {
    /// An empty set managing `[floor, ceiling)` (both page aligned).
    pub fn new(floor: u64, ceiling: u64) -> RegionSet {
        assert!(aligned(floor) && aligned(ceiling) && floor < ceiling);
        RegionSet { floor, ceiling, regions: BTreeMap::new() }
    }

    fn check_range(&self, start: u64, len: u64) -> Result<u64, RegionError> {
        let end = start.checked_add(len).ok_or(RegionError::Invalid)?;
        if len == 0 || !aligned(start) || !aligned(len) || start < self.floor || end > self.ceiling {
            return Err(RegionError::Invalid);
        }
        Ok(end)
    }

    /// The region containing `addr`.
    pub fn find(&self, addr: u64) -> Option<&Region> {
        self.regions.range(..=addr).next_back().map(|(_, r)| r).filter(|r| addr < r.end)
    }

    /// Every region, in address order.
    pub fn iter(&self) -> impl Iterator<Item = &Region> {
        self.regions.values()
    }

    /// Number of regions.
    pub fn len(&self) -> usize {
        self.regions.len()
    }

    /// Whether there is no region.
    pub fn is_empty(&self) -> bool {
        self.regions.is_empty()
    }

    /// Whether any region overlaps `[start, end)`.
    pub fn overlaps(&self, start: u64, end: u64) -> bool {
        self.regions.range(..end).next_back().is_some_and(|(_, r)| r.end > start)
    }

    /// Adds a region at a fixed place that must be free.
    pub fn insert(&mut self, start: u64, len: u64, prot: Prot, kind: Kind) -> Result<(), RegionError> {
        let end = self.check_range(start, len)?;
        if self.overlaps(start, end) {
            return Err(RegionError::Exists);
        }
        if self.regions.len() >= MAX_REGIONS {
            return Err(RegionError::TooMany);
        }
        self.regions.insert(start, Region { start, end, prot, kind });
        Ok(())
    }

    /// Finds a free range of `len` bytes, searching down from `below`
    /// (top-down, as Linux's mmap does), not below `floor`.
    pub fn find_free(&self, len: u64, below: u64) -> Option<u64> {
        if len == 0 || !aligned(len) {
            return None;
        }
        let mut top = below.min(self.ceiling);
        for r in self.regions.range(..top).rev().map(|(_, r)| r) {
            if r.end <= top && top - r.end >= len {
                return Some(top - len);
            }
            top = top.min(r.start);
        }
        (top >= self.floor.saturating_add(len)).then(|| top - len)
    }

    /// Where a non-fixed `mmap` of `len` bytes (whole pages) goes: at
    /// `hint` rounded up to a page when that range is free and inside the
    /// set (Linux's `get_unmapped_area`: a hint is honoured if it fits),
    /// else the highest free range below `below`. Any `hint` is accepted:
    /// one that rounds past 2^64 or whose range wraps is just not honoured.
    pub fn place(&self, hint: u64, len: u64, below: u64) -> Option<u64> {
        let at_hint = hint.checked_next_multiple_of(PAGE_SIZE).filter(|&at| {
            hint != 0
                && at >= self.floor
                && at.checked_add(len).is_some_and(|end| end <= self.ceiling && !self.overlaps(at, end))
        });
        at_hint.or_else(|| self.find_free(len, below))
    }

    /// Whether removing `[start, end)` would split a region in two (the
    /// one removal that adds a region).
    pub fn removal_splits(&self, start: u64, end: u64) -> bool {
        self.find(start).is_some_and(|r| r.start < start && r.end > end)
    }

    /// Removes every page of `[start, start + len)` from the set, splitting
    /// regions that straddle its ends. Returns the removed pieces (the
    /// kernel unmaps them). Removing nothing is not an error (as munmap).
    pub fn remove(&mut self, start: u64, len: u64) -> Result<Vec<Region>, RegionError> {
        let end = self.check_range(start, len)?;
        let touched: Vec<Region> =
            self.regions.range(..end).rev().map(|(_, r)| *r).take_while(|r| r.end > start).collect();
        // Only a region that straddles both ends adds one; removal that
        // does not split never fails for the count.
        let splits = touched.iter().filter(|r| r.start < start && r.end > end).count();
        if splits > 0 && self.regions.len() + splits > MAX_REGIONS_AFTER_REMOVAL {
            return Err(RegionError::TooMany);
        }
        let mut removed = Vec::new();
        for r in touched.into_iter().rev() {
            self.regions.remove(&r.start);
            if r.start < start {
                self.regions.insert(r.start, Region { end: start, ..r });
            }
            if r.end > end {
                self.regions.insert(end, Region { start: end, ..r });
            }
            removed.push(Region { start: r.start.max(start), end: r.end.min(end), ..r });
        }
        Ok(removed)
    }

    /// Sets the protection of `[start, start + len)`, which must be wholly
    /// mapped (else `NotMapped`, and nothing changes). Returns the pieces
    /// with their old protection (the kernel updates their page tables).
    pub fn protect(&mut self, start: u64, len: u64, prot: Prot) -> Result<Vec<Region>, RegionError> {
        let end = self.check_range(start, len)?;
        // Wholly covered?
        let mut cursor = start;
        // From the region that may contain `start`: O(log n + pieces).
        let from = self.regions.range(..=start).next_back().map_or(start, |(&key, _)| key);
        for (_, r) in self.regions.range(from..end) {
            if r.end <= cursor {
                continue;
            }
            if r.start > cursor {
                return Err(RegionError::NotMapped);
            }
            cursor = r.end;
            if cursor >= end {
                break;
            }
        }
        if cursor < end {
            return Err(RegionError::NotMapped);
        }
        // Growth: a piece cut off at either end is a new region.
        let cuts = self.find(start).is_some_and(|r| r.start < start) as usize
            + self.find(end - 1).is_some_and(|r| r.end > end) as usize;
        if cuts > 0 && self.regions.len() + cuts > MAX_REGIONS {
            return Err(RegionError::TooMany);
        }
        let pieces = self.remove(start, len)?;
        for p in &pieces {
            self.regions.insert(p.start, Region { prot, ..*p });
        }
        Ok(pieces)
    }

    /// Grows or shrinks the region that starts at `start` to end at `new_end`
    /// (used by `brk`). Growing requires the space to be free.
    pub fn resize(&mut self, start: u64, new_end: u64) -> Result<Region, RegionError> {
        let r = *self.regions.get(&start).ok_or(RegionError::NotMapped)?;
        if !aligned(new_end) || new_end <= start || new_end > self.ceiling {
            return Err(RegionError::Invalid);
        }
        if new_end > r.end && self.overlaps(r.end, new_end) {
            return Err(RegionError::Exists);
        }
        let resized = Region { end: new_end, ..r };
        self.regions.insert(start, resized);
        Ok(resized)
    }

    /// Grows the program break's area from `old_end` to `new_end` (both
    /// page aligned, `old_end < new_end`), as Linux's `do_brk_flags`
    /// (mm/mmap.c): the region that ends at `old_end` is extended when it
    /// is a read-write heap region, else a new read-write heap region
    /// starts there. The heap may have been split by the program (musl's
    /// malloc makes its first page a `PROT_NONE` guard with `mprotect`), so
    /// the region that ends at the break is not always the one that starts
    /// the area. `Exists` if anything lies in `[old_end, new_end)`.
    pub fn grow_heap(&mut self, old_end: u64, new_end: u64) -> Result<(), RegionError> {
        if !aligned(old_end) || new_end <= old_end {
            return Err(RegionError::Invalid);
        }
        let last = old_end.checked_sub(1).and_then(|a| self.find(a)).copied();
        match last {
            Some(r) if r.end == old_end && r.kind == Kind::Heap && r.prot == Prot::RW => {
                self.resize(r.start, new_end).map(|_| ())
            }
            _ => self.insert(old_end, new_end - old_end, Prot::RW, Kind::Heap),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: u64 = PAGE_SIZE;

    fn set() -> RegionSet {
        RegionSet::new(0x1000, 0x7fff_ffff_f000)
    }

    #[test]
    fn the_heap_grows_past_a_guard_page_made_in_it() {
        let mut s = set();
        let start = 0x42_2000;
        s.grow_heap(start, start + 2 * P).unwrap();
        // musl's malloc: the area's first page becomes PROT_NONE.
        s.protect(start, P, Prot::NONE).unwrap();
        s.grow_heap(start + 2 * P, start + 6 * P).unwrap();
        let heap = s.find(start + 5 * P).unwrap();
        assert_eq!((heap.start, heap.end, heap.prot, heap.kind), (start + P, start + 6 * P, Prot::RW, Kind::Heap));
        // A read-only end is not extended: a new read-write region follows.
        s.protect(start + 5 * P, P, Prot::READ).unwrap();
        s.grow_heap(start + 6 * P, start + 7 * P).unwrap();
        let added = s.find(start + 6 * P).unwrap();
        assert_eq!((added.start, added.prot), (start + 6 * P, Prot::RW));
        // Something in the way.
        s.insert(start + 8 * P, P, Prot::RW, Kind::Anonymous).unwrap();
        assert_eq!(s.grow_heap(start + 7 * P, start + 9 * P), Err(RegionError::Exists));
        assert_eq!(s.grow_heap(start + 7 * P, start + 7 * P), Err(RegionError::Invalid));
    }

    #[test]
    fn insert_find_and_overlap() {
        let mut s = set();
        s.insert(0x40_0000, 3 * P, Prot::READ, Kind::Image { origin: 0x40_0000 }).unwrap();
        assert_eq!(s.insert(0x40_1000, P, Prot::RW, Kind::Anonymous), Err(RegionError::Exists));
        assert_eq!(s.insert(0x40_0001, P, Prot::RW, Kind::Anonymous), Err(RegionError::Invalid));
        assert_eq!(s.insert(0, P, Prot::RW, Kind::Anonymous), Err(RegionError::Invalid));
        assert_eq!(s.insert(0x7fff_ffff_f000, P, Prot::RW, Kind::Anonymous), Err(RegionError::Invalid));
        assert_eq!(s.insert(u64::MAX - P + 1, P, Prot::RW, Kind::Anonymous), Err(RegionError::Invalid));
        assert_eq!(s.find(0x40_2fff).unwrap().start, 0x40_0000);
        assert!(s.find(0x40_3000).is_none());
        assert!(s.find(0x3f_ffff).is_none());
    }

    #[test]
    fn remove_splits_and_reports_pieces() {
        let mut s = set();
        s.insert(0x10_0000, 10 * P, Prot::RW, Kind::Anonymous).unwrap();
        let removed = s.remove(0x10_2000, 2 * P).unwrap();
        assert_eq!(removed.len(), 1);
        assert_eq!((removed[0].start, removed[0].end), (0x10_2000, 0x10_4000));
        let starts: Vec<(u64, u64)> = s.iter().map(|r| (r.start, r.end)).collect();
        assert_eq!(starts, [(0x10_0000, 0x10_2000), (0x10_4000, 0x10_a000)]);
        // Removing across a hole and two regions.
        let removed = s.remove(0x10_1000, 8 * P).unwrap();
        assert_eq!(removed.len(), 2);
        let left: Vec<(u64, u64)> = s.iter().map(|r| (r.start, r.end)).collect();
        assert_eq!(left, [(0x10_0000, 0x10_1000), (0x10_9000, 0x10_a000)]);
        assert!(s.remove(0x50_0000, P).unwrap().is_empty());
    }

    #[test]
    fn split_file_pieces_keep_their_file_offsets() {
        let mut s = set();
        // 4 pages of a file mapped from offset 2 pages.
        let file = MappedFile { dev: 1, ino: 7, origin: 0x10_0000 - 2 * P, end: 0x10_0000 + 3 * P, shared: false };
        s.insert(0x10_0000, 4 * P, Prot::READ, Kind::File(file)).unwrap();
        assert_eq!(s.find(0x10_0000).unwrap().file_offset(), 2 * P);
        s.protect(0x10_1000, P, Prot::RW).unwrap();
        let offsets: Vec<(u64, u64)> = s.iter().map(|r| (r.start, r.file_offset())).collect();
        assert_eq!(offsets, [(0x10_0000, 2 * P), (0x10_1000, 3 * P), (0x10_2000, 4 * P)]);
        s.remove(0x10_2000, P).unwrap();
        assert_eq!(s.find(0x10_3000).unwrap().file_offset(), 5 * P);
        assert_eq!(s.find(0x10_3000).unwrap().kind, Kind::File(file));
        // Anonymous memory has offset 0.
        s.insert(0x20_0000, P, Prot::RW, Kind::Anonymous).unwrap();
        assert_eq!(s.find(0x20_0000).unwrap().file_offset(), 0);
    }

    #[test]
    fn protect_needs_a_fully_mapped_range() {
        let mut s = set();
        s.insert(0x10_0000, 4 * P, Prot::RW, Kind::Anonymous).unwrap();
        s.insert(0x10_5000, P, Prot::RW, Kind::Anonymous).unwrap();
        assert_eq!(s.protect(0x10_0000, 6 * P, Prot::READ), Err(RegionError::NotMapped));
        assert_eq!(s.find(0x10_0000).unwrap().prot, Prot::RW, "nothing changed on error");
        let old = s.protect(0x10_1000, 2 * P, Prot::READ).unwrap();
        assert_eq!(old[0].prot, Prot::RW);
        assert_eq!(s.find(0x10_1000).unwrap().prot, Prot::READ);
        assert_eq!(s.find(0x10_0000).unwrap().prot, Prot::RW);
        assert_eq!(s.find(0x10_3000).unwrap().prot, Prot::RW);
        assert_eq!(s.len(), 4);
    }

    #[test]
    fn find_free_is_top_down_and_skips_regions() {
        let mut s = RegionSet::new(0x1000, 0x10_0000);
        assert_eq!(s.find_free(P, 0x10_0000), Some(0xf_f000));
        s.insert(0xf_0000, 0x1_0000, Prot::RW, Kind::Anonymous).unwrap();
        assert_eq!(s.find_free(P, 0x10_0000), Some(0xe_f000));
        assert_eq!(s.find_free(0x1_0000, 0xf_8000), Some(0xe_0000));
        assert_eq!(s.find_free(0x20_0000, 0x10_0000), None);
        assert_eq!(s.find_free(0xef_000, 0x10_0000), Some(0x1000));
        assert_eq!(s.find_free(0xf0_000, 0x10_0000), None);
    }

    #[test]
    fn resize_for_brk() {
        let mut s = set();
        s.insert(0x60_0000, P, Prot::RW, Kind::Heap).unwrap();
        s.insert(0x61_0000, P, Prot::RW, Kind::Anonymous).unwrap();
        assert_eq!(s.resize(0x60_0000, 0x60_8000).unwrap().end, 0x60_8000);
        assert_eq!(s.resize(0x60_0000, 0x62_0000), Err(RegionError::Exists));
        assert_eq!(s.resize(0x60_0000, 0x60_2000).unwrap().end, 0x60_2000);
        assert_eq!(s.resize(0x70_0000, 0x70_2000), Err(RegionError::NotMapped));
    }

    /// Extreme numbers from an app never overflow (a debug build would
    /// panic) and get the answer Linux gives: hints near 2^64, lengths of
    /// 0 and near 2^64, ranges that wrap, unaligned addresses.
    #[test]
    fn extreme_numbers_are_refused_not_overflowed() {
        let mut s = set();
        s.insert(0x10_0000, 4 * P, Prot::RW, Kind::Anonymous).unwrap();
        let top = 0x7fff_ffff_f000;
        for hint in [u64::MAX, u64::MAX - 1, u64::MAX - P + 2, u64::MAX - P + 1, 1 << 63, top - P + 1, top, 1, 0] {
            for len in [P, 2 * P, 1 << 46] {
                let at = s.place(hint, len, top).expect("a free range exists below the top");
                assert!(at >= 0x1000 && at + len <= top, "hint {hint:#x} len {len:#x}: {at:#x}");
                assert!(!s.overlaps(at, at + len));
            }
        }
        assert_eq!(s.place(0x10_1000, P, top).map(|a| a == 0x10_1000), Some(false), "a taken hint is moved");
        assert_eq!(s.place(0x20_0001, P, top), Some(0x20_1000), "a free hint is rounded up to a page");
        assert_eq!(s.place(0x1000, u64::MAX - P + 1, top), None);
        assert_eq!(s.find_free(u64::MAX - P + 1, u64::MAX), None);
        assert_eq!(page_len(0), Some(0));
        assert_eq!(page_len(1), Some(P));
        assert_eq!(page_len(u64::MAX), None);
        assert_eq!(page_len(u64::MAX - P + 1), Some(u64::MAX - P + 1));
        assert_eq!(page_range(0x1001, P), None, "unaligned");
        assert_eq!(page_range(u64::MAX - P + 1, P), None, "wraps");
        assert_eq!(page_range(P, u64::MAX), None, "length rounds past 2^64");
        assert_eq!(page_range(P, 1), Some((P, 2 * P)));
        for (start, len) in [(u64::MAX - P + 1, P), (P, u64::MAX - P + 1), (top, P), (0, P), (0x1000, 0), (0x1001, P)] {
            assert_eq!(s.insert(start, len, Prot::RW, Kind::Anonymous), Err(RegionError::Invalid));
            assert_eq!(s.remove(start, len), Err(RegionError::Invalid));
            assert_eq!(s.protect(start, len, Prot::READ), Err(RegionError::Invalid));
        }
        assert_eq!(brk_ends(0x60_0000, 0x60_0000, u64::MAX, top), None);
        assert_eq!(brk_ends(0x60_0000, 0x60_0000, top - 1, top), Some((0x60_0000, top)));
        assert_eq!(brk_ends(0x60_0000, 0x60_0000, 0x5f_ffff, top), None);
        assert_eq!(brk_ends(0, 0, 0x60_0000, top), None);
        assert_eq!(brk_ends(0x60_0000, 0x60_0001, 0x60_0000, top), Some((0x60_1000, 0x60_0000)));
        assert_eq!(s.resize(0x10_0000, u64::MAX - P + 1), Err(RegionError::Invalid));
        assert_eq!(s.len(), 1, "nothing changed");
    }

    /// The limit (Linux's `vm.max_map_count`) stops growth only: at the
    /// limit, inserting and splitting by `protect` fail, and removing
    /// everything, one region at a time or with splits, still works.
    #[test]
    fn the_region_limit_applies_to_growth_only() {
        let mut s = set();
        let base = 0x1000_0000u64;
        // Every other page, so that no two regions touch.
        for i in 0..MAX_REGIONS as u64 {
            s.insert(base + 2 * i * P, P, Prot::RW, Kind::Anonymous).unwrap();
        }
        assert_eq!(s.len(), MAX_REGIONS);
        assert_eq!(s.insert(0x1000, P, Prot::RW, Kind::Anonymous), Err(RegionError::TooMany));
        // A protect that does not split is fine; one that splits is not.
        s.remove(base, P).unwrap();
        s.insert(0x2000, 3 * P, Prot::RW, Kind::Anonymous).unwrap();
        assert_eq!(s.len(), MAX_REGIONS);
        assert!(s.protect(0x2000, 3 * P, Prot::READ).is_ok());
        assert_eq!(s.protect(0x3000, P, Prot::RW), Err(RegionError::TooMany));
        assert_eq!(s.find(0x3000).unwrap().prot, Prot::READ, "nothing changed");
        // Removal that splits works at the limit.
        assert_eq!(s.remove(0x3000, P).unwrap().len(), 1);
        assert_eq!(s.len(), MAX_REGIONS + 1);
        // And removing everything works.
        for r in s.clone().iter() {
            s.remove(r.start, r.end - r.start).unwrap();
        }
        assert!(s.is_empty());
    }

    /// Random operations agree with a page-level model.
    #[test]
    fn matches_a_page_model() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let pages = 64u64;
        let base = 0x10_0000u64;
        for _ in 0..200 {
            let mut s = RegionSet::new(base, base + pages * P);
            let mut model: Vec<Option<u32>> = alloc::vec![None; pages as usize];
            for _ in 0..40 {
                let a = next() % pages;
                let n = 1 + next() % (pages - a);
                let (start, len) = (base + a * P, n * P);
                let prot = Prot((next() % 8) as u32);
                match next() % 3 {
                    0 => {
                        let free = model[a as usize..(a + n) as usize].iter().all(|p| p.is_none());
                        let r = s.insert(start, len, prot, Kind::Anonymous);
                        assert_eq!(r.is_ok(), free);
                        if free {
                            model[a as usize..(a + n) as usize].fill(Some(prot.0));
                        }
                    }
                    1 => {
                        s.remove(start, len).unwrap();
                        model[a as usize..(a + n) as usize].fill(None);
                    }
                    _ => {
                        let all = model[a as usize..(a + n) as usize].iter().all(|p| p.is_some());
                        assert_eq!(s.protect(start, len, prot).is_ok(), all);
                        if all {
                            model[a as usize..(a + n) as usize].fill(Some(prot.0));
                        }
                    }
                }
                for (i, m) in model.iter().enumerate() {
                    let got = s.find(base + i as u64 * P).map(|r| r.prot.0);
                    assert_eq!(got, *m, "page {i}");
                }
            }
        }
    }
}
