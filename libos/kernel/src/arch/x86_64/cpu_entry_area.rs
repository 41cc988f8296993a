//! Building a CPU's entry area (see `entry_asm::cpu_entry_area` for the layout).
//!
//! The area's pages are mapped in the kernel half at a fixed address per
//! CPU, in the PML4 slot that every user page table shares with the kernel
//! (KPTI): the GDT read-only, the TSS, the entry stack, this CPU's alias of
//! the SYSCALL trampoline page, and the IST stacks, each above an unmapped
//! guard page. The mappings are global: they are the same in every page
//! table.

use entry_asm::cpu_entry_area::{self as cea, IST_COUNT, IST_STACK_SIZE};
use entry_asm::layout::PAGE_SIZE;
use entry_asm::symbol_address;

use crate::arch::x86_64::paging::{Flags, flags};
use crate::mm::{frame, kernel_space, phys};

/// The frames behind one CPU's entry area.
#[derive(Clone, Copy, Debug)]
pub struct EntryArea {
    /// Virtual address of the area.
    pub base: u64,
    /// Physical frame of the GDT page (written through the direct map).
    pub gdt_phys: u64,
    /// Physical frame of the TSS page.
    pub tss_phys: u64,
}

impl EntryArea {
    /// Virtual address of the read-only GDT alias.
    pub fn gdt(&self) -> u64 {
        self.base + cea::GDT
    }
    /// Virtual address of the TSS alias.
    pub fn tss(&self) -> u64 {
        self.base + cea::TSS
    }
    /// Top of the entry stack.
    pub fn entry_stack_top(&self) -> u64 {
        self.base + cea::ENTRY_STACK_TOP
    }
    /// Top of IST stack `slot` (1-based, as in the IDT).
    pub fn ist_top(&self, slot: u8) -> u64 {
        self.base + cea::IST_STACKS[slot as usize - 1] + IST_STACK_SIZE
    }
}

fn map_fresh(va: u64, f: Flags) -> u64 {
    let frame = frame::alloc_zeroed().expect("no frame for a CPU entry area");
    kernel_space::map(va, frame, f).expect("mapping a CPU entry area");
    frame
}

/// Allocates and maps CPU `cpu`'s entry area.
pub fn build(cpu: usize) -> EntryArea {
    let base = cea::area_address(cpu);
    let g = Flags::GLOBAL;
    let gdt_phys = map_fresh(base + cea::GDT, flags::KERNEL_RO | g);
    let tss_phys = map_fresh(base + cea::TSS, flags::KERNEL_RW | g);
    map_fresh(base + cea::ENTRY_STACK, flags::KERNEL_RW | g);
    let trampoline = symbol_address!(__entry_trampoline_start);
    kernel_space::map(base + cea::TRAMPOLINE, phys::image_to_phys(trampoline), flags::KERNEL_RX | g)
        .expect("mapping the trampoline alias");
    for ist in 0..IST_COUNT {
        let bottom = base + cea::IST_STACKS[ist];
        for page in 0..IST_STACK_SIZE / PAGE_SIZE {
            map_fresh(bottom + page * PAGE_SIZE, flags::KERNEL_RW | g);
        }
    }
    EntryArea { base, gdt_phys, tss_phys }
}

/// Maps the read-only alias of the IDT (one page for all CPUs).
pub fn map_idt(idt_phys: u64) -> u64 {
    let va = cea::idt_address();
    kernel_space::map(va, idt_phys, flags::KERNEL_RO | Flags::GLOBAL).expect("mapping the IDT alias");
    va
}
