//! The kernel's disks ([`crate::drivers::block::BlockDevice`]) as the
//! file systems' block device (`libos_fs::block_device::BlockDevice`).

use libos_abi::errno::Errno;

use crate::drivers::block::BlockDevice;

/// A disk for a file system.
pub struct Disk(pub &'static dyn BlockDevice);

impl libos_fs::block_device::BlockDevice for Disk {
    fn sector_size(&self) -> usize {
        self.0.block_size()
    }

    fn sector_count(&self) -> u64 {
        self.0.block_count()
    }

    fn read_sectors(&mut self, sector: u64, buf: &mut [u8]) -> Result<(), Errno> {
        self.0.read_blocks(sector, buf)
    }

    fn write_sectors(&mut self, sector: u64, buf: &[u8]) -> Result<(), Errno> {
        self.0.write_blocks(sector, buf)
    }

    fn flush(&mut self) -> Result<(), Errno> {
        self.0.flush()
    }
}
