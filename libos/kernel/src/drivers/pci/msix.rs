//! MSI-X: a device's interrupts as messages to a local APIC (PCI 3.0
//! section 6.8.2; Linux `drivers/pci/msi/msi.c`, `msix_capability_init`,
//! version 6.1). With MSI-X a device needs no I/O APIC and no ACPI
//! interrupt routing: each table entry names a CPU and a vector.

use libos_kcore::pci::{
    ConfigSpace, MSIX_ENTRY_MASKED, MSIX_ENTRY_SIZE, MsixInfo, cap_id, command, find_capability, msi_message,
    msix_control, reg,
};

use super::Function;
use crate::drivers::irq::DeviceVector;
use crate::drivers::mmio::MmioRegion;

/// Offsets in a table entry.
mod entry {
    pub const ADDRESS_LOW: u64 = 0;
    pub const ADDRESS_HIGH: u64 = 4;
    pub const DATA: u64 = 8;
    pub const VECTOR_CONTROL: u64 = 12;
}

/// Why MSI-X could not be set up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MsixError {
    /// The function has no MSI-X capability.
    NoCapability,
    /// The BAR holding the table is missing, unassigned or too small.
    TableBar,
    /// The entry index is beyond the table.
    NoSuchEntry,
    /// The CPU's APIC id does not fit an MSI message, or the vector is reserved.
    Unroutable,
}

/// A function's MSI-X table, mapped, with MSI-X enabled and every entry
/// masked until [`Msix::route`] fills it.
pub struct Msix {
    info: MsixInfo,
    table: MmioRegion,
}

impl Msix {
    /// Enables MSI-X on `function` with all entries masked, turns INTx off
    /// and bus mastering on (MSI writes are bus-master writes).
    pub fn enable(function: &mut Function) -> Result<Msix, MsixError> {
        let cap = find_capability(&function.config, cap_id::MSIX).ok_or(MsixError::NoCapability)?;
        let info = MsixInfo::read(&function.config, cap.offset);
        let bar = function.map_bar(info.table_bar as usize).ok_or(MsixError::TableBar)?;
        let table =
            bar.sub(info.table_offset as u64, info.table_size as u64 * MSIX_ENTRY_SIZE).ok_or(MsixError::TableBar)?;
        let cfg = &mut function.config;
        // Function mask first, then enable, then mask each entry, then lift
        // the function mask (the order of msix_capability_init).
        let control = cfg.read16(info.control_offset());
        cfg.write16(info.control_offset(), control | msix_control::FUNCTION_MASK | msix_control::ENABLE);
        for i in 0..info.table_size as u64 {
            table.write::<u32>(i * MSIX_ENTRY_SIZE + entry::VECTOR_CONTROL, MSIX_ENTRY_MASKED);
        }
        let cmd = cfg.read16(reg::COMMAND);
        cfg.write16(reg::COMMAND, cmd | command::BUS_MASTER | command::MEMORY_SPACE | command::INTX_DISABLE);
        let control = cfg.read16(info.control_offset());
        cfg.write16(info.control_offset(), (control | msix_control::ENABLE) & !msix_control::FUNCTION_MASK);
        Ok(Msix { info, table })
    }

    /// Number of table entries.
    pub fn entries(&self) -> u16 {
        self.info.table_size
    }

    /// Points table entry `index` at `target` and unmasks it.
    pub fn route(&self, index: u16, target: DeviceVector) -> Result<(), MsixError> {
        if index >= self.info.table_size {
            return Err(MsixError::NoSuchEntry);
        }
        let msg = msi_message(target.apic_id, target.vector).ok_or(MsixError::Unroutable)?;
        let base = index as u64 * MSIX_ENTRY_SIZE;
        self.table.write::<u32>(base + entry::VECTOR_CONTROL, MSIX_ENTRY_MASKED);
        self.table.write::<u32>(base + entry::ADDRESS_LOW, msg.address as u32);
        self.table.write::<u32>(base + entry::ADDRESS_HIGH, (msg.address >> 32) as u32);
        self.table.write::<u32>(base + entry::DATA, msg.data);
        self.table.write::<u32>(base + entry::VECTOR_CONTROL, 0);
        Ok(())
    }
}
