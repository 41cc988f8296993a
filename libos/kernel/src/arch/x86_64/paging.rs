//! The x86_64 page tables, through the `x86_64` crate's `OffsetPageTable`.
//!
//! A page table is named by the physical address of its PML4. The caller
//! must hold whatever lock guards that table (the kernel half is guarded by
//! `mm::kernel_space`, a process's user half by its address space).

use x86_64::structures::paging::mapper::{MapToError, MappedFrame, TranslateResult, UnmapError};
use x86_64::structures::paging::{Mapper, OffsetPageTable, Page, PageTable, PhysFrame, Size2MiB, Size4KiB, Translate};
use x86_64::{PhysAddr, VirtAddr};

use crate::mm::frame::PageTableFrames;
use crate::mm::phys;

pub use x86_64::structures::paging::PageTableFlags as Flags;

/// Flags of the intermediate tables above a kernel mapping.
pub const KERNEL_TABLE_FLAGS: Flags = Flags::PRESENT.union(Flags::WRITABLE);
/// Flags of the intermediate tables above a user mapping.
pub const USER_TABLE_FLAGS: Flags = Flags::PRESENT.union(Flags::WRITABLE).union(Flags::USER_ACCESSIBLE);

/// Why a mapping could not be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapError {
    /// No frame for a page table.
    OutOfMemory,
    /// Something is mapped there already.
    AlreadyMapped,
    /// A huge page is in the way.
    HugePageInTheWay,
}

impl<S: x86_64::structures::paging::PageSize> From<MapToError<S>> for MapError {
    fn from(e: MapToError<S>) -> MapError {
        match e {
            MapToError::FrameAllocationFailed => MapError::OutOfMemory,
            MapToError::PageAlreadyMapped(_) => MapError::AlreadyMapped,
            MapToError::ParentEntryHugePage => MapError::HugePageInTheWay,
        }
    }
}

/// A view of the page table whose PML4 is at `pml4_phys`.
///
/// # Safety
/// The caller must hold the lock of that table for as long as the view
/// lives, and no other reference to the PML4 may be in use.
pub unsafe fn table(pml4_phys: u64) -> OffsetPageTable<'static> {
    // SAFETY: the PML4 is a page-table frame reached through the active
    // physical window; the caller guarantees exclusive access.
    unsafe {
        let pml4 = &mut *(phys::to_virt(pml4_phys) as *mut PageTable);
        OffsetPageTable::new(pml4, VirtAddr::new(phys::offset()))
    }
}

/// Maps the 4 KiB page at `virt` to the frame at `phys`. The TLB is not
/// flushed: mapping a page that was not mapped needs none.
///
/// # Safety
/// As [`table`]; and the mapping must not break memory safety (the frame
/// must be owned by whoever the mapping is for).
pub unsafe fn map_4k(pml4_phys: u64, virt: u64, phys: u64, flags: Flags, table_flags: Flags) -> Result<(), MapError> {
    let page = Page::<Size4KiB>::containing_address(VirtAddr::new(virt));
    let frame = PhysFrame::<Size4KiB>::containing_address(PhysAddr::new(phys));
    // SAFETY: forwarded from the caller.
    let flush =
        unsafe { table(pml4_phys).map_to_with_table_flags(page, frame, flags, table_flags, &mut PageTableFrames)? };
    flush.ignore();
    Ok(())
}

/// Maps the 4 KiB pages of `virt..virt + len` to the frames from `phys`
/// on, with the flags `flags_of(phys)` gives each (`None`: leave that page
/// unmapped). The range may span several 2 MiB blocks; in each, the
/// tables above are found (or made) once, through [`map_4k`] of the first
/// page mapped there, and the other entries of that page table are written
/// directly: at boot this maps a block of 512 pages in a few thousand
/// instructions instead of hundreds of thousands. Pages already mapped are
/// left as they are. The TLB is not flushed.
///
/// # Safety
/// As [`map_4k`], for every page of the range.
pub unsafe fn map_4k_range(
    pml4_phys: u64,
    virt: u64,
    phys: u64,
    len: u64,
    table_flags: Flags,
    mut flags_of: impl FnMut(u64) -> Option<Flags>,
) -> Result<(), MapError> {
    const BLOCK: u64 = 512 * 4096;
    let mut offset = 0;
    while offset < len {
        let va = virt + offset;
        let block_end = ((va / BLOCK) + 1) * BLOCK;
        let run = (block_end - va).min(len - offset);
        let mut table: Option<*mut PageTable> = None;
        let mut o = 0;
        while o < run {
            let (v, p) = (va + o, phys + offset + o);
            if let Some(flags) = flags_of(p) {
                match table {
                    // SAFETY: the page table of this block, reached through
                    // the physical window; the caller holds its lock.
                    Some(pt) => unsafe {
                        let entry = &mut (&mut *pt)[((v >> 12) & 511) as usize];
                        if entry.is_unused() {
                            entry.set_addr(PhysAddr::new(p), flags);
                        }
                    },
                    None => {
                        // SAFETY: forwarded from the caller.
                        match unsafe { map_4k(pml4_phys, v, p, flags, table_flags) } {
                            Ok(()) | Err(MapError::AlreadyMapped) => {}
                            Err(e) => return Err(e),
                        }
                        // SAFETY: as above: the tables exist now.
                        table = unsafe { leaf_table(pml4_phys, v) };
                    }
                }
            }
            o += 4096;
        }
        offset += run;
    }
    Ok(())
}

/// The page table (level 1) that maps `virt`, if the levels above lead to
/// one (not a huge page).
///
/// # Safety
/// As [`table`].
unsafe fn leaf_table(pml4_phys: u64, virt: u64) -> Option<*mut PageTable> {
    let mut table = phys::to_virt(pml4_phys) as *mut PageTable;
    for level in [39u64, 30, 21] {
        // SAFETY: each table is a page-table frame reached through the
        // physical window; the caller holds the lock.
        let entry = unsafe { &(&*table)[((virt >> level) & 511) as usize] };
        if entry.is_unused() || entry.flags().contains(Flags::HUGE_PAGE) {
            return None;
        }
        table = phys::to_virt(entry.addr().as_u64()) as *mut PageTable;
    }
    Some(table)
}

/// Maps the 2 MiB page at `virt` to the 2 MiB frame at `phys`.
///
/// # Safety
/// As [`map_4k`].
pub unsafe fn map_2m(pml4_phys: u64, virt: u64, phys: u64, flags: Flags, table_flags: Flags) -> Result<(), MapError> {
    let page = Page::<Size2MiB>::containing_address(VirtAddr::new(virt));
    let frame = PhysFrame::<Size2MiB>::containing_address(PhysAddr::new(phys));
    // SAFETY: forwarded from the caller.
    let flush = unsafe {
        table(pml4_phys).map_to_with_table_flags(
            page,
            frame,
            flags | Flags::HUGE_PAGE,
            table_flags,
            &mut PageTableFrames,
        )?
    };
    flush.ignore();
    Ok(())
}

/// Unmaps the 4 KiB page at `virt` and returns the frame it mapped. The
/// caller flushes the TLB (this CPU and, for shared tables, the others).
///
/// # Safety
/// As [`table`]; and nothing may use the page afterwards.
pub unsafe fn unmap_4k(pml4_phys: u64, virt: u64) -> Option<u64> {
    let page = Page::<Size4KiB>::containing_address(VirtAddr::new(virt));
    // SAFETY: forwarded from the caller.
    match unsafe { table(pml4_phys).unmap(page) } {
        Ok((frame, flush)) => {
            flush.ignore();
            Some(frame.start_address().as_u64())
        }
        Err(UnmapError::PageNotMapped) => None,
        Err(e) => panic!("unmapping {virt:#x}: {e:?}"),
    }
}

/// A translation: physical address, the leaf's flags, and the page size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Translation {
    /// Physical address `virt` maps to.
    pub phys: u64,
    /// Flags of the leaf entry.
    pub flags: Flags,
    /// Size of the page in bytes.
    pub page_size: u64,
}

/// How `virt` is mapped in the table at `pml4_phys`.
///
/// # Safety
/// As [`table`] (a read-only walk; the lock keeps the table from changing).
pub unsafe fn translate(pml4_phys: u64, virt: u64) -> Option<Translation> {
    // SAFETY: forwarded from the caller.
    let t = unsafe { table(pml4_phys) };
    match t.translate(VirtAddr::new(virt)) {
        TranslateResult::Mapped { frame, offset, flags } => {
            let (base, size) = match frame {
                MappedFrame::Size4KiB(f) => (f.start_address().as_u64(), 4096),
                MappedFrame::Size2MiB(f) => (f.start_address().as_u64(), 2 << 20),
                MappedFrame::Size1GiB(f) => (f.start_address().as_u64(), 1 << 30),
            };
            Some(Translation { phys: base + offset, flags, page_size: size })
        }
        _ => None,
    }
}

/// Invalidates this CPU's TLB entry for `virt`.
pub fn flush_local(virt: u64) {
    x86_64::instructions::tlb::flush(VirtAddr::new(virt));
}

/// Flag set helpers.
pub mod flags {
    use super::Flags;
    /// Kernel read-only data: present, not executable.
    pub const KERNEL_RO: Flags = Flags::PRESENT.union(Flags::NO_EXECUTE);
    /// Kernel data: present, writable, not executable.
    pub const KERNEL_RW: Flags = Flags::PRESENT.union(Flags::WRITABLE).union(Flags::NO_EXECUTE);
    /// Kernel code: present, executable, read-only.
    pub const KERNEL_RX: Flags = Flags::PRESENT;
}
