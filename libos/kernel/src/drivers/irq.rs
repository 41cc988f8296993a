//! Device interrupts as the drivers use them: a device vector from the
//! kernel's allocator (`trap::irq::request_device_vector`, which runs the
//! driver's handler when the vector arrives and counts its arrivals), and
//! the CPU it goes to, whose local APIC id the driver programs into the
//! device's MSI-X entry. Devices are spread over the online CPUs in turn,
//! as Linux's vector domain spreads them (`arch/x86/kernel/apic/vector.c`,
//! version 6.1).

use core::sync::atomic::{AtomicUsize, Ordering};

use crate::{percpu, smp, trap};

/// Round-robin choice of the CPU that takes the next device's interrupts.
static NEXT_CPU: AtomicUsize = AtomicUsize::new(0);

/// A device vector with its handler, and the CPU it is delivered to.
#[derive(Clone, Copy, Debug)]
pub struct DeviceVector {
    /// The vector.
    pub vector: u8,
    /// The local APIC id of the CPU that takes it.
    pub apic_id: u32,
    /// That CPU's index.
    pub cpu: usize,
}

/// The next online CPU in turn (the boot CPU if none other is).
fn next_online_cpu() -> usize {
    let count = percpu::cpu_count().max(1);
    (0..count).map(|_| NEXT_CPU.fetch_add(1, Ordering::Relaxed) % count).find(|&c| percpu::is_online(c)).unwrap_or(0)
}

/// Takes a free device vector for `handler(arg)` (run in interrupt
/// context: interrupts off, on the interrupted CPU's stack; it must not
/// block, and may take spinlocks and wake wait queues), delivered to `cpu`
/// (or, if `None`, to the online CPUs in turn). `None` if no vector is
/// free or the CPU has not come up.
pub fn allocate(handler: fn(usize), arg: usize, cpu: Option<usize>) -> Option<DeviceVector> {
    let cpu = cpu.unwrap_or_else(next_online_cpu);
    let apic_id = smp::apic_id(cpu)?;
    let vector = trap::irq::request_device_vector(handler, arg)?;
    Some(DeviceVector { vector, apic_id, cpu })
}

/// How many times device vector `v` has arrived.
pub fn count(v: u8) -> u64 {
    trap::irq::device_vector_count(v)
}
