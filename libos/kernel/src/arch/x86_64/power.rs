//! Ending a run: the QEMU debug-exit port, then ACPI power-off, then halt.

use libos_abi::run::RunExit;
use x86_64::instructions::port::Port;

use crate::arch::x86_64::{acpi, interrupts};
use crate::run_record;

/// Ends the run: prints the exit line (see `libos_abi::run`) on the console
/// and in the run record (COM2, which only the kernel writes), writes QEMU's
/// `isa-debug-exit` port, and if that did nothing (another emulator or real
/// hardware) powers off through ACPI, and if that fails halts.
pub fn exit(how: RunExit) -> ! {
    interrupts::disable_and_save();
    match how {
        RunExit::Success | RunExit::AppCode(0) => {
            run_record::emergency_line(format_args!("{}success", libos_abi::run::EXIT_LINE))
        }
        RunExit::Failure => run_record::emergency_line(format_args!("{}failure", libos_abi::run::EXIT_LINE)),
        RunExit::AppCode(code) => {
            run_record::emergency_line(format_args!("{}app-code {code}", libos_abi::run::EXIT_LINE))
        }
        RunExit::AppKilled(signo) => {
            run_record::emergency_line(format_args!("{}app-killed {signo}", libos_abi::run::EXIT_LINE))
        }
    }
    // SAFETY: port 0xF4 is QEMU's isa-debug-exit (QEMU then exits); on a
    // machine without it, an unused ISA port ignores the write.
    unsafe { Port::<u8>::new(entry_asm::hw::port::DEBUG_EXIT).write(how.port_value()) };
    acpi::power_off();
    interrupts::halt_forever()
}
