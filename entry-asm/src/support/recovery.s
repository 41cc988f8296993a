/*
 * recovery.s: leaving a call that went wrong, for the boot-time tests.
 *
 * recovery_call(f, arg, point) calls f(arg) and returns 0. If instead the
 * call is abandoned, by the exception handler (which sends the faulting
 * context to recovery_landing with RSP = point->rsp and RAX = a code) or by
 * the panic handler (recovery_resume), recovery_call returns that nonzero
 * code with its caller's callee-saved registers and stack intact.
 *
 * struct RecoveryPoint: u64 rsp, u64 rflags (see entry_asm::recovery, which gives the offsets)
 * testing::recovery, which checks the offsets).
 */
    .section .text.recovery, "ax"
    .balign 16
    .global recovery_call
recovery_call:
    /* RDI = f, RSI = arg, RDX = point. RSP = 8 mod 16 (after the call). */
    pushq %rbx
    pushq %rbp
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    subq $8, %rsp                       /* RSP = 0 mod 16 */
    movq %rsp, {RECOVERY_RSP}(%rdx)
    pushfq
    popq {RECOVERY_RFLAGS}(%rdx)
    movq %rdi, %rax
    movq %rsi, %rdi
    /* RSP is 16-byte aligned at the call. */
    call *%rax
    xorl %eax, %eax
    .global recovery_landing
recovery_landing:
    /* RSP = the value saved above; RAX = 0 or the code. */
    addq $8, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbp
    popq %rbx
    ret

/* recovery_resume(point, code) -> !: abandon the current call (from Rust, not an exception). */
    .balign 16
    .global recovery_resume
recovery_resume:
    movq {RECOVERY_RFLAGS}(%rdi), %rax
    movq {RECOVERY_RSP}(%rdi), %rsp
    pushq %rax
    popfq
    movq %rsi, %rax
    jmp recovery_landing

/*
 * call_on_stack(f, arg, stack_top): call f(arg) with RSP = stack_top (16-byte
 * aligned), then return to the caller's stack. For tests that must run on a
 * stack of their own (stack overflow).
 */
    .balign 16
    .global call_on_stack
call_on_stack:
    pushq %rbp
    movq %rsp, %rbp
    movq %rdx, %rsp
    movq %rdi, %rax
    movq %rsi, %rdi
    call *%rax
    movq %rbp, %rsp
    popq %rbp
    ret
