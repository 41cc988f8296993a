//! Starting a thread with `clone`, and ending one that must free its own
//! stack. Both need assembly: the child of `clone` wakes up on a stack that
//! holds no Rust frame, and a thread that unmaps its stack cannot run Rust
//! code afterwards.

use core::arch::global_asm;

use libos_abi::syscalls::nr;

global_asm!(
    r#"
    .section .text.libos_clone_thread, "ax"
    .balign 16
    .global libos_clone_thread
/* i64 libos_clone_thread(flags, stack, parent_tid, child_tid, tls):
 * SysV arguments RDI, RSI, RDX, RCX, R8; the syscall wants the fourth in R10.
 * The new thread's stack holds [entry, arg] at its lowest two words. */
libos_clone_thread:
    movq %rcx, %r10
    movl ${clone}, %eax
    syscall
    /* SYSCALL clobbered RCX and R11 only, as the SysV ABI allows for them. */
    testq %rax, %rax
    jz .Lclone_thread_child
    /* Caller: RAX = the new tid, or -errno. */
    ret

.Lclone_thread_child:
    /* New thread, ring 3: RSP = stack (16-byte aligned), FS = its TCB. */
    xorl %ebp, %ebp             /* the outermost frame, for unwinders */
    popq %rax                   /* entry */
    popq %rdi                   /* arg */
    /* RSP is 16-byte aligned at the call, as the SysV ABI requires. */
    call *%rax
    ud2                         /* entry never returns */

    .section .text.libos_exit_thread_unmapping, "ax"
    .balign 16
    .global libos_exit_thread_unmapping
/* ! libos_exit_thread_unmapping(base, len): frees the mapping that holds the
 * caller's own stack and control block, then ends the thread. */
libos_exit_thread_unmapping:
    movq %rdi, %r8
    movq %rsi, %r9
    /* Nothing to clear at exit: the tid word is about to be unmapped. */
    xorl %edi, %edi
    movl ${set_tid_address}, %eax
    syscall
    movq %r8, %rdi
    movq %r9, %rsi
    movl ${munmap}, %eax
    syscall
    /* From here on the stack is gone: registers only. */
    xorl %edi, %edi
    movl ${exit}, %eax
    syscall
    ud2
    "#,
    clone = const nr::CLONE,
    set_tid_address = const nr::SET_TID_ADDRESS,
    munmap = const nr::MUNMAP,
    exit = const nr::EXIT,
    options(att_syntax)
);

unsafe extern "C" {
    /// Runs `clone(flags, stack, parent_tid, child_tid, tls)`; the new
    /// thread calls `entry(arg)` (the two words at `stack`) and never
    /// returns. Gives the caller the tid or `-errno`.
    ///
    /// # Safety
    ///
    /// As `clone`'s: `stack` is the top of a stack only the new thread uses,
    /// 16-byte aligned, holding `[entry, arg]` with `entry` an
    /// `extern "C" fn(usize) -> !`; `tls` a control block for it.
    pub(crate) fn libos_clone_thread(
        flags: u64,
        stack: *mut usize,
        parent_tid: *mut u32,
        child_tid: *mut u32,
        tls: u64,
    ) -> i64;

    /// Unmaps `base..base + len`, which holds the calling thread's stack,
    /// and ends the thread.
    ///
    /// # Safety
    ///
    /// Nothing but the calling thread may use the range, and the caller
    /// must own nothing in it that needs dropping.
    pub(crate) fn libos_exit_thread_unmapping(base: usize, len: usize) -> !;
}
