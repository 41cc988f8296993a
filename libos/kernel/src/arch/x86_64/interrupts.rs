//! Turning maskable interrupts on and off.

use x86_64::instructions::interrupts as hw;

/// Disables interrupts and returns whether they were enabled.
#[inline]
pub fn disable_and_save() -> bool {
    let were_on = hw::are_enabled();
    if were_on {
        hw::disable();
    }
    were_on
}

/// Enables interrupts on this CPU.
#[inline]
pub fn enable() {
    hw::enable();
}

/// Disables interrupts on this CPU.
#[inline]
pub fn disable() {
    hw::disable();
}

/// Re-enables interrupts if `were_on`.
#[inline]
pub fn restore(were_on: bool) {
    if were_on {
        hw::enable();
    }
}

/// Stops this CPU for good.
pub fn halt_forever() -> ! {
    loop {
        hw::disable();
        x86_64::instructions::hlt();
    }
}
