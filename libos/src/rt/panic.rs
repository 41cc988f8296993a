//! The panic handler: message and location on stderr, exit code 101.
//!
//! A panic ends the whole app, on whatever thread it happens (there is no
//! unwinding to hand it to a joiner); the message names the thread as
//! std's does.

use crate::process;

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    let thread = crate::thread::tcb::Tcb::try_current().and_then(|t| t.thread());
    let name = thread.map_or("main", |t| t.name().unwrap_or("<unnamed>"));
    let tid = thread.map_or(0, |t| t.os_id());
    match info.location() {
        Some(loc) => crate::eprintln!(
            "thread '{name}' (tid {tid}) panicked at {}:{}:{}:\n{}",
            loc.file(),
            loc.line(),
            loc.column(),
            info.message()
        ),
        None => crate::eprintln!("thread '{name}' (tid {tid}) panicked:\n{}", info.message()),
    }
    #[cfg(feature = "testing")]
    let code = super::test_runner::panic_exit_code(info);
    #[cfg(not(feature = "testing"))]
    let code = super::PANIC_EXIT_CODE;
    process::exit(code)
}
