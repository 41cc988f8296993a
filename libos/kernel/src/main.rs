//! The ring-0 half of the library OS.
//!
//! The boot CPU arrives in [`kernel_main`] from `entry-asm` (64-bit mode,
//! the boot page tables, the boot stack) and brings the machine up in this
//! order:
//!
//! 1. the console, so everything after can report;
//! 2. the boot information (memory map, command line), copied before the
//!    loader's memory is reused;
//! 3. CPU features and the configuration (KPTI, PCID);
//! 4. the frame allocator, then the kernel's own page tables (per-section
//!    permissions, direct map) replacing the boot identity map;
//! 5. the heap, the per-CPU data, the entry area, GDT, TSS and IDT;
//! 6. ACPI, the boot report; then the tests or the app.
#![no_std]
#![no_main]

extern crate alloc;

mod arch;
mod boot;
mod config;
mod console;
mod mm;
mod panic;
mod sync;
mod testing;
#[cfg(feature = "boot-tests")]
mod tests;

use libos_abi::run::RunExit;

use arch::x86_64::{acpi, cpu, cpu_entry_area, gdt, idt, percpu, power};

/// The boot CPU's entry from `start64.s`.
#[unsafe(no_mangle)]
extern "C" fn kernel_main(multiboot_info: u64) -> ! {
    console::init();
    let boot = boot::collect(multiboot_info);
    let features = cpu::detect();
    let cfg = config::decide(&boot.options, features);
    let protections = cpu::enable_protections(features);

    mm::frame::init(boot);
    let direct_mapped = mm::kernel_space::init(boot);

    // This CPU's data, entry area and descriptor tables.
    let this = percpu::allocate(0);
    let area = cpu_entry_area::build(0);
    let boot_stack_top = entry_asm::symbol_address!(__boot_stack_top);
    gdt::load(&area, boot_stack_top);
    idt::build();
    idt::load();
    percpu::install(this);
    this.set_entry_stack_top(area.entry_stack_top());
    this.set_top_of_stack(boot_stack_top);
    this.set_entry_flags(cfg.kpti, cfg.pcid_on());

    if let Err(e) = acpi::init() {
        println!("[libos] ACPI tables not usable ({e:?}); power-off will halt instead");
    }
    boot::report::print(
        boot,
        &boot::report::ReportExtras {
            protections,
            direct_mapped,
        },
    );

    if boot.options.test {
        testing::run_kernel_tests(&boot.options);
    }
    power::exit(RunExit::Success)
}
