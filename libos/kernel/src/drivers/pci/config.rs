//! Configuration space through I/O ports 0xCF8/0xCFC (configuration
//! mechanism #1, PCI 3.0 section 3.2.2.3.2), which QEMU's `pc` machine and
//! every PC chipset provide (Linux: `arch/x86/pci/direct.c`,
//! `pci_conf1_read`, version 6.1).

use libos_kcore::pci::{Address, ConfigSpace};
use x86_64::instructions::port::Port;

use crate::sync::SpinLock;

/// The address port.
const CONFIG_ADDRESS: u16 = 0xCF8;
/// The data port.
const CONFIG_DATA: u16 = 0xCFC;

/// The two ports form one register pair: an access is an address write
/// then a data access, which must not interleave with another CPU's.
static PORTS: SpinLock<()> = SpinLock::new(());

/// One function's configuration space, reached through the ports.
#[derive(Clone, Copy, Debug)]
pub struct PortConfig {
    /// The function.
    pub address: Address,
}

impl ConfigSpace for PortConfig {
    fn read32(&self, offset: u16) -> u32 {
        let _guard = PORTS.lock();
        // SAFETY: the configuration ports have no effect beyond selecting
        // and reading a register; the lock keeps the pair together.
        unsafe {
            Port::<u32>::new(CONFIG_ADDRESS).write(self.address.port_address(offset));
            Port::<u32>::new(CONFIG_DATA).read()
        }
    }

    fn write32(&mut self, offset: u16, value: u32) {
        let _guard = PORTS.lock();
        // SAFETY: as in `read32`; what the write changes in the device is
        // the caller's business (this module's users write only registers
        // they own: command, BARs while sizing, MSI-X control).
        unsafe {
            Port::<u32>::new(CONFIG_ADDRESS).write(self.address.port_address(offset));
            Port::<u32>::new(CONFIG_DATA).write(value);
        }
    }
}
