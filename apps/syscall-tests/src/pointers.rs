//! Every pointer-taking call, given a pointer it must not follow or a
//! length it must not honour, returns an error and the kernel keeps going.

use core::ptr::{null_mut, without_provenance, without_provenance_mut};

use libos::Errno;
use libos::{debug, sys};
use libos_abi_types::*;

/// Constants of the ABI the tests pass.
mod libos_abi_types {
    pub use libos::__private::abi::abi_types::{
        CLOCK_MONOTONIC, MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE, Timespec, Utsname,
    };
}

/// Addresses no app may hand the kernel.
const BAD: [(u64, &str); 6] = [
    (0xffff_ffff_8010_0000, "kernel text"),
    (0xffff_8000_0000_1000, "direct map"),
    (0xffff_fe00_0002_0000, "entry area"),
    (0x0000_8000_0000_0000, "non-canonical (first)"),
    (0x1234_5678_9abc_def0, "non-canonical"),
    (0x0000_7fff_ffff_f000, "the last user page (never mapped)"),
];
/// A user address with nothing mapped.
const UNMAPPED: u64 = 0x0000_1000_0000_0000;

#[libos::test]
fn write_rejects_bad_buffers() {
    for (addr, what) in BAD.iter().chain(&[(UNMAPPED, "unmapped")]) {
        // SAFETY: the kernel must refuse the pointer without using it.
        let r = unsafe { sys::write(1, without_provenance(*addr as usize), 16) };
        assert_eq!(r, Err(Errno::EFAULT), "write from {what} ({addr:#x})");
    }
}

#[libos::test]
fn huge_and_overflowing_lengths_are_refused() {
    let buf = [b'x'; 8];
    for len in [usize::MAX, usize::MAX - 4, 1 << 47, 1 << 63] {
        // SAFETY: as above: the length must be refused before any copy.
        let r = unsafe { sys::write(1, buf.as_ptr(), len) };
        assert_eq!(r, Err(Errno::EFAULT), "write of {len:#x} bytes");
        // SAFETY: as above.
        let r = unsafe { sys::getrandom(null_mut::<u8>().wrapping_add(0x1000), len, 0) };
        assert_eq!(r, Err(Errno::EFAULT), "getrandom of {len:#x} bytes");
    }
}

#[libos::test]
fn a_write_that_runs_off_mapped_memory_stops_there() {
    // SAFETY: a fresh anonymous page the test owns.
    let page = unsafe { sys::mmap(0, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) }.unwrap();
    // SAFETY: unmapping the second page of our own mapping.
    unsafe { sys::munmap(page + 4096, 4096) }.unwrap();
    let tail = page + 4096 - 3;
    // SAFETY: the first three bytes are ours; the rest is unmapped.
    unsafe { core::ptr::copy_nonoverlapping(b"ok\n".as_ptr(), tail as *mut u8, 3) };
    // SAFETY: the kernel copies what it can and stops at the hole.
    let r = unsafe { sys::write(1, tail as *const u8, 100) };
    assert_eq!(r, Ok(3), "partial write");
}

#[libos::test]
fn reads_into_kernel_or_read_only_memory_fault() {
    static READ_ONLY: [u8; 64] = [0; 64];
    for (addr, what) in BAD.iter().chain(&[(UNMAPPED, "unmapped"), (READ_ONLY.as_ptr() as u64, "read-only rodata")]) {
        let p: *mut u8 = without_provenance_mut(*addr as usize);
        // SAFETY: the kernel must refuse (or fail to write) the buffer.
        assert_eq!(unsafe { sys::getrandom(p, 16, 0) }, Err(Errno::EFAULT), "getrandom into {what}");
        // read() checks the range before it waits for input (as Linux's tty
        // read does); a buffer in user space that is unmapped or read-only
        // only fails once input arrives, so only kernel and non-canonical
        // addresses are tried here.
        if *addr >= 0x0000_7fff_ffff_f000 {
            // SAFETY: as above.
            assert_eq!(unsafe { sys::read(0, p, 16) }, Err(Errno::EFAULT), "read into {what}");
        }
        assert_eq!(
            // SAFETY: as above.
            unsafe { sys::clock_gettime(CLOCK_MONOTONIC, p as *mut Timespec) },
            Err(Errno::EFAULT),
            "clock_gettime into {what}"
        );
        // SAFETY: as above.
        assert_eq!(unsafe { sys::uname(p as *mut Utsname) }, Err(Errno::EFAULT), "uname into {what}");
        if *addr != READ_ONLY.as_ptr() as u64 {
            assert_eq!(
                // SAFETY: as above (nanosleep only reads, so read-only memory is fine for it).
                unsafe { sys::nanosleep(p as *const Timespec, null_mut()) },
                Err(Errno::EFAULT),
                "nanosleep from {what}"
            );
        }
    }
    assert!(READ_ONLY.iter().all(|&b| b == 0), "the kernel wrote into read-only memory");
}

#[libos::test]
fn invalid_arguments_are_einval_or_ebadf() {
    let mut t = Timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: valid pointers; the arguments are what is wrong.
    unsafe {
        assert_eq!(sys::write(7, b"x".as_ptr(), 1), Err(Errno::EBADF));
        assert_eq!(sys::write(-1, b"x".as_ptr(), 1), Err(Errno::EBADF));
        assert_eq!(sys::read(1, b"x".as_ptr() as *mut u8, 1), Err(Errno::EBADF));
        assert_eq!(sys::clock_gettime(99, &mut t), Err(Errno::EINVAL));
        assert_eq!(sys::clock_gettime(-1, &mut t), Err(Errno::EINVAL));
        let bad = Timespec { tv_sec: 0, tv_nsec: 1_000_000_000 };
        assert_eq!(sys::nanosleep(&bad, null_mut()), Err(Errno::EINVAL));
        let negative = Timespec { tv_sec: -1, tv_nsec: 0 };
        assert_eq!(sys::nanosleep(&negative, null_mut()), Err(Errno::EINVAL));
        let mut b = [0u8; 4];
        assert_eq!(sys::getrandom(b.as_mut_ptr(), 4, 0xF0), Err(Errno::EINVAL));
        assert_eq!(debug::stubs::libos_test_register(0, b"x".as_ptr(), 0, 0, 0), Err(Errno::EINVAL));
        assert_eq!(debug::stubs::libos_test_register(0, b"x".as_ptr(), 100_000, 0, 0), Err(Errno::EINVAL));
        assert_eq!(debug::stubs::libos_test_register(0, b"x".as_ptr(), 1, 77, 0), Err(Errno::EINVAL));
        assert_eq!(debug::stubs::libos_debug(u64::MAX, 0, 0), Err(Errno::EINVAL));
    }
}

#[libos::test]
fn writes_of_zero_bytes_succeed_even_with_null() {
    // SAFETY: nothing is read for a zero-length write.
    assert_eq!(unsafe { sys::write(1, core::ptr::null(), 0) }, Ok(0));
}
