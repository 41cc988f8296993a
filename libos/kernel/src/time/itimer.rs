//! A process's real-time interval timer (`ITIMER_REAL`, `alarm`; Linux's
//! `kernel/time/itimer.c`, `it_real_fn`): one timer event armed on the CPU
//! that set it; at expiry the timer interrupt sends `SIGALRM` to the
//! process and, with an interval, arms the next expiry.
//!
//! Each arming gets a new generation number: an expiry that races a
//! change (the event already taken off its CPU's list when `setitimer`
//! cancels it) sees a stale generation and does nothing. A process holds
//! one event at most, so the memory held for it is bounded; a process that
//! is gone leaves at most that one event until its deadline (the event
//! holds a weak reference, which then finds nothing).

use alloc::sync::{Arc, Weak};

use libos_abi::errno::Errno;
use libos_abi::signal::sig::SIGALRM;
use libos_kcore::itimer::{self, Tv};
use libos_kcore::signal::PendingInfo;

use crate::process::Process;
use crate::sched::timer::{self, TimerHandle};
use crate::sync::SpinLock;
use crate::time;

/// `si_code` of a signal the kernel sends (`SI_KERNEL`).
const SI_KERNEL: i32 = 0x80;

/// The shortest step between two expiries of a periodic timer. Shorter
/// intervals are kept and reported, but expiries come at most this often:
/// a timer interrupt every microsecond would leave the app no time to run,
/// and SIGALRM does not queue, so an app sees no difference.
const MIN_PERIOD_NS: u64 = 50_000;

/// The timer's state.
struct State {
    /// The armed event, if any.
    armed: Option<Armed>,
    /// The generation of the latest arming or disarming.
    generation: u64,
}

#[derive(Clone, Copy)]
struct Armed {
    handle: TimerHandle,
    /// TSC deadline of the next expiry.
    deadline: u64,
    /// The period in nanoseconds (0: one shot).
    interval_ns: u64,
}

/// A process's `ITIMER_REAL`.
pub struct RealTimer {
    state: SpinLock<State>,
}

/// A setting: the time to the next expiry and the period, in nanoseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Setting {
    /// Nanoseconds to the next expiry (0: disarmed).
    pub value_ns: u64,
    /// The period (0: one shot).
    pub interval_ns: u64,
}

impl Setting {
    /// The `(it_interval, it_value)` pair reported for it.
    pub fn report(self, armed: bool) -> (Tv, Tv) {
        let value = if armed { itimer::remaining(self.value_ns) } else { Tv::default() };
        (Tv::from_nanos(self.interval_ns), value)
    }
}

impl RealTimer {
    /// Disarmed.
    pub const fn new() -> RealTimer {
        RealTimer { state: SpinLock::new(State { armed: None, generation: 0 }) }
    }

    /// The current setting, and whether it is armed.
    pub fn get(&self) -> (Setting, bool) {
        let s = self.state.lock();
        match s.armed {
            None => (Setting::default(), false),
            Some(a) => {
                let left = a.deadline.saturating_sub(time::rdtsc());
                (Setting { value_ns: time::clock().scale.ticks_to_ns(left), interval_ns: a.interval_ns }, true)
            }
        }
    }

    /// Replaces the setting with `new` (a `value_ns` of 0 disarms) and
    /// returns the old one. `ENOMEM` (and the timer disarmed) when no event
    /// can be armed.
    pub fn set(&self, process: &Arc<Process>, new: Setting) -> Result<(Setting, bool), Errno> {
        let old = self.get();
        let mut s = self.state.lock();
        if let Some(a) = s.armed.take() {
            timer::cancel(a.handle);
        }
        s.generation += 1;
        if new.value_ns != 0 {
            let deadline = time::deadline_after(new.value_ns);
            let handle = timer::arm_alarm(deadline, Arc::downgrade(process), s.generation)?;
            s.armed = Some(Armed { handle, deadline, interval_ns: new.interval_ns });
        }
        Ok(old)
    }

    /// Disarms it (the process is ending).
    pub fn cancel(&self) {
        let mut s = self.state.lock();
        if let Some(a) = s.armed.take() {
            timer::cancel(a.handle);
        }
        s.generation += 1;
    }
}

/// The expiry of arming `generation` of `process`'s timer, in the timer
/// interrupt: `SIGALRM` to the process, and the next expiry armed when the
/// timer has an interval.
pub fn expire(process: &Weak<Process>, generation: u64) {
    let Some(process) = process.upgrade() else { return };
    {
        let mut s = process.real_timer.state.lock();
        let Some(a) = s.armed.filter(|_| s.generation == generation) else { return };
        s.armed = None;
        if a.interval_ns != 0 {
            // The next expiry counts from the one due now, not from the
            // interrupt's lateness (Linux's `hrtimer_forward`), but never
            // lies in the past.
            let step = time::clock().scale.ns_to_ticks(a.interval_ns.max(MIN_PERIOD_NS)).max(1);
            let now = time::rdtsc();
            let mut next = a.deadline.saturating_add(step);
            if next <= now {
                next = now.saturating_add(step);
            }
            // Without memory for the event the timer stops: the signal
            // below still goes out.
            if let Ok(handle) = timer::arm_alarm(next, Arc::downgrade(&process), generation) {
                s.armed = Some(Armed { handle, deadline: next, interval_ns: a.interval_ns });
            }
        }
    }
    let info = PendingInfo { signo: SIGALRM, code: SI_KERNEL, word0: 0, trapno: 0, err: 0, fault: false };
    crate::signal::send_to_process(&process, info);
}
