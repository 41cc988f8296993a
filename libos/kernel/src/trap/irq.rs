//! External interrupts and IPIs (vectors 32 to 255): what each vector does.
//!
//! The system vectors (`arch::x86_64::vectors`) are matched in [`handle`];
//! a device driver gets a vector of its own from
//! [`request_device_vector`], with the function to run and the value to
//! run it with (its device, as the `dev_id` of Linux's `request_irq`), and
//! routes its device's interrupt (MSI-X, I/O APIC) to it. Every handler
//! runs with interrupts off on the interrupted stack; [`handle`] signals
//! the end of the interrupt to the local APIC after it.
//!
//! Adding a system vector: a constant in `arch::x86_64::vectors` (its
//! priority class is vector / 16) and an arm in [`handle`].

use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use crate::arch::x86_64::{apic, vectors};
use crate::percpu;

/// How many device vectors there are.
const DEVICE_VECTORS: usize = (vectors::DEVICE_LAST - vectors::DEVICE_FIRST) as usize + 1;

/// One device vector: who has it, what it runs, how often it arrived.
struct DeviceSlot {
    /// Taken by a driver (claimed before the handler is stored).
    taken: AtomicBool,
    /// The handler, a `fn(usize)` as an address; 0 while none is set.
    handler: AtomicUsize,
    /// The value the handler runs with.
    data: AtomicUsize,
    /// Arrivals since the vector was requested (Linux's per-IRQ
    /// `kstat_irqs`, one total here).
    count: AtomicU64,
}

/// The device vectors, by `vector - DEVICE_FIRST`.
static DEVICE_SLOTS: [DeviceSlot; DEVICE_VECTORS] = [const {
    DeviceSlot {
        taken: AtomicBool::new(false),
        handler: AtomicUsize::new(0),
        data: AtomicUsize::new(0),
        count: AtomicU64::new(0),
    }
}; DEVICE_VECTORS];

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
        vectors::DEVICE_FIRST..=vectors::DEVICE_LAST => device_interrupt(vector),
        _ => crate::println!("[libos] unexpected interrupt vector {vector:#x} on CPU {}", percpu::cpu_index()),
    }
    apic::eoi();
}

/// The slot of device vector `vector`, if it is one.
fn device_slot(vector: u8) -> Option<&'static DeviceSlot> {
    DEVICE_SLOTS.get(usize::from(vector.checked_sub(vectors::DEVICE_FIRST)?))
}

/// Device vector `vector` arrived: counts it and runs its handler.
fn device_interrupt(vector: u8) {
    let Some(slot) = device_slot(vector) else { return };
    slot.count.fetch_add(1, Ordering::Relaxed);
    let raw = slot.handler.load(Ordering::Acquire);
    if raw == 0 {
        crate::println!("[libos] interrupt on unclaimed device vector {vector:#x}");
        return;
    }
    // SAFETY: a nonzero handler is a `fn(usize)` stored by
    // `request_device_vector`, after the data it runs with (the Acquire
    // load above sees both).
    let handler = unsafe { core::mem::transmute::<usize, fn(usize)>(raw) };
    handler(slot.data.load(Ordering::Relaxed));
}

/// Gives a device driver a vector of its own: `handler(data)` runs, on
/// whatever CPU the interrupt arrives at, every time it does (interrupts
/// off: it must not block; it may take spinlocks and wake wait queues).
/// `None` when every device vector is taken. The driver routes its
/// device's interrupt to the vector (an MSI-X entry, an I/O APIC entry)
/// after this returns.
pub fn request_device_vector(handler: fn(usize), data: usize) -> Option<u8> {
    let index = DEVICE_SLOTS
        .iter()
        .position(|slot| slot.taken.compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire).is_ok())?;
    let slot = &DEVICE_SLOTS[index];
    slot.count.store(0, Ordering::Relaxed);
    slot.data.store(data, Ordering::Relaxed);
    slot.handler.store(handler as usize, Ordering::Release);
    Some(vectors::DEVICE_FIRST + index as u8)
}

/// Gives a device vector back, after its device stops raising it and an
/// interrupt of it that was on its way has been handled (Linux's
/// `free_irq` waits for that in `synchronize_irq`; here the caller does).
pub fn release_device_vector(vector: u8) {
    if let Some(slot) = device_slot(vector) {
        slot.handler.store(0, Ordering::Release);
        slot.taken.store(false, Ordering::Release);
    }
}

/// How many times device vector `vector` has arrived since it was
/// requested (0 for any other vector).
pub fn device_vector_count(vector: u8) -> u64 {
    device_slot(vector).map_or(0, |slot| slot.count.load(Ordering::Relaxed))
}
