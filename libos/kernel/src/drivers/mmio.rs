//! A window of device registers mapped uncached, with bounds-checked
//! volatile access.

use core::ptr::NonNull;

use volatile::VolatilePtr;

use crate::mm::mmio::{self, Caching};

/// Device registers mapped at `base` for `len` bytes.
#[derive(Clone, Copy, Debug)]
pub struct MmioRegion {
    base: u64,
    len: u64,
}

/// Register widths a region can be read and written in.
pub trait Register: Copy {}
impl Register for u8 {}
impl Register for u16 {}
impl Register for u32 {}
impl Register for u64 {}

impl MmioRegion {
    /// Maps `len` bytes of device memory at physical `phys` uncached (the
    /// mapping stays for good, as device BARs do).
    ///
    /// # Safety
    /// `phys..phys + len` must be device memory (a BAR the firmware
    /// assigned), not RAM that the kernel uses otherwise.
    pub unsafe fn map(phys: u64, len: u64) -> MmioRegion {
        MmioRegion { base: mmio::map(phys, len, Caching::Uncached), len }
    }

    /// The part `offset..offset + len` of this region (`None` if it does
    /// not fit inside).
    pub fn sub(&self, offset: u64, len: u64) -> Option<MmioRegion> {
        let end = offset.checked_add(len)?;
        (end <= self.len).then_some(MmioRegion { base: self.base + offset, len })
    }

    /// Its size in bytes.
    pub fn size(&self) -> u64 {
        self.len
    }

    fn at<T: Register>(&self, offset: u64) -> VolatilePtr<'_, T> {
        let size = size_of::<T>() as u64;
        assert!(
            offset.is_multiple_of(size) && offset + size <= self.len,
            "MMIO access of {size} bytes at {offset:#x} outside a {:#x}-byte region",
            self.len
        );
        // SAFETY: the region was mapped by `map` (whose caller vouched that
        // it is device memory) and is never unmapped; the access is aligned
        // and inside it.
        unsafe { VolatilePtr::new(NonNull::new_unchecked((self.base + offset) as *mut T)) }
    }

    /// Reads the register at `offset`.
    pub fn read<T: Register>(&self, offset: u64) -> T {
        self.at::<T>(offset).read()
    }

    /// Writes the register at `offset`.
    pub fn write<T: Register>(&self, offset: u64, value: T) {
        self.at::<T>(offset).write(value)
    }
}
