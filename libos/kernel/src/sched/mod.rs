//! The scheduler: per-CPU run queues of tasks, and switching between them.
//!
//! A CPU runs its `current` task until that task blocks, exits, yields, or
//! is preempted on its way back to ring 3. Switching saves the callee-saved
//! registers on the old task's kernel stack (`switch_stacks`), points the
//! CPU's entry state at the new task's stack (per-CPU `top_of_stack` for
//! interrupts, TSS.RSP1 for the SYSCALL trampoline), loads the new task's
//! address space if it differs, and swaps the user FS base and the app's
//! FPU/SIMD registers (eagerly, `arch::x86_64::xstate`). A task that
//! died is dropped only once the CPU has left its stack.
//!
//! Every CPU has an idle task that runs when nothing else can: it halts
//! with interrupts on until an interrupt (a reschedule IPI from a CPU that
//! queued a task here, a timer) makes something runnable. A task runs only
//! on CPUs its affinity allows; a task made runnable goes to the CPU it last
//! ran on if allowed, else the least loaded allowed CPU.

pub mod cpu_time;
pub mod futex;
pub mod robust_list;
pub mod sleep;
pub mod task;
pub mod thread_flags;
pub mod timer;
pub mod wait;

use alloc::collections::VecDeque;
use alloc::sync::Arc;
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use entry_asm::pt_regs::PtRegs;
use x86_64::VirtAddr;
use x86_64::registers::model_specific::{FsBase, KernelGsBase};

use crate::arch::x86_64::{apic, gdt, interrupts, percpu as entry_percpu, vectors};
use crate::mm::kernel_space;
use crate::percpu::{self, cpu_index};
use crate::sync::SpinLock;
use crate::{config, per_cpu, smp};
pub use task::{Task, TaskState, ThreadName};
use thread_flags::current_exit_work;

use crate::arch::x86_64::xstate::ExtendedState;

use thread_flags::bit;

per_cpu! {
    /// Each CPU's scheduler state.
    static SCHED: CpuSched = CpuSched::new();
}

/// A CPU's scheduler state.
pub struct CpuSched {
    /// The task running on this CPU.
    current: UnsafeCell<Option<Arc<Task>>>,
    /// The task this CPU just switched away from, kept alive until the
    /// switch has finished.
    previous: UnsafeCell<Option<Arc<Task>>>,
    /// This CPU's idle task.
    idle: UnsafeCell<Option<Arc<Task>>>,
    /// Tasks ready to run here.
    runqueue: SpinLock<VecDeque<Arc<Task>>>,
    /// The CPU is halted in its idle task.
    idle_now: AtomicBool,
    /// Physical address of the PML4 pair loaded in CR3 (to skip reloads).
    loaded_pml4: AtomicU64,
}

// SAFETY: `current`, `previous`, `idle` and `loaded_pml4` are touched only
// by the CPU they belong to, with interrupts off (its NMI handler reads
// `current`, for a dump, knowing a read may be torn); other CPUs touch only
// `runqueue` (a lock) and `idle_now` (an atomic).
unsafe impl Sync for CpuSched {}

impl CpuSched {
    /// Empty state.
    pub const fn new() -> CpuSched {
        CpuSched {
            current: UnsafeCell::new(None),
            previous: UnsafeCell::new(None),
            idle: UnsafeCell::new(None),
            runqueue: SpinLock::new(VecDeque::new()),
            idle_now: AtomicBool::new(false),
            loaded_pml4: AtomicU64::new(0),
        }
    }
}

impl Default for CpuSched {
    fn default() -> Self {
        Self::new()
    }
}

/// Makes the code this CPU is running (on its boot stack) its first task.
/// An AP's boot context becomes its idle task; the boot CPU's keeps
/// running `kernel_main` and gets an idle kernel thread.
pub fn init_cpu(boot_stack_top: u64) {
    let (index, cpu) = (cpu_index(), SCHED.this());
    let is_ap = index != 0;
    let boot = Arc::new(Task::for_boot_context(boot_stack_top, index, is_ap));
    let idle = if is_ap {
        boot.clone()
    } else {
        Arc::new(Task::new_kernel(idle_thread, 0, index, true).expect("no memory for the idle task"))
    };
    entry_percpu::set_current_thread(boot.flags.word(), 0);
    // SAFETY: only this CPU touches its slots, with nothing running yet.
    unsafe {
        *cpu.current.get() = Some(boot);
        *cpu.idle.get() = Some(idle);
    }
    cpu.loaded_pml4.store(kernel_space::kernel_pml4(), Ordering::Relaxed);
    percpu::set_online();
}

extern "C" fn idle_thread(_: u64) -> ! {
    idle_loop()
}

/// A CPU's idle task: run whatever becomes runnable, halt otherwise.
pub fn idle_loop() -> ! {
    loop {
        interrupts::disable_and_save();
        let cpu = SCHED.this();
        let work = !cpu.runqueue.lock().is_empty() || steal_into(cpu_index());
        if work || thread_flags::take_current(bit::NEED_RESCHED) {
            schedule();
            continue;
        }
        cpu.idle_now.store(true, Ordering::Release);
        // STI and HLT together: an interrupt arriving in between still wakes us.
        x86_64::instructions::interrupts::enable_and_hlt();
        cpu.idle_now.store(false, Ordering::Release);
    }
}

/// The running task.
pub fn current() -> Arc<Task> {
    let irqs = interrupts::disable_and_save();
    // SAFETY: this CPU's own slot, read with interrupts off.
    let t = unsafe { (*SCHED.this().current.get()).clone() }.expect("no current task");
    interrupts::restore(irqs);
    t
}

/// Calls `f` with the running task, without taking a reference count
/// (for hot paths such as `getpid`).
#[inline]
pub fn with_current<R>(f: impl FnOnce(&Task) -> R) -> R {
    let irqs = interrupts::disable_and_save();
    // SAFETY: this CPU's own slot, read with interrupts off. The slot holds
    // the running task, and a task is alive while it runs: even if it is
    // preempted inside `f` and resumes on another CPU, that CPU's slot
    // keeps it alive, so the reference stays valid for the whole call.
    let task: *const Task = unsafe { Arc::as_ptr((*SCHED.this().current.get()).as_ref().expect("no current task")) };
    interrupts::restore(irqs);
    // SAFETY: see above.
    f(unsafe { &*task })
}

/// The online CPUs a task may run on, with their scheduler state.
fn allowed_cpus(task: &Task) -> impl Iterator<Item = (usize, &'static CpuSched)> + '_ {
    (0..percpu::cpu_count())
        .filter(|&c| task.may_run_on(c) && percpu::is_online(c))
        .filter_map(|c| SCHED.of(c).map(|s| (c, s)))
}

/// How busy a CPU is: tasks waiting, plus one if it runs a task.
fn load(cpu: &CpuSched) -> usize {
    cpu.runqueue.lock().len() + usize::from(!cpu.idle_now.load(Ordering::Acquire))
}

/// Whether a CPU halts with nothing queued: the best place for a task.
/// (An idle CPU that was just sent a task still says idle until it wakes;
/// its queue says it is taken.)
fn idle_and_free(cpu: &CpuSched) -> bool {
    cpu.idle_now.load(Ordering::Acquire) && cpu.runqueue.lock().is_empty()
}

/// The CPU a runnable task should go to: the one it last ran on if that is
/// idle with nothing queued, else another such CPU it may use, else any
/// idle CPU, else its last CPU, else the least loaded it may use.
fn pick_cpu(task: &Task) -> usize {
    let last = task.last_cpu.load(Ordering::Relaxed);
    let last_ok = task.may_run_on(last) && percpu::is_online(last);
    if last_ok && SCHED.of(last).is_some_and(idle_and_free) {
        return last;
    }
    if let Some((c, _)) = allowed_cpus(task).find(|(_, p)| idle_and_free(p)) {
        return c;
    }
    if let Some((c, _)) = allowed_cpus(task).find(|(_, p)| p.idle_now.load(Ordering::Acquire)) {
        return c;
    }
    if last_ok {
        return last;
    }
    allowed_cpus(task).min_by_key(|(_, p)| load(p)).map(|(c, _)| c).unwrap_or(cpu_index())
}

/// Puts a runnable task on a run queue, and lets that CPU know.
pub fn enqueue(task: Arc<Task>) {
    debug_assert_eq!(task.state(), TaskState::Runnable);
    let target = pick_cpu(&task);
    enqueue_on(target, task);
}

/// Puts a runnable task on CPU `target`'s run queue, and lets that CPU
/// know (the caller chose the CPU; the task must be allowed to run there).
pub fn enqueue_on(target: usize, task: Arc<Task>) {
    let cpu = SCHED.of(target).expect("enqueue: no such CPU");
    cpu.runqueue.lock().push_back(task);
    if target == cpu_index() {
        notice_new_work();
    } else {
        smp::send_ipi(target, vectors::RESCHEDULE);
    }
}

/// Something was queued on this CPU: an idle CPU reschedules, a busy one
/// starts a time slice for its running task. Interrupts are off.
fn notice_new_work() {
    let cpu = SCHED.this();
    // SAFETY: this CPU's own slot (interrupts are off: lock holders and IRQ context).
    let idle = unsafe { (*cpu.current.get()).as_ref().is_none_or(|t| t.is_idle) };
    if idle {
        thread_flags::set_current(bit::NEED_RESCHED);
    } else {
        timer::update_slice();
    }
}

/// The reschedule IPI: another CPU queued a task here.
pub fn reschedule_ipi() {
    notice_new_work();
}

/// Whether tasks wait in this CPU's run queue.
pub fn tasks_waiting() -> bool {
    !SCHED.this().runqueue.lock().is_empty()
}

/// Asks for a reschedule of this CPU before its next return to ring 3
/// (the bit goes to its running thread, Linux's `resched_curr`).
/// Interrupts are off.
pub fn set_need_resched() {
    thread_flags::set_current(bit::NEED_RESCHED);
}

/// Moves one task queued on this CPU to an idle CPU it may run on;
/// returns whether it did.
pub fn push_to_idle_cpu() -> bool {
    let me = cpu_index();
    let mut rq = SCHED.this().runqueue.lock();
    for i in 0..rq.len() {
        let target = allowed_cpus(&rq[i]).find(|(c, p)| *c != me && p.idle_now.load(Ordering::Acquire));
        if let Some((target, _)) = target {
            let task = rq.remove(i).expect("index in range");
            drop(rq);
            enqueue_on(target, task);
            return true;
        }
    }
    false
}

/// An idle CPU (this one, `me`) takes a task waiting on the busiest other
/// CPU, if one may run here; returns whether it did.
fn steal_into(me: usize) -> bool {
    let victim = (0..percpu::cpu_count())
        .filter(|&c| c != me)
        .filter_map(|c| SCHED.of(c))
        .max_by_key(|p| p.runqueue.lock().len());
    let Some(victim) = victim else { return false };
    let task = {
        let mut rq = victim.runqueue.lock();
        match rq.iter().rposition(|t| t.may_run_on(me)) {
            Some(i) => rq.remove(i),
            None => None,
        }
    };
    match task {
        Some(t) => {
            SCHED.this().runqueue.lock().push_back(t);
            true
        }
        None => false,
    }
}

/// Makes a new task runnable. Whoever must know about it (its process)
/// must have been told before: from here on it may run, and even finish,
/// on another CPU.
pub fn spawn(task: Arc<Task>) {
    task.set_state(TaskState::Runnable);
    enqueue(task);
}

/// Lets other runnable tasks on this CPU run.
pub fn yield_now() {
    schedule();
}

/// Picks the next task and switches to it (or keeps running the current
/// one, if it may and nothing else is ready).
pub fn schedule() {
    let irqs = interrupts::disable_and_save();
    let (me, cpu) = (cpu_index(), SCHED.this());
    // SAFETY: this CPU's own slots, interrupts off; `current` keeps the task alive.
    let prev = unsafe { (*cpu.current.get()).clone() }.expect("no current task");
    // Whatever asked for this reschedule is answered by it (Linux's
    // clear_tsk_need_resched in __schedule).
    prev.flags.take(bit::NEED_RESCHED);
    let prev_ptr = Arc::as_ptr(&prev);
    let still_running = prev.state() == TaskState::Running && !prev.is_idle;
    let next = {
        let mut rq = cpu.runqueue.lock();
        match rq.pop_front() {
            Some(t) => Some(t),
            None if still_running && prev.may_run_on(me) => None,
            // SAFETY: this CPU's own slot.
            None => unsafe { (*cpu.idle.get()).clone() },
        }
    };
    let Some(next) = next else {
        interrupts::restore(irqs);
        return;
    };
    if still_running {
        // Preempted or yielding: back in a run queue (here or, if its
        // affinity changed, where it may run).
        prev.set_state(TaskState::Runnable);
        enqueue(prev.clone());
    }
    drop(prev);
    if Arc::as_ptr(&next) == prev_ptr {
        next.set_state(TaskState::Running);
        interrupts::restore(irqs);
        return;
    }
    switch_to(me, cpu, next);
    // Back on this task, possibly much later and on another CPU.
    finish_switch();
    interrupts::restore(irqs);
}

/// Switches this CPU (`me`, whose state is `cpu`) from its current task
/// to `next`. Interrupts are off.
fn switch_to(me: usize, cpu: &CpuSched, next: Arc<Task>) {
    // Another CPU may still be leaving `next`'s stack (it blocked there and
    // was woken here before it finished switching away).
    while next.on_cpu.load(Ordering::Acquire) {
        core::hint::spin_loop();
    }
    next.on_cpu.store(true, Ordering::Relaxed);
    next.set_state(TaskState::Running);
    next.last_cpu.store(me, Ordering::Relaxed);

    // Where the next entry from ring 3 puts its pt_regs: the entry
    // assembly's `top_of_stack`, and TSS.RSP1 for the SYSCALL trampoline.
    entry_percpu::set_top_of_stack(next.stack_top);
    gdt::set_trampoline_stack(next.stack_top);
    // A fresh slice if others wait here, none (and no timer) if not.
    timer::new_slice();

    // SAFETY: this CPU's own slots, interrupts off. The previous task stays
    // alive in `previous` until finish_switch, so its context pointer is
    // valid through the switch; `next` stays alive in `current`.
    unsafe {
        let prev = (*cpu.current.get()).take().expect("current");
        let now = crate::time::rdtsc();
        prev.cpu_time.switch_out(now);
        next.cpu_time.switch_in(now);
        load_address_space(me, cpu, &prev, &next);
        let prev_ctx = prev.context.get();
        let next_ctx = next.context.get();
        // The user's FS base is live in IA32_FS_BASE, its GS base waits in
        // IA32_KERNEL_GS_BASE (SWAPGS put it there on entry).
        (*prev_ctx).fs_base = FsBase::read().as_u64();
        (*prev_ctx).gs_base = KernelGsBase::read().as_u64();
        FsBase::write(VirtAddr::new_truncate((*next_ctx).fs_base));
        KernelGsBase::write(VirtAddr::new_truncate((*next_ctx).gs_base));
        // The app's FPU/SIMD registers, eagerly (see arch::x86_64::xstate).
        if let Some(x) = (*prev_ctx).xstate.as_mut() {
            x.save();
        }
        if let Some(x) = (*next_ctx).xstate.as_ref() {
            x.restore();
        }
        let next_rsp = (*next_ctx).rsp;
        *cpu.previous.get() = Some(prev);
        entry_percpu::set_current_thread(next.flags.word(), next.process.as_ref().map_or(0, |p| p.pid));
        *cpu.current.get() = Some(next);
        entry_asm::symbols::switch_stacks(core::ptr::addr_of_mut!((*prev_ctx).rsp), next_rsp);
    }
}

/// Ends a switch on the new task's stack: the previous task may run
/// elsewhere now, and is dropped if that was its last reference.
fn finish_switch() {
    // SAFETY: this CPU's own slot, interrupts off.
    if let Some(prev) = unsafe { (*SCHED.this().previous.get()).take() } {
        prev.on_cpu.store(false, Ordering::Release);
        drop(prev);
    }
}

/// Called by a new task on its first run (from `task_first_entry` and
/// `task_kernel_entry`).
#[unsafe(no_mangle)]
extern "C" fn schedule_tail() {
    finish_switch();
}

/// Loads the address space of `next` (or the kernel's own page table for
/// a task without one) if it is not the one in CR3 already, and keeps each
/// address space's record of the CPUs that have it loaded (for TLB
/// shootdowns). Loading another address space flushes its kernel ASID (the
/// write has no NOFLUSH bit) and marks its user ASID for a flush on the
/// next return to ring 3: a PCID may have been used by an earlier address
/// space, and this CPU may hold stale entries of this one from before.
fn load_address_space(me: usize, cpu: &CpuSched, prev: &Task, next: &Task) {
    let next_space = next.process.as_ref().map(|p| p.space());
    let (pair, cr3) = match &next_space {
        Some(s) => (s.pml4_pair(), s.kernel_cr3()),
        None => (kernel_space::kernel_pml4(), kernel_space::kernel_pml4()),
    };
    if cpu.loaded_pml4.swap(pair, Ordering::Relaxed) == pair {
        return;
    }
    if let Some(p) = &prev.process {
        p.space().set_active_on(me, false);
    }
    if let Some(s) = &next_space {
        s.set_active_on(me, true);
    }
    // SAFETY: the pair's kernel half maps the whole kernel, so execution
    // continues; the value is a PML4 page (bit 12 clear) plus a PCID that is
    // only nonzero with CR4.PCIDE on.
    unsafe { crate::arch::x86_64::cpu::write_cr3(cr3) };
    if config::get().pcid_on() && next.process.is_some() {
        entry_percpu::set_user_flush_pending();
    }
}

/// Gives the running task's process the address space `new` in place of
/// its old one (`execve`) and loads it on this CPU, as a switch would;
/// returns the old one, which this CPU no longer uses (its last reference
/// may be dropped once interrupts are on again).
pub fn replace_current_space(
    process: &crate::process::Process,
    new: Arc<crate::mm::address_space::AddressSpace>,
) -> Arc<crate::mm::address_space::AddressSpace> {
    let irqs = interrupts::disable_and_save();
    let (me, cpu) = (cpu_index(), SCHED.this());
    let (pair, cr3) = (new.pml4_pair(), new.kernel_cr3());
    new.set_active_on(me, true);
    let old = process.replace_space(new);
    old.set_active_on(me, false);
    cpu.loaded_pml4.store(pair, Ordering::Relaxed);
    // SAFETY: as in `load_address_space`: the new pair maps the kernel half.
    unsafe { crate::arch::x86_64::cpu::write_cr3(cr3) };
    if config::get().pcid_on() {
        entry_percpu::set_user_flush_pending();
    }
    interrupts::restore(irqs);
    old
}

/// Ends the running task for good (the process decides what that means
/// for the app). Never returns.
pub fn exit_current() -> ! {
    // A thread ends with interrupts on, as Linux's `do_exit` runs: its last
    // write to the app (CLONE_CHILD_CLEARTID) may fault and page in under
    // the address space's lock, which another CPU may hold across a TLB
    // shootdown that this CPU must answer.
    interrupts::enable();
    let task = current();
    // The robust futexes it still holds, then CLONE_CHILD_CLEARTID, as
    // Linux's `mm_release` orders them.
    let robust = task.robust_list.swap(0, Ordering::AcqRel);
    if robust != 0
        && let Some(p) = &task.process
        && !task.flags.killed()
    {
        robust_list::exit_robust_list(&p.space(), robust, task.tid);
    }
    // CLONE_CHILD_CLEARTID: tell a joiner (while the address space is still ours).
    let tid_addr = task.clear_child_tid.swap(0, Ordering::AcqRel);
    if tid_addr != 0
        && let Some(p) = &task.process
        && !task.flags.killed()
        && crate::mm::user_access::write_user(tid_addr, &0u32).is_ok()
    {
        futex::wake(&p.space(), tid_addr, u32::MAX, u32::MAX);
    }
    // Out of its process's list (the last thread closes the files, with
    // interrupts on: a last close may sleep), then dead.
    if let Some(p) = &task.process {
        p.thread_exited(&task);
    }
    interrupts::disable_and_save();
    task.set_state(TaskState::Dead);
    drop(task);
    schedule();
    unreachable!("a dead task was scheduled again");
}

/// Work before returning to ring 3 with `regs`: die if killed, reschedule
/// if asked, deliver a pending signal. `in_syscall`: the return is a
/// system call's (a signal may interrupt or restart it). Interrupts may be
/// on or off; they are off on return. The common case (no work) is one
/// test of the running thread's flags word ([`thread_flags`]): it runs on
/// every syscall.
#[inline]
pub fn exit_to_user_mode(regs: &mut PtRegs, in_syscall: bool) {
    interrupts::disable();
    if thread_flags::current_exit_work() != 0 {
        exit_to_user_mode_slow(regs, in_syscall);
    }
}

/// `exit_to_user_mode` when the flags word has work: loops until no
/// reschedule, kill or deliverable signal is left (the syscall exit handles
/// its own bit afterwards). A task on a CPU its affinity no longer allows
/// moves here too (its own `sched_setaffinity` normally moved it already).
/// Interrupts may be on or off; they are off on return.
#[cold]
pub fn exit_to_user_mode_slow(regs: &mut PtRegs, in_syscall: bool) {
    loop {
        interrupts::disable();
        let cpu = SCHED.this();
        // SAFETY: this CPU's own slot, interrupts off.
        let current = unsafe { (*cpu.current.get()).as_ref().expect("current") };
        if current.flags.killed() {
            exit_current();
        }
        if current.flags.take(bit::NEED_RESCHED) || !current.may_run_on(cpu_index()) {
            schedule();
            continue;
        }
        if current.flags.any(bit::SIGPENDING) {
            // One signal per round (each nests a frame), then the checks
            // again: delivery may have ended the app or enabled interrupts.
            crate::signal::delivery::do_signal(regs, in_syscall);
            if current_exit_work() & (bit::SIGPENDING | bit::NEED_RESCHED | bit::KILL_PENDING) != 0 {
                continue;
            }
        }
        break;
    }
}

/// The running task's saved extended state, for `f` to read or replace,
/// with interrupts off (so no switch saves over it meanwhile). Since the
/// switch is eager, the CPU's registers are the task's own: `f` saves them
/// into the buffer before reading it, and loads the buffer after changing
/// it. Panics for a task without extended state (kernel tasks never ask).
pub fn with_current_xstate<R>(f: impl FnOnce(&mut ExtendedState) -> R) -> R {
    let were_on = interrupts::disable_and_save();
    let cpu = SCHED.this();
    // SAFETY: this CPU's own slot, interrupts off; the current task's saved
    // context is touched only by the scheduler of the CPU running it, with
    // interrupts off, which this is, and by no one else while it runs.
    let result = unsafe {
        let current = (*cpu.current.get()).as_ref().expect("current");
        let context = &mut *current.context.get();
        f(context.xstate.as_mut().expect("an app thread has extended state"))
    };
    interrupts::restore(were_on);
    result
}

/// Restricts the running task to the CPUs in `mask` and moves it to one of
/// them if it is elsewhere.
pub fn set_current_affinity(mask: u64) {
    let task = current();
    task.affinity.store(mask, Ordering::Release);
    drop(task);
    if !current().may_run_on(cpu_index()) {
        schedule();
    }
}

/// Prints this CPU's scheduler state (from an NMI, with `nmi=dump`: for
/// finding out where a hung run is stuck). Reads without locks.
pub fn debug_dump(interrupted_rip: u64) {
    let cpu = SCHED.this();
    // SAFETY: diagnostic reads of this CPU's own slots from NMI context; a
    // torn read only garbles the dump.
    let (cur, queued) = unsafe {
        let cur = (*cpu.current.get()).as_ref().map(|t| (t.tid, t.state(), t.is_idle));
        (cur, (*cpu.runqueue.value_ptr()).len())
    };
    let isr = apic::in_service();
    crate::console::emergency_println(format_args!(
        "[nmi-dump] CPU {}: RIP {interrupted_rip:#x} current {:?} queued {} thread flags {:#x} idle_now {} ISR {:08x?}",
        cpu_index(),
        cur,
        queued,
        thread_flags::current_exit_work(),
        cpu.idle_now.load(Ordering::Relaxed),
        isr
    ));
}
