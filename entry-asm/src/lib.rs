//! Every instruction that runs before Rust can, and the entry paths.
//!
//! - `boot/`: the multiboot header, the 32-bit start, the AP trampoline and
//!   the one switch to long mode they share, ending in a call to the
//!   kernel's `kernel_main` (or `ap_main`).
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
pub mod recovery;
pub mod symbols;

/// Physical address the AP trampoline is copied to (below 1 MiB, page
/// aligned; the SIPI vector is its page number).
pub const AP_TRAMPOLINE_PHYS: u64 = 0x8000;

/// Exception vectors for which the CPU pushes an error code (bit per vector).
pub const ERROR_CODE_VECTORS: u32 = {
    let mut mask = 0u32;
    let mut v = 0;
    while v < 32 {
        if hw::vector::has_error_code(v) {
            mask |= 1 << v;
        }
        v += 1;
    }
    mask
};

/// Exception vectors that arrive on IST stacks and take the paranoid entry.
pub const PARANOID_VECTORS: u32 =
    (1 << hw::vector::NMI) | (1 << hw::vector::DB) | (1 << hw::vector::DF) | (1 << hw::vector::MC);

/// IST slot for a vector (1-based as the IDT encodes it; 0 = no IST).
pub const fn ist_slot(vector: u8) -> u8 {
    match vector {
        hw::vector::NMI => cpu_entry_area::ist::NMI,
        hw::vector::DF => cpu_entry_area::ist::DF,
        hw::vector::MC => cpu_entry_area::ist::MC,
        hw::vector::DB => cpu_entry_area::ist::DB,
        _ => 0,
    }
}

/// Size of the boot CPU's first stack (in `.bss`, under a guard page).
pub const BOOT_STACK_SIZE: usize = 64 * 1024;

/// Selectors of the boot GDT in `start32.s` (replaced by the kernel's GDT).
#[cfg(target_os = "none")]
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

    // The 32-bit start and the AP trampoline, in one piece so that the
    // long-mode switch of long_mode.s is defined once for both.
    global_asm!(
        concat!(
            include_str!("boot/long_mode.s"),
            include_str!("boot/start32.s"),
            include_str!("boot/ap_trampoline.s"),
        ),
        BOOTLOADER_MAGIC = const hw::multiboot::BOOTLOADER_MAGIC,
        RFLAGS_ID = const hw::rflags::ID,
        CR4_PAE = const hw::cr::CR4_PAE,
        MSR_EFER = const hw::msr::EFER,
        EFER_BITS = const hw::efer::LME | hw::efer::NXE,
        CR0_BITS = const hw::cr::CR0_PG | hw::cr::CR0_PE | hw::cr::CR0_WP,
        BOOT_CS = const boot_gdt::CS,
        EXIT_FAILURE = const libos_abi::run::EXIT_FAILURE,
        DEBUG_EXIT = const hw::port::DEBUG_EXIT,
        PTE_HUGE_RW = const hw::pte::PRESENT | hw::pte::WRITABLE | hw::pte::HUGE,
        PTE_RW = const hw::pte::PRESENT | hw::pte::WRITABLE,
        LARGE_PAGE_SIZE = const layout::LARGE_PAGE_SIZE,
        COM1 = const hw::port::COM1,
        AP_CS = const boot_gdt::CS,
        AP_DS = const boot_gdt::DS,
        AP_TRAMPOLINE_PHYS = const AP_TRAMPOLINE_PHYS,
        options(att_syntax)
    );

    global_asm!(
        include_str!("boot/start64.s"),
        BOOT_DS = const boot_gdt::DS,
        BOOT_STACK_SIZE = const BOOT_STACK_SIZE,
        options(att_syntax)
    );

    // The entry paths, in one piece so that the macros of calling.s are
    // defined once for all of them.
    global_asm!(
        concat!(
            include_str!("entry/calling.s"),
            include_str!("entry/interrupts.s"),
            include_str!("entry/syscall_64.s"),
            include_str!("entry/trampoline.s"),
            include_str!("entry/bench_floor.s"),
            include_str!("support/switch.s"),
        ),
        ERROR_CODE_VECTORS = const ERROR_CODE_VECTORS,
        PARANOID_VECTORS = const PARANOID_VECTORS,
        PTREGS_CS = const pt_regs::off::CS,
        PTREGS_RIP = const pt_regs::off::RIP,
        PTREGS_RFLAGS = const pt_regs::off::RFLAGS,
        RFLAGS_TF_RF = const hw::rflags::TF | hw::rflags::RF,
        PERCPU_SYSRET_TAIL = const percpu::off::SYSRET_TAIL,
        PERCPU_SYSCALL_BODY = const percpu::off::SYSCALL_BODY,
        CR3_USER_PGTABLE = const hw::cr::CR3_PTI_USER_PGTABLE,
        CR3_USER_PCID = const hw::cr::CR3_PTI_USER_PCID,
        PTREGS_SIZE = const pt_regs::PtRegs::SIZE,
        PTREGS_WORDS = const pt_regs::PtRegs::SIZE / 8,
        PERCPU_TOP_OF_STACK = const percpu::off::TOP_OF_STACK,
        PERCPU_ENTRY_STACK_TOP = const percpu::off::ENTRY_STACK_TOP,
        PERCPU_ENTRY_FLAGS = const percpu::off::ENTRY_FLAGS,
        PERCPU_USER_PCID_FLUSH_PENDING = const percpu::off::USER_PCID_FLUSH_PENDING,
        FLAG_KPTI = const percpu::flags::KPTI,
        FLAG_PCID = const percpu::flags::PCID,
        CR3_USER_PGTABLE_BIT = const hw::cr::CR3_PTI_USER_PGTABLE.trailing_zeros(),
        CR3_USER_PCID_BIT = const hw::cr::CR3_PTI_USER_PCID.trailing_zeros(),
        CR3_NOFLUSH_BIT = const hw::cr::CR3_NOFLUSH.trailing_zeros(),
        MSR_GS_BASE = const hw::msr::GS_BASE,
        PERCPU_USER_RSP_SCRATCH = const percpu::off::USER_RSP_SCRATCH,
        // Test images record CR3 writes (RECORD_CR3 in calling.s).
        RECORD_CR3 = const cfg!(feature = "testing") as u8,
        PERCPU_LAST_KERNEL_CR3 = const percpu::off::LAST_KERNEL_CR3,
        PERCPU_LAST_USER_CR3 = const percpu::off::LAST_USER_CR3,
        // Benchmark images have the floor entries (bench_floor.s).
        BENCH_FLOOR = const cfg!(feature = "bench") as u8,
        USER_CS = const hw::selector::USER_CS,
        USER_DS = const hw::selector::USER_DS,
        ENOSYS = const libos_abi::errno::Errno::ENOSYS as i32,
        LIBOS_DEBUG_NR = const libos_abi::syscalls::nr::LIBOS_DEBUG,
        CEA_RSP_SCRATCH = const cpu_entry_area::RSP_SCRATCH,
        CEA_TRAMPOLINE = const cpu_entry_area::TRAMPOLINE,
        CEA_TSS_SP1 = const cpu_entry_area::TSS + cpu_entry_area::tss::SP1,
        options(att_syntax)
    );

    global_asm!(include_str!("support/user_copy.s"), options(att_syntax));

    global_asm!(
        include_str!("support/recovery.s"),
        RECOVERY_RSP = const recovery::RSP,
        RECOVERY_RFLAGS = const recovery::RFLAGS,
        options(att_syntax)
    );
}
