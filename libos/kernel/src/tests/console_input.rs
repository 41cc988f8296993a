//! Console input by interrupt: a byte the UART receives raises COM1's
//! interrupt (ISA IRQ 4, through the I/O APIC), whose handler moves it into
//! the input ring that `read(0)` takes from.

use libos_macros::kernel_test;

use crate::console::{self, input};
use crate::testing::skip;

#[kernel_test]
fn a_received_byte_raises_com1_s_interrupt_and_lands_in_the_input_ring() {
    let Some(vector) = input::interrupt_vector() else {
        skip("COM1's interrupt is not routed (no I/O APIC in the ACPI tables)");
    };
    // Whatever was typed before is not the test's.
    let mut buf = [0u8; 64];
    while input::take(&mut buf) != input::Taken::Nothing {}
    let before = crate::drivers::irq::count(vector);
    assert!(console::loop_back(b'Z'), "the UART did not receive its own byte in loopback mode");
    let mut waited = 0;
    while crate::drivers::irq::count(vector) == before {
        assert!(waited < 1000, "no COM1 interrupt within 1 s of a received byte");
        let _ = crate::sched::sleep::sleep_ns(1_000_000);
        waited += 1;
    }
    assert_eq!(input::take(&mut buf), input::Taken::Bytes(1), "the input ring holds something else");
    assert_eq!(buf[0], b'Z', "the input ring holds something else");
    // And quiet again once the byte is taken.
    let before = crate::drivers::irq::count(vector);
    let _ = crate::sched::sleep::sleep_ns(50_000_000);
    let after = crate::drivers::irq::count(vector);
    assert!(after - before <= 1, "{} COM1 interrupts in 50 ms after the byte was taken", after - before);
}

#[kernel_test]
fn com1_s_interrupt_stays_quiet_without_input() {
    let Some(vector) = input::interrupt_vector() else {
        skip("COM1's interrupt is not routed (no I/O APIC in the ACPI tables)");
    };
    let before = crate::drivers::irq::count(vector);
    let _ = crate::sched::sleep::sleep_ns(50_000_000);
    let after = crate::drivers::irq::count(vector);
    assert!(after - before <= 1, "{} COM1 interrupts in 50 ms without input", after - before);
}
