//! The legacy 8259 PICs: remapped out of the exception vectors and masked
//! for good (this kernel uses the local APIC only).

use x86_64::instructions::port::Port;

/// Remaps the PICs to vectors 0x20..0x30 (so a spurious IRQ can never look
/// like an exception) and masks every line.
pub fn disable() {
    let mut master_cmd: Port<u8> = Port::new(0x20);
    let mut master_data: Port<u8> = Port::new(0x21);
    let mut slave_cmd: Port<u8> = Port::new(0xA0);
    let mut slave_data: Port<u8> = Port::new(0xA1);
    // SAFETY: the standard 8259 initialisation sequence on the PC's PIC
    // ports, ending with all lines masked.
    unsafe {
        master_cmd.write(0x11); // ICW1: initialise, ICW4 follows
        slave_cmd.write(0x11);
        master_data.write(0x20); // ICW2: vector offsets
        slave_data.write(0x28);
        master_data.write(0x04); // ICW3: slave on IRQ2
        slave_data.write(0x02);
        master_data.write(0x01); // ICW4: 8086 mode
        slave_data.write(0x01);
        master_data.write(0xFF); // mask everything
        slave_data.write(0xFF);
    }
}
