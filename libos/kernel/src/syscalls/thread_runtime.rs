//! set_robust_list, get_robust_list, membarrier, rseq and clone3 (Linux's
//! `kernel/futex/syscalls.c`, `kernel/sched/membarrier.c`, `kernel/rseq.c`,
//! `kernel/fork.c`).

use core::sync::atomic::Ordering;

use libos_abi::errno::Errno;
use libos_abi::linux_types::RobustListHead;
use libos_abi::linux_types::membarrier_cmd::*;
use libos_abi::syscalls::ThreadRuntime;
use libos_abi::user_ptr::UserPtrMut;

use super::{Cx, Kernel};
use crate::mm::user_access::write_user;
use crate::{percpu, process, sched};

/// Size of `struct robust_list_head`.
const ROBUST_LIST_HEAD_SIZE: usize = core::mem::size_of::<RobustListHead>();

/// The commands `MEMBARRIER_CMD_QUERY` reports.
const SUPPORTED: i32 =
    GLOBAL | GLOBAL_EXPEDITED | REGISTER_GLOBAL_EXPEDITED | PRIVATE_EXPEDITED | REGISTER_PRIVATE_EXPEDITED;

/// Nothing: taking the interrupt and returning from it is the barrier
/// (both serialise the CPU).
fn barrier(_: u64) {}

/// A full memory barrier on every other online CPU, and this one.
fn barrier_everywhere() {
    core::sync::atomic::fence(Ordering::SeqCst);
    crate::smp::call::call_on_many(percpu::online_mask(), barrier, 0);
}

impl ThreadRuntime for Kernel {
    /// The list is walked when the thread ends (`sched::robust_list`).
    fn set_robust_list(_cx: &mut Cx, head: UserPtrMut<RobustListHead>, len: usize) -> Result<(), Errno> {
        if len != ROBUST_LIST_HEAD_SIZE {
            return Err(Errno::EINVAL);
        }
        sched::current().robust_list.store(head.addr(), Ordering::Release);
        Ok(())
    }

    fn get_robust_list(_cx: &mut Cx, tid: i32, head: UserPtrMut<u64>, len: UserPtrMut<usize>) -> Result<(), Errno> {
        let me = sched::current();
        let addr = if tid == 0 || tid as u32 == me.tid {
            me.robust_list.load(Ordering::Acquire)
        } else {
            let p = process::current().ok_or(Errno::ESRCH)?;
            p.thread(tid as u32).ok_or(Errno::ESRCH)?.robust_list.load(Ordering::Acquire)
        };
        write_user(len.addr(), &(ROBUST_LIST_HEAD_SIZE as u64))?;
        write_user(head.addr(), &addr)
    }

    fn membarrier(_cx: &mut Cx, cmd: i32, flags: u32, _cpu_id: i32) -> Result<i32, Errno> {
        if flags != 0 {
            return Err(Errno::EINVAL);
        }
        let p = process::current().ok_or(Errno::EINVAL)?;
        match cmd {
            QUERY => Ok(SUPPORTED),
            REGISTER_PRIVATE_EXPEDITED => {
                p.membarrier_registered.store(true, Ordering::Release);
                Ok(0)
            }
            // Every CPU gets the barrier anyway: nothing to record.
            REGISTER_GLOBAL_EXPEDITED => Ok(0),
            PRIVATE_EXPEDITED if !p.membarrier_registered.load(Ordering::Acquire) => Err(Errno::EPERM),
            GLOBAL | GLOBAL_EXPEDITED | PRIVATE_EXPEDITED => {
                barrier_everywhere();
                Ok(0)
            }
            _ => Err(Errno::EINVAL),
        }
    }

    fn rseq(_cx: &mut Cx, _rseq: UserPtrMut<u8>, _len: u32, _flags: i32, _sig: u32) -> Result<(), Errno> {
        Err(Errno::ENOSYS)
    }

    fn clone3(_cx: &mut Cx, _args: UserPtrMut<u8>, _size: usize) -> Result<i32, Errno> {
        Err(Errno::ENOSYS)
    }
}
