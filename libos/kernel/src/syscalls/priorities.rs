//! getpriority and setpriority (Linux's `kernel/sys.c`): each thread's nice
//! value, kept and reported; the scheduler gives every ready thread equal
//! slices whatever its nice value.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::Ordering;

use libos_abi::errno::Errno;
use libos_abi::linux_types::prio;
use libos_abi::syscalls::Priorities;

use super::{Cx, Kernel};
use crate::process;
use crate::process::loader::APP_ID;
use crate::sched::{self, Task};

/// Nice values run from -20 to 19 (`MIN_NICE`, `MAX_NICE`).
const MIN_NICE: i32 = -20;
const MAX_NICE: i32 = 19;

/// The threads `which` and `who` name (Linux's `getpriority` loops), or
/// `EINVAL`/`ESRCH`.
fn targets(which: i32, who: i32) -> Result<Vec<Arc<Task>>, Errno> {
    let p = process::current().ok_or(Errno::ESRCH)?;
    let found = match which {
        prio::PROCESS if who == 0 => alloc::vec![sched::current()],
        // Linux looks the id up as a thread id (`find_task_by_vpid`).
        prio::PROCESS => p.thread(who as u32).into_iter().collect(),
        // The app is its own process group, and all of uid 0's processes.
        prio::PGRP if who == 0 || who == p.pid as i32 => p.threads(),
        prio::USER if who == 0 || who as u64 == APP_ID => p.threads(),
        prio::PGRP | prio::USER => Vec::new(),
        _ => return Err(Errno::EINVAL),
    };
    if found.is_empty() { Err(Errno::ESRCH) } else { Ok(found) }
}

impl Priorities for Kernel {
    fn getpriority(_cx: &mut Cx, which: i32, who: i32) -> Result<i32, Errno> {
        let highest = targets(which, who)?.iter().map(|t| 20 - t.nice.load(Ordering::Relaxed) as i32).max();
        highest.ok_or(Errno::ESRCH)
    }

    fn setpriority(_cx: &mut Cx, which: i32, who: i32, niceval: i32) -> Result<(), Errno> {
        let nice = niceval.clamp(MIN_NICE, MAX_NICE) as i8;
        for t in targets(which, who)? {
            t.nice.store(nice, Ordering::Relaxed);
        }
        Ok(())
    }
}
