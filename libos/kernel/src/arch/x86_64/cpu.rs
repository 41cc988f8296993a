//! What this CPU can do, and the control-register bits the kernel turns on.

use core::fmt::Write;

use entry_asm::hw::cr;
use raw_cpuid::CpuId;
use x86_64::registers::control::{Cr0, Cr0Flags, Cr4, Cr4Flags};
use x86_64::registers::model_specific::{Efer, EferFlags};

use crate::sync::InitCell;

/// The CPU features the kernel cares about (read once, on the boot CPU).
#[derive(Clone, Debug, Default)]
pub struct Features {
    /// Vendor string ("GenuineIntel", "AuthenticAMD", ...).
    pub vendor: heapless::String<16>,
    /// Processor brand string.
    pub brand: heapless::String<48>,
    /// Family, model, stepping.
    pub family_model_stepping: (u8, u8, u8),
    /// Process-context identifiers.
    pub pcid: bool,
    /// The INVPCID instruction.
    pub invpcid: bool,
    /// Supervisor-mode execution prevention.
    pub smep: bool,
    /// Supervisor-mode access prevention.
    pub smap: bool,
    /// User-mode instruction prevention.
    pub umip: bool,
    /// RD/WR{FS,GS}BASE.
    pub fsgsbase: bool,
    /// x2APIC mode of the local APIC.
    pub x2apic: bool,
    /// TSC-deadline mode of the local APIC timer.
    pub tsc_deadline: bool,
    /// The TSC runs at a constant rate in all states.
    pub invariant_tsc: bool,
    /// Global pages (CR4.PGE).
    pub pge: bool,
    /// 1 GiB pages.
    pub gib_pages: bool,
    /// RDRAND.
    pub rdrand: bool,
    /// RDSEED.
    pub rdseed: bool,
    /// RDTSCP.
    pub rdtscp: bool,
    /// Running under a hypervisor (CPUID.1:ECX bit 31).
    pub hypervisor: bool,
}

static FEATURES: InitCell<Features> = InitCell::new();

/// The features read at boot.
pub fn features() -> &'static Features {
    FEATURES.expect("CPU features")
}

/// Reads the CPU's features (boot CPU, once).
pub fn detect() -> &'static Features {
    let cpuid = CpuId::new();
    let mut f = Features::default();
    if let Some(v) = cpuid.get_vendor_info() {
        let _ = f.vendor.push_str(v.as_str());
    }
    if let Some(b) = cpuid.get_processor_brand_string() {
        let _ = f.brand.push_str(b.as_str().trim());
    }
    if let Some(fi) = cpuid.get_feature_info() {
        f.family_model_stepping = (fi.family_id(), fi.model_id(), fi.stepping_id());
        f.pcid = fi.has_pcid();
        f.x2apic = fi.has_x2apic();
        f.tsc_deadline = fi.has_tsc_deadline();
        f.pge = fi.has_pge();
        f.rdrand = fi.has_rdrand();
        f.hypervisor = fi.has_hypervisor();
    }
    if let Some(ef) = cpuid.get_extended_feature_info() {
        f.invpcid = ef.has_invpcid();
        f.smep = ef.has_smep();
        f.smap = ef.has_smap();
        f.umip = ef.has_umip();
        f.fsgsbase = ef.has_fsgsbase();
        f.rdseed = ef.has_rdseed();
    }
    if let Some(x) = cpuid.get_extended_processor_and_feature_identifiers() {
        f.gib_pages = x.has_1gib_pages();
        f.rdtscp = x.has_rdtscp();
    }
    if let Some(apm) = cpuid.get_advanced_power_mgmt_info() {
        f.invariant_tsc = apm.has_invariant_tsc();
    }
    FEATURES.set(f)
}

/// What `enable_protections` turned on, for the boot report.
#[derive(Clone, Copy, Debug, Default)]
pub struct Protections {
    /// CR4.SMEP.
    pub smep: bool,
    /// CR4.SMAP.
    pub smap: bool,
    /// CR4.UMIP.
    pub umip: bool,
    /// CR4.PGE.
    pub pge: bool,
}

/// Turns on the protections every CPU runs with: CR0.WP and EFER.NXE always
/// (the boot code set them; this checks and keeps them), and SMEP, SMAP,
/// UMIP and global pages when the CPU has them. Runs on every CPU.
pub fn enable_protections(f: &Features) -> Protections {
    // SAFETY: WP only makes ring-0 writes honour read-only pages, and the
    // kernel never writes through a read-only mapping on purpose.
    unsafe { Cr0::update(|c| *c |= Cr0Flags::WRITE_PROTECT) };
    // SAFETY: NXE only gives meaning to bit 63 of page-table entries, which
    // the kernel sets exactly where it wants execution forbidden.
    unsafe { Efer::update(|e| *e |= EferFlags::NO_EXECUTE_ENABLE) };
    let mut flags = Cr4::read();
    let p = Protections { smep: f.smep, smap: f.smap, umip: f.umip, pge: f.pge };
    flags.set(Cr4Flags::SUPERVISOR_MODE_EXECUTION_PROTECTION, p.smep);
    flags.set(Cr4Flags::SUPERVISOR_MODE_ACCESS_PREVENTION, p.smap);
    flags.set(Cr4Flags::USER_MODE_INSTRUCTION_PREVENTION, p.umip);
    flags.set(Cr4Flags::PAGE_GLOBAL, p.pge);
    debug_assert_eq!(Cr4Flags::PAGE_GLOBAL.bits(), cr::CR4_PGE as u64);
    // SAFETY: every bit set here is one the CPU reported; SMEP and SMAP
    // forbid ring 0 to run or touch user pages, which the kernel only
    // touches inside stac/clac (user copies).
    unsafe { Cr4::write(flags) };
    p
}

/// Turns on CR4.PCIDE. CR3's PCID bits must be 0 at this point.
pub fn enable_pcid() {
    // SAFETY: the caller checked that the CPU has PCID and that CR3 holds
    // PCID 0, the only state in which setting PCIDE is allowed.
    unsafe { Cr4::update(|c| *c |= Cr4Flags::PCID) };
}

/// Writes the feature flags as `name=yes|no` words.
pub fn write_feature_words(f: &Features, out: &mut impl Write) -> core::fmt::Result {
    let yn = |b: bool| if b { "yes" } else { "no" };
    write!(
        out,
        "pcid={} invpcid={} smep={} smap={} umip={} fsgsbase={} x2apic={} tsc-deadline={} invariant-tsc={}",
        yn(f.pcid),
        yn(f.invpcid),
        yn(f.smep),
        yn(f.smap),
        yn(f.umip),
        yn(f.fsgsbase),
        yn(f.x2apic),
        yn(f.tsc_deadline),
        yn(f.invariant_tsc)
    )
}

/// Writes CR3.
///
/// # Safety
/// `value` must name a PML4 that maps the running code, its stack and
/// everything the kernel uses, with PCID bits only when CR4.PCIDE is on.
pub unsafe fn write_cr3(value: u64) {
    // SAFETY: forwarded from the caller.
    unsafe { core::arch::asm!("mov cr3, {}", in(reg) value, options(nostack, preserves_flags)) };
}

/// Reads CR3 (with its PCID and flag bits; the test hooks do).
#[cfg(feature = "hooks")]
pub fn read_cr3() -> u64 {
    let v: u64;
    // SAFETY: reading CR3 has no side effects.
    unsafe { core::arch::asm!("mov {}, cr3", out(reg) v, options(nostack, nomem, preserves_flags)) };
    v
}
