//! The per-CPU entry area (Linux's `cpu_entry_area`).
//!
//! Everything a CPU touches between the moment SYSCALL, an interrupt or an
//! exception arrives from ring 3 and the moment it has switched CR3 to the
//! kernel page tables must be mapped in the *user* page tables. Those pages
//! live here, at a fixed virtual address per CPU, exactly [`STRIDE`] apart:
//!
//! ```text
//! CPU_ENTRY_AREA_BASE          read-only alias of the IDT (one page, all CPUs)
//! CPU_ENTRY_AREA_BASE + FIRST  CPU 0's area, then CPU 1's at + STRIDE, ...
//!
//! offset   what                            mapping
//! 0x0000   GDT                             read-only alias
//! 0x1000   TSS                             RW alias
//! 0x2000   guard                           unmapped
//! 0x3000   entry stack                     RW
//! 0x4000   entry trampoline text           RX alias of the one trampoline page
//! 0x5000   guard, NMI IST stack (2 pages)
//! 0x8000   guard, #DF IST stack
//! 0xB000   guard, #MC IST stack
//! 0xE000   guard, #DB IST stack
//! ```
//!
//! The trampoline finds its own area RIP-relatively (it is mapped at
//! `area + TRAMPOLINE`), which is why SYSCALL's LSTAR differs between CPUs
//! by exactly [`STRIDE`] (as with Linux 4.15 to 4.18's per-CPU
//! `entry_SYSCALL_64_trampoline`, `arch/x86/entry/entry_64.S`, mapped by
//! `setup_cpu_entry_area` in `arch/x86/mm/cpu_entry_area.c`).

use crate::layout::{CPU_ENTRY_AREA_BASE, MAX_CPUS, PAGE_SIZE};

/// Distance between two CPUs' entry areas.
pub const STRIDE: u64 = 0x2_0000;
/// Offset of CPU 0's area from [`CPU_ENTRY_AREA_BASE`] (after the IDT page).
pub const FIRST: u64 = STRIDE;

/// Offset of the read-only GDT page.
pub const GDT: u64 = 0x0000;
/// Offset of the TSS page.
pub const TSS: u64 = 0x1000;
/// Offset of the entry stack (one page).
pub const ENTRY_STACK: u64 = 0x3000;
/// Size of the entry stack.
pub const ENTRY_STACK_SIZE: u64 = PAGE_SIZE;
/// Offset of the top of the entry stack.
pub const ENTRY_STACK_TOP: u64 = ENTRY_STACK + ENTRY_STACK_SIZE;
/// Offset of the trampoline page.
pub const TRAMPOLINE: u64 = 0x4000;
/// Size of each IST stack.
pub const IST_STACK_SIZE: u64 = 2 * PAGE_SIZE;
/// Offsets of the bottoms of the IST stacks (each has an unmapped guard page under it).
pub const IST_STACKS: [u64; IST_COUNT] = [0x6000, 0x9000, 0xC000, 0xF000];
/// Number of IST stacks.
pub const IST_COUNT: usize = 4;
/// Size of the part of an area that is used; the rest up to [`STRIDE`] is unmapped.
pub const USED: u64 = 0x11000;

/// IST slot (1-based, as the IDT encodes it) for each IST exception.
pub mod ist {
    /// NMI.
    pub const NMI: u8 = 1;
    /// Double fault.
    pub const DF: u8 = 2;
    /// Machine check.
    pub const MC: u8 = 3;
    /// Debug.
    pub const DB: u8 = 4;
}

/// Offsets of fields of the hardware TSS (`x86_64::structures::tss::TaskStateSegment`).
pub mod tss {
    /// RSP0: stack for interrupts from ring 3 (the entry stack top).
    pub const SP0: u64 = 4;
    /// RSP1: unused by the CPU (no ring 1); holds the top of the current task's
    /// kernel stack for the SYSCALL trampoline, as Linux did.
    pub const SP1: u64 = 12;
    /// Size of the hardware TSS.
    pub const SIZE: u64 = 104;
}

/// Offset of the SYSCALL scratch slot: the top word of the entry stack, where
/// the trampoline parks the user RSP before it has a stack (Linux 4.15's
/// `RSP_SCRATCH`, the top word of the SYSENTER stack, in
/// `arch/x86/entry/entry_64.S`).
pub const RSP_SCRATCH: u64 = ENTRY_STACK_TOP - 8;

/// Virtual address of the read-only IDT alias.
pub const fn idt_address() -> u64 {
    CPU_ENTRY_AREA_BASE
}

/// Virtual address of CPU `cpu`'s entry area.
pub const fn area_address(cpu: usize) -> u64 {
    CPU_ENTRY_AREA_BASE + FIRST + cpu as u64 * STRIDE
}

/// Virtual address range of all entry areas (IDT page included).
pub const fn region() -> core::ops::Range<u64> {
    CPU_ENTRY_AREA_BASE..area_address(MAX_CPUS)
}

const _: () = {
    assert!(USED <= STRIDE);
    assert!(IST_STACKS[IST_COUNT - 1] + IST_STACK_SIZE <= USED);
    // Every IST stack has an unmapped page right below it.
    assert!(IST_STACKS[0] - PAGE_SIZE >= TRAMPOLINE + PAGE_SIZE);
    assert!(IST_STACKS[1] - PAGE_SIZE >= IST_STACKS[0] + IST_STACK_SIZE);
    assert!(IST_STACKS[2] - PAGE_SIZE >= IST_STACKS[1] + IST_STACK_SIZE);
    assert!(IST_STACKS[3] - PAGE_SIZE >= IST_STACKS[2] + IST_STACK_SIZE);
    // The whole region fits in the one PML4 slot it starts in (512 GiB).
    assert!(area_address(MAX_CPUS) - CPU_ENTRY_AREA_BASE <= 1 << 39);
};
