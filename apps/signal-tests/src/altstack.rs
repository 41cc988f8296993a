//! The alternate signal stack: where handlers run, what `sigaltstack`
//! reports, `SS_AUTODISARM`, and handlers whose stack cannot take a frame.

use core::sync::atomic::{AtomicI32, AtomicU64, Ordering::SeqCst};

use libos::sys;
use libos_abi::abi_types::{PROT_READ, PROT_WRITE};
use libos_abi::errno::Errno;
use libos_abi::signal::{SigInfo, StackT, UContext, sa, sig, ss};

use crate::{install, map, raise};

static SP_IN_HANDLER: AtomicU64 = AtomicU64::new(0);
static FLAGS_IN_HANDLER: AtomicI32 = AtomicI32::new(0);
static SET_IN_HANDLER: AtomicI32 = AtomicI32::new(0);
static UC_STACK_FLAGS: AtomicI32 = AtomicI32::new(0);
static UC_STACK_SP: AtomicU64 = AtomicU64::new(0);

fn query() -> StackT {
    let mut old = StackT::default();
    // SAFETY: a query into a local.
    unsafe { sys::sigaltstack(core::ptr::null(), &mut old) }.expect("sigaltstack");
    old
}

fn set(sp: u64, size: u64, flags: i32) -> Result<(), Errno> {
    let s = StackT { ss_sp: sp, ss_flags: flags, _pad: 0, ss_size: size };
    // SAFETY: the stacks of these tests are fresh mappings nothing else uses.
    unsafe { sys::sigaltstack(&s, core::ptr::null_mut()) }
}

extern "C" fn on_alt(_: i32, _: *mut SigInfo, uc: *mut UContext) {
    let local = 0u8;
    SP_IN_HANDLER.store(&local as *const u8 as u64, SeqCst);
    FLAGS_IN_HANDLER.store(query().ss_flags, SeqCst);
    SET_IN_HANDLER.store(
        match set(0, 0, ss::SS_DISABLE) {
            Err(e) => e as i32,
            Ok(()) => 0,
        },
        SeqCst,
    );
    // SAFETY: the frame's ucontext.
    let uc = unsafe { &*uc };
    UC_STACK_FLAGS.store(uc.uc_stack.ss_flags, SeqCst);
    UC_STACK_SP.store(uc.uc_stack.ss_sp, SeqCst);
}

#[libos::test]
fn a_handler_with_sa_onstack_runs_on_the_alternate_stack() {
    assert_eq!(query().ss_flags, ss::SS_DISABLE);
    let base = map(4, PROT_READ | PROT_WRITE);
    set(base, 4 * 4096, 0).unwrap();
    let q = query();
    assert_eq!((q.ss_sp, q.ss_size, q.ss_flags), (base, 4 * 4096, 0));
    install(sig::SIGUSR1, on_alt, sa::SA_ONSTACK, 0);
    raise(sig::SIGUSR1);
    let sp = SP_IN_HANDLER.load(SeqCst);
    assert!(sp > base && sp < base + 4 * 4096, "handler stack {sp:#x}");
    assert_eq!(FLAGS_IN_HANDLER.load(SeqCst), ss::SS_ONSTACK);
    assert_eq!(SET_IN_HANDLER.load(SeqCst), Errno::EPERM as i32, "cannot change it while on it");
    assert_eq!(UC_STACK_SP.load(SeqCst), base);
    assert_eq!(UC_STACK_FLAGS.load(SeqCst), 0);
    // Without SA_ONSTACK: the thread's own stack.
    install(sig::SIGUSR2, on_alt, 0, 0);
    raise(sig::SIGUSR2);
    let sp = SP_IN_HANDLER.load(SeqCst);
    assert!(!(sp > base && sp < base + 4 * 4096));
    assert_eq!(FLAGS_IN_HANDLER.load(SeqCst), 0);
}

#[libos::test]
fn ss_autodisarm_disarms_the_stack_while_the_handler_runs() {
    let base = map(4, PROT_READ | PROT_WRITE);
    set(base, 4 * 4096, ss::SS_AUTODISARM).unwrap();
    assert_eq!(query().ss_flags, ss::SS_AUTODISARM);
    install(sig::SIGUSR1, on_alt, sa::SA_ONSTACK, 0);
    raise(sig::SIGUSR1);
    let sp = SP_IN_HANDLER.load(SeqCst);
    assert!(sp > base && sp < base + 4 * 4096);
    // Disarmed inside: it reads as disabled, and may be changed.
    assert_eq!(FLAGS_IN_HANDLER.load(SeqCst), ss::SS_DISABLE);
    assert_eq!(SET_IN_HANDLER.load(SeqCst), 0);
    assert_eq!(UC_STACK_FLAGS.load(SeqCst), ss::SS_AUTODISARM);
    // rt_sigreturn put back the one in uc_stack.
    let q = query();
    assert_eq!((q.ss_sp, q.ss_size, q.ss_flags), (base, 4 * 4096, ss::SS_AUTODISARM));
}

#[libos::test]
fn sigaltstack_refuses_bad_flags_and_small_stacks() {
    let base = map(1, PROT_READ | PROT_WRITE);
    assert_eq!(set(base, 4096, 4), Err(Errno::EINVAL));
    assert_eq!(set(base, 2047, 0), Err(Errno::ENOMEM));
    assert_eq!(set(base, 2048, 0), Ok(()));
    assert_eq!(set(0, 0, ss::SS_DISABLE), Ok(()));
    assert_eq!(query().ss_flags, ss::SS_DISABLE);
}

extern "C" fn never(_: i32, _: *mut SigInfo, _: *mut UContext) {
    panic!("this handler cannot have run");
}

/// Installs a SIGILL handler on an alternate stack that cannot take a
/// frame, and raises #UD: the app ends (SIGSEGV), reported with the #UD.
fn ud_with_unusable_altstack(sp: u64, size: u64) -> ! {
    set(sp, size, 0).unwrap();
    install(sig::SIGILL, never, sa::SA_ONSTACK, 0);
    // SAFETY: raises #UD, which the test expects to end the app.
    unsafe { core::arch::asm!("ud2") };
    unreachable!()
}

#[libos::test(expect_fault = UD)]
fn a_handler_whose_alternate_stack_is_unmapped_ends_the_app() {
    ud_with_unusable_altstack(0x5000_0000_0000, 64 * 1024);
}

#[libos::test(expect_fault = UD)]
fn a_handler_whose_alternate_stack_is_read_only_ends_the_app() {
    ud_with_unusable_altstack(map(4, PROT_READ), 4 * 4096);
}

static NESTED: AtomicU64 = AtomicU64::new(0);

extern "C" fn ud_again(_: i32, _: *mut SigInfo, _: *mut UContext) {
    NESTED.fetch_add(1, SeqCst);
    // SAFETY: #UD again, on the alternate stack (SA_NODEFER): frames pile up
    // until one would leave the stack.
    unsafe { core::arch::asm!("ud2") };
}

/// Linux's `get_sigframe`: a frame that would overflow the alternate stack
/// from inside is not written; the app dies with SIGSEGV.
#[libos::test(expect_fault = UD)]
fn frames_that_would_overflow_the_alternate_stack_end_the_app() {
    set(map(4, PROT_READ | PROT_WRITE), 4 * 4096, 0).unwrap();
    install(sig::SIGILL, ud_again, sa::SA_ONSTACK | sa::SA_NODEFER, 0);
    // SAFETY: raises #UD, which the test expects to end the app.
    unsafe { core::arch::asm!("ud2") };
}

#[libos::test(expect_fault = UD)]
fn a_handler_whose_stack_pointer_is_wild_ends_the_app() {
    install(sig::SIGILL, never, 0, 0);
    // SAFETY: the app ends at the ud2 (the frame cannot be written below
    // a kernel-half RSP); RSP is never used by Rust code after.
    unsafe { core::arch::asm!("mov rsp, {}", "ud2", in(reg) 0xffff_8000_0000_1000u64, options(noreturn)) };
}

#[libos::test(expect_fault = UD)]
fn a_handler_without_sa_restorer_ends_the_app() {
    let act = libos_abi::signal::SigAction {
        handler: never as *const () as u64,
        flags: sa::SA_SIGINFO,
        restorer: 0,
        mask: 0,
    };
    crate::set_action(&act, sig::SIGILL);
    // SAFETY: raises #UD, which the test expects to end the app.
    unsafe { core::arch::asm!("ud2") };
}
