//! exit, exit_group, getpid.

use core::sync::atomic::Ordering;

use libos_abi::errno::Errno;
use libos_abi::user_ptr::{UserPtr, UserPtrMut};

use crate::arch::x86_64::percpu;
use crate::mm::user_access::{copy_from_user, copy_to_user};

use crate::process::{self, ExitStatus};
use crate::sched;

/// `getpid`.
pub fn getpid() -> Result<i32, Errno> {
    Ok(crate::sched::with_current(|t| t.process.as_ref().map_or(0, |p| p.pid as i32)))
}

/// `exit`: ends the calling thread; the last thread's code is the app's.
pub fn exit(code: i32) -> ! {
    if let Some(p) = process::current()
        && p.thread_count() <= 1
    {
        p.exit_group(ExitStatus::Exited(code & 0xFF));
    }
    sched::exit_current()
}

/// `exit_group`: ends every thread of the app with `code`.
pub fn exit_group(code: i32) -> ! {
    if let Some(p) = process::current() {
        p.exit_group(ExitStatus::Exited(code & 0xFF));
    }
    sched::exit_current()
}

/// Bytes of the kernel's CPU mask (64 CPUs).
const MASK_BYTES: usize = 8;

fn check_tid(tid: i32) -> Result<(), Errno> {
    if tid == 0 || tid as u32 == sched::current().tid { Ok(()) } else { Err(Errno::ESRCH) }
}

/// The CPUs that are running, as a mask.
fn online_mask() -> u64 {
    (0..percpu::cpu_count())
        .filter(|&c| percpu::cpu(c).is_some_and(|p| p.online.load(Ordering::Acquire)))
        .fold(0, |m, c| m | 1 << c)
}

/// `sched_setaffinity` for the calling thread.
pub fn set_affinity(tid: i32, len: usize, mask: UserPtr<u8>) -> Result<(), Errno> {
    check_tid(tid)?;
    if len == 0 {
        return Err(Errno::EINVAL);
    }
    let mut bytes = [0u8; MASK_BYTES];
    let n = len.min(MASK_BYTES);
    copy_from_user(&mut bytes[..n], mask.addr()).map_err(|(e, _)| e)?;
    let wanted = u64::from_le_bytes(bytes) & online_mask();
    if wanted == 0 {
        return Err(Errno::EINVAL);
    }
    sched::set_current_affinity(wanted);
    Ok(())
}

/// `sched_getaffinity` for the calling thread.
pub fn get_affinity(tid: i32, len: usize, mask: UserPtrMut<u8>) -> Result<usize, Errno> {
    check_tid(tid)?;
    if len < MASK_BYTES {
        return Err(Errno::EINVAL);
    }
    let m = sched::current().affinity.load(Ordering::Acquire) & online_mask();
    copy_to_user(mask.addr(), &m.to_le_bytes()).map_err(|(e, _)| e)?;
    Ok(MASK_BYTES)
}
