/*
 * bench_floor.s: the benchmark's floor entries, assembled in benchmark
 * images only (feature `bench`, BENCH_FLOOR = 1); a production kernel has
 * neither symbol (`cargo xtask test` checks).
 *
 * `cargo xtask bench` points one CPU's LSTAR at one of them for the
 * duration of one measurement (libos_debug BENCH_FLOOR). They return at
 * once: SYSCALL then SYSRET is the cheapest round trip there is, and the
 * benchmark shows the real paths next to it. One call goes through:
 * libos_debug (RAX = its number) takes the normal entry, so the benchmark
 * can put LSTAR back.
 * CPU state: CPL 0, user GS, user RSP, user CR3, IF = 0; RCX/R11 = user
 * RIP/RFLAGS. Nothing of the kernel is touched.
 */
    .if {BENCH_FLOOR}

/* entry_SYSCALL_64_bench_floor: the floor with KPTI off (kernel text). */
    .section .entry.text, "ax"
    .balign 16
    .global entry_SYSCALL_64_bench_floor
entry_SYSCALL_64_bench_floor:
    cmpl ${LIBOS_DEBUG_NR}, %eax
    je entry_SYSCALL_64
    sysretq

/*
 * entry_SYSCALL_64_bench_floor_trampoline: the floor with KPTI on. It
 * lives in the trampoline page (after the trampoline, in the same page),
 * so that each CPU's alias of it leaves through its own trampoline.
 */
    .section .entry.trampoline, "ax"
    .balign 16
    .global entry_SYSCALL_64_bench_floor_trampoline
entry_SYSCALL_64_bench_floor_trampoline:
    cmpl ${LIBOS_DEBUG_NR}, %eax
    je entry_SYSCALL_64_trampoline
    sysretq

/* The same for a CPU with PCID, which leaves through its own trampoline. */
    .balign 16
    .global entry_SYSCALL_64_bench_floor_trampoline_pcid
entry_SYSCALL_64_bench_floor_trampoline_pcid:
    cmpl ${LIBOS_DEBUG_NR}, %eax
    je entry_SYSCALL_64_trampoline_pcid
    sysretq

    .endif
