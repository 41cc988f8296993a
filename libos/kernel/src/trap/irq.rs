//! External interrupts and IPIs (vectors 32 to 255): what each vector does.
//!
//! The system vectors (`arch::x86_64::vectors`) are matched in [`handle`];
//! a device driver gets a vector of its own from
//! [`request_device_vector`], with the function to run, and routes its
//! device's interrupt (MSI, I/O APIC) to it. Every handler runs with
//! interrupts off on the interrupted stack; [`handle`] signals the end of
//! the interrupt to the local APIC after it.
//!
//! Adding a system vector: a constant in `arch::x86_64::vectors` (its
//! priority class is vector / 16) and an arm in [`handle`].

use core::sync::atomic::{AtomicUsize, Ordering};

use crate::arch::x86_64::{apic, vectors};
use crate::percpu;

/// How many device vectors there are.
const DEVICE_VECTORS: usize = (vectors::DEVICE_LAST - vectors::DEVICE_FIRST) as usize + 1;

/// The handlers of the device vectors, by `vector - DEVICE_FIRST`: a
/// `fn()` as an address, 0 while free.
static DEVICE_HANDLERS: [AtomicUsize; DEVICE_VECTORS] = [const { AtomicUsize::new(0) }; DEVICE_VECTORS];

#[cfg(feature = "hooks")]
crate::per_cpu! {
    /// Test interrupts this CPU has taken (self-IPIs and test timer events,
    /// read by the tests).
    pub static TEST_INTERRUPTS: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);
}

/// Handles external interrupt or IPI `vector` (from `trap::do_interrupt`).
pub fn handle(vector: u8) {
    match vector {
        // No EOI for a spurious interrupt (Intel SDM Vol. 3A, "Spurious
        // Interrupt"); the legacy PICs are masked, their vectors spurious.
        vectors::SPURIOUS | vectors::LEGACY_PIC_FIRST..=vectors::LEGACY_PIC_LAST => return,
        vectors::TIMER => crate::sched::timer::tick(),
        vectors::RESCHEDULE => crate::sched::reschedule_ipi(),
        vectors::CALL_FUNCTION => crate::smp::call::run_pending(),
        #[cfg(feature = "hooks")]
        vectors::TEST => {
            TEST_INTERRUPTS.this().fetch_add(1, Ordering::Relaxed);
        }
        vectors::APIC_ERROR => crate::println!("[libos] local APIC error on CPU {}", percpu::cpu_index()),
        vectors::DEVICE_FIRST..=vectors::DEVICE_LAST => match device_handler(vector) {
            Some(handler) => handler(),
            None => crate::println!("[libos] interrupt on unclaimed device vector {vector:#x}"),
        },
        _ => crate::println!("[libos] unexpected interrupt vector {vector:#x} on CPU {}", percpu::cpu_index()),
    }
    apic::eoi();
}

/// The handler of device vector `vector`, if one was requested.
fn device_handler(vector: u8) -> Option<fn()> {
    let raw = DEVICE_HANDLERS[usize::from(vector - vectors::DEVICE_FIRST)].load(Ordering::Acquire);
    // SAFETY: a nonzero entry is a `fn()` stored by `request_device_vector`.
    (raw != 0).then(|| unsafe { core::mem::transmute::<usize, fn()>(raw) })
}

// No driver asks yet (the boot tests do): the virtio drivers will.
#[cfg_attr(not(feature = "boot-tests"), allow(dead_code))]
/// Gives a device driver a vector of its own: `handler` runs, on whatever
/// CPU the interrupt arrives at, every time it does. `None` when every
/// device vector is taken. The driver routes its device's interrupt to the
/// vector (an MSI message, an I/O APIC entry), after this returns.
pub fn request_device_vector(handler: fn()) -> Option<u8> {
    let raw = handler as usize;
    let index = DEVICE_HANDLERS
        .iter()
        .position(|slot| slot.compare_exchange(0, raw, Ordering::AcqRel, Ordering::Acquire).is_ok())?;
    Some(vectors::DEVICE_FIRST + index as u8)
}

#[cfg_attr(not(feature = "boot-tests"), allow(dead_code))]
/// Gives a device vector back (after its device stops raising it).
pub fn release_device_vector(vector: u8) {
    if (vectors::DEVICE_FIRST..=vectors::DEVICE_LAST).contains(&vector) {
        DEVICE_HANDLERS[usize::from(vector - vectors::DEVICE_FIRST)].store(0, Ordering::Release);
    }
}
