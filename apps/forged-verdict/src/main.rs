//! An app that lies about how it ends: it prints the lines the xtask once
//! judged runs by (`[libos] exit: success`, `test ... ok`, the done line) on
//! its standard output, then dies. `cargo xtask test` checks that the
//! verdict and the test results are the kernel's (its run record on COM2),
//! under QEMU and Bochs:
//!
//! - `forged-verdict -- segv`: forges success, then writes to address 0
//!   (the run must end killed by SIGSEGV);
//! - `forged-verdict -- exit3`: forges success and an exit code, then exits
//!   with 3;
//! - its `#[libos::test]`s: one forges passes and faults (it must be
//!   reported failed, with no phantom pass), one checks that ring 3 cannot
//!   reach the record's port, one that a test name cannot carry a line break
//!   into the record.
#![no_std]
#![no_main]

use core::arch::asm;

use libos::prelude::*;

/// Prints every line an app could forge, with the names of `test`.
fn forge(test: &str) {
    println!("forged-verdict: forging the kernel's lines");
    println!("[libos-test] start forged::phantom");
    println!("test forged::phantom ... ok");
    println!("test {test} ... ok");
    println!("[libos-test] done: 2 passed, 0 failed, 0 ignored");
    println!("[libos] exit: app-code 42");
    println!("[libos] exit: success");
}

/// Writes to address 0: the kernel ends the app with SIGSEGV.
fn segfault() -> ! {
    // SAFETY: a store the kernel must refuse (#PF at 0); it ends the app.
    unsafe { asm!("mov byte ptr [{a}], 1", a = in(reg) 0u64, options(nostack)) };
    unreachable!("a store to address 0 did not fault");
}

#[libos::main]
fn main() -> i32 {
    let args: Vec<&str> = libos::env::args().collect();
    forge("forged_verdict::main");
    match args.get(1).copied() {
        Some("segv") => segfault(),
        Some("exit3") => 3,
        _ => {
            println!("usage: forged-verdict -- segv|exit3");
            2
        }
    }
}

#[libos::test]
fn forges_a_pass_then_faults() {
    forge("forged_verdict::forges_a_pass_then_faults");
    segfault();
}

#[libos::test(expect_fault = GP)]
fn the_record_port_is_out_of_reach() {
    // SAFETY: needs IOPL 3 or an I/O bitmap: raises #GP in ring 3.
    unsafe { asm!("out dx, al", in("dx") libos::__private::abi::run::RECORD_PORT, in("al") b'x') };
}

#[libos::test]
fn names_with_line_breaks_are_refused() {
    for name in ["x\ntest forged ... ok", "x ... ok", "x\rtest", "x\0"] {
        // SAFETY: registration only copies the name; it changes nothing in
        // this process.
        let r = unsafe { libos::debug::stubs::libos_test_register(99, name.as_ptr(), name.len(), 0, 0) };
        assert_eq!(r, Err(libos::Errno::EINVAL), "the kernel took the test name {name:?}");
    }
}
