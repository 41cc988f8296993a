//! Console input: bytes typed on COM1, kept in a small ring until an app
//! reads them, and the wait queue readers sleep on.
//!
//! COM1's receive interrupt (ISA IRQ 4) is routed through the I/O APIC to
//! CPU 0 ([`init_interrupt`]); its handler moves the UART's bytes into the
//! ring and wakes [`READERS`]. A reader with nothing to read sleeps on
//! [`READERS`]; a kill (or, later, a signal) wakes it at once like any
//! wait. It also looks at the UART itself every [`FALLBACK_POLL_NS`] (an
//! edge lost while the ring was full), or every [`POLL_NS`] on a machine
//! without an I/O APIC in its ACPI tables, where nothing else would wake
//! it: there a blocked reader costs one timer event per period and no CPU
//! time in between.

use core::sync::atomic::{AtomicBool, AtomicU8, Ordering};

use libos_abi::errno::Errno;
pub use libos_kcore::terminal_input::{self, Taken};

use crate::arch::x86_64::ioapic;
use crate::sched::wait::{WaitQueue, WaitResult};
use crate::sync::SpinLock;

/// How long a blocked reader sleeps between two looks at the UART when no
/// interrupt tells it about input.
pub const POLL_NS: u64 = 10_000_000;
/// The same when the receive interrupt is routed (a safety net only).
pub const FALLBACK_POLL_NS: u64 = 1_000_000_000;

/// COM1's ISA interrupt line.
const COM1_IRQ: u8 = 4;

/// The device vector COM1's receive interrupt arrives at (0: not routed).
static VECTOR: AtomicU8 = AtomicU8::new(0);
/// Whether it is routed.
static INTERRUPT_DRIVEN: AtomicBool = AtomicBool::new(false);

/// Routes COM1's receive interrupt through the I/O APIC to CPU 0 (after
/// the local APICs are up). False when the machine has no I/O APIC in its
/// ACPI tables or no device vector is free: readers then poll.
pub fn init_interrupt() -> bool {
    if !ioapic::init() {
        return false;
    }
    let Some(v) = crate::drivers::irq::allocate(on_receive, 0, Some(0)) else { return false };
    if !ioapic::route_isa_irq(COM1_IRQ, v.vector, v.apic_id) {
        crate::trap::irq::release_device_vector(v.vector);
        return false;
    }
    VECTOR.store(v.vector, Ordering::Relaxed);
    INTERRUPT_DRIVEN.store(true, Ordering::Release);
    super::enable_receive_interrupt();
    true
}

/// The vector COM1's receive interrupt arrives at, if it is routed.
#[cfg(feature = "boot-tests")]
pub fn interrupt_vector() -> Option<u8> {
    INTERRUPT_DRIVEN.load(Ordering::Acquire).then(|| VECTOR.load(Ordering::Relaxed))
}

/// The receive interrupt: bytes arrived.
fn on_receive(_: usize) {
    poll();
    READERS.wake_all();
}

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

/// Takes up to `buf.len()` received bytes as a terminal in canonical mode
/// gives them (see [`terminal_input::take`]: carriage returns become
/// newlines, Ctrl-D at the start of a read is end of file).
pub fn take(buf: &mut [u8]) -> Taken {
    terminal_input::take(&mut RING.lock(), buf)
}

/// How long a waiter for input (a reader, `poll`) may sleep before it
/// looks at the UART itself: [`FALLBACK_POLL_NS`] when the receive
/// interrupt wakes [`READERS`], else [`POLL_NS`].
pub fn recheck_ns() -> u64 {
    if INTERRUPT_DRIVEN.load(Ordering::Acquire) { FALLBACK_POLL_NS } else { POLL_NS }
}

/// Blocks until input is there ([`WaitResult::Ready`]) or the caller is
/// interrupted ([`WaitResult::Interrupted`]); never times out.
pub fn wait_for_input() -> Result<WaitResult, Errno> {
    loop {
        let deadline = crate::time::deadline_after(recheck_ns());
        match READERS.wait_event(Some(deadline), poll)? {
            WaitResult::TimedOut => continue,
            done => return Ok(done),
        }
    }
}
