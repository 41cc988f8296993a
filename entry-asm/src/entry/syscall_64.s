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
     * RSP = pt_regs, 16-byte aligned: the task stack keeps
     * TOP_OF_KERNEL_STACK_PADDING above it (layout.rs), so the call needs
     * no realignment. The call goes through this CPU's syscall_body:
     * do_syscall_64 (libos/kernel/src/trap/syscall.rs), or
     * do_syscall_64_traced when the command line asks for a trace (chosen
     * once at boot, like the SYSRET tail below, so the common path tests
     * nothing for it). It enables interrupts, dispatches, does the exit
     * work (one test of the thread's flags) and returns with interrupts
     * off, RSP = pt_regs again. When a handler rewrote the frame and SYSRET
     * cannot return to it, it leaves through the IRET exit itself and does
     * not come back here.
     */
    call *%gs:{PERCPU_SYSCALL_BODY}
    /*
     * The frame is the entry's own, or was checked: RCX == RIP and R11 ==
     * RFLAGS (both pushed from the same registers), user CS/SS, RIP in user
     * space. Only the user's TF or RF can still forbid SYSRET (it cannot
     * restore RF, and TF would trap right after it; Linux's conditions in
     * do_syscall_64): then IRET.
     */
    testl ${RFLAGS_TF_RF}, {PTREGS_RFLAGS}(%rsp)
    jnz entry_return_to_user_iret

    /* SYSRET: RCX = user RIP and R11 = user RFLAGS come from pt_regs. */
    POP_REGS pop_rdi=0
    /*
     * RSP -> pt_regs->rdi. Leave through this CPU's SYSRET tail for its
     * KPTI and PCID configuration (chosen once, when the CPU came up).
     */
    jmp *%gs:{PERCPU_SYSRET_TAIL}

/*
 * The SYSRET tails. Each starts with RSP -> pt_regs->rdi, kernel CR3 and
 * GS, IF = 0, every other user register restored.
 *
 * Without KPTI the task stack stays mapped: restore RDI and the user RSP
 * straight from pt_regs.
 */
    .balign 16
    .global entry_syscall_64_sysret_nokpti
entry_syscall_64_sysret_nokpti:
    popq %rdi
    /* RSP -> pt_regs->orig_rax; the user RSP is four words up. */
    movq 4*8(%rsp), %rsp
    /* RSP = the user's stack, still in ring 0 for two instructions. */
    swapgs
    /* GS = the user's. */
    sysretq

/*
 * With KPTI: the user RSP and RDI go to the entry stack, which stays
 * mapped once CR3 is the user's (the task stack does not).
 */
.macro SYSRET_VIA_ENTRY_STACK pcid
    movq %rsp, %rdi
    movq %gs:{PERCPU_ENTRY_STACK_TOP}, %rsp
    pushq 5*8(%rdi)                             /* user rsp (pt_regs->rsp) */
    pushq (%rdi)                                /* user rdi */
    /*
     * The user half of this address space's pair: CR3 bit 12, and with
     * PCID the user ASID (bit 11) and NOFLUSH as USER_CR3_NOFLUSH decides
     * (Linux: SWITCH_TO_USER_CR3_STACK, without its runtime KPTI test:
     * this tail is only ever used with KPTI on).
     */
    movq %cr3, %rdi
    .if \pcid
    btsq ${CR3_USER_PCID_BIT}, %rdi
    USER_CR3_NOFLUSH %rdi
    .endif
    btsq ${CR3_USER_PGTABLE_BIT}, %rdi
    RECORD_CR3 %rdi, {PERCPU_LAST_USER_CR3}
    movq %rdi, %cr3
    /* CR3 = the user's (KPTI): only entry text and entry areas are mapped. */
    popq %rdi
    popq %rsp
    /* RSP = the user's stack, still in ring 0 for two instructions. */
    swapgs
    /* GS = the user's. */
    sysretq
.endm

    .balign 16
    .global entry_syscall_64_sysret_kpti
entry_syscall_64_sysret_kpti:
    SYSRET_VIA_ENTRY_STACK pcid=0

    .balign 16
    .global entry_syscall_64_sysret_pcid
entry_syscall_64_sysret_pcid:
    SYSRET_VIA_ENTRY_STACK pcid=1

/*
 * entry_syscall_64_return_via_iret(regs): a system call whose handler
 * rewrote the frame into one SYSRET cannot return to (Rust checked it
 * whole: sysret_is_safe) leaves through the IRET exit. RDI = pt_regs at
 * the top of the task stack; kernel CR3 and GS; IF = 0. The Rust frames
 * above pt_regs are dropped.
 */
    .balign 16
    .global entry_syscall_64_return_via_iret
entry_syscall_64_return_via_iret:
    movq %rdi, %rsp
    jmp entry_return_to_user_iret

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
