//! Instructions ring 3 may not execute.

use core::arch::asm;

#[libos::test(expect_fault = GP)]
fn hlt_faults() {
    // SAFETY: privileged: raises #GP in ring 3.
    unsafe { asm!("hlt") };
}

#[libos::test(expect_fault = GP)]
fn cli_faults() {
    // SAFETY: needs IOPL 3: raises #GP in ring 3.
    unsafe { asm!("cli") };
}

#[libos::test(expect_fault = GP)]
fn writing_cr3_faults() {
    // SAFETY: privileged: raises #GP in ring 3.
    unsafe { asm!("xor eax, eax", "mov cr3, rax", out("rax") _) };
}

#[libos::test(expect_fault = GP)]
fn wrmsr_faults() {
    // SAFETY: privileged: raises #GP in ring 3.
    unsafe { asm!("wrmsr", in("ecx") 0xC000_0082u32, in("eax") 0, in("edx") 0) };
}

#[libos::test(expect_fault = GP)]
fn rdmsr_faults() {
    // SAFETY: privileged: raises #GP in ring 3.
    unsafe { asm!("rdmsr", in("ecx") 0xC000_0082u32, out("eax") _, out("edx") _) };
}

#[libos::test(expect_fault = GP)]
fn port_io_faults() {
    // SAFETY: needs IOPL 3 or an I/O bitmap: raises #GP in ring 3.
    unsafe { asm!("out 0xf4, al", in("al") 0x10u8) };
}

#[libos::test(expect_fault = GP)]
fn lgdt_faults() {
    let descriptor = [0u64; 2];
    // SAFETY: privileged: raises #GP in ring 3.
    unsafe { asm!("lgdt [{}]", in(reg) descriptor.as_ptr()) };
}

#[libos::test(expect_fault = GP)]
fn sgdt_faults_with_umip() {
    // Leaf 7 is read only if it exists.
    let umip =
        core::arch::x86_64::__get_cpuid_max(0).0 >= 7 && core::arch::x86_64::__cpuid_count(7, 0).ecx & (1 << 2) != 0;
    if !umip {
        libos::testing::skip("the CPU has no UMIP, so SGDT is allowed in ring 3");
    }
    let mut descriptor = [0u64; 2];
    // SAFETY: with UMIP (QEMU -cpu max has it) SGDT raises #GP in ring 3.
    unsafe { asm!("sgdt [{}]", in(reg) descriptor.as_mut_ptr()) };
}

#[libos::test(expect_fault = BP)]
fn int3_is_a_breakpoint() {
    // SAFETY: raises #BP.
    unsafe { asm!("int3") };
}

#[libos::test(expect_fault = GP)]
fn int_0x80_is_not_a_syscall_here() {
    // SAFETY: vector 0x80's gate has DPL 0: raises #GP in ring 3.
    unsafe { asm!("int 0x80", in("eax") 39) };
}

#[libos::test(expect_fault = UD)]
fn ud2_is_an_invalid_opcode() {
    // SAFETY: raises #UD.
    unsafe { asm!("ud2") };
}

#[libos::test(expect_fault = DE)]
fn dividing_by_zero_is_a_divide_error() {
    // SAFETY: raises #DE.
    unsafe { asm!("xor edx, edx", "mov eax, 1", "xor ecx, ecx", "div ecx", out("eax") _, out("edx") _, out("ecx") _) };
}

#[libos::test(expect_fault = GP)]
fn jumping_to_a_non_canonical_address_faults() {
    // SAFETY: the jump raises #GP (non-canonical target) before it lands.
    unsafe { asm!("jmp {}", in(reg) 0x8000_0000_0000_0000u64) };
}

#[libos::test(expect_fault = UD)]
fn stac_is_ring_0_only() {
    // SAFETY: STAC raises #UD outside ring 0.
    unsafe { asm!("stac") };
}
