//! Walking the user half of a page table over a range, visiting only what
//! is there (Linux's `walk_page_range` and the `zap_*_range` loops of
//! `mm/memory.c`): an empty PML4, PDPT or PD entry skips its whole subtree
//! (512 GiB, 1 GiB, 2 MiB) in one step, so the cost of a walk is the number
//! of table entries it looks at, never the size of the range.
//!
//! A walk is bounded by a budget of entries; when it runs out the walk
//! returns where to resume, so that a caller can let go of its lock (and
//! let interrupts, other CPUs and a kill in) between bounded chunks.
//!
//! Leaves are 4 KiB entries only: the user half has no huge pages. A leaf
//! is *in use* when it is not all zero: present, or not present but still
//! holding a frame (see `mm::address_space` for `PROT_NONE` pages).

use x86_64::structures::paging::page_table::PageTableEntry;
use x86_64::structures::paging::{PageTable, PageTableFlags};

use crate::mm::phys;

/// Bytes one entry covers at `level` (1 = PT, 4 = PML4).
const fn span(level: u8) -> u64 {
    1 << (12 + 9 * (level as u64 - 1))
}

/// Visits every in-use leaf of the table at `pml4_phys` whose page lies in
/// `[start, end)` (user addresses, page aligned), calling `leaf(va, entry)`.
/// Each table entry looked at costs one unit of `budget`; returns `None`
/// when the range is done, or `Some(resume)` when the budget ran out first
/// (call again from `resume`).
///
/// # Safety
/// The caller holds the lock of this page table (nothing else changes it
/// meanwhile), and `leaf` keeps it a valid page table.
pub unsafe fn walk_leaves(
    pml4_phys: u64,
    start: u64,
    end: u64,
    budget: &mut usize,
    leaf: &mut dyn FnMut(u64, &mut PageTableEntry),
) -> Option<u64> {
    debug_assert!(start.is_multiple_of(4096) && end <= 1 << 47);
    // SAFETY: forwarded from the caller.
    unsafe { walk_level(pml4_phys, 4, 0, start, end, budget, leaf) }
}

/// # Safety
/// As [`walk_leaves`]; `table_phys` is a table of `level` covering
/// `[base, base + 512 * span(level))`.
unsafe fn walk_level(
    table_phys: u64,
    level: u8,
    base: u64,
    start: u64,
    end: u64,
    budget: &mut usize,
    leaf: &mut dyn FnMut(u64, &mut PageTableEntry),
) -> Option<u64> {
    let span = span(level);
    // SAFETY: a page table of this address space, reached through the
    // direct map; the caller's lock makes the access exclusive.
    let table = unsafe { &mut *(phys::to_virt(table_phys) as *mut PageTable) };
    let first = (start.max(base) - base) / span;
    for index in first as usize..512 {
        let va = base + index as u64 * span;
        if va >= end {
            break;
        }
        if *budget == 0 {
            return Some(va.max(start));
        }
        *budget -= 1;
        let entry = &mut table[index];
        if entry.is_unused() {
            continue;
        }
        if level == 1 {
            leaf(va, entry);
        } else if entry.flags().contains(PageTableFlags::PRESENT) && !entry.flags().contains(PageTableFlags::HUGE_PAGE)
        {
            let child = entry.addr().as_u64();
            // SAFETY: a present, non-huge entry above a leaf points at the
            // next level's table, covering `[va, va + span)`.
            if let Some(resume) = unsafe { walk_level(child, level - 1, va, start, end, budget, leaf) } {
                return Some(resume);
            }
        }
    }
    None
}

/// The leaf entry of `va` in the table at `pml4_phys`, if the tables down
/// to it exist (the entry itself may be unused).
///
/// # Safety
/// As [`walk_leaves`]; the reference must not outlive the caller's lock.
pub unsafe fn leaf_entry<'a>(pml4_phys: u64, va: u64) -> Option<&'a mut PageTableEntry> {
    let mut table_phys = pml4_phys;
    for level in (1..=4u8).rev() {
        let index = ((va >> (12 + 9 * (level as u64 - 1))) & 511) as usize;
        // SAFETY: as in `walk_level`.
        let table = unsafe { &mut *(phys::to_virt(table_phys) as *mut PageTable) };
        let entry = &mut table[index];
        if level == 1 {
            return Some(entry);
        }
        let flags = entry.flags();
        if !flags.contains(PageTableFlags::PRESENT) || flags.contains(PageTableFlags::HUGE_PAGE) {
            return None;
        }
        table_phys = entry.addr().as_u64();
    }
    None
}
