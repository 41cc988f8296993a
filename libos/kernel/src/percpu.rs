//! Per-CPU variables, each declared by the module that owns it.
//!
//! ```ignore
//! per_cpu! {
//!     /// This CPU's run queue and current task.
//!     static SCHED: CpuSched = CpuSched::new();
//! }
//! SCHED.this().need_resched.load(Ordering::Acquire);   // the running CPU's
//! SCHED.of(cpu).map(|s| s.runqueue.lock().len());       // another CPU's
//! ```
//!
//! A [`PerCpu<T>`] holds the boot CPU's value in the static itself and a
//! pointer per CPU index; the other CPUs' values are allocated when they
//! come up ([`init_cpu`], through the registry each `per_cpu!` adds to the
//! `.percpu_vars` link section), so adding a per-CPU variable is one
//! declaration, in its module. The running CPU's index is one `%gs` load
//! (`arch::x86_64::percpu`), the value one more (Linux's
//! `DEFINE_PER_CPU`/`this_cpu_ptr`, `include/linux/percpu-defs.h`, with an
//! index instead of an offset). Values must be `Sync`: a value's type says,
//! in its `unsafe impl Sync` or through atomics and locks, which of its
//! fields other CPUs touch.
//!
//! The part the entry assembly reads is not here but in the per-CPU header
//! (`entry_asm::percpu`, layout checked at compile time).

use core::sync::atomic::{AtomicPtr, AtomicU64, AtomicUsize, Ordering};

use entry_asm::layout::MAX_CPUS;

pub use crate::arch::x86_64::percpu::cpu_index;

/// One value of `T` per CPU. Declare it with [`per_cpu!`](crate::per_cpu).
pub struct PerCpu<T: Sync + 'static> {
    /// The boot CPU's value.
    boot: T,
    /// Each CPU's value, by index (set before that CPU runs kernel code).
    slots: [AtomicPtr<T>; MAX_CPUS],
    /// Makes the value of a CPU that comes up.
    make: fn() -> T,
}

impl<T: Sync + 'static> PerCpu<T> {
    /// A variable whose boot CPU value is `boot` and whose other CPUs start
    /// from `make()` (the same expression: `per_cpu!` writes both).
    #[doc(hidden)]
    pub const fn new(boot: T, make: fn() -> T) -> PerCpu<T> {
        PerCpu { boot, slots: [const { AtomicPtr::new(core::ptr::null_mut()) }; MAX_CPUS], make }
    }

    /// The running CPU's value.
    ///
    /// A reference held across a switch to another task may end up used
    /// on another CPU; that is sound (`T: Sync`), and code for which it
    /// matters holds interrupts off, as the scheduler does.
    #[inline(always)]
    pub fn this(&self) -> &T {
        let cpu = cpu_index();
        // SAFETY: the running CPU's index is below MAX_CPUS (checked when
        // it was installed), and `init_cpu` filled its slot, with a value
        // that lives forever, before the CPU ran anything that gets here.
        unsafe { &*self.slots.get_unchecked(cpu).load(Ordering::Relaxed) }
    }

    /// CPU `cpu`'s value, if that CPU has come up.
    pub fn of(&self, cpu: usize) -> Option<&T> {
        let ptr = self.slots.get(cpu)?.load(Ordering::Acquire);
        // SAFETY: a non-null slot points at a value that lives forever.
        (!ptr.is_null()).then(|| unsafe { &*ptr })
    }

    /// Fills CPU `cpu`'s slot (through the registry, from `init_cpu`).
    #[doc(hidden)]
    pub fn allocate(&'static self, cpu: usize) {
        let value: &'static T =
            if cpu == 0 { &self.boot } else { alloc::boxed::Box::leak(alloc::boxed::Box::new((self.make)())) };
        self.slots[cpu].store(value as *const T as *mut T, Ordering::Release);
    }
}

/// Declares per-CPU variables: `static NAME: T = <const expression>;`, as
/// many as wanted, each with its docs and visibility. `T` must be `Sync`.
#[macro_export]
macro_rules! per_cpu {
    ($($(#[$attr:meta])* $vis:vis static $name:ident: $ty:ty = $init:expr;)+) => {$(
        $(#[$attr])*
        $vis static $name: $crate::percpu::PerCpu<$ty> = $crate::percpu::PerCpu::new($init, || $init);
        const _: () = {
            /// Fills this variable's slot for a CPU that comes up.
            #[used]
            #[unsafe(link_section = ".percpu_vars")]
            static REGISTER: fn(usize) = |cpu| $name.allocate(cpu);
        };
    )+};
}

unsafe extern "C" {
    /// The registry `per_cpu!` fills (`.percpu_vars`, gathered by the linker
    /// script between these two symbols).
    static __percpu_vars_start: u8;
    static __percpu_vars_end: u8;
}

/// The allocators of every per-CPU variable.
fn registry() -> &'static [fn(usize)] {
    let start = &raw const __percpu_vars_start as usize;
    let end = &raw const __percpu_vars_end as usize;
    let count = (end - start) / core::mem::size_of::<fn(usize)>();
    // SAFETY: the linker script gathers only the `fn(usize)` statics of
    // `per_cpu!` (8 bytes each, 8-byte aligned) between the two symbols.
    unsafe { core::slice::from_raw_parts(start as *const fn(usize), count) }
}

/// How many CPUs have per-CPU data (the highest index plus one).
static CPU_COUNT: AtomicUsize = AtomicUsize::new(0);
/// The CPUs that run tasks, bit per index (Linux's `cpu_online_mask`).
static ONLINE: AtomicU64 = AtomicU64::new(0);

/// Sets up CPU `index`'s per-CPU data and points its GS base at its header:
/// the first thing a CPU does (the boot CPU at the top of `kernel_main`,
/// before the heap exists: its values are the statics' own).
///
/// # Safety
/// Once per CPU, on that CPU, with interrupts off, `index` its own and
/// below `MAX_CPUS`.
pub unsafe fn init_cpu(index: usize) {
    // The header first: from here on the CPU knows its index (a report
    // printed while the values are allocated names it).
    // SAFETY: as this function's contract.
    unsafe { crate::arch::x86_64::percpu::install(index) };
    for allocate in registry() {
        allocate(index);
    }
    CPU_COUNT.fetch_max(index + 1, Ordering::AcqRel);
}

/// How many CPUs have per-CPU data.
pub fn cpu_count() -> usize {
    CPU_COUNT.load(Ordering::Acquire)
}

/// Marks this CPU as running tasks.
pub fn set_online() {
    ONLINE.fetch_or(1 << cpu_index(), Ordering::AcqRel);
}

/// The CPUs that run tasks, bit per index.
pub fn online_mask() -> u64 {
    ONLINE.load(Ordering::Acquire)
}

/// Whether CPU `cpu` runs tasks.
pub fn is_online(cpu: usize) -> bool {
    cpu < 64 && online_mask() & (1 << cpu) != 0
}
