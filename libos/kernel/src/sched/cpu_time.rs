//! CPU time per thread: the TSC ticks between the scheduler switching a
//! task in and switching it out (`switch_to`), so the cost is one RDTSC per
//! switch. Time in the kernel on the thread's behalf (its system calls,
//! its page faults, interrupts that arrive while it runs) counts as its
//! time too: the kernel does not split user from system time.

use core::sync::atomic::{AtomicU64, Ordering};

/// A task's CPU time.
pub struct CpuTime {
    /// Ticks of the runs that have ended.
    ticks: AtomicU64,
    /// The TSC when the current run began; 0 while the task is not running.
    since: AtomicU64,
}

impl CpuTime {
    /// No time yet, not running.
    pub const fn new() -> CpuTime {
        CpuTime { ticks: AtomicU64::new(0), since: AtomicU64::new(0) }
    }

    /// The task starts running at TSC `now` (the switch to it).
    pub fn switch_in(&self, now: u64) {
        self.since.store(now.max(1), Ordering::Relaxed);
    }

    /// The task stops running at TSC `now` (the switch away from it).
    pub fn switch_out(&self, now: u64) {
        let since = self.since.swap(0, Ordering::Relaxed);
        if since != 0 {
            self.ticks.fetch_add(now.saturating_sub(since), Ordering::Relaxed);
        }
    }

    /// Its ticks up to TSC `now` (its current run included). Read from
    /// another CPU while the task switches, it may miss or count twice the
    /// run that ends then: an estimate, as Linux's sampled times are.
    pub fn ticks(&self, now: u64) -> u64 {
        let since = self.since.load(Ordering::Relaxed);
        let running = if since != 0 { now.saturating_sub(since) } else { 0 };
        self.ticks.load(Ordering::Relaxed) + running
    }
}

impl Default for CpuTime {
    fn default() -> CpuTime {
        CpuTime::new()
    }
}
