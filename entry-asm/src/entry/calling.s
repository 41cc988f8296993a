/*
 * calling.s: macros shared by the entry paths (the role of Linux's
 * arch/x86/entry/calling.h). Included once, at the top of the entry code.
 */

/*
 * PUSH_REGS_AFTER_RDI: save the general registers below pt_regs->rdi, in
 * pt_regs order. The caller has already pushed the IRET frame, orig_rax and
 * rdi. `rax` names what goes into pt_regs->rax (the syscall entry stores
 * -ENOSYS there, the result if the number turns out to be invalid).
 */
.macro PUSH_REGS_AFTER_RDI rax=%rax
    pushq %rsi
    pushq %rdx
    pushq %rcx
    pushq \rax
    pushq %r8
    pushq %r9
    pushq %r10
    pushq %r11
    pushq %rbx
    pushq %rbp
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
.endm

/*
 * POP_REGS: the mirror of the pushes: r15 first, rdi last (or left on the
 * stack with pop_rdi=0). RSP then points at pt_regs->orig_rax (or ->rdi).
 */
.macro POP_REGS pop_rdi=1
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbp
    popq %rbx
    popq %r11
    popq %r10
    popq %r9
    popq %r8
    popq %rax
    popq %rcx
    popq %rdx
    popq %rsi
    .if \pop_rdi
    popq %rdi
    .endif
.endm

/*
 * CLEAR_AC: clear RFLAGS.AC. An interrupt or exception gate leaves AC as it
 * was: set by the app (POPF in ring 3) or by an interrupted user copy
 * (STAC). With SMAP, AC set in ring 0 lets any access reach user memory, so
 * every entry clears it first, as Linux's do (ASM_CLAC in idtentry and
 * paranoid_entry, arch/x86/entry/entry_64.S); IRET restores the
 * interrupted RFLAGS. Without SMAP there is no CLAC (it is #UD): POPF of
 * RFLAGS with AC cleared does it. Needs the kernel's CR3 (reads
 * user_access_uses_stac) and a stack; clobbers nothing but flags.
 */
.macro CLEAR_AC
    testb $1, user_access_uses_stac(%rip)
    jz .Lclear_ac_popf_\@
    clac
    jmp .Lclear_ac_done_\@
.Lclear_ac_popf_\@:
    pushfq
    andq $~(1 << 18), (%rsp)
    popfq
.Lclear_ac_done_\@:
.endm

/*
 * CLEAR_REGS: zero the registers that still hold values from the
 * interrupted context once pt_regs has them, so that nothing the user
 * controls can steer speculative execution in the kernel (Linux's
 * PUSH_AND_CLEAR_REGS, arch/x86/entry/calling.h). RSP, RDI (pt_regs
 * pointer) and R12 (vector) are left alone.
 */
.macro CLEAR_REGS
    xorl %eax, %eax
    xorl %ecx, %ecx
    xorl %edx, %edx
    xorl %esi, %esi
    xorl %r8d, %r8d
    xorl %r9d, %r9d
    xorl %r10d, %r10d
    xorl %r11d, %r11d
    xorl %ebx, %ebx
    xorl %ebp, %ebp
    xorl %r13d, %r13d
    xorl %r14d, %r14d
    xorl %r15d, %r15d
.endm

/*
 * RECORD_CR3 reg, slot: test images only (feature `testing`, RECORD_CR3 =
 * 1): store the CR3 value in `reg` in this CPU's per-CPU header at `slot`,
 * where the KPTI tests read it back (libos_debug LAST_KERNEL_CR3 and
 * LAST_USER_CR3): CR3 itself does not read back the NOFLUSH bit. GS is the
 * kernel's at every use, and mapped once CR3 is. Each store carries a local
 * symbol `entry_record_cr3_N`, by which `cargo xtask test` checks that a
 * production kernel, which assembles none of this, has no such store.
 */
.macro RECORD_CR3 reg, slot
    .if {RECORD_CR3}
entry_record_cr3_\@:
    movq \reg, %gs:\slot
    .endif
.endm

/*
 * ADJUST_AND_WRITE_KERNEL_CR3 reg, record: `reg` holds the CR3 value found;
 * if it is a user page table, switch to the kernel's. Under KPTI every
 * address space is an 8 KiB-aligned pair of PML4 pages, kernel half at the
 * lower page, user half at the upper, so clearing CR3 bit 12 selects the
 * kernel half; with PCID the user ASID is the kernel ASID plus bit 11, so
 * bit 11 is cleared too, and the write sets NOFLUSH (bit 63) so that the
 * kernel ASID keeps its TLB entries. Whether PCID is on is read off the
 * CR3 value itself (bit 11 is only ever set in a PCID user CR3). Without
 * KPTI, bit 12 is never set and CR3 is left alone. With `record`, test
 * images record the value written (RECORD_CR3). (Linux:
 * ADJUST_KERNEL_CR3, arch/x86/entry/calling.h.)
 */
.macro ADJUST_AND_WRITE_KERNEL_CR3 reg, record
    btrq ${CR3_USER_PGTABLE_BIT}, \reg
    jnc .Lswitch_kcr3_done_\@
    btrq ${CR3_USER_PCID_BIT}, \reg
    jnc .Lswitch_kcr3_write_\@
    btsq ${CR3_NOFLUSH_BIT}, \reg
.Lswitch_kcr3_write_\@:
    movq \reg, %cr3
    .if \record
    RECORD_CR3 \reg, {PERCPU_LAST_KERNEL_CR3}
    .endif
.Lswitch_kcr3_done_\@:
.endm

/*
 * SWITCH_TO_KERNEL_CR3 scratch: switch to the kernel's page table if CR3
 * holds a user one; every entry from ring 3 (Linux: SWITCH_TO_KERNEL_CR3).
 */
.macro SWITCH_TO_KERNEL_CR3 scratch
    movq %cr3, \scratch
    ADJUST_AND_WRITE_KERNEL_CR3 \scratch, record=1
.endm

/*
 * SAVE_AND_SWITCH_TO_KERNEL_CR3 scratch, save: the same for the paranoid
 * entry, which may interrupt the kernel anywhere: the CR3 found goes to
 * `save` (callee-saved) for RESTORE_CR3, and nothing is recorded (an NMI
 * must not change what the tests read). (Linux: SAVE_AND_SWITCH_TO_KERNEL_CR3.)
 */
.macro SAVE_AND_SWITCH_TO_KERNEL_CR3 scratch, save
    movq %cr3, \save
    movq \save, \scratch
    ADJUST_AND_WRITE_KERNEL_CR3 \scratch, record=0
.endm

/*
 * USER_CR3_NOFLUSH reg: `reg` holds a PCID user CR3 about to be written:
 * set NOFLUSH (bit 63), so the user ASID keeps its TLB entries, unless user
 * mappings changed since this CPU last ran with this ASID (a pending user
 * flush, Linux's user_pcid_flush_mask): then clear the mark and leave
 * NOFLUSH off, so that the write flushes the user ASID.
 */
.macro USER_CR3_NOFLUSH reg
    cmpq $0, %gs:{PERCPU_USER_PCID_FLUSH_PENDING}
    jne .Luser_cr3_flush_\@
    btsq ${CR3_NOFLUSH_BIT}, \reg
    jmp .Luser_cr3_done_\@
.Luser_cr3_flush_\@:
    movq $0, %gs:{PERCPU_USER_PCID_FLUSH_PENDING}
.Luser_cr3_done_\@:
.endm

/*
 * SWITCH_TO_USER_CR3 scratch: the mirror, on every return to ring 3, with
 * the kernel's GS active and this CPU's entry flags deciding. Under KPTI
 * set bit 12 (user half); with PCID also bit 11 (user ASID), and NOFLUSH as
 * USER_CR3_NOFLUSH decides. (Linux: SWITCH_TO_USER_CR3_STACK.)
 */
.macro SWITCH_TO_USER_CR3 scratch
    testb ${FLAG_KPTI}, %gs:{PERCPU_ENTRY_FLAGS}
    jz .Lswitch_ucr3_done_\@
    movq %cr3, \scratch
    testb ${FLAG_PCID}, %gs:{PERCPU_ENTRY_FLAGS}
    jz .Lswitch_ucr3_write_\@
    btsq ${CR3_USER_PCID_BIT}, \scratch
    USER_CR3_NOFLUSH \scratch
.Lswitch_ucr3_write_\@:
    btsq ${CR3_USER_PGTABLE_BIT}, \scratch
    RECORD_CR3 \scratch, {PERCPU_LAST_USER_CR3}
    movq \scratch, %cr3
.Lswitch_ucr3_done_\@:
.endm

/*
 * RESTORE_CR3 save: the paranoid exit puts back the CR3 that
 * SAVE_AND_SWITCH_TO_KERNEL_CR3 found, if it was a user one (a kernel one
 * was never changed), with NOFLUSH as USER_CR3_NOFLUSH decides when it has
 * a PCID. (Linux: RESTORE_CR3.)
 */
.macro RESTORE_CR3 save
    btq ${CR3_USER_PGTABLE_BIT}, \save
    jnc .Lrestore_cr3_done_\@
    btq ${CR3_USER_PCID_BIT}, \save
    jnc .Lrestore_cr3_write_\@
    USER_CR3_NOFLUSH \save
.Lrestore_cr3_write_\@:
    movq \save, %cr3
.Lrestore_cr3_done_\@:
.endm

/*
 * SYNC_TO_TASK_STACK: after an entry from ring 3 (GS and CR3 already the
 * kernel's), move pt_regs from the entry stack, where the CPU put the
 * hardware frame, to the top of the current task's kernel stack, and
 * continue there. The entry stack is the only stack mapped in the user page
 * tables, so it must be free again before the next entry. DF is clear.
 * Clobbers RCX, RSI, RDI.
 */
.macro SYNC_TO_TASK_STACK
    movq %rsp, %rsi
    movq %gs:{PERCPU_TOP_OF_STACK}, %rsp
    subq ${PTREGS_SIZE}, %rsp
    movq %rsp, %rdi
    movl ${PTREGS_WORDS}, %ecx
    rep movsq
.endm

/*
 * CALL_ALIGNED fn: call a Rust function with RDI/RSI already set, from a
 * stack whose alignment is not known (pt_regs ends 8 bytes off a 16-byte
 * boundary). RBX (callee-saved) keeps the old RSP; the SysV ABI wants RSP
 * 16-byte aligned at the call.
 */
.macro CALL_ALIGNED fn
    movq %rsp, %rbx
    andq $-16, %rsp
    call \fn
    movq %rbx, %rsp
.endm
