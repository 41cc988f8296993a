//! What a kernel panic does: report message, location and CPU, end the run
//! as a failure. Inside a guarded boot-time test, the test harness takes the
//! panic instead (a `should_panic` test, or a test failure).

use core::sync::atomic::{AtomicUsize, Ordering};

use libos_abi::run::RunExit;

use crate::arch::x86_64::{interrupts, power};
use crate::console;
use crate::percpu;

/// How many CPUs are panicking (a second panic skips the niceties).
static PANICKING: AtomicUsize = AtomicUsize::new(0);

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    // A boot-time test that panics on purpose (or fails) resumes its runner.
    #[cfg(feature = "hooks")]
    crate::testing::recovery::recover_from_panic(info);
    interrupts::disable_and_save();
    let cpu = percpu::cpu_index();
    if PANICKING.fetch_add(1, Ordering::SeqCst) > 0 {
        console::emergency_println(format_args!(
            "[libos] KERNEL PANIC on CPU {cpu} while panicking: {}",
            info.message()
        ));
        interrupts::halt_forever();
    }
    console::emergency_println(format_args!("[libos] KERNEL PANIC on CPU {cpu}: {}", info.message()));
    if let Some(loc) = info.location() {
        console::emergency_println(format_args!("  at {}:{}:{}", loc.file(), loc.line(), loc.column()));
    }
    power::exit(RunExit::Failure)
}
