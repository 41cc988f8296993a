//! Ring-3 tests of the apps' floating-point and SIMD state: every thread
//! keeps its own registers (XMM, YMM, ZMM, k0-7, x87/MMX, MXCSR) across
//! everything that takes it off the CPU or into the kernel; results are
//! IEEE-exact; the faults end the app with the signal Linux sends.
//!
//! Run on 1, 2 and 4 CPUs under QEMU and Bochs (`cargo xtask test
//! fpu_tests`, and the `apps` suite's configurations).
#![no_std]
#![no_main]

extern crate alloc;

mod faults;
mod mxcsr;
mod registers;
mod results;

#[libos::main]
fn main() {
    libos::println!("fpu-tests: run with `cargo xtask test fpu_tests`");
}

/// CPUID.(EAX=leaf, ECX=sub) in ring 3.
pub fn cpuid(leaf: u32, sub: u32) -> core::arch::x86_64::CpuidResult {
    core::arch::x86_64::__cpuid_count(leaf, sub)
}

/// XCR0 (the components the kernel turned on), 0 without OSXSAVE.
pub fn xcr0() -> u64 {
    if cpuid(1, 0).ecx & (1 << 27) == 0 {
        return 0;
    }
    let (lo, hi): (u32, u32);
    // SAFETY: XGETBV is allowed in ring 3 once CR4.OSXSAVE is on (checked above).
    unsafe { core::arch::asm!("xgetbv", in("ecx") 0, out("eax") lo, out("edx") hi, options(nomem, nostack)) };
    (u64::from(hi) << 32) | u64::from(lo)
}

/// Whether the kernel enabled AVX (XCR0 bits 1 and 2).
pub fn avx_on() -> bool {
    xcr0() & 0b110 == 0b110
}

/// Whether the kernel enabled AVX-512 (XCR0 bits 5-7) and the CPU has AVX512F.
pub fn avx512_on() -> bool {
    xcr0() & 0xe0 == 0xe0 && cpuid(7, 0).ebx & (1 << 16) != 0
}

/// Whether this is QEMU's TCG (its brand string), whose SSE emulation
/// (QEMU 7.2) neither raises #XM for unmasked exceptions nor checks
/// MXCSR's reserved bits: those tests skip there and run under Bochs,
/// which implements both as the SDM says.
pub fn qemu_tcg() -> bool {
    if cpuid(0x8000_0000, 0).eax < 0x8000_0004 {
        return false;
    }
    let mut brand = [0u8; 48];
    for (i, leaf) in (0x8000_0002u32..=0x8000_0004).enumerate() {
        let r = cpuid(leaf, 0);
        for (j, reg) in [r.eax, r.ebx, r.ecx, r.edx].iter().enumerate() {
            brand[i * 16 + j * 4..i * 16 + j * 4 + 4].copy_from_slice(&reg.to_le_bytes());
        }
    }
    brand.windows(8).any(|w| w == b"QEMU TCG")
}
