//! The kernel's hardware-independent logic, tested on the host.
//!
//! Everything here works on plain bytes and numbers, so `cargo test` can
//! check it without booting anything:
//!
//! - [`multiboot`]: reading the multiboot (v1) information a loader hands over;
//! - [`phys_range`]: physical address ranges and sets of them (usable memory
//!   minus what must never be handed out);
//! - [`frame_allocator`]: the physical frame allocator (a bitmap);
//! - [`boot_options`]: the kernel command line;
//! - [`initial_stack`]: the System V stack a new program starts with;
//! - [`vm_regions`]: the regions (VMAs) of a user address space;
//! - [`rlimits`]: the resource limits the kernel reports;
//! - [`time`]: calendar and TSC arithmetic;
//! - [`itimer`]: interval-timer settings (`setitimer`, `alarm`);
//! - [`aml`]: the one piece of ACPI AML the kernel reads (the S5 sleep type);
//! - [`pci`]: PCI configuration space (BARs, capabilities, MSI-X);
//! - [`block_io`]: cutting a block transfer into device requests;
//! - [`xstate`]: the layout of a thread's x87/SSE/AVX state (CPUID 0xD).
//! - [`limits`]: accounting of the kernel objects an app holds, per kind.
//! - [`record_locks`]: POSIX record locks on a file (byte ranges, owners).
#![no_std]

extern crate alloc;
#[cfg(test)]
extern crate std;

pub mod address_class;
pub mod aml;
pub mod block_io;
pub mod boot_options;
pub mod frame_allocator;
pub mod initial_stack;
pub mod itimer;
pub mod limits;
pub mod multiboot;
pub mod net_config;
pub mod pci;
pub mod phys_range;
pub mod proc_text;
pub mod record_locks;
pub mod rlimits;
pub mod rsdp_scan;
pub mod signal;
pub mod terminal_input;
pub mod time;
pub mod vm_regions;
pub mod xstate;

/// Size of a page / physical frame.
pub const PAGE_SIZE: u64 = 4096;
