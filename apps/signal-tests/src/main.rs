//! Ring-3 tests of signals through the raw Linux calls (`rt_sigaction`,
//! `rt_sigprocmask`, `rt_sigpending`, `sigaltstack`, `rt_sigreturn`,
//! `kill`, `tkill`, `tgkill`): handlers and their `siginfo`/`ucontext`,
//! masks and flags, the alternate stack, nested signals, registers and
//! extended state across a handler, signals from faults, forged frames
//! that `rt_sigreturn` must refuse or tame, handlers that cannot run, bad
//! arguments and bad pointers, signals racing thread exit, and the masks
//! `ppoll`, `pselect6` and `epoll_pwait` install for their wait.
//!
//! Run with `cargo xtask test signal_tests` (the `apps` suite's
//! configurations: 1 and 4 CPUs, KPTI on and off, QEMU's Skylake-X).
#![no_std]
#![no_main]

extern crate alloc;

mod altstack;
mod args;
mod basics;
mod eintr;
mod faults;
mod forged;
mod registers;
mod threads;
mod wait_masks;

use core::sync::atomic::AtomicU64;

use libos::sys;
use libos_abi::signal::{SigAction, SigInfo, UContext, how, sa};

#[libos::main]
fn main() {
    libos::println!("signal-tests: run with `cargo xtask test signal_tests`");
}

// The return path of every handler: `rt_sigreturn` (what libcs put in
// `sa_restorer`). The `ud2` is never reached: the call does not return.
core::arch::global_asm!(
    ".globl signal_tests_restorer",
    ".balign 16",
    "signal_tests_restorer:",
    "mov eax, 15",
    "syscall",
    "ud2",
);

unsafe extern "C" {
    fn signal_tests_restorer();
}

/// The restorer's address.
pub fn restorer() -> u64 {
    signal_tests_restorer as *const () as u64
}

/// A handler with `SA_SIGINFO`'s three arguments.
pub type Handler = extern "C" fn(i32, *mut SigInfo, *mut UContext);

/// Installs `handler` for `signo` with `flags` (plus `SA_SIGINFO` and
/// `SA_RESTORER`) and `mask`; returns the old action.
pub fn install(signo: i32, handler: Handler, flags: u64, mask: u64) -> SigAction {
    set_action(
        &SigAction {
            handler: handler as *const () as u64,
            flags: flags | sa::SA_SIGINFO | sa::SA_RESTORER,
            restorer: restorer(),
            mask,
        },
        signo,
    )
}

/// Sets `act` for `signo`; returns the old action.
pub fn set_action(act: &SigAction, signo: i32) -> SigAction {
    let mut old = SigAction::default();
    // SAFETY: the handlers of these tests are `extern "C"` functions that
    // return through the restorer.
    unsafe { sys::rt_sigaction(signo, act, &mut old, 8) }.expect("rt_sigaction");
    old
}

/// The current action of `signo`.
pub fn action(signo: i32) -> SigAction {
    let mut old = SigAction::default();
    // SAFETY: a query (null `act`) changes nothing.
    unsafe { sys::rt_sigaction(signo, core::ptr::null(), &mut old, 8) }.expect("rt_sigaction");
    old
}

/// Sends `signo` to the calling thread (`tgkill`).
pub fn raise(signo: i32) {
    sys::tgkill(pid(), tid(), signo).expect("tgkill");
}

/// The process id.
pub fn pid() -> i32 {
    sys::getpid().expect("getpid")
}

/// The calling thread's id.
pub fn tid() -> i32 {
    sys::gettid().expect("gettid")
}

/// Changes the blocked mask (`how`, `set`); returns the old one.
pub fn sigprocmask(how: i32, set: u64) -> u64 {
    let mut old = 0u64;
    // SAFETY: both pointers are to locals.
    unsafe { sys::rt_sigprocmask(how, &set, &mut old, 8) }.expect("rt_sigprocmask");
    old
}

/// The blocked mask.
pub fn blocked() -> u64 {
    let mut old = 0u64;
    // SAFETY: a query; `old` is a local.
    unsafe { sys::rt_sigprocmask(how::SIG_BLOCK, core::ptr::null(), &mut old, 8) }.expect("rt_sigprocmask");
    old
}

/// The pending signals the thread blocks.
pub fn pending() -> u64 {
    let mut set = 0u64;
    // SAFETY: a local.
    unsafe { sys::rt_sigpending(&mut set, 8) }.expect("rt_sigpending");
    set
}

/// The bit of `signo` in a mask.
pub const fn bit(signo: i32) -> u64 {
    1 << (signo - 1)
}

/// Where a fault handler resumes the thread (set by the code that faults).
pub static RESUME: AtomicU64 = AtomicU64::new(0);

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

/// Maps `pages` fresh read-write pages.
pub fn map(pages: usize, prot: i32) -> u64 {
    use libos_abi::abi_types::{MAP_ANONYMOUS, MAP_PRIVATE};
    // SAFETY: a new anonymous mapping (no MAP_FIXED) replaces nothing.
    unsafe { sys::mmap(0, pages * 4096, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) }.expect("mmap") as u64
}
