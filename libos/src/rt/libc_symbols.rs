//! The C symbols the compiler expects of a hosted target's libc, for apps
//! built for `x86_64-unknown-linux-musl` without musl.
//!
//! On `x86_64-unknown-none` compiler-builtins exports `memcpy`, `memmove`,
//! `memset`, `memcmp` and `bcmp` itself; on a Linux target it leaves them to
//! the C library, and `core` calls `strlen` (`CStr::from_ptr`). An app links
//! no C library (it has its own runtime), so `libos` defines them here, with
//! the string instructions (`rep movsb`/`rep stosb`, fast on every CPU with
//! ERMSB and correct on all) so that no Rust loop can be turned back into a
//! call to itself. `rust_eh_personality` and `_Unwind_Resume` are
//! referenced by the prebuilt `alloc` (compiled with `panic=unwind`); apps
//! abort on panic and never unwind, so they are never called.

use core::arch::asm;
use core::ffi::{c_char, c_int, c_void};

/// `memcpy(3)`.
///
/// # Safety
/// `dst` and `src` are valid for `n` bytes and do not overlap.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memcpy(dst: *mut c_void, src: *const c_void, n: usize) -> *mut c_void {
    // SAFETY: the caller gives `n` valid, disjoint bytes; DF is clear (System V ABI).
    unsafe {
        asm!("rep movsb", inout("rdi") dst => _, inout("rsi") src => _, inout("rcx") n => _,
             options(nostack, preserves_flags));
    }
    dst
}

/// `memmove(3)`.
///
/// # Safety
/// `dst` and `src` are valid for `n` bytes (they may overlap).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memmove(dst: *mut c_void, src: *const c_void, n: usize) -> *mut c_void {
    if (dst as usize).wrapping_sub(src as usize) >= n {
        // Forward copy is safe: dst is below src or past its end.
        // SAFETY: as memcpy; a forward copy reads each byte before it is overwritten.
        return unsafe { memcpy(dst, src, n) };
    }
    // Backward, from the last byte, with DF set for the copy only.
    // SAFETY: the caller gives `n` valid bytes at both; DF is restored before
    // the block ends.
    unsafe {
        asm!("std", "rep movsb", "cld",
             inout("rdi") (dst as usize + n).wrapping_sub(1) => _,
             inout("rsi") (src as usize + n).wrapping_sub(1) => _,
             inout("rcx") n => _, options(nostack));
    }
    dst
}

/// `memset(3)`.
///
/// # Safety
/// `dst` is valid for `n` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memset(dst: *mut c_void, byte: c_int, n: usize) -> *mut c_void {
    // SAFETY: the caller gives `n` valid bytes; DF is clear.
    unsafe {
        asm!("rep stosb", inout("rdi") dst => _, inout("rcx") n => _, in("al") byte as u8,
             options(nostack, preserves_flags));
    }
    dst
}

/// `memcmp(3)`.
///
/// # Safety
/// `a` and `b` are valid for `n` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memcmp(a: *const c_void, b: *const c_void, n: usize) -> c_int {
    let (a, b) = (a as *const u8, b as *const u8);
    let mut i = 0;
    while i < n {
        // SAFETY: i < n, inside both buffers. Volatile reads keep LLVM from
        // recognising the loop as a memcmp (a call to this function).
        let (x, y) = unsafe { (a.add(i).read_volatile(), b.add(i).read_volatile()) };
        if x != y {
            return c_int::from(x) - c_int::from(y);
        }
        i += 1;
    }
    0
}

/// `bcmp(3)`: zero if the buffers are equal.
///
/// # Safety
/// `a` and `b` are valid for `n` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bcmp(a: *const c_void, b: *const c_void, n: usize) -> c_int {
    // SAFETY: the caller's guarantee, passed on.
    unsafe { memcmp(a, b, n) }
}

/// `strlen(3)`.
///
/// # Safety
/// `s` points at a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strlen(s: *const c_char) -> usize {
    let mut n = 0;
    // SAFETY: the caller gives a NUL-terminated string: every byte up to the
    // NUL is readable. Volatile: see memcmp.
    while unsafe { s.add(n).read_volatile() } != 0 {
        n += 1;
    }
    n
}

/// The unwinder's entry that the prebuilt `alloc`'s landing pads call.
/// Nothing unwinds (see `rust_eh_personality`): never called.
#[unsafe(no_mangle)]
pub extern "C" fn _Unwind_Resume() -> ! {
    // SAFETY: ud2 only raises #UD.
    unsafe { asm!("ud2", options(noreturn, nomem, nostack)) }
}

/// The unwinder's personality routine that the prebuilt `alloc` refers to.
/// Apps abort on panic (`-C panic=abort`), so nothing unwinds and this is
/// never called; if it were, the app ends on `ud2` (SIGILL) at once.
#[unsafe(no_mangle)]
pub extern "C" fn rust_eh_personality() -> ! {
    // SAFETY: ud2 only raises #UD.
    unsafe { asm!("ud2", options(noreturn, nomem, nostack)) }
}
