//! clone (threads), prctl, arch_prctl, gettid, futex and set_tid_address
//! (Linux's `kernel/fork.c`, `kernel/sys.c`, `arch/x86/kernel/process_64.c`,
//! `kernel/futex/syscalls.c`).

use core::sync::atomic::Ordering;

use entry_asm::layout::{USER_END, is_user_range};
use libos_abi::abi_types::Timespec;
use libos_abi::abi_types::arch_prctl_code::{ARCH_GET_FS, ARCH_GET_GS, ARCH_SET_FS, ARCH_SET_GS};
use libos_abi::abi_types::clone_flags::*;
use libos_abi::abi_types::futex_op::*;
use libos_abi::abi_types::prctl_option::{PR_GET_NAME, PR_SET_NAME, TASK_COMM_LEN};
use libos_abi::errno::Errno;
use libos_abi::syscalls::Thread;
use libos_abi::user_ptr::{UserPtr, UserPtrMut};
use x86_64::VirtAddr;
use x86_64::registers::model_specific::{FsBase, KernelGsBase};

use super::{Cx, Kernel};
use crate::mm::user_access::{copy_from_user, copy_to_user, read_user, write_user};
use crate::process::fork::ForkArgs;
use crate::sched::{self, Task, ThreadName, futex};
use crate::{process, time};

/// Flags `clone` accepts besides the thread flags. `CLONE_DETACHED`, which
/// musl's `pthread_create` passes, has been ignored by Linux since 2.6.
const OPTIONAL: u64 =
    CLONE_SETTLS | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID | CLONE_CHILD_SETTID | CLONE_SYSVSEM | CLONE_DETACHED;
/// Flags `clone` requires: only threads of the caller's process.
const REQUIRED: u64 = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD;

fn user_address(addr: u64) -> bool {
    addr < USER_END
}

/// TSC deadline for a futex timeout: relative for FUTEX_WAIT, absolute on
/// the monotonic (or, with FUTEX_CLOCK_REALTIME, the realtime) clock for
/// FUTEX_WAIT_BITSET.
fn futex_deadline(timeout: UserPtr<Timespec>, absolute: bool, realtime: bool) -> Result<Option<u64>, Errno> {
    if timeout.is_null() {
        return Ok(None);
    }
    let t: Timespec = read_user(timeout.addr())?;
    if t.tv_sec < 0 || !(0..1_000_000_000).contains(&t.tv_nsec) {
        return Err(Errno::EINVAL);
    }
    let ns = (t.tv_sec as u64).saturating_mul(1_000_000_000).saturating_add(t.tv_nsec as u64);
    let relative = if !absolute {
        ns
    } else if realtime {
        ns.saturating_sub(time::realtime_ns())
    } else {
        ns.saturating_sub(time::monotonic_ns())
    };
    Ok(Some(time::deadline_after(relative)))
}

/// Reads the name string at `addr`: `TASK_COMM_LEN` bytes, or fewer when
/// a NUL comes before the end of readable memory (a short name may sit at
/// the very end of a mapping).
pub(super) fn read_name(addr: u64) -> Result<[u8; TASK_COMM_LEN], Errno> {
    let mut out = [0u8; TASK_COMM_LEN];
    match copy_from_user(&mut out, addr) {
        Ok(()) => Ok(out),
        Err((_, arrived)) if out[..arrived].contains(&0) => Ok(out),
        Err((e, _)) => Err(e),
    }
}

impl Thread for Kernel {
    /// A new thread of the calling app, or a new process (without
    /// `CLONE_THREAD`: `process::fork`).
    fn clone(
        cx: &mut Cx,
        flags: u64,
        stack: usize,
        parent_tid: UserPtrMut<i32>,
        child_tid: UserPtrMut<i32>,
        tls: u64,
    ) -> Result<i32, Errno> {
        if flags & CLONE_THREAD == 0 {
            // A new process (`fork`, `vfork`, `posix_spawn`).
            let args = ForkArgs {
                flags,
                stack: stack as u64,
                parent_tid: parent_tid.addr(),
                child_tid: child_tid.addr(),
                tls,
            };
            return process::fork::fork(cx.regs(), args);
        }
        if flags & REQUIRED != REQUIRED || flags & !(REQUIRED | OPTIONAL) != 0 {
            return Err(Errno::EINVAL);
        }
        if flags & CLONE_SETTLS != 0 && !user_address(tls) {
            return Err(Errno::EPERM);
        }
        let process = process::current().ok_or(Errno::EINVAL)?;
        // Charged before anything is allocated, atomically: CPUs cloning
        // at once never pass the limit together.
        process.charge_thread()?;
        let created = create_thread(cx, &process, flags, stack, parent_tid, child_tid, tls);
        if created.is_err() {
            process.uncharge_thread();
        }
        let child = created?;
        let tid = child.tid;
        // Registered before it can run (it may exit at once on another CPU);
        // `add_thread` gives the charge back itself if it fails.
        process.add_thread(child.clone())?;
        sched::spawn(child);
        Ok(tid as i32)
    }

    /// The calling thread's name.
    fn prctl(_cx: &mut Cx, option: i32, arg2: u64, arg3: u64, arg4: u64, arg5: u64) -> Result<i32, Errno> {
        let rest = [arg3, arg4, arg5];
        match option {
            PR_SET_NAME | PR_GET_NAME if rest != [0; 3] => Err(Errno::EINVAL),
            PR_SET_NAME => {
                let bytes = read_name(arg2)?;
                *sched::current().name.lock() = ThreadName::new(&bytes);
                Ok(0)
            }
            PR_GET_NAME => {
                let name = *sched::current().name.lock();
                copy_to_user(arg2, name.bytes()).map_err(|(e, _)| e)?;
                Ok(0)
            }
            _ => Err(Errno::EINVAL),
        }
    }

    /// The caller's FS and GS bases.
    fn arch_prctl(_cx: &mut Cx, code: i32, addr: u64) -> Result<(), Errno> {
        match code {
            ARCH_SET_FS | ARCH_SET_GS if !user_address(addr) => Err(Errno::EPERM),
            ARCH_SET_FS => {
                FsBase::write(VirtAddr::new_truncate(addr));
                Ok(())
            }
            // The user's GS base waits in IA32_KERNEL_GS_BASE while the kernel runs.
            ARCH_SET_GS => {
                KernelGsBase::write(VirtAddr::new_truncate(addr));
                Ok(())
            }
            ARCH_GET_FS => write_user(addr, &FsBase::read().as_u64()),
            ARCH_GET_GS => write_user(addr, &KernelGsBase::read().as_u64()),
            _ => Err(Errno::EINVAL),
        }
    }

    fn gettid(_cx: &mut Cx) -> Result<i32, Errno> {
        Ok(sched::with_current(|t| t.tid as i32))
    }

    /// `timeout` is a count (`val2`) for the requeues, as in Linux's
    /// `do_futex`.
    fn futex(
        _cx: &mut Cx,
        uaddr: UserPtrMut<u32>,
        op: i32,
        val: u32,
        timeout: UserPtr<Timespec>,
        uaddr2: UserPtrMut<u32>,
        val3: u32,
    ) -> Result<usize, Errno> {
        let process = process::current().ok_or(Errno::EINVAL)?;
        let realtime = op & FUTEX_CLOCK_REALTIME != 0;
        let cmd = op & !(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME);
        if !is_user_range(uaddr.addr(), 4) {
            return Err(Errno::EFAULT);
        }
        match cmd {
            // Linux (since 4.5) takes FUTEX_CLOCK_REALTIME with FUTEX_WAIT;
            // its timeout stays relative.
            FUTEX_WAIT => {
                let deadline = futex_deadline(timeout, false, false)?;
                futex::wait(&process.space(), &process.usage, uaddr.addr(), val, FUTEX_BITSET_MATCH_ANY, deadline)
                    .map(|()| 0)
            }
            FUTEX_WAIT_BITSET => {
                let deadline = futex_deadline(timeout, true, realtime)?;
                futex::wait(&process.space(), &process.usage, uaddr.addr(), val, val3, deadline).map(|()| 0)
            }
            // Linux's `do_futex`: the clock flag only goes with the waits.
            _ if realtime => Err(Errno::ENOSYS),
            FUTEX_WAKE => Ok(futex::wake(&process.space(), uaddr.addr(), val, FUTEX_BITSET_MATCH_ANY)),
            FUTEX_WAKE_BITSET => {
                if val3 == 0 {
                    return Err(Errno::EINVAL);
                }
                Ok(futex::wake(&process.space(), uaddr.addr(), val, val3))
            }
            FUTEX_REQUEUE | FUTEX_CMP_REQUEUE => {
                // Linux's `futex_requeue` takes both counts as ints.
                let nr_requeue = timeout.addr() as u32;
                if (val as i32) < 0 || (nr_requeue as i32) < 0 {
                    return Err(Errno::EINVAL);
                }
                if !is_user_range(uaddr2.addr(), 4) {
                    return Err(Errno::EFAULT);
                }
                let expected = (cmd == FUTEX_CMP_REQUEUE).then_some(val3);
                futex::requeue(&process.space(), uaddr.addr(), uaddr2.addr(), val, nr_requeue, expected)
            }
            // Linux's answer to an operation it does not know.
            _ => Err(Errno::ENOSYS),
        }
    }

    fn set_tid_address(_cx: &mut Cx, tidptr: UserPtrMut<i32>) -> Result<i32, Errno> {
        let task = sched::current();
        task.clear_child_tid.store(tidptr.addr(), Ordering::Release);
        Ok(task.tid as i32)
    }
}

/// The new thread of `clone` (not yet added to its process nor runnable).
fn create_thread(
    cx: &mut Cx,
    process: &alloc::sync::Arc<process::Process>,
    flags: u64,
    stack: usize,
    parent_tid: UserPtrMut<i32>,
    child_tid: UserPtrMut<i32>,
    tls: u64,
) -> Result<alloc::sync::Arc<Task>, Errno> {
    let parent = sched::current();
    let regs = *cx.regs();
    let rsp = if stack != 0 { stack as u64 } else { regs.rsp };
    let tid = Task::allocate_tid();
    let child = Task::new_user((*process).clone(), Some(tid), regs.rip, rsp, |r| {
        *r = regs;
        r.rax = 0;
        r.rsp = rsp;
    })
    .ok_or(Errno::ENOMEM)?;
    child.affinity.store(parent.affinity.load(Ordering::Relaxed), Ordering::Relaxed);
    *child.name.lock() = *parent.name.lock();
    child.nice.store(parent.nice.load(Ordering::Relaxed), Ordering::Relaxed);
    // Linux's `copy_process`: the creator's blocked mask; nothing pending;
    // no alternate stack (cleared for `CLONE_VM`).
    let blocked = parent.signals.lock().blocked;
    *child.signals.lock() = crate::signal::ThreadSignals::inherited(blocked);
    // SAFETY: the child has not run yet; only this code touches its context.
    unsafe {
        let ctx = &mut *child.context.get();
        ctx.fs_base = if flags & CLONE_SETTLS != 0 { tls } else { FsBase::read().as_u64() };
        ctx.gs_base = KernelGsBase::read().as_u64();
    }
    if flags & CLONE_CHILD_CLEARTID != 0 {
        child.clear_child_tid.store(child_tid.addr(), Ordering::Relaxed);
    }
    if flags & CLONE_PARENT_SETTID != 0 {
        write_user(parent_tid.addr(), &tid)?;
    }
    if flags & CLONE_CHILD_SETTID != 0 {
        write_user(child_tid.addr(), &tid)?;
    }
    Ok(alloc::sync::Arc::new(child))
}
