//! PCI: finding the functions on the buses, their BARs, and mapping them.
//!
//! Enumeration follows Linux's `pci_scan_child_bus` (`drivers/pci/probe.c`,
//! version 6.1): every device number of a bus, function 0 first and the
//! others only if function 0 says it is multi-function, and into the
//! secondary bus of every PCI-to-PCI bridge. BARs keep the addresses the
//! firmware assigned (SeaBIOS does); memory BARs it left at 0 (qboot
//! assigns none) get an address in the 32-bit PCI hole here.

pub mod config;
pub mod msix;

use alloc::vec::Vec;

use libos_kcore::pci::{Address, BAR_COUNT, Bar, ConfigSpace, command, place_bars, read_bar, reg};
use libos_kcore::phys_range::PhysRange;

use crate::drivers::mmio::MmioRegion;
pub use config::PortConfig;

/// Header type: PCI-to-PCI bridge.
const HEADER_BRIDGE: u8 = 1;
/// A bridge's secondary bus number register.
const SECONDARY_BUS: u16 = 0x19;

/// A function found on a bus.
pub struct Function {
    /// Where it is.
    pub address: Address,
    /// Its configuration space.
    pub config: PortConfig,
    /// Vendor id.
    pub vendor: u16,
    /// Device id.
    pub device: u16,
    /// Subsystem id (virtio's transitional devices put the device type here).
    pub subsystem: u16,
    /// Its BARs (type 0 headers; a 64-bit BAR's upper register is `None`).
    pub bars: [Option<Bar>; BAR_COUNT],
    mapped: [Option<MmioRegion>; BAR_COUNT],
}

impl Function {
    fn read(address: Address) -> Option<Function> {
        let mut config = PortConfig { address };
        let ids = config.read32(reg::VENDOR_ID);
        if ids as u16 == 0xFFFF {
            return None;
        }
        let header = config.read8(reg::HEADER_TYPE) & 0x7F;
        let mut bars = [None; BAR_COUNT];
        if header == 0 {
            // Decoding off while the BARs hold all ones (as __pci_read_base).
            let cmd = config.read16(reg::COMMAND);
            config.write16(reg::COMMAND, cmd & !(command::IO_SPACE | command::MEMORY_SPACE));
            let mut i = 0;
            while i < BAR_COUNT {
                let (bar, used) = read_bar(&mut config, i);
                bars[i] = bar;
                i += used;
            }
            config.write16(reg::COMMAND, cmd);
        }
        Some(Function {
            address,
            config,
            vendor: ids as u16,
            device: (ids >> 16) as u16,
            subsystem: if header == 0 { config.read16(reg::SUBSYSTEM_ID) } else { 0 },
            bars,
            mapped: [None; BAR_COUNT],
        })
    }

    /// BAR `index` mapped uncached (mapped once, then reused); `None` if it
    /// is not a memory BAR with an address. Turns memory decoding on.
    pub fn map_bar(&mut self, index: usize) -> Option<MmioRegion> {
        if let Some(m) = self.mapped.get(index).copied().flatten() {
            return Some(m);
        }
        let Some(Bar::Memory { address, size, .. }) = self.bars.get(index).copied().flatten() else {
            return None;
        };
        if address == 0 {
            return None;
        }
        let cmd = self.config.read16(reg::COMMAND);
        self.config.write16(reg::COMMAND, cmd | command::MEMORY_SPACE);
        // SAFETY: the firmware assigned this BAR to the device: it is
        // device memory in the PCI hole, not RAM.
        let region = unsafe { MmioRegion::map(address, size) };
        self.mapped[index] = Some(region);
        Some(region)
    }

    /// Turns bus mastering on (the device may then DMA and send MSIs).
    pub fn enable_bus_master(&mut self) {
        let cmd = self.config.read16(reg::COMMAND);
        self.config.write16(reg::COMMAND, cmd | command::BUS_MASTER);
    }
}

/// Every function on every bus reachable from bus 0, depth first (a
/// bridge's buses right after it, as Linux numbers them).
pub fn enumerate() -> Vec<Function> {
    let mut found = Vec::new();
    let mut seen = [false; 256];
    scan_bus(0, &mut seen, &mut found);
    assign_unassigned(&mut found);
    found
}

fn scan_bus(bus: u8, seen: &mut [bool; 256], found: &mut Vec<Function>) {
    if core::mem::replace(&mut seen[bus as usize], true) {
        return;
    }
    for device in 0..32 {
        for function in 0..8 {
            let address = Address { bus, device, function };
            let config = PortConfig { address };
            if config.read16(reg::VENDOR_ID) == 0xFFFF {
                if function == 0 {
                    break;
                }
                continue;
            }
            let header = config.read8(reg::HEADER_TYPE);
            if let Some(f) = Function::read(address) {
                found.push(f);
            }
            if header & 0x7F == HEADER_BRIDGE {
                scan_bus(config.read8(SECONDARY_BUS), seen, found);
            }
            if function == 0 && header & 0x80 == 0 {
                break;
            }
        }
    }
}

/// Where unassigned memory BARs go: QEMU's `pc` machine puts no RAM
/// between 0xE000_0000 and the I/O APIC at 0xFEC0_0000 (RAM that would
/// reach past 0xE000_0000 starts again above 4 GiB; `pc_init1` in QEMU's
/// `hw/i386/pc_piix.c`), and routes what is neither RAM nor a chipset
/// device there to the PCI bus. The loader's memory map is checked too.
const PCI_HOLE: PhysRange = PhysRange::new(0xE000_0000, 0xFEC0_0000);

/// Gives the memory BARs the firmware left at address 0 an address in
/// [`PCI_HOLE`], away from the assigned BARs and from anything in the
/// loader's memory map.
fn assign_unassigned(functions: &mut [Function]) {
    let mut busy: Vec<PhysRange> = crate::boot::info().memory_map.iter().map(|e| e.range).collect();
    let mut wanted: Vec<(usize, usize, u64)> = Vec::new();
    for (fi, f) in functions.iter().enumerate() {
        for (bi, bar) in f.bars.iter().enumerate() {
            if let Some(Bar::Memory { address, size, .. }) = *bar {
                if address == 0 {
                    wanted.push((fi, bi, size));
                } else {
                    busy.push(PhysRange::with_len(address, size));
                }
            }
        }
    }
    let sizes: Vec<u64> = wanted.iter().map(|w| w.2).collect();
    for ((fi, bi, _), place) in wanted.into_iter().zip(place_bars(PCI_HOLE, &busy, &sizes)) {
        let f = &mut functions[fi];
        let Some(Some(Bar::Memory { size, prefetchable, is_64bit, .. })) = f.bars.get(bi).copied() else { continue };
        let Some(address) = place else {
            crate::println!("[libos] pci: no room for BAR {bi} of {} ({size:#x} bytes)", f.address);
            continue;
        };
        let offset = reg::BAR0 + 4 * bi as u16;
        let low = f.config.read32(offset) & 0xF;
        f.config.write32(offset, address as u32 | low);
        if is_64bit {
            f.config.write32(offset + 4, (address >> 32) as u32);
        }
        f.bars[bi] = Some(Bar::Memory { address, size, prefetchable, is_64bit });
    }
}
