//! The physical frame allocator.

use alloc::vec::Vec;

use libos_kcore::phys_range::PhysRange;
use libos_macros::kernel_test;

use crate::boot;
use crate::mm::frame;

#[kernel_test]
fn never_returns_a_reserved_frame() {
    let info = boot::info();
    let usable = info.usable_memory();
    let mut allocatable = heapless::Vec::new();
    frame::allocatable_ranges(&mut allocatable);
    let before = frame::stats().free;
    // Take every free frame (kept in a heap vector allocated first so the
    // heap does not need frames while we hold them all).
    let mut taken: Vec<u64> = Vec::with_capacity(before as usize + 16);
    while let Some(f) = frame::alloc() {
        taken.push(f);
    }
    assert!(taken.len() as u64 >= before - 16, "allocated {} of {before} free frames", taken.len());
    for &f in &taken {
        let page = PhysRange::with_len(f, 4096);
        assert!(!info.reserved.overlaps(&page), "frame {f:#x} is reserved");
        assert!(usable.contains_range(&page), "frame {f:#x} is not usable RAM");
        assert!(f >= 1 << 20, "frame {f:#x} is in the first MiB");
        assert!(!info.image.overlaps(&page), "frame {f:#x} is inside the image");
        if let Some(payload) = info.payload {
            assert!(!payload.overlaps(&page), "frame {f:#x} is inside the app payload");
        }
        assert!(allocatable.iter().any(|r| r.contains(f)), "frame {f:#x} outside the allocatable ranges");
    }
    // No heap allocation from here until the frames are back.
    taken.sort_unstable();
    let duplicate = taken.windows(2).find(|w| w[0] == w[1]).map(|w| w[0]);
    for &f in &taken {
        frame::free(f);
    }
    assert_eq!(duplicate, None, "a frame was handed out twice");
    assert_eq!(frame::stats().free, before);
}

#[kernel_test(should_panic = "not allocated")]
fn double_free_is_caught() {
    let f = frame::alloc().expect("frame");
    frame::free(f);
    frame::free(f);
}

#[kernel_test(should_panic = "not allocated")]
fn freeing_the_image_is_caught() {
    frame::free(boot::info().image.start);
}

#[kernel_test]
fn contiguous_aligned_pairs() {
    let pair = frame::alloc_contiguous_zeroed(2, 8192).expect("8 KiB-aligned pair");
    assert_eq!(pair % 8192, 0);
    frame::free(pair);
    frame::free(pair + 4096);
}
