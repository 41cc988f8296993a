//! `_start`: where the kernel starts the app.
//!
//! The kernel enters ring 3 at `_start` with RSP pointing at the System V
//! initial stack (argc, argv..., NULL, envp..., NULL, auxv pairs). `_start`
//! hands that pointer to [`libos_start`], which records the arguments, then
//! runs the app's `main` (or, in the modes the kernel asks for, its tests or
//! the accelerator probe) and exits with its code.

use core::arch::global_asm;

use crate::{env, process};

global_asm!(
    r#"
    .section .text._start, "ax"
    .balign 16
    .global _start
_start:
    /* RSP = argc, 16-byte aligned by the kernel. Mark the outermost frame. */
    xorl %ebp, %ebp
    movq %rsp, %rdi
    andq $-16, %rsp
    /* RSP is 16-byte aligned at the call, as the SysV ABI requires. */
    call {start}
    ud2
    "#,
    start = sym libos_start,
    options(att_syntax)
);

unsafe extern "Rust" {
    /// The app's main, emitted by `#[libos::main]`.
    safe fn __libos_main() -> i32;
}

/// What `main` may return, as with std's `Termination`.
pub trait Termination {
    /// The exit code for this value.
    fn report(self) -> i32;
}

impl Termination for () {
    fn report(self) -> i32 {
        0
    }
}

impl Termination for i32 {
    fn report(self) -> i32 {
        self
    }
}

impl Termination for u8 {
    fn report(self) -> i32 {
        self as i32
    }
}

impl Termination for process::ExitCode {
    fn report(self) -> i32 {
        self.0 as i32
    }
}

impl<T: Termination, E: core::fmt::Debug> Termination for Result<T, E> {
    fn report(self) -> i32 {
        match self {
            Ok(v) => v.report(),
            Err(e) => {
                crate::eprintln!("Error: {e:?}");
                1
            }
        }
    }
}

/// The Rust entry: `stack` is the initial stack pointer.
///
/// # Safety
/// Called once, by `_start`, with the kernel's initial stack.
unsafe extern "C" fn libos_start(stack: *const u64) -> ! {
    // SAFETY: the kernel built a System V initial stack at `stack`.
    unsafe { env::init(stack) };
    // The first thread's control block (FS base) before any code that may
    // ask for the current thread or a thread-local.
    crate::thread::init_first_thread();
    crate::cpu::init();
    match env::arg(1) {
        #[cfg(feature = "testing")]
        Some("--libos-test-list") => super::test_runner::list(),
        #[cfg(feature = "testing")]
        Some("--libos-test-run") => super::test_runner::run(env::arg(2)),
        Some("--libos-probe") => probe(),
        _ => process::exit(__libos_main()),
    }
}

/// The accelerator probe: syscalls and kernel copies to and from ring 3.
fn probe() -> ! {
    let pid = process::id();
    crate::print!("");
    let mut bytes = [0u8; 8];
    crate::random::fill(&mut bytes);
    process::exit(if pid > 0 { 0 } else { 1 })
}
