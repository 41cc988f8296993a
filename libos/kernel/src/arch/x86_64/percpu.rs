//! The GS base, and the per-CPU header the entry assembly reaches through it.
//!
//! While a CPU runs kernel code, its `IA32_GS_BASE` holds the address of its
//! [`PerCpuHeader`] (`entry_asm::percpu`, whose offsets are checked there at
//! compile time); while it runs user code the address waits in
//! `IA32_KERNEL_GS_BASE` until the entry code's SWAPGS brings it back
//! (Intel SDM Vol. 3A, "SWAPGS"; Linux's `arch/x86/entry/entry_64.S`).
//! Every access here is one `%gs`-relative instruction on this CPU's own
//! header. The kernel's other per-CPU state lives in `crate::percpu`
//! variables, indexed by the CPU index this header holds.

use core::arch::asm;
use core::cell::UnsafeCell;

use entry_asm::layout::MAX_CPUS;
use entry_asm::percpu::{PerCpuHeader, flags, off};
use x86_64::VirtAddr;
use x86_64::registers::model_specific::{GsBase, KernelGsBase};

/// One CPU's header, on a cache line of its own.
#[repr(C, align(64))]
struct Header(UnsafeCell<PerCpuHeader>);

// SAFETY: a header is touched only by the CPU it belongs to: the entry
// assembly and the accessors below reach it through that CPU's GS base
// (other CPUs never hold a reference to it), and `install` writes it before
// that CPU's GS base points at it.
unsafe impl Sync for Header {}

/// The boot CPU's header (the others are allocated as they come up).
static BOOT_HEADER: Header = Header(UnsafeCell::new(PerCpuHeader {
    self_ptr: 0,
    top_of_stack: 0,
    user_rsp_scratch: 0,
    entry_stack_top: 0,
    entry_flags: 0,
    user_pcid_flush_pending: 0,
    cpu: 0,
    current_thread_flags: 0,
    current_tgid: 0,
    sysret_tail: 0,
    syscall_body: 0,
    #[cfg(feature = "testing")]
    last_kernel_cr3: 0,
    #[cfg(feature = "testing")]
    last_user_cr3: 0,
}));

/// Gives CPU `index` (the running CPU) its header and points its GS base at
/// it (the inactive, user GS base at 0).
///
/// # Safety
/// Once per CPU, on that CPU, with interrupts off and before anything reads
/// per-CPU state on it; `index` is the CPU's own, below `MAX_CPUS`.
pub unsafe fn install(index: usize) {
    assert!(index < MAX_CPUS, "CPU index {index} beyond MAX_CPUS");
    let header: &'static Header = if index == 0 {
        &BOOT_HEADER
    } else {
        alloc::boxed::Box::leak(alloc::boxed::Box::new(Header(UnsafeCell::new(PerCpuHeader::default()))))
    };
    let ptr = header.0.get();
    // SAFETY: no CPU's GS base points at this header yet: it is ours.
    unsafe {
        (*ptr).self_ptr = ptr as u64;
        (*ptr).cpu = index as u64;
        // Until the scheduler gives the CPU its first task: a word no one
        // else uses (the exit-work test and `set_need_resched` need one).
        (*ptr).current_thread_flags = crate::sched::thread_flags::NO_THREAD.word() as *const _ as u64;
    }
    GsBase::write(VirtAddr::new(ptr as u64));
    KernelGsBase::write(VirtAddr::new(0));
}

/// Reads a word of this CPU's header.
macro_rules! read_header {
    ($offset:expr) => {{
        let value: u64;
        // SAFETY: GS points at this CPU's header (installed before any
        // kernel code that calls this runs); the load has no other effect.
        unsafe {
            asm!("mov {v}, qword ptr gs:[{o}]", v = out(reg) value, o = const $offset,
                 options(nostack, readonly, preserves_flags))
        };
        value
    }};
}

/// Writes a word of this CPU's header.
macro_rules! write_header {
    ($offset:expr, $value:expr) => {{
        let value: u64 = $value;
        // SAFETY: GS points at this CPU's header; the word written is one
        // the entry assembly reads only on this CPU.
        unsafe {
            asm!("mov qword ptr gs:[{o}], {v}", v = in(reg) value, o = const $offset,
                 options(nostack, preserves_flags))
        };
    }};
}

/// The running CPU's index (0 for the boot CPU, then in bring-up order).
#[inline(always)]
pub fn cpu_index() -> usize {
    read_header!(off::CPU) as usize
}

/// The address of this CPU's header (its GS base; the tests read it).
#[cfg(feature = "hooks")]
pub fn header_address() -> u64 {
    read_header!(off::SELF_PTR)
}

/// Sets the top of the running task's kernel stack (where entries from
/// ring 3 put `pt_regs`).
pub fn set_top_of_stack(top: u64) {
    write_header!(off::TOP_OF_STACK, top);
}

/// Sets the top of this CPU's entry stack.
pub fn set_entry_stack_top(top: u64) {
    write_header!(off::ENTRY_STACK_TOP, top);
}

/// Sets the entry-path flags (KPTI, PCID) and the SYSRET tail that fits
/// them.
pub fn set_entry_flags(kpti: bool, pcid: bool) {
    let mut f = 0;
    if kpti {
        f |= flags::KPTI;
    }
    if pcid {
        f |= flags::PCID;
    }
    write_header!(off::ENTRY_FLAGS, f);
    let tail = match (kpti, pcid) {
        (false, _) => entry_asm::symbol_address!(entry_syscall_64_sysret_nokpti),
        (true, false) => entry_asm::symbol_address!(entry_syscall_64_sysret_kpti),
        (true, true) => entry_asm::symbol_address!(entry_syscall_64_sysret_pcid),
    };
    write_header!(off::SYSRET_TAIL, tail);
}

/// Sets what the SYSCALL entry calls with the complete `pt_regs` (the
/// address of an `extern "C" fn(&mut PtRegs)` that returns with interrupts
/// off, or leaves through the IRET exit: `trap::syscall::body`).
pub fn set_syscall_body(body: u64) {
    write_header!(off::SYSCALL_BODY, body);
}

/// Makes `flags` (the address of the running thread's flags word, which
/// must stay valid while the thread runs here) and `tgid` this CPU's
/// current thread's, for the return to ring 3 and `getpid`. Called at every
/// task switch, with interrupts off.
pub fn set_current_thread(flags: *const core::sync::atomic::AtomicU32, tgid: u32) {
    write_header!(off::CURRENT_THREAD_FLAGS, flags as u64);
    write_header!(off::CURRENT_TGID, tgid as u64);
}

/// The running thread's flags word (what `set_current_thread` was given).
/// Interrupts must be off, or the caller must only use the word for the
/// thread it runs as (a task switch changes the answer, not the task).
#[inline(always)]
pub fn current_thread_flags() -> *const core::sync::atomic::AtomicU32 {
    read_header!(off::CURRENT_THREAD_FLAGS) as *const core::sync::atomic::AtomicU32
}

/// The running thread's process id (0 for a kernel task): one load, right
/// for the caller even if it is preempted right after (the value belongs
/// to whichever thread runs the instruction).
#[inline(always)]
pub fn current_tgid() -> u32 {
    read_header!(off::CURRENT_TGID) as u32
}

/// The entry-path flags (read by the test hooks).
#[cfg(feature = "hooks")]
pub fn entry_flags() -> u64 {
    read_header!(off::ENTRY_FLAGS)
}

/// Marks that the next return to ring 3 must flush the user ASID.
pub fn set_user_flush_pending() {
    write_header!(off::USER_PCID_FLUSH_PENDING, 1);
}

/// Whether a user-ASID flush is pending (read by the test hooks).
#[cfg(feature = "hooks")]
pub fn user_flush_pending() -> bool {
    read_header!(off::USER_PCID_FLUSH_PENDING) != 0
}

/// The CR3 values the entry and exit code last wrote (kernel, user).
#[cfg(feature = "testing")]
pub fn last_cr3_writes() -> (u64, u64) {
    (read_header!(off::LAST_KERNEL_CR3), read_header!(off::LAST_USER_CR3))
}
