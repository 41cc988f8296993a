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

use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::sync::atomic::Ordering;

use crate::arch::x86_64::{apic, cpu, interrupts, vectors};
use crate::sched::{self, Task, TaskState};
use crate::sync::SpinLock;
use crate::{per_cpu, time};

/// A time slice.
pub const SLICE_NS: u64 = 10_000_000;

/// What happens at a deadline.
pub enum Action {
    /// End a task's timed wait (if it is still the same wait).
    Wake {
        /// The waiting task.
        task: Weak<Task>,
        /// Its `wake_token` when it started waiting.
        token: u64,
    },
    /// Count a test-vector interrupt (for the boot-time tests).
    #[cfg(feature = "hooks")]
    CountTestInterrupt,
}

/// A pending event.
pub struct Event {
    deadline: u64,
    action: Action,
}

per_cpu! {
    /// Each CPU's timer events and time slice.
    static TIMERS: CpuTimers = CpuTimers::new();
}

/// A CPU's timer state (touched only by its CPU, with interrupts off).
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

/// Adds an event on this CPU. Interrupts must be off.
fn add(deadline: u64, action: Action) {
    {
        let mut events = TIMERS.this().events.lock();
        let at = events.partition_point(|e| e.deadline <= deadline);
        events.insert(at, Event { deadline, action });
    }
    reprogram();
}

#[cfg(feature = "hooks")]
/// Counts a test interrupt `ns` nanoseconds from now, through the timer
/// interrupt (the boot-time tests use it to take an interrupt in ring 3).
pub fn add_test_event(ns: u64) {
    let irqs = interrupts::disable_and_save();
    add(time::deadline_after(ns), Action::CountTestInterrupt);
    interrupts::restore(irqs);
}

/// Blocks the running task until the TSC reaches `deadline` or something
/// wakes it (`ready` turns true, the task is killed). The caller has set
/// things up so a waker calls `try_unblock` on it; this arms the timer
/// and switches away. Returns whether the timer ended the wait.
pub fn block_until(deadline: Option<u64>) -> bool {
    let irqs = interrupts::disable_and_save();
    let task = sched::current();
    let token = task.wake_token.fetch_add(1, Ordering::AcqRel) + 1;
    task.timed_out.store(false, Ordering::Release);
    if let Some(d) = deadline {
        add(d, Action::Wake { task: Arc::downgrade(&task), token });
    }
    drop(task);
    sched::schedule();
    interrupts::restore(irqs);
    sched::current().timed_out.load(Ordering::Acquire)
}

/// Sleeps until the TSC reaches `deadline`. Returns `false` if the task
/// was killed before that (its app is ending).
pub fn sleep_until(deadline: u64) -> bool {
    loop {
        let task = sched::current();
        if task.flags.killed() {
            return false;
        }
        if time::rdtsc() >= deadline {
            return true;
        }
        let irqs = interrupts::disable_and_save();
        task.set_state(TaskState::Blocked);
        drop(task);
        block_until(Some(deadline));
        interrupts::restore(irqs);
    }
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
            Action::Wake { task, token } => {
                if let Some(task) = task.upgrade()
                    && task.wake_token.load(Ordering::Acquire) == token
                    && task.try_unblock()
                {
                    task.timed_out.store(true, Ordering::Release);
                    sched::enqueue(task);
                }
            }
            #[cfg(feature = "hooks")]
            Action::CountTestInterrupt => {
                crate::trap::irq::TEST_INTERRUPTS.this().fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    let slice = timers.slice_end.load(Ordering::Relaxed);
    if slice != 0 && now >= slice {
        timers.slice_end.store(0, Ordering::Relaxed);
        // Others are waiting: move one to an idle CPU if there is one, else
        // preempt the running task.
        if !sched::push_to_idle_cpu() {
            sched::set_need_resched();
        }
    }
    reprogram();
}
