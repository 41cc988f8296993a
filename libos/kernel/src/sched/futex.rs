//! Futexes: the one blocking primitive apps build locks on.
//!
//! A waiter is keyed by (address space, user address). `wait` checks the
//! user value and queues the caller under the key's bucket lock, and `wake`
//! takes the same lock, so a wake that follows a value change cannot fall
//! between the check and the queueing (the classic lost wake-up). The
//! sleeping itself is [`wait::sleep_blocked`]: a kill of the app or the
//! deadline ends it too, and its timer leaves the timer list at once.
//! Each waiter is charged to its app ([`Resource::FutexWaiters`]) while it
//! is queued. [`requeue`] moves waiters to another address (and bucket)
//! under both buckets' locks; a waiter finds its queue again through
//! `Task::futex_at`, as Linux's `futex_q` through its `lock_ptr`.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::Ordering;

use libos_abi::errno::Errno;
use libos_kcore::limits::{Resource, Usage};

use super::wait::{self, interrupted};
use super::{Task, TaskState, current, enqueue};
use crate::arch::x86_64::interrupts;
use crate::mm::address_space::AddressSpace;
use crate::mm::user_access::read_user;
use crate::sync::SpinLock;

struct Waiter {
    space: usize,
    uaddr: u64,
    bitset: u32,
    task: Arc<Task>,
}

const BUCKETS: usize = 64;

static TABLE: [SpinLock<Vec<Waiter>>; BUCKETS] = [const { SpinLock::new(Vec::new()) }; BUCKETS];

fn bucket(space: usize, uaddr: u64) -> &'static SpinLock<Vec<Waiter>> {
    let h = (uaddr >> 2) ^ (space as u64 >> 6);
    &TABLE[(h.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 58) as usize % BUCKETS]
}

/// Waits on `uaddr` while it holds `val`, until woken (with a matching
/// bitset: `Ok`), until the TSC passes `deadline` (`ETIMEDOUT`), or until
/// the app ends (`EINTR`). `EAGAIN` if the value differs (or the app has as
/// many futex waiters as its limit allows), `ENOMEM` if the kernel has no
/// memory for the waiter.
pub fn wait(
    space: &AddressSpace,
    usage: &Usage,
    uaddr: u64,
    val: u32,
    bitset: u32,
    deadline: Option<u64>,
) -> Result<(), Errno> {
    if !uaddr.is_multiple_of(4) || bitset == 0 {
        return Err(Errno::EINVAL);
    }
    let key = space as *const AddressSpace as usize;
    let task = current();
    let _charge = usage.charge(Resource::FutexWaiters).map_err(|_| Errno::EAGAIN)?;
    loop {
        // Fault the word's page in with interrupts on: the read under the
        // bucket lock below cannot populate it (a user-copy fault with
        // interrupts off is not resolved, see `trap::exception`). If the
        // page goes away in between, that read fails and we come back here.
        read_user::<u32>(uaddr)?;
        let irqs = interrupts::disable_and_save();
        let queued = {
            let mut waiters = bucket(key, uaddr).lock();
            match read_user::<u32>(uaddr) {
                Err(Errno::EFAULT) => {
                    drop(waiters);
                    interrupts::restore(irqs);
                    continue;
                }
                Err(e) => Err(e),
                Ok(now) if now != val => Err(Errno::EAGAIN),
                Ok(_) if waiters.try_reserve(1).is_err() => Err(Errno::ENOMEM),
                Ok(_) => {
                    task.set_state(TaskState::Blocked);
                    task.futex_at.store(uaddr, Ordering::Relaxed);
                    waiters.push(Waiter { space: key, uaddr, bitset, task: task.clone() });
                    Ok(())
                }
            }
        };
        if let Err(e) = queued {
            interrupts::restore(irqs);
            return Err(e);
        }
        let slept = wait::sleep_blocked(&task, deadline, true);
        interrupts::restore(irqs);
        // Still queued means no `wake` chose us: a kill, the deadline, or a
        // spurious wake-up (which re-checks the value, as Linux does).
        let still_queued = dequeue(key, &task);
        slept?;
        if !still_queued {
            return Ok(());
        }
        if interrupted(&task) {
            // Linux's `futex_wait`: restarted under SA_RESTART without a
            // timeout; with one, EINTR when a handler runs (Linux restarts
            // with the time left; a restart here starts the full timeout
            // again, so it is EINTR whenever a handler runs).
            return Err(if deadline.is_none() { Errno::ERESTARTSYS } else { Errno::ERESTARTNOHAND });
        }
        if deadline.is_some_and(|d| crate::time::rdtsc() >= d) {
            return Err(Errno::ETIMEDOUT);
        }
    }
}

/// Takes `task` out of the queue it is in, if it still is in one (it may
/// have been requeued to another address meanwhile); whether it was.
fn dequeue(key: usize, task: &Arc<Task>) -> bool {
    loop {
        let at = task.futex_at.load(Ordering::Relaxed);
        let mut waiters = bucket(key, at).lock();
        // A requeue changes `futex_at` under this lock and the new
        // bucket's: equal now, it stays so while we hold it.
        if task.futex_at.load(Ordering::Relaxed) != at {
            continue;
        }
        return match waiters.iter().position(|w| Arc::ptr_eq(&w.task, task)) {
            Some(i) => {
                waiters.remove(i);
                true
            }
            None => false,
        };
    }
}

/// Linux's `FUTEX_REQUEUE` and `FUTEX_CMP_REQUEUE` (kernel/futex/requeue.c,
/// without PI): with `expected`, `EAGAIN` unless the u32 at `uaddr` holds
/// it (read under the bucket locks, so no wake-up falls in between); then
/// wakes up to `nr_wake` waiters on `uaddr` and moves up to `nr_requeue`
/// more to `uaddr2`, in queue order. Returns how many were woken or moved
/// (`futex_requeue`'s `task_count`). `uaddr2` must be aligned (`EINVAL`).
pub fn requeue(
    space: &AddressSpace,
    uaddr: u64,
    uaddr2: u64,
    nr_wake: u32,
    nr_requeue: u32,
    expected: Option<u32>,
) -> Result<usize, Errno> {
    if !uaddr.is_multiple_of(4) || !uaddr2.is_multiple_of(4) {
        return Err(Errno::EINVAL);
    }
    let key = space as *const AddressSpace as usize;
    loop {
        if expected.is_some() {
            // Faulted in with interrupts on (see `wait`).
            read_user::<u32>(uaddr)?;
        }
        let irqs = interrupts::disable_and_save();
        let (from, to) = (bucket(key, uaddr), bucket(key, uaddr2));
        let same = core::ptr::eq(from, to);
        // Two buckets are locked in address order (no ABBA with another
        // requeue the other way).
        let (mut first, second) = if same || (from as *const _) < (to as *const _) {
            (from.lock(), (!same).then(|| to.lock()))
        } else {
            let later = to.lock();
            (from.lock(), Some(later))
        };
        if let Some(val) = expected {
            match read_user::<u32>(uaddr) {
                Err(Errno::EFAULT) => {
                    drop((first, second));
                    interrupts::restore(irqs);
                    continue;
                }
                Err(e) => {
                    drop((first, second));
                    interrupts::restore(irqs);
                    return Err(e);
                }
                Ok(now) if now != val => {
                    drop((first, second));
                    interrupts::restore(irqs);
                    return Err(Errno::EAGAIN);
                }
                Ok(_) => {}
            }
        }
        let mut second = second;
        // Room for every waiter that may move, before anything changes.
        let movable = (nr_requeue as usize).min(first.len());
        if let Some(target) = second.as_mut()
            && target.try_reserve(movable).is_err()
        {
            drop((first, second));
            interrupts::restore(irqs);
            return Err(Errno::ENOMEM);
        }
        let (mut woken, mut moved) = (0usize, 0usize);
        let mut i = 0;
        while i < first.len() {
            let w = &first[i];
            if w.space != key || w.uaddr != uaddr {
                i += 1;
                continue;
            }
            if woken < nr_wake as usize {
                let w = first.remove(i);
                if w.task.try_unblock() {
                    enqueue(w.task.clone());
                }
                woken += 1;
            } else if moved < nr_requeue as usize {
                if let Some(target) = second.as_mut() {
                    let mut w = first.remove(i);
                    w.uaddr = uaddr2;
                    w.task.futex_at.store(uaddr2, Ordering::Relaxed);
                    target.push(w);
                } else {
                    // Same bucket: the waiter stays in place.
                    let w = &mut first[i];
                    w.uaddr = uaddr2;
                    w.task.futex_at.store(uaddr2, Ordering::Relaxed);
                    i += 1;
                }
                moved += 1;
            } else {
                break;
            }
        }
        drop((first, second));
        interrupts::restore(irqs);
        return Ok(woken + moved);
    }
}

/// Wakes up to `count` waiters on `uaddr` whose bitset meets `bitset`;
/// returns how many.
pub fn wake(space: &AddressSpace, uaddr: u64, count: u32, bitset: u32) -> usize {
    let key = space as *const AddressSpace as usize;
    let mut woken = 0usize;
    let mut waiters = bucket(key, uaddr).lock();
    waiters.retain(|w| {
        if woken < count as usize && w.space == key && w.uaddr == uaddr && w.bitset & bitset != 0 {
            if w.task.try_unblock() {
                enqueue(w.task.clone());
            }
            woken += 1;
            false
        } else {
            true
        }
    });
    woken
}
