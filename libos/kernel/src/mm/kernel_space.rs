//! The kernel's own address space: the kernel half that every page table
//! shares.
//!
//! The kernel half (PML4 slots 256..512) is built once. Every PML4 slot the
//! kernel will ever use gets its PDPT up front, so an address space that
//! copies the kernel half's PML4 entries sees every later kernel mapping
//! (heap growth, new stacks, device mappings) without being told.
//!
//! | region | flags |
//! |---|---|
//! | kernel text (entry text and trampoline included) | read + execute |
//! | kernel rodata | read, NX |
//! | kernel data and bss | read + write, NX; the page under the boot stack unmapped |
//! | direct map of RAM (and the first MiB) | read + write, NX; kernel text and rodata read-only |
//! | heap, stacks, ioremap, entry areas | mapped by their owners |

use entry_asm::layout::{self, DIRECT_MAP_BASE, PAGE_SIZE, pml4_index};
use entry_asm::symbol_address;
use libos_kcore::phys_range::PhysRange;
use x86_64::PhysAddr;
use x86_64::registers::control::{Cr3, Cr3Flags};
use x86_64::structures::paging::{PageTable, PhysFrame};

use crate::arch::x86_64::paging::{self, Flags, KERNEL_TABLE_FLAGS, MapError, flags};
use crate::boot::BootInfo;
use crate::config;
use crate::mm::{frame, phys};
use crate::smp::shootdown::FlushBatch;
use crate::sync::{InitCell, SpinLock};

static KERNEL_PML4: InitCell<u64> = InitCell::new();
/// Guards changes to the kernel half.
static KERNEL_TABLES: SpinLock<()> = SpinLock::new(());

/// Physical address of the kernel's PML4.
pub fn kernel_pml4() -> u64 {
    *KERNEL_PML4.expect("kernel page table")
}

/// `GLOBAL` when kernel mappings may be global (no KPTI), else empty.
pub fn global() -> Flags {
    if config::get().global_kernel_pages { Flags::GLOBAL } else { Flags::empty() }
}

/// The PML4 slots of the kernel half that get a PDPT at boot.
fn kernel_slots(max_phys: u64) -> impl Iterator<Item = usize> {
    let direct_slots = max_phys.div_ceil(1 << 39).max(1) as usize;
    let direct = pml4_index(DIRECT_MAP_BASE)..pml4_index(DIRECT_MAP_BASE) + direct_slots;
    direct.chain([
        pml4_index(layout::KERNEL_HEAP_BASE),
        pml4_index(layout::KERNEL_STACKS_BASE),
        pml4_index(layout::IOREMAP_BASE),
        pml4_index(layout::CPU_ENTRY_AREA_BASE),
        pml4_index(layout::KERNEL_VIRT_OFFSET),
    ])
}

/// Builds the kernel page table and switches to it. Returns how much of the
/// direct map was mapped.
pub fn init(boot: &BootInfo) -> u64 {
    // 8 KiB aligned: the entry code takes CR3 bit 12 to mean "a user page
    // table" (KPTI), so no kernel PML4 may ever have it set.
    let pml4 = frame::alloc_contiguous_zeroed(1, 8192).expect("no frame for the kernel PML4");
    let direct = boot.direct_map_ranges();
    // SAFETY: the PML4 frame is fresh and ours; no one else uses it yet.
    let table = unsafe { &mut *(phys::to_virt(pml4) as *mut PageTable) };
    for slot in kernel_slots(direct.end()) {
        let pdpt = frame::alloc_zeroed().expect("no frame for a kernel PDPT");
        table[slot].set_addr(PhysAddr::new(pdpt), KERNEL_TABLE_FLAGS);
    }
    map_image(pml4);
    let text_ro = PhysRange::new(
        phys::image_to_phys(symbol_address!(__text_start)),
        phys::image_to_phys(symbol_address!(__rodata_end)),
    );
    let mut mapped = 0;
    for r in direct.ranges() {
        mapped += map_direct(pml4, r.grow_to_pages(PAGE_SIZE), text_ro);
    }
    KERNEL_PML4.set(pml4);
    // SAFETY: the new table maps everything the kernel uses from here on:
    // its image (this code, its stack), the direct map (everything physical
    // the kernel reaches) and the PDPTs of the other kernel regions. The
    // boot identity map goes away; nothing uses it after this point.
    unsafe { Cr3::write(PhysFrame::containing_address(PhysAddr::new(pml4)), Cr3Flags::empty()) };
    phys::activate_direct_map();
    mapped
}

/// Maps the kernel image section by section.
fn map_image(pml4: u64) {
    let g = global();
    let sections = [
        (symbol_address!(__text_start), symbol_address!(__text_end), flags::KERNEL_RX | g),
        (symbol_address!(__rodata_start), symbol_address!(__rodata_end), flags::KERNEL_RO | g),
        (symbol_address!(__data_start), symbol_address!(__data_end), flags::KERNEL_RW | g),
    ];
    let guard = phys::image_to_phys(symbol_address!(__boot_stack_guard));
    for (start, end, f) in sections {
        let len = end.div_ceil(PAGE_SIZE) * PAGE_SIZE - start;
        // SAFETY: the table is not active yet and only this code uses it;
        // the frames are the image's own.
        unsafe {
            paging::map_4k_range(pml4, start, phys::image_to_phys(start), len, KERNEL_TABLE_FLAGS, |pa| {
                (pa != guard).then_some(f)
            })
        }
        .expect("mapping the kernel image");
    }
}

/// Maps `range` into the direct map: 2 MiB pages where a whole aligned
/// block fits and does not touch `read_only`, else 4 KiB pages (read-only
/// inside `read_only`), a block's worth at a time. Returns the bytes
/// mapped.
fn map_direct(pml4: u64, range: PhysRange, read_only: PhysRange) -> u64 {
    const LARGE: u64 = layout::LARGE_PAGE_SIZE;
    let g = global();
    let mut pa = range.start;
    while pa < range.end {
        let large = PhysRange::with_len(pa, LARGE);
        if pa.is_multiple_of(LARGE) && large.end <= range.end && !large.overlaps(&read_only) {
            // SAFETY: the table is not active yet and only this code uses
            // it; the direct map aliases RAM the kernel manages.
            match unsafe { paging::map_2m(pml4, DIRECT_MAP_BASE + pa, pa, flags::KERNEL_RW | g, KERNEL_TABLE_FLAGS) } {
                Ok(()) | Err(MapError::AlreadyMapped) => {}
                Err(e) => panic!("direct map at {pa:#x}: {e:?}"),
            }
            pa += LARGE;
        } else {
            // The rest of this 2 MiB block (or of the range) in 4 KiB pages.
            let end = ((pa / LARGE + 1) * LARGE).min(range.end);
            let flags_of = |p: u64| Some(if read_only.contains(p) { flags::KERNEL_RO } else { flags::KERNEL_RW } | g);
            // SAFETY: as for the large pages above.
            match unsafe {
                paging::map_4k_range(pml4, DIRECT_MAP_BASE + pa, pa, end - pa, KERNEL_TABLE_FLAGS, flags_of)
            } {
                Ok(()) | Err(MapError::AlreadyMapped) | Err(MapError::HugePageInTheWay) => {}
                Err(e) => panic!("direct map at {pa:#x}: {e:?}"),
            }
            pa = end;
        }
    }
    range.len()
}

/// Maps a kernel page (heap, stacks, device memory, entry areas).
pub fn map(virt: u64, phys: u64, flags: Flags) -> Result<(), MapError> {
    let _guard = KERNEL_TABLES.lock();
    // SAFETY: the lock is held; callers map frames they own at addresses of
    // their own region.
    unsafe { paging::map_4k(kernel_pml4(), virt, phys, flags, KERNEL_TABLE_FLAGS) }
}

/// Unmaps a kernel page and flushes it from this CPU's TLB; returns its
/// frame. Other CPUs may still hold the translation (a dead task's stack,
/// say): the page goes into `batch`, and the caller must not reuse the
/// frame or the address before the batch is flushed.
pub fn unmap(virt: u64, batch: &mut FlushBatch<'_>) -> Option<u64> {
    let guard = KERNEL_TABLES.lock();
    // SAFETY: the lock is held; the caller owns the region and no longer uses the page.
    let frame = unsafe { paging::unmap_4k(kernel_pml4(), virt) };
    paging::flush_local(virt);
    drop(guard);
    if frame.is_some() {
        batch.push(virt);
    }
    frame
}

/// How a kernel address is mapped (for DMA and the boot-time tests).
pub fn translate(virt: u64) -> Option<paging::Translation> {
    let _guard = KERNEL_TABLES.lock();
    // SAFETY: the lock is held; the walk only reads.
    unsafe { paging::translate(kernel_pml4(), virt) }
}
