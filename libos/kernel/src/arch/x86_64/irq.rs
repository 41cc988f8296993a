//! Interrupt vectors this kernel uses, and what happens when one arrives.

use core::sync::atomic::Ordering;

use entry_asm::pt_regs::PtRegs;

use crate::arch::x86_64::apic;
use crate::arch::x86_64::percpu::this_cpu;

/// Vectors (the high ones, as Linux places its system vectors).
pub mod vector {
    /// First vector the remapped legacy PICs could use (all masked).
    pub const LEGACY_PIC_FIRST: u8 = 0x20;
    /// Last legacy PIC vector.
    pub const LEGACY_PIC_LAST: u8 = 0x2F;
    /// First vector handed out to devices (MSI-X; `drivers::irq`).
    pub const DEVICE_FIRST: u8 = 0x30;
    /// Last device vector.
    pub const DEVICE_LAST: u8 = 0xDF;
    /// The local APIC timer.
    pub const TIMER: u8 = 0xEC;
    /// A self-IPI the boot-time tests send.
    pub const TEST: u8 = 0xF0;
    /// Run a function another CPU queued here.
    pub const CALL_FUNCTION: u8 = 0xFB;
    /// Reschedule (something became runnable here).
    pub const RESCHEDULE: u8 = 0xFD;
    /// Local APIC error.
    pub const APIC_ERROR: u8 = 0xFE;
    /// Spurious (no EOI).
    pub const SPURIOUS: u8 = 0xFF;
}

/// Handles an external interrupt or IPI.
pub fn handle(_regs: &mut PtRegs, v: u8) {
    let cpu = this_cpu();
    cpu.interrupts.fetch_add(1, Ordering::Relaxed);
    match v {
        vector::SPURIOUS | vector::LEGACY_PIC_FIRST..=vector::LEGACY_PIC_LAST => return,
        vector::TIMER => {
            cpu.timer_interrupts.fetch_add(1, Ordering::Relaxed);
            crate::sched::timer::tick();
        }
        vector::DEVICE_FIRST..=vector::DEVICE_LAST => crate::drivers::irq::dispatch(v),
        vector::RESCHEDULE => crate::sched::reschedule_ipi(),
        vector::CALL_FUNCTION => crate::smp::call::run_pending(),
        vector::TEST => {
            cpu.test_interrupts.fetch_add(1, Ordering::Relaxed);
        }
        vector::APIC_ERROR => crate::println!("[libos] local APIC error on CPU {}", cpu.index),
        _ => crate::println!("[libos] unexpected interrupt vector {v:#x} on CPU {}", cpu.index),
    }
    apic::eoi();
}
