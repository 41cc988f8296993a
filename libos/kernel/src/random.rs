//! Random bytes: RDSEED or RDRAND when the CPU has them.
//!
//! Without either (old CPUs; QEMU's default `qemu64` model), bytes come from
//! a xorshift generator seeded from the TSC and the RTC: unpredictable
//! enough for hash seeds, NOT for cryptography. `getrandom` says which
//! source it used in the boot report.

use core::sync::atomic::{AtomicU64, Ordering};

use crate::arch::x86_64::cpu;

/// The source of random bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// RDSEED (entropy source).
    Rdseed,
    /// RDRAND (DRBG reseeded by hardware).
    Rdrand,
    /// A software generator (not cryptographic).
    Software,
}

/// The source in use.
pub fn source() -> Source {
    let f = cpu::features();
    if f.rdseed {
        Source::Rdseed
    } else if f.rdrand {
        Source::Rdrand
    } else {
        Source::Software
    }
}

static STATE: AtomicU64 = AtomicU64::new(0);

fn software_next() -> u64 {
    let mut x = STATE.load(Ordering::Relaxed);
    if x == 0 {
        x = crate::time::rdtsc() ^ 0x9E37_79B9_7F4A_7C15 ^ crate::time::clock().realtime_at_boot_ns;
    }
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    STATE.store(x, Ordering::Relaxed);
    x
}

fn hardware_next(seed: bool) -> Option<u64> {
    for _ in 0..64 {
        let mut v = 0u64;
        // SAFETY: the CPU reported the instruction; it only writes `v` and CF.
        let ok = unsafe {
            if seed { core::arch::x86_64::_rdseed64_step(&mut v) } else { core::arch::x86_64::_rdrand64_step(&mut v) }
        };
        if ok == 1 {
            return Some(v);
        }
        core::hint::spin_loop();
    }
    None
}

/// One random 64-bit value.
pub fn next_u64() -> u64 {
    match source() {
        Source::Rdseed => hardware_next(true).or_else(|| hardware_next(false)).unwrap_or_else(software_next),
        Source::Rdrand => hardware_next(false).unwrap_or_else(software_next),
        Source::Software => software_next(),
    }
}

/// Fills `buf` with random bytes.
pub fn fill(buf: &mut [u8]) {
    for chunk in buf.chunks_mut(8) {
        let v = next_u64().to_le_bytes();
        chunk.copy_from_slice(&v[..chunk.len()]);
    }
}
