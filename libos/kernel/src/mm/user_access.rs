//! Reaching app memory from the kernel: every pointer an app passes is
//! checked against the user range, then copied with SMAP opened for the
//! copy instruction alone (`user_copy` in entry-asm). A bad pointer gives
//! `EFAULT`, never a kernel fault: unmapped or read-only user pages fault
//! inside the copy, and the exception table turns that into a short copy.

use entry_asm::layout::is_user_range;
use entry_asm::symbols::user_copy;
use libos_abi::errno::Errno;

/// Turns SMAP handling on (STAC/CLAC around copies), when CR4.SMAP is set.
pub fn init(smap: bool) {
    // SAFETY: written once on the boot CPU before any user copy runs.
    unsafe { core::ptr::addr_of_mut!(entry_asm::symbols::user_access_uses_stac).write_volatile(smap as u8) };
}

/// Checks that `[addr, addr + len)` is a user range.
pub fn check(addr: u64, len: usize) -> Result<(), Errno> {
    if len == 0 || is_user_range(addr, len as u64) { Ok(()) } else { Err(Errno::EFAULT) }
}

/// Copies `dst.len()` bytes from user address `src`. On a fault part-way,
/// returns how many bytes arrived as the error's companion.
pub fn copy_from_user(dst: &mut [u8], src: u64) -> Result<(), (Errno, usize)> {
    check(src, dst.len()).map_err(|e| (e, 0))?;
    if dst.is_empty() {
        return Ok(());
    }
    // SAFETY: the source is a checked user range (faults are fixed up), the
    // destination is a kernel buffer of that length.
    let left = unsafe { user_copy(dst.as_mut_ptr(), src as *const u8, dst.len()) };
    if left == 0 { Ok(()) } else { Err((Errno::EFAULT, dst.len() - left)) }
}

/// Copies `src` to user address `dst`.
pub fn copy_to_user(dst: u64, src: &[u8]) -> Result<(), (Errno, usize)> {
    check(dst, src.len()).map_err(|e| (e, 0))?;
    if src.is_empty() {
        return Ok(());
    }
    // SAFETY: the destination is a checked user range (faults are fixed
    // up), the source a kernel buffer of that length.
    let left = unsafe { user_copy(dst as *mut u8, src.as_ptr(), src.len()) };
    if left == 0 { Ok(()) } else { Err((Errno::EFAULT, src.len() - left)) }
}

/// Types that are valid for every bit pattern (so bytes from an app can
/// become one) and have no padding (so one can be copied out whole).
///
/// # Safety
/// Implement only for such types.
pub unsafe trait Pod: Copy {}
// SAFETY: integers are valid for every bit pattern and have no padding.
unsafe impl Pod for u64 {}
// SAFETY: as above.
unsafe impl Pod for i64 {}
// SAFETY: as above.
unsafe impl Pod for u32 {}
// SAFETY: two i64 fields, no padding (checked in libos-abi).
unsafe impl Pod for libos_abi::abi_types::Timespec {}
// SAFETY: six byte arrays, no padding.
unsafe impl Pod for libos_abi::abi_types::Utsname {}

/// Reads a plain-old-data value from user memory.
pub fn read_user<T: Pod>(src: u64) -> Result<T, Errno> {
    let mut value = core::mem::MaybeUninit::<T>::uninit();
    // SAFETY: the slice covers the value's bytes; it is only read as T after
    // the copy filled every byte.
    let bytes = unsafe { core::slice::from_raw_parts_mut(value.as_mut_ptr() as *mut u8, core::mem::size_of::<T>()) };
    copy_from_user(bytes, src).map_err(|(e, _)| e)?;
    // SAFETY: every byte was copied and T is valid for any bytes (Pod).
    Ok(unsafe { value.assume_init() })
}

/// Writes a plain-old-data value to user memory.
pub fn write_user<T: Pod>(dst: u64, value: &T) -> Result<(), Errno> {
    // SAFETY: a Pod value has no padding, so all its bytes are initialised.
    let bytes = unsafe { core::slice::from_raw_parts(value as *const T as *const u8, core::mem::size_of::<T>()) };
    copy_to_user(dst, bytes).map_err(|(e, _)| e)
}
