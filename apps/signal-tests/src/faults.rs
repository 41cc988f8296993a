//! Signals from CPU exceptions: the handler gets Linux's signal, `si_code`,
//! `si_addr` and the exception in `uc_mcontext`, and may resume the thread
//! elsewhere; a fault the thread blocks, or a fault in the handler of the
//! same signal, ends the app (never the kernel).

use core::arch::asm;
use core::sync::atomic::{AtomicI32, AtomicU64, Ordering::SeqCst};

use libos::sys;
use libos_abi::abi_types::{PROT_READ, PROT_WRITE};
use libos_abi::signal::{SigInfo, UContext, how, si_code, sig};

use crate::{RESUME, bit, install, map, sigprocmask};

static SIGNO: AtomicI32 = AtomicI32::new(0);
static CODE: AtomicI32 = AtomicI32::new(0);
static ADDR: AtomicU64 = AtomicU64::new(0);
static TRAPNO: AtomicU64 = AtomicU64::new(0);
static ERR: AtomicU64 = AtomicU64::new(0);
static CR2: AtomicU64 = AtomicU64::new(0);
static RIP: AtomicU64 = AtomicU64::new(0);

extern "C" fn catch(signo: i32, info: *mut SigInfo, uc: *mut UContext) {
    // SAFETY: the frame's siginfo and ucontext, writable.
    let (info, uc) = unsafe { (&*info, &mut *uc) };
    SIGNO.store(signo, SeqCst);
    CODE.store(info.si_code, SeqCst);
    ADDR.store(info.addr(), SeqCst);
    TRAPNO.store(uc.uc_mcontext.trapno, SeqCst);
    ERR.store(uc.uc_mcontext.err, SeqCst);
    CR2.store(uc.uc_mcontext.cr2, SeqCst);
    RIP.store(uc.uc_mcontext.rip, SeqCst);
    uc.uc_mcontext.rip = RESUME.load(SeqCst);
}

/// Runs `op` (an instruction that faults, with its operand in RAX) and
/// resumes after it through the handler; returns the faulting RIP's
/// distance from the resume point (the instruction's length).
macro_rules! fault_and_resume {
    ($insn:literal, $rax:expr) => {{
        // SAFETY: the instruction faults; `catch` resumes at label 2, past
        // it. Only RAX, RDX (for div) and the flags are touched.
        unsafe {
            asm!(
                "lea rdx, [rip + 2f]",
                "mov [{resume}], rdx",
                "xor edx, edx",
                $insn,
                "2:",
                resume = in(reg) RESUME.as_ptr(),
                inout("rax") $rax => _,
                out("rdx") _,
                out("rcx") _,
            )
        }
    }};
}

fn reset() {
    SIGNO.store(0, SeqCst);
    CODE.store(-1, SeqCst);
    for a in [&ADDR, &TRAPNO, &ERR, &CR2, &RIP] {
        a.store(u64::MAX, SeqCst);
    }
}

#[libos::test]
fn sigsegv_for_an_unmapped_address_is_maperr_with_si_addr() {
    reset();
    install(sig::SIGSEGV, catch, 0, 0);
    let addr = 0x6000_0000_1234u64;
    fault_and_resume!("mov byte ptr [rax], 1", addr);
    assert_eq!(SIGNO.load(SeqCst), sig::SIGSEGV);
    assert_eq!(CODE.load(SeqCst), si_code::SEGV_MAPERR);
    assert_eq!(ADDR.load(SeqCst), addr);
    assert_eq!(TRAPNO.load(SeqCst), 14);
    assert_eq!(CR2.load(SeqCst), addr);
    // Page-fault error code: a write (bit 1) from user mode (bit 2).
    assert_eq!(ERR.load(SeqCst) & 0b110, 0b110);
}

#[libos::test]
fn sigsegv_for_a_read_only_page_is_accerr() {
    reset();
    install(sig::SIGSEGV, catch, 0, 0);
    let page = map(1, PROT_READ);
    fault_and_resume!("mov byte ptr [rax], 1", page + 8);
    assert_eq!(CODE.load(SeqCst), si_code::SEGV_ACCERR);
    assert_eq!(ADDR.load(SeqCst), page + 8);
}

#[libos::test]
fn sigsegv_for_a_kernel_address() {
    reset();
    install(sig::SIGSEGV, catch, 0, 0);
    fault_and_resume!("mov al, byte ptr [rax]", 0xffff_ffff_8000_0000u64);
    assert_eq!(SIGNO.load(SeqCst), sig::SIGSEGV);
    assert_eq!(ADDR.load(SeqCst), 0xffff_ffff_8000_0000);
}

#[libos::test]
fn sigsegv_for_a_general_protection_fault_is_si_kernel() {
    reset();
    install(sig::SIGSEGV, catch, 0, 0);
    // A non-canonical address: #GP, not #PF.
    fault_and_resume!("mov al, byte ptr [rax]", 0x8000_0000_0000_0000u64);
    assert_eq!(SIGNO.load(SeqCst), sig::SIGSEGV);
    assert_eq!(CODE.load(SeqCst), si_code::SI_KERNEL);
    assert_eq!(TRAPNO.load(SeqCst), 13);
}

#[libos::test]
fn sigfpe_for_a_division_by_zero() {
    reset();
    install(sig::SIGFPE, catch, 0, 0);
    // EDX:EAX / ECX with ECX = 0 (`xor edx, edx` ran before).
    // SAFETY: as in `fault_and_resume`.
    unsafe {
        asm!(
            "lea rdx, [rip + 2f]",
            "mov [{resume}], rdx",
            "xor edx, edx",
            "xor ecx, ecx",
            "div ecx",
            "2:",
            resume = in(reg) RESUME.as_ptr(),
            inout("rax") 7u64 => _,
            out("rdx") _,
            out("rcx") _,
        )
    }
    assert_eq!(SIGNO.load(SeqCst), sig::SIGFPE);
    assert_eq!(CODE.load(SeqCst), si_code::FPE_INTDIV);
    assert_eq!(TRAPNO.load(SeqCst), 0);
    assert_eq!(ADDR.load(SeqCst), RIP.load(SeqCst));
}

#[libos::test]
fn sigill_for_ud2_with_si_addr_at_the_instruction() {
    reset();
    install(sig::SIGILL, catch, 0, 0);
    fault_and_resume!("ud2", 0u64);
    assert_eq!(SIGNO.load(SeqCst), sig::SIGILL);
    assert_eq!(CODE.load(SeqCst), si_code::ILL_ILLOPN);
    assert_eq!(TRAPNO.load(SeqCst), 6);
    assert_eq!(ADDR.load(SeqCst), RIP.load(SeqCst));
    assert_eq!(RESUME.load(SeqCst) - RIP.load(SeqCst), 2, "RIP at the ud2");
}

#[libos::test]
fn sigtrap_for_int3() {
    reset();
    install(sig::SIGTRAP, catch, 0, 0);
    fault_and_resume!("int3", 0u64);
    assert_eq!(SIGNO.load(SeqCst), sig::SIGTRAP);
    assert_eq!(CODE.load(SeqCst), si_code::SI_KERNEL);
    assert_eq!(TRAPNO.load(SeqCst), 3);
    // A trap: RIP after the int3.
    assert_eq!(RIP.load(SeqCst), RESUME.load(SeqCst));
}

#[libos::test]
fn a_handled_fault_can_repeat() {
    install(sig::SIGSEGV, catch, 0, 0);
    for i in 0..20u64 {
        reset();
        fault_and_resume!("mov byte ptr [rax], 1", 0x6000_0000_0000u64 + i * 4096);
        assert_eq!(ADDR.load(SeqCst), 0x6000_0000_0000 + i * 4096);
    }
}

#[libos::test(expect_fault = UD)]
fn a_fault_whose_signal_is_blocked_ends_the_app() {
    install(sig::SIGILL, catch, 0, 0);
    sigprocmask(how::SIG_BLOCK, bit(sig::SIGILL));
    // SAFETY: raises #UD, which the test expects to end the app.
    unsafe { asm!("ud2") };
}

#[libos::test(expect_fault = UD)]
fn a_fault_whose_signal_is_ignored_ends_the_app() {
    crate::set_action(
        &libos_abi::signal::SigAction { handler: libos_abi::signal::SIG_IGN, ..Default::default() },
        sig::SIGILL,
    );
    // SAFETY: raises #UD, which the test expects to end the app.
    unsafe { asm!("ud2") };
}

extern "C" fn faults_again(_: i32, _: *mut SigInfo, _: *mut UContext) {
    // SIGSEGV is blocked in its own handler: this second fault ends the app.
    crate::faults::write_to(0x6000_0000_0000);
}

/// A write with a plain `mov`.
pub fn write_to(addr: u64) {
    // SAFETY: deliberately faulting write.
    unsafe { asm!("mov byte ptr [{}], 1", in(reg) addr, options(nostack)) };
}

#[libos::test(expect_fault = PF)]
fn a_handler_that_faults_ends_the_app() {
    install(sig::SIGSEGV, faults_again, 0, 0);
    write_to(0x6000_0000_0000);
}

#[libos::test]
fn a_write_to_fresh_memory_is_no_signal() {
    reset();
    install(sig::SIGSEGV, catch, 0, 0);
    let page = map(1, PROT_READ | PROT_WRITE);
    fault_and_resume!("mov byte ptr [rax], 1", page);
    assert_eq!(SIGNO.load(SeqCst), 0, "demand paging is not a signal");
    let _ = sys::getpid();
}
