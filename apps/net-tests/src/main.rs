//! Ring-3 tests of the network. The host side (the xtask's
//! `testing/host_side.rs`) plays the client on the ports the suite
//! forwards: a test listens, then prints `net-host: ACTION PORT ...` and
//! the host connects; both sides judge what they see.
//!
//! - [`transfer`]: echo with many connections at once, a large transfer
//!   both ways, UDP round trips, a reset mid-transfer, a connection flood,
//!   connections left open at exit;
//! - [`calls`]: the calls' errors (refused connects, bad addresses and
//!   lengths, EMFILE, options), and blocked calls woken by `shutdown` or
//!   outliving `close`.
#![no_std]
#![no_main]

extern crate alloc;

mod calls;
mod transfer;

#[libos::main]
fn main() {
    libos::println!("net-tests: run with `cargo xtask test net_tests`");
}

/// Whether the boot asked for the full test scale
/// (`env=NET_FULL_SCALE=1`, which `LIBOS_NET_FULL_SCALE=1 cargo xtask test`
/// passes).
pub fn full_scale() -> bool {
    libos::env::vars().any(|v| v == "NET_FULL_SCALE=1")
}

/// Asks the host side for `request` (see the crate documentation).
pub fn ask_host(request: &str) {
    libos::println!("net-host: {request}");
}

/// The test data both sides generate and hash (one definition in the ABI crate).
pub use libos_abi::test_data::{FNV_START, Stream, fnv};
