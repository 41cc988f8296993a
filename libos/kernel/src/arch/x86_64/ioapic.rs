//! The I/O APIC: routes a device's interrupt line (a global system
//! interrupt, GSI) to a vector on a CPU's local APIC.
//!
//! Its registers are reached through two memory-mapped words: IOREGSEL
//! (offset 0x00) selects a register, IOWIN (offset 0x10) reads or writes
//! it. Register 0x01 is the version (bits 16-23: the highest redirection
//! entry); redirection entry `n` is registers `0x10 + 2n` (low half) and
//! `0x11 + 2n` (high half). Intel 82093AA I/O APIC datasheet, 3.2 and
//! 3.2.4; the addresses and the ISA overrides come from the ACPI MADT.

use core::sync::atomic::Ordering;

use super::acpi;
use crate::mm::mmio::{self, Caching};
use crate::sync::{InitCell, SpinLock};

/// IOREGSEL's offset.
const IOREGSEL: u64 = 0x00;
/// IOWIN's offset.
const IOWIN: u64 = 0x10;
/// The version register.
const REG_VERSION: u32 = 0x01;
/// The first redirection entry's register.
const REG_REDIRECTION: u32 = 0x10;

/// Redirection entry bits (low half).
mod entry {
    /// Input pin polarity: active low.
    pub const ACTIVE_LOW: u32 = 1 << 13;
    /// Trigger mode: level.
    pub const LEVEL: u32 = 1 << 15;
    /// Masked.
    pub const MASKED: u32 = 1 << 16;
}

/// The first I/O APIC, mapped.
struct IoApic {
    /// Virtual address of its registers.
    base: u64,
    /// Its first GSI.
    gsi_base: u32,
    /// How many redirection entries it has.
    entries: u32,
    /// Serialises the select-then-access pairs.
    lock: SpinLock<()>,
}

static IOAPIC: InitCell<IoApic> = InitCell::new();

impl IoApic {
    fn read(&self, reg: u32) -> u32 {
        let _held = self.lock.lock();
        // SAFETY: `base` maps the I/O APIC's registers (uncached); the
        // two words are IOREGSEL and IOWIN.
        unsafe {
            core::ptr::write_volatile((self.base + IOREGSEL) as *mut u32, reg);
            core::ptr::read_volatile((self.base + IOWIN) as *const u32)
        }
    }

    fn write(&self, reg: u32, value: u32) {
        let _held = self.lock.lock();
        // SAFETY: as in `read`.
        unsafe {
            core::ptr::write_volatile((self.base + IOREGSEL) as *mut u32, reg);
            core::ptr::write_volatile((self.base + IOWIN) as *mut u32, value);
        }
        core::sync::atomic::fence(Ordering::SeqCst);
    }
}

/// Maps the first I/O APIC the MADT lists; false if there is none.
pub fn init() -> bool {
    let Some(found) = acpi::info().and_then(|a| a.io_apics.first().copied()) else { return false };
    let base = mmio::map(found.address, 0x20, Caching::Uncached);
    let mut ioapic = IoApic { base, gsi_base: found.gsi_base, entries: 0, lock: SpinLock::new(()) };
    ioapic.entries = ((ioapic.read(REG_VERSION) >> 16) & 0xFF) + 1;
    IOAPIC.set(ioapic);
    true
}

/// Routes ISA interrupt `irq` to `vector` on the CPU with local APIC id
/// `apic_id` (physical destination, fixed delivery), with the polarity and
/// trigger mode of its MADT override, else the ISA default (edge, active
/// high). False if there is no I/O APIC for it or the id does not fit the
/// 8-bit destination field.
pub fn route_isa_irq(irq: u8, vector: u8, apic_id: u32) -> bool {
    let Some(ioapic) = IOAPIC.get() else { return false };
    let over = acpi::info().and_then(|a| a.isa_overrides.iter().find(|o| o.irq == irq).copied());
    let (gsi, flags) = over.map_or((u32::from(irq), 0), |o| (o.gsi, o.flags));
    let Some(pin) = gsi.checked_sub(ioapic.gsi_base).filter(|&p| p < ioapic.entries) else { return false };
    let Ok(dest) = u8::try_from(apic_id) else { return false };
    let mut low = u32::from(vector);
    // MPS INTI flags: polarity 0b11 = active low, trigger 0b11 = level;
    // 0b00 means "as the bus says" (ISA: high, edge).
    if flags & 0b11 == 0b11 {
        low |= entry::ACTIVE_LOW;
    }
    if (flags >> 2) & 0b11 == 0b11 {
        low |= entry::LEVEL;
    }
    let reg = REG_REDIRECTION + 2 * pin;
    // Masked while it changes, the destination first, unmasked last.
    ioapic.write(reg, entry::MASKED);
    ioapic.write(reg + 1, u32::from(dest) << 24);
    ioapic.write(reg, low);
    true
}
