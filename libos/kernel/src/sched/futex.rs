//! Futexes: the one blocking primitive apps build locks on.
//!
//! A waiter is keyed by (address space, user address). `wait` checks the
//! user value and queues the caller under the key's bucket lock, and `wake`
//! takes the same lock, so a wake that follows a value change cannot fall
//! between the check and the queueing (the classic lost wake-up). The
//! sleeping itself is [`wait::sleep_blocked`]: a kill of the app or the
//! deadline ends it too, and its timer leaves the timer list at once.
//! Each waiter is charged to its app ([`Resource::FutexWaiters`]) while it
//! is queued.

use alloc::sync::Arc;
use alloc::vec::Vec;

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
        let still_queued = {
            let mut waiters = bucket(key, uaddr).lock();
            match waiters.iter().position(|w| Arc::ptr_eq(&w.task, &task)) {
                Some(i) => {
                    waiters.remove(i);
                    true
                }
                None => false,
            }
        };
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
