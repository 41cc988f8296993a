/*
 * trampoline.s: the per-CPU SYSCALL trampoline (Linux 4.15 to 4.18's
 * entry_SYSCALL_64_trampoline, arch/x86/entry/entry_64.S).
 *
 * Under KPTI a SYSCALL arrives with the user's CR3: nothing of the kernel
 * is mapped but the entry areas and the entry text. The trampoline page is
 * mapped once more inside every CPU's entry area, at a fixed offset, and
 * each CPU's LSTAR points into its own copy, so the code can find its
 * CPU's entry area RIP-relatively: the linker thinks this page lives at
 * entry_trampoline_page, but at run time it lives at area + TRAMPOLINE, so
 * `entry_trampoline_page + (OFFSET - TRAMPOLINE)` RIP-relative is this
 * CPU's `area + OFFSET`. It may reference nothing outside its own page
 * except through those RIP-relative entry-area operands.
 */
    .section .entry.trampoline, "ax"
    .balign 4096
    .global entry_trampoline_page
entry_trampoline_page:

/*
 * entry_SYSCALL_64_trampoline. CPU state as for entry_SYSCALL_64, plus:
 * CR3 = the user page table (user ASID with PCID).
 */
    .balign 16
    .global entry_SYSCALL_64_trampoline
entry_SYSCALL_64_trampoline:
    swapgs
    /* GS = kernel per-CPU data, which is not mapped yet: do not touch it. */
    /* Stash the user RSP in the top word of this CPU's entry stack. */
    movq %rsp, (entry_trampoline_page + {CEA_RSP_SCRATCH} - {CEA_TRAMPOLINE})(%rip)
    /* RSP is free now: use it as the scratch register for the CR3 switch. */
    SWITCH_TO_KERNEL_CR3 %rsp
    /* CR3 = kernel: everything is mapped. Load the task's stack top (TSS.RSP1). */
    movq (entry_trampoline_page + {CEA_TSS_SP1} - {CEA_TRAMPOLINE})(%rip), %rsp
    /* Build the IRET frame of pt_regs, as entry_SYSCALL_64 does. */
    pushq ${USER_DS}                                                    /* ss */
    pushq (entry_trampoline_page + {CEA_RSP_SCRATCH} - {CEA_TRAMPOLINE})(%rip) /* rsp */
    pushq %r11                                                          /* rflags */
    pushq ${USER_CS}                                                    /* cs */
    pushq %rcx                                                          /* rip */
    /*
     * x86 has no absolute near jump, and a relative jump to kernel text
     * would be wrong from the alias: spill RDI and jump through it; stage 2
     * pops it back.
     */
    pushq %rdi
    movabsq $entry_SYSCALL_64_stage2, %rdi
    jmp *%rdi
