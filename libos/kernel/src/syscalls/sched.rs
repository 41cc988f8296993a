//! sched_yield, sched_setaffinity, sched_getaffinity and getcpu (Linux's
//! `kernel/sched/core.c`, `kernel/sys.c`).

use core::sync::atomic::Ordering;

use libos_abi::errno::Errno;
use libos_abi::syscalls::Sched;
use libos_abi::user_ptr::{UserPtr, UserPtrMut};

use super::{Cx, Kernel};
use crate::mm::user_access::{copy_from_user, copy_to_user, write_user};
use crate::{percpu, sched};

/// Bytes of the kernel's CPU mask (64 CPUs).
const MASK_BYTES: usize = 8;

fn check_tid(tid: i32) -> Result<(), Errno> {
    if tid == 0 || tid as u32 == sched::current().tid { Ok(()) } else { Err(Errno::ESRCH) }
}

impl Sched for Kernel {
    fn sched_yield(_cx: &mut Cx) -> Result<(), Errno> {
        sched::yield_now();
        Ok(())
    }

    /// For the calling thread only.
    fn sched_setaffinity(_cx: &mut Cx, tid: i32, len: usize, mask: UserPtr<u8>) -> Result<(), Errno> {
        check_tid(tid)?;
        if len == 0 {
            return Err(Errno::EINVAL);
        }
        let mut bytes = [0u8; MASK_BYTES];
        let n = len.min(MASK_BYTES);
        copy_from_user(&mut bytes[..n], mask.addr()).map_err(|(e, _)| e)?;
        let wanted = u64::from_le_bytes(bytes) & percpu::online_mask();
        if wanted == 0 {
            return Err(Errno::EINVAL);
        }
        sched::set_current_affinity(wanted);
        Ok(())
    }

    /// For the calling thread only.
    fn sched_getaffinity(_cx: &mut Cx, tid: i32, len: usize, mask: UserPtrMut<u8>) -> Result<usize, Errno> {
        check_tid(tid)?;
        // Linux's `sched_getaffinity`: room for every CPU, in whole longs.
        if len < MASK_BYTES || !len.is_multiple_of(8) {
            return Err(Errno::EINVAL);
        }
        let m = sched::current().affinity.load(Ordering::Acquire) & percpu::online_mask();
        copy_to_user(mask.addr(), &m.to_le_bytes()).map_err(|(e, _)| e)?;
        Ok(MASK_BYTES)
    }

    fn getcpu(_cx: &mut Cx, cpu: UserPtrMut<u32>, node: UserPtrMut<u32>, _unused: usize) -> Result<(), Errno> {
        if !cpu.is_null() {
            write_user(cpu.addr(), &(percpu::cpu_index() as u32))?;
        }
        if !node.is_null() {
            write_user(node.addr(), &0u32)?;
        }
        Ok(())
    }

    fn sched_get_priority_max(_cx: &mut Cx, policy: i32) -> Result<i32, Errno> {
        priority_range(policy).map(|(_, max)| max)
    }

    fn sched_get_priority_min(_cx: &mut Cx, policy: i32) -> Result<i32, Errno> {
        priority_range(policy).map(|(min, _)| min)
    }
}

/// The static priorities of a scheduling policy, as Linux's
/// `sched_get_priority_max`/`_min` (`kernel/sched/syscalls.c`): FIFO and
/// RR 1 to 99 (`MAX_RT_PRIO - 1`), the others 0.
fn priority_range(policy: i32) -> Result<(i32, i32), Errno> {
    const SCHED_OTHER: i32 = 0;
    const SCHED_FIFO: i32 = 1;
    const SCHED_RR: i32 = 2;
    const SCHED_BATCH: i32 = 3;
    const SCHED_IDLE: i32 = 5;
    const SCHED_DEADLINE: i32 = 6;
    match policy {
        SCHED_FIFO | SCHED_RR => Ok((1, 99)),
        SCHED_OTHER | SCHED_BATCH | SCHED_IDLE | SCHED_DEADLINE => Ok((0, 0)),
        _ => Err(Errno::EINVAL),
    }
}
