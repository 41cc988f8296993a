//! A serial port shared by every CPU: the console (COM1) and the run record
//! (COM2) are each one of these.
//!
//! The lock records which CPU holds the port. A CPU that enters it again
//! while it holds it (an exception or NMI during a print) writes without
//! waiting, and an emergency writer (the panic and fatal-report paths)
//! takes the port even from a CPU that does not give it back, so a report
//! always gets out.

use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicUsize, Ordering};

use crate::arch::x86_64::interrupts;
use crate::arch::x86_64::serial::Uart16550;
use crate::percpu::cpu_index;

/// Spins an emergency writer waits for another CPU before writing anyway.
const EMERGENCY_SPINS: usize = 10_000_000;

/// A UART and the CPU that holds it.
pub struct SharedUart {
    /// 0 when free, else the holder's CPU index + 1.
    owner: AtomicUsize,
    uart: UnsafeCell<Uart16550>,
}

// SAFETY: the UART is only touched by the CPU recorded in `owner` (or, on
// the emergency path, by a CPU that gave up waiting for a holder that is not
// coming back, which only garbles output).
unsafe impl Sync for SharedUart {}

impl SharedUart {
    /// The port at I/O base `base`, free.
    pub const fn new(base: u16) -> SharedUart {
        SharedUart { owner: AtomicUsize::new(0), uart: UnsafeCell::new(Uart16550::new(base)) }
    }

    /// Runs `f` on the UART with interrupts off, holding the port (or
    /// re-entering it; or, if `emergency`, after giving up on a holder that
    /// does not let go). While it waits it answers other CPUs' cross-CPU
    /// calls, so a holder waiting for this CPU cannot deadlock with it.
    pub fn with<R>(&self, emergency: bool, f: impl FnOnce(&mut Uart16550) -> R) -> R {
        let me = cpu_index() + 1;
        let irqs = interrupts::disable_and_save();
        let nested = self.owner.load(Ordering::Relaxed) == me;
        let mut took = false;
        if !nested {
            let mut spins = 0usize;
            loop {
                if self.owner.compare_exchange_weak(0, me, Ordering::Acquire, Ordering::Relaxed).is_ok() {
                    took = true;
                    break;
                }
                spins += 1;
                if emergency && spins > EMERGENCY_SPINS {
                    break;
                }
                crate::smp::call::run_pending();
                core::hint::spin_loop();
            }
        }
        // SAFETY: this CPU holds the port, re-entered it, or (emergency) gave
        // up waiting for a holder that is not coming back.
        let r = f(unsafe { &mut *self.uart.get() });
        if took {
            self.owner.store(0, Ordering::Release);
        }
        interrupts::restore(irqs);
        r
    }
}
