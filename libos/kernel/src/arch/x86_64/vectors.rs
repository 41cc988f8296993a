//! The interrupt vectors this kernel uses above the 32 exceptions
//! (`entry_asm::hw::vector`). What each one does is decided in
//! `crate::trap::irq`.
//!
//! The local APIC delivers the highest pending priority class (vector / 16)
//! first (Intel SDM Vol. 3A, "Interrupt, Task, and Processor Priority"), so
//! the system vectors sit at the top, as Linux places them
//! (`arch/x86/include/asm/irq_vectors.h`), and device vectors below.

/// First vector the remapped legacy PICs could use (all masked).
pub const LEGACY_PIC_FIRST: u8 = 0x20;
/// Last legacy PIC vector.
pub const LEGACY_PIC_LAST: u8 = 0x2F;
/// First vector handed to device drivers (`trap::irq::request_device_vector`).
pub const DEVICE_FIRST: u8 = 0x30;
/// Last vector handed to device drivers.
pub const DEVICE_LAST: u8 = 0xDF;
/// The local APIC timer.
pub const TIMER: u8 = 0xEC;
/// A self-IPI the boot-time tests send.
#[cfg(feature = "hooks")]
pub const TEST: u8 = 0xF0;
/// Run a function another CPU queued here.
pub const CALL_FUNCTION: u8 = 0xFB;
/// Reschedule (something became runnable here).
pub const RESCHEDULE: u8 = 0xFD;
/// Local APIC error.
pub const APIC_ERROR: u8 = 0xFE;
/// Spurious (no EOI).
pub const SPURIOUS: u8 = 0xFF;

const _: () = assert!(LEGACY_PIC_LAST < DEVICE_FIRST && DEVICE_LAST < TIMER);
