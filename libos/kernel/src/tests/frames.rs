//! The physical frame allocator.

use alloc::vec::Vec;

use libos_kcore::phys_range::{PhysRange, RangeSet};
use libos_macros::kernel_test;

use crate::boot::{self, MEMORY_MAP_MAX};
use crate::mm::frame;

#[kernel_test]
fn never_returns_a_reserved_frame() {
    let info = boot::info();
    let usable = info.usable_memory();
    let mut allocatable = heapless::Vec::new();
    frame::allocatable_ranges(&mut allocatable);
    // Take every free frame (kept in a heap vector allocated first so the
    // heap does not need frames while we hold them all; counted after the
    // vector's own growth took what it needed).
    let mut taken: Vec<u64> = Vec::with_capacity(frame::stats().free as usize + 16);
    let before = frame::stats().free;
    while let Some(f) = frame::alloc() {
        taken.push(f);
    }
    // Checked with every frame given back first, so a failure here does
    // not starve the tests that follow.
    let problem = frame_problem(&taken, info, &usable, &allocatable);
    // No heap allocation from here until the frames are back.
    taken.sort_unstable();
    let duplicate = taken.windows(2).find(|w| w[0] == w[1]).map(|w| w[0]);
    for &f in &taken {
        frame::free(f);
    }
    assert!(taken.len() as u64 >= before - 16, "allocated {} of {before} free frames", taken.len());
    assert_eq!(problem, None);
    assert_eq!(duplicate, None, "a frame was handed out twice");
    assert_eq!(frame::stats().free, before);
}

/// What is wrong with the first bad frame of `taken`, if one is.
fn frame_problem(
    taken: &[u64],
    info: &boot::BootInfo,
    usable: &RangeSet<MEMORY_MAP_MAX>,
    allocatable: &[PhysRange],
) -> Option<heapless::String<96>> {
    use core::fmt::Write;
    let mut why = heapless::String::new();
    for &f in taken {
        let page = PhysRange::with_len(f, 4096);
        let problem = if info.reserved.overlaps(&page) {
            "is reserved"
        } else if !usable.contains_range(&page) {
            "is not usable RAM"
        } else if f < 1 << 20 {
            "is in the first MiB"
        } else if info.image.overlaps(&page) {
            "is inside the image"
        } else if info.payload.is_some_and(|p| p.overlaps(&page)) {
            "is inside the app payload"
        } else if !allocatable.iter().any(|r| r.contains(f)) {
            "is outside the allocatable ranges"
        } else {
            continue;
        };
        let _ = write!(why, "frame {f:#x} {problem}");
        return Some(why);
    }
    None
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
