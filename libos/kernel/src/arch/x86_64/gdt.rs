//! The GDT and TSS of each CPU.
//!
//! Linux's x86_64 layout (see `entry_asm::hw::selector`), so that one STAR
//! value serves SYSCALL and SYSRET. The GDT page is written through the
//! direct map and loaded from its read-only alias in the CPU's entry area
//! once the TSS is loaded (LTR must write the TSS descriptor's busy bit).

use core::mem::{offset_of, size_of};

use entry_asm::cpu_entry_area::{self as cea, IST_COUNT};
use entry_asm::hw::selector;
use x86_64::PrivilegeLevel;
use x86_64::VirtAddr;
use x86_64::instructions::segmentation::{CS, DS, ES, FS, GS, SS, Segment};
use x86_64::instructions::tables::{lgdt, load_tss};
use x86_64::registers::model_specific::GsBase;
use x86_64::structures::DescriptorTablePointer;
use x86_64::structures::gdt::SegmentSelector;
use x86_64::structures::tss::TaskStateSegment;

use crate::arch::x86_64::cpu_entry_area::EntryArea;
use crate::mm::phys;

// The trampoline reads TSS.RSP1 through the entry area at this offset.
const _: () = assert!(offset_of!(TaskStateSegment, privilege_stack_table) + 8 == cea::tss::SP1 as usize);
const _: () = assert!(offset_of!(TaskStateSegment, privilege_stack_table) == cea::tss::SP0 as usize);
const _: () = assert!(size_of::<TaskStateSegment>() == cea::tss::SIZE as usize);

/// Segment descriptors (flat; base and limit ignored in 64-bit mode).
mod descriptor {
    /// 32-bit code, DPL 0.
    pub const KERNEL32_CODE: u64 = 0x00CF_9B00_0000_FFFF;
    /// 64-bit code (L=1), DPL 0.
    pub const KERNEL_CODE: u64 = 0x00AF_9B00_0000_FFFF;
    /// Data, DPL 0.
    pub const KERNEL_DATA: u64 = 0x00CF_9300_0000_FFFF;
    /// 32-bit code, DPL 3 (compat mode; SYSCALL from it is refused).
    pub const USER32_CODE: u64 = 0x00CF_FB00_0000_FFFF;
    /// Data, DPL 3.
    pub const USER_DATA: u64 = 0x00CF_F300_0000_FFFF;
    /// 64-bit code (L=1), DPL 3.
    pub const USER_CODE: u64 = 0x00AF_FB00_0000_FFFF;
}

/// The two words of a 64-bit available-TSS descriptor for a TSS at `base`.
pub const fn tss_descriptor(base: u64, limit: u64) -> [u64; 2] {
    let low = (limit & 0xFFFF)
        | ((base & 0xFF_FFFF) << 16)
        | (0x89 << 40) // present, type 9: available 64-bit TSS
        | (((limit >> 16) & 0xF) << 48)
        | (((base >> 24) & 0xFF) << 56);
    [low, base >> 32]
}

/// Fills the GDT and TSS pages of `area`, loads them and the segment
/// registers on this CPU. `kernel_stack_top` is the first task stack.
pub fn load(area: &EntryArea, kernel_stack_top: u64) {
    // TSS: RSP0 = the entry stack (interrupts from ring 3 land there), RSP1 =
    // the task stack for the SYSCALL trampoline, the IST stacks, no I/O bitmap.
    let mut tss = TaskStateSegment::new();
    tss.privilege_stack_table[0] = VirtAddr::new(area.entry_stack_top());
    tss.privilege_stack_table[1] = VirtAddr::new(kernel_stack_top);
    for slot in 1..=IST_COUNT as u8 {
        tss.interrupt_stack_table[slot as usize - 1] = VirtAddr::new(area.ist_top(slot));
    }
    tss.iomap_base = size_of::<TaskStateSegment>() as u16;
    // SAFETY: the TSS page belongs to this CPU's entry area and is not in use yet.
    unsafe { core::ptr::write(phys::to_virt(area.tss_phys) as *mut TaskStateSegment, tss) };

    let mut gdt = [0u64; selector::GDT_ENTRIES];
    gdt[(selector::KERNEL32_CS >> 3) as usize] = descriptor::KERNEL32_CODE;
    gdt[(selector::KERNEL_CS >> 3) as usize] = descriptor::KERNEL_CODE;
    gdt[(selector::KERNEL_DS >> 3) as usize] = descriptor::KERNEL_DATA;
    gdt[(selector::USER32_CS >> 3) as usize] = descriptor::USER32_CODE;
    gdt[(selector::USER_DS >> 3) as usize] = descriptor::USER_DATA;
    gdt[(selector::USER_CS >> 3) as usize] = descriptor::USER_CODE;
    let [tss_low, tss_high] = tss_descriptor(area.tss(), cea::tss::SIZE - 1);
    gdt[(selector::TSS >> 3) as usize] = tss_low;
    gdt[(selector::TSS >> 3) as usize + 1] = tss_high;
    let gdt_rw = phys::to_virt(area.gdt_phys) as *mut [u64; selector::GDT_ENTRIES];
    // SAFETY: the GDT page belongs to this CPU's entry area and is not loaded yet.
    unsafe { core::ptr::write(gdt_rw, gdt) };

    let limit = (selector::GDT_ENTRIES * 8 - 1) as u16;
    // Loading GS with the null selector loads its base too (Intel SDM Vol.
    // 3A, "Segment Loading Instructions in IA-32e Mode"): keep the per-CPU
    // base this CPU already has.
    let gs_base = GsBase::read();
    // SAFETY: the GDT is complete; its descriptors are flat and match the
    // selectors loaded right after. LTR marks the TSS descriptor busy, which
    // needs the writable copy; the read-only alias is loaded after that.
    unsafe {
        lgdt(&DescriptorTablePointer { limit, base: VirtAddr::new(gdt_rw as u64) });
        CS::set_reg(SegmentSelector::new(selector::KERNEL_CS >> 3, PrivilegeLevel::Ring0));
        SS::set_reg(SegmentSelector::new(selector::KERNEL_DS >> 3, PrivilegeLevel::Ring0));
        DS::set_reg(SegmentSelector(0));
        ES::set_reg(SegmentSelector(0));
        FS::set_reg(SegmentSelector(0));
        GS::set_reg(SegmentSelector(0));
        load_tss(SegmentSelector::new(selector::TSS >> 3, PrivilegeLevel::Ring0));
        lgdt(&DescriptorTablePointer { limit, base: VirtAddr::new(area.gdt()) });
    }
    GsBase::write(gs_base);
}

/// Sets this CPU's TSS.RSP1 (the task stack the SYSCALL trampoline loads),
/// through the TSS's alias in its entry area.
pub fn set_trampoline_stack(top: u64) {
    let tss = (cea::area_address(super::percpu::cpu_index()) + cea::TSS) as *mut TaskStateSegment;
    // SAFETY: this CPU's TSS, mapped read-write at its entry area since the
    // CPU came up; the CPU itself never writes RSP1 (there is no ring 1).
    unsafe { core::ptr::addr_of_mut!((*tss).privilege_stack_table[1]).write_unaligned(VirtAddr::new(top)) };
}
