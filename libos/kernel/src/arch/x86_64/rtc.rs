//! The CMOS real-time clock, read once at boot for the wall-clock time.

use libos_kcore::time::{CalendarTime, bcd_to_binary, rtc_hour};
use x86_64::instructions::port::Port;

fn read_register(reg: u8) -> u8 {
    let mut index: Port<u8> = Port::new(0x70);
    let mut data: Port<u8> = Port::new(0x71);
    // SAFETY: 0x70/0x71 are the CMOS index and data ports; bit 7 of the
    // index (NMI disable) is left clear. Reading a register has no effect.
    unsafe {
        index.write(reg & 0x7F);
        data.read()
    }
}

fn update_in_progress() -> bool {
    read_register(0x0A) & 0x80 != 0
}

fn read_raw() -> [u8; 7] {
    while update_in_progress() {
        core::hint::spin_loop();
    }
    [
        read_register(0x00),
        read_register(0x02),
        read_register(0x04),
        read_register(0x07),
        read_register(0x08),
        read_register(0x09),
        read_register(0x32),
    ]
}

/// The current wall-clock time (UTC, as QEMU and Bochs keep the RTC).
pub fn read() -> CalendarTime {
    // Read until two readings agree, so an update between registers is not seen.
    let mut raw = read_raw();
    for _ in 0..10 {
        let again = read_raw();
        if again == raw {
            break;
        }
        raw = again;
    }
    let status_b = read_register(0x0B);
    let bcd = status_b & 0x04 == 0;
    let twelve_hour = status_b & 0x02 == 0;
    let conv = |v: u8| if bcd { bcd_to_binary(v) } else { v };
    let century = match conv(raw[6]) {
        c @ 19..=21 => c as i64,
        _ => 20,
    };
    CalendarTime {
        year: century * 100 + conv(raw[5]) as i64,
        month: conv(raw[4]) as u32,
        day: conv(raw[3]) as u32,
        hour: rtc_hour(raw[2], bcd, twelve_hour) as u32,
        minute: conv(raw[1]) as u32,
        second: conv(raw[0]) as u32,
    }
}
