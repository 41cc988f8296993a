//! The scheduler's balancing: tasks queued on one busy CPU reach the idle
//! ones, one per time slice.

use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use libos_macros::kernel_test;

use crate::sched::{self, Task, TaskState};
use crate::testing::require_cpus;
use crate::time;

/// How many of the test's tasks have started running.
static STARTED: AtomicU64 = AtomicU64::new(0);
/// Set when the test is over (passed or not): the tasks stop spinning.
static STOP: AtomicBool = AtomicBool::new(false);
/// How many of the test's tasks have ended.
static ENDED: AtomicU64 = AtomicU64::new(0);

/// A busy kernel task: it counts itself in, then spins (interrupts on, so
/// the CPU's timer still runs) until the test says stop.
extern "C" fn spinner(_: u64) -> ! {
    STARTED.fetch_add(1, Ordering::AcqRel);
    while !STOP.load(Ordering::Acquire) {
        core::hint::spin_loop();
    }
    ENDED.fetch_add(1, Ordering::AcqRel);
    sched::exit_current()
}

/// Waits (up to `ns`) until `counter` reaches `n`.
fn wait_until(counter: &AtomicU64, n: u64, ns: u64) -> bool {
    let end = time::deadline_after(ns);
    while time::rdtsc() < end {
        if counter.load(Ordering::Acquire) >= n {
            return true;
        }
        core::hint::spin_loop();
    }
    false
}

/// Three busy tasks that may run anywhere, all queued on CPU 1 (as happens
/// when several threads are started at once and CPU 1 looked idle to each
/// `pick_cpu`): CPU 1 runs one, and at the end of each time slice moves a
/// waiting one to an idle CPU, until none waits. The slice must be armed
/// again after each move while others still wait; a kernel task is never
/// preempted, so a waiter left without a slice would wait for ever. The
/// test's own CPU (0) spins; CPUs 2 and 3 are idle.
#[kernel_test]
fn tasks_queued_on_one_busy_cpu_spread_to_the_idle_ones() {
    require_cpus(4);
    STARTED.store(0, Ordering::Release);
    ENDED.store(0, Ordering::Release);
    STOP.store(false, Ordering::Release);
    let cpus = crate::percpu::online_mask();
    for _ in 0..3 {
        let task = Task::new_kernel(spinner, 0, 1, false).expect("a kernel thread");
        // Anywhere but the test's CPU, which spins below.
        task.affinity.store(cpus & !1, Ordering::Release);
        task.set_state(TaskState::Runnable);
        sched::enqueue_on(1, Arc::new(task));
    }
    // Ten slices and more: each slice end moves one task.
    let all_started = wait_until(&STARTED, 3, 2_000_000_000);
    let started = STARTED.load(Ordering::Acquire);
    STOP.store(true, Ordering::Release);
    assert!(wait_until(&ENDED, started, 2_000_000_000), "the started tasks did not end");
    assert!(all_started, "only {started} of 3 tasks queued on CPU 1 ever ran (2 CPUs were idle)");
}
