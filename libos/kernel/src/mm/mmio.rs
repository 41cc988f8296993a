//! Mapping device memory and firmware tables (Linux's ioremap).
//!
//! Mappings are placed one after another in the ioremap area and never
//! reused; unmapping only removes the pages (the area is 64 GiB).

use core::sync::atomic::{AtomicU64, Ordering};

use entry_asm::layout::{IOREMAP_BASE, IOREMAP_MAX, PAGE_SIZE};

use crate::arch::x86_64::paging::{Flags, flags};
use crate::mm::kernel_space;
use crate::smp::shootdown::FlushBatch;

static NEXT: AtomicU64 = AtomicU64::new(IOREMAP_BASE);

/// How a mapping is cached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Caching {
    /// Normal write-back memory (firmware tables in RAM).
    WriteBack,
    /// Uncached (device registers).
    Uncached,
}

/// Maps `len` bytes of physical memory at `phys` (read + write, NX) and
/// returns the virtual address of `phys`.
pub fn map(phys: u64, len: u64, caching: Caching) -> u64 {
    let first = phys - phys % PAGE_SIZE;
    let end = (phys + len.max(1)).next_multiple_of(PAGE_SIZE);
    let size = end - first;
    let base = NEXT.fetch_add(size + PAGE_SIZE, Ordering::Relaxed);
    assert!(base + size <= IOREMAP_BASE + IOREMAP_MAX, "ioremap area exhausted");
    let mut f = flags::KERNEL_RW;
    if caching == Caching::Uncached {
        f |= Flags::NO_CACHE | Flags::WRITE_THROUGH;
    }
    let mut off = 0;
    while off < size {
        kernel_space::map(base + off, first + off, f).expect("ioremap: mapping failed");
        off += PAGE_SIZE;
    }
    base + (phys - first)
}

/// Removes the mapping made by [`map`] for `virt`/`len`.
pub fn unmap(virt: u64, len: u64) {
    let first = virt - virt % PAGE_SIZE;
    let end = (virt + len.max(1)).next_multiple_of(PAGE_SIZE);
    let mut batch = FlushBatch::kernel();
    let mut va = first;
    while va < end {
        kernel_space::unmap(va, &mut batch);
        va += PAGE_SIZE;
    }
    // The area's addresses are never reused, and device or firmware pages
    // are not frames to free: flushing when the batch drops is enough.
}
