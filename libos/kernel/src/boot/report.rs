//! The one-screen boot report.

use core::fmt::Write;

use libos_kcore::PAGE_SIZE;

use crate::arch::x86_64::{acpi, cpu};
use crate::boot::BootInfo;
use crate::config::{self, PcidState};
use crate::mm::{frame, heap};
use crate::println;

/// What the report shows beyond the boot information.
pub struct ReportExtras {
    /// Protections turned on in CR4.
    pub protections: cpu::Protections,
    /// Bytes of physical memory in the direct map.
    pub direct_mapped: u64,
    /// How the local APICs are reached.
    pub apic_mode: crate::arch::x86_64::apic::Mode,
    /// What CPU bring-up found.
    pub smp: crate::smp::SmpReport,
}

fn mib(bytes: u64) -> (u64, u64) {
    (bytes >> 20, ((bytes % (1 << 20)) * 10) >> 20)
}

/// Prints the report.
pub fn print(boot: &BootInfo, extras: &ReportExtras) {
    let f = cpu::features();
    let cfg = config::get();
    let (fam, model, step) = f.family_model_stepping;
    println!("libos {} booting (loader: {})", env!("CARGO_PKG_VERSION"), boot.loader_name);
    println!("  cpu      {} \"{}\" family {fam:#x} model {model:#x} stepping {step}", f.vendor, f.brand);
    let mut words = heapless::String::<256>::new();
    let _ = cpu::write_feature_words(f, &mut words);
    println!("  features {words}");
    let usable = boot.usable_memory();
    let (m, t) = mib(usable.total());
    println!("  memory   {m}.{t} MiB usable in {} ranges; map from the loader:", usable.ranges().len());
    for r in &boot.memory_map {
        println!("           {:#014x}..{:#014x} {}", r.range.start, r.range.end, r.kind.name());
    }
    let (im, it) = mib(boot.image.len());
    let mut payload = heapless::String::<64>::new();
    if let Some(p) = boot.payload {
        let _ = write!(payload, ", app payload {:#x}..{:#x}", p.start, p.end);
    }
    println!("  image    {:#x}..{:#x} ({im}.{it} MiB){payload}", boot.image.start, boot.image.end);
    let s = frame::stats();
    let (fm, ft) = mib(s.free * PAGE_SIZE);
    let (dm, dt) = mib(extras.direct_mapped);
    let h = heap::stats();
    println!(
        "  frames   {} free of {} usable ({fm}.{ft} MiB); direct map {dm}.{dt} MiB; heap {} KiB mapped, \
         {} bytes in {} allocations",
        s.free,
        s.usable,
        h.mapped / 1024,
        h.allocated,
        h.allocations
    );
    let on = |b: bool| if b { "on" } else { "off" };
    let pcid = match cfg.pcid {
        PcidState::On => "on",
        PcidState::Unsupported => "off (the CPU has no PCID)",
        PcidState::DisabledByOption => "off (pcid=off)",
        PcidState::NotNeeded => "off (no KPTI)",
    };
    let p = extras.protections;
    println!(
        "  security WP on, NXE on, SMEP {}, SMAP {}, UMIP {}, KPTI {}, PCID {pcid}",
        on(p.smep),
        on(p.smap),
        on(p.umip),
        on(cfg.kpti)
    );
    let x = crate::arch::x86_64::xstate::layout();
    let mut parts = heapless::String::<64>::new();
    for name in x.component_names() {
        let _ = write!(parts, "{}{name}", if parts.is_empty() { "" } else { " " });
    }
    println!(
        "  fpu      {parts} (XCR0 {:#x}); {}, {} bytes per thread (CPUID: {}; user format {}); MXCSR mask {:#x}",
        x.features,
        x.instruction.name(),
        x.size,
        x.cpu_reported_size,
        x.standard_size,
        x.mxcsr_mask
    );
    let mut ids = heapless::String::<256>::new();
    for i in 0..crate::percpu::cpu_count() {
        if let Some(id) = crate::smp::apic_id(i) {
            let _ = write!(ids, "{}{}", if i == 0 { "" } else { " " }, id);
        }
    }
    let smp = extras.smp;
    let mut problems = heapless::String::<96>::new();
    if smp.failed > 0 {
        let _ = write!(problems, ", {} did not start", smp.failed);
    }
    if smp.skipped > 0 {
        let _ = write!(problems, ", {} not started (maxcpus)", smp.skipped);
    }
    let apic = match extras.apic_mode {
        crate::arch::x86_64::apic::Mode::X2Apic => "x2APIC",
        crate::arch::x86_64::apic::Mode::XApic(_) => "xAPIC",
    };
    println!("  cpus     {} online of {} listed (APIC ids {ids}; {apic}){problems}", smp.online, smp.listed.max(1));
    let clock = crate::time::clock();
    let mut source = heapless::String::<160>::new();
    let _ = match (clock.source, clock.published) {
        (crate::time::TscSource::Published, Some(p)) => write!(source, "from {}", p.publisher.describe()),
        (crate::time::TscSource::Hpet, _) => write!(source, "measured against the HPET"),
        (_, _) => write!(source, "measured against the PIT"),
    };
    match (clock.source, clock.published, clock.check) {
        (crate::time::TscSource::Published, _, Some(c)) => {
            let _ = write!(
                source,
                ", the HPET agrees: {}.{:03} MHz +-{}.{}%",
                c.measured_hz / 1_000_000,
                c.measured_hz / 1000 % 1000,
                c.uncertainty_ppm / 10_000,
                c.uncertainty_ppm / 1000 % 10
            );
        }
        (crate::time::TscSource::Published, _, None) => {
            let _ = write!(source, ", unchecked: no HPET");
        }
        (_, Some(p), _) => {
            let _ = write!(
                source,
                "; {} said {} MHz, which the TSC does not run at",
                p.publisher.describe(),
                p.tsc_hz / 1_000_000
            );
        }
        (_, None, _) => {
            let _ = write!(source, "; nothing publishes it");
        }
    }
    println!(
        "  clock    TSC {}.{:03} MHz ({source}); APIC timer {} kHz; random: {:?}",
        clock.scale.hz / 1_000_000,
        clock.scale.hz / 1000 % 1000,
        crate::arch::x86_64::apic::timer_ticks_per_ms() * 16,
        crate::random::source()
    );
    match acpi::info() {
        Some(a) => println!(
            "  acpi     {}; power-off {}",
            a.found.join(" "),
            if a.pm1a_control_port.is_some() && a.s5_sleep_type.is_some() { "available" } else { "unavailable" }
        ),
        None => println!("  acpi     not found"),
    }
    for line in crate::drivers::report_lines() {
        println!("  {line}");
    }
    println!("  cmdline  \"{}\"", boot.cmdline);
    for bad in &boot.options.unknown {
        println!("  warning  ignoring \"{}\": {}", bad.word, bad.why);
    }
}
