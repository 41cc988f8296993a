//! A task: one thread of execution with its own kernel stack.

use alloc::sync::Arc;
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, AtomicI8, AtomicI32, AtomicU8, AtomicU32, AtomicU64, AtomicUsize, Ordering};

use entry_asm::hw::{rflags, selector};
use entry_asm::layout::TOP_OF_KERNEL_STACK_PADDING;
use entry_asm::pt_regs::PtRegs;
use entry_asm::symbol_address;

use super::thread_flags::ThreadFlags;
use crate::arch::x86_64::xstate::ExtendedState;
use crate::mm::stack::{self, KernelStack};
use crate::process::Process;
use crate::signal::ThreadSignals;
use crate::sync::SpinLock;
use libos_abi::abi_types::prctl_option::TASK_COMM_LEN;

/// Where a task is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum TaskState {
    /// On a CPU right now.
    Running = 0,
    /// In a run queue.
    Runnable = 1,
    /// Waiting for something (not in any run queue).
    Blocked = 2,
    /// Finished; freed once no CPU uses its stack.
    Dead = 3,
}

static NEXT_TID: AtomicU32 = AtomicU32::new(1);

/// Saved state of a task that is not running.
#[derive(Debug, Default)]
pub struct SavedContext {
    /// Kernel RSP at `switch_stacks`.
    pub rsp: u64,
    /// The user's FS base (thread-local storage).
    pub fs_base: u64,
    /// The user's GS base.
    pub gs_base: u64,
    /// Its x87/SSE/AVX registers (a task that runs app code; kernel tasks
    /// have none and never touch them).
    pub xstate: Option<ExtendedState>,
}

/// A thread's name (Linux's `comm`): up to 15 bytes, NUL-padded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ThreadName([u8; TASK_COMM_LEN]);

impl ThreadName {
    /// The first 15 bytes of `bytes` (up to a NUL), as `PR_SET_NAME` keeps.
    pub fn new(bytes: &[u8]) -> ThreadName {
        let mut name = [0u8; TASK_COMM_LEN];
        let len = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len()).min(TASK_COMM_LEN - 1);
        name[..len].copy_from_slice(&bytes[..len]);
        ThreadName(name)
    }

    /// The NUL-padded bytes, as `PR_GET_NAME` returns them.
    pub fn bytes(&self) -> &[u8; TASK_COMM_LEN] {
        &self.0
    }

    /// The name as text (up to the first byte that is not UTF-8).
    pub fn as_str(&self) -> &str {
        let len = self.0.iter().position(|&b| b == 0).unwrap_or(TASK_COMM_LEN);
        match core::str::from_utf8(&self.0[..len]) {
            Ok(s) => s,
            // SAFETY: the bytes up to `valid_up_to` are valid UTF-8.
            Err(e) => unsafe { core::str::from_utf8_unchecked(&self.0[..e.valid_up_to()]) },
        }
    }
}

/// One thread.
pub struct Task {
    /// Thread id (Linux's tid; the first thread's tid is its process's pid).
    pub tid: u32,
    /// The app it belongs to; `None` for the kernel's own per-CPU tasks.
    pub process: Option<Arc<Process>>,
    /// Its name (`prctl(PR_SET_NAME)`), for reports.
    pub name: SpinLock<ThreadName>,
    /// Its kernel stack, owned here so it is freed with the task (`None`:
    /// it runs on a CPU's boot stack).
    _stack: Option<KernelStack>,
    /// Top of its kernel stack; `pt_regs` of its user context sit right below.
    pub stack_top: u64,
    state: AtomicU8,
    /// Its flags word: exit work (reschedule, pending kill...), tested once
    /// on every return to ring 3 (`sched::thread_flags`).
    pub flags: ThreadFlags,
    /// CPUs the task may run on (bit per CPU index).
    pub affinity: AtomicU64,
    /// The CPU it last ran on.
    pub last_cpu: AtomicUsize,
    /// A CPU's idle task: never queued; runs when nothing else can.
    pub is_idle: bool,
    /// User address to clear and futex-wake when the thread exits
    /// (`CLONE_CHILD_CLEARTID`, `set_tid_address`); 0 for none.
    pub clear_child_tid: AtomicU64,
    /// User address of the thread's robust futex list head
    /// (`set_robust_list`), walked when it exits; 0 for none.
    pub robust_list: AtomicU64,
    /// Its nice value, -20..=19 (`setpriority`; kept and reported, not
    /// weighed by the scheduler).
    pub nice: AtomicI8,
    /// The user address of the futex it is queued on (`sched::futex`;
    /// changed only under that futex's bucket lock and the new one's, by a
    /// requeue), meaningful while it waits on one.
    pub(crate) futex_at: AtomicU64,
    /// The CPU time it has run.
    pub cpu_time: super::cpu_time::CpuTime,
    /// The code it passed to `exit` (the app's status if it is the last
    /// thread to end and nothing decided the status before).
    pub exit_code: AtomicI32,
    /// Its blocked mask, own pending signals and alternate stack (lock
    /// after its process's `signals`).
    pub signals: SpinLock<ThreadSignals>,
    /// True while some CPU runs on this task's stack (until the switch away
    /// from it has finished), so no other CPU switches to it before.
    pub(crate) on_cpu: AtomicBool,
    /// Saved registers while not running (touched only by the scheduler on
    /// the CPU that switches it in or out, with interrupts off).
    pub(crate) context: UnsafeCell<SavedContext>,
}

// SAFETY: `context` is accessed only by its creator before the task first
// runs (clone sets the child's TLS) and then by the scheduler of the CPU
// running or switching the task, with interrupts off (see sched); the
// other fields other CPUs touch are atomics, a lock (`name`) or immutable.
unsafe impl Sync for Task {}
// SAFETY: as above.
unsafe impl Send for Task {}

impl Task {
    /// A task with nothing of an app: the fields every constructor starts
    /// from. `saved_rsp` is where its first switch resumes; `running` says
    /// whether a CPU runs it already (its boot context).
    fn blank(stack: Option<KernelStack>, stack_top: u64, saved_rsp: u64, cpu: usize, running: bool) -> Task {
        Task {
            tid: 0,
            process: None,
            name: SpinLock::new(ThreadName::new(b"kernel")),
            _stack: stack,
            stack_top,
            affinity: AtomicU64::new(1 << cpu),
            last_cpu: AtomicUsize::new(cpu),
            is_idle: false,
            state: AtomicU8::new(if running { TaskState::Running } else { TaskState::Runnable } as u8),
            flags: ThreadFlags::new(),
            clear_child_tid: AtomicU64::new(0),
            robust_list: AtomicU64::new(0),
            nice: AtomicI8::new(0),
            futex_at: AtomicU64::new(0),
            cpu_time: super::cpu_time::CpuTime::new(),
            exit_code: AtomicI32::new(0),
            signals: SpinLock::new(ThreadSignals::default()),
            on_cpu: AtomicBool::new(running),
            context: UnsafeCell::new(SavedContext { rsp: saved_rsp, fs_base: 0, gs_base: 0, xstate: None }),
        }
    }

    /// The task for the code a CPU is already running on its boot stack.
    pub fn for_boot_context(stack_top: u64, cpu: usize, is_idle: bool) -> Task {
        Task { is_idle, ..Task::blank(None, stack_top, 0, cpu, true) }
    }

    /// A new user thread of `process` that will enter ring 3 at `rip` with
    /// stack `rsp` and the given argument registers, when first scheduled.
    pub fn new_user(
        process: Arc<Process>,
        tid: Option<u32>,
        rip: u64,
        rsp: u64,
        init: impl FnOnce(&mut PtRegs),
    ) -> Option<Task> {
        let kstack = KernelStack::new(stack::DEFAULT_PAGES)?;
        // Its FPU/SIMD registers start in their initial state (not the
        // creator's, unlike Linux's clone, which copies them).
        let xstate = ExtendedState::initial()?;
        // pt_regs sit below the padding, so the SYSCALL entry's call into
        // Rust finds RSP aligned (entry_asm::layout).
        let top = kstack.top() - TOP_OF_KERNEL_STACK_PADDING;
        let regs_addr = top - PtRegs::SIZE as u64;
        let mut regs = PtRegs {
            rip,
            cs: selector::USER_CS as u64,
            rflags: rflags::IF | rflags::FIXED,
            rsp,
            ss: selector::USER_DS as u64,
            orig_rax: u64::MAX,
            ..PtRegs::default()
        };
        init(&mut regs);
        // The first switch to the task pops six callee-saved registers and
        // returns into task_first_entry with RSP = its pt_regs.
        let frame_addr = regs_addr - 7 * 8;
        // SAFETY: the stack is fresh, mapped and ours; both writes are inside it.
        unsafe {
            core::ptr::write(regs_addr as *mut PtRegs, regs);
            let frame = frame_addr as *mut u64;
            for i in 0..6 {
                frame.add(i).write(0);
            }
            frame.add(6).write(symbol_address!(task_first_entry));
        }
        let cpu = crate::percpu::cpu_index();
        let mut blank = Task::blank(Some(kstack), top, frame_addr, cpu, false);
        blank.context.get_mut().xstate = Some(xstate);
        Some(Task {
            tid: tid.unwrap_or_else(|| NEXT_TID.fetch_add(1, Ordering::Relaxed)),
            name: SpinLock::new(ThreadName::new(process.name.as_bytes())),
            process: Some(process),
            affinity: AtomicU64::new(u64::MAX),
            ..blank
        })
    }

    /// A kernel thread running `func(arg)` on `cpu` only (used for the
    /// boot CPU's idle task).
    pub fn new_kernel(func: extern "C" fn(u64) -> !, arg: u64, cpu: usize, is_idle: bool) -> Option<Task> {
        let kstack = KernelStack::new(stack::DEFAULT_PAGES)?;
        let top = kstack.top();
        // The first switch pops r15, r14, r13 (= arg), r12 (= func), rbx,
        // rbp, then returns into task_kernel_entry.
        let frame_addr = top - 8 * 8;
        // SAFETY: the stack is fresh, mapped and ours.
        unsafe {
            let frame = frame_addr as *mut u64;
            let words = [0, 0, arg, func as *const () as u64, 0, 0, symbol_address!(task_kernel_entry)];
            for (i, w) in words.iter().enumerate() {
                frame.add(i).write(*w);
            }
        }
        Some(Task { is_idle, ..Task::blank(Some(kstack), top, frame_addr, cpu, false) })
    }

    /// Whether the task may run on `cpu`.
    pub fn may_run_on(&self, cpu: usize) -> bool {
        cpu < 64 && self.affinity.load(Ordering::Relaxed) & (1 << cpu) != 0
    }

    /// A fresh thread id.
    pub fn allocate_tid() -> u32 {
        NEXT_TID.fetch_add(1, Ordering::Relaxed)
    }

    /// The task's user registers (valid while it is in the kernel on
    /// behalf of ring 3, or before it first runs).
    pub fn user_regs(&self) -> *mut PtRegs {
        (self.stack_top - PtRegs::SIZE as u64) as *mut PtRegs
    }

    /// Its state.
    pub fn state(&self) -> TaskState {
        match self.state.load(Ordering::Acquire) {
            0 => TaskState::Running,
            1 => TaskState::Runnable,
            2 => TaskState::Blocked,
            _ => TaskState::Dead,
        }
    }

    /// Sets its state.
    pub fn set_state(&self, s: TaskState) {
        self.state.store(s as u8, Ordering::Release);
    }

    /// Moves Blocked -> Running: the task itself gives up a wait before it
    /// slept; false if a waker made it runnable (and queued it) first.
    pub fn try_resume(&self) -> bool {
        self.state
            .compare_exchange(TaskState::Blocked as u8, TaskState::Running as u8, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// Moves Blocked -> Runnable; false if it was not blocked.
    pub fn try_unblock(&self) -> bool {
        self.state
            .compare_exchange(TaskState::Blocked as u8, TaskState::Runnable as u8, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }
}
