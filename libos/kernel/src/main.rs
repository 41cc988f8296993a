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
//! 6. ACPI, the local APICs, the other CPUs, the devices (PCI, virtio);
//! 7. the boot report; then the tests or the app.
#![no_std]
#![no_main]
// The benchmark's empty image keeps only the entry below; the rest is unused.
#![cfg_attr(feature = "bench-empty", allow(dead_code, unused_imports))]

extern crate alloc;

mod arch;
mod boot;
mod config;
mod console;
// The drivers' kernel-facing API (disks, network cards) is used by the
// boot tests today; its users in production images, the filesystem and
// the network stack, come later.
#[cfg_attr(not(feature = "boot-tests"), allow(dead_code))]
mod drivers;
mod mm;
mod panic;
mod process;
mod random;
mod sched;
mod smp;
mod sync;
mod syscalls;
mod testing;
#[cfg(feature = "boot-tests")]
mod tests;
mod time;

use alloc::vec::Vec;

use libos_abi::run::RunExit;

use arch::x86_64::{acpi, apic, cpu, cpu_entry_area, gdt, idt, kpti, percpu, pic, power, syscall};
use process::{AppImage, ExitStatus};

/// The boot CPU's entry from `start64.s` in the benchmark's empty image
/// (feature `bench-empty`): the run ends at the first Rust instruction, so
/// booting this image measures the emulator and firmware alone.
#[cfg(feature = "bench-empty")]
#[unsafe(no_mangle)]
extern "C" fn kernel_main(_multiboot_info: u64, _first_tsc: u64) -> ! {
    let success = RunExit::Success.port_value();
    // SAFETY: port 0xF4 is QEMU's isa-debug-exit; this write ends the run
    // with success.
    unsafe { x86_64::instructions::port::Port::<u8>::new(entry_asm::hw::port::DEBUG_EXIT).write(success) };
    arch::x86_64::interrupts::halt_forever()
}

/// The boot CPU's entry from `start64.s`.
#[cfg(not(feature = "bench-empty"))]
#[unsafe(no_mangle)]
extern "C" fn kernel_main(multiboot_info: u64, first_tsc: u64) -> ! {
    time::set_first_instruction_tsc(first_tsc);
    console::init();
    let boot = boot::collect(multiboot_info);
    let features = cpu::detect();
    let cfg = config::decide(&boot.options, features);
    let protections = cpu::enable_protections(features);

    mm::frame::init(boot);
    let direct_mapped = mm::kernel_space::init(boot);
    if cfg.pcid_on() {
        // CR3 holds PCID 0 (the kernel page table), as PCIDE requires.
        cpu::enable_pcid();
    }

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
    this.entry_area.set(Some(area));

    // Ring 3: user copies with SMAP, the user half of KPTI, SYSCALL, tasks.
    mm::user_access::init(protections.smap);
    if cfg.kpti {
        kpti::init();
    }
    syscall::init_cpu(&area);
    sched::init_cpu(boot_stack_top);
    if let Err(e) = acpi::init() {
        println!("[libos] ACPI tables not usable ({e:?}); power-off will halt instead");
    }
    // After ACPI: it may name an HPET to measure the TSC against.
    time::init();

    // Interrupts: the local APIC only; then the other CPUs.
    pic::disable();
    let apic_mode = apic::init_boot_cpu(features.x2apic, acpi::info().and_then(|a| a.local_apic_address));
    this.apic_id.set(apic::id());
    apic::calibrate_timer();
    let max_cpus = boot.options.max_cpus.unwrap_or(entry_asm::layout::MAX_CPUS);
    let smp = smp::start_application_processors(max_cpus);
    x86_64::instructions::interrupts::enable();
    // PCI devices, their interrupts as MSI-X messages to the CPUs above.
    drivers::init();

    boot::report::print(boot, &boot::report::ReportExtras { protections, direct_mapped, apic_mode, smp });

    let app = match boot::app() {
        Some(Ok(app)) => Some(app),
        Some(Err(e)) => {
            println!("[libos] the image's app payload is unusable: {e}");
            power::exit(RunExit::Failure)
        }
        None => None,
    };
    if boot.options.probe.is_some() {
        probe(app.as_ref());
    }
    if boot.options.test {
        match &app {
            Some(app) => process::app_tests::run(app, &boot.options),
            None => testing::run_kernel_tests(&boot.options),
        }
    }
    match app {
        Some(app) => run_app(&app, boot.options.app_arg_words().collect()),
        None => {
            println!("[libos] no app in this image");
            power::exit(RunExit::Success)
        }
    }
}

/// Runs the app with `args` and ends the run with its exit status.
fn run_app(app: &AppImage, args: Vec<&str>) -> ! {
    let mut argv = Vec::with_capacity(args.len() + 1);
    argv.push(app.name);
    argv.extend(args);
    let process = match process::spawn(app, &argv) {
        Ok(p) => p,
        Err(e) => {
            println!("[libos] cannot start app '{}': {e}", app.name);
            power::exit(RunExit::Failure)
        }
    };
    let status = process.wait();
    drop(process);
    match status {
        ExitStatus::Exited(code) => {
            println!("[libos] app '{}' exited with code {code}", app.name);
            power::exit(RunExit::AppCode(code as u8))
        }
        ExitStatus::Killed(kill) => power::exit(RunExit::AppKilled(kill.signo)),
    }
}

/// `probe=ring3` (used by `cargo xtask --accel auto`): runs the app in its
/// probe mode (syscalls and user copies from ring 3) and says whether that
/// worked on this machine.
fn probe(app: Option<&AppImage>) -> ! {
    let ok = app.is_some_and(|app| {
        process::spawn(app, &[app.name, "--libos-probe"]).is_ok_and(|p| p.wait() == ExitStatus::Exited(0))
    });
    println!("[libos] probe: ring3 {}", if ok { "ok" } else { "failed" });
    power::exit(if ok { RunExit::Success } else { RunExit::Failure })
}
