//! The scheduler's use of the local APIC timer.

/// Called on every timer interrupt of this CPU.
pub fn tick() {}
