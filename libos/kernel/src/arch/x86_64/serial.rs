//! The 16550 UART behind COM1.

use x86_64::instructions::port::Port;

/// Line-status register bits.
mod lsr {
    /// A received byte is waiting.
    pub const DATA_READY: u8 = 1 << 0;
    /// The transmit holding register can take a byte.
    pub const THR_EMPTY: u8 = 1 << 5;
    /// Transmitter idle: holding and shift registers empty.
    pub const TRANSMITTER_EMPTY: u8 = 1 << 6;
}

/// A 16550-compatible UART at an I/O port base.
pub struct Uart16550 {
    base: u16,
}

impl Uart16550 {
    /// The UART at `base` (not yet initialised).
    pub const fn new(base: u16) -> Uart16550 {
        Uart16550 { base }
    }

    fn port(&self, offset: u16) -> Port<u8> {
        Port::new(self.base + offset)
    }

    /// 115200 baud, 8N1, FIFOs on, no interrupts.
    pub fn init(&mut self) {
        // SAFETY: these are the UART's own registers (COM1 exists on every
        // PC and QEMU/Bochs machine); writing them has no other effect.
        unsafe {
            self.port(1).write(0x00); // IER: no interrupts
            self.port(3).write(0x80); // LCR: DLAB on
            self.port(0).write(0x01); // divisor 1 = 115200 baud
            self.port(1).write(0x00);
            self.port(3).write(0x03); // 8N1, DLAB off
            self.port(2).write(0xC7); // FIFO on, cleared, 14-byte threshold
            self.port(4).write(0x03); // DTR, RTS
        }
    }

    /// Raises the UART's interrupt when a byte arrives (IER bit 0) and
    /// connects its interrupt output to the line (MCR OUT2, which PCs gate
    /// the COM interrupt with).
    pub fn enable_receive_interrupt(&mut self) {
        // SAFETY: the UART's own registers, as in `init`.
        unsafe {
            self.port(4).write(0x0B); // DTR, RTS, OUT2
            self.port(1).write(0x01); // IER: received data available
        }
    }

    /// Sends `byte` to the UART's own receiver (loopback mode, MCR bit 4)
    /// and waits (bounded) until it has arrived; returns whether it did.
    #[cfg(feature = "boot-tests")]
    pub fn loop_back(&mut self, byte: u8) -> bool {
        // SAFETY: the UART's own registers, as in `init`.
        unsafe { self.port(4).write(0x1B) }; // loopback, OUT2, DTR, RTS
        self.write_byte(byte);
        let arrived = (0..1_000_000).any(|_| self.line_status() & lsr::DATA_READY != 0);
        // SAFETY: as above: back to normal operation with OUT2.
        unsafe { self.port(4).write(0x0B) };
        arrived
    }

    fn line_status(&self) -> u8 {
        // SAFETY: reading the line-status register has no side effect.
        unsafe { self.port(5).read() }
    }

    /// Sends one byte, waiting for room.
    pub fn write_byte(&mut self, byte: u8) {
        while self.line_status() & lsr::THR_EMPTY == 0 {
            core::hint::spin_loop();
        }
        // SAFETY: the transmit register takes one byte.
        unsafe { self.port(0).write(byte) };
    }

    /// A received byte, if one is waiting.
    pub fn try_read_byte(&mut self) -> Option<u8> {
        if self.line_status() & lsr::DATA_READY != 0 {
            // SAFETY: reading the receive register takes the waiting byte.
            Some(unsafe { self.port(0).read() })
        } else {
            None
        }
    }

    /// Waits until every byte written has left the UART.
    pub fn flush(&mut self) {
        // Bounded: a UART that never drains (none present) must not hang us.
        for _ in 0..1_000_000 {
            if self.line_status() & lsr::TRANSMITTER_EMPTY != 0 {
                return;
            }
            core::hint::spin_loop();
        }
    }
}
