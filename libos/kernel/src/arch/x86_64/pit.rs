//! The 8254 programmable interval timer, used once: to measure the TSC.

#[cfg(feature = "boot-tests")]
use libos_kcore::time::{RateCheck, read_paired};
use x86_64::instructions::port::Port;

/// The PIT's input clock.
pub const PIT_HZ: u64 = 1_193_182;

/// Counts TSC ticks over `ms` milliseconds of PIT channel 2 (the speaker
/// channel, whose output can be polled in port 0x61 without interrupts).
pub fn measure_tsc_hz(ms: u64) -> u64 {
    let count = (PIT_HZ * ms / 1000) as u16;
    let mut gate: Port<u8> = Port::new(0x61);
    let mut command: Port<u8> = Port::new(0x43);
    let mut channel2: Port<u8> = Port::new(0x42);
    // SAFETY: ports 0x61, 0x43 and 0x42 are the PC's speaker gate, PIT
    // command and PIT channel 2; programming channel 2 with the speaker off
    // has no other effect.
    unsafe {
        let g = gate.read();
        gate.write((g & !0x02) | 0x01); // speaker off, gate on
        command.write(0b1011_0000); // channel 2, lo/hi byte, mode 0, binary
        channel2.write(count as u8);
        channel2.write((count >> 8) as u8);
        // Restart the count: gate low then high.
        let g = gate.read();
        gate.write(g & !0x01);
        gate.write(g | 0x01);
        let start = core::arch::x86_64::_rdtsc();
        // OUT2 (bit 5) goes high when the count reaches zero.
        while gate.read() & 0x20 == 0 {
            core::hint::spin_loop();
        }
        let end = core::arch::x86_64::_rdtsc();
        (end - start) * 1000 / ms
    }
}

/// A window of about `ms` milliseconds of the TSC against PIT channel 2,
/// read at both ends (latched counts, each bracketed by TSC reads) rather
/// than waited for: a vCPU descheduled while it polls would otherwise see
/// the end late, and only widens a bracket here, which the window's
/// uncertainty then shows. `tsc_hz` (the clock's) only sets how long to
/// wait; `ms` at most 50 (the 16-bit count lasts 55 ms). For the
/// boot-time tests.
#[cfg(feature = "boot-tests")]
pub fn tsc_window(ms: u64, tsc_hz: u64) -> RateCheck {
    let mut gate: Port<u8> = Port::new(0x61);
    let mut command: Port<u8> = Port::new(0x43);
    let mut channel2: Port<u8> = Port::new(0x42);
    // SAFETY: as in `measure_tsc_hz`: the speaker gate, the PIT's command
    // port and channel 2, with the speaker off.
    let mut read_count = || unsafe {
        command.write(0b1000_0000); // latch channel 2's count
        let lo = channel2.read();
        let hi = channel2.read();
        u64::from(u16::MAX - u16::from_le_bytes([lo, hi]))
    };
    // SAFETY: as above.
    unsafe {
        let g = gate.read();
        gate.write((g & !0x02) | 0x01); // speaker off, gate on
        Port::<u8>::new(0x43).write(0b1011_0000); // channel 2, lo/hi byte, mode 0, binary
        Port::<u8>::new(0x42).write(0xFF);
        Port::<u8>::new(0x42).write(0xFF);
        let g = gate.read();
        gate.write(g & !0x01);
        gate.write(g | 0x01);
    }
    let tsc = crate::time::rdtsc;
    let start = read_paired(5, tsc, &mut read_count);
    let until = start.tsc_after + tsc_hz / 1000 * ms.min(50);
    while tsc() < until {
        core::hint::spin_loop();
    }
    let end = read_paired(5, tsc, &mut read_count);
    RateCheck::of(&start, &end, PIT_HZ).unwrap_or(RateCheck { measured_hz: 0, uncertainty_ppm: u64::MAX / 2 })
}
