/*
 * start64.s: from the long-mode switch to Rust.
 *
 * CPU state on entry (from start32.s): 64-bit mode, CPL 0, CS = BOOT_CS of
 * the boot GDT, CR3 = boot_pml4 (identity map of 0..4 GiB plus the kernel
 * at -2 GiB), IF = 0, RSP = the 32-bit boot stack (physical).
 */
    .section .boot.text, "ax"
    .code64
    .balign 16
start64_low:
    /* Data segments: the boot GDT's data descriptor (base 0, ignored in 64-bit mode). */
    movl ${BOOT_DS}, %eax
    movl %eax, %ds
    movl %eax, %es
    movl %eax, %ss
    xorl %eax, %eax
    movl %eax, %fs
    movl %eax, %gs
    /* Leave the identity map: continue at the kernel's linked (higher-half) address. */
    movabsq $start64_high, %rax
    jmp *%rax

    .section .text.start64, "ax"
    .balign 16
start64_high:
    /*
     * Running at -2 GiB now. Stack: the boot stack in .bss, 16-byte aligned
     * at its top; the page below its bottom is a guard page that the kernel's
     * own page tables leave unmapped.
     */
    movabsq $__boot_stack_top, %rsp
    xorl %ebp, %ebp
    /* Arguments: physical address of the multiboot information (a 32-bit
     * value) and the TSC start32 read first. */
    movl boot_multiboot_info, %edi
    movq boot_first_tsc, %rsi
    /* RSP is 16-byte aligned here, so the callee sees the SysV alignment. */
    call kernel_main
    ud2

    .section .bss.boot_stack, "aw", @nobits
    .balign 4096
    .global __boot_stack_guard
__boot_stack_guard:
    .skip 4096
    .global __boot_stack_bottom
__boot_stack_bottom:
    .skip {BOOT_STACK_SIZE}
    .global __boot_stack_top
__boot_stack_top:
