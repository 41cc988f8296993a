//! SYSCALL from 32-bit compatibility mode is refused with -ENOSYS (as Linux
//! without IA32 emulation), and the app carries on.

use core::arch::asm;

/// Where to save RSP across the mode switches.
static mut SAVED_RSP: u64 = 0;
/// A far pointer (m16:32) to the compatibility-mode code: offset, selector.
static mut TO_COMPAT: [u32; 2] = [0, 0x23];

#[libos::test]
fn compat_mode_syscall_returns_enosys() {
    let result: u32;
    // SAFETY: far-jumps into 32-bit compatibility mode through USER32_CS
    // (0x23), issues SYSCALL (getpid) there without touching the stack, and
    // far-jumps back to 64-bit mode through USER_CS (0x33). Far jumps are
    // used rather than far returns: QEMU 7.2's TCG pops a far return's
    // frame as a supervisor access, which SMAP then refuses.
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
    assert_eq!(result as i32, -38, "compat SYSCALL returned {}", result as i32);
}
