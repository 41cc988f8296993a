//! Constants that the hardware defines, named once.
//!
//! The Rust side and the assembly (through `const` operands of `global_asm!`)
//! both take their numbers from here. Values are from the Intel SDM Vol. 3 and
//! the AMD APM Vol. 2.

/// Model-specific register numbers.
pub mod msr {
    /// Extended Feature Enable Register (LME, LMA, NXE, SCE).
    pub const EFER: u32 = 0xC000_0080;
    /// SYSCALL/SYSRET segment selectors.
    pub const STAR: u32 = 0xC000_0081;
    /// 64-bit SYSCALL target RIP.
    pub const LSTAR: u32 = 0xC000_0082;
    /// Compatibility-mode SYSCALL target RIP.
    pub const CSTAR: u32 = 0xC000_0083;
    /// RFLAGS bits cleared by SYSCALL.
    pub const SFMASK: u32 = 0xC000_0084;
    /// FS base of the running code.
    pub const FS_BASE: u32 = 0xC000_0100;
    /// GS base of the running code.
    pub const GS_BASE: u32 = 0xC000_0101;
    /// The GS base that SWAPGS exchanges with `GS_BASE`.
    pub const KERNEL_GS_BASE: u32 = 0xC000_0102;
    /// Time-stamp counter auxiliary value (RDTSCP/RDPID).
    pub const TSC_AUX: u32 = 0xC000_0103;
    /// Local APIC base address and enable bits.
    pub const APIC_BASE: u32 = 0x1B;
    /// TSC-deadline target of the local APIC timer.
    pub const TSC_DEADLINE: u32 = 0x6E0;
    /// First x2APIC register MSR (register `r` lives at `X2APIC_BASE + r / 16`).
    pub const X2APIC_BASE: u32 = 0x800;
}

/// EFER bits.
pub mod efer {
    /// System Call Extensions: enables SYSCALL/SYSRET.
    pub const SCE: u32 = 1 << 0;
    /// Long Mode Enable.
    pub const LME: u32 = 1 << 8;
    /// Long Mode Active (read-only).
    pub const LMA: u32 = 1 << 10;
    /// No-Execute Enable: makes bit 63 of page-table entries meaningful.
    pub const NXE: u32 = 1 << 11;
}

/// Control register bits.
pub mod cr {
    /// CR0.PE: protected mode.
    pub const CR0_PE: u32 = 1 << 0;
    /// CR0.WP: supervisor writes honour read-only pages.
    pub const CR0_WP: u32 = 1 << 16;
    /// CR0.PG: paging.
    pub const CR0_PG: u32 = 1 << 31;
    /// CR4.PAE: physical address extension (required for long mode).
    pub const CR4_PAE: u32 = 1 << 5;
    /// CR4.PGE: global pages.
    pub const CR4_PGE: u32 = 1 << 7;
    /// CR4.UMIP: SGDT/SIDT/SLDT/SMSW/STR fault in ring 3.
    pub const CR4_UMIP: u32 = 1 << 11;
    /// CR4.FSGSBASE: RD/WR{FS,GS}BASE instructions.
    pub const CR4_FSGSBASE: u32 = 1 << 16;
    /// CR4.PCIDE: process-context identifiers in CR3 bits 0..=11.
    pub const CR4_PCIDE: u32 = 1 << 17;
    /// CR4.SMEP: supervisor-mode execution prevention.
    pub const CR4_SMEP: u32 = 1 << 20;
    /// CR4.SMAP: supervisor-mode access prevention.
    pub const CR4_SMAP: u32 = 1 << 21;

    /// CR3 bit 63 on a CR3 write with CR4.PCIDE=1: keep the TLB entries of
    /// the new PCID ("NOFLUSH").
    pub const CR3_NOFLUSH: u64 = 1 << 63;
    /// CR3 bits that hold the PCID when CR4.PCIDE=1.
    pub const CR3_PCID_MASK: u64 = 0xFFF;
    /// KPTI: CR3 bit 12 selects the user half of an 8 KiB PML4 pair.
    pub const CR3_PTI_USER_PGTABLE: u64 = 1 << 12;
    /// KPTI with PCID: CR3 bit 11 turns a kernel ASID into its user ASID.
    pub const CR3_PTI_USER_PCID: u64 = 1 << 11;
    /// Both KPTI bits together (what entry clears and exit sets).
    pub const CR3_PTI_USER_MASK: u64 = CR3_PTI_USER_PGTABLE | CR3_PTI_USER_PCID;
}

/// RFLAGS bits.
pub mod rflags {
    /// Carry flag.
    pub const CF: u64 = 1 << 0;
    /// Reserved bit 1, always set.
    pub const FIXED: u64 = 1 << 1;
    /// Trap flag (single step).
    pub const TF: u64 = 1 << 8;
    /// Interrupt enable flag.
    pub const IF: u64 = 1 << 9;
    /// Direction flag.
    pub const DF: u64 = 1 << 10;
    /// I/O privilege level (two bits).
    pub const IOPL: u64 = 3 << 12;
    /// Nested task.
    pub const NT: u64 = 1 << 14;
    /// Resume flag.
    pub const RF: u64 = 1 << 16;
    /// Virtual-8086 mode.
    pub const VM: u64 = 1 << 17;
    /// Alignment check / SMAP override (STAC sets it, CLAC clears it).
    pub const AC: u64 = 1 << 18;
    /// CPUID-availability flag: software can toggle it iff CPUID exists.
    pub const ID: u64 = 1 << 21;
}

/// GDT selectors, in Linux's x86_64 order so that one STAR value serves both
/// SYSCALL (kernel CS = `STAR[47:32]`, SS = +8) and 64-bit SYSRET
/// (CS = `STAR[63:48]` + 16, SS = `STAR[63:48]` + 8).
pub mod selector {
    /// 32-bit kernel code (unused; keeps Linux's numbering).
    pub const KERNEL32_CS: u16 = 1 << 3;
    /// 64-bit kernel code.
    pub const KERNEL_CS: u16 = 2 << 3;
    /// Kernel data/stack.
    pub const KERNEL_DS: u16 = 3 << 3;
    /// 32-bit user code, RPL 3 (the base of STAR's SYSRET field).
    pub const USER32_CS: u16 = (4 << 3) | 3;
    /// User data/stack, RPL 3.
    pub const USER_DS: u16 = (5 << 3) | 3;
    /// 64-bit user code, RPL 3.
    pub const USER_CS: u16 = (6 << 3) | 3;
    /// The task-state segment (a 16-byte system descriptor, slots 7 and 8).
    pub const TSS: u16 = 7 << 3;
    /// Number of 8-byte GDT slots.
    pub const GDT_ENTRIES: usize = 9;
}

/// The multiboot (version 1) protocol.
pub mod multiboot {
    /// Header magic.
    pub const HEADER_MAGIC: u32 = 0x1BAD_B002;
    /// What the loader leaves in EAX.
    pub const BOOTLOADER_MAGIC: u32 = 0x2BAD_B002;
    /// Header flag: align modules on page boundaries.
    pub const FLAG_PAGE_ALIGN: u32 = 1 << 0;
    /// Header flag: provide the memory map.
    pub const FLAG_MEMORY_INFO: u32 = 1 << 1;
    /// Header flag: the address fields of the header are valid (a.out kludge);
    /// QEMU loads a 64-bit ELF only with it, and then loads the file flat.
    pub const FLAG_ADDRESS_FIELDS: u32 = 1 << 16;
    /// The flags our header uses.
    pub const HEADER_FLAGS: u32 = FLAG_PAGE_ALIGN | FLAG_MEMORY_INFO | FLAG_ADDRESS_FIELDS;
}

/// Legacy I/O ports used before the console driver exists.
pub mod port {
    /// First serial port (16550 UART).
    pub const COM1: u16 = 0x3F8;
    /// Second serial port: the run record, written by the kernel only (see
    /// `libos_abi::run::RECORD_PORT`).
    pub const COM2: u16 = libos_abi::run::RECORD_PORT;
    /// QEMU's `isa-debug-exit` device (see `EXIT_*` in the kernel).
    pub const DEBUG_EXIT: u16 = 0xF4;
}

/// Page-table entry bits used by the boot code (the kernel uses `x86_64`'s
/// `PageTableFlags` for the same bits).
pub mod pte {
    /// Present.
    pub const PRESENT: u32 = 1 << 0;
    /// Writable.
    pub const WRITABLE: u32 = 1 << 1;
    /// Page size: a 2 MiB (PD) or 1 GiB (PDPT) mapping.
    pub const HUGE: u32 = 1 << 7;
}

/// Exception vectors.
pub mod vector {
    /// Divide error.
    pub const DE: u8 = 0;
    /// Debug.
    pub const DB: u8 = 1;
    /// Non-maskable interrupt.
    pub const NMI: u8 = 2;
    /// Breakpoint (int3).
    pub const BP: u8 = 3;
    /// Overflow.
    pub const OF: u8 = 4;
    /// BOUND range exceeded.
    pub const BR: u8 = 5;
    /// Invalid opcode.
    pub const UD: u8 = 6;
    /// Device not available.
    pub const NM: u8 = 7;
    /// Double fault.
    pub const DF: u8 = 8;
    /// Invalid TSS.
    pub const TS: u8 = 10;
    /// Segment not present.
    pub const NP: u8 = 11;
    /// Stack-segment fault.
    pub const SS: u8 = 12;
    /// General protection.
    pub const GP: u8 = 13;
    /// Page fault.
    pub const PF: u8 = 14;
    /// x87 floating-point error.
    pub const MF: u8 = 16;
    /// Alignment check.
    pub const AC: u8 = 17;
    /// Machine check.
    pub const MC: u8 = 18;
    /// SIMD floating-point.
    pub const XM: u8 = 19;
    /// Virtualisation exception.
    pub const VE: u8 = 20;
    /// Control-protection exception.
    pub const CP: u8 = 21;
    /// Number of architecturally defined exception vectors.
    pub const EXCEPTIONS: usize = 32;

    /// Whether the CPU pushes an error code for this exception vector
    /// (Intel SDM Vol. 3A, table "Protected-Mode Exceptions and
    /// Interrupts").
    pub const fn has_error_code(v: u8) -> bool {
        matches!(v, 8 | 10 | 11 | 12 | 13 | 14 | 17 | 21 | 29 | 30)
    }
}
