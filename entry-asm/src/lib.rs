//! Every instruction that runs before Rust can, and the entry paths.
//!
//! - `boot/`: the multiboot header, the 32-bit start and the switch to long
//!   mode, ending in a call to the kernel's `kernel_main`.
//! - [`pt_regs`], [`percpu`], [`cpu_entry_area`], [`layout`]: the structures and
//!   numbers the assembly shares with Rust, each offset checked at compile
//!   time and handed to the assembly as a `const` operand, so the two can
//!   never disagree.
//! - [`hw`]: constants the hardware defines.
//!
//! The assembly itself is only assembled for the bare-metal target; on the
//! host this crate provides the layouts alone (for host tests).
#![no_std]

pub mod cpu_entry_area;
pub mod hw;
pub mod layout;
pub mod percpu;
pub mod pt_regs;

/// Size of the boot CPU's first stack (in `.bss`, under a guard page).
pub const BOOT_STACK_SIZE: usize = 64 * 1024;

/// Selectors of the boot GDT in `start32.s` (replaced by the kernel's GDT).
mod boot_gdt {
    pub const CS: u16 = 0x08;
    pub const DS: u16 = 0x10;
}

#[cfg(target_os = "none")]
mod asm {
    use super::*;
    use core::arch::global_asm;

    global_asm!(
        include_str!("boot/multiboot_header.s"),
        MAGIC = const hw::multiboot::HEADER_MAGIC,
        FLAGS = const hw::multiboot::HEADER_FLAGS,
        options(att_syntax)
    );

    global_asm!(
        include_str!("boot/start32.s"),
        BOOTLOADER_MAGIC = const hw::multiboot::BOOTLOADER_MAGIC,
        RFLAGS_ID = const hw::rflags::ID,
        CR4_PAE = const hw::cr::CR4_PAE,
        MSR_EFER = const hw::msr::EFER,
        EFER_BITS = const hw::efer::LME | hw::efer::NXE,
        CR0_BITS = const hw::cr::CR0_PG | hw::cr::CR0_WP,
        BOOT_CS = const boot_gdt::CS,
        EXIT_FAILURE = const libos_abi::run::EXIT_FAILURE,
        DEBUG_EXIT = const hw::port::DEBUG_EXIT,
        PTE_HUGE_RW = const hw::pte::PRESENT | hw::pte::WRITABLE | hw::pte::HUGE,
        PTE_RW = const hw::pte::PRESENT | hw::pte::WRITABLE,
        LARGE_PAGE_SIZE = const layout::LARGE_PAGE_SIZE,
        COM1 = const hw::port::COM1,
        options(att_syntax)
    );

    global_asm!(
        include_str!("boot/start64.s"),
        BOOT_DS = const boot_gdt::DS,
        BOOT_STACK_SIZE = const BOOT_STACK_SIZE,
        options(att_syntax)
    );
}
