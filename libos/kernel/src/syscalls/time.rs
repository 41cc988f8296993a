//! nanosleep and clock_gettime (Linux's `kernel/time/`).

use libos_abi::abi_types::Timespec;
use libos_abi::errno::Errno;
use libos_abi::syscalls::Time;
use libos_abi::user_ptr::{UserPtr, UserPtrMut};

use super::{Cx, Kernel};
use crate::mm::user_access::{read_user, write_user};
use crate::{process, time};

/// Clock ids (Linux's).
mod clock {
    pub const REALTIME: i32 = 0;
    pub const MONOTONIC: i32 = 1;
    pub const PROCESS_CPUTIME_ID: i32 = 2;
    pub const THREAD_CPUTIME_ID: i32 = 3;
    pub const MONOTONIC_RAW: i32 = 4;
    pub const REALTIME_COARSE: i32 = 5;
    pub const MONOTONIC_COARSE: i32 = 6;
    pub const BOOTTIME: i32 = 7;
}

fn timespec(ns: u64) -> Timespec {
    Timespec { tv_sec: (ns / 1_000_000_000) as i64, tv_nsec: (ns % 1_000_000_000) as i64 }
}

impl Time for Kernel {
    /// Sleeps at least the requested time, until a signal handler must
    /// run (`EINTR`, with the time left written to `rem` when it is not
    /// null), or until the app ends. Like Linux's `-ERESTART_RESTARTBLOCK`,
    /// a signal that runs no handler restarts the sleep (here with the
    /// whole duration again).
    fn nanosleep(_cx: &mut Cx, req: UserPtr<Timespec>, rem: UserPtrMut<Timespec>) -> Result<(), Errno> {
        let t: Timespec = read_user(req.addr())?;
        if t.tv_sec < 0 || !(0..1_000_000_000).contains(&t.tv_nsec) {
            return Err(Errno::EINVAL);
        }
        let ns = (t.tv_sec as u64).saturating_mul(1_000_000_000).saturating_add(t.tv_nsec as u64);
        let start = time::monotonic_ns();
        if crate::sched::sleep::sleep_ns(ns)? {
            return Ok(());
        }
        if !rem.is_null() {
            let left = ns.saturating_sub(time::monotonic_ns().saturating_sub(start));
            write_user(rem.addr(), &timespec(left))?;
        }
        Err(Errno::ERESTARTNOHAND)
    }

    /// Realtime and the monotonic clocks (no suspend, so BOOTTIME is
    /// MONOTONIC), and the CPU-time clocks of the app and of the calling
    /// thread.
    fn clock_gettime(_cx: &mut Cx, id: i32, tp: UserPtrMut<Timespec>) -> Result<(), Errno> {
        let ns = match id {
            clock::REALTIME | clock::REALTIME_COARSE => time::realtime_ns(),
            clock::MONOTONIC | clock::MONOTONIC_RAW | clock::MONOTONIC_COARSE | clock::BOOTTIME => time::monotonic_ns(),
            // The time the app's threads, or this thread, ran
            // (`sched::cpu_time`).
            clock::PROCESS_CPUTIME_ID => {
                let ticks = process::current().ok_or(Errno::EINVAL)?.cpu_ticks(time::rdtsc());
                time::clock().scale.ticks_to_ns(ticks)
            }
            clock::THREAD_CPUTIME_ID => {
                let now = time::rdtsc();
                time::clock().scale.ticks_to_ns(crate::sched::with_current(|t| t.cpu_time.ticks(now)))
            }
            _ => return Err(Errno::EINVAL),
        };
        write_user(tp.addr(), &timespec(ns))
    }
}
