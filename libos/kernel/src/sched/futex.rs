//! Futexes: the one blocking primitive apps build locks on.
//!
//! A waiter is keyed by (address space, user address). `wait` checks the
//! user value and queues the caller under the key's bucket lock, and `wake`
//! takes the same lock, so a wake that follows a value change cannot fall
//! between the check and the queueing (the classic lost wake-up).

use alloc::sync::Arc;
use alloc::vec::Vec;

use libos_abi::errno::Errno;

use super::{Task, TaskState, current, enqueue, timer};
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
/// bitset), until the TSC passes `deadline`, or until the app ends.
pub fn wait(space: &AddressSpace, uaddr: u64, val: u32, bitset: u32, deadline: Option<u64>) -> Result<(), Errno> {
    if !uaddr.is_multiple_of(4) || bitset == 0 {
        return Err(Errno::EINVAL);
    }
    let key = space as *const AddressSpace as usize;
    let task = current();
    // Fault the word's page in with interrupts on: the read under the
    // bucket lock below cannot populate it (see `trap::exception`).
    read_user::<u32>(uaddr)?;
    let irqs = interrupts::disable_and_save();
    {
        let mut waiters = bucket(key, uaddr).lock();
        let now: u32 = match read_user(uaddr) {
            Ok(v) => v,
            Err(e) => {
                drop(waiters);
                interrupts::restore(irqs);
                return Err(e);
            }
        };
        if now != val {
            drop(waiters);
            interrupts::restore(irqs);
            return Err(Errno::EAGAIN);
        }
        if task.flags.killed() {
            drop(waiters);
            interrupts::restore(irqs);
            return Err(Errno::EINTR);
        }
        task.set_state(TaskState::Blocked);
        waiters.push(Waiter { space: key, uaddr, bitset, task: task.clone() });
    }
    let timed_out = timer::block_until(deadline);
    interrupts::restore(irqs);
    // Still queued means nobody woke us: a timeout, a kill, or spurious.
    let still_queued = {
        let mut waiters = bucket(key, uaddr).lock();
        let before = waiters.len();
        waiters.retain(|w| !Arc::ptr_eq(&w.task, &task));
        waiters.len() != before
    };
    if task.flags.killed() {
        return Err(Errno::EINTR);
    }
    if still_queued && timed_out {
        return Err(Errno::ETIMEDOUT);
    }
    Ok(())
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
