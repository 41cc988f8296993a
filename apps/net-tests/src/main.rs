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

/// The xorshift stream the host side generates test data with.
pub struct Stream(u64);

impl Stream {
    /// A stream from `seed`.
    pub fn new(seed: u64) -> Stream {
        Stream(seed | 1)
    }

    /// Fills `buf`.
    pub fn fill(&mut self, buf: &mut [u8]) {
        for b in buf {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            *b = self.0 as u8;
        }
    }
}

/// FNV-1a, continued over `bytes`.
pub fn fnv(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
    }
    h
}

/// FNV-1a's initial value.
pub const FNV_START: u64 = 0xcbf2_9ce4_8422_2325;
