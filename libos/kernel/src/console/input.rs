//! Console input: bytes typed on COM1, kept in a small ring until an app
//! reads them, and the wait queue readers sleep on.
//!
//! The UART's receive interrupt is not routed (the kernel has no I/O APIC
//! driver yet), so a reader with nothing to read sleeps on [`READERS`] with
//! a deadline [`POLL_NS`] away and looks at the UART again when it passes:
//! a blocked reader costs one timer event and one wake-up per period, no
//! CPU time in between, and a kill (or, later, a signal) wakes it at once
//! like any wait. When the interrupt is routed, its handler calls [`poll`]
//! and wakes [`READERS`], and the deadline goes.

use libos_abi::errno::Errno;

use crate::sched::wait::{WaitQueue, WaitResult};
use crate::sync::SpinLock;

/// How long a blocked reader sleeps between two looks at the UART.
pub const POLL_NS: u64 = 10_000_000;

/// Bytes kept between the UART and the readers (the UART's own FIFO holds
/// 16 more).
const RING_BYTES: usize = 256;

/// Bytes received and not yet read.
static RING: SpinLock<heapless::Deque<u8, RING_BYTES>> = SpinLock::new(heapless::Deque::new());

/// Readers waiting for input.
pub static READERS: WaitQueue = WaitQueue::new();

/// Moves the bytes waiting in the UART into the ring (as many as fit);
/// returns whether the ring holds any.
pub fn poll() -> bool {
    let mut ring = RING.lock();
    while !ring.is_full() {
        match super::try_read_byte() {
            Some(b) => {
                let _ = ring.push_back(b);
            }
            None => break,
        }
    }
    !ring.is_empty()
}

/// Takes up to `buf.len()` received bytes (a carriage return becomes a
/// newline, as a terminal in `icrnl` mode gives it); returns how many.
pub fn take(buf: &mut [u8]) -> usize {
    let mut ring = RING.lock();
    let mut n = 0;
    while n < buf.len() {
        match ring.pop_front() {
            Some(b) => {
                buf[n] = if b == b'\r' { b'\n' } else { b };
                n += 1;
            }
            None => break,
        }
    }
    n
}

/// Blocks until input is there ([`WaitResult::Ready`]) or the caller is
/// interrupted ([`WaitResult::Interrupted`]); never times out.
pub fn wait_for_input() -> Result<WaitResult, Errno> {
    loop {
        let deadline = crate::time::deadline_after(POLL_NS);
        match READERS.wait_event(Some(deadline), poll)? {
            WaitResult::TimedOut => continue,
            done => return Ok(done),
        }
    }
}
