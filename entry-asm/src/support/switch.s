/*
 * switch.s: switching kernel stacks between tasks (Linux's
 * __switch_to_asm), and where a new task starts.
 */
    .section .text.switch, "ax"

/*
 * switch_stacks(prev_rsp: *mut u64, next_rsp: u64)
 * Saves the callee-saved registers on the current stack, stores RSP in
 * *prev_rsp, loads next_rsp and restores the next task's callee-saved
 * registers; the `ret` then continues the next task where it called
 * switch_stacks (or, the first time, at task_first_entry). IF = 0 and the
 * caller has set up per-CPU state, CR3 and the TSS for the next task.
 */
    .balign 16
    .global switch_stacks
switch_stacks:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret

/*
 * task_first_entry: a new task's first "return" from switch_stacks.
 * RSP = the task's pt_regs at the top of its kernel stack; IF = 0; kernel
 * CR3 and GS. Let the scheduler finish the switch, then enter ring 3.
 */
    .balign 16
    .global task_first_entry
task_first_entry:
    CALL_ALIGNED schedule_tail
    jmp entry_return_to_user_iret

/*
 * task_kernel_entry: a new kernel thread's first "return" from
 * switch_stacks. R12 = its function, R13 = the function's argument (both
 * popped from the prepared frame); kernel CR3 and GS; IF = 0. The thread
 * runs with interrupts on, as Linux's kernel threads do (the end of
 * Linux's task switch, finish_task_switch, enables them): it may wait for
 * a lock whose holder waits for this CPU's answer to a TLB shootdown.
 */
    .balign 16
    .global task_kernel_entry
task_kernel_entry:
    CALL_ALIGNED schedule_tail
    sti
    movq %r13, %rdi
    /* RSP 16-byte aligned at the call, as the SysV ABI wants. */
    andq $-16, %rsp
    call *%r12
    ud2
