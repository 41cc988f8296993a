//! The test data the network tests' two sides agree on: the guest (the
//! `net-tests` app, the `net-std` program) and the xtask's host side
//! generate the same pseudo-random bytes from a seed and check transfers
//! by an FNV-1a hash of them. One definition, so the sides cannot drift.

/// The xorshift generator both sides use for test data.
pub struct Stream(u64);

impl Stream {
    /// A stream from `seed` (0 is mapped to a fixed non-zero state).
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

/// FNV-1a's initial value.
pub const FNV_START: u64 = 0xcbf2_9ce4_8422_2325;

/// FNV-1a, continued from `h` over `bytes`.
pub fn fnv(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_repeat_by_seed_and_fnv_matches_its_reference() {
        let (mut a, mut b, mut c) = ([0u8; 64], [0u8; 64], [0u8; 64]);
        Stream::new(7).fill(&mut a);
        Stream::new(7).fill(&mut b);
        Stream::new(8).fill(&mut c);
        assert_eq!(a, b);
        assert_ne!(a, c);
        // FNV-1a 64 of "a" (the published test vector).
        assert_eq!(fnv(FNV_START, b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
