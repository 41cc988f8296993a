//! PCI configuration space: the parts that are plain arithmetic over the
//! registers (decoding BARs, walking the capability list, reading the MSI-X
//! capability, composing an MSI message), so they can be tested on the host
//! against a fake configuration space.
//!
//! References: PCI Local Bus Specification 3.0, section 6.1 (the type 0
//! header), 6.2.5 (base address registers), 6.7 (capabilities), 6.8.2
//! (MSI-X); Linux `drivers/pci/probe.c` (`__pci_read_base`,
//! `pci_read_bases`) and `drivers/pci/pci.c` (`__pci_find_next_cap_ttl`),
//! version 6.1; the Intel SDM volume 3, section 11.11 (message signalled
//! interrupts: the address and data formats).

use alloc::vec::Vec;

use crate::phys_range::PhysRange;

/// Configuration space register offsets of the type 0 header.
pub mod reg {
    /// Vendor id (16 bits); 0xFFFF when no function answers.
    pub const VENDOR_ID: u16 = 0x00;
    /// Device id (16 bits).
    pub const DEVICE_ID: u16 = 0x02;
    /// Command register (16 bits).
    pub const COMMAND: u16 = 0x04;
    /// Status register (16 bits).
    pub const STATUS: u16 = 0x06;
    /// Revision id (8 bits).
    pub const REVISION: u16 = 0x08;
    /// Programming interface, subclass and class (bytes 0x09, 0x0A, 0x0B).
    pub const PROG_IF: u16 = 0x09;
    /// Header type (8 bits; bit 7: multi-function device).
    pub const HEADER_TYPE: u16 = 0x0E;
    /// The first base address register; there are six in a type 0 header.
    pub const BAR0: u16 = 0x10;
    /// Subsystem vendor id (16 bits).
    pub const SUBSYSTEM_VENDOR_ID: u16 = 0x2C;
    /// Subsystem id (16 bits).
    pub const SUBSYSTEM_ID: u16 = 0x2E;
    /// Pointer to the first capability (8 bits, the low two bits reserved).
    pub const CAPABILITIES: u16 = 0x34;
    /// Interrupt pin (8 bits; 0: none).
    pub const INTERRUPT_PIN: u16 = 0x3D;
}

/// Bits of the command register.
pub mod command {
    /// Respond to I/O space accesses.
    pub const IO_SPACE: u16 = 1 << 0;
    /// Respond to memory space accesses.
    pub const MEMORY_SPACE: u16 = 1 << 1;
    /// May master the bus (DMA, and MSI writes).
    pub const BUS_MASTER: u16 = 1 << 2;
    /// INTx# emulation disabled.
    pub const INTX_DISABLE: u16 = 1 << 10;
}

/// The status register's "capabilities list present" bit.
pub const STATUS_CAPABILITIES: u16 = 1 << 4;

/// Capability ids.
pub mod cap_id {
    /// Message signalled interrupts.
    pub const MSI: u8 = 0x05;
    /// Vendor specific (virtio's configuration structures are these).
    pub const VENDOR: u8 = 0x09;
    /// MSI-X.
    pub const MSIX: u8 = 0x11;
}

/// Number of BARs in a type 0 (device) header.
pub const BAR_COUNT: usize = 6;

/// Reading (and, for BAR sizing and MSI-X, writing) one function's
/// configuration space. Offsets are below 256 (conventional PCI space).
pub trait ConfigSpace {
    /// The 32-bit register at `offset` (a multiple of 4).
    fn read32(&self, offset: u16) -> u32;
    /// Writes the 32-bit register at `offset` (a multiple of 4).
    fn write32(&mut self, offset: u16, value: u32);

    /// The 16-bit register at `offset` (a multiple of 2).
    fn read16(&self, offset: u16) -> u16 {
        (self.read32(offset & !3) >> ((offset & 2) * 8)) as u16
    }
    /// The byte at `offset`.
    fn read8(&self, offset: u16) -> u8 {
        (self.read32(offset & !3) >> ((offset & 3) * 8)) as u8
    }
    /// Writes the 16-bit register at `offset` (read-modify-write of its
    /// dword: the other half is written back as read, which is what port
    /// I/O configuration access does anyway).
    fn write16(&mut self, offset: u16, value: u16) {
        let shift = (offset & 2) * 8;
        let old = self.read32(offset & !3);
        self.write32(offset & !3, (old & !(0xFFFF << shift)) | ((value as u32) << shift));
    }
}

/// What kind of BAR a register's low bits say it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BarKind {
    /// I/O ports.
    Io,
    /// Memory below 4 GiB (one register).
    Memory32,
    /// Memory anywhere (this register and the next).
    Memory64,
}

impl BarKind {
    /// The kind encoded in a BAR's low bits (PCI 3.0 figure 6-5); `None`
    /// for the reserved memory type 0b11 (and the legacy "below 1 MiB" type
    /// 0b01, which PCI 3.0 no longer allows).
    pub fn of(register: u32) -> Option<BarKind> {
        if register & 1 == 1 {
            return Some(BarKind::Io);
        }
        match (register >> 1) & 3 {
            0 => Some(BarKind::Memory32),
            2 => Some(BarKind::Memory64),
            _ => None,
        }
    }
}

/// A decoded base address register.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bar {
    /// A range of I/O ports.
    Io {
        /// First port.
        port: u32,
        /// Number of ports.
        size: u32,
    },
    /// A range of physical memory.
    Memory {
        /// Physical address (0 if the firmware assigned none).
        address: u64,
        /// Size in bytes (a power of two).
        size: u64,
        /// Prefetchable (reads have no side effects).
        prefetchable: bool,
        /// 64-bit (it used two registers).
        is_64bit: bool,
    },
}

impl Bar {
    /// Decodes a BAR from its register values before and after writing
    /// all ones to it (`original`, `sized`), with the upper registers of a
    /// 64-bit BAR (`original_high`, `sized_high`; ignored otherwise).
    /// `None` for an unimplemented BAR (sizing reads back zero) or a
    /// reserved type. As Linux's `__pci_read_base`: the size is the lowest
    /// address bit that reads back as one.
    pub fn decode(original: u32, sized: u32, original_high: u32, sized_high: u32) -> Option<Bar> {
        match BarKind::of(original)? {
            BarKind::Io => {
                // I/O BARs decode 16 or 32 address bits; unimplemented
                // upper bits read back as zero, which the mask leaves out.
                let mask = sized & !0x3;
                if mask == 0 {
                    return None;
                }
                Some(Bar::Io { port: original & !0x3, size: mask & mask.wrapping_neg() })
            }
            kind => {
                let is_64bit = kind == BarKind::Memory64;
                let high = if is_64bit { sized_high } else { 0xFFFF_FFFF };
                let mask = ((high as u64) << 32) | (sized & !0xF) as u64;
                let mask = if is_64bit { mask } else { mask & 0xFFFF_FFFF };
                if mask == 0 {
                    return None;
                }
                let address = (original & !0xF) as u64 | if is_64bit { (original_high as u64) << 32 } else { 0 };
                Some(Bar::Memory {
                    address,
                    size: mask & mask.wrapping_neg(),
                    prefetchable: original & 0x8 != 0,
                    is_64bit,
                })
            }
        }
    }

    /// How many BAR registers this BAR takes (2 for a 64-bit memory BAR).
    pub fn registers(&self) -> usize {
        match self {
            Bar::Memory { is_64bit: true, .. } => 2,
            _ => 1,
        }
    }
}

/// Reads and sizes BAR `index` of a function (PCI 3.0 section 6.2.5.1:
/// write all ones, read back, restore). The caller must have turned the
/// function's memory and I/O decoding off around this, so that the
/// all-ones address never decodes (as Linux's `__pci_read_base` does).
/// Returns the BAR and the number of registers it takes (so the caller
/// skips the upper half of a 64-bit BAR), or `None` and 1 for an empty
/// register.
pub fn read_bar(cfg: &mut impl ConfigSpace, index: usize) -> (Option<Bar>, usize) {
    let offset = reg::BAR0 + 4 * index as u16;
    let original = cfg.read32(offset);
    cfg.write32(offset, 0xFFFF_FFFF);
    let sized = cfg.read32(offset);
    cfg.write32(offset, original);
    let (mut original_high, mut sized_high) = (0, 0);
    if BarKind::of(original) == Some(BarKind::Memory64) && index + 1 < BAR_COUNT {
        let high = offset + 4;
        original_high = cfg.read32(high);
        cfg.write32(high, 0xFFFF_FFFF);
        sized_high = cfg.read32(high);
        cfg.write32(high, original_high);
    }
    let bar = Bar::decode(original, sized, original_high, sized_high);
    let used = if BarKind::of(original) == Some(BarKind::Memory64) { 2 } else { 1 };
    (bar, used)
}

/// One entry of a function's capability list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capability {
    /// The capability id (see [`cap_id`]).
    pub id: u8,
    /// Its offset in configuration space.
    pub offset: u16,
}

/// The most capabilities a conventional configuration space can hold
/// (192 bytes after the header, 4 bytes each at least): a longer walk is a
/// loop in a broken or hostile list (Linux's `PCI_FIND_CAP_TTL` is 48).
pub const MAX_CAPABILITIES: usize = 48;

/// Iterates over a function's capabilities (PCI 3.0 section 6.7), stopping
/// at the end of the list, at a pointer into the header (below 0x40), or
/// after [`MAX_CAPABILITIES`] entries.
pub struct Capabilities<'a, C: ConfigSpace> {
    cfg: &'a C,
    next: u16,
    left: usize,
}

/// The capabilities of the function `cfg` reaches (none if its status
/// register says it has no list).
pub fn capabilities<C: ConfigSpace>(cfg: &C) -> Capabilities<'_, C> {
    let next = if cfg.read16(reg::STATUS) & STATUS_CAPABILITIES != 0 {
        (cfg.read8(reg::CAPABILITIES) & 0xFC) as u16
    } else {
        0
    };
    Capabilities { cfg, next, left: MAX_CAPABILITIES }
}

impl<C: ConfigSpace> Iterator for Capabilities<'_, C> {
    type Item = Capability;

    fn next(&mut self) -> Option<Capability> {
        if self.next < 0x40 || self.left == 0 {
            return None;
        }
        self.left -= 1;
        let offset = self.next;
        let header = self.cfg.read16(offset);
        self.next = (header >> 8) & 0xFC;
        Some(Capability { id: header as u8, offset })
    }
}

/// Where a function's MSI-X table and pending-bit array are (PCI 3.0
/// section 6.8.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MsixInfo {
    /// The capability's offset in configuration space.
    pub cap_offset: u16,
    /// Number of table entries (vectors).
    pub table_size: u16,
    /// The BAR holding the table.
    pub table_bar: u8,
    /// The table's offset in that BAR.
    pub table_offset: u32,
    /// The BAR holding the pending-bit array.
    pub pba_bar: u8,
    /// The pending-bit array's offset in that BAR.
    pub pba_offset: u32,
}

/// MSI-X message control bits (the upper half of the capability's first dword).
pub mod msix_control {
    /// Table size minus one.
    pub const TABLE_SIZE_MASK: u16 = 0x7FF;
    /// All vectors masked.
    pub const FUNCTION_MASK: u16 = 1 << 14;
    /// MSI-X enabled (INTx and MSI then off).
    pub const ENABLE: u16 = 1 << 15;
}

/// Size of one MSI-X table entry: address low, address high, data, vector control.
pub const MSIX_ENTRY_SIZE: u64 = 16;
/// The vector control word's mask bit.
pub const MSIX_ENTRY_MASKED: u32 = 1;

impl MsixInfo {
    /// Reads the MSI-X capability at `cap_offset`.
    pub fn read(cfg: &impl ConfigSpace, cap_offset: u16) -> MsixInfo {
        let control = cfg.read16(cap_offset + 2);
        let table = cfg.read32(cap_offset + 4);
        let pba = cfg.read32(cap_offset + 8);
        MsixInfo {
            cap_offset,
            table_size: (control & msix_control::TABLE_SIZE_MASK) + 1,
            table_bar: (table & 7) as u8,
            table_offset: table & !7,
            pba_bar: (pba & 7) as u8,
            pba_offset: pba & !7,
        }
    }

    /// The offset of the message control register.
    pub fn control_offset(&self) -> u16 {
        self.cap_offset + 2
    }
}

/// The first capability with id `id`.
pub fn find_capability(cfg: &impl ConfigSpace, id: u8) -> Option<Capability> {
    capabilities(cfg).find(|c| c.id == id)
}

/// An MSI (or MSI-X) message: what the device writes, and where, to raise
/// an interrupt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MsiMessage {
    /// The address (in the local APICs' 0xFEE0_0000 window).
    pub address: u64,
    /// The data.
    pub data: u32,
}

/// The message that delivers `vector` to the local APIC with id
/// `apic_id` (physical destination mode, fixed delivery, edge triggered;
/// SDM volume 3, 11.11.1 and 11.11.2). `None` if the id does not fit the
/// 8-bit destination field (x2APIC ids above 255 need interrupt
/// remapping) or the vector is one of the 16 reserved for exceptions.
pub fn msi_message(apic_id: u32, vector: u8) -> Option<MsiMessage> {
    if apic_id > 0xFF || vector < 16 {
        return None;
    }
    Some(MsiMessage { address: 0xFEE0_0000 | ((apic_id as u64) << 12), data: vector as u32 })
}

/// Places memory BARs the firmware left unassigned (address 0): each of
/// `sizes` (powers of two) gets a naturally aligned address inside
/// `window` that overlaps neither `busy` nor an earlier placement, the
/// largest first so alignment wastes little (as Linux's
/// `pci_assign_unassigned_resources` sorts by alignment;
/// `drivers/pci/setup-bus.c`, version 6.1). `None` for a BAR that does
/// not fit (or whose size is not a power of two).
pub fn place_bars(window: PhysRange, busy: &[PhysRange], sizes: &[u64]) -> Vec<Option<u64>> {
    let mut placed: Vec<Option<u64>> = alloc::vec![None; sizes.len()];
    let mut taken: Vec<PhysRange> = busy.to_vec();
    // Largest first (a device has a handful of BARs: a selection, not a
    // sort, keeps the kernel small).
    let mut left: Vec<usize> = (0..sizes.len()).collect();
    while let Some(pos) = (0..left.len()).max_by_key(|&p| (sizes[left[p]], core::cmp::Reverse(left[p]))) {
        let i = left.swap_remove(pos);
        let size = sizes[i];
        if !size.is_power_of_two() {
            continue;
        }
        let Some(mut candidate) = window.start.checked_next_multiple_of(size) else { continue };
        while let Some(end) = candidate.checked_add(size).filter(|&e| e <= window.end) {
            let here = PhysRange::new(candidate, end);
            match taken.iter().filter(|t| t.overlaps(&here)).map(|t| t.end).max() {
                Some(past) => match past.checked_next_multiple_of(size) {
                    Some(next) => candidate = next,
                    None => break,
                },
                None => {
                    placed[i] = Some(candidate);
                    taken.push(here);
                    break;
                }
            }
        }
    }
    placed
}

/// A function's place on the bus.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Address {
    /// Bus number.
    pub bus: u8,
    /// Device (slot) number, 0..32.
    pub device: u8,
    /// Function number, 0..8.
    pub function: u8,
}

impl core::fmt::Display for Address {
    /// As Linux prints it, without the segment: `00:03.0`.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{:02x}:{:02x}.{}", self.bus, self.device, self.function)
    }
}

impl Address {
    /// The value the configuration address port (0xCF8) takes for
    /// register `offset` of this function (configuration mechanism #1,
    /// PCI 3.0 section 3.2.2.3.2): enable bit, bus, device, function, and
    /// the dword-aligned register.
    pub fn port_address(&self, offset: u16) -> u32 {
        0x8000_0000
            | (self.bus as u32) << 16
            | ((self.device & 0x1F) as u32) << 11
            | ((self.function & 7) as u32) << 8
            | (offset & 0xFC) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A configuration space in memory; BAR registers answer sizing the
    /// way hardware does (the writable bits are the complement of the size).
    struct FakeConfig {
        bytes: [u8; 256],
        bar_sizes: [u64; BAR_COUNT],
        writes: usize,
    }

    impl FakeConfig {
        fn new() -> FakeConfig {
            FakeConfig { bytes: [0; 256], bar_sizes: [0; BAR_COUNT], writes: 0 }
        }
        fn set32(&mut self, offset: u16, v: u32) {
            self.bytes[offset as usize..offset as usize + 4].copy_from_slice(&v.to_le_bytes());
        }
        fn set16(&mut self, offset: u16, v: u16) {
            self.bytes[offset as usize..offset as usize + 2].copy_from_slice(&v.to_le_bytes());
        }
        fn add_cap(&mut self, offset: u16, id: u8, next: u8) {
            self.bytes[offset as usize] = id;
            self.bytes[offset as usize + 1] = next;
        }
    }

    impl ConfigSpace for FakeConfig {
        fn read32(&self, offset: u16) -> u32 {
            let o = offset as usize;
            u32::from_le_bytes(self.bytes[o..o + 4].try_into().unwrap())
        }
        fn write32(&mut self, offset: u16, value: u32) {
            self.writes += 1;
            let bar = (offset as usize).wrapping_sub(reg::BAR0 as usize) / 4;
            if (reg::BAR0..reg::BAR0 + 24).contains(&offset) {
                // Which BAR this register belongs to, and whether it is the
                // upper half of a 64-bit one.
                let (owner, upper) = if bar > 0 && BarKind::of(self.read32(offset - 4)) == Some(BarKind::Memory64) {
                    (bar - 1, true)
                } else {
                    (bar, false)
                };
                let size = self.bar_sizes[owner];
                let old = self.read32(offset);
                let v = if size == 0 {
                    0
                } else if upper {
                    value & ((!(size - 1)) >> 32) as u32
                } else {
                    let low_bits = if old & 1 == 1 { 0x3 } else { 0xF };
                    (value & !(size as u32 - 1) & !low_bits) | (old & low_bits)
                };
                self.set32(offset, v);
            } else {
                self.set32(offset, value);
            }
        }
    }

    #[test]
    fn bars_of_a_virtio_device_decode() {
        // As QEMU's virtio-pci on `pc`: BAR0 I/O 0x20 ports at 0xC040,
        // BAR1 32-bit memory 4 KiB (MSI-X), BAR4 64-bit prefetchable 16 KiB.
        let mut cfg = FakeConfig::new();
        cfg.set32(reg::BAR0, 0xC041);
        cfg.bar_sizes[0] = 0x20;
        cfg.set32(reg::BAR0 + 4, 0xFEBD_1000);
        cfg.bar_sizes[1] = 0x1000;
        cfg.set32(reg::BAR0 + 16, 0xFE00_000C);
        cfg.set32(reg::BAR0 + 20, 0x0000_0001);
        cfg.bar_sizes[4] = 0x4000;
        let mut found = std::vec::Vec::new();
        let mut i = 0;
        while i < BAR_COUNT {
            let (bar, used) = read_bar(&mut cfg, i);
            found.push((i, bar));
            i += used;
        }
        assert_eq!(
            found,
            [
                (0, Some(Bar::Io { port: 0xC040, size: 0x20 })),
                (1, Some(Bar::Memory { address: 0xFEBD_1000, size: 0x1000, prefetchable: false, is_64bit: false })),
                (2, None),
                (3, None),
                (4, Some(Bar::Memory { address: 0x1_FE00_0000, size: 0x4000, prefetchable: true, is_64bit: true })),
            ]
        );
        // Sizing restored every register.
        assert_eq!(cfg.read32(reg::BAR0), 0xC041);
        assert_eq!(cfg.read32(reg::BAR0 + 20), 1);
        assert_eq!(found.iter().filter_map(|(_, b)| *b).map(|b| b.registers()).sum::<usize>(), 4);
    }

    #[test]
    fn bar_decoding_edge_cases() {
        // A 64-bit BAR larger than 4 GiB: the size comes from the upper register.
        assert_eq!(
            Bar::decode(0x4, 0x0000_0004, 0x2, 0xFFFF_FFFE),
            Some(Bar::Memory { address: 0x2_0000_0000, size: 0x2_0000_0000, prefetchable: false, is_64bit: true })
        );
        // Unimplemented BARs read back zero.
        assert_eq!(Bar::decode(0, 0, 0, 0), None);
        assert_eq!(Bar::decode(0x1, 0x1, 0, 0), None);
        // Reserved memory type.
        assert_eq!(Bar::decode(0x6, 0xFFFF_FFF6, 0, 0), None);
        // A 16-bit I/O BAR: the upper bits read back zero.
        assert_eq!(Bar::decode(0x1001, 0x0000_FF01, 0, 0), Some(Bar::Io { port: 0x1000, size: 0x100 }));
        // A 32-bit memory BAR ignores the "high" arguments.
        assert_eq!(
            Bar::decode(0xE000_0000, 0xF000_0000, 0x1234, 0),
            Some(Bar::Memory { address: 0xE000_0000, size: 0x1000_0000, prefetchable: false, is_64bit: false })
        );
        assert_eq!(BarKind::of(0x2), None, "the legacy below-1-MiB type");
    }

    #[test]
    fn capability_walk_follows_the_list() {
        let mut cfg = FakeConfig::new();
        cfg.set16(reg::STATUS, STATUS_CAPABILITIES);
        cfg.bytes[reg::CAPABILITIES as usize] = 0x98 | 0x3; // the reserved low bits are ignored
        cfg.add_cap(0x98, cap_id::MSIX, 0x84);
        cfg.add_cap(0x84, cap_id::VENDOR, 0x70);
        cfg.add_cap(0x70, cap_id::VENDOR, 0x00);
        let caps: std::vec::Vec<_> = capabilities(&cfg).collect();
        assert_eq!(
            caps,
            [
                Capability { id: cap_id::MSIX, offset: 0x98 },
                Capability { id: cap_id::VENDOR, offset: 0x84 },
                Capability { id: cap_id::VENDOR, offset: 0x70 },
            ]
        );
        assert_eq!(find_capability(&cfg, cap_id::VENDOR).map(|c| c.offset), Some(0x84));
        assert_eq!(find_capability(&cfg, cap_id::MSI), None);
    }

    #[test]
    fn capability_walk_survives_broken_lists() {
        let mut cfg = FakeConfig::new();
        // No list bit: nothing, whatever the pointer says.
        cfg.bytes[reg::CAPABILITIES as usize] = 0x40;
        cfg.add_cap(0x40, cap_id::MSI, 0);
        assert_eq!(capabilities(&cfg).count(), 0);
        // A loop ends after MAX_CAPABILITIES entries.
        cfg.set16(reg::STATUS, STATUS_CAPABILITIES);
        cfg.add_cap(0x40, cap_id::MSI, 0x50);
        cfg.add_cap(0x50, cap_id::VENDOR, 0x40);
        assert_eq!(capabilities(&cfg).count(), MAX_CAPABILITIES);
        // A pointer into the header ends the walk.
        cfg.add_cap(0x50, cap_id::VENDOR, 0x10);
        assert_eq!(capabilities(&cfg).count(), 2);
    }

    #[test]
    fn msix_capability_reads_table_and_pba_places() {
        let mut cfg = FakeConfig::new();
        cfg.set16(reg::STATUS, STATUS_CAPABILITIES);
        cfg.bytes[reg::CAPABILITIES as usize] = 0x98;
        cfg.add_cap(0x98, cap_id::MSIX, 0);
        cfg.set16(0x9A, 2 | msix_control::FUNCTION_MASK); // 3 vectors
        cfg.set32(0x9C, 0x0000_0001); // table at BAR1 + 0
        cfg.set32(0xA0, 0x0000_0801); // PBA at BAR1 + 0x800
        let cap = find_capability(&cfg, cap_id::MSIX).unwrap();
        let info = MsixInfo::read(&cfg, cap.offset);
        assert_eq!(
            info,
            MsixInfo { cap_offset: 0x98, table_size: 3, table_bar: 1, table_offset: 0, pba_bar: 1, pba_offset: 0x800 }
        );
        assert_eq!(info.control_offset(), 0x9A);
        // write16 keeps the capability id and next pointer.
        cfg.write16(info.control_offset(), msix_control::ENABLE | 2);
        assert_eq!(cfg.read16(0x98), (cap_id::MSIX as u16));
        assert_eq!(cfg.read16(0x9A), msix_control::ENABLE | 2);
    }

    #[test]
    fn msi_messages_target_one_apic() {
        assert_eq!(msi_message(0, 0x30), Some(MsiMessage { address: 0xFEE0_0000, data: 0x30 }));
        assert_eq!(msi_message(3, 0x41), Some(MsiMessage { address: 0xFEE0_3000, data: 0x41 }));
        assert_eq!(msi_message(256, 0x41), None, "needs interrupt remapping");
        assert_eq!(msi_message(1, 14), None, "exception vectors");
    }

    #[test]
    fn unassigned_bars_are_placed_aligned_around_busy_ranges() {
        let window = PhysRange::new(0xE000_0000, 0xFEC0_0000);
        let busy = [PhysRange::new(0xE000_0000, 0xE000_1000), PhysRange::new(0xE010_0000, 0xE100_0000)];
        let placed = place_bars(window, &busy, &[0x1000, 0x4000, 0x100_0000, 0x1000, 3]);
        assert_eq!(
            placed,
            [Some(0xE000_1000), Some(0xE000_4000), Some(0xE100_0000), Some(0xE000_2000), None],
            "largest first, each naturally aligned, nothing overlapping"
        );
        // A window too small for one of them.
        let small = PhysRange::new(0xFEB0_0000, 0xFEC0_0000);
        assert_eq!(place_bars(small, &[], &[0x10_0000, 0x20_0000]), [Some(0xFEB0_0000), None]);
        // The top of the address space does not overflow.
        let top = PhysRange::new(u64::MAX - 0xFFF, u64::MAX);
        assert_eq!(place_bars(top, &[], &[0x1000]), [None]);
    }

    #[test]
    fn configuration_port_addresses() {
        let a = Address { bus: 0, device: 3, function: 0 };
        assert_eq!(a.port_address(0x10), 0x8000_1810);
        assert_eq!(Address { bus: 1, device: 31, function: 7 }.port_address(0xFF), 0x8001_FFFC);
        assert_eq!(std::format!("{a}"), "00:03.0");
    }
}
