//! getitimer, setitimer and alarm (Linux's `kernel/time/itimer.c`): the
//! process's `ITIMER_REAL` (`time::itimer`). The CPU-time timers
//! (`ITIMER_VIRTUAL`, `ITIMER_PROF`) are not implemented: `EINVAL`.

use libos_abi::errno::Errno;
use libos_abi::linux_types::{Itimerval, Timeval, itimer};
use libos_abi::syscalls::IntervalTimers;
use libos_abi::user_ptr::{UserPtr, UserPtrMut};
use libos_kcore::itimer::{Tv, alarm_seconds};

use super::{Cx, Kernel};
use crate::mm::user_access::{read_user, write_user};
use crate::process;
use crate::time::itimer::Setting;

fn to_user(tv: Tv) -> Timeval {
    Timeval { tv_sec: tv.sec, tv_usec: tv.usec }
}

fn from_user(tv: Timeval) -> Result<u64, Errno> {
    let tv = Tv { sec: tv.tv_sec, usec: tv.tv_usec };
    if tv.is_valid() { Ok(tv.to_nanos()) } else { Err(Errno::EINVAL) }
}

fn report((setting, armed): (Setting, bool)) -> Itimerval {
    let (interval, value) = setting.report(armed);
    Itimerval { it_interval: to_user(interval), it_value: to_user(value) }
}

fn check_which(which: i32) -> Result<(), Errno> {
    if which == itimer::REAL { Ok(()) } else { Err(Errno::EINVAL) }
}

impl IntervalTimers for Kernel {
    fn getitimer(_cx: &mut Cx, which: i32, value: UserPtrMut<Itimerval>) -> Result<(), Errno> {
        check_which(which)?;
        let p = process::current().ok_or(Errno::ESRCH)?;
        write_user(value.addr(), &report(p.real_timer.get()))
    }

    fn setitimer(
        _cx: &mut Cx,
        which: i32,
        new_value: UserPtr<Itimerval>,
        old_value: UserPtrMut<Itimerval>,
    ) -> Result<(), Errno> {
        // A null `new_value` disarms (Linux still accepts it, with a
        // warning, `do_setitimer`).
        let new = if new_value.is_null() { Itimerval::default() } else { read_user::<Itimerval>(new_value.addr())? };
        let setting = Setting { value_ns: from_user(new.it_value)?, interval_ns: from_user(new.it_interval)? };
        check_which(which)?;
        let p = process::current().ok_or(Errno::ESRCH)?;
        // As Linux: the old setting is written after the change, and an
        // unwritable `old_value` (EFAULT) leaves the new setting in place.
        let old = p.real_timer.set(&p, setting)?;
        if !old_value.is_null() {
            write_user(old_value.addr(), &report(old))?;
        }
        Ok(())
    }

    fn alarm(_cx: &mut Cx, seconds: u32) -> Result<u32, Errno> {
        let p = process::current().ok_or(Errno::ESRCH)?;
        let setting = Setting { value_ns: seconds as u64 * 1_000_000_000, interval_ns: 0 };
        let (old, armed) = p.real_timer.set(&p, setting)?;
        let (_, value) = old.report(armed);
        Ok(alarm_seconds(value))
    }
}

// SAFETY: integers only, no padding (the layout is checked in libos-abi).
unsafe impl crate::mm::user_access::Pod for Itimerval {}
