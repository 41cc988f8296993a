//! The physical frame allocator: one bit per 4 KiB frame.
//!
//! A set bit means "not available" (reserved, never usable, or handed out);
//! a clear bit means free. Every frame starts reserved, only the ranges the
//! kernel declares free become allocatable, and [`FrameAllocator::reserve`]
//! takes ranges back out (the image, the loader's data, the first MiB), so a
//! reserved frame can only be handed out if the kernel frees it by mistake,
//! and [`FrameAllocator::free`] refuses that: it only accepts frames that
//! are currently allocated and were once declared free.

use crate::PAGE_SIZE;
use crate::phys_range::PhysRange;

/// Where the bitmap lives. The kernel's bitmap sits in physical memory and is
/// reached through whichever mapping is active; tests use a `Vec`.
pub trait BitmapStorage {
    /// The bitmap words.
    fn words(&self) -> &[u64];
    /// The bitmap words, mutably.
    fn words_mut(&mut self) -> &mut [u64];
}

impl BitmapStorage for &mut [u64] {
    fn words(&self) -> &[u64] {
        self
    }
    fn words_mut(&mut self) -> &mut [u64] {
        self
    }
}

/// Why a frame could not be freed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FreeError {
    /// The address is not frame aligned.
    Misaligned(u64),
    /// The address lies beyond the memory the allocator manages.
    OutOfRange(u64),
    /// The frame is not currently allocated (double free, or never allocatable).
    NotAllocated(u64),
}

impl core::fmt::Display for FreeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            FreeError::Misaligned(a) => write!(f, "freeing misaligned frame address {a:#x}"),
            FreeError::OutOfRange(a) => write!(f, "freeing frame {a:#x} beyond managed memory"),
            FreeError::NotAllocated(a) => write!(f, "freeing frame {a:#x}, which is not allocated"),
        }
    }
}

/// A bitmap frame allocator over physical addresses `[0, frames * 4096)`.
pub struct FrameAllocator<S: BitmapStorage> {
    storage: S,
    frames: u64,
    free: u64,
    /// Frames ever declared free (their bits live in `allocatable`).
    usable: u64,
    /// Word index where the next search starts (next fit).
    hint: usize,
    /// Ranges that were declared free, so `free` can tell a double free of a
    /// reserved frame from a legitimate one.
    allocatable: crate::phys_range::RangeSet<128>,
}

impl<S: BitmapStorage> FrameAllocator<S> {
    /// Words of bitmap needed to manage physical memory up to `max_phys`.
    pub const fn bitmap_words(max_phys: u64) -> usize {
        max_phys.div_ceil(PAGE_SIZE).div_ceil(64) as usize
    }

    /// An allocator with every frame reserved. `storage` must hold at least
    /// [`Self::bitmap_words`] words; it is overwritten.
    pub fn new(mut storage: S, max_phys: u64) -> FrameAllocator<S> {
        let words = Self::bitmap_words(max_phys);
        assert!(storage.words().len() >= words, "frame bitmap storage too small");
        storage.words_mut()[..words].fill(u64::MAX);
        FrameAllocator {
            storage,
            frames: max_phys / PAGE_SIZE,
            free: 0,
            usable: 0,
            hint: 0,
            allocatable: crate::phys_range::RangeSet::new(),
        }
    }

    /// Declares the whole frames inside `range` free. Frames that are
    /// already free stay free. Returns how many frames became free.
    pub fn add_free(&mut self, range: PhysRange) -> u64 {
        let r = range.shrink_to_pages(PAGE_SIZE);
        let end = r.end.min(self.frames * PAGE_SIZE);
        if r.start >= end {
            return 0;
        }
        let added = self.set_range(r.start / PAGE_SIZE, end / PAGE_SIZE, false);
        self.free += added;
        self.usable += added;
        if added > 0 {
            // A full set only costs precision: `free` then also accepts
            // frames outside the recorded ranges.
            let _ = self.allocatable.insert(PhysRange::new(r.start, end));
        }
        added
    }

    /// Takes every frame touching `range` out of the free pool for good.
    /// Returns how many free frames it took.
    pub fn reserve(&mut self, range: PhysRange) -> u64 {
        let r = range.grow_to_pages(PAGE_SIZE);
        let end = r.end.min(self.frames * PAGE_SIZE);
        if r.start >= end {
            return 0;
        }
        let taken = self.set_range(r.start / PAGE_SIZE, end / PAGE_SIZE, true);
        self.free -= taken;
        self.usable -= taken;
        let _ = self.allocatable.remove(PhysRange::new(r.start, end));
        taken
    }

    /// Allocates one frame anywhere.
    pub fn allocate(&mut self) -> Option<u64> {
        self.allocate_below(u64::MAX)
    }

    /// Allocates one frame whose address is below `limit`.
    pub fn allocate_below(&mut self, limit: u64) -> Option<u64> {
        let limit_frames = (limit / PAGE_SIZE).min(self.frames);
        let words = limit_frames.div_ceil(64) as usize;
        if words == 0 {
            return None;
        }
        let start = if self.hint < words { self.hint } else { 0 };
        for i in (start..words).chain(0..start) {
            let word = self.storage.words()[i];
            if word == u64::MAX {
                continue;
            }
            let frame = i as u64 * 64 + word.trailing_ones() as u64;
            if frame >= limit_frames {
                continue;
            }
            self.set_bit(frame, true);
            self.free -= 1;
            self.hint = i;
            return Some(frame * PAGE_SIZE);
        }
        None
    }

    /// Allocates `count` physically contiguous frames starting at a multiple
    /// of `align` bytes (a power of two, at least a page), below `limit`.
    pub fn allocate_contiguous(&mut self, count: u64, align: u64, limit: u64) -> Option<u64> {
        if count == 0 || !align.is_power_of_two() {
            return None;
        }
        let step = (align / PAGE_SIZE).max(1);
        let limit_frames = (limit / PAGE_SIZE).min(self.frames);
        let mut first = 0u64;
        while first + count <= limit_frames {
            if let Some(used) = self.first_used(first, first + count) {
                // Skip past the used frame and the used ones after it, to
                // the next aligned start.
                let Some(free) = self.first_free(used + 1, limit_frames) else { break };
                first = free.next_multiple_of(step);
                continue;
            }
            let taken = self.set_range(first, first + count, true);
            debug_assert_eq!(taken, count);
            self.free -= count;
            return Some(first * PAGE_SIZE);
        }
        None
    }

    /// Returns one frame to the pool.
    pub fn free(&mut self, addr: u64) -> Result<(), FreeError> {
        if !addr.is_multiple_of(PAGE_SIZE) {
            return Err(FreeError::Misaligned(addr));
        }
        let frame = addr / PAGE_SIZE;
        if frame >= self.frames {
            return Err(FreeError::OutOfRange(addr));
        }
        if !self.bit(frame) || !self.allocatable.contains_range(&PhysRange::with_len(addr, PAGE_SIZE)) {
            return Err(FreeError::NotAllocated(addr));
        }
        self.set_bit(frame, false);
        self.free += 1;
        Ok(())
    }

    /// Returns `count` contiguous frames starting at `addr`; stops at (and
    /// reports) the first one that cannot be freed.
    pub fn free_contiguous(&mut self, addr: u64, count: u64) -> Result<(), FreeError> {
        for i in 0..count {
            self.free(addr + i * PAGE_SIZE)?;
        }
        Ok(())
    }

    /// Whether the frame at `addr` is free right now.
    pub fn is_free(&self, addr: u64) -> bool {
        let frame = addr / PAGE_SIZE;
        frame < self.frames && !self.bit(frame)
    }

    /// Frames free right now.
    pub fn free_frames(&self) -> u64 {
        self.free
    }

    /// Frames that were ever declared free (free or allocated now).
    pub fn usable_frames(&self) -> u64 {
        self.usable
    }

    /// The ranges that were declared free and not reserved since.
    pub fn allocatable_ranges(&self) -> &[PhysRange] {
        self.allocatable.ranges()
    }

    /// The storage, for relocating the bitmap's mapping.
    pub fn storage_mut(&mut self) -> &mut S {
        &mut self.storage
    }

    fn bit(&self, frame: u64) -> bool {
        self.storage.words()[(frame / 64) as usize] & (1 << (frame % 64)) != 0
    }

    /// The first used frame in `first..end`, a word at a time.
    fn first_used(&self, first: u64, end: u64) -> Option<u64> {
        self.first_where(first, end, true)
    }

    /// The first free frame in `first..end`, a word at a time.
    fn first_free(&self, first: u64, end: u64) -> Option<u64> {
        self.first_where(first, end, false)
    }

    /// The first frame in `first..end` whose bit is `used`.
    fn first_where(&self, first: u64, end: u64, used: bool) -> Option<u64> {
        let words = self.storage.words();
        let mut frame = first;
        while frame < end {
            let in_word = frame % 64;
            let n = (64 - in_word).min(end - frame);
            let mask = if n == 64 { u64::MAX } else { ((1u64 << n) - 1) << in_word };
            let word = words[(frame / 64) as usize];
            let hits = if used { word } else { !word } & mask;
            if hits != 0 {
                return Some(frame - in_word + u64::from(hits.trailing_zeros()));
            }
            frame += n;
        }
        None
    }

    /// Marks frames `first..end` used or free, a word at a time; returns
    /// how many changed. The words in the middle are stored whole; a word
    /// that changes wholly or not at all, as most do when the boot
    /// declares memory, needs no bit count (the kernel's target has no
    /// POPCNT: counting in software every word cost the boot about 20,000
    /// instructions).
    fn set_range(&mut self, first: u64, end: u64, used: bool) -> u64 {
        fn changed_bits(diff: u64) -> u64 {
            match diff {
                0 => 0,
                u64::MAX => 64,
                diff => u64::from(diff.count_ones()),
            }
        }
        if first >= end {
            return 0;
        }
        let fill = if used { u64::MAX } else { 0 };
        let words = self.storage.words_mut();
        let (head, last) = ((first / 64) as usize, ((end - 1) / 64) as usize);
        let head_mask = u64::MAX << (first % 64);
        let last_mask = u64::MAX >> (63 - (end - 1) % 64);
        let mut set_masked = |index: usize, mask: u64| {
            let before = words[index];
            words[index] = (before & !mask) | (fill & mask);
            changed_bits(before ^ words[index])
        };
        if head == last {
            return set_masked(head, head_mask & last_mask);
        }
        let mut changed = set_masked(head, head_mask) + set_masked(last, last_mask);
        for word in &mut words[head + 1..last] {
            changed += changed_bits(*word ^ fill);
            *word = fill;
        }
        changed
    }

    fn set_bit(&mut self, frame: u64, used: bool) {
        let word = &mut self.storage.words_mut()[(frame / 64) as usize];
        if used {
            *word |= 1 << (frame % 64);
        } else {
            *word &= !(1 << (frame % 64));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;
    use std::vec;
    use std::vec::Vec;

    struct VecStorage(Vec<u64>);
    impl BitmapStorage for VecStorage {
        fn words(&self) -> &[u64] {
            &self.0
        }
        fn words_mut(&mut self) -> &mut [u64] {
            &mut self.0
        }
    }

    const MIB: u64 = 1 << 20;

    fn allocator(max: u64) -> FrameAllocator<VecStorage> {
        let words = FrameAllocator::<VecStorage>::bitmap_words(max);
        FrameAllocator::new(VecStorage(vec![0; words]), max)
    }

    /// The layout a QEMU boot gives: RAM below 640 KiB and from 1 MiB, with
    /// the first MiB, the image and the loader's data reserved.
    fn booted() -> (FrameAllocator<VecStorage>, Vec<PhysRange>) {
        let mut a = allocator(128 * MIB);
        a.add_free(PhysRange::new(0, 0x9fc00));
        a.add_free(PhysRange::new(MIB, 128 * MIB - 0x20000));
        let reserved = vec![
            PhysRange::new(0, MIB),                     // first MiB
            PhysRange::new(MIB, MIB + 0x5_3210),        // image + payload
            PhysRange::with_len(0x9500, 116),           // multiboot info (inside first MiB anyway)
            PhysRange::new(20 * MIB + 7, 20 * MIB + 9), // a module, unaligned
        ];
        for r in &reserved {
            a.reserve(*r);
        }
        (a, reserved)
    }

    #[test]
    fn never_hands_out_a_reserved_or_unusable_frame() {
        let (mut a, reserved) = booted();
        let usable = a.usable_frames();
        assert_eq!(a.free_frames(), usable);
        let mut seen = BTreeSet::new();
        while let Some(f) = a.allocate() {
            assert!(seen.insert(f), "frame {f:#x} handed out twice");
            let frame = PhysRange::with_len(f, PAGE_SIZE);
            for r in &reserved {
                assert!(!frame.overlaps(r), "frame {f:#x} overlaps reserved {r:?}");
            }
            assert!(frame.start >= MIB && frame.end <= 128 * MIB - 0x20000, "frame {f:#x} outside RAM");
        }
        assert_eq!(seen.len() as u64, usable);
        assert_eq!(a.free_frames(), 0);
    }

    #[test]
    fn free_accepts_only_allocated_frames() {
        let (mut a, _) = booted();
        let f = a.allocate().unwrap();
        assert_eq!(a.free(f + 1), Err(FreeError::Misaligned(f + 1)));
        assert_eq!(a.free(f), Ok(()));
        assert_eq!(a.free(f), Err(FreeError::NotAllocated(f)));
        // Reserved frames can never enter the pool through `free`.
        assert_eq!(a.free(MIB), Err(FreeError::NotAllocated(MIB)));
        assert_eq!(a.free(0x1000), Err(FreeError::NotAllocated(0x1000)));
        assert_eq!(a.free(20 * MIB), Err(FreeError::NotAllocated(20 * MIB)));
        assert_eq!(a.free(512 * MIB), Err(FreeError::OutOfRange(512 * MIB)));
    }

    #[test]
    fn freed_frames_come_back() {
        let (mut a, _) = booted();
        let before = a.free_frames();
        let frames: Vec<u64> = (0..100).map(|_| a.allocate().unwrap()).collect();
        assert_eq!(a.free_frames(), before - 100);
        for f in &frames {
            a.free(*f).unwrap();
        }
        assert_eq!(a.free_frames(), before);
    }

    #[test]
    fn contiguous_and_aligned() {
        let (mut a, reserved) = booted();
        let pair = a.allocate_contiguous(2, 8192, u64::MAX).unwrap();
        assert_eq!(pair % 8192, 0);
        assert!(!a.is_free(pair) && !a.is_free(pair + PAGE_SIZE));
        let big = a.allocate_contiguous(512, 2 * MIB, u64::MAX).unwrap();
        assert_eq!(big % (2 * MIB), 0);
        for r in &reserved {
            assert!(!PhysRange::with_len(big, 512 * PAGE_SIZE).overlaps(r));
        }
        a.free_contiguous(big, 512).unwrap();
        assert!(a.allocate_contiguous(0, 4096, u64::MAX).is_none());
        assert!(a.allocate_contiguous(1, 3000, u64::MAX).is_none());
        assert!(a.allocate_contiguous(1 << 20, 4096, u64::MAX).is_none());
    }

    #[test]
    fn below_limit() {
        let (mut a, _) = booted();
        for _ in 0..50 {
            let f = a.allocate_below(4 * MIB).unwrap();
            assert!((MIB..4 * MIB).contains(&f));
        }
        let low = a.allocate_contiguous(4, PAGE_SIZE, 4 * MIB).unwrap();
        assert!(low + 4 * PAGE_SIZE <= 4 * MIB);
        assert_eq!(a.allocate_below(0), None);
        while a.allocate_below(2 * MIB).is_some() {}
        assert!(a.allocate().is_some());
    }

    #[test]
    fn reserving_a_free_range_later_counts() {
        let (mut a, _) = booted();
        let before = a.free_frames();
        assert_eq!(a.reserve(PhysRange::new(64 * MIB, 64 * MIB + 3 * PAGE_SIZE)), 3);
        assert_eq!(a.free_frames(), before - 3);
        assert_eq!(a.reserve(PhysRange::new(64 * MIB, 64 * MIB + 3 * PAGE_SIZE)), 0);
        assert!(!a.is_free(64 * MIB));
    }

    #[test]
    fn add_free_ignores_partial_frames_and_memory_beyond_the_bitmap() {
        let mut a = allocator(16 * MIB);
        assert_eq!(a.add_free(PhysRange::new(100, 8191)), 0);
        assert_eq!(a.add_free(PhysRange::new(15 * MIB, 32 * MIB)), 256);
        assert_eq!(a.add_free(PhysRange::new(15 * MIB, 32 * MIB)), 0);
    }

    #[test]
    fn contiguous_takes_the_lowest_aligned_free_run() {
        // A bitmap of scattered used frames and runs of them (a fixed
        // xorshift sequence); every answer must be the lowest aligned start
        // whose frames are all free below the limit, as a frame-by-frame
        // search finds it.
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for round in 0..1000 {
            let mut a = allocator(8 * MIB);
            a.add_free(PhysRange::new(0, 8 * MIB));
            let frames = 8 * MIB / PAGE_SIZE;
            let mut f = 0;
            while f < frames {
                let run = next() % 40;
                if f == 0 || next() % 4 != 0 {
                    a.reserve(PhysRange::with_len(f * PAGE_SIZE, run.min(frames - f) * PAGE_SIZE));
                }
                f += run + 1;
            }
            let count = 1 + next() % if round % 2 == 0 { 4 } else { 70 };
            let align = PAGE_SIZE << (next() % 7 * (round % 3));
            let limit = if round % 4 == 0 { u64::MAX } else { (next() % frames) * PAGE_SIZE };
            let step = align / PAGE_SIZE;
            let limit_frames = (limit / PAGE_SIZE).min(frames);
            let expected = (0..limit_frames)
                .step_by(step as usize)
                .find(|&s| s + count <= limit_frames && (s..s + count).all(|g| a.is_free(g * PAGE_SIZE)))
                .map(|s| s * PAGE_SIZE);
            assert_eq!(a.allocate_contiguous(count, align, limit), expected, "round {round}");
        }
    }
}
