//! A new process from the calling thread (Linux's `kernel_clone` and
//! `copy_process` in kernel/fork.c, for `fork`, `vfork` and `clone`
//! without `CLONE_THREAD`).
//!
//! The child gets a new pid, a copy of the caller's memory (eager: see
//! `AddressSpace::duplicate`), or the same memory with `CLONE_VM` (as
//! `vfork` and `posix_spawn` ask), a copy of the descriptor table (the
//! same open file descriptions: offsets are shared), of the current
//! directory and umask, of the signal actions (nothing pending), and one
//! thread: a copy of the caller with its registers, FS and GS bases,
//! extended state, blocked mask and alternate stack, returning 0. With
//! `CLONE_VFORK` the caller sleeps until the child calls `execve` or ends.

use alloc::sync::Arc;
use core::sync::atomic::Ordering;

use entry_asm::pt_regs::PtRegs;
use libos_abi::abi_types::clone_flags::*;
use libos_abi::errno::Errno;
use x86_64::registers::model_specific::{FsBase, KernelGsBase};

use super::{Lineage, Process, table};
use crate::mm::user_access::write_user;
use crate::sched::{self, Task};

/// The `clone` flags a new process may have (besides the exit signal in
/// the low byte).
pub const PROCESS_FLAGS: u64 =
    CLONE_VM | CLONE_VFORK | CLONE_SETTLS | CLONE_PARENT_SETTID | CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID;

/// What `clone` asked for a new process.
#[derive(Clone, Copy, Debug)]
pub struct ForkArgs {
    /// `clone`'s flags (checked against [`PROCESS_FLAGS`] and `CSIGNAL`).
    pub flags: u64,
    /// The child's stack pointer (0: the caller's).
    pub stack: u64,
    /// Where `CLONE_PARENT_SETTID` writes the child's pid (in the caller).
    pub parent_tid: u64,
    /// Where `CLONE_CHILD_SETTID` writes it (in the child) and
    /// `CLONE_CHILD_CLEARTID` clears it.
    pub child_tid: u64,
    /// The child's FS base with `CLONE_SETTLS`.
    pub tls: u64,
}

impl ForkArgs {
    /// Plain `fork`: `SIGCHLD`, nothing else.
    pub const FORK: ForkArgs =
        ForkArgs { flags: libos_abi::signal::sig::SIGCHLD as u64, stack: 0, parent_tid: 0, child_tid: 0, tls: 0 };
    /// `vfork`: `CLONE_VM | CLONE_VFORK | SIGCHLD`.
    pub const VFORK: ForkArgs = ForkArgs { flags: CLONE_VM | CLONE_VFORK | ForkArgs::FORK.flags, ..ForkArgs::FORK };
}

/// Makes a child process of the caller, whose registers are `regs`;
/// returns its pid. Errors: `EINVAL` for flags outside
/// [`PROCESS_FLAGS`] or an invalid exit signal, `EAGAIN` at the process
/// limit, `ENOMEM`, `EFAULT` (`CLONE_PARENT_SETTID`), `EINTR` (killed
/// while copying).
pub fn fork(regs: &PtRegs, args: ForkArgs) -> Result<i32, Errno> {
    let exit_signal = args.flags & CSIGNAL;
    if args.flags & !(PROCESS_FLAGS | CSIGNAL) != 0 || exit_signal > libos_abi::signal::sig::NSIG as u64 {
        return Err(Errno::EINVAL);
    }
    if args.flags & CLONE_SETTLS != 0 && args.tls >= entry_asm::layout::USER_END {
        return Err(Errno::EPERM);
    }
    let parent = super::current().ok_or(Errno::EINVAL)?;
    let caller = sched::current();
    // Cheap refusal before the copy: the limit is checked again, under
    // the table's lock, when the child is listed.
    if table::count() >= table::MAX_PROCESSES {
        return Err(Errno::EAGAIN);
    }
    let space = if args.flags & CLONE_VM != 0 { parent.space() } else { parent.space().duplicate()? };
    let pid = Task::allocate_tid();
    let lineage = Lineage {
        parent: Some(Arc::downgrade(&parent)),
        pgid: parent.pgid,
        exit_signal: exit_signal as u8,
        files: parent.files.duplicate()?,
        program: parent.program(),
    };
    let child = Process::new(pid, &parent.name, space, lineage);
    // The actions are copied; nothing is pending.
    let actions = parent.signals.lock().actions;
    child.signals.lock().actions = actions;
    table::insert(&child)?;
    let rsp = if args.stack != 0 { args.stack } else { regs.rsp };
    let task = Task::new_user(child.clone(), Some(pid), regs.rip, rsp, |r| {
        *r = *regs;
        r.rax = 0;
        r.rsp = rsp;
    })
    .ok_or(Errno::ENOMEM)?;
    task.affinity.store(caller.affinity.load(Ordering::Relaxed), Ordering::Relaxed);
    *task.name.lock() = *caller.name.lock();
    // The nice value is inherited (Linux's `sched_fork`); interval timers
    // are not (`Process::new` gives the child its own, disarmed).
    task.nice.store(caller.nice.load(Ordering::Relaxed), Ordering::Relaxed);
    {
        // The new thread's signal state starts empty; set in place (the
        // pending sets are kilobytes: no copies on this stack).
        let (blocked, altstack) = {
            let ts = caller.signals.lock();
            (ts.blocked, ts.altstack)
        };
        let mut cs = task.signals.lock();
        cs.blocked = blocked;
        // A new process keeps its creator's alternate stack (Linux clears
        // it only for CLONE_VM threads).
        if args.flags & CLONE_VM == 0 {
            cs.altstack = altstack;
        }
    }
    let xstate = sched::with_current_xstate(|x| {
        x.save();
        x.duplicate()
    })
    .ok_or(Errno::ENOMEM)?;
    // SAFETY: the child has not run yet; only this code touches its context.
    unsafe {
        let ctx = &mut *task.context.get();
        ctx.fs_base = if args.flags & CLONE_SETTLS != 0 { args.tls } else { FsBase::read().as_u64() };
        ctx.gs_base = KernelGsBase::read().as_u64();
        ctx.xstate = Some(xstate);
    }
    if args.flags & CLONE_CHILD_CLEARTID != 0 {
        task.clear_child_tid.store(args.child_tid, Ordering::Relaxed);
    }
    if args.flags & CLONE_CHILD_SETTID != 0 {
        // Linux writes it from the child, ignoring a fault (`schedule_tail`).
        let _ = child.space().write_initial(args.child_tid, &pid.to_ne_bytes());
    }
    if args.flags & CLONE_PARENT_SETTID != 0 {
        write_user(args.parent_tid, &pid)?;
    }
    let task = Arc::new(task);
    parent.add_child(child.clone())?;
    // Listed as a child before it can run (it may end at once on another
    // CPU, and its end looks for itself among its parent's children).
    if let Err(e) = child.charge_thread().and_then(|()| child.add_thread(task.clone())) {
        parent.forget_child(&child);
        return Err(e);
    }
    sched::spawn(task);
    if args.flags & CLONE_VFORK != 0 {
        child.wait_for_release();
    }
    Ok(pid as i32)
}
