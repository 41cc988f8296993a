//! The kernel's physical frame allocator (a `libos_kcore` bitmap behind a lock).

use core::sync::atomic::{AtomicU64, Ordering};

use libos_kcore::PAGE_SIZE;
use libos_kcore::frame_allocator::{BitmapStorage, FrameAllocator};
use libos_kcore::phys_range::PhysRange;
use x86_64::PhysAddr;
use x86_64::structures::paging::{PhysFrame, Size4KiB};

use crate::boot::BootInfo;
use crate::mm::phys;
use crate::sync::SpinLock;

/// The bitmap, in physical memory, reached through whichever mapping is active.
pub struct PhysBitmap {
    phys: u64,
    words: usize,
}

impl BitmapStorage for PhysBitmap {
    fn words(&self) -> &[u64] {
        // SAFETY: the bitmap's frames were taken out of the pool at init and
        // belong to the allocator; `to_virt` reaches them.
        unsafe { core::slice::from_raw_parts(phys::to_virt(self.phys) as *const u64, self.words) }
    }
    fn words_mut(&mut self) -> &mut [u64] {
        // SAFETY: as above; the allocator lock makes this the only access.
        unsafe { core::slice::from_raw_parts_mut(phys::to_virt(self.phys) as *mut u64, self.words) }
    }
}

static FRAMES: SpinLock<Option<FrameAllocator<PhysBitmap>>> = SpinLock::new(None);

/// Frame counts for the boot report.
#[derive(Clone, Copy, Debug)]
pub struct FrameStats {
    /// Frames free now.
    pub free: u64,
    /// Frames ever usable (free or in use).
    pub usable: u64,
}

/// Sets up the allocator from the boot information: free = available RAM;
/// never = the first MiB, the image and payload, the loader's data, the
/// bitmap itself.
pub fn init(boot: &BootInfo) -> FrameStats {
    let max_phys = boot.usable_memory().end();
    let words = FrameAllocator::<PhysBitmap>::bitmap_words(max_phys);
    let bytes = (words as u64 * 8).next_multiple_of(PAGE_SIZE);
    // The bitmap goes into the first free place that the identity map reaches.
    let place = boot
        .usable_memory()
        .ranges()
        .iter()
        .filter_map(|r| {
            let mut candidate = PhysRange::new(r.start.max(1 << 20), r.end.min(phys::IDENTITY_LIMIT));
            // Skip past any reserved range that overlaps.
            for res in boot.reserved.ranges() {
                if candidate.overlaps(res) && res.start <= candidate.start {
                    candidate = PhysRange::new(res.end.next_multiple_of(PAGE_SIZE), candidate.end);
                }
            }
            let fit = PhysRange::with_len(candidate.start.next_multiple_of(PAGE_SIZE), bytes);
            (fit.end <= candidate.end && !boot.reserved.overlaps(&fit)).then_some(fit)
        })
        .next()
        .expect("no room for the frame bitmap in memory below 4 GiB");
    let mut alloc = FrameAllocator::new(PhysBitmap { phys: place.start, words }, max_phys);
    for r in boot.usable_memory().ranges() {
        alloc.add_free(*r);
    }
    for r in boot.reserved.ranges() {
        alloc.reserve(*r);
    }
    alloc.reserve(place);
    let stats = FrameStats { free: alloc.free_frames(), usable: alloc.usable_frames() };
    RESERVE_FRAMES.store((stats.free / 8).min(KERNEL_RESERVE_FRAMES), Ordering::Relaxed);
    *FRAMES.lock() = Some(alloc);
    stats
}

fn with<R>(f: impl FnOnce(&mut FrameAllocator<PhysBitmap>) -> R) -> R {
    let mut guard = FRAMES.lock();
    f(guard.as_mut().expect("frame allocator used before init"))
}

/// The highest address a frame may have right now: the identity map's limit
/// until the direct map is active.
fn limit() -> u64 {
    if phys::direct_map_active() { u64::MAX } else { phys::IDENTITY_LIMIT }
}

/// One frame, contents undefined.
pub fn alloc() -> Option<u64> {
    let limit = limit();
    with(|a| a.allocate_below(limit))
}

/// Frames that app pages never take: what the kernel needs to go on
/// working for the app once its pages have taken the rest (heap growth for
/// regions and the like, page tables, a kill report), as Linux keeps its
/// `min_free_kbytes` watermark for allocations that may not fail. 1 MiB
/// (four growths of the kernel heap, `heap::GROW_MIN`), or an eighth of
/// the free memory at boot on machines under about 8 MiB (the heap then
/// grows by what an allocation needs; a machine that small keeps a weaker
/// promise).
pub const KERNEL_RESERVE_FRAMES: u64 = 256;

/// The reserve for this machine (set by [`init`]).
static RESERVE_FRAMES: AtomicU64 = AtomicU64::new(KERNEL_RESERVE_FRAMES);

/// A zeroed frame for an app's page, refused while no more than
/// [`KERNEL_RESERVE_FRAMES`] are free.
pub fn alloc_zeroed_for_app() -> Option<u64> {
    let limit = limit();
    let reserve = RESERVE_FRAMES.load(Ordering::Relaxed);
    let f = with(|a| if a.free_frames() > reserve { a.allocate_below(limit) } else { None })?;
    phys::zero_frame(f);
    Some(f)
}

/// A frame for an app's page whose contents the caller writes at once
/// (a forked copy), refused as [`alloc_zeroed_for_app`] is.
pub fn alloc_for_app() -> Option<u64> {
    let limit = limit();
    let reserve = RESERVE_FRAMES.load(Ordering::Relaxed);
    with(|a| if a.free_frames() > reserve { a.allocate_below(limit) } else { None })
}

/// Whether more than the kernel's reserve is free: work the kernel does
/// for an app that needs memory (a new region) is refused with `ENOMEM`
/// otherwise, before an allocation could fail.
pub fn above_kernel_reserve() -> bool {
    let reserve = RESERVE_FRAMES.load(Ordering::Relaxed);
    with(|a| a.free_frames() > reserve)
}

/// One frame filled with zeros.
pub fn alloc_zeroed() -> Option<u64> {
    let f = alloc()?;
    phys::zero_frame(f);
    Some(f)
}

/// One zeroed frame below 4 GiB (for what real mode or 32-bit code must reach).
pub fn alloc_below_4g_zeroed() -> Option<u64> {
    let f = with(|a| a.allocate_below(1 << 32))?;
    phys::zero_frame(f);
    Some(f)
}

/// `count` contiguous frames aligned to `align` bytes, filled with zeros.
pub fn alloc_contiguous_zeroed(count: u64, align: u64) -> Option<u64> {
    let limit = limit();
    let base = with(|a| a.allocate_contiguous(count, align, limit))?;
    for i in 0..count {
        phys::zero_frame(base + i * PAGE_SIZE);
    }
    Some(base)
}

/// Returns a frame. Freeing a frame that is not allocated is a kernel bug.
pub fn free(frame: u64) {
    if let Err(e) = with(|a| a.free(frame)) {
        panic!("frame allocator: {e}");
    }
}

/// Current counts.
pub fn stats() -> FrameStats {
    with(|a| FrameStats { free: a.free_frames(), usable: a.usable_frames() })
}

/// The ranges the allocator may hand out (for the boot-time tests).
#[cfg(feature = "boot-tests")]
pub fn allocatable_ranges(out: &mut heapless::Vec<PhysRange, 128>) {
    with(|a| {
        out.clear();
        for r in a.allocatable_ranges() {
            let _ = out.push(*r);
        }
    })
}

/// The allocator as the `x86_64` crate's page-table code wants it: zeroed
/// frames for new page tables.
pub struct PageTableFrames;

// SAFETY: every frame returned is freshly allocated, unused and zeroed.
unsafe impl x86_64::structures::paging::FrameAllocator<Size4KiB> for PageTableFrames {
    fn allocate_frame(&mut self) -> Option<PhysFrame<Size4KiB>> {
        alloc_zeroed().map(|f| PhysFrame::containing_address(PhysAddr::new(f)))
    }
}

impl x86_64::structures::paging::FrameDeallocator<Size4KiB> for PageTableFrames {
    /// # Safety
    /// As the trait requires: `frame` came from this allocator and is unused.
    unsafe fn deallocate_frame(&mut self, frame: PhysFrame<Size4KiB>) {
        free(frame.start_address().as_u64());
    }
}
