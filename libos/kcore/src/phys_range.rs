//! Physical address ranges, and fixed-capacity sets of them.

use core::fmt;

/// A half-open physical address range `[start, end)`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct PhysRange {
    /// First byte.
    pub start: u64,
    /// One past the last byte.
    pub end: u64,
}

impl PhysRange {
    /// `[start, end)`; an empty range if `end <= start`.
    pub const fn new(start: u64, end: u64) -> PhysRange {
        if end <= start { PhysRange { start, end: start } } else { PhysRange { start, end } }
    }

    /// `[start, start + len)`, saturating at the top of the address space.
    pub const fn with_len(start: u64, len: u64) -> PhysRange {
        PhysRange::new(start, start.saturating_add(len))
    }

    /// Length in bytes.
    pub const fn len(&self) -> u64 {
        self.end - self.start
    }

    /// Whether the range holds no byte.
    pub const fn is_empty(&self) -> bool {
        self.end <= self.start
    }

    /// Whether `addr` lies in the range.
    pub const fn contains(&self, addr: u64) -> bool {
        addr >= self.start && addr < self.end
    }

    /// Whether the two ranges share a byte.
    pub const fn overlaps(&self, other: &PhysRange) -> bool {
        self.start < other.end && other.start < self.end
    }

    /// The largest page-aligned range inside this one.
    pub const fn shrink_to_pages(&self, page: u64) -> PhysRange {
        let start = match self.start.checked_next_multiple_of(page) {
            Some(s) => s,
            None => return PhysRange::new(0, 0),
        };
        PhysRange::new(start, self.end - self.end % page)
    }

    /// The smallest page-aligned range covering this one.
    pub const fn grow_to_pages(&self, page: u64) -> PhysRange {
        let end = match self.end.checked_next_multiple_of(page) {
            Some(e) => e,
            None => u64::MAX - u64::MAX % page,
        };
        PhysRange::new(self.start - self.start % page, end)
    }
}

impl fmt::Debug for PhysRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x}..{:#x}", self.start, self.end)
    }
}

impl fmt::Display for PhysRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// Error of a [`RangeSet`] operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RangeSetError {
    /// The set would need more than its fixed capacity of ranges.
    Full,
}

/// A set of disjoint, sorted, non-adjacent ranges with a fixed capacity.
#[derive(Clone, Default)]
pub struct RangeSet<const N: usize> {
    ranges: heapless::Vec<PhysRange, N>,
}

impl<const N: usize> RangeSet<N> {
    /// An empty set.
    pub const fn new() -> Self {
        RangeSet { ranges: heapless::Vec::new() }
    }

    /// The ranges, sorted by address.
    pub fn ranges(&self) -> &[PhysRange] {
        &self.ranges
    }

    /// Total bytes in the set.
    pub fn total(&self) -> u64 {
        self.ranges.iter().map(|r| r.len()).sum()
    }

    /// Adds `range`, merging it with ranges it overlaps or touches.
    pub fn insert(&mut self, range: PhysRange) -> Result<(), RangeSetError> {
        if range.is_empty() {
            return Ok(());
        }
        let mut merged = range;
        let mut out: heapless::Vec<PhysRange, N> = heapless::Vec::new();
        let mut placed = false;
        for r in self.ranges.iter() {
            if r.end < merged.start {
                out.push(*r).map_err(|_| RangeSetError::Full)?;
            } else if merged.end < r.start {
                if !placed {
                    out.push(merged).map_err(|_| RangeSetError::Full)?;
                    placed = true;
                }
                out.push(*r).map_err(|_| RangeSetError::Full)?;
            } else {
                merged = PhysRange::new(merged.start.min(r.start), merged.end.max(r.end));
            }
        }
        if !placed {
            out.push(merged).map_err(|_| RangeSetError::Full)?;
        }
        self.ranges = out;
        Ok(())
    }

    /// Removes every byte of `range` from the set (splitting ranges as needed).
    pub fn remove(&mut self, range: PhysRange) -> Result<(), RangeSetError> {
        if range.is_empty() {
            return Ok(());
        }
        let mut out: heapless::Vec<PhysRange, N> = heapless::Vec::new();
        for r in self.ranges.iter() {
            if !r.overlaps(&range) {
                out.push(*r).map_err(|_| RangeSetError::Full)?;
                continue;
            }
            let left = PhysRange::new(r.start, range.start);
            let right = PhysRange::new(range.end, r.end);
            if !left.is_empty() {
                out.push(left).map_err(|_| RangeSetError::Full)?;
            }
            if !right.is_empty() {
                out.push(right).map_err(|_| RangeSetError::Full)?;
            }
        }
        self.ranges = out;
        Ok(())
    }

    /// Whether any byte of `range` is in the set.
    pub fn overlaps(&self, range: &PhysRange) -> bool {
        self.ranges.iter().any(|r| r.overlaps(range))
    }

    /// Whether every byte of `range` is in the set.
    pub fn contains_range(&self, range: &PhysRange) -> bool {
        range.is_empty() || self.ranges.iter().any(|r| r.start <= range.start && range.end <= r.end)
    }

    /// Keeps only whole pages of every range (drops partial pages at the ends).
    pub fn shrink_to_pages(&mut self, page: u64) {
        let mut out: heapless::Vec<PhysRange, N> = heapless::Vec::new();
        for r in self.ranges.iter() {
            let s = r.shrink_to_pages(page);
            if !s.is_empty() {
                // Cannot fail: never more ranges than before.
                let _ = out.push(s);
            }
        }
        self.ranges = out;
    }

    /// One past the highest byte in the set (0 if empty).
    pub fn end(&self) -> u64 {
        self.ranges.last().map_or(0, |r| r.end)
    }
}

impl<const N: usize> fmt::Debug for RangeSet<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.ranges.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    fn r(s: u64, e: u64) -> PhysRange {
        PhysRange::new(s, e)
    }

    #[test]
    fn insert_merges_overlapping_and_adjacent() {
        let mut set = RangeSet::<8>::new();
        set.insert(r(10, 20)).unwrap();
        set.insert(r(30, 40)).unwrap();
        set.insert(r(20, 25)).unwrap();
        assert_eq!(set.ranges(), &[r(10, 25), r(30, 40)]);
        set.insert(r(0, 100)).unwrap();
        assert_eq!(set.ranges(), &[r(0, 100)]);
        set.insert(r(200, 200)).unwrap();
        assert_eq!(set.ranges(), &[r(0, 100)]);
    }

    #[test]
    fn remove_splits() {
        let mut set = RangeSet::<8>::new();
        set.insert(r(0, 100)).unwrap();
        set.remove(r(10, 20)).unwrap();
        set.remove(r(90, 200)).unwrap();
        set.remove(r(0, 1)).unwrap();
        assert_eq!(set.ranges(), &[r(1, 10), r(20, 90)]);
        assert_eq!(set.total(), 9 + 70);
        assert!(set.overlaps(&r(5, 11)));
        assert!(!set.overlaps(&r(10, 20)));
        assert!(set.contains_range(&r(20, 90)));
        assert!(!set.contains_range(&r(19, 90)));
    }

    #[test]
    fn capacity_is_reported_not_exceeded() {
        let mut set = RangeSet::<2>::new();
        set.insert(r(0, 10)).unwrap();
        set.insert(r(20, 30)).unwrap();
        assert_eq!(set.insert(r(40, 50)), Err(RangeSetError::Full));
        assert_eq!(set.remove(r(2, 3)), Err(RangeSetError::Full));
        assert_eq!(set.ranges(), &[r(0, 10), r(20, 30)]);
    }

    #[test]
    fn page_rounding() {
        assert_eq!(r(1, 8191).shrink_to_pages(4096), r(4096, 4096));
        assert!(r(1, 8191).shrink_to_pages(4096).is_empty());
        assert_eq!(r(1, 8193).shrink_to_pages(4096), r(4096, 8192));
        assert_eq!(r(1, 8193).grow_to_pages(4096), r(0, 12288));
        assert_eq!(r(u64::MAX - 10, u64::MAX).shrink_to_pages(4096), r(0, 0));
        let mut set = RangeSet::<4>::new();
        set.insert(r(100, 5000)).unwrap();
        set.insert(r(9000, 20000)).unwrap();
        set.shrink_to_pages(4096);
        assert_eq!(set.ranges(), &[r(12288, 16384)]);
    }

    /// Random insert/remove sequences agree with a byte-level model.
    #[test]
    fn matches_a_bitmap_model() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..300 {
            let mut set = RangeSet::<64>::new();
            let mut model = [false; 256];
            for _ in 0..20 {
                let a = next() % 256;
                let b = next() % 256;
                let (s, e) = (a.min(b), a.max(b));
                if next() % 3 == 0 {
                    set.remove(r(s, e)).unwrap();
                    model[s as usize..e as usize].fill(false);
                } else {
                    set.insert(r(s, e)).unwrap();
                    model[s as usize..e as usize].fill(true);
                }
                let from_set: Vec<bool> = (0..256).map(|x| set.ranges().iter().any(|r| r.contains(x))).collect();
                assert_eq!(&from_set[..], &model[..]);
                for w in set.ranges().windows(2) {
                    assert!(w[0].end < w[1].start, "ranges must be sorted and non-adjacent");
                }
            }
        }
    }
}
