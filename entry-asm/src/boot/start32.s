/*
 * start32.s: the first instructions of the image, in 32-bit protected mode.
 *
 * CPU state on entry (multiboot v1 specification, "Machine state"):
 *   - 32-bit protected mode, flat 4 GiB segments, paging off, IF = 0;
 *   - EAX = 0x2BADB002, EBX = physical address of the multiboot information;
 *   - no usable stack, no IDT, no GDT we may rely on.
 * This code is linked at its physical address (section .boot.text, identity
 * placed by the linker script), so absolute addresses are physical here.
 *
 * It checks that a multiboot loader started us and that the CPU can run a
 * 64-bit kernel (long mode and NX), printing a clear message on COM1 if not,
 * builds the early page tables, switches to long mode (ENTER_LONG_MODE,
 * long_mode.s) and far-jumps into 64-bit code (start64.s).
 */
    .section .boot.text, "ax"
    .code32
    .balign 16
    .global _start32
_start32:
    cli
    cld
    /* Stack: the small boot32 stack in .boot.bss (physical, 16-byte aligned). */
    movl $boot32_stack_top, %esp
    movl %eax, %esi                     /* keep the loader's magic across the calls */
    movl %ebx, %edi                     /* and its information pointer */
    /* The TSC at (almost) the first instruction: the benchmark's boot cost. */
    rdtsc
    movl %eax, boot_first_tsc
    movl %edx, boot_first_tsc + 4

    call boot32_serial_init

    /* Started by a multiboot loader? */
    cmpl ${BOOTLOADER_MAGIC}, %esi
    jne .Lstart32_no_multiboot
    movl %edi, boot_multiboot_info

    /* CPUID exists iff software can toggle EFLAGS.ID. */
    pushfl
    popl %eax
    movl %eax, %ecx
    xorl ${RFLAGS_ID}, %eax
    pushl %eax
    popfl
    pushfl
    popl %eax
    pushl %ecx
    popfl
    cmpl %eax, %ecx
    je .Lstart32_no_long_mode

    /* Long mode (CPUID 0x80000001 EDX bit 29) and NX (EDX bit 20). */
    movl $0x80000000, %eax
    cpuid
    cmpl $0x80000001, %eax
    jb .Lstart32_no_long_mode
    movl $0x80000001, %eax
    cpuid
    testl $(1 << 29), %edx
    jz .Lstart32_no_long_mode
    testl $(1 << 20), %edx
    jz .Lstart32_no_nx

    call boot32_build_page_tables

    /* Long mode on the boot PML4 (physical, below 4 GiB): long_mode.s. */
    ENTER_LONG_MODE $boot_pml4

    /* A GDT with a 64-bit code segment; the far jump enters 64-bit mode. */
    lgdt boot_gdt_pointer
    ljmp ${BOOT_CS}, $start64_low

.Lstart32_no_multiboot:
    movl $boot32_msg_no_multiboot, %esi
    jmp .Lstart32_fail
.Lstart32_no_long_mode:
    movl $boot32_msg_no_long_mode, %esi
    jmp .Lstart32_fail
.Lstart32_no_nx:
    movl $boot32_msg_no_nx, %esi
.Lstart32_fail:
    call boot32_puts
    /* End the run as a failure where QEMU's isa-debug-exit exists... */
    movb ${EXIT_FAILURE}, %al
    outb %al, ${DEBUG_EXIT}
    /* ...and halt for good anywhere else. */
.Lstart32_halt:
    cli
    hlt
    jmp .Lstart32_halt

/*
 * boot32_build_page_tables: identity-map the first 4 GiB with 2 MiB pages
 * (the boot code, the multiboot data and the image all lie below 4 GiB), and
 * map physical 0..1 GiB again at KERNEL_VIRT_OFFSET (-2 GiB) for the kernel.
 * The tables live in .boot.bss, which the image holds as zeros.
 * Clobbers EAX, ECX, EDX, EDI.
 */
    .balign 16
boot32_build_page_tables:
    /* 2048 PD entries (4 PD pages): entry i maps i * 2 MiB. */
    movl $boot_pd, %edi
    xorl %eax, %eax
    movl $2048, %ecx
.Lbuild_pd:
    movl %eax, %edx
    orl ${PTE_HUGE_RW}, %edx
    movl %edx, (%edi)
    movl $0, 4(%edi)
    addl ${LARGE_PAGE_SIZE}, %eax
    addl $8, %edi
    loop .Lbuild_pd

    /* PDPT (low): entries 0..3 point at the four PD pages. */
    movl $boot_pdpt_low, %edi
    movl $boot_pd, %eax
    orl ${PTE_RW}, %eax
    movl $4, %ecx
.Lbuild_pdpt:
    movl %eax, (%edi)
    movl $0, 4(%edi)
    addl $4096, %eax
    addl $8, %edi
    loop .Lbuild_pdpt

    /* PDPT (high): entry 510 = -2 GiB maps physical 0..1 GiB through the first PD. */
    movl $boot_pd, %eax
    orl ${PTE_RW}, %eax
    movl %eax, boot_pdpt_high + 510 * 8

    /* PML4: slot 0 = identity, slot 511 = the top 512 GiB. */
    movl $boot_pdpt_low, %eax
    orl ${PTE_RW}, %eax
    movl %eax, boot_pml4
    movl $boot_pdpt_high, %eax
    orl ${PTE_RW}, %eax
    movl %eax, boot_pml4 + 511 * 8
    ret

/* boot32_serial_init: COM1 at 115200 baud, 8N1, FIFO on, no interrupts. Clobbers EAX, EDX. */
    .balign 16
boot32_serial_init:
    movw ${COM1} + 1, %dx
    movb $0x00, %al                     /* IER: no interrupts */
    outb %al, %dx
    movw ${COM1} + 3, %dx
    movb $0x80, %al                     /* LCR: DLAB on */
    outb %al, %dx
    movw ${COM1} + 0, %dx
    movb $0x01, %al                     /* divisor 1 = 115200 baud */
    outb %al, %dx
    movw ${COM1} + 1, %dx
    movb $0x00, %al
    outb %al, %dx
    movw ${COM1} + 3, %dx
    movb $0x03, %al                     /* LCR: 8 data bits, no parity, 1 stop bit */
    outb %al, %dx
    movw ${COM1} + 2, %dx
    movb $0xC7, %al                     /* FCR: enable and clear FIFOs */
    outb %al, %dx
    ret

/* boot32_puts: write the NUL-terminated string at ESI to COM1. Clobbers EAX, EDX, ESI. */
    .balign 16
boot32_puts:
.Lputs_next:
    lodsb
    testb %al, %al
    jz .Lputs_done
    movb %al, %ah
    movw ${COM1} + 5, %dx
.Lputs_wait:
    inb %dx, %al                        /* LSR bit 5: transmit holding register empty */
    testb $0x20, %al
    jz .Lputs_wait
    movw ${COM1}, %dx
    movb %ah, %al
    outb %al, %dx
    jmp .Lputs_next
.Lputs_done:
    ret

    .section .boot.rodata, "a"
boot32_msg_no_multiboot:
    .asciz "libos: not started by a multiboot loader (EAX is not 0x2BADB002); boot the image with QEMU -kernel or GRUB's multiboot command\r\n"
boot32_msg_no_long_mode:
    .asciz "libos: this CPU has no 64-bit long mode (CPUID 0x80000001 EDX.LM); it cannot run this kernel\r\n"
boot32_msg_no_nx:
    .asciz "libos: this CPU has no execute-disable bit (CPUID 0x80000001 EDX.NX); this kernel requires it\r\n"

    /* The boot GDT: null, 64-bit code (BOOT_CS), data (BOOT_DS). Replaced in Rust. */
    .balign 8
boot_gdt:
    .quad 0
    .quad 0x00AF9A000000FFFF
    .quad 0x00CF92000000FFFF
boot_gdt_end:
    .balign 8
boot_gdt_pointer:
    .word boot_gdt_end - boot_gdt - 1
    .long boot_gdt

    .section .boot.data, "aw"
    .balign 8
    .global boot_multiboot_info
boot_multiboot_info:
    .long 0
    .balign 8
    .global boot_first_tsc
boot_first_tsc:
    .quad 0

    .section .boot.bss, "aw", @nobits
    .balign 4096
    .global boot_pml4
boot_pml4:
    .skip 4096
boot_pdpt_low:
    .skip 4096
boot_pdpt_high:
    .skip 4096
boot_pd:
    .skip 4 * 4096
boot32_stack:
    .skip 1024
boot32_stack_top:
