//! Ending a run: the QEMU debug-exit port, then ACPI power-off, then halt.

use libos_abi::run::RunExit;
use x86_64::instructions::port::Port;

use crate::arch::x86_64::{acpi, interrupts};
use crate::console;

/// Ends the run: prints the exit line (see `libos_abi::run`), writes QEMU's
/// `isa-debug-exit` port, and if that did nothing (another emulator or real
/// hardware) powers off through ACPI, and if that fails halts.
pub fn exit(how: RunExit) -> ! {
    interrupts::disable_and_save();
    match how {
        RunExit::Success | RunExit::AppCode(0) => {
            console::emergency_println(format_args!("{}success", libos_abi::run::EXIT_LINE))
        }
        RunExit::Failure => console::emergency_println(format_args!("{}failure", libos_abi::run::EXIT_LINE)),
        RunExit::AppCode(code) => {
            console::emergency_println(format_args!("{}app-code {code}", libos_abi::run::EXIT_LINE))
        }
        RunExit::AppKilled(signo) => {
            console::emergency_println(format_args!("{}app-killed {signo}", libos_abi::run::EXIT_LINE))
        }
    }
    console::flush();
    // SAFETY: port 0xF4 is QEMU's isa-debug-exit (QEMU then exits); on a
    // machine without it, an unused ISA port ignores the write.
    unsafe { Port::<u8>::new(entry_asm::hw::port::DEBUG_EXIT).write(how.port_value()) };
    acpi::power_off();
    interrupts::halt_forever()
}
