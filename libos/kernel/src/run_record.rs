//! The run record: the kernel's verdict and test records on COM2, a serial
//! port only the kernel writes.
//!
//! An app writes to COM1 through `write(1/2, ...)`, so any line on COM1 may
//! be the app's. The lines the xtask judges a run by (the test protocol's
//! start, result and done lines, and the exit line, see `libos_abi::run`)
//! therefore also go to COM2, which no system call reaches and whose ports
//! ring 3 cannot touch (IOPL 0 and no I/O permission bitmap: `out` from
//! ring 3 raises #GP). Each record line is echoed on COM1 first, for the
//! humans reading the console, then written to COM2 and drained, so that
//! when the xtask sees the exit record, the console is complete too.

use core::fmt::{self, Write};

use crate::arch::x86_64::serial::Uart16550;
use crate::console::{self, shared_uart::SharedUart};

static RECORD: SharedUart = SharedUart::new(entry_asm::hw::port::COM2);

fn with_uart<R>(emergency: bool, f: impl FnOnce(&mut Uart16550) -> R) -> R {
    RECORD.with(emergency, f)
}

struct UartWriter<'a>(&'a mut Uart16550);

impl Write for UartWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for b in s.bytes() {
            // One record per line: a line break inside a record (none of the
            // kernel's records has one) would start a line the xtask reads.
            let b = if b == b'\n' || b == b'\r' { b' ' } else { b };
            self.0.write_byte(b);
        }
        Ok(())
    }
}

/// Initialises COM2.
pub fn init() {
    with_uart(false, |u| u.init());
}

fn write_record(emergency: bool, args: fmt::Arguments<'_>) {
    with_uart(emergency, |u| {
        let _ = UartWriter(u).write_fmt(args);
        u.write_byte(b'\n');
        u.flush();
    });
}

/// Writes one record line: echoed on the console (COM1), then on COM2.
// Only the test runners (feature `hooks`) write records other than the exit line.
#[cfg_attr(not(feature = "hooks"), allow(dead_code))]
pub fn line(args: fmt::Arguments<'_>) {
    console::print(format_args!("{args}\n"));
    write_record(false, args);
}

/// As [`line()`], even if another CPU holds the console or the record port and
/// does not let go (the exit line after a panic or a fatal report). The
/// console is drained before the record is written.
pub fn emergency_line(args: fmt::Arguments<'_>) {
    console::emergency_println(args);
    console::flush();
    write_record(true, args);
}
