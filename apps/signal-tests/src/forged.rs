//! Forged signal frames (sigreturn-oriented programming): a handler edits
//! its frame before it returns. `rt_sigreturn` may set any user register,
//! but refuses a kernel or 32-bit CS, a kernel SS, and an extended-state
//! area XRSTOR would fault on (SIGSEGV, `SI_KERNEL`, which these tests
//! catch); it keeps IOPL, NT, VM and the reserved RFLAGS bits the
//! kernel's; a non-canonical RIP never leaves through SYSRET (IRET's fault
//! ends the app).

use core::arch::asm;
use core::sync::atomic::{AtomicU64, Ordering::SeqCst};

use libos::sys;
use libos_abi::signal::{SigInfo, UContext, si_code, sig, uc};

use crate::{install, raise};

/// What the SIGUSR1 handler does to its frame.
static FORGERY: AtomicU64 = AtomicU64::new(0);

const KERNEL_CS: u64 = 1;
const KERNEL_SS: u64 = 2;
const COMPAT_CS: u64 = 3;
const XSTATE_UNKNOWN_COMPONENT: u64 = 4;
const XSTATE_COMPACTED: u64 = 5;
const XSTATE_RESERVED_HEADER: u64 = 6;
const MXCSR_RESERVED: u64 = 7;
const FPSTATE_MISALIGNED: u64 = 8;
const FPSTATE_UNMAPPED: u64 = 9;
const RFLAGS_PRIVILEGED: u64 = 10;
const RIP_NON_CANONICAL: u64 = 11;
const RIP_KERNEL: u64 = 12;
const RSP_GARBAGE: u64 = 13;

extern "C" fn forge(_: i32, _: *mut SigInfo, ucp: *mut UContext) {
    // SAFETY: the frame's ucontext, writable; the extended-state area it
    // points at is the frame's too.
    let u = unsafe { &mut *ucp };
    let m = &mut u.uc_mcontext;
    let fp = m.fpstate;
    let has_xsave = u.uc_flags & uc::UC_FP_XSTATE != 0;
    // SAFETY: offsets inside the frame's extended-state area.
    unsafe {
        match FORGERY.load(SeqCst) {
            KERNEL_CS => m.cs = 0x10,
            KERNEL_SS => m.ss = 0x18,
            COMPAT_CS => m.cs = 0x23,
            XSTATE_UNKNOWN_COMPONENT if has_xsave => *((fp + 512) as *mut u64) |= 1 << 62,
            XSTATE_COMPACTED if has_xsave => *((fp + 520) as *mut u64) = (1 << 63) | 3,
            XSTATE_RESERVED_HEADER if has_xsave => *((fp + 530) as *mut u8) = 1,
            MXCSR_RESERVED => *((fp + 24) as *mut u32) |= 1 << 31,
            FPSTATE_MISALIGNED => m.fpstate += 8,
            FPSTATE_UNMAPPED => m.fpstate = 0x5000_0000_0000,
            RFLAGS_PRIVILEGED => m.eflags |= (3 << 12) | (1 << 14) | (1 << 17) | (1 << 15) | (1 << 5) | (1 << 3),
            RIP_NON_CANONICAL => m.rip = 0x0000_8000_0000_0000,
            RIP_KERNEL => m.rip = 0xffff_ffff_8010_0000,
            RSP_GARBAGE => {}
            _ => libos::testing::skip("no XSAVE: the frame's area has no XSAVE header"),
        }
    }
}

static SEGV_CODE: AtomicU64 = AtomicU64::new(u64::MAX);

/// The SIGSEGV of a refused frame: the test passes if it comes, with
/// `SI_KERNEL`, during the forgery.
extern "C" fn refused(_: i32, info: *mut SigInfo, _: *mut UContext) {
    // SAFETY: the frame's siginfo.
    let code = unsafe { (*info).si_code };
    SEGV_CODE.store(code as u64, SeqCst);
    if code == si_code::SI_KERNEL && FORGERY.load(SeqCst) != 0 {
        libos::println!("rt_sigreturn refused the forged frame (SIGSEGV, SI_KERNEL)");
        sys::exit_group(0);
    }
    sys::exit_group(1);
}

/// Forges `what` into a SIGUSR1 frame and returns through it: the test
/// ends in `refused` (exit 0) if the kernel refuses it.
fn must_refuse(what: u64) {
    install(sig::SIGSEGV, refused, 0, 0);
    install(sig::SIGUSR1, forge, 0, 0);
    FORGERY.store(what, SeqCst);
    raise(sig::SIGUSR1);
    panic!("rt_sigreturn accepted forged frame {what}");
}

#[libos::test]
fn a_kernel_cs_is_refused() {
    must_refuse(KERNEL_CS);
}

#[libos::test]
fn a_kernel_ss_is_refused() {
    must_refuse(KERNEL_SS);
}

#[libos::test]
fn a_32_bit_cs_is_refused() {
    must_refuse(COMPAT_CS);
}

#[libos::test]
fn an_unknown_xstate_component_is_refused() {
    must_refuse(XSTATE_UNKNOWN_COMPONENT);
}

#[libos::test]
fn a_compacted_xstate_header_is_refused() {
    must_refuse(XSTATE_COMPACTED);
}

#[libos::test]
fn a_reserved_xstate_header_byte_is_refused() {
    must_refuse(XSTATE_RESERVED_HEADER);
}

#[libos::test]
fn a_reserved_mxcsr_bit_is_refused() {
    must_refuse(MXCSR_RESERVED);
}

#[libos::test]
fn a_misaligned_fpstate_is_refused() {
    must_refuse(FPSTATE_MISALIGNED);
}

#[libos::test]
fn an_unmapped_fpstate_is_refused() {
    must_refuse(FPSTATE_UNMAPPED);
}

#[libos::test]
fn privileged_rflags_bits_are_not_taken_from_the_frame() {
    install(sig::SIGUSR1, forge, 0, 0);
    FORGERY.store(RFLAGS_PRIVILEGED, SeqCst);
    raise(sig::SIGUSR1);
    FORGERY.store(0, SeqCst);
    let flags: u64;
    // SAFETY: reads RFLAGS.
    unsafe { asm!("pushfq", "pop {}", out(reg) flags) };
    assert_eq!(flags & (3 << 12), 0, "IOPL");
    assert_eq!(flags & (1 << 14), 0, "NT");
    assert_eq!(flags & (1 << 17), 0, "VM");
    assert_eq!(flags & ((1 << 15) | (1 << 5) | (1 << 3)), 0, "reserved bits");
    assert_ne!(flags & (1 << 9), 0, "IF");
}

/// The 2012 SYSRET bug: a non-canonical RIP must leave through IRET, whose
/// #GP ends the app (the kernel survives).
#[libos::test(expect_fault = GP)]
fn a_non_canonical_rip_leaves_through_iret_and_ends_the_app() {
    install(sig::SIGUSR1, forge, 0, 0);
    FORGERY.store(RIP_NON_CANONICAL, SeqCst);
    raise(sig::SIGUSR1);
}

/// Any user RIP is the app's business; a kernel one faults in ring 3.
#[libos::test(expect_fault = PF)]
fn a_kernel_rip_faults_in_ring_3() {
    install(sig::SIGUSR1, forge, 0, 0);
    FORGERY.store(RIP_KERNEL, SeqCst);
    raise(sig::SIGUSR1);
}

/// `rt_sigreturn` with no frame at all (RSP in the kernel half).
#[libos::test]
fn rt_sigreturn_without_a_frame_is_refused() {
    let alt = crate::map(4, libos_abi::abi_types::PROT_READ | libos_abi::abi_types::PROT_WRITE);
    let stack = libos_abi::signal::StackT { ss_sp: alt, ss_flags: 0, _pad: 0, ss_size: 4 * 4096 };
    // SAFETY: a fresh mapping nothing else uses.
    unsafe { sys::sigaltstack(&stack, core::ptr::null_mut()) }.unwrap();
    install(sig::SIGSEGV, refused, libos_abi::signal::sa::SA_ONSTACK, 0);
    FORGERY.store(RSP_GARBAGE, SeqCst);
    // SAFETY: a bare rt_sigreturn with RSP pointing at kernel memory: the
    // kernel refuses it and sends SIGSEGV, whose handler ends the test
    // (on its own stack: this one is gone).
    unsafe {
        asm!("mov rsp, {}", "mov eax, 15", "syscall", "ud2", in(reg) 0xffff_8000_0000_0000u64, options(noreturn))
    };
}
