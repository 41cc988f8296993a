//! The CPUs: how many, which one runs the caller, and pinning to them.

use core::sync::atomic::{AtomicUsize, Ordering};

use crate::Errno;
use libos_abi::syscalls::user;

/// CPUs online, read from the first thread's affinity at start (it may
/// run anywhere then).
static ONLINE: AtomicUsize = AtomicUsize::new(1);

pub(crate) fn init() {
    if let Ok(mask) = affinity() {
        ONLINE.store(mask.count_ones().max(1) as usize, Ordering::Relaxed);
    }
}

/// The index of the CPU the caller runs on right now (it may move
/// right after, unless pinned).
pub fn current() -> usize {
    let mut cpu = 0u32;
    // SAFETY: `cpu` is a writable u32; the node pointer is null.
    let _ = unsafe { user::getcpu(&mut cpu, core::ptr::null_mut(), 0) };
    cpu as usize
}

/// The number of CPUs the app runs on.
pub fn count() -> usize {
    ONLINE.load(Ordering::Relaxed)
}

/// Restricts the calling thread to the CPUs in `mask` (bit n = CPU n);
/// it moves before this returns. `EINVAL` if no CPU of the mask is
/// online.
pub fn set_affinity(mask: u64) -> Result<(), Errno> {
    let bytes = mask.to_le_bytes();
    // SAFETY: the mask is 8 readable bytes.
    unsafe { user::sched_setaffinity(0, bytes.len(), bytes.as_ptr()) }
}

/// The CPUs the calling thread may run on.
pub fn affinity() -> Result<u64, Errno> {
    let mut bytes = [0u8; 8];
    // SAFETY: 8 writable bytes.
    unsafe { user::sched_getaffinity(0, bytes.len(), bytes.as_mut_ptr()) }?;
    Ok(u64::from_le_bytes(bytes))
}

/// Runs the calling thread on CPU `cpu` only (`EINVAL` for a CPU that
/// is not online).
pub fn pin_to(cpu: usize) -> Result<(), Errno> {
    if cpu >= 64 {
        return Err(Errno::EINVAL);
    }
    set_affinity(1 << cpu)
}
