/*
 * long_mode.s: the switch to long mode, once for the boot CPU (from 32-bit
 * protected mode, start32.s) and the application processors (from real
 * mode, ap_trampoline.s). Assembled first, with those two, in one piece
 * (entry-asm/src/lib.rs).
 */

/*
 * ENTER_LONG_MODE pml4: the steps of Intel SDM Vol. 3A, "Initializing
 * IA-32e Mode" (AMD APM Vol. 2, "Enabling and Activating Long Mode"), in
 * their order: PAE in CR4; the PML4 (`pml4`, an operand below 4 GiB) in
 * CR3; EFER.LME, with NXE, since the page tables use bit 63; then CR0.PG,
 * here with PE (the boot CPU has it already; an AP sets both at once) and
 * WP (ring 0 honours read-only pages from now on). With PG set, long mode
 * is active, in compatibility mode until the caller's far jump loads a
 * 64-bit code segment. The caller's .code16 or .code32 decides the
 * encoding of the same instructions. Paging must be off and IF clear.
 * Clobbers EAX, ECX, EDX.
 */
.macro ENTER_LONG_MODE pml4
    movl %cr4, %eax
    orl ${CR4_PAE}, %eax
    movl %eax, %cr4
    movl \pml4, %eax
    movl %eax, %cr3
    movl ${MSR_EFER}, %ecx
    rdmsr
    orl ${EFER_BITS}, %eax
    wrmsr
    movl %cr0, %eax
    orl ${CR0_BITS}, %eax
    movl %eax, %cr0
.endm
