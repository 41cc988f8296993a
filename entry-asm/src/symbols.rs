//! Symbols of the assembly that Rust refers to.

unsafe extern "C" {
    /// Addresses of the 256 IDT stubs, by vector.
    pub static idt_stub_table: [u64; 256];
    /// The first IDT stub.
    pub static idt_stubs: u8;
    /// Returns to ring 3 through IRET with the `pt_regs` at RSP (jump, don't call).
    pub static entry_return_to_user_iret: u8;
    /// The `iretq` that returns to ring 3 (a fault on it means a bad user frame).
    pub static entry_iret_to_user: u8;

    /// LSTAR without KPTI: the SYSCALL entry in kernel text.
    pub static entry_SYSCALL_64: u8;
    /// The benchmark's SYSCALL floor without KPTI (returns at once).
    #[cfg(feature = "bench")]
    pub static entry_SYSCALL_64_bench_floor: u8;
    /// The benchmark's SYSCALL floor with KPTI, in the trampoline page.
    #[cfg(feature = "bench")]
    pub static entry_SYSCALL_64_bench_floor_trampoline: u8;
    /// The same with KPTI and PCID.
    #[cfg(feature = "bench")]
    pub static entry_SYSCALL_64_bench_floor_trampoline_pcid: u8;
    /// The SYSRET tails (the per-CPU header's `sysret_tail`): without KPTI,
    /// with KPTI, with KPTI and PCID.
    pub static entry_syscall_64_sysret_nokpti: u8;
    /// See [`entry_syscall_64_sysret_nokpti`].
    pub static entry_syscall_64_sysret_kpti: u8;
    /// See [`entry_syscall_64_sysret_nokpti`].
    pub static entry_syscall_64_sysret_pcid: u8;
    /// CSTAR: refuses SYSCALL from 32-bit compatibility mode with -ENOSYS.
    pub static entry_SYSCALL_compat: u8;
    /// The trampoline page as linked (each CPU runs its own alias of it).
    pub static entry_trampoline_page: u8;
    /// LSTAR with KPTI, relative to the trampoline page.
    pub static entry_SYSCALL_64_trampoline: u8;
    /// LSTAR with KPTI and PCID, relative to the trampoline page.
    pub static entry_SYSCALL_64_trampoline_pcid: u8;
    /// Where a new user task starts (the return address of its first switch).
    pub static task_first_entry: u8;
    /// Where a new kernel thread starts (R12 = function, R13 = argument).
    pub static task_kernel_entry: u8;
    /// 1 when the user-copy routines must bracket accesses with STAC/CLAC.
    pub static mut user_access_uses_stac: u8;

    /// The AP trampoline page (copied to `AP_TRAMPOLINE_PHYS`).
    pub static ap_trampoline_start: u8;
    /// End of the AP trampoline code and parameters.
    pub static ap_trampoline_end: u8;
    /// AP parameter: CR3 (below 4 GiB).
    pub static ap_param_cr3: u8;
    /// AP parameter: stack top.
    pub static ap_param_stack: u8;
    /// AP parameter: the 64-bit entry function.
    pub static ap_param_entry: u8;
    /// AP parameter: the CPU index passed to the entry.
    pub static ap_param_cpu: u8;

    /// Start of the entry text (mapped into user page tables under KPTI).
    pub static __entry_text_start: u8;
    /// End of the entry text.
    pub static __entry_text_end: u8;
    /// The SYSCALL trampoline page.
    pub static __entry_trampoline_start: u8;
    /// End of the trampoline page.
    pub static __entry_trampoline_end: u8;

    /// Start of the image in physical memory (the multiboot `load_addr`).
    pub static __image_phys_start: u8;
    /// End of the kernel image in physical memory (before any payload).
    pub static __image_phys_end: u8;
    /// The multiboot header (its `load_end_addr` covers the payload).
    pub static multiboot_header: [u32; 8];
    /// Kernel text (`.text`, entry text and trampoline included).
    pub static __text_start: u8;
    /// End of kernel text.
    pub static __text_end: u8;
    /// Read-only data.
    pub static __rodata_start: u8;
    /// End of read-only data.
    pub static __rodata_end: u8;
    /// Data and bss.
    pub static __data_start: u8;
    /// End of data and bss.
    pub static __data_end: u8;
    /// The guard page under the boot stack (left unmapped).
    pub static __boot_stack_guard: u8;
    /// Bottom of the boot stack.
    pub static __boot_stack_bottom: u8;
    /// Top of the boot stack.
    pub static __boot_stack_top: u8;
    /// First registered boot-time test (`.libos_tests`).
    pub static __libos_tests_start: u8;
    /// End of the registered tests.
    pub static __libos_tests_end: u8;
    /// Start of the exception table (`.ex_table`).
    pub static __ex_table_start: u8;
    /// End of the exception table.
    pub static __ex_table_end: u8;
}

unsafe extern "C" {
    /// Saves the callee-saved registers and RSP into `*prev_rsp`, then
    /// continues the task whose saved RSP is `next_rsp`.
    ///
    /// # Safety
    /// Interrupts off; `next_rsp` must be a value saved by this function (or
    /// a new task's prepared stack ending in `task_first_entry`); per-CPU
    /// state, CR3 and the TSS must already describe the next task.
    pub fn switch_stacks(prev_rsp: *mut u64, next_rsp: u64);

    /// Copies `len` bytes from `src` to `dst`, one of them a user range, with
    /// SMAP opened for the copy only; returns the bytes not copied.
    ///
    /// # Safety
    /// The user range must lie in user space and the kernel range must be
    /// valid for the access; faults on the user side are fixed up.
    pub fn user_copy(dst: *mut u8, src: *const u8, len: usize) -> usize;

    /// Leaves a system call through the IRET exit instead of SYSRET: the
    /// kernel's frames above `regs` are dropped.
    ///
    /// # Safety
    /// `regs` is the running task's `pt_regs` at the top of its kernel
    /// stack, built by the SYSCALL entry (whose Rust side is the caller);
    /// interrupts are off and the exit work is done.
    pub fn entry_syscall_64_return_via_iret(regs: *mut crate::pt_regs::PtRegs) -> !;
}

/// Address of a linker or assembly symbol.
#[macro_export]
macro_rules! symbol_address {
    ($name:ident) => {
        // SAFETY: only the address of the extern static is taken; it is never read.
        unsafe { core::ptr::addr_of!($crate::symbols::$name) as u64 }
    };
}
