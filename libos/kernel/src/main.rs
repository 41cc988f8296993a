//! The ring-0 half of the library OS.
//!
//! The boot CPU arrives in [`kernel_main`] from `entry-asm` (64-bit mode,
//! the boot page tables, the boot stack) and brings the machine up in this
//! order:
//!
//! 1. its per-CPU data (`percpu`: before anything reads per-CPU state);
//! 2. the console, so everything after can report;
//! 3. the boot information (memory map, command line), copied before the
//!    loader's memory is reused;
//! 4. CPU features and the configuration (KPTI, PCID);
//! 5. the frame allocator, then the kernel's own page tables (per-section
//!    permissions, direct map) replacing the boot identity map;
//! 6. the heap, the IDT, then the ways into the kernel on this CPU
//!    (`trap::init_cpu`: entry area, GDT, TSS, entry state, SYSCALL);
//! 7. ACPI, the APIC, the other CPUs, the devices (PCI, virtio), the boot
//!    report; then the tests or the app.
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
mod fs;
mod mm;
mod net;
mod panic;
mod percpu;
mod process;
mod random;
mod run_record;
mod sched;
mod signal;
mod smp;
mod sync;
mod syscalls;
#[cfg(feature = "hooks")]
mod testing;
#[cfg(feature = "boot-tests")]
mod tests;
mod time;
mod trap;

use alloc::vec::Vec;

use libos_abi::run::RunExit;

use arch::x86_64::{acpi, apic, cpu, idt, kpti, pic, power};
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
    // SAFETY: the first thing the boot CPU does, interrupts off: from here
    // on per-CPU variables work (the boot CPU's are the statics' own).
    unsafe { percpu::init_cpu(0) };
    time::set_first_instruction_tsc(first_tsc);
    console::init();
    run_record::init();
    let boot = boot::collect(multiboot_info);
    let features = cpu::detect();
    let cfg = config::decide(&boot.options, features);
    let protections = cpu::enable_protections(features);
    // The apps' FPU/SIMD state (the kernel never uses it).
    arch::x86_64::xstate::init_boot_cpu();

    mm::frame::init(boot);
    let direct_mapped = mm::kernel_space::init(boot);
    if cfg.pcid_on() {
        // CR3 holds PCID 0 (the kernel page table), as PCIDE requires.
        cpu::enable_pcid();
    }

    // The ways into the kernel: the IDT (once), then this CPU's entry
    // area, descriptor tables, entry state and SYSCALL.
    let boot_stack_top = entry_asm::symbol_address!(__boot_stack_top);
    idt::build();
    trap::init_cpu(boot_stack_top);

    // Ring 3: user copies with SMAP, the user half of KPTI, tasks.
    mm::user_access::init(protections.smap);
    if cfg.kpti {
        kpti::init();
    }
    sched::init_cpu(boot_stack_top);
    if let Err(e) = acpi::init() {
        println!("[libos] ACPI tables not usable ({e:?}); power-off will halt instead");
    }
    // After ACPI: it may name an HPET to measure the TSC against.
    time::init(boot.options.tsc_khz);
    process::vdso::init(boot.options.vdso.unwrap_or(true));
    process::vdso::init_cpu(0);

    // Interrupts: the local APIC only; then the other CPUs.
    pic::disable();
    let apic_mode = apic::init_boot_cpu(features.x2apic, acpi::info().and_then(|a| a.local_apic_address));
    smp::record_apic_id();
    apic::calibrate_timer(time::clock().published_apic_timer_hz());
    let max_cpus = boot.options.max_cpus.unwrap_or(entry_asm::layout::MAX_CPUS);
    let smp = smp::start_application_processors(max_cpus);
    x86_64::instructions::interrupts::enable();
    // PCI devices, their interrupts as MSI-X messages to the CPUs above.
    drivers::init();
    // Console input by interrupt (else readers poll).
    console::input::init_interrupt();
    let mounted = fs::init(boot::root_archive(), boot.options.fs_ram, boot.options.fs_disk);

    boot::report::print(boot, &boot::report::ReportExtras { protections, direct_mapped, apic_mode, smp });
    for line in &mounted.lines {
        println!("[libos] fs: {line}");
    }

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
    // The network, for an app (the kernel's own tests drive the card
    // directly).
    if app.is_some() {
        net::init(&boot.options);
    }
    if boot.options.test {
        run_tests(app.as_ref(), &boot.options);
    }
    match app {
        Some(app) => run_app(&app, boot.options.app_arg_words().collect(), &boot.options.env),
        None => {
            println!("[libos] no app in this image");
            power::exit(RunExit::Success)
        }
    }
}

/// `test` on the command line: runs the app's tests, or the kernel's, and
/// ends the run with the result.
#[cfg(feature = "hooks")]
fn run_tests(app: Option<&AppImage>, options: &libos_kcore::boot_options::BootOptions<'_>) -> ! {
    match app {
        Some(app) => process::app_tests::run(app, options),
        None => testing::run_kernel_tests(options),
    }
}

/// `test` on the command line of a production kernel: it has no test
/// runner (the `libos_test_register` hook is not in its table).
#[cfg(not(feature = "hooks"))]
fn run_tests(_app: Option<&AppImage>, _options: &libos_kcore::boot_options::BootOptions<'_>) -> ! {
    println!("[libos] this kernel has no test runner: tests need a kernel built with the `testing` feature");
    power::exit(RunExit::Failure)
}

/// Runs the app with `args` and the environment `envp` and ends the run
/// with its exit status.
fn run_app(app: &AppImage, args: Vec<&str>, envp: &[&str]) -> ! {
    let mut argv = Vec::with_capacity(args.len() + 1);
    argv.push(app.name);
    argv.extend(args);
    let process = match process::spawn(app, &argv, envp) {
        Ok(p) => p,
        Err(e) => {
            println!("[libos] cannot start app '{}': {e}", app.name);
            power::exit(RunExit::Failure)
        }
    };
    let status = process.wait();
    drop(process);
    // What the app sent before it ended reaches its peers.
    net::finish_sending();
    // A clean exit leaves the disk consistent and marked clean.
    if let Err(e) = fs::sync_all() {
        println!("[libos] writing the file systems back failed: {e:?}");
    }
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
        process::spawn(app, &[app.name, "--libos-probe"], &[]).is_ok_and(|p| p.wait() == ExitStatus::Exited(0))
    });
    println!("[libos] probe: ring3 {}", if ok { "ok" } else { "failed" });
    power::exit(if ok { RunExit::Success } else { RunExit::Failure })
}
