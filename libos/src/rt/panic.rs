//! The panic handler: message and location on stderr, exit code 101.

use super::test_runner;
use crate::process;

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    match info.location() {
        Some(loc) => {
            crate::eprintln!("app panicked at {}:{}:{}:\n{}", loc.file(), loc.line(), loc.column(), info.message())
        }
        None => crate::eprintln!("app panicked:\n{}", info.message()),
    }
    process::exit(test_runner::panic_exit_code(info))
}
