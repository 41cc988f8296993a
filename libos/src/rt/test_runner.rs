//! The app side of boot-time tests (`#[libos::test]`).
//!
//! The kernel drives: it starts the app with `--libos-test-list`, and the
//! runtime registers every test of the `.libos_tests` section with the
//! `libos_test_register` syscall; then the kernel starts a fresh instance
//! per test with `--libos-test-run <index>`, which runs that one test and
//! exits with 0 when it returns. A panic exits with 101 (or 102 when the
//! test wanted a panic whose message contains a text that is missing); a
//! fault ends the app in the kernel, which reports it.

use core::sync::atomic::{AtomicPtr, Ordering};

use libos_abi::test::{Expect, TestCase};

use super::PANIC_EXIT_CODE;
use crate::process;

/// Exit code for a `should_panic = "text"` test that panicked without "text".
pub const WRONG_PANIC_MESSAGE_EXIT_CODE: i32 = 102;

unsafe extern "C" {
    static __libos_tests_start: u8;
    static __libos_tests_end: u8;
}

fn tests() -> &'static [TestCase] {
    let start = &raw const __libos_tests_start as usize;
    let end = &raw const __libos_tests_end as usize;
    let n = (end - start) / core::mem::size_of::<TestCase>();
    // SAFETY: the linker script gathers only TestCase records (emitted by
    // #[libos::test]) between the two symbols, aligned.
    unsafe { core::slice::from_raw_parts(start as *const TestCase, n) }
}

/// The test running in this instance (for the panic handler).
static RUNNING: AtomicPtr<TestCase> = AtomicPtr::new(core::ptr::null_mut());

/// Registers every test with the kernel, then exits.
pub fn list() -> ! {
    for (index, t) in tests().iter().enumerate() {
        let (kind, arg) = t.expect.to_raw();
        // SAFETY: the name is a valid string of that length.
        let r = unsafe {
            libos_abi::syscalls::user_hooks::libos_test_register(index as u64, t.name.as_ptr(), t.name.len(), kind, arg)
        };
        if let Err(e) = r {
            crate::eprintln!("registering test {} failed: {e}", t.name);
            process::exit(1);
        }
    }
    process::exit(0)
}

/// Runs test `index`, then exits with 0.
pub fn run(index: Option<&str>) -> ! {
    let Some(test) = index.and_then(|i| i.parse::<usize>().ok()).and_then(|i| tests().get(i)) else {
        crate::eprintln!("--libos-test-run: no such test {index:?}");
        process::exit(2)
    };
    RUNNING.store(test as *const TestCase as *mut TestCase, Ordering::Relaxed);
    (test.run)();
    process::exit(0)
}

/// The exit code for a panic in the running test (or in `main`).
pub fn panic_exit_code(info: &core::panic::PanicInfo<'_>) -> i32 {
    let running = RUNNING.load(Ordering::Relaxed);
    if running.is_null() {
        return PANIC_EXIT_CODE;
    }
    // SAFETY: RUNNING points at a static TestCase.
    let test = unsafe { &*running };
    if let Expect::Panic { message: Some(want) } = test.expect {
        let mut buf = Buffer { bytes: [0; 512], len: 0 };
        let _ = core::fmt::write(&mut buf, format_args!("{}", info.message()));
        let got = core::str::from_utf8(&buf.bytes[..buf.len]).unwrap_or("");
        if !got.contains(want) {
            crate::eprintln!("the panic message does not contain \"{want}\"");
            return WRONG_PANIC_MESSAGE_EXIT_CODE;
        }
    }
    PANIC_EXIT_CODE
}

struct Buffer {
    bytes: [u8; 512],
    len: usize,
}

impl core::fmt::Write for Buffer {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let n = s.len().min(self.bytes.len() - self.len);
        self.bytes[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}
