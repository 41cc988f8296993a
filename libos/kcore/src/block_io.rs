//! Cutting a block transfer into device requests.
//!
//! A kernel buffer is contiguous in virtual memory but not in physical
//! memory: it reaches a device as a list of physically contiguous chunks
//! (one per page, merged where pages happen to be adjacent). A device takes
//! a bounded number of segments per request (virtio-blk's `seg_max`, the
//! queue size) and may bound each segment's length (`size_max`), and every
//! request must move whole blocks, since it names only its first sector.
//! [`split`] turns the chunks into requests that obey all three rules, as
//! Linux's block layer does when it splits a bio to a queue's limits
//! (`block/blk-merge.c`, `bio_split_rw`, version 6.1).

use alloc::collections::VecDeque;
use alloc::vec::Vec;

/// A physically contiguous piece of a transfer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    /// Physical address.
    pub phys: u64,
    /// Length in bytes.
    pub len: u32,
}

/// One device request: where in the transfer it starts, and its segments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// Offset of its first byte in the transfer (a multiple of the block size).
    pub offset: u64,
    /// Its segments, in order; their lengths add up to whole blocks.
    pub segments: Vec<Segment>,
}

impl Request {
    /// Bytes it moves.
    pub fn len(&self) -> u64 {
        self.segments.iter().map(|s| s.len as u64).sum()
    }

    /// Whether it moves nothing (never true of what [`split`] returns).
    pub fn is_empty(&self) -> bool {
        self.segments.is_empty()
    }
}

/// The device's limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Most segments in one request (at least 1).
    pub max_segments: usize,
    /// Longest segment in bytes (at least one block).
    pub max_segment_len: u32,
    /// The block size in bytes (a power of two).
    pub block: u32,
}

/// Why a transfer cannot be split.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SplitError {
    /// The transfer is not a whole number of blocks.
    PartialBlock,
    /// The limits cannot carry even one block per request with these
    /// chunks (too few segments for chunks this small), or are invalid.
    Limits,
}

/// Splits a transfer made of `chunks` (in transfer order) into requests
/// within `limits`: adjacent chunks merge into one segment where the
/// length limit allows, long chunks are cut at the length limit, and each
/// request ends on a block boundary, its tail moved to the next request.
pub fn split(chunks: &[Segment], limits: Limits) -> Result<Vec<Request>, SplitError> {
    let block = limits.block as u64;
    if limits.max_segments == 0 || limits.block == 0 || limits.max_segment_len < limits.block {
        return Err(SplitError::Limits);
    }
    let total: u64 = chunks.iter().map(|c| c.len as u64).sum();
    if !total.is_multiple_of(block) {
        return Err(SplitError::PartialBlock);
    }
    // Merge and cut to the segment length limit.
    let mut segments: Vec<Segment> = Vec::new();
    for c in chunks.iter().filter(|c| c.len > 0) {
        let (mut phys, mut left) = (c.phys, c.len);
        if let Some(last) = segments.last_mut()
            && last.phys + last.len as u64 == phys
        {
            let take = left.min(limits.max_segment_len - last.len);
            last.len += take;
            phys += take as u64;
            left -= take;
        }
        while left > 0 {
            let take = left.min(limits.max_segment_len);
            segments.push(Segment { phys, len: take });
            phys += take as u64;
            left -= take;
        }
    }
    // Fill requests, trimming each to a block boundary: the trimmed
    // pieces go back to the front of what is pending.
    let mut pending: VecDeque<Segment> = segments.into();
    let mut requests = Vec::new();
    let mut offset = 0u64;
    while !pending.is_empty() {
        let take = pending.len().min(limits.max_segments);
        let mut req = Request { offset, segments: pending.drain(..take).collect() };
        let mut excess = req.len() % block;
        while excess > 0 {
            let last = req.segments.last_mut().expect("a request with excess has segments");
            if (last.len as u64) <= excess {
                excess -= last.len as u64;
                let whole = req.segments.pop().expect("checked above");
                pending.push_front(whole);
            } else {
                let keep = last.len - excess as u32;
                pending.push_front(Segment { phys: last.phys + keep as u64, len: excess as u32 });
                last.len = keep;
                excess = 0;
            }
        }
        if req.segments.is_empty() {
            return Err(SplitError::Limits);
        }
        offset += req.len();
        requests.push(req);
    }
    Ok(requests)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    const PAGE: u32 = 4096;

    fn limits(max_segments: usize) -> Limits {
        Limits { max_segments, max_segment_len: u32::MAX, block: 512 }
    }

    /// Every byte of the transfer appears once, in order, in the requests,
    /// and every request obeys the limits.
    fn check(chunks: &[Segment], l: Limits, reqs: &[Request]) {
        let want: Vec<u64> = chunks.iter().flat_map(|c| (0..c.len as u64).map(move |i| c.phys + i)).collect();
        let got: Vec<u64> = reqs
            .iter()
            .flat_map(|r| r.segments.iter())
            .flat_map(|s| (0..s.len as u64).map(move |i| s.phys + i))
            .collect();
        assert_eq!(got, want);
        let mut offset = 0;
        for r in reqs {
            assert_eq!(r.offset, offset);
            assert!(!r.is_empty() && r.segments.len() <= l.max_segments);
            assert_eq!(r.len() % l.block as u64, 0);
            assert!(r.segments.iter().all(|s| s.len > 0 && s.len <= l.max_segment_len));
            offset += r.len();
        }
    }

    #[test]
    fn contiguous_pages_merge_into_one_segment() {
        let chunks: Vec<Segment> = (0..4).map(|i| Segment { phys: 0x10000 + i * 4096, len: PAGE }).collect();
        let reqs = split(&chunks, limits(8)).unwrap();
        assert_eq!(reqs, [Request { offset: 0, segments: vec![Segment { phys: 0x10000, len: 4 * PAGE }] }]);
    }

    #[test]
    fn scattered_pages_fill_requests_up_to_the_segment_limit() {
        let chunks: Vec<Segment> = (0..5).map(|i| Segment { phys: 0x10000 + i * 0x2000, len: PAGE }).collect();
        let l = limits(2);
        let reqs = split(&chunks, l).unwrap();
        assert_eq!(reqs.len(), 3);
        assert_eq!(reqs[1].offset, 2 * PAGE as u64);
        check(&chunks, l, &reqs);
    }

    #[test]
    fn an_unaligned_buffer_ends_requests_on_block_boundaries() {
        // 3 pages' worth starting 0x100 into a page: chunks 0xF00, 0x1000, 0x1000, 0x100.
        let chunks = [
            Segment { phys: 0x5100, len: 0xF00 },
            Segment { phys: 0x9000, len: 0x1000 },
            Segment { phys: 0x3000, len: 0x1000 },
            Segment { phys: 0x7000, len: 0x100 },
        ];
        for max in 2..=4 {
            let l = limits(max);
            let reqs = split(&chunks, l).unwrap();
            check(&chunks, l, &reqs);
        }
        let reqs = split(&chunks, limits(2)).unwrap();
        assert_eq!(reqs[0].segments, [Segment { phys: 0x5100, len: 0xF00 }, Segment { phys: 0x9000, len: 0xF00 }]);
        assert_eq!(reqs[1].segments, [Segment { phys: 0x9F00, len: 0x100 }, Segment { phys: 0x3000, len: 0xF00 }]);
        // One segment per request cannot carry the partial blocks.
        assert_eq!(split(&chunks, limits(1)), Err(SplitError::Limits));
    }

    #[test]
    fn tiny_chunks_carry_across_several_segments() {
        // 100-byte chunks at scattered places: a request of 8 holds up to
        // 800 bytes, keeps whole blocks and carries the rest.
        let chunks: Vec<Segment> = (0..512 / 4).map(|i| Segment { phys: i * 1000, len: 100 }).collect();
        // 128 chunks * 100 = 12800 bytes = 25 blocks.
        let l = limits(8);
        let reqs = split(&chunks, l).unwrap();
        check(&chunks, l, &reqs);
        assert_eq!(split(&chunks, limits(5)), Err(SplitError::Limits), "5 x 100 bytes cannot hold one block");
    }

    #[test]
    fn the_segment_length_limit_cuts_long_chunks() {
        let chunks = [Segment { phys: 0x100000, len: 64 * 1024 }, Segment { phys: 0x110000, len: 4096 }];
        let l = Limits { max_segments: 3, max_segment_len: 16 * 1024, block: 512 };
        let reqs = split(&chunks, l).unwrap();
        check(&chunks, l, &reqs);
        assert_eq!(reqs.len(), 2);
        assert_eq!(reqs[1].segments.len(), 2);
    }

    #[test]
    fn bad_transfers_and_limits_are_refused() {
        assert_eq!(split(&[Segment { phys: 0, len: 700 }], limits(4)), Err(SplitError::PartialBlock));
        assert_eq!(split(&[Segment { phys: 0, len: 512 }], limits(0)), Err(SplitError::Limits));
        let l = Limits { max_segments: 4, max_segment_len: 256, block: 512 };
        assert_eq!(split(&[Segment { phys: 0, len: 512 }], l), Err(SplitError::Limits));
        assert_eq!(split(&[], limits(4)), Ok(vec![]));
    }
}
