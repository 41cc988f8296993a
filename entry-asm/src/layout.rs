//! The virtual and physical memory map of an image.
//!
//! ```text
//! 0x0000_0000_0000_0000 ┐
//!                       │ user space: the app (linked at USER_IMAGE_BASE), its heap,
//!                       │ mmap area and stacks
//! 0x0000_7fff_ffff_f000 ┘ USER_END (Linux's TASK_SIZE_MAX: the last user page stays unmapped)
//!         ... non-canonical hole ...
//! 0xffff_8000_0000_0000   DIRECT_MAP_BASE: all physical memory, RW + NX (PML4 slots 256..)
//! 0xffff_c000_0000_0000   KERNEL_HEAP_BASE: the kernel heap, grown page by page
//! 0xffff_c800_0000_0000   KERNEL_STACKS_BASE: kernel stacks, each under an unmapped guard page
//! 0xffff_d000_0000_0000   IOREMAP_BASE: device memory and firmware tables (APIC, ACPI)
//! 0xffff_fe00_0000_0000   CPU_ENTRY_AREA_BASE: read-only IDT, then one entry area per CPU
//! 0xffff_ffff_8000_0000   KERNEL_VIRT_OFFSET: the kernel image (physical KERNEL_PHYS_BASE
//!                         and up is mapped at KERNEL_VIRT_OFFSET + physical)
//! ```

/// Size of a page.
pub const PAGE_SIZE: u64 = 4096;
/// Size of a large (2 MiB) page.
pub const LARGE_PAGE_SIZE: u64 = 2 << 20;

/// Physical address the image is loaded at (1 MiB, above the legacy area).
pub const KERNEL_PHYS_BASE: u64 = 0x10_0000;
/// Virtual address of physical address 0 in the kernel image mapping
/// (`-2 GiB`, as code model "kernel" requires).
pub const KERNEL_VIRT_OFFSET: u64 = 0xFFFF_FFFF_8000_0000;

/// Start of the direct map of physical memory.
pub const DIRECT_MAP_BASE: u64 = 0xFFFF_8000_0000_0000;
/// Largest physical address the direct map covers (64 TiB).
pub const DIRECT_MAP_MAX: u64 = 64 << 40;
/// Start of the kernel heap.
pub const KERNEL_HEAP_BASE: u64 = 0xFFFF_C000_0000_0000;
/// Largest size the kernel heap may grow to.
pub const KERNEL_HEAP_MAX: u64 = 64 << 30;
/// Start of the kernel stack area.
pub const KERNEL_STACKS_BASE: u64 = 0xFFFF_C800_0000_0000;
/// Start of the area where device memory and firmware tables are mapped.
pub const IOREMAP_BASE: u64 = 0xFFFF_D000_0000_0000;
/// Size of the ioremap area.
pub const IOREMAP_MAX: u64 = 64 << 30;
/// Start of the CPU entry areas (as Linux's `CPU_ENTRY_AREA_BASE`).
pub const CPU_ENTRY_AREA_BASE: u64 = 0xFFFF_FE00_0000_0000;

/// First user address an app may map (the zero page stays unmapped).
pub const USER_MIN: u64 = 0x1000;
/// One past the highest user address (Linux's `TASK_SIZE_MAX`): the last
/// page below the canonical boundary stays unmapped, so that SYSRET can never
/// be asked to return to a non-canonical address by falling off its end.
pub const USER_END: u64 = 0x0000_7FFF_FFFF_F000;
/// Where apps are linked (4 MiB).
pub const USER_IMAGE_BASE: u64 = 0x40_0000;

/// Maximum number of CPUs the kernel manages.
pub const MAX_CPUS: usize = 64;

/// Bytes left free above a user task's `pt_regs` at the top of its kernel
/// stack (Linux's `TOP_OF_KERNEL_STACK_PADDING`, which 32-bit x86 has): with
/// them, the SYSCALL entry's RSP is 16-byte aligned once `pt_regs` is
/// complete, as the SysV ABI wants at a call, and the entry calls Rust
/// without realigning the stack.
pub const TOP_OF_KERNEL_STACK_PADDING: u64 = 8;
const _: () = assert!(
    (crate::pt_regs::PtRegs::SIZE as u64 + TOP_OF_KERNEL_STACK_PADDING).is_multiple_of(16),
    "pt_regs below the padding must end 16-byte aligned"
);

/// Index of the PML4 slot that maps `addr`.
pub const fn pml4_index(addr: u64) -> usize {
    ((addr >> 39) & 511) as usize
}

/// Whether `addr` is canonical with 4-level paging (bits 63..47 all equal).
pub const fn is_canonical(addr: u64) -> bool {
    let top = (addr as i64) >> 47;
    top == 0 || top == -1
}

/// Whether `[addr, addr + len)` lies wholly in user space.
pub const fn is_user_range(addr: u64, len: u64) -> bool {
    match addr.checked_add(len) {
        Some(end) => addr >= USER_MIN && end <= USER_END,
        None => false,
    }
}

const _: () = {
    assert!(KERNEL_VIRT_OFFSET.is_multiple_of(1 << 30));
    assert!(KERNEL_PHYS_BASE.is_multiple_of(PAGE_SIZE));
    assert!(DIRECT_MAP_BASE + DIRECT_MAP_MAX <= KERNEL_HEAP_BASE);
    assert!(KERNEL_HEAP_BASE + KERNEL_HEAP_MAX <= KERNEL_STACKS_BASE);
    assert!(KERNEL_STACKS_BASE < IOREMAP_BASE && IOREMAP_BASE + IOREMAP_MAX <= CPU_ENTRY_AREA_BASE);
    assert!(is_canonical(USER_END - 1) && !is_canonical(USER_END + 2 * PAGE_SIZE));
};
