//! The robust futex list a thread leaves behind when it ends (Linux's
//! `exit_robust_list` and `handle_futex_death`, kernel/futex/core.c).
//!
//! A C library registers one list head per thread (`set_robust_list`):
//! the robust mutexes the thread holds, linked through user memory. When
//! the thread ends, each futex word on the list that still names it as the
//! owner gets `FUTEX_OWNER_DIED` (keeping `FUTEX_WAITERS`), and one waiter
//! is woken, so the next locker learns the owner died instead of waiting
//! forever. The walk is bounded (`ROBUST_LIST_LIMIT` entries) and stops at
//! the first unreadable entry: the list is the app's, untrusted.
//!
//! Unlike Linux, which updates the word with an atomic compare-exchange on
//! user memory, the word is read and then written: a thread of the app
//! changing the word at that very moment can lose its change. That needs
//! a thread to touch a lock its owner is dying with, and it only concerns
//! robust mutexes.

use libos_abi::linux_types::RobustListHead;
use libos_abi::linux_types::robust_futex::{FUTEX_OWNER_DIED, FUTEX_TID_MASK, FUTEX_WAITERS, ROBUST_LIST_LIMIT};

use super::futex;
use crate::mm::address_space::AddressSpace;
use crate::mm::user_access::{Pod, read_user, write_user};

// SAFETY: three 64-bit integers, no padding (checked in libos-abi).
unsafe impl Pod for RobustListHead {}

/// Marks the futex at `uaddr` as left by dying thread `tid`, and wakes one
/// waiter if there are any.
fn handle_futex_death(space: &AddressSpace, uaddr: u64, tid: u32) {
    if !uaddr.is_multiple_of(4) {
        return;
    }
    let Ok(word) = read_user::<u32>(uaddr) else {
        return;
    };
    if word & FUTEX_TID_MASK != tid {
        return;
    }
    let new = (word & FUTEX_WAITERS) | FUTEX_OWNER_DIED;
    if write_user(uaddr, &new).is_ok() && word & FUTEX_WAITERS != 0 {
        futex::wake(space, uaddr, 1, u32::MAX);
    }
}

/// Walks the robust list whose head is at `head_addr` for thread `tid`,
/// which is ending; the calling thread is that thread (its address space is
/// the one in CR3).
pub fn exit_robust_list(space: &AddressSpace, head_addr: u64, tid: u32) {
    let Ok(head) = read_user::<RobustListHead>(head_addr) else {
        return;
    };
    // Bit 0 of an entry pointer marks a PI futex (Linux's
    // `fetch_robust_entry`); the entry is the address without it.
    let pending = head.list_op_pending & !1;
    let mut entry = head.list & !1;
    for _ in 0..ROBUST_LIST_LIMIT {
        if entry == head_addr || entry == 0 {
            break;
        }
        // Read the next entry before the futex may be released.
        let Ok(next) = read_user::<u64>(entry) else {
            return;
        };
        if entry != pending {
            handle_futex_death(space, entry.wrapping_add(head.futex_offset as u64), tid);
        }
        entry = next & !1;
    }
    if pending != 0 {
        handle_futex_death(space, pending.wrapping_add(head.futex_offset as u64), tid);
    }
}
