//! getrlimit, prlimit64, getrusage, sysinfo and times (Linux's
//! `kernel/sys.c`).
//!
//! The limits come from `libos_kcore::rlimits`: fixed, and true to what
//! the kernel enforces. CPU times come from `sched::cpu_time` (the time
//! threads ran, by the TSC at each switch), all of it reported as user
//! time: the kernel does not split user from system time.

use libos_abi::errno::Errno;
use libos_abi::linux_types::{RUSAGE_CHILDREN, RUSAGE_SELF, RUSAGE_THREAD, Rlimit, Rusage, Sysinfo, Timeval, Tms};
use libos_abi::syscalls::Limits;
use libos_abi::user_ptr::{UserPtr, UserPtrMut};
use libos_kcore::limits::{MAX_THREADS, Resource};
use libos_kcore::rlimits::{self, ChangeError, Enforced, Limit};

use super::{Cx, Kernel};
use crate::fs::fd_table::NOFILE_LIMIT;
use crate::mm::user_access::{read_user, write_user};
use crate::process::loader::{CLOCK_TICKS, STACK_SIZE};
use crate::{mm, process, time};

/// What the kernel enforces on the calling app.
fn enforced() -> Enforced {
    let p = process::current();
    let threads = p.as_ref().map_or(MAX_THREADS, |p| p.usage.limit(Resource::Threads));
    let (soft, hard) = p.as_ref().map_or((NOFILE_LIMIT, NOFILE_LIMIT), |p| p.files.fds.nofile());
    Enforced {
        stack_bytes: STACK_SIZE,
        threads: threads as u64,
        descriptors: Limit { soft: soft as u64, hard: hard as u64 },
    }
}

fn current_limit(resource: u32) -> Result<Limit, Errno> {
    rlimits::limit(resource, &enforced()).ok_or(Errno::EINVAL)
}

fn to_user(l: Limit) -> Rlimit {
    Rlimit { rlim_cur: l.soft, rlim_max: l.hard }
}

impl Limits for Kernel {
    fn getrlimit(_cx: &mut Cx, resource: u32, rlim: UserPtrMut<Rlimit>) -> Result<(), Errno> {
        write_user(rlim.addr(), &to_user(current_limit(resource)?))
    }

    fn getrusage(_cx: &mut Cx, who: i32, usage: UserPtrMut<Rusage>) -> Result<(), Errno> {
        let mut r = Rusage::default();
        match who {
            RUSAGE_SELF | RUSAGE_THREAD => {
                let p = process::current().ok_or(Errno::ESRCH)?;
                // KiB; the peak is not kept, so the current resident set.
                r.ru_maxrss = (p.space().resident_pages() * 4) as i64;
                let now = time::rdtsc();
                let ticks = if who == RUSAGE_SELF {
                    p.cpu_ticks(now)
                } else {
                    crate::sched::with_current(|t| t.cpu_time.ticks(now))
                };
                let us = time::clock().scale.ticks_to_ns(ticks) / 1000;
                r.ru_utime = Timeval { tv_sec: (us / 1_000_000) as i64, tv_usec: (us % 1_000_000) as i64 };
            }
            RUSAGE_CHILDREN => {}
            _ => return Err(Errno::EINVAL),
        }
        write_user(usage.addr(), &r)
    }

    fn sysinfo(_cx: &mut Cx, info: UserPtrMut<Sysinfo>) -> Result<(), Errno> {
        let frames = mm::frame::stats();
        let threads = process::current().map_or(0, |p| p.usage.held(Resource::Threads));
        let page = entry_asm::layout::PAGE_SIZE;
        let s = Sysinfo {
            uptime: (time::monotonic_ns() / 1_000_000_000) as i64,
            totalram: frames.usable * page,
            freeram: frames.free * page,
            procs: threads.min(u16::MAX as usize) as u16,
            mem_unit: 1,
            ..Sysinfo::default()
        };
        write_user(info.addr(), &s)
    }

    fn times(_cx: &mut Cx, buf: UserPtrMut<Tms>) -> Result<u64, Errno> {
        if !buf.is_null() {
            let p = process::current().ok_or(Errno::ESRCH)?;
            let ns = time::clock().scale.ticks_to_ns(p.cpu_ticks(time::rdtsc()));
            let tms = Tms { tms_utime: (ns / (1_000_000_000 / CLOCK_TICKS)) as i64, ..Tms::default() };
            write_user(buf.addr(), &tms)?;
        }
        Ok(time::monotonic_ns() / (1_000_000_000 / CLOCK_TICKS))
    }

    fn prlimit64(
        _cx: &mut Cx,
        pid: i32,
        resource: u32,
        new_limit: UserPtr<Rlimit>,
        old_limit: UserPtrMut<Rlimit>,
    ) -> Result<(), Errno> {
        let me = process::current().ok_or(Errno::ESRCH)?.pid as i32;
        if pid != 0 && pid != me {
            return Err(Errno::ESRCH);
        }
        let current = current_limit(resource)?;
        // Linux reads the new limits before it writes the old ones.
        let new = if new_limit.is_null() { None } else { Some(read_user::<Rlimit>(new_limit.addr())?) };
        if let Some(new) = new {
            let new = Limit { soft: new.rlim_cur, hard: new.rlim_max };
            rlimits::check_change(resource, current, new, NOFILE_LIMIT as u64).map_err(|e| match e {
                ChangeError::Invalid => Errno::EINVAL,
                ChangeError::NotPermitted => Errno::EPERM,
            })?;
            if resource == rlimits::NOFILE {
                // Both at most the ceiling (checked): they fit a usize.
                process::current().ok_or(Errno::ESRCH)?.files.fds.set_nofile(new.soft as usize, new.hard as usize);
            }
        }
        if !old_limit.is_null() {
            write_user(old_limit.addr(), &to_user(current))?;
        }
        Ok(())
    }
}

// SAFETY: integers only, no padding (the layouts are checked in libos-abi).
unsafe impl crate::mm::user_access::Pod for Rlimit {}
// SAFETY: as above (two `Timeval`s of two i64 each, then i64s).
unsafe impl crate::mm::user_access::Pod for Rusage {}
// SAFETY: as above (its padding is explicit fields).
unsafe impl crate::mm::user_access::Pod for Sysinfo {}
// SAFETY: as above (four i64).
unsafe impl crate::mm::user_access::Pod for Tms {}
