//! Bounds checks that hold under speculation.
//!
//! A CPU may run ahead of a bounds check it has not resolved yet (Spectre
//! variant 1): `if nr < len { table[nr] }` can load `table[nr]` for an `nr`
//! the app chose far out of bounds, and leave a trace of what it read in
//! the cache. Linux clamps such indexes after the check with
//! `array_index_nospec` (`include/linux/nospec.h`), whose x86 mask
//! (`array_index_mask_nospec`, `arch/x86/include/asm/barrier.h`, Linux 6.1)
//! is a `cmp` and an `sbb`: data dependencies the CPU does not predict, so
//! even a mispredicted path sees the index as 0 when it is out of bounds.

/// `index` if it is below `size`, else 0 — also on a speculated path.
///
/// Use it after the ordinary bounds check, on the value that then indexes
/// the array (Linux's `array_index_nospec`). `size` must not be 0.
#[inline(always)]
pub fn array_index_nospec(index: usize, size: usize) -> usize {
    index & array_index_mask_nospec(index, size)
}

/// `index` if it is below `size`, else `size` — also on a speculated path,
/// with no branch at all: the bounds check and the clamp in one compare and
/// one conditional move (a data dependency the CPU does not predict, like
/// `array_index_mask_nospec`'s `sbb`). For a table of `size + 1` entries
/// whose last one handles every index out of range.
#[inline(always)]
pub fn index_clamp_nospec(index: u64, size: usize) -> usize {
    clamp_nospec(index, size as u64) as usize
}

#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn clamp_nospec(index: u64, size: u64) -> u64 {
    let clamped: u64;
    // SAFETY: a compare and a conditional move on registers; no memory, no
    // stack, and the flags are declared clobbered by leaving out
    // `preserves_flags`.
    unsafe {
        core::arch::asm!(
            "cmp {x}, {size}",
            "cmovae {x}, {size}",
            x = inout(reg) index => clamped,
            size = in(reg) size,
            options(pure, nomem, nostack),
        );
    }
    clamped
}

#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
fn clamp_nospec(index: u64, size: u64) -> u64 {
    // Select without a branch: all ones when in bounds.
    let in_bounds = (index < size) as u64;
    let mask = in_bounds.wrapping_neg();
    (index & mask) | (size & !mask)
}

/// All ones when `index < size`, else 0, computed without a branch.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn array_index_mask_nospec(index: usize, size: usize) -> usize {
    let mask: usize;
    // SAFETY: two ALU instructions on registers (CF = index < size, then
    // mask = -CF); no memory, no stack, and the flags are declared clobbered
    // by leaving out `preserves_flags`.
    unsafe {
        core::arch::asm!(
            "cmp {index}, {size}",
            "sbb {mask}, {mask}",
            index = in(reg) index,
            size = in(reg) size,
            mask = lateout(reg) mask,
            options(pure, nomem, nostack),
        );
    }
    mask
}

/// The generic form of Linux's `array_index_mask_nospec`
/// (`include/linux/nospec.h`): the sign bit of `index | (size - 1 - index)`
/// is set exactly when `index >= size`.
#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
fn array_index_mask_nospec(index: usize, size: usize) -> usize {
    let bits = usize::BITS - 1;
    (!(index | size.wrapping_sub(1).wrapping_sub(index)) as isize >> bits) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_bounds_indexes_pass() {
        for size in [1, 2, 319, 1026, usize::MAX] {
            for index in [0, size / 2, size - 1] {
                assert_eq!(array_index_nospec(index, size), index, "{index} of {size}");
            }
        }
    }

    #[test]
    fn clamps_keep_indexes_in_bounds_and_send_the_rest_to_the_last_entry() {
        for size in [1usize, 2, 319, 1026] {
            for index in [0u64, size as u64 / 2, size as u64 - 1] {
                assert_eq!(index_clamp_nospec(index, size), index as usize, "{index} of {size}");
            }
            for index in [size as u64, size as u64 + 1, 1 << 40, u64::MAX, 1 << 63] {
                assert_eq!(index_clamp_nospec(index, size), size, "{index} of {size}");
            }
        }
    }

    #[test]
    fn out_of_bounds_indexes_become_zero() {
        for size in [1, 2, 319, 1026] {
            for index in [size, size + 1, 1 << 40, usize::MAX] {
                assert_eq!(array_index_nospec(index, size), 0, "{index} of {size}");
            }
        }
    }
}
