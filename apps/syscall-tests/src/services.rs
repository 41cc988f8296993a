//! Time, randomness and system information.

use libos::__private::abi::abi_types::Utsname;
use libos::prelude::*;
use libos::sys;
use libos::time::{Duration, Instant, SystemTime};

#[libos::test]
fn monotonic_time_moves_forward() {
    let a = Instant::now();
    let mut last = a;
    for _ in 0..1000 {
        let now = Instant::now();
        assert!(now >= last, "monotonic time went backwards");
        last = now;
    }
    assert!(last > a);
}

#[libos::test]
fn realtime_is_plausible() {
    let now = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap();
    // 2024-01-01 .. 2100-01-01
    assert!(now.as_secs() > 1_704_067_200 && now.as_secs() < 4_102_444_800, "realtime {now:?}");
}

#[libos::test]
fn nanosleep_sleeps_at_least_as_long_as_asked() {
    for ms in [0u64, 1, 20] {
        let start = Instant::now();
        libos::time::sleep(Duration::from_millis(ms));
        let slept = start.elapsed();
        assert!(slept >= Duration::from_millis(ms), "asked {ms} ms, slept {slept:?}");
    }
}

#[libos::test]
fn getrandom_gives_different_bytes() {
    let mut a = [0u8; 64];
    let mut b = [0u8; 64];
    libos::random::fill(&mut a);
    libos::random::fill(&mut b);
    assert_ne!(a, b);
    assert!(a.iter().any(|&x| x != 0));
    let n: Vec<u64> = (0..16).map(|_| libos::random::u64()).collect();
    let mut sorted = n.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), n.len(), "repeated random values");
}

#[libos::test]
fn uname_names_the_system() {
    let mut u = Utsname::zeroed();
    // SAFETY: `u` is valid for writes.
    unsafe { sys::uname(&mut u) }.unwrap();
    // Linux's name (programs check for it), this kernel's in the release.
    assert_eq!(Utsname::field_str(&u.sysname), Some("Linux"));
    assert!(Utsname::field_str(&u.release).is_some_and(|r| r.starts_with("6.1.0-libos-")));
    assert_eq!(Utsname::field_str(&u.machine), Some("x86_64"));
}

#[libos::test]
fn arguments_and_auxv() {
    let args: Vec<&str> = libos::env::args().collect();
    assert_eq!(args[0], "syscall-tests");
    assert_eq!(args[1], "--libos-test-run");
    assert_eq!(libos::env::auxv(6), Some(4096), "AT_PAGESZ");
    assert!(libos::env::auxv(9).is_some_and(|e| e >= 0x40_0000), "AT_ENTRY");
    let random = libos::env::auxv(25).expect("AT_RANDOM");
    // SAFETY: AT_RANDOM points at 16 bytes on the initial stack.
    let bytes = unsafe { core::slice::from_raw_parts(random as *const u8, 16) };
    assert!(bytes.iter().any(|&b| b != 0));
}

#[libos::test(should_panic = "as planned")]
fn a_panicking_test_is_reported_as_a_panic() {
    panic!("this panic is as planned");
}
