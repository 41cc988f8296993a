//! Random bytes from the kernel (RDSEED/RDRAND when the CPU has them).

use libos_abi::syscalls::user;

/// Fills `buf` with random bytes.
pub fn fill(buf: &mut [u8]) {
    let mut done = 0;
    while done < buf.len() {
        let rest = &mut buf[done..];
        // SAFETY: `rest` is valid for writes of its length.
        match unsafe { user::getrandom(rest.as_mut_ptr(), rest.len(), 0) } {
            Ok(n) => done += n,
            Err(e) => panic!("getrandom failed: {e}"),
        }
    }
}

/// A random `u64`.
pub fn u64() -> u64 {
    let mut b = [0u8; 8];
    fill(&mut b);
    u64::from_le_bytes(b)
}
