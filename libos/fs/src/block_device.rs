//! What a disk file system reads and writes through: a device of fixed-size
//! sectors (512 bytes for virtio-blk), and a disk in memory for tests and
//! for images built in memory.
//!
//! The calls may sleep (the kernel's virtio driver waits for the device), so
//! the caller holds no spinlock across them; buffers are kernel memory.

use alloc::vec::Vec;

use libos_abi::errno::Errno;

/// A device of `sector_size`-byte sectors.
pub trait BlockDevice: Send {
    /// Bytes in a sector (512 for virtio-blk).
    fn sector_size(&self) -> usize;

    /// Sectors on the device.
    fn sector_count(&self) -> u64;

    /// Reads whole sectors from `sector` into `buf` (a multiple of the
    /// sector size; `EIO` past the end or on a device error).
    fn read_sectors(&mut self, sector: u64, buf: &mut [u8]) -> Result<(), Errno>;

    /// Writes whole sectors at `sector` from `buf`.
    fn write_sectors(&mut self, sector: u64, buf: &[u8]) -> Result<(), Errno>;

    /// Waits until every write so far is on stable storage (virtio-blk
    /// `VIRTIO_BLK_T_FLUSH`).
    fn flush(&mut self) -> Result<(), Errno>;
}

/// A disk in memory, 512-byte sectors.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemDisk {
    /// The disk's bytes.
    pub data: Vec<u8>,
}

impl MemDisk {
    /// The sector size.
    pub const SECTOR: usize = 512;

    /// A disk holding `data` (its length rounded down to whole sectors).
    pub fn new(mut data: Vec<u8>) -> MemDisk {
        data.truncate(data.len() / Self::SECTOR * Self::SECTOR);
        MemDisk { data }
    }

    fn range(&self, sector: u64, len: usize) -> Result<core::ops::Range<usize>, Errno> {
        if !len.is_multiple_of(Self::SECTOR) {
            return Err(Errno::EINVAL);
        }
        let start = usize::try_from(sector).ok().and_then(|s| s.checked_mul(Self::SECTOR)).ok_or(Errno::EIO)?;
        let end = start.checked_add(len).ok_or(Errno::EIO)?;
        if end > self.data.len() {
            return Err(Errno::EIO);
        }
        Ok(start..end)
    }
}

impl BlockDevice for MemDisk {
    fn sector_size(&self) -> usize {
        Self::SECTOR
    }

    fn sector_count(&self) -> u64 {
        (self.data.len() / Self::SECTOR) as u64
    }

    fn read_sectors(&mut self, sector: u64, buf: &mut [u8]) -> Result<(), Errno> {
        let r = self.range(sector, buf.len())?;
        buf.copy_from_slice(&self.data[r]);
        Ok(())
    }

    fn write_sectors(&mut self, sector: u64, buf: &[u8]) -> Result<(), Errno> {
        let r = self.range(sector, buf.len())?;
        self.data[r].copy_from_slice(buf);
        Ok(())
    }

    fn flush(&mut self) -> Result<(), Errno> {
        Ok(())
    }
}
