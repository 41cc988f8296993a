//! The kernel heap.

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::alloc::Layout;

use libos_macros::kernel_test;

use crate::mm::heap;

#[kernel_test]
fn allocates_and_frees_across_sizes_and_alignments() {
    let before = heap::stats();
    let mut blocks = Vec::new();
    for shift in 0..=20 {
        for &align in &[1usize, 8, 64, 4096] {
            let size = (1usize << shift) + shift;
            let layout = Layout::from_size_align(size, align).unwrap();
            // SAFETY: nonzero size; freed below with the same layout.
            let p = unsafe { alloc::alloc::alloc(layout) };
            assert!(!p.is_null(), "allocation of {size} bytes aligned {align} failed");
            assert_eq!(p as usize % align, 0, "misaligned allocation");
            // SAFETY: the block is ours and `size` bytes long.
            unsafe { core::ptr::write_bytes(p, shift as u8, size) };
            blocks.push((p, layout, shift as u8));
        }
    }
    for &(p, layout, fill) in &blocks {
        // SAFETY: each block is live and was filled above.
        let bytes = unsafe { core::slice::from_raw_parts(p, layout.size()) };
        assert!(bytes.iter().all(|&b| b == fill), "heap block overwritten");
    }
    for (p, layout, _) in blocks.drain(..) {
        // SAFETY: allocated above with this layout, freed once.
        unsafe { alloc::alloc::dealloc(p, layout) };
    }
    drop(blocks);
    let after = heap::stats();
    assert_eq!(after.allocations, before.allocations, "allocations leaked");
    assert_eq!(after.allocated, before.allocated, "bytes leaked");
}

#[kernel_test]
fn grows_from_the_frame_allocator() {
    let before = heap::stats();
    let frames_before = crate::mm::frame::stats().free;
    // More than any single growth step: the heap must map more frames.
    let big: Vec<u64> = (0..(4u64 << 20) / 8).collect();
    assert!(heap::stats().mapped >= before.mapped + (4 << 20), "heap did not grow");
    assert!(crate::mm::frame::stats().free < frames_before, "no frames were taken");
    assert_eq!(big.iter().sum::<u64>(), (0..(4u64 << 20) / 8).sum::<u64>());
}

#[kernel_test]
fn collections_work() {
    let mut map = BTreeMap::new();
    for i in 0..1000u32 {
        map.insert(i * 7 % 1000, Box::new(i));
    }
    assert_eq!(map.len(), 1000);
    assert_eq!(**map.get(&0).unwrap(), 0);
    let s = alloc::format!("{} {:?}", 42, [1, 2]);
    assert_eq!(s, "42 [1, 2]");
}
