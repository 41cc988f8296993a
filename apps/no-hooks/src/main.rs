//! Calls the numbers of the test and benchmark hooks, `libos_debug` (1025)
//! and `libos_test_register` (1024), with every operation number, and
//! checks that each answers -ENOSYS, as any number a kernel has no call for.
//!
//! `cargo xtask test` runs it as a production image (the kernel and this
//! app built without the hooks), where it must exit 0, and with a test
//! kernel, where the first answer that is not -ENOSYS ends it with 1 (so
//! the check can fail). It issues the `syscall` instruction itself: a
//! production `libos` has no hook stubs.
#![no_std]
#![no_main]

use core::arch::asm;

use libos::prelude::*;
use libos::sys::nr;

/// Every operation number `libos_abi::debug` defines is below this (and
/// some that none defines).
const OPERATIONS: u64 = 64;
/// -ENOSYS.
const ENOSYS: i64 = -38;

/// System call `number` with five arguments.
fn syscall5(number: u64, args: [u64; 5]) -> i64 {
    let ret: i64;
    // SAFETY: on a production kernel these numbers do nothing. On a test
    // kernel the first call (operation 0, which no hook defines, and a
    // registration of a test named "x") changes nothing either, and its
    // answer ends the app before any other operation runs. SYSCALL
    // clobbers RCX and R11.
    unsafe {
        asm!(
            "syscall",
            inlateout("rax") number as i64 => ret,
            in("rdi") args[0],
            in("rsi") args[1],
            in("rdx") args[2],
            in("r10") args[3],
            in("r8") args[4],
            out("rcx") _,
            out("r11") _,
            options(nostack),
        );
    }
    ret
}

#[libos::main]
fn main() -> i32 {
    let name = b"x";
    let mut calls = 0;
    for op in 0..OPERATIONS {
        let debug = syscall5(nr::LIBOS_DEBUG, [op, 0, 0, 0, 0]);
        let register = syscall5(nr::LIBOS_TEST_REGISTER, [op, name.as_ptr() as u64, name.len() as u64, 0, 0]);
        for (call, ret) in [("libos_debug", debug), ("libos_test_register", register)] {
            if ret != ENOSYS {
                println!("no-hooks: a hook answered: {call} with operation {op} returned {ret}, not -ENOSYS");
                return 1;
            }
            calls += 1;
        }
    }
    println!("no-hooks: every hook number answered -ENOSYS ({calls} calls, operations 0 to {})", OPERATIONS - 1);
    0
}
