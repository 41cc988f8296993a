//! Time-driven scheduling: sleeping, timeouts and time slices, on each
//! CPU's local APIC timer.
//!
//! Every CPU keeps its pending timer events sorted by TSC deadline and
//! programs its APIC timer for the earliest one only: TSC-deadline mode
//! when the CPU has it (the timer fires when the TSC reaches the deadline),
//! else one-shot mode with a count converted from the remaining time. A
//! CPU whose current task has the CPU to itself gets no time-slice event,
//! and an idle CPU with nothing to wait for gets no timer interrupt at all
//! (tickless); it halts until an interrupt arrives.
//!
//! A timed wait arms one event and cancels it ([`cancel`]) as soon as the
//! wait ends, whatever ended it: nothing of a finished wait stays in the
//! lists until its deadline. The lists grow fallibly (`ENOMEM` for the
//! call that wanted a timer).

use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

use libos_abi::errno::Errno;

use crate::arch::x86_64::{apic, cpu, vectors};
use crate::sched::{self, Task};
use crate::sync::SpinLock;
use crate::{per_cpu, time};

/// A time slice.
pub const SLICE_NS: u64 = 10_000_000;

/// What happens at a deadline.
pub enum Action {
    /// End a task's timed wait (a spurious wake if the task has moved on:
    /// every wait re-checks why it woke).
    Wake(Weak<Task>),
    /// Expire a process's `ITIMER_REAL` (the arming of that generation).
    Alarm(Weak<crate::process::Process>, u64),
    /// Count a test-vector interrupt (for the boot-time tests).
    #[cfg(feature = "hooks")]
    CountTestInterrupt,
}

/// A pending event.
pub struct Event {
    deadline: u64,
    /// Unique among all events ever armed (what [`cancel`] finds it by).
    id: u64,
    action: Action,
}

/// The id of the next event armed.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

per_cpu! {
    /// Each CPU's timer events and time slice.
    static TIMERS: CpuTimers = CpuTimers::new();
}

/// A CPU's timer state. Its events are armed and fire on that CPU;
/// [`cancel`] may take them off from any CPU (under their lock, with
/// interrupts off like every holder).
pub struct CpuTimers {
    events: SpinLock<Vec<Event>>,
    /// TSC at which the running task's slice ends (0: no slice).
    slice_end: core::sync::atomic::AtomicU64,
}

impl CpuTimers {
    /// No events.
    pub const fn new() -> CpuTimers {
        CpuTimers { events: SpinLock::new(Vec::new()), slice_end: core::sync::atomic::AtomicU64::new(0) }
    }
}

impl Default for CpuTimers {
    fn default() -> Self {
        Self::new()
    }
}

fn uses_tsc_deadline() -> bool {
    cpu::features().tsc_deadline
}

/// Programs this CPU's APIC timer for its earliest deadline (or stops it).
fn reprogram() {
    let timers = TIMERS.this();
    let first = timers.events.lock().first().map(|e| e.deadline);
    let slice = timers.slice_end.load(Ordering::Relaxed);
    let next = match (first, slice) {
        (Some(a), 0) => Some(a),
        (Some(a), b) => Some(a.min(b)),
        (None, 0) => None,
        (None, b) => Some(b),
    };
    match next {
        None if uses_tsc_deadline() => apic::timer_deadline(vectors::TIMER, 0),
        None => apic::timer_oneshot(vectors::TIMER, 0),
        Some(deadline) if uses_tsc_deadline() => apic::timer_deadline(vectors::TIMER, deadline.max(1)),
        Some(deadline) => {
            let ns = time::clock().scale.ticks_to_ns(deadline.saturating_sub(time::rdtsc()));
            apic::timer_oneshot_ns(vectors::TIMER, ns.max(1_000));
        }
    }
}

/// An armed event, for [`cancel`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimerHandle {
    /// The CPU whose list holds it.
    cpu: usize,
    /// Its id.
    id: u64,
}

/// Adds an event on this CPU. Fails with `ENOMEM` (and adds nothing) when
/// the list cannot grow: the call that wanted the timer fails, the kernel
/// does not.
fn add(deadline: u64, action: Action) -> Result<TimerHandle, Errno> {
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let irqs = crate::arch::x86_64::interrupts::disable_and_save();
    let added = {
        let mut events = TIMERS.this().events.lock();
        if events.try_reserve(1).is_ok() {
            let at = events.partition_point(|e| e.deadline <= deadline);
            events.insert(at, Event { deadline, id, action });
            true
        } else {
            false
        }
    };
    let handle = TimerHandle { cpu: crate::percpu::cpu_index(), id };
    if added {
        reprogram();
    }
    crate::arch::x86_64::interrupts::restore(irqs);
    if added { Ok(handle) } else { Err(Errno::ENOMEM) }
}

/// Arms a timer that wakes `task` (`try_unblock`) when the TSC reaches
/// `deadline`. The caller cancels it when the wait ends, whatever ended it.
pub fn arm_wake(deadline: u64, task: &Arc<Task>) -> Result<TimerHandle, Errno> {
    add(deadline, Action::Wake(Arc::downgrade(task)))
}

/// Arms the expiry of `process`'s `ITIMER_REAL` (arming `generation`) at
/// TSC `deadline` (`time::itimer`).
pub fn arm_alarm(deadline: u64, process: Weak<crate::process::Process>, generation: u64) -> Result<TimerHandle, Errno> {
    add(deadline, Action::Alarm(process, generation))
}

/// Takes an event off its CPU's list at once, if it has not fired: a wait
/// that ended early leaves nothing behind (no memory held until the
/// deadline). The CPU's APIC timer may still fire for it; that tick finds
/// nothing due and reprograms.
pub fn cancel(handle: TimerHandle) {
    let Some(timers) = TIMERS.of(handle.cpu) else { return };
    let mut events = timers.events.lock();
    if let Some(i) = events.iter().position(|e| e.id == handle.id) {
        events.remove(i);
    }
}

/// Events armed on every CPU (pending, not fired yet).
#[cfg(feature = "hooks")]
pub fn pending_events() -> usize {
    (0..crate::percpu::cpu_count()).filter_map(|c| TIMERS.of(c)).map(|t| t.events.lock().len()).sum()
}

/// Most test events pending at once (`ARM_TEST_TIMER` is a test hook, but
/// an app must not grow the kernel's lists with it without bound).
#[cfg(feature = "hooks")]
pub const MAX_TEST_EVENTS: usize = 64;

/// Test events armed and not yet fired.
#[cfg(feature = "hooks")]
static TEST_EVENTS: core::sync::atomic::AtomicUsize = core::sync::atomic::AtomicUsize::new(0);

#[cfg(feature = "hooks")]
/// Counts a test interrupt `ns` nanoseconds from now, through the timer
/// interrupt (the boot-time tests use it to take an interrupt in ring 3).
/// `EAGAIN` when [`MAX_TEST_EVENTS`] are pending.
pub fn add_test_event(ns: u64) -> Result<(), Errno> {
    TEST_EVENTS
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n < MAX_TEST_EVENTS).then_some(n + 1))
        .map_err(|_| Errno::EAGAIN)?;
    add(time::deadline_after(ns), Action::CountTestInterrupt).map(|_| ()).inspect_err(|_| {
        TEST_EVENTS.fetch_sub(1, Ordering::AcqRel);
    })
}

/// Gives the running task a time slice if others wait on this CPU and it
/// has none; ends the slice when nobody waits. Interrupts are off.
pub fn update_slice() {
    let timers = TIMERS.this();
    let waiting = sched::tasks_waiting();
    let current = timers.slice_end.load(Ordering::Relaxed);
    let wanted = if !waiting {
        0
    } else if current == 0 {
        time::deadline_after(SLICE_NS)
    } else {
        current
    };
    if wanted != current {
        timers.slice_end.store(wanted, Ordering::Relaxed);
        reprogram();
    }
}

/// Starts a fresh slice for a task just switched in. Interrupts are off.
pub fn new_slice() {
    TIMERS.this().slice_end.store(0, Ordering::Relaxed);
    update_slice();
}

/// The timer interrupt: wake whoever's deadline passed, end the slice.
pub fn tick() {
    let timers = TIMERS.this();
    let now = time::rdtsc();
    let mut due = heapless::Vec::<Event, 32>::new();
    {
        let mut events = timers.events.lock();
        let n = events.partition_point(|e| e.deadline <= now).min(due.capacity());
        for e in events.drain(..n) {
            let _ = due.push(e);
        }
    }
    for e in due {
        match e.action {
            Action::Wake(task) => {
                if let Some(task) = task.upgrade()
                    && task.try_unblock()
                {
                    sched::enqueue(task);
                }
            }
            Action::Alarm(process, generation) => crate::time::itimer::expire(&process, generation),
            #[cfg(feature = "hooks")]
            Action::CountTestInterrupt => {
                TEST_EVENTS.fetch_sub(1, Ordering::AcqRel);
                crate::trap::irq::TEST_INTERRUPTS.this().fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    let slice = timers.slice_end.load(Ordering::Relaxed);
    if slice != 0 && now >= slice {
        timers.slice_end.store(0, Ordering::Relaxed);
        // Others are waiting: move one to an idle CPU if there is one, else
        // preempt the running task. After a move, those still waiting here
        // get a fresh slice (ended by the next tick like this one): without
        // it nothing would end the running task's turn, and a waiter would
        // wait until some other event happened to arm a slice.
        if sched::push_to_idle_cpu() {
            update_slice();
        } else {
            sched::set_need_resched();
        }
    }
    reprogram();
}
