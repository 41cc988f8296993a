/*
 * ap_trampoline.s: where an application processor starts.
 *
 * The boot CPU copies this page to physical AP_TRAMPOLINE_PHYS (below
 * 1 MiB) and fills in its parameter block, then sends INIT-SIPI-SIPI with
 * vector AP_TRAMPOLINE_PHYS >> 12. The AP starts here in 16-bit real mode
 * with CS = AP_TRAMPOLINE_PHYS >> 4, IP = 0, interrupts off, no stack.
 * It goes straight to long mode (ENTER_LONG_MODE, long_mode.s: PAE, CR3,
 * EFER.LME|NXE, then PG|PE together) on a page table that identity-maps
 * this page and maps the kernel, far-jumps into 64-bit code, loads its
 * stack and calls the kernel's ap_main(cpu_index). Everything here is position dependent on
 * AP_TRAMPOLINE_PHYS: addresses are written as offsets from the start.
 */
    .section .ap_trampoline, "ax"
    .balign 4096
    .global ap_trampoline_start
ap_trampoline_start:
    .code16
    cli
    cld
    /* Real mode, CS = DS base = AP_TRAMPOLINE_PHYS: data are at their offsets. */
    movw %cs, %ax
    movw %ax, %ds

    /*
     * Long mode on the parameter block's page table (below 4 GiB), the
     * boot CPU's sequence (long_mode.s): protected mode and paging come on
     * at once, and long mode (compatibility) is active.
     */
    ENTER_LONG_MODE (ap_param_cr3 - ap_trampoline_start)
    /* A 64-bit code segment from the trampoline's own GDT. */
    lgdtl (ap_gdt_pointer - ap_trampoline_start)
    ljmpl ${AP_CS}, ${AP_TRAMPOLINE_PHYS} + (ap_long_mode - ap_trampoline_start)

    .code64
    .balign 16
ap_long_mode:
    /* 64-bit mode at the identity-mapped low address; IF = 0. */
    movl ${AP_DS}, %eax
    movl %eax, %ds
    movl %eax, %es
    movl %eax, %ss
    /* Its own stack (the top of a fresh kernel stack, 16-byte aligned). */
    movq {AP_TRAMPOLINE_PHYS} + (ap_param_stack - ap_trampoline_start), %rsp
    movq {AP_TRAMPOLINE_PHYS} + (ap_param_cpu - ap_trampoline_start), %rdi
    movq {AP_TRAMPOLINE_PHYS} + (ap_param_entry - ap_trampoline_start), %rax
    xorl %ebp, %ebp
    /* RSP is 16-byte aligned at the call, as the SysV ABI wants. */
    call *%rax
    ud2

    .balign 8
ap_gdt:
    .quad 0
    .quad 0x00AF9B000000FFFF                    /* AP_CS: 64-bit code (accessed bit preset: the page is read-only) */
    .quad 0x00CF93000000FFFF                    /* AP_DS: data (accessed bit preset) */
ap_gdt_end:
    .balign 8
ap_gdt_pointer:
    .word ap_gdt_end - ap_gdt - 1
    .long {AP_TRAMPOLINE_PHYS} + (ap_gdt - ap_trampoline_start)

    /* The parameter block, filled by the boot CPU before each SIPI. */
    .balign 8
    .global ap_param_cr3
ap_param_cr3:
    .quad 0
    .global ap_param_stack
ap_param_stack:
    .quad 0
    .global ap_param_entry
ap_param_entry:
    .quad 0
    .global ap_param_cpu
ap_param_cpu:
    .quad 0
    .global ap_trampoline_end
ap_trampoline_end:
