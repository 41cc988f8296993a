//! The interrupt descriptor table: one for all CPUs, written through the
//! direct map and loaded from its read-only alias in the entry-area region
//! (mapped in user page tables too, as KPTI needs).
//!
//! Every vector's gate points at its stub in the entry text
//! (`entry-asm/src/entry/interrupts.s`); stable Rust has no
//! `x86-interrupt` ABI and does not need one.

use entry_asm::hw::{selector, vector};
use entry_asm::ist_slot;
use x86_64::VirtAddr;
use x86_64::instructions::tables::lidt;
use x86_64::structures::DescriptorTablePointer;

use crate::arch::x86_64::cpu_entry_area;
use crate::mm::{frame, phys};
use crate::sync::InitCell;

static IDT_ALIAS: InitCell<u64> = InitCell::new();

/// The two words of an interrupt-gate descriptor.
pub const fn interrupt_gate(handler: u64, ist: u8, dpl: u8) -> [u64; 2] {
    let attributes: u64 = 0x8E | ((dpl as u64 & 3) << 5); // present, 64-bit interrupt gate
    let low = (handler & 0xFFFF)
        | ((selector::KERNEL_CS as u64) << 16)
        | ((ist as u64 & 7) << 32)
        | (attributes << 40)
        | (((handler >> 16) & 0xFFFF) << 48);
    [low, handler >> 32]
}

/// Builds the IDT (once, on the boot CPU).
pub fn build() {
    let idt_phys = frame::alloc_zeroed().expect("no frame for the IDT");
    let gates = phys::to_virt(idt_phys) as *mut [[u64; 2]; 256];
    // SAFETY: the stub table is emitted by the entry assembly and read-only.
    let stubs = unsafe { &entry_asm::symbols::idt_stub_table };
    for (v, &stub) in stubs.iter().enumerate() {
        let v = v as u8;
        // int3 and into may be used from ring 3 (they report as #BP/#OF,
        // like Linux); every other vector raised by `int n` from ring 3 is a
        // #GP.
        let dpl = if v == vector::BP || v == vector::OF { 3 } else { 0 };
        // SAFETY: the IDT page is ours and not loaded yet.
        unsafe { (*gates)[v as usize] = interrupt_gate(stub, ist_slot(v), dpl) };
    }
    IDT_ALIAS.set(cpu_entry_area::map_idt(idt_phys));
}

/// Loads the IDT on this CPU.
pub fn load() {
    let base = *IDT_ALIAS.expect("IDT");
    // SAFETY: the IDT is complete and its alias stays mapped for good.
    unsafe { lidt(&DescriptorTablePointer { limit: 256 * 16 - 1, base: VirtAddr::new(base) }) };
}
