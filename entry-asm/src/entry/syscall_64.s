/*
 * syscall_64.s: the SYSCALL entry and its SYSRET exit (Linux's
 * entry_SYSCALL_64 and syscall_return_via_sysret, arch/x86/entry/entry_64.S,
 * 6.1).
 *
 * SYSCALL leaves the CPU in this state (Intel SDM Vol. 2B, "SYSCALL"):
 *   CPL 0; CS = STAR[47:32] (KERNEL_CS), SS = +8 (KERNEL_DS);
 *   RIP = LSTAR; RCX = the user RIP after the SYSCALL; R11 = the user
 *   RFLAGS; RFLAGS &= ~SFMASK (IF, TF, DF, AC, NT, IOPL cleared);
 *   RSP = the user's stack (untrusted), GS = the user's, CR3 unchanged.
 * Arguments: RAX = number; RDI, RSI, RDX, R10, R8, R9 = arguments.
 */
    .section .entry.text, "ax"

/*
 * entry_SYSCALL_64: LSTAR when KPTI is off (CR3 is already the kernel's).
 * With KPTI on, LSTAR is the per-CPU trampoline instead (trampoline.s),
 * which switches CR3 and joins at entry_SYSCALL_64_after_hwframe.
 */
    .balign 16
    .global entry_SYSCALL_64
entry_SYSCALL_64:
    swapgs
    /* GS = kernel per-CPU data; RSP is still the user's: no stack use yet. */
    movq %rsp, %gs:{PERCPU_USER_RSP_SCRATCH}
    movq %gs:{PERCPU_TOP_OF_STACK}, %rsp
    /* RSP = top of the task's kernel stack. Build the IRET frame of pt_regs. */
    pushq ${USER_DS}                            /* pt_regs->ss */
    pushq %gs:{PERCPU_USER_RSP_SCRATCH}         /* pt_regs->rsp */
    pushq %r11                                  /* pt_regs->rflags */
    pushq ${USER_CS}                            /* pt_regs->cs */
    pushq %rcx                                  /* pt_regs->rip */

    .global entry_SYSCALL_64_after_hwframe
entry_SYSCALL_64_after_hwframe:
    /* Kernel CR3 and GS, task stack, IF = 0: finish pt_regs. */
    pushq %rax                                  /* pt_regs->orig_rax = the number */
    pushq %rdi
    PUSH_REGS_AFTER_RDI rax=$-{ENOSYS}          /* pt_regs->rax = -ENOSYS until dispatched */
    CLEAR_REGS
    movq %rsp, %rdi
    /*
     * do_syscall_64 (libos/kernel/src/trap/syscall.rs) enables interrupts,
     * dispatches, does the work before the return, disables them again.
     */
    CALL_ALIGNED do_syscall_64
    /*
     * AL = 1 when SYSRET may return (Linux's conditions, checked in Rust:
     * RCX == RIP, R11 == RFLAGS, user CS/SS, RIP below USER_END, no TF/RF);
     * otherwise take the IRET path, which can return anywhere safely.
     */
    testb %al, %al
    jz entry_return_to_user_iret

    /* SYSRET: RCX = user RIP and R11 = user RFLAGS come from pt_regs. */
    POP_REGS pop_rdi=0
    /* RSP -> pt_regs->rdi. The user RSP and RDI go to the entry stack,
     * which stays mapped once CR3 is the user's. */
    movq %rsp, %rdi
    movq %gs:{PERCPU_ENTRY_STACK_TOP}, %rsp
    pushq 5*8(%rdi)                             /* user rsp (pt_regs->rsp) */
    pushq (%rdi)                                /* user rdi */
    SWITCH_TO_USER_CR3 %rdi
    /* CR3 = the user's (KPTI): only entry text and entry areas are mapped. */
    popq %rdi
    popq %rsp
    /* RSP = the user's stack, still in ring 0 for two instructions. */
    swapgs
    /* GS = the user's. */
    sysretq

/*
 * Second stage of the KPTI trampoline: now on the task stack with the
 * kernel CR3, with RDI spilled by the trampoline (x86 has no absolute near
 * jump, so the trampoline jumped here through RDI).
 */
    .balign 16
    .global entry_SYSCALL_64_stage2
entry_SYSCALL_64_stage2:
    popq %rdi
    jmp entry_SYSCALL_64_after_hwframe

/*
 * entry_SYSCALL_compat: CSTAR, SYSCALL from 32-bit compatibility mode.
 * This kernel has no 32-bit syscall ABI, so, as Linux without IA32
 * emulation does (ignore_sysret), the call fails with -ENOSYS and returns
 * straight away with a 32-bit SYSRET (CS = USER32_CS, EIP = ECX, RFLAGS =
 * R11). It touches no stack, no GS and no kernel data, so it needs no CR3
 * switch and works the same with and without KPTI (it is entry text,
 * mapped in user page tables too). A 32-bit EIP cannot be non-canonical.
 * CPU state: CPL 0, user GS, user RSP, IF = 0.
 */
    .balign 16
    .global entry_SYSCALL_compat
entry_SYSCALL_compat:
    movl $-{ENOSYS}, %eax
    sysretl
