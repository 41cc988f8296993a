//! The thread pointer: each thread's FS base is the address of its control
//! block, whose first word holds that same address (the x86_64 ELF TLS
//! convention), so `mov %fs:0, reg` reads it without a syscall.

use core::arch::asm;

use libos_abi::abi_types::arch_prctl_code::ARCH_SET_FS;
use libos_abi::syscalls::user;

/// The calling thread's control block address (the word at `%fs:0`).
///
/// # Safety
///
/// The thread's FS base must point at a control block (every thread's does
/// once the runtime has set up the first one, before `main`).
#[inline]
pub(crate) unsafe fn read() -> *mut u8 {
    let tcb: *mut u8;
    // SAFETY: the caller guarantees FS points at a control block whose first
    // word is its own address; the load touches nothing else.
    unsafe { asm!("movq %fs:0, {}", out(reg) tcb, options(att_syntax, nostack, readonly, preserves_flags)) };
    tcb
}

/// Points the calling thread's FS base at `tcb`.
///
/// # Safety
///
/// `tcb` must be a control block whose first word is its own address and
/// that outlives the thread's use of it.
pub(crate) unsafe fn set(tcb: *mut u8) {
    // SAFETY: the caller provides a valid control block; ARCH_SET_FS writes
    // no memory.
    unsafe { user::arch_prctl(ARCH_SET_FS, tcb as u64) }.expect("arch_prctl(ARCH_SET_FS)");
}
