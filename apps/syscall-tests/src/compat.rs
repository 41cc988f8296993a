//! SYSCALL from 32-bit compatibility mode is refused with -ENOSYS (as Linux
//! without IA32 emulation), and the app carries on. That is on AMD CPUs
//! (and QEMU's `-cpu max`, which says AMD); Intel CPUs do not execute
//! SYSCALL outside 64-bit mode at all and raise #UD, which ends the app.

use core::arch::asm;

/// Where to save RSP across the mode switches.
static mut SAVED_RSP: u64 = 0;
/// A far pointer (m16:32) to the compatibility-mode code: offset, selector.
static mut TO_COMPAT: [u32; 2] = [0, 0x23];

/// Whether the CPU is an Intel one (CPUID vendor "GenuineIntel").
fn is_intel() -> bool {
    let r = core::arch::x86_64::__cpuid(0);
    [r.ebx, r.edx, r.ecx] == [0x756e_6547, 0x4965_6e69, 0x6c65_746e]
}

#[libos::test]
fn compat_mode_syscall_returns_enosys() {
    if is_intel() {
        libos::testing::skip("Intel CPUs raise #UD for SYSCALL in compatibility mode (see the next test)");
    }
    let result = syscall_in_compat_mode() as i32;
    assert_eq!(result, -38, "compat SYSCALL returned {result}");
}

#[libos::test(expect_fault = UD)]
fn compat_mode_syscall_is_an_invalid_opcode_on_intel() {
    if !is_intel() {
        libos::testing::skip("only Intel CPUs refuse SYSCALL in compatibility mode");
    }
    syscall_in_compat_mode();
}

/// Runs `getpid` with SYSCALL from 32-bit compatibility mode; returns EAX.
fn syscall_in_compat_mode() -> u32 {
    let result: u32;
    // Far jumps, not far returns: QEMU 7.2's TCG pops a far return's frame
    // as a supervisor access, which SMAP then refuses.
    // SAFETY: far-jumps to compatibility mode (USER32_CS, 0x23), issues
    // SYSCALL (getpid) without touching the stack, far-jumps back (0x33).
    unsafe {
        asm!(
            "leal 3f, %eax",
            "movl %eax, {to_compat}(%rip)",
            "movq %rsp, {saved}(%rip)",
            "ljmpl *{to_compat}(%rip)",
            ".code32",
            "3:",
            "movl $39, %eax",
            "syscall",
            "movl %eax, %esi",
            "ljmpl $0x33, $4f",
            ".code64",
            "4:",
            "movq {saved}(%rip), %rsp",
            saved = sym SAVED_RSP,
            to_compat = sym TO_COMPAT,
            out("rax") _,
            out("rsi") result,
            out("rcx") _,
            out("r11") _,
            options(att_syntax),
        );
    }
    result
}
