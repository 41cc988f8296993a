/*
 * interrupts.s: entry and exit for interrupts and exceptions (Linux's
 * idtentry, error_entry, paranoid_entry and their exits,
 * arch/x86/entry/entry_64.S, 6.1). The Rust side is libos/kernel/src/trap.
 *
 * All of this is entry text: under KPTI it is also mapped into every user
 * page table, because the CPU jumps here with the user's CR3 still loaded.
 */
    .section .entry.text, "ax"

/*
 * The IDT stubs: one per vector, each 16-byte aligned, its address recorded
 * in idt_stub_table (read by the kernel to fill the IDT).
 *
 * On entry the CPU has pushed SS, RSP, RFLAGS, CS, RIP and, for some
 * exceptions, an error code (Intel SDM Vol. 3A, "Exception and Interrupt
 * Reference"; ERROR_CODE_VECTORS). A stub pushes -1 as the error code where the
 * CPU pushed none (so pt_regs->orig_rax is always there), then RDI, and
 * puts the vector in EDI. NMI, #DB, #DF and #MC arrive on IST stacks and
 * take the paranoid path; every other vector the common one.
 */
    .pushsection .rodata.idt_stub_table, "a"
    .balign 8
    .global idt_stub_table
idt_stub_table:
    .popsection

    .balign 16
    .global idt_stubs
idt_stubs:
    .set idt_stub_vector, 0
    .rept 256
    .balign 16
1:
    .if idt_stub_vector >= 32
    pushq $-1
    .elseif ({ERROR_CODE_VECTORS} >> idt_stub_vector) & 1
    .else
    pushq $-1
    .endif
    pushq %rdi
    movl $idt_stub_vector, %edi
    .if idt_stub_vector < 32
    .if ({PARANOID_VECTORS} >> idt_stub_vector) & 1
    jmp idt_paranoid_entry
    .else
    jmp idt_common_entry
    .endif
    .else
    jmp idt_common_entry
    .endif
    .pushsection .rodata.idt_stub_table, "a"
    .quad 1b
    .popsection
    .set idt_stub_vector, idt_stub_vector + 1
    .endr

/*
 * idt_common_entry: every vector without an IST stack.
 *
 * Stack: rdi, orig_rax, rip, cs, rflags, rsp, ss (lowest first); EDI = vector.
 * IF = 0 (interrupt gates).
 * - From ring 3: RSP is this CPU's entry stack (TSS.RSP0), GS is the user's,
 *   CR3 is the user's page table under KPTI.
 * - From ring 0: RSP is the interrupted kernel stack, GS and CR3 are the
 *   kernel's; except after a fault on the IRET that returns to ring 3, which
 *   runs in ring 0 after the exit path has restored the user's GS and CR3
 *   (see .Lidt_bad_iret; Linux's error_entry handles the same case).
 */
    .balign 16
idt_common_entry:
    PUSH_REGS_AFTER_RDI
    /* All registers are saved: RSP points at a complete pt_regs. */
    movl %edi, %r12d
    cld
    testb $3, {PTREGS_CS}(%rsp)
    jz .Lidt_from_kernel

.Lidt_from_user:
    swapgs
    /* GS = kernel per-CPU data, which may not be mapped yet: touch nothing of it. */
    SWITCH_TO_KERNEL_CR3 %rax
    /* CR3 = kernel page table: everything is mapped. Leave the entry stack. */
    SYNC_TO_TASK_STACK
    /* RSP = pt_regs at the top of the task's kernel stack. */
    jmp .Lidt_call

.Lidt_from_kernel:
    leaq entry_iret_to_user(%rip), %rax
    cmpq %rax, {PTREGS_RIP}(%rsp)
    je .Lidt_bad_iret

.Lidt_call:
    /* Kernel GS, kernel CR3, RSP = pt_regs on a kernel stack, IF = 0. */
    CLEAR_AC
    CLEAR_REGS
    movq %rsp, %rdi
    movl %r12d, %esi
    CALL_ALIGNED do_interrupt               /* trap/mod.rs */
    /* Back with IF = 0 and RSP = pt_regs. Return where the interrupt came from. */
    testb $3, {PTREGS_CS}(%rsp)
    jnz entry_return_to_user_iret
    POP_REGS
    addq $8, %rsp                       /* drop orig_rax */
    iretq

.Lidt_bad_iret:
    /*
     * The iretq at entry_iret_to_user faulted (#GP, #NP or #SS on a bad
     * user frame, e.g. a non-canonical RIP). The fault ran in ring 0 on the
     * entry stack, with the user's GS and CR3 already back. Undo them as an
     * entry from ring 3 would, and let Rust end the app: do_interrupt sees
     * RIP == entry_iret_to_user and never returns.
     */
    swapgs
    SWITCH_TO_KERNEL_CR3 %rax
    SYNC_TO_TASK_STACK
    jmp .Lidt_call

/*
 * entry_return_to_user_iret: return to ring 3 with IRET, for interrupts,
 * exceptions, the first entry into an app and every syscall return that
 * SYSRET cannot do.
 * RSP = pt_regs on the task stack; kernel GS and CR3; IF = 0.
 */
    .balign 16
    .global entry_return_to_user_iret
entry_return_to_user_iret:
    POP_REGS pop_rdi=0
    /*
     * RSP points at pt_regs->rdi. Copy rdi and the IRET frame to the entry
     * stack, which stays mapped once CR3 is the user's (the task stack does
     * not), and continue there.
     */
    movq %rsp, %rdi
    movq %gs:{PERCPU_ENTRY_STACK_TOP}, %rsp
    pushq 6*8(%rdi)                     /* ss */
    pushq 5*8(%rdi)                     /* rsp */
    pushq 4*8(%rdi)                     /* rflags */
    pushq 3*8(%rdi)                     /* cs */
    pushq 2*8(%rdi)                     /* rip */
    pushq (%rdi)                        /* rdi */
    SWITCH_TO_USER_CR3 %rdi
    /* CR3 = the user's: only the entry areas and entry text are mapped. */
    popq %rdi
    swapgs
    /* GS = the user's. */
    .global entry_iret_to_user
entry_iret_to_user:
    iretq

/*
 * idt_paranoid_entry: NMI, #DB, #DF and #MC. They arrive on their own IST
 * stacks at any moment, even inside the few instructions of the entry and
 * exit paths where GS or CR3 do not match CS. So decide from the state
 * itself, not from CS (Linux's paranoid_entry/paranoid_exit,
 * arch/x86/entry/entry_64.S): GS from the sign of IA32_GS_BASE (a kernel GS
 * base is a kernel address; the user can only set user addresses), CR3
 * from its user bit; switch what needs switching, and restore exactly what
 * was found.
 *
 * Stack (IST): rdi, orig_rax, rip, cs, rflags, rsp, ss; EDI = vector; IF = 0.
 */
    .balign 16
idt_paranoid_entry:
    PUSH_REGS_AFTER_RDI
    /* All registers are saved: RSP points at a complete pt_regs. */
    movl %edi, %r12d
    cld
    CLEAR_REGS
    /* GS: R13 = 1 if it was the user's and is swapped back on exit. */
    movl ${MSR_GS_BASE}, %ecx
    rdmsr
    testl %edx, %edx
    js .Lparanoid_gs_ok
    swapgs
    movl $1, %r13d
.Lparanoid_gs_ok:
    /* GS = kernel. CR3: the one found goes to R14, the kernel's is loaded. */
    SAVE_AND_SWITCH_TO_KERNEL_CR3 %rax, %r14
    /* CR3 = kernel. R12-R14 are callee-saved across the call. */
    CLEAR_AC
    movq %rsp, %rdi
    movl %r12d, %esi
    CALL_ALIGNED do_paranoid                /* trap/paranoid.rs */
    /* Restore CR3, then GS, as found. */
    RESTORE_CR3 %r14
    testl %r13d, %r13d
    jz .Lparanoid_gs_restored
    swapgs
.Lparanoid_gs_restored:
    POP_REGS
    addq $8, %rsp                       /* drop orig_rax */
    iretq
