//! Memory a device reads and writes (DMA), and finding the physical pages
//! behind a kernel buffer.
//!
//! On x86 DMA is cache coherent (the device's accesses snoop the caches),
//! so DMA memory is ordinary write-back RAM reached through the direct map;
//! what must be ordered is only the CPU's own accesses (fences around the
//! ring indices; see `virtio::queue`).

use alloc::vec::Vec;

use entry_asm::layout::{DIRECT_MAP_BASE, DIRECT_MAP_MAX, KERNEL_VIRT_OFFSET, PAGE_SIZE};
use libos_abi::errno::Errno;
use libos_kcore::block_io::Segment;

use crate::mm::{frame, kernel_space, phys};

/// Physically contiguous, zeroed memory for a device, freed when dropped.
pub struct DmaRegion {
    phys: u64,
    pages: u64,
}

impl DmaRegion {
    /// `pages` contiguous zeroed frames; `None` if memory is short.
    pub fn new(pages: u64) -> Option<DmaRegion> {
        let phys = frame::alloc_contiguous_zeroed(pages.max(1), PAGE_SIZE)?;
        Some(DmaRegion { phys, pages: pages.max(1) })
    }

    /// Its physical address (what the device is given).
    pub fn phys(&self) -> u64 {
        self.phys
    }

    /// Its size in bytes.
    pub fn size(&self) -> usize {
        (self.pages * PAGE_SIZE) as usize
    }

    /// A pointer to byte `offset` (through the direct map).
    pub fn ptr(&self, offset: usize) -> *mut u8 {
        assert!(offset < self.size(), "DMA offset {offset:#x} outside the region");
        // SAFETY (of later uses): the frames are ours until drop, and the
        // direct map reaches all physical memory.
        phys::to_virt(self.phys + offset as u64)
    }
}

impl Drop for DmaRegion {
    fn drop(&mut self) {
        for i in 0..self.pages {
            frame::free(self.phys + i * PAGE_SIZE);
        }
    }
}

// SAFETY: a DmaRegion is only an address range of frames it owns; what is
// read or written through it is synchronised by its users (queue locks).
unsafe impl Send for DmaRegion {}
// SAFETY: as above: `&DmaRegion` hands out addresses only.
unsafe impl Sync for DmaRegion {}

/// The physical address of kernel address `virt`, if mapped.
fn virt_to_phys(virt: u64) -> Option<u64> {
    if virt >= KERNEL_VIRT_OFFSET {
        return Some(phys::image_to_phys(virt));
    }
    if (DIRECT_MAP_BASE..DIRECT_MAP_BASE + DIRECT_MAP_MAX).contains(&virt) {
        return Some(virt - DIRECT_MAP_BASE);
    }
    kernel_space::translate(virt).map(|t| t.phys)
}

/// The physically contiguous pieces of the kernel buffer at `ptr` of
/// `len` bytes, in order, adjacent pages merged. `EFAULT` if a page of it
/// is not mapped in the kernel's tables (a user address, say).
///
/// The caller must keep the buffer alive and in place while a device
/// uses the addresses (the block and network drivers do: they wait for
/// the device before returning).
pub fn buffer_segments(ptr: *const u8, len: usize) -> Result<Vec<Segment>, Errno> {
    let mut out: Vec<Segment> = Vec::new();
    let mut virt = ptr as u64;
    let end = virt.checked_add(len as u64).ok_or(Errno::EFAULT)?;
    while virt < end {
        let piece = (PAGE_SIZE - virt % PAGE_SIZE).min(end - virt);
        let phys = virt_to_phys(virt).ok_or(Errno::EFAULT)?;
        match out.last_mut() {
            Some(last) if last.phys + last.len as u64 == phys && last.len as u64 + piece <= u32::MAX as u64 => {
                last.len += piece as u32;
            }
            _ => out.push(Segment { phys, len: piece as u32 }),
        }
        virt += piece;
    }
    Ok(out)
}
