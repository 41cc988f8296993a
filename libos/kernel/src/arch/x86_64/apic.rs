//! The local APIC: interrupts between CPUs, end-of-interrupt, the timer.
//!
//! x2APIC (registers as MSRs) when the CPU has it; otherwise xAPIC, whose
//! registers are memory-mapped (uncached, through `volatile`).

use core::ptr::NonNull;
use core::sync::atomic::{AtomicU64, Ordering};

use entry_asm::hw::msr;
use libos_kcore::time::{RateCheck, read_paired};
use volatile::VolatilePtr;
use x86_64::registers::model_specific::Msr;

use crate::mm::mmio::{self, Caching};
use crate::sync::InitCell;

/// Register offsets (xAPIC MMIO; x2APIC MSR = 0x800 + offset / 16).
pub mod reg {
    /// Local APIC id.
    pub const ID: u32 = 0x20;
    /// Task priority.
    pub const TPR: u32 = 0x80;
    /// End of interrupt.
    pub const EOI: u32 = 0xB0;
    /// Spurious-interrupt vector (and software enable).
    pub const SVR: u32 = 0xF0;
    /// Error status.
    pub const ESR: u32 = 0x280;
    /// Interrupt command, low half (the whole 64 bits in x2APIC mode).
    pub const ICR_LOW: u32 = 0x300;
    /// Interrupt command, high half (xAPIC: destination in bits 31:24).
    pub const ICR_HIGH: u32 = 0x310;
    /// LVT timer.
    pub const LVT_TIMER: u32 = 0x320;
    /// LVT LINT0.
    pub const LVT_LINT0: u32 = 0x350;
    /// LVT LINT1.
    pub const LVT_LINT1: u32 = 0x360;
    /// LVT error.
    pub const LVT_ERROR: u32 = 0x370;
    /// Timer initial count.
    pub const TIMER_INITIAL: u32 = 0x380;
    /// Timer current count.
    pub const TIMER_CURRENT: u32 = 0x390;
    /// Timer divide configuration.
    pub const TIMER_DIVIDE: u32 = 0x3E0;
}

/// IA32_APIC_BASE bits.
mod base {
    /// The APIC is enabled.
    pub const ENABLE: u64 = 1 << 11;
    /// x2APIC mode.
    pub const X2APIC: u64 = 1 << 10;
    /// Physical base address bits.
    pub const ADDRESS_MASK: u64 = 0x000F_FFFF_FFFF_F000;
}

/// ICR fields.
mod icr {
    pub const DELIVERY_FIXED: u64 = 0 << 8;
    #[cfg(feature = "hooks")]
    pub const DELIVERY_NMI: u64 = 4 << 8;
    pub const DELIVERY_INIT: u64 = 5 << 8;
    pub const DELIVERY_STARTUP: u64 = 6 << 8;
    pub const DELIVERY_PENDING: u32 = 1 << 12;
    pub const LEVEL_ASSERT: u64 = 1 << 14;
    #[cfg(feature = "boot-tests")]
    pub const SHORTHAND_SELF: u64 = 1 << 18;
}

/// LVT delivery mode NMI.
pub const LVT_DELIVERY_NMI: u32 = 4 << 8;
/// LVT mask bit.
pub const LVT_MASKED: u32 = 1 << 16;
/// LVT timer mode: TSC deadline.
pub const TIMER_TSC_DEADLINE: u32 = 2 << 17;

/// How this machine's local APICs are reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Through MSRs.
    X2Apic,
    /// Through a memory-mapped page at this virtual address.
    XApic(u64),
}

static MODE: InitCell<Mode> = InitCell::new();

/// The mode in use.
pub fn mode() -> Mode {
    *MODE.expect("local APIC")
}

fn read(r: u32) -> u32 {
    match mode() {
        // SAFETY: an x2APIC register MSR; reading has no side effect for the registers used here.
        Mode::X2Apic => unsafe { Msr::new(msr::X2APIC_BASE + (r >> 4)).read() as u32 },
        // SAFETY: the register page is mapped uncached; `r` is a register offset in it.
        Mode::XApic(b) => unsafe { VolatilePtr::new(NonNull::new_unchecked((b + r as u64) as *mut u32)).read() },
    }
}

fn write(r: u32, value: u32) {
    match mode() {
        // SAFETY: an x2APIC register MSR of this CPU.
        Mode::X2Apic => unsafe { Msr::new(msr::X2APIC_BASE + (r >> 4)).write(value as u64) },
        // SAFETY: as in `read`.
        Mode::XApic(b) => unsafe { VolatilePtr::new(NonNull::new_unchecked((b + r as u64) as *mut u32)).write(value) },
    }
}

/// Chooses the mode (boot CPU, once) and enables this CPU's APIC in it.
pub fn init_boot_cpu(x2apic: bool, madt_address: Option<u64>) -> Mode {
    // SAFETY: reading IA32_APIC_BASE has no side effect.
    let apic_base = unsafe { Msr::new(msr::APIC_BASE).read() };
    let mode = if x2apic {
        Mode::X2Apic
    } else {
        let phys = madt_address.unwrap_or(apic_base & base::ADDRESS_MASK);
        Mode::XApic(mmio::map(phys, 4096, Caching::Uncached))
    };
    MODE.set(mode);
    enable_this_cpu();
    mode
}

/// Enables this CPU's APIC (in the chosen mode) and sets it up: spurious
/// vector, priority 0, LINT0 (the legacy PIC's line) masked, LINT1 as the
/// external NMI line (the PC convention: a watchdog or an emulator's "nmi"
/// command arrives there), an error vector.
pub fn enable_this_cpu() {
    let mut m = Msr::new(msr::APIC_BASE);
    // SAFETY: enabling the local APIC (and x2APIC mode if chosen) is what
    // the rest of this module assumes; no interrupt is routed yet.
    unsafe {
        let mut v = m.read() | base::ENABLE;
        if mode() == Mode::X2Apic {
            v |= base::X2APIC;
        }
        m.write(v);
    }
    write(reg::SVR, 0x100 | super::vectors::SPURIOUS as u32);
    write(reg::TPR, 0);
    write(reg::LVT_LINT0, LVT_MASKED);
    write(reg::LVT_LINT1, LVT_DELIVERY_NMI);
    write(reg::LVT_ERROR, super::vectors::APIC_ERROR as u32);
    write(reg::ESR, 0);
}

/// This CPU's local APIC id.
pub fn id() -> u32 {
    match mode() {
        Mode::X2Apic => read(reg::ID),
        Mode::XApic(_) => read(reg::ID) >> 24,
    }
}

/// The in-service register (256 bits: vectors being handled, awaiting EOI).
pub fn in_service() -> [u32; 8] {
    core::array::from_fn(|i| read(0x100 + 0x10 * i as u32))
}

/// Signals the end of the interrupt being handled.
pub fn eoi() {
    write(reg::EOI, 0);
}

fn send(dest: u32, low: u64) {
    match mode() {
        // SAFETY: writing the ICR sends the IPI described; the callers
        // build valid commands.
        Mode::X2Apic => unsafe { Msr::new(msr::X2APIC_BASE + (reg::ICR_LOW >> 4)).write(((dest as u64) << 32) | low) },
        Mode::XApic(_) => {
            // Two writes make one command: an interrupt in between that sends
            // its own IPI would redirect this one. (x2APIC's ICR is one MSR.)
            let irqs = super::interrupts::disable_and_save();
            write(reg::ICR_HIGH, dest << 24);
            write(reg::ICR_LOW, low as u32);
            while read(reg::ICR_LOW) & icr::DELIVERY_PENDING != 0 {
                core::hint::spin_loop();
            }
            super::interrupts::restore(irqs);
        }
    }
}

/// Sends interrupt `vector` to the CPU with APIC id `dest`.
pub fn send_ipi(dest: u32, vector: u8) {
    send(dest, icr::DELIVERY_FIXED | icr::LEVEL_ASSERT | vector as u64);
}

/// Sends interrupt `vector` to this CPU (the boot-time tests do).
#[cfg(feature = "boot-tests")]
pub fn send_self(vector: u8) {
    send(0, icr::DELIVERY_FIXED | icr::LEVEL_ASSERT | icr::SHORTHAND_SELF | vector as u64);
}

/// Sends an NMI to the CPU with APIC id `dest` (may be this one; the
/// tests do).
#[cfg(feature = "hooks")]
pub fn send_nmi(dest: u32) {
    send(dest, icr::DELIVERY_NMI | icr::LEVEL_ASSERT);
}

/// Sends INIT to an application processor.
pub fn send_init(dest: u32) {
    send(dest, icr::DELIVERY_INIT | icr::LEVEL_ASSERT);
}

/// Sends a startup IPI: the AP starts in real mode at `page << 12`.
pub fn send_startup(dest: u32, page: u8) {
    send(dest, icr::DELIVERY_STARTUP | icr::LEVEL_ASSERT | page as u64);
}

/// Programs the timer LVT and counts (one-shot when `periodic` is false),
/// divide by 16. `initial` 0 stops it.
pub fn timer_oneshot(vector: u8, initial: u32) {
    write(reg::TIMER_DIVIDE, 0b0011);
    write(reg::LVT_TIMER, vector as u32);
    write(reg::TIMER_INITIAL, initial);
}

/// Arms the TSC-deadline timer to fire `vector` when the TSC reaches
/// `deadline` (0 disarms).
pub fn timer_deadline(vector: u8, deadline: u64) {
    write(reg::LVT_TIMER, TIMER_TSC_DEADLINE | vector as u32);
    // SAFETY: IA32_TSC_DEADLINE only arms this CPU's timer.
    unsafe { Msr::new(msr::TSC_DEADLINE).write(deadline) };
}

/// Timer ticks (divide by 16) per millisecond, measured at boot.
static TIMER_TICKS_PER_MS: AtomicU64 = AtomicU64::new(0);

/// The timer's divider (`TIMER_DIVIDE` = 0b0011: divide by 16).
const TIMER_DIVISOR: u64 = 16;
/// How settled the timer's measurement must be (0.5%: it only sets how
/// early or late a one-shot fires; sleeps check the TSC).
const TIMER_SETTLE_PPM: u64 = 5_000;
/// The longest the measurement may take (100 microseconds).
const TIMER_MAX_NS: u64 = 100_000;

/// Sets the timer's rate (boot CPU, once; every CPU's APIC timer runs from
/// the same clock): from `input_hz`, its input clock as CPUID published it
/// (`time::Clock::published`), or measured against the already known TSC
/// over a short window (until its uncertainty is below 0.5%, at most 100
/// microseconds; about 10 microseconds under QEMU). Returns ticks per
/// millisecond.
pub fn calibrate_timer(input_hz: Option<u64>) -> u64 {
    write(reg::TIMER_DIVIDE, 0b0011);
    let ticks = match input_hz {
        Some(hz) => hz / TIMER_DIVISOR / 1000,
        None => measure_timer(),
    };
    TIMER_TICKS_PER_MS.store(ticks.max(1), Ordering::Relaxed);
    ticks
}

/// Counts the masked timer down against the TSC, both ends TSC-bracketed
/// reads (an emulated CPU may stop between any two instructions).
fn measure_timer() -> u64 {
    write(reg::LVT_TIMER, LVT_MASKED);
    write(reg::TIMER_INITIAL, u32::MAX);
    // The count runs down; `counted` makes it run up for the check.
    let counted = || u64::from(u32::MAX - read(reg::TIMER_CURRENT));
    let clock = crate::time::clock();
    let start = read_paired(5, crate::time::rdtsc, counted);
    let max_tsc = clock.scale.ns_to_ticks(TIMER_MAX_NS);
    // TSC ticks per million timer ticks, settled or out of time.
    let mut per_million = None;
    loop {
        let end = read_paired(2, crate::time::rdtsc, counted);
        if let Some(c) = RateCheck::of(&start, &end, 1_000_000) {
            per_million = Some(c.measured_hz);
            if c.settled(TIMER_SETTLE_PPM) {
                break;
            }
        }
        if end.tsc_after.wrapping_sub(start.tsc_before) > max_tsc {
            break;
        }
    }
    write(reg::TIMER_INITIAL, 0);
    match per_million {
        Some(p) if p > 0 => (clock.scale.hz as u128 * 1_000_000 / 1000 / p as u128) as u64,
        _ => 1,
    }
}

/// Timer ticks per millisecond (after `calibrate_timer`).
pub fn timer_ticks_per_ms() -> u64 {
    TIMER_TICKS_PER_MS.load(Ordering::Relaxed)
}

/// Arms a one-shot timer interrupt `vector` about `ns` nanoseconds from now.
pub fn timer_oneshot_ns(vector: u8, ns: u64) {
    let ticks = (timer_ticks_per_ms() as u128 * ns as u128 / 1_000_000).clamp(1, u32::MAX as u128);
    timer_oneshot(vector, ticks as u32);
}
