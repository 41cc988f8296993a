//! Every process by pid (Linux's pid hash, `kernel/pid.c`), for `kill`,
//! and the limit on how many exist at once (Linux's `RLIMIT_NPROC` check
//! in `copy_process`): a fork past it fails with `EAGAIN`, so a fork bomb
//! ends there instead of in the kernel's memory.
//!
//! A process is listed from its creation until its last reference goes
//! (after it is reaped), so zombies count, as on Linux.

use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;

use libos_abi::errno::Errno;

use super::{ExitStatus, Kill, Process};
use crate::sched::ThreadName;
use crate::sync::SpinLock;

/// Most processes that may exist at once (the first one included).
pub const MAX_PROCESSES: usize = 128;

static TABLE: SpinLock<Vec<(u32, Weak<Process>)>> = SpinLock::new(Vec::new());

/// Lists `process`: `EAGAIN` at [`MAX_PROCESSES`], `ENOMEM` if the table
/// cannot grow.
pub fn insert(process: &Arc<Process>) -> Result<(), Errno> {
    let mut table = TABLE.lock();
    if table.len() >= MAX_PROCESSES {
        return Err(Errno::EAGAIN);
    }
    table.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
    table.push((process.pid, Arc::downgrade(process)));
    Ok(())
}

/// Forgets pid `pid` (its process is being dropped).
pub fn remove(pid: u32) {
    let mut table = TABLE.lock();
    if let Some(i) = table.iter().position(|(p, _)| *p == pid) {
        table.swap_remove(i);
    }
}

/// The process with pid `pid`, if it exists (zombies included).
pub fn find(pid: u32) -> Option<Arc<Process>> {
    TABLE.lock().iter().find(|(p, _)| *p == pid).and_then(|(_, w)| w.upgrade())
}

/// Every process that exists now.
pub fn all() -> Vec<Arc<Process>> {
    let table = TABLE.lock();
    let mut out = Vec::new();
    if out.try_reserve(table.len()).is_ok() {
        out.extend(table.iter().filter_map(|(_, w)| w.upgrade()));
    }
    out
}

/// How many processes exist now (zombies included).
pub fn count() -> usize {
    TABLE.lock().len()
}

/// Ends every process but `first` (whose end ends the app) with SIGKILL,
/// and waits until each has ended (its files closed).
pub fn end_all_but(first: &Arc<Process>) {
    let others: Vec<Arc<Process>> = all().into_iter().filter(|p| !Arc::ptr_eq(p, first)).collect();
    for p in &others {
        p.exit_group(ExitStatus::Killed(Kill {
            signo: super::signal::SIGKILL,
            vector: None,
            rip: 0,
            address: 0,
            error_code: u64::MAX,
            tid: 0,
            thread_name: ThreadName::new(b""),
        }));
    }
    for p in &others {
        p.exited.wait_until(|| p.has_ended());
    }
}
