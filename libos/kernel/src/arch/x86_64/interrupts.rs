//! Turning maskable interrupts on and off.

use x86_64::instructions::interrupts as hw;

/// Whether interrupts are enabled on this CPU (RFLAGS.IF).
#[inline]
pub fn are_enabled() -> bool {
    hw::are_enabled()
}

/// Disables interrupts and returns whether they were enabled.
#[inline]
pub fn disable_and_save() -> bool {
    let were_on = hw::are_enabled();
    if were_on {
        hw::disable();
    }
    were_on
}

/// Enables interrupts on this CPU. They are recognised after the next
/// instruction (STI's interrupt shadow, Intel SDM Vol. 2B, "STI"), so a
/// caller that wants one to come in before it disables them again runs at
/// least one other instruction in between (a spin loop does).
#[inline]
pub fn enable() {
    // SAFETY: setting IF only lets interrupts in, which every interrupt
    // handler of this kernel expects at any instruction where IF may be 1.
    // Not `nomem`: like releasing a lock, no memory access may move across.
    unsafe { core::arch::asm!("sti", options(nostack, preserves_flags)) };
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
        enable();
    }
}

/// Stops this CPU for good.
pub fn halt_forever() -> ! {
    loop {
        hw::disable();
        x86_64::instructions::hlt();
    }
}
