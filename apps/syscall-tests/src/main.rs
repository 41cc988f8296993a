//! Ring-3 tests of the syscall path: the register ABI, bad pointers and
//! lengths, the memory calls, time, and the SYSRET-unsafe returns.
//! Run by `cargo xtask test`; each test runs in a fresh process.
#![no_std]
#![no_main]

mod abi;
mod compat;
mod linux;
mod memory;
mod pointers;
mod returns;
mod services;

#[libos::main]
fn main() {
    libos::println!("syscall-tests: run with `cargo xtask test syscall_tests`");
}
