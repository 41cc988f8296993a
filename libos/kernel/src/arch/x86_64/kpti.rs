//! Kernel page-table isolation: what the user half of a PML4 pair maps of
//! the kernel.
//!
//! A user page table maps the app and, of the kernel, only what the CPU
//! needs before the entry code has switched CR3: the CPU entry areas
//! (GDT, TSS, entry and IST stacks, trampolines, the read-only IDT), which
//! live in their own PML4 slot shared with the kernel page table, and the
//! entry text (interrupt stubs and the exit paths), mapped here once, at
//! its kernel address, in a page-table branch of its own that every user
//! PML4 points at. Nothing else of the kernel is there: not its text, data,
//! heap, stacks or the direct map.

use entry_asm::layout::{CPU_ENTRY_AREA_BASE, PAGE_SIZE, pml4_index};
use entry_asm::symbol_address;
use x86_64::PhysAddr;
use x86_64::structures::paging::{PageTable, PageTableFlags};

use crate::arch::x86_64::paging::{self, Flags, KERNEL_TABLE_FLAGS, flags};
use crate::mm::{frame, kernel_space, phys};
use crate::sync::InitCell;

/// The user-side PML4 entries for the kernel half: (slot, entry).
#[derive(Clone, Copy, Debug)]
pub struct UserKernelHalf {
    /// Slot of the entry areas and its entry (the kernel's own PDPT).
    pub entry_areas: (usize, u64),
    /// Slot of the kernel image and the entry for the entry-text-only branch.
    pub entry_text: (usize, u64),
}

static USER_KERNEL_HALF: InitCell<UserKernelHalf> = InitCell::new();

/// Builds the entry-text branch (once, on the boot CPU, after the kernel
/// page table is active).
pub fn init() -> &'static UserKernelHalf {
    // A private PML4 to build the branch with the ordinary mapping code; its
    // slot for the kernel image then becomes every user PML4's entry.
    let scratch = frame::alloc_zeroed().expect("no frame for the KPTI scratch PML4");
    let start = symbol_address!(__entry_text_start);
    let end = symbol_address!(__entry_text_end);
    let mut va = start;
    while va < end {
        // SAFETY: the scratch table is private to this function; the frames
        // are the kernel's own entry text, mapped read + execute.
        unsafe {
            paging::map_4k(scratch, va, phys::image_to_phys(va), flags::KERNEL_RX | Flags::GLOBAL, KERNEL_TABLE_FLAGS)
        }
        .expect("mapping the entry text for user page tables");
        va += PAGE_SIZE;
    }
    // SAFETY: the scratch PML4 is ours; we only read its entries.
    let scratch_table = unsafe { &*(phys::to_virt(scratch) as *const PageTable) };
    let image_slot = pml4_index(symbol_address!(__entry_text_start));
    let text_entry = scratch_table[image_slot].addr().as_u64() | KERNEL_TABLE_FLAGS.bits();
    frame::free(scratch);
    // SAFETY: the kernel PML4 is only read here (its slot entries never change after boot).
    let kernel_table = unsafe { &*(phys::to_virt(kernel_space::kernel_pml4()) as *const PageTable) };
    let cea_slot = pml4_index(CPU_ENTRY_AREA_BASE);
    let cea_entry = kernel_table[cea_slot].addr().as_u64() | KERNEL_TABLE_FLAGS.bits();
    USER_KERNEL_HALF.set(UserKernelHalf { entry_areas: (cea_slot, cea_entry), entry_text: (image_slot, text_entry) })
}

/// The entries every user PML4 gets for the kernel half.
pub fn user_kernel_half() -> &'static UserKernelHalf {
    USER_KERNEL_HALF.expect("KPTI user kernel half")
}

/// Writes the kernel-half entries into the user PML4 at `user_pml4`.
pub fn install_user_kernel_half(user_pml4: u64) {
    let half = user_kernel_half();
    // SAFETY: the user PML4 is freshly allocated and owned by the caller.
    let table = unsafe { &mut *(phys::to_virt(user_pml4) as *mut PageTable) };
    for (slot, entry) in [half.entry_areas, half.entry_text] {
        table[slot].set_addr(PhysAddr::new(entry & 0x000F_FFFF_FFFF_F000), PageTableFlags::from_bits_truncate(entry));
    }
}
