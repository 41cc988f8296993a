//! Registers across a handler: every general register (through an
//! exception, which returns with IRET, and through a system call), and the
//! XMM/YMM registers, which the handler clobbers and `rt_sigreturn` puts
//! back from the frame's extended-state area (Linux's XSAVE format with
//! its magic numbers).

use core::arch::asm;
use core::sync::atomic::{AtomicU64, Ordering::SeqCst};

use libos::sys::nr;
use libos_abi::signal::{FP_XSTATE_MAGIC1, FP_XSTATE_MAGIC2, SigInfo, UContext, sig, uc};

use crate::{RESUME, avx_on, install, pid, tid};

/// The values loaded before the signal: RAX, RBX, RCX, RDX, RSI, RDI, RBP,
/// R8-R15.
const PATTERN: [u64; 15] = [
    0x1111_0000_0000_00aa,
    0x2222_0000_0000_00bb,
    0x3333_0000_0000_00cc,
    0x4444_0000_0000_00dd,
    0x5555_0000_0000_00ee,
    0x6666_0000_0000_00ff,
    0x7777_0000_0000_0011,
    0x8888_0000_0000_0022,
    0x9999_0000_0000_0033,
    0xaaaa_0000_0000_0044,
    0xbbbb_0000_0000_0055,
    0xcccc_0000_0000_0066,
    0xdddd_0000_0000_0077,
    0xeeee_0000_0000_0088,
    0xffff_0000_0000_0099,
];

static SEEN: [AtomicU64; 15] = [const { AtomicU64::new(0) }; 15];

extern "C" fn clobber_and_resume(_: i32, _: *mut SigInfo, ucp: *mut UContext) {
    // SAFETY: the frame's ucontext, writable.
    let m = unsafe { &mut (*ucp).uc_mcontext };
    for (i, v) in
        [m.rax, m.rbx, m.rcx, m.rdx, m.rsi, m.rdi, m.rbp, m.r8, m.r9, m.r10, m.r11, m.r12, m.r13, m.r14, m.r15]
            .into_iter()
            .enumerate()
    {
        SEEN[i].store(v, SeqCst);
    }
    m.rip = RESUME.load(SeqCst);
    // Every caller-saved register gets garbage before the return.
    // SAFETY: only clobbers registers declared as such.
    unsafe {
        asm!(
            "mov rax, -1", "mov rcx, -1", "mov rdx, -1", "mov rsi, -1", "mov rdi, -1",
            "mov r8, -1", "mov r9, -1", "mov r10, -1", "mov r11, -1",
            out("rax") _, out("rcx") _, out("rdx") _, out("rsi") _, out("rdi") _,
            out("r8") _, out("r9") _, out("r10") _, out("r11") _,
        )
    };
}

/// Loads [`PATTERN`], runs `ud2`, resumes after it (the handler) and stores
/// every register into `out`.
fn registers_across_a_fault(out: &mut [u64; 15]) {
    let p = PATTERN.as_ptr();
    // SAFETY: saves RBX and RBP, which Rust reserves, on the stack (no
    // `nostack`: the red zone is not in use), loads every register from
    // `p` (RDI last), faults (the handler resumes at label 2), stores every
    // register to `out` (whose address waits on the stack) and restores
    // RBX and RBP.
    unsafe {
        asm!(
            "push rbx",
            "push rbp",
            "push rsi",
            "lea rax, [rip + 2f]",
            "mov [rdx], rax",
            "mov rax, [rdi + 0]",
            "mov rbx, [rdi + 8]",
            "mov rcx, [rdi + 16]",
            "mov rdx, [rdi + 24]",
            "mov rsi, [rdi + 32]",
            "mov rbp, [rdi + 48]",
            "mov r8, [rdi + 56]",
            "mov r9, [rdi + 64]",
            "mov r10, [rdi + 72]",
            "mov r11, [rdi + 80]",
            "mov r12, [rdi + 88]",
            "mov r13, [rdi + 96]",
            "mov r14, [rdi + 104]",
            "mov r15, [rdi + 112]",
            "mov rdi, [rdi + 40]",
            "ud2",
            "2:",
            "xchg rdi, [rsp]",
            "mov [rdi + 0], rax",
            "mov [rdi + 8], rbx",
            "mov [rdi + 16], rcx",
            "mov [rdi + 24], rdx",
            "mov [rdi + 32], rsi",
            "mov [rdi + 48], rbp",
            "mov [rdi + 56], r8",
            "mov [rdi + 64], r9",
            "mov [rdi + 72], r10",
            "mov [rdi + 80], r11",
            "mov [rdi + 88], r12",
            "mov [rdi + 96], r13",
            "mov [rdi + 104], r14",
            "mov [rdi + 112], r15",
            "pop rax",
            "mov [rdi + 40], rax",
            "pop rbp",
            "pop rbx",
            inout("rdi") p => _,
            inout("rsi") out.as_mut_ptr() => _,
            inout("rdx") RESUME.as_ptr() => _,
            out("rax") _, out("rcx") _,
            out("r8") _, out("r9") _, out("r10") _, out("r11") _,
            out("r12") _, out("r13") _, out("r14") _, out("r15") _,
        )
    };
}

#[libos::test]
fn every_general_register_survives_a_handler_after_a_fault() {
    install(sig::SIGILL, clobber_and_resume, 0, 0);
    let mut out = [0u64; 15];
    registers_across_a_fault(&mut out);
    for i in 0..15 {
        assert_eq!(SEEN[i].load(SeqCst), PATTERN[i], "register {i} in uc_mcontext");
    }
    assert_eq!(out, PATTERN);
}

extern "C" fn clobber(_: i32, _: *mut SigInfo, _: *mut UContext) {
    // SAFETY: only clobbers registers declared as such.
    unsafe {
        asm!(
            "mov rax, -1", "mov rcx, -1", "mov rdx, -1", "mov rsi, -1", "mov rdi, -1",
            "mov r8, -1", "mov r9, -1", "mov r10, -1", "mov r11, -1",
            out("rax") _, out("rcx") _, out("rdx") _, out("rsi") _, out("rdi") _,
            out("r8") _, out("r9") _, out("r10") _, out("r11") _,
        )
    };
}

#[libos::test]
fn argument_registers_survive_a_handler_after_a_system_call() {
    install(sig::SIGUSR1, clobber, 0, 0);
    let (rax, rdi, rsi, rdx, r8, r9, r10): (u64, u64, u64, u64, u64, u64, u64);
    // SAFETY: tgkill on the calling thread; the handler runs before the
    // call returns, then rt_sigreturn restores every register but the
    // SYSCALL's RCX and R11 (as any system call).
    unsafe {
        asm!(
            "syscall",
            inlateout("rax") nr::TGKILL => rax,
            inlateout("rdi") pid() as u64 => rdi,
            inlateout("rsi") tid() as u64 => rsi,
            inlateout("rdx") sig::SIGUSR1 as u64 => rdx,
            inlateout("r8") 0x8888u64 => r8,
            inlateout("r9") 0x9999u64 => r9,
            inlateout("r10") 0x1010u64 => r10,
            out("rcx") _,
            out("r11") _,
        )
    };
    assert_eq!(rax, 0, "tgkill's result");
    assert_eq!((rdi, rsi, rdx), (pid() as u64, tid() as u64, sig::SIGUSR1 as u64));
    assert_eq!((r8, r9, r10), (0x8888, 0x9999, 0x1010));
}

static FP_OK: AtomicU64 = AtomicU64::new(0);
static FP_XMM0: AtomicU64 = AtomicU64::new(0);
static FP_YMM0_HI: AtomicU64 = AtomicU64::new(0);

extern "C" fn clobber_vectors(_: i32, _: *mut SigInfo, ucp: *mut UContext) {
    // SAFETY: the frame's ucontext.
    let u = unsafe { &*ucp };
    let fp = u.uc_mcontext.fpstate;
    let mut ok = fp != 0 && fp % 64 == 0;
    if ok {
        // SAFETY: the kernel wrote the area at `fp` (checked non-null).
        unsafe {
            FP_XMM0.store(*((fp + 160) as *const u64), SeqCst);
            if u.uc_flags & uc::UC_FP_XSTATE != 0 {
                let magic1 = *((fp + 464) as *const u32);
                let size = *((fp + 464 + 16) as *const u32) as u64;
                let magic2 = *((fp + size) as *const u32);
                ok &= magic1 == FP_XSTATE_MAGIC1 && magic2 == FP_XSTATE_MAGIC2;
                let xstate_bv = *((fp + 512) as *const u64);
                ok &= xstate_bv & 3 == 3;
                if avx_on() {
                    // YMM_Hi128 of YMM0 at CPUID.(0xd, 2).EBX.
                    let off = crate::cpuid(0xd, 2).ebx as u64;
                    FP_YMM0_HI.store(*((fp + off) as *const u64), SeqCst);
                }
            }
        }
    }
    FP_OK.store(ok as u64, SeqCst);
    // SAFETY: clobbers the vector registers, declared as clobbers.
    unsafe {
        asm!(
            "pcmpeqb xmm0, xmm0", "pcmpeqb xmm1, xmm1", "pcmpeqb xmm7, xmm7", "pcmpeqb xmm8, xmm8",
            "pcmpeqb xmm15, xmm15",
            out("xmm0") _, out("xmm1") _, out("xmm7") _, out("xmm8") _, out("xmm15") _,
        )
    };
    if avx_on() {
        // SAFETY: AVX is on (XCR0); clobbers YMM0-15 wholly.
        unsafe { asm!("vzeroall", out("ymm0") _, out("ymm8") _, out("ymm15") _) };
    }
}

#[libos::test]
fn xmm_registers_survive_a_handler_and_appear_in_its_frame() {
    install(sig::SIGUSR1, clobber_vectors, 0, 0);
    let input: [u64; 16] = core::array::from_fn(|i| 0x0101_0101_0101_0101 * (i as u64 + 1));
    let mut output = [0u64; 16];
    // SAFETY: loads XMM0, 1, 7, 8, 15 from `input`, runs tgkill (the handler
    // clobbers them), stores them to `output`.
    unsafe {
        asm!(
            "movdqu xmm0, [{i}]",
            "movdqu xmm1, [{i} + 16]",
            "movdqu xmm7, [{i} + 32]",
            "movdqu xmm8, [{i} + 48]",
            "movdqu xmm15, [{i} + 64]",
            "syscall",
            "movdqu [{o}], xmm0",
            "movdqu [{o} + 16], xmm1",
            "movdqu [{o} + 32], xmm7",
            "movdqu [{o} + 48], xmm8",
            "movdqu [{o} + 64], xmm15",
            i = in(reg) input.as_ptr(),
            o = in(reg) output.as_mut_ptr(),
            inlateout("rax") nr::TGKILL => _,
            in("rdi") pid() as u64,
            in("rsi") tid() as u64,
            in("rdx") sig::SIGUSR1 as u64,
            out("rcx") _, out("r11") _,
            out("xmm0") _, out("xmm1") _, out("xmm7") _, out("xmm8") _, out("xmm15") _,
        )
    };
    assert_eq!(FP_OK.load(SeqCst), 1, "fpstate pointer, alignment, magic numbers, XSTATE_BV");
    assert_eq!(FP_XMM0.load(SeqCst), input[0], "XMM0 in the frame");
    assert_eq!(&output[..10], &input[..10]);
}

#[libos::test]
fn ymm_registers_survive_a_handler() {
    if !avx_on() {
        libos::testing::skip("AVX is not on");
    }
    install(sig::SIGUSR1, clobber_vectors, 0, 0);
    let input: [u64; 8] = core::array::from_fn(|i| 0x1234_5678_0000_0000 | i as u64);
    let mut output = [0u64; 8];
    // SAFETY: AVX is on; loads YMM0 and YMM15, runs tgkill (the handler
    // clears them), stores them.
    unsafe {
        asm!(
            "vmovdqu ymm0, [{i}]",
            "vmovdqu ymm15, [{i} + 32]",
            "syscall",
            "vmovdqu [{o}], ymm0",
            "vmovdqu [{o} + 32], ymm15",
            i = in(reg) input.as_ptr(),
            o = in(reg) output.as_mut_ptr(),
            inlateout("rax") nr::TGKILL => _,
            in("rdi") pid() as u64,
            in("rsi") tid() as u64,
            in("rdx") sig::SIGUSR1 as u64,
            out("rcx") _, out("r11") _,
            out("ymm0") _, out("ymm15") _,
        )
    };
    assert_eq!(FP_YMM0_HI.load(SeqCst), input[2], "YMM0's upper half in the frame");
    assert_eq!(output, input);
}
