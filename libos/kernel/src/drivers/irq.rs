//! Interrupt vectors for devices: handed out to drivers, which program
//! them into their devices' MSI-X tables, and dispatched to the drivers'
//! handlers when they arrive (as Linux's vector domain hands out vectors
//! between `FIRST_EXTERNAL_VECTOR` and the system vectors;
//! `arch/x86/kernel/apic/vector.c`, version 6.1).

use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};

use crate::arch::x86_64::irq::vector::{DEVICE_FIRST, DEVICE_LAST};
use crate::arch::x86_64::percpu;

const COUNT: usize = (DEVICE_LAST - DEVICE_FIRST) as usize + 1;

/// What runs when a device vector arrives: `handler(arg)`, in interrupt
/// context (interrupts off, on the interrupted CPU's stack): it must not
/// block; it may take spinlocks and wake wait queues.
struct Slot {
    taken: AtomicBool,
    ready: AtomicBool,
    handler: AtomicUsize,
    arg: AtomicUsize,
    count: AtomicU64,
}

static SLOTS: [Slot; COUNT] = [const {
    Slot {
        taken: AtomicBool::new(false),
        ready: AtomicBool::new(false),
        handler: AtomicUsize::new(0),
        arg: AtomicUsize::new(0),
        count: AtomicU64::new(0),
    }
}; COUNT];

/// Round-robin choice of the CPU that takes the next device's interrupts.
static NEXT_CPU: AtomicU32 = AtomicU32::new(0);

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

/// Takes a free vector for `handler(arg)`, delivered to `cpu` (or, if
/// `None`, to the online CPUs in turn). `None` if none is free.
pub fn allocate(handler: fn(usize), arg: usize, cpu: Option<usize>) -> Option<DeviceVector> {
    let online = percpu::cpu_count().max(1);
    let cpu = cpu.unwrap_or_else(|| NEXT_CPU.fetch_add(1, Ordering::Relaxed) as usize % online);
    let apic_id = percpu::cpu(cpu)?.apic_id.get();
    let (i, slot) = SLOTS
        .iter()
        .enumerate()
        .find(|(_, s)| s.taken.compare_exchange(false, true, Ordering::AcqRel, Ordering::Relaxed).is_ok())?;
    slot.handler.store(handler as usize, Ordering::Relaxed);
    slot.arg.store(arg, Ordering::Relaxed);
    slot.ready.store(true, Ordering::Release);
    Some(DeviceVector { vector: DEVICE_FIRST + i as u8, apic_id, cpu })
}

/// Runs the handler of device vector `v` (called by the interrupt entry
/// for vectors `DEVICE_FIRST..=DEVICE_LAST`, before the EOI).
pub fn dispatch(v: u8) {
    let Some(slot) = v.checked_sub(DEVICE_FIRST).and_then(|i| SLOTS.get(i as usize)) else { return };
    slot.count.fetch_add(1, Ordering::Relaxed);
    if !slot.ready.load(Ordering::Acquire) {
        return;
    }
    let handler = slot.handler.load(Ordering::Relaxed);
    // SAFETY: `handler` was stored from a `fn(usize)` in `allocate` before
    // `ready` was published, and is never changed afterwards.
    let f: fn(usize) = unsafe { core::mem::transmute::<usize, fn(usize)>(handler) };
    f(slot.arg.load(Ordering::Relaxed));
}

/// How many times vector `v` has arrived.
pub fn count(v: u8) -> u64 {
    v.checked_sub(DEVICE_FIRST).and_then(|i| SLOTS.get(i as usize)).map_or(0, |s| s.count.load(Ordering::Relaxed))
}
