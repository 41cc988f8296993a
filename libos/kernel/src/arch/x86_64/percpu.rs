//! Per-CPU data, reached through GS.
//!
//! While a CPU runs kernel code, its `IA32_GS_BASE` holds the address of
//! its [`PerCpu`]; `%gs:0` holds that same address (the header's
//! `self_ptr`), so Rust finds the structure with one load. The header at the
//! start is the part the entry assembly uses (`entry_asm::percpu`); its
//! offsets are checked there at compile time. SWAPGS exchanges the kernel's
//! GS base with the user's on every ring change.

use core::arch::asm;
use core::cell::{Cell, UnsafeCell};
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering};

use entry_asm::layout::MAX_CPUS;
use entry_asm::percpu::{PerCpuHeader, flags};
use x86_64::VirtAddr;
use x86_64::registers::model_specific::{GsBase, KernelGsBase};

/// The data one CPU keeps for itself. Cache-line aligned so that CPUs never
/// share a line on the syscall path.
#[repr(C, align(64))]
pub struct PerCpu {
    /// Read and written by the entry assembly through `%gs:`.
    header: UnsafeCell<PerCpuHeader>,
    /// This CPU's index: 0 for the boot CPU, then in bring-up order.
    pub index: usize,
    /// Local APIC id.
    pub apic_id: Cell<u32>,
    /// The boot-time test recovery point armed on this CPU, or null.
    #[cfg(feature = "hooks")]
    pub recovery: Cell<*mut crate::testing::recovery::Recovery>,
    /// Nesting depth of fatal-report printing (a fault while reporting a fault).
    pub fatal_depth: Cell<u32>,
    /// The scheduler's per-CPU state.
    pub sched: crate::sched::CpuSched,
    /// This CPU's timer events and time slice.
    pub timers: crate::sched::timer::CpuTimers,
    /// This CPU's entry area (set when the CPU comes up).
    pub entry_area: Cell<Option<crate::arch::x86_64::cpu_entry_area::EntryArea>>,
    /// Test interrupts handled (self-IPIs and test timer events).
    #[cfg(feature = "hooks")]
    pub test_interrupts: AtomicU64,
    /// NMIs handled.
    pub nmis: AtomicU64,
    /// Requests of other CPUs to run a function here.
    pub call: crate::smp::call::CallSlot,
    /// The CPU finished coming up and runs tasks.
    pub online: AtomicBool,
}

// SAFETY: a PerCpu is only touched by the CPU it belongs to (through GS),
// except for `index`, which never changes after creation; cross-CPU users
// go through atomics elsewhere.
unsafe impl Sync for PerCpu {}

/// The boot CPU's data (the others are allocated when they start).
static BOOT_CPU: PerCpu = PerCpu::new(0);
/// All CPUs' data, by index.
static CPUS: [AtomicPtr<PerCpu>; MAX_CPUS] = [const { AtomicPtr::new(core::ptr::null_mut()) }; MAX_CPUS];
/// How many CPUs have their per-CPU data.
static CPU_COUNT: AtomicUsize = AtomicUsize::new(0);
/// Whether the boot CPU's GS base is set (before that, `this_cpu` is the boot CPU).
static GS_READY: AtomicBool = AtomicBool::new(false);

impl PerCpu {
    const fn new(index: usize) -> PerCpu {
        PerCpu {
            header: UnsafeCell::new(PerCpuHeader {
                self_ptr: 0,
                top_of_stack: 0,
                user_rsp_scratch: 0,
                entry_stack_top: 0,
                entry_flags: 0,
                user_pcid_flush_pending: 0,
                cpu: index as u64,
                #[cfg(feature = "testing")]
                last_kernel_cr3: 0,
                #[cfg(feature = "testing")]
                last_user_cr3: 0,
            }),
            index,
            apic_id: Cell::new(0),
            #[cfg(feature = "hooks")]
            recovery: Cell::new(core::ptr::null_mut()),
            fatal_depth: Cell::new(0),
            sched: crate::sched::CpuSched::new(),
            timers: crate::sched::timer::CpuTimers::new(),
            entry_area: Cell::new(None),
            #[cfg(feature = "hooks")]
            test_interrupts: AtomicU64::new(0),
            nmis: AtomicU64::new(0),
            call: crate::smp::call::CallSlot::new(),
            online: AtomicBool::new(false),
        }
    }

    fn header(&self) -> *mut PerCpuHeader {
        self.header.get()
    }

    /// Sets the top of the running task's kernel stack (where entries from
    /// ring 3 put `pt_regs`).
    pub fn set_top_of_stack(&self, top: u64) {
        // SAFETY: see `top_of_stack`.
        unsafe { (*self.header()).top_of_stack = top };
    }

    /// Sets the top of this CPU's entry stack.
    pub fn set_entry_stack_top(&self, top: u64) {
        // SAFETY: see `top_of_stack`.
        unsafe { (*self.header()).entry_stack_top = top };
    }

    /// Sets the entry-path flags (KPTI, PCID).
    pub fn set_entry_flags(&self, kpti: bool, pcid: bool) {
        let mut f = 0;
        if kpti {
            f |= flags::KPTI;
        }
        if pcid {
            f |= flags::PCID;
        }
        // SAFETY: see `top_of_stack`.
        unsafe { (*self.header()).entry_flags = f };
    }

    /// The entry-path flags (read by the test hooks).
    #[cfg(feature = "hooks")]
    pub fn entry_flags(&self) -> u64 {
        // SAFETY: see `top_of_stack`.
        unsafe { (*self.header()).entry_flags }
    }

    /// Marks that the next return to ring 3 must flush the user ASID.
    pub fn set_user_flush_pending(&self) {
        // SAFETY: see `top_of_stack`.
        unsafe { (*self.header()).user_pcid_flush_pending = 1 };
    }

    /// The CR3 values the entry and exit code last wrote (kernel, user).
    #[cfg(feature = "testing")]
    pub fn last_cr3_writes(&self) -> (u64, u64) {
        // SAFETY: see `top_of_stack`.
        unsafe { ((*self.header()).last_kernel_cr3, (*self.header()).last_user_cr3) }
    }

    /// Whether a user-ASID flush is pending (read by the test hooks).
    #[cfg(feature = "hooks")]
    pub fn user_flush_pending(&self) -> bool {
        // SAFETY: see `top_of_stack`.
        unsafe { (*self.header()).user_pcid_flush_pending != 0 }
    }
}

/// The running CPU's data.
#[inline]
pub fn this_cpu() -> &'static PerCpu {
    if !GS_READY.load(Ordering::Relaxed) {
        return &BOOT_CPU;
    }
    let ptr: *const PerCpu;
    // SAFETY: GS_READY means this CPU's GS base points at its PerCpu, whose
    // first word is its own address; the load has no other effect.
    unsafe { asm!("mov {}, gs:[0]", out(reg) ptr, options(nostack, readonly, preserves_flags)) };
    // SAFETY: PerCpu structures live for the whole run (static or leaked).
    unsafe { &*ptr }
}

/// The running CPU's data, on a path where GS is known to be set up: every
/// entry from ring 3 (the syscall fast path uses it; one load).
#[inline]
pub fn this_cpu_from_user_entry() -> &'static PerCpu {
    debug_assert!(GS_READY.load(Ordering::Relaxed));
    let ptr: *const PerCpu;
    // SAFETY: ring 3 runs only after this CPU's GS base was installed; it
    // points at its PerCpu, whose first word is its own address.
    unsafe { asm!("mov {}, gs:[0]", out(reg) ptr, options(nostack, readonly, preserves_flags)) };
    // SAFETY: PerCpu structures live for the whole run (static or leaked).
    unsafe { &*ptr }
}

/// The running CPU's index.
#[inline]
pub fn cpu_index() -> usize {
    this_cpu().index
}

/// The data of CPU `index`, if it has been set up.
pub fn cpu(index: usize) -> Option<&'static PerCpu> {
    let p = CPUS.get(index)?.load(Ordering::Acquire);
    // SAFETY: non-null entries point at PerCpu structures that live forever.
    (!p.is_null()).then(|| unsafe { &*p })
}

/// How many CPUs have per-CPU data.
pub fn cpu_count() -> usize {
    CPU_COUNT.load(Ordering::Acquire)
}

/// Creates the data of the next CPU (the boot CPU's is static) and returns it.
pub fn allocate(index: usize) -> &'static PerCpu {
    assert!(index < MAX_CPUS, "CPU index {index} beyond MAX_CPUS");
    let data: &'static PerCpu =
        if index == 0 { &BOOT_CPU } else { alloc::boxed::Box::leak(alloc::boxed::Box::new(PerCpu::new(index))) };
    let ptr = data as *const PerCpu as *mut PerCpu;
    // SAFETY: nobody else knows this structure yet.
    unsafe { (*data.header()).self_ptr = ptr as u64 };
    CPUS[index].store(ptr, Ordering::Release);
    CPU_COUNT.fetch_max(index + 1, Ordering::AcqRel);
    data
}

/// Points this CPU's GS base at `data` (and the inactive, user GS base at 0).
pub fn install(data: &'static PerCpu) {
    GsBase::write(VirtAddr::new(data as *const PerCpu as u64));
    KernelGsBase::write(VirtAddr::new(0));
    if data.index == 0 {
        GS_READY.store(true, Ordering::Release);
    }
}
