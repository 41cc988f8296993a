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
 * SYSCALL_TRAMPOLINE pcid: the body of both trampolines. CPU state as for
 * entry_SYSCALL_64, plus: CR3 = the user page table (user ASID with PCID).
 * SYSCALL only ever comes from ring 3 and this LSTAR is only installed with
 * KPTI on, so CR3 always holds a user half here: the kernel half is found
 * without a test (Linux's SWITCH_TO_KERNEL_CR3 tests, because its entry is
 * shared with KPTI off; each CPU's LSTAR picks the variant for its PCID
 * setting instead).
 */
.macro SYSCALL_TRAMPOLINE pcid
    swapgs
    /* GS = kernel per-CPU data, which is not mapped yet: do not touch it. */
    /* Stash the user RSP in the top word of this CPU's entry stack. */
    movq %rsp, (entry_trampoline_page + {CEA_RSP_SCRATCH} - {CEA_TRAMPOLINE})(%rip)
    /* RSP is free now: use it as the scratch register for the CR3 switch. */
    movq %cr3, %rsp
    .if \pcid
    /* Kernel half (bit 12) and kernel ASID (bit 11); keep its TLB entries. */
    andq $~({CR3_USER_PGTABLE} | {CR3_USER_PCID}), %rsp
    btsq ${CR3_NOFLUSH_BIT}, %rsp
    .else
    /* Kernel half of the pair: clear bit 12. */
    btrq ${CR3_USER_PGTABLE_BIT}, %rsp
    .endif
    movq %rsp, %cr3
    RECORD_CR3 %rsp, {PERCPU_LAST_KERNEL_CR3}
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
     * would be wrong from the alias: jump through the address stored in
     * this page (read RIP-relatively, so from the alias too). No register
     * is needed for it.
     */
    jmp *(entry_syscall_64_after_hwframe_address)(%rip)
.endm

    .balign 16
    .global entry_SYSCALL_64_trampoline
entry_SYSCALL_64_trampoline:
    SYSCALL_TRAMPOLINE pcid=0

    .balign 16
    .global entry_SYSCALL_64_trampoline_pcid
entry_SYSCALL_64_trampoline_pcid:
    SYSCALL_TRAMPOLINE pcid=1

/* Where both trampolines continue, in kernel text (read-only data here). */
    .balign 8
entry_syscall_64_after_hwframe_address:
    .quad entry_SYSCALL_64_after_hwframe
