//! The x86-64 syscall register convention, as Linux defines it.

use core::arch::asm;

use libos::debug;
use libos::sys::nr;
use libos_abi_errno::ENOSYS;

/// `-ENOSYS` as the kernel returns it in RAX.
mod libos_abi_errno {
    pub const ENOSYS: i64 = -38;
}

/// Issues syscall `number` with all six argument registers set.
fn raw_syscall6(number: u64, a: [u64; 6]) -> i64 {
    let ret: i64;
    // SAFETY: the numbers used here do not touch the app's memory.
    unsafe {
        asm!("syscall", inlateout("rax") number as i64 => ret, in("rdi") a[0], in("rsi") a[1], in("rdx") a[2],
             in("r10") a[3], in("r8") a[4], in("r9") a[5], lateout("rcx") _, lateout("r11") _, options(nostack));
    }
    ret
}

#[libos::test]
fn six_argument_registers_arrive_intact() {
    for seed in [0u64, 1, 0xdead_beef_cafe_f00d, u64::MAX, 0x8000_0000_0000_0000] {
        let mut args = [debug::CHECK_ARGS, seed, 0, 0, 0, 0];
        for (i, a) in args.iter_mut().enumerate().skip(2) {
            *a = debug::arg_pattern(seed, i as u32);
        }
        let mask = raw_syscall6(nr::LIBOS_DEBUG, args);
        assert_eq!(mask, 0, "registers that did not arrive intact (bit per index): {mask:#b}, seed {seed:#x}");
    }
}

#[libos::test]
fn callee_saved_registers_and_rsp_are_preserved() {
    const PATTERN: [u64; 6] = [
        0x1111_2222_3333_4444,
        0x5555_6666_7777_8888,
        0x9999_aaaa_bbbb_cccc,
        0xdddd_eeee_ffff_0001,
        0x0123_4567_89ab_cdef,
        0xfedc_ba98_7654_3210,
    ];
    let (mut r12, mut r13, mut r14, mut r15) = (PATTERN[2], PATTERN[3], PATTERN[4], PATTERN[5]);
    let (rbx, rbp, sp_before, sp_after): (u64, u64, u64, u64);
    // SAFETY: RBX and RBP are saved and restored around the syscall; the
    // call (getpid) touches no memory. Every operand is an explicit
    // register: a `reg` operand could be given RBX or RBP, which the asm
    // overwrites.
    unsafe {
        asm!(
            "push rbx",
            "push rbp",
            "mov rbx, rdx",
            "mov rbp, rsi",
            "mov r8, rsp",
            "syscall",
            "mov r9, rsp",
            "mov rdx, rbx",
            "mov rsi, rbp",
            "pop rbp",
            "pop rbx",
            inout("rdx") PATTERN[0] => rbx,
            inout("rsi") PATTERN[1] => rbp,
            out("r8") sp_before,
            out("r9") sp_after,
            inout("rax") nr::GETPID => _,
            inout("r12") r12,
            inout("r13") r13,
            inout("r14") r14,
            inout("r15") r15,
            out("rcx") _,
            out("r11") _,
        );
    }
    assert_eq!([rbx, rbp, r12, r13, r14, r15], PATTERN, "callee-saved registers changed");
    assert_eq!(sp_before, sp_after, "RSP changed across the syscall");
}

#[libos::test]
fn rcx_and_r11_hold_rip_and_rflags_after_return() {
    let (expected_rip, flags_before, rcx, r11): (u64, u64, u64, u64);
    // SAFETY: getpid touches no memory; the flags are read, not changed.
    unsafe {
        asm!(
            "lea {rip}, [rip + 2f]",
            "pushfq",
            "pop {fl}",
            "syscall",
            "2:",
            "mov {c}, rcx",
            "mov {r}, r11",
            rip = out(reg) expected_rip,
            fl = out(reg) flags_before,
            c = out(reg) rcx,
            r = out(reg) r11,
            inout("rax") nr::GETPID => _,
            out("rcx") _,
            out("r11") _,
        );
    }
    assert_eq!(rcx, expected_rip, "RCX is not the return address");
    const RF: u64 = 1 << 16;
    assert_eq!(r11, flags_before & !RF, "R11 is not the caller's RFLAGS");
}

#[libos::test]
fn rflags_come_back_as_the_app_left_them() {
    const CF: u64 = 1;
    const DF: u64 = 1 << 10;
    let after: u64;
    // SAFETY: DF is set only around the syscall and cleared before any Rust
    // code runs; getpid touches no memory.
    unsafe {
        asm!(
            "stc",
            "std",
            "syscall",
            "pushfq",
            "pop {a}",
            "cld",
            a = out(reg) after,
            inout("rax") nr::GETPID => _,
            out("rcx") _,
            out("r11") _,
        );
    }
    assert_eq!(after & (CF | DF), CF | DF, "RFLAGS {after:#x}: the kernel did not restore CF and DF");
}

#[libos::test]
fn unknown_numbers_are_enosys() {
    for number in [335u64, 499, 1023, 1026, 4095, 4096, 1 << 30, (1 << 30) | 39, u64::MAX, 0x8000_0000_0000_0000] {
        assert_eq!(raw_syscall6(number, [0; 6]), ENOSYS, "syscall {number:#x}");
    }
}

#[libos::test]
fn getpid_is_stable_and_positive() {
    let a = libos::process::id();
    assert!(a > 0);
    assert_eq!(a, libos::process::id());
}
