//! `net.dump=SECS` (test kernels): the poll thread prints the socket
//! table every SECS seconds ([`super::socket::Table::dump`]), to tell a
//! stalled connection's cause from its state: data waiting while a task
//! still waits (a lost wake-up), or nothing received (the peer's data
//! never came), or a listener holding connections nobody accepts.

use core::sync::atomic::{AtomicU64, Ordering};

use super::stack::Stack;
use crate::time;

/// Nanoseconds between two dumps (0: none).
static EVERY_NS: AtomicU64 = AtomicU64::new(0);
/// The TSC deadline of the next dump.
static NEXT: AtomicU64 = AtomicU64::new(u64::MAX);

/// Dumps every `secs` seconds from now on (`None`: never).
pub fn set_interval(secs: Option<u64>) {
    if let Some(secs) = secs {
        EVERY_NS.store(secs * 1_000_000_000, Ordering::Release);
        NEXT.store(time::deadline_after(secs * 1_000_000_000), Ordering::Release);
    }
}

/// Dumps if the time has come (the poll thread calls this after each
/// poll, with the stack locked). Returns the TSC deadline of the next
/// dump, which the poll thread wakes for (`None`: no dumps).
pub fn maybe_dump(stack: &Stack) -> Option<u64> {
    let every = EVERY_NS.load(Ordering::Acquire);
    if every == 0 {
        return None;
    }
    let mut next = NEXT.load(Ordering::Acquire);
    if time::rdtsc() >= next {
        stack.table.dump(&stack.sockets);
        next = time::deadline_after(every);
        NEXT.store(next, Ordering::Release);
    }
    Some(next)
}
