//! Block devices as the rest of the kernel sees them: numbered sectors of
//! [`SECTOR_SIZE`] bytes, read and written by the calling thread, which
//! sleeps until the device has finished (the filesystem builds on this).

use alloc::vec::Vec;

use libos_abi::errno::Errno;

use crate::sync::SpinLock;

/// Bytes per block (virtio-blk addresses the disk in 512-byte sectors,
/// whatever its physical block size).
pub const SECTOR_SIZE: usize = 512;

/// A disk.
///
/// Every call blocks the calling kernel thread on a wait queue until the
/// device has finished (no busy waiting); several threads may have
/// requests in flight at once. `buf` may be any kernel memory (heap,
/// stack, statics); it need not be aligned or physically contiguous.
/// Errors: `EINVAL` for a length that is not a whole number of blocks,
/// `EIO` for blocks beyond the end and for a request the device failed,
/// `EROFS` for a write to a read-only disk, `EFAULT` for a buffer that is
/// not kernel memory, `ENOMEM` if the request cannot be built.
pub trait BlockDevice: Send + Sync {
    /// A short name for reports (`vda`).
    fn name(&self) -> &str;
    /// Number of blocks.
    fn block_count(&self) -> u64;
    /// Bytes per block ([`SECTOR_SIZE`]).
    fn block_size(&self) -> usize {
        SECTOR_SIZE
    }
    /// Whether writes are refused.
    fn is_read_only(&self) -> bool;
    /// Reads `buf.len() / block_size()` blocks starting at block `lba`.
    fn read_blocks(&self, lba: u64, buf: &mut [u8]) -> Result<(), Errno>;
    /// Writes `buf.len() / block_size()` blocks starting at block `lba`.
    fn write_blocks(&self, lba: u64, buf: &[u8]) -> Result<(), Errno>;
    /// Returns once everything written before is on stable storage.
    fn flush(&self) -> Result<(), Errno>;
}

static DEVICES: SpinLock<Vec<&'static dyn BlockDevice>> = SpinLock::new(Vec::new());

/// Adds a disk (drivers do, when they find one).
pub fn register(dev: &'static dyn BlockDevice) {
    DEVICES.lock().push(dev);
}

/// Every disk, in the order found (PCI order).
pub fn devices() -> Vec<&'static dyn BlockDevice> {
    DEVICES.lock().clone()
}

/// The first disk, if any.
pub fn first() -> Option<&'static dyn BlockDevice> {
    DEVICES.lock().first().copied()
}
