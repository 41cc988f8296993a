//! The 8254 programmable interval timer, used once: to measure the TSC.

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
