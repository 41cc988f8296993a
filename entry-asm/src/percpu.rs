//! The part of the per-CPU data that the assembly reaches through `%gs`.
//!
//! Each CPU has one [`PerCpuHeader`] (the kernel's `arch::x86_64::percpu`);
//! while the CPU runs kernel code its GS base (`IA32_GS_BASE`) points at it,
//! and while it runs user code the pointer waits in `IA32_KERNEL_GS_BASE`
//! until the entry code's SWAPGS brings it back. The kernel's other per-CPU
//! state lives in per-CPU variables, indexed by the header's `cpu`.

use core::mem::offset_of;

/// Entry-path flags in [`PerCpuHeader::entry_flags`].
pub mod flags {
    /// Kernel page-table isolation is on: switch CR3 on every ring change.
    pub const KPTI: u64 = 1 << 0;
    /// PCID is on: CR3 writes carry ASIDs and the NOFLUSH bit.
    pub const PCID: u64 = 1 << 1;
}

/// The assembly-visible head of the per-CPU data.
#[repr(C)]
#[derive(Debug, Default)]
pub struct PerCpuHeader {
    /// Address of this structure (`%gs:0`; the tests compare it with the GS
    /// base).
    pub self_ptr: u64,
    /// Top of the running task's kernel stack (its `pt_regs` sit right below).
    pub top_of_stack: u64,
    /// Where the non-KPTI SYSCALL entry stashes the user RSP.
    pub user_rsp_scratch: u64,
    /// Top of this CPU's entry stack (in its entry area).
    pub entry_stack_top: u64,
    /// [`flags`] for the entry path.
    pub entry_flags: u64,
    /// Nonzero when the next return to ring 3 must flush the user ASID
    /// (Linux's `user_pcid_flush_mask`, one ASID per address space here).
    pub user_pcid_flush_pending: u64,
    /// This CPU's index (0 = the boot CPU).
    pub cpu: u64,
    /// Address of the running thread's flags word (an `AtomicU32`, the
    /// kernel's `sched::thread_flags::ThreadFlags`, Linux's TIF flags): the
    /// return to ring 3 tests it once for exit work. Changed with the
    /// running task at every switch.
    pub current_thread_flags: u64,
    /// The running thread's process id (0 for a kernel task): `getpid`
    /// reads it with one instruction, without touching the task.
    pub current_tgid: u64,
    /// Where the SYSCALL exit jumps once the registers are popped: the
    /// SYSRET tail for this CPU's entry configuration
    /// (`entry_syscall_64_sysret_{kpti,pcid,nokpti}` in syscall_64.s),
    /// chosen once when the CPU comes up, as Linux patches its exit path
    /// with ALTERNATIVE.
    pub sysret_tail: u64,
    /// What the SYSCALL entry calls with the complete `pt_regs`: the
    /// kernel's `do_syscall_64`, or its variant that prints every call
    /// when the command line asks for a trace. Chosen once at boot, so the
    /// common path tests nothing for it (Linux patches such rarely
    /// changing branches with static keys).
    pub syscall_body: u64,
    /// Test images only: the last value the entry code wrote to CR3 when
    /// entering the kernel (NOFLUSH bit included, which CR3 does not read
    /// back): what the KPTI tests check KPTI and PCID with.
    #[cfg(feature = "testing")]
    pub last_kernel_cr3: u64,
    /// Test images only: the last value the exit code wrote to CR3 when
    /// returning to ring 3.
    #[cfg(feature = "testing")]
    pub last_user_cr3: u64,
}

/// Offsets of the [`PerCpuHeader`] fields, for `%gs:` operands.
#[allow(missing_docs)]
pub mod off {
    use super::*;
    pub const SELF_PTR: usize = offset_of!(PerCpuHeader, self_ptr);
    pub const TOP_OF_STACK: usize = offset_of!(PerCpuHeader, top_of_stack);
    pub const USER_RSP_SCRATCH: usize = offset_of!(PerCpuHeader, user_rsp_scratch);
    pub const ENTRY_STACK_TOP: usize = offset_of!(PerCpuHeader, entry_stack_top);
    pub const ENTRY_FLAGS: usize = offset_of!(PerCpuHeader, entry_flags);
    pub const USER_PCID_FLUSH_PENDING: usize = offset_of!(PerCpuHeader, user_pcid_flush_pending);
    pub const CPU: usize = offset_of!(PerCpuHeader, cpu);
    pub const CURRENT_THREAD_FLAGS: usize = offset_of!(PerCpuHeader, current_thread_flags);
    pub const CURRENT_TGID: usize = offset_of!(PerCpuHeader, current_tgid);
    pub const SYSRET_TAIL: usize = offset_of!(PerCpuHeader, sysret_tail);
    pub const SYSCALL_BODY: usize = offset_of!(PerCpuHeader, syscall_body);
    #[cfg(feature = "testing")]
    pub const LAST_KERNEL_CR3: usize = offset_of!(PerCpuHeader, last_kernel_cr3);
    #[cfg(feature = "testing")]
    pub const LAST_USER_CR3: usize = offset_of!(PerCpuHeader, last_user_cr3);
    // Production images have no records: the assembly assembles no store
    // (see `RECORD_CR3` in entry-asm/src/lib.rs), these offsets go unused.
    #[cfg(not(feature = "testing"))]
    pub const LAST_KERNEL_CR3: usize = 0;
    #[cfg(not(feature = "testing"))]
    pub const LAST_USER_CR3: usize = 0;
}

const _: () = assert!(off::SELF_PTR == 0, "Rust reads the per-CPU pointer at %gs:0");
