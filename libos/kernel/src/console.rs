//! The kernel console on COM1: locked, usable from any context.
//!
//! The lock records which CPU holds it. A CPU that enters the console again
//! while it holds it (an exception or NMI during a print) writes without
//! waiting, and the panic and fatal-report paths take the console even from
//! a CPU that does not give it back, so a report always gets out.

use core::fmt::{self, Write};

use crate::arch::x86_64::serial::Uart16550;
use shared_uart::SharedUart;

#[cfg(feature = "hooks")]
pub mod capture;
pub mod input;
pub mod shared_uart;

static CONSOLE: SharedUart = SharedUart::new(entry_asm::hw::port::COM1);

fn with_uart<R>(emergency: bool, f: impl FnOnce(&mut Uart16550) -> R) -> R {
    CONSOLE.with(emergency, f)
}

struct UartWriter<'a>(&'a mut Uart16550);

impl Write for UartWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for b in s.bytes() {
            if b == b'\n' {
                self.0.write_byte(b'\r');
            }
            self.0.write_byte(b);
        }
        Ok(())
    }
}

/// Initialises the UART.
pub fn init() {
    with_uart(false, |u| u.init());
}

/// Prints formatted text (the `print!` macros end here).
pub fn print(args: fmt::Arguments<'_>) {
    with_uart(false, |u| {
        let _ = UartWriter(u).write_fmt(args);
    });
}

/// Prints a line even if another CPU holds the console and does not let go
/// (panics, fatal exception reports, the exit line).
pub fn emergency_println(args: fmt::Arguments<'_>) {
    with_uart(true, |u| {
        let mut w = UartWriter(u);
        let _ = w.write_fmt(args);
        let _ = w.write_str("\n");
    });
}

/// Writes raw bytes (an app's output) as they are, with `\n` as `\r\n`,
/// all under one hold of the console: output of other CPUs comes before or
/// after, never inside.
pub fn write_bytes(bytes: &[u8]) {
    with_uart(false, |u| {
        #[cfg(feature = "hooks")]
        capture::record(bytes);
        for &b in bytes {
            if b == b'\n' {
                u.write_byte(b'\r');
            }
            u.write_byte(b);
        }
    });
}

/// Makes COM1 raise its interrupt when a byte arrives.
pub fn enable_receive_interrupt() {
    with_uart(false, |u| u.enable_receive_interrupt());
}

/// Makes the UART receive `byte` as if typed (loopback), for the tests of
/// console input. Nothing printed meanwhile is lost: the console is held.
#[cfg(feature = "boot-tests")]
pub fn loop_back(byte: u8) -> bool {
    with_uart(false, |u| {
        u.flush();
        u.loop_back(byte)
    })
}

/// A byte typed on the console, if one is waiting.
pub fn try_read_byte() -> Option<u8> {
    with_uart(false, |u| u.try_read_byte())
}

/// Waits until everything printed has left the UART.
pub fn flush() {
    with_uart(true, |u| u.flush());
}

/// Prints to the kernel console.
#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => { $crate::console::print(format_args!($($arg)*)) };
}

/// Prints a line to the kernel console.
#[macro_export]
macro_rules! println {
    () => { $crate::console::print(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::console::print(format_args!("{}\n", format_args!($($arg)*))) };
}
