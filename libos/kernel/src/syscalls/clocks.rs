//! gettimeofday, time, clock_getres and clock_nanosleep (Linux's
//! `kernel/time/time.c`, `kernel/time/posix-timers.c`).

use libos_abi::abi_types::Timespec;
use libos_abi::errno::Errno;
use libos_abi::linux_types::{Timeval, Timezone};
use libos_abi::syscalls::Clocks;
use libos_abi::user_ptr::{UserPtr, UserPtrMut};

use super::{Cx, Kernel};
use crate::mm::user_access::{Pod, read_user, write_user};
use crate::time;

/// Clock ids (Linux's include/uapi/linux/time.h).
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

/// `clock_nanosleep`'s flag: `req` is an absolute time.
const TIMER_ABSTIME: i32 = 1;

// SAFETY: two i64, no padding (checked in libos-abi).
unsafe impl Pod for Timeval {}
// SAFETY: two i32, no padding (checked in libos-abi).
unsafe impl Pod for Timezone {}

impl Clocks for Kernel {
    fn gettimeofday(_cx: &mut Cx, tv: UserPtrMut<Timeval>, tz: UserPtrMut<Timezone>) -> Result<(), Errno> {
        if !tv.is_null() {
            write_user(tv.addr(), &Timeval::from_nanos(time::realtime_ns()))?;
        }
        if !tz.is_null() {
            write_user(tz.addr(), &Timezone::default())?;
        }
        Ok(())
    }

    fn time(_cx: &mut Cx, tloc: UserPtrMut<i64>) -> Result<i64, Errno> {
        let now = (time::realtime_ns() / 1_000_000_000) as i64;
        if !tloc.is_null() {
            write_user(tloc.addr(), &now)?;
        }
        Ok(now)
    }

    /// The clocks `clock_gettime` reads are nanosecond clocks (Linux
    /// reports 1 ns for its high-resolution clocks too).
    fn clock_getres(_cx: &mut Cx, id: i32, res: UserPtrMut<Timespec>) -> Result<(), Errno> {
        match id {
            clock::REALTIME
            | clock::MONOTONIC
            | clock::MONOTONIC_RAW
            | clock::REALTIME_COARSE
            | clock::MONOTONIC_COARSE
            | clock::BOOTTIME
            | clock::PROCESS_CPUTIME_ID
            | clock::THREAD_CPUTIME_ID => {}
            _ => return Err(Errno::EINVAL),
        }
        if res.is_null() { Ok(()) } else { write_user(res.addr(), &Timespec::new(0, 1)) }
    }

    fn clock_nanosleep(
        _cx: &mut Cx,
        id: i32,
        flags: i32,
        req: UserPtr<Timespec>,
        _rem: UserPtrMut<Timespec>,
    ) -> Result<(), Errno> {
        let now = match id {
            clock::REALTIME => time::realtime_ns(),
            clock::MONOTONIC | clock::BOOTTIME => time::monotonic_ns(),
            // Linux: the CPU-time clocks cannot be slept on this way.
            clock::PROCESS_CPUTIME_ID | clock::THREAD_CPUTIME_ID => return Err(Errno::ENOTSUP),
            _ => return Err(Errno::EINVAL),
        };
        let t: Timespec = read_user(req.addr())?;
        let ns = t.as_nanos().ok_or(Errno::EINVAL)?;
        // Linux keeps TIMER_ABSTIME and ignores the other bits.
        let relative = if flags & TIMER_ABSTIME != 0 { ns.saturating_sub(now) } else { ns };
        if crate::sched::sleep::sleep_ns(relative)? { Ok(()) } else { Err(Errno::EINTR) }
    }
}
