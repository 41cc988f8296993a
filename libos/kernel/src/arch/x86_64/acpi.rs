//! ACPI: the firmware tables, read once at boot.
//!
//! The RSDP is found by scanning the BIOS areas (multiboot v1 does not hand
//! it over; [`find_tables`]); the `acpi` crate walks the tables through [`Handler`], which
//! maps them with `mm::mmio`. From the FADT and DSDT the kernel keeps what
//! power-off needs (the PM1a control port and the `\_S5` sleep type).

use core::ptr::NonNull;

use acpi::madt::{Madt, MadtEntry};
use acpi::rsdp::Rsdp;
use acpi::{AcpiHandler, AcpiTables, PhysicalMapping, fadt::Fadt};
use entry_asm::layout::MAX_CPUS;
use x86_64::instructions::port::Port;

use crate::mm::mmio::{self, Caching};
use crate::sync::InitCell;

/// Maps ACPI tables for the `acpi` crate.
#[derive(Clone, Copy, Debug)]
pub struct Handler;

impl AcpiHandler for Handler {
    /// # Safety
    /// As the trait requires: `physical_address` holds a `T` (an ACPI table).
    unsafe fn map_physical_region<T>(&self, physical_address: usize, size: usize) -> PhysicalMapping<Self, T> {
        let virt = mmio::map(physical_address as u64, size as u64, Caching::WriteBack);
        // The bytes readable from `virt` on: up to the end of its last page.
        // (The crate reuses a mapping for a whole table when this says the
        // table fits, so it must not count the part of the first page that
        // lies before `virt`.)
        let page_off = physical_address as u64 % 4096;
        let mapped_len = ((page_off + size as u64).next_multiple_of(4096) - page_off) as usize;
        // SAFETY: `virt` maps `size` bytes at `physical_address`, which the
        // caller guarantees hold a valid T; the mapping lives until unmap.
        unsafe {
            PhysicalMapping::new(
                physical_address,
                NonNull::new(virt as *mut T).expect("ioremap returned null"),
                size,
                mapped_len,
                *self,
            )
        }
    }

    fn unmap_physical_region<T>(region: &PhysicalMapping<Self, T>) {
        mmio::unmap(region.virtual_start().as_ptr() as u64, region.mapped_length() as u64);
    }
}

/// A processor the MADT lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CpuEntry {
    /// Its local APIC id.
    pub apic_id: u32,
    /// Enabled now (else only "online capable", or disabled).
    pub enabled: bool,
}

/// An I/O APIC the MADT lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IoApicEntry {
    /// Physical address of its registers.
    pub address: u64,
    /// The first global system interrupt (GSI) it handles.
    pub gsi_base: u32,
}

/// An ISA interrupt the MADT says arrives elsewhere than the GSI of its
/// number, or with other polarity or trigger mode (ACPI 6.5, 5.2.12.5,
/// "Interrupt Source Override Structure").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IsaOverride {
    /// The ISA IRQ.
    pub irq: u8,
    /// The GSI it arrives at.
    pub gsi: u32,
    /// MPS INTI flags: bits 0-1 polarity, bits 2-3 trigger mode.
    pub flags: u16,
}

/// What the kernel keeps from the ACPI tables.
#[derive(Clone, Debug, Default)]
pub struct AcpiInfo {
    /// The processors (MADT), in table order.
    pub cpus: heapless::Vec<CpuEntry, MAX_CPUS>,
    /// Processors listed beyond `MAX_CPUS`.
    pub cpus_ignored: usize,
    /// Physical address of the local APIC registers (MADT, with overrides).
    pub local_apic_address: Option<u64>,
    /// The tables the kernel found and used, by signature.
    pub found: heapless::Vec<&'static str, 8>,
    /// I/O port of the PM1a control register.
    pub pm1a_control_port: Option<u16>,
    /// SLP_TYPa for the S5 (soft-off) state.
    pub s5_sleep_type: Option<u8>,
    /// Physical address of the HPET's registers (HPET table), if memory-mapped.
    pub hpet_address: Option<u64>,
    /// The I/O APICs (MADT), in table order.
    pub io_apics: heapless::Vec<IoApicEntry, 4>,
    /// The ISA interrupt overrides (MADT).
    pub isa_overrides: heapless::Vec<IsaOverride, 16>,
}

static INFO: InitCell<AcpiInfo> = InitCell::new();

/// Reads the tables. Without ACPI the kernel still runs (power-off then
/// falls back to halting); the result says what was found.
pub fn init() -> Result<&'static AcpiInfo, acpi::AcpiError> {
    let tables = find_tables()?;
    // Not `tables.headers()`: the acpi crate (5.2) maps only each table's
    // header there, then checksums the whole table through that mapping,
    // which faults when a table crosses into a page beyond the header's.
    // `find_table` maps whole tables.
    let mut info = AcpiInfo::default();
    // The PM1a control block must be in system I/O space for the power-off
    // path to reach it with OUT.
    if let Ok(fadt) = tables.find_table::<Fadt>() {
        let _ = info.found.push("FADT");
        if let Ok(block) = fadt.pm1a_control_block()
            && block.address_space == acpi::address::AddressSpace::SystemIo
        {
            info.pm1a_control_port = Some(block.address as u16);
        }
    }
    if let Ok(hpet) = acpi::HpetInfo::new(&tables) {
        let _ = info.found.push("HPET");
        info.hpet_address = Some(hpet.base_address as u64);
    }
    if let Ok(madt) = tables.find_table::<Madt>() {
        let _ = info.found.push("MADT");
        let madt = madt.get();
        info.local_apic_address = Some(madt.local_apic_address as u64);
        for entry in madt.entries() {
            let cpu = match entry {
                // Flags bit 0: enabled; bit 1: online capable.
                MadtEntry::LocalApic(e) => CpuEntry { apic_id: e.apic_id as u32, enabled: { e.flags } & 1 != 0 },
                MadtEntry::LocalX2Apic(e) => CpuEntry { apic_id: e.x2apic_id, enabled: { e.flags } & 1 != 0 },
                MadtEntry::LocalApicAddressOverride(e) => {
                    info.local_apic_address = Some(e.local_apic_address);
                    continue;
                }
                MadtEntry::IoApic(e) => {
                    let entry =
                        IoApicEntry { address: e.io_apic_address as u64, gsi_base: e.global_system_interrupt_base };
                    let _ = info.io_apics.push(entry);
                    continue;
                }
                MadtEntry::InterruptSourceOverride(e) if e.bus == 0 => {
                    let _ = info.isa_overrides.push(IsaOverride {
                        irq: e.irq,
                        gsi: e.global_system_interrupt,
                        flags: e.flags,
                    });
                    continue;
                }
                _ => continue,
            };
            if info.cpus.iter().any(|c| c.apic_id == cpu.apic_id) {
                continue;
            }
            if info.cpus.push(cpu).is_err() {
                info.cpus_ignored += 1;
            }
        }
    }
    if let Ok(dsdt) = tables.dsdt() {
        let _ = info.found.push("DSDT");
        let virt = mmio::map(dsdt.address as u64, dsdt.length as u64, Caching::WriteBack);
        // SAFETY: the DSDT's AML is mapped for its whole length just above.
        let aml = unsafe { core::slice::from_raw_parts(virt as *const u8, dsdt.length as usize) };
        info.s5_sleep_type = libos_kcore::aml::s5_sleep_type_a(aml);
        mmio::unmap(virt, dsdt.length as u64);
    }
    Ok(INFO.set(info))
}

/// The tables, from the first RSDP that validates in the BIOS areas
/// (`libos_kcore::rsdp_scan`: the EBDA's first KiB and the BIOS ROM area).
/// The scan compares signatures only; each candidate is validated whole
/// (signature, checksum, extended checksum) before it is used, as the
/// `acpi` crate's own search does at every boundary.
fn find_tables() -> Result<AcpiTables<Handler>, acpi::AcpiError> {
    use libos_kcore::rsdp_scan::{EBDA_SEGMENT_PTR, search_areas, signature_offsets};
    let bda = mmio::map(EBDA_SEGMENT_PTR, 2, Caching::WriteBack);
    // SAFETY: the BIOS data area word at 0x40E is mapped just above (this is
    // a BIOS machine: multiboot v1 on a PC), read without assuming alignment.
    let ebda_segment = unsafe { core::ptr::read_unaligned(bda as *const u16) };
    mmio::unmap(bda, 2);
    for area in search_areas(ebda_segment) {
        let len = area.end - area.start;
        let virt = mmio::map(area.start, len, Caching::WriteBack);
        // SAFETY: `len` bytes of the BIOS area are mapped at `virt` until
        // the unmap below; firmware memory is always readable.
        let bytes = unsafe { core::slice::from_raw_parts(virt as *const u8, len as usize) };
        let found = signature_offsets(bytes).find_map(|offset| {
            let phys = area.start as usize + offset;
            // SAFETY: `phys` is in the BIOS area; an `Rsdp`-sized read from
            // it stays in firmware memory (the areas end at 1 MiB at most,
            // and RAM follows).
            let rsdp = unsafe { Handler.map_physical_region::<Rsdp>(phys, size_of::<Rsdp>()) };
            rsdp.validate().is_ok().then_some(rsdp)
        });
        mmio::unmap(virt, len);
        if let Some(rsdp) = found {
            // SAFETY: `rsdp` was validated whole just above.
            return unsafe { AcpiTables::from_validated_rsdp(Handler, rsdp) };
        }
    }
    Err(acpi::AcpiError::NoValidRsdp)
}

/// The ACPI information, if the tables were read.
pub fn info() -> Option<&'static AcpiInfo> {
    INFO.get()
}

/// Enters S5 (soft off) if ACPI allows; returns if it did not happen.
pub fn power_off() {
    let Some(&AcpiInfo { pm1a_control_port: Some(port), s5_sleep_type: Some(typ), .. }) = info() else {
        return;
    };
    const SLP_EN: u16 = 1 << 13;
    // SAFETY: PM1a_CNT is the ACPI power-management control register the
    // FADT names; writing SLP_TYP|SLP_EN asks the chipset to power off.
    unsafe { Port::<u16>::new(port).write(((typ as u16) << 10) | SLP_EN) };
    for _ in 0..1_000_000 {
        core::hint::spin_loop();
    }
}
