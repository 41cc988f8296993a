/*
 * user_copy.s: copying between kernel and user memory.
 *
 * With SMAP on, ring 0 may touch user pages only while RFLAGS.AC is set:
 * STAC opens that window for the copy instruction alone and CLAC closes it
 * (on CPUs without SMAP, STAC/CLAC do not exist and are skipped). The copy
 * instruction has an exception-table entry: if it faults on a user page
 * that cannot be made present, the fault handler resumes at the fixup,
 * which returns the number of bytes not copied. The caller has checked that
 * the user range lies in user space.
 */
    .section .text.user_copy, "ax"

/* user_copy(dst, src, len) -> bytes not copied (0 on success). DF = 0. */
    .balign 16
    .global user_copy
user_copy:
    movq %rdx, %rcx
    testb $1, user_access_uses_stac(%rip)
    jz .Luser_copy_open
    stac
.Luser_copy_open:
.Luser_copy_insn:
    rep movsb
    xorl %eax, %eax
    jmp .Luser_copy_close
.Luser_copy_fixup:
    movq %rcx, %rax
.Luser_copy_close:
    testb $1, user_access_uses_stac(%rip)
    jz .Luser_copy_done
    clac
.Luser_copy_done:
    ret
    .pushsection .ex_table, "a"
    .balign 8
    .quad .Luser_copy_insn, .Luser_copy_fixup
    .popsection

/* Set to 1 at boot when CR4.SMAP is on. */
    .section .data.user_access, "aw"
    .global user_access_uses_stac
user_access_uses_stac:
    .byte 0
