//! The calls static Linux programs make (issue 13): what each returns, as
//! Linux's man pages and source say, and bad pointers given to each.

use core::ptr::{null, null_mut, without_provenance, without_provenance_mut};

use libos::__private::abi::abi_types::{MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE, Timespec};
use libos::__private::abi::linux_types::*;
use libos::Errno;
use libos::sys;

/// Addresses no app may hand the kernel: kernel, non-canonical, unmapped.
const BAD: [u64; 4] = [0xffff_ffff_8010_0000, 0xffff_8000_0000_1000, 0x0000_8000_0000_0000, 0x0000_1000_0000_0000];

fn bad<T>(addr: u64) -> *mut T {
    without_provenance_mut(addr as usize)
}

#[libos::test]
fn identity_is_root_leading_its_group() {
    assert_eq!((sys::getuid(), sys::geteuid(), sys::getgid(), sys::getegid()), (Ok(0), Ok(0), Ok(0), Ok(0)));
    let pid = sys::getpid().unwrap();
    assert_eq!(sys::getppid(), Ok(0));
    assert_eq!(sys::getpgrp(), Ok(pid));
    assert_eq!(sys::getpgid(0), Ok(pid));
    assert_eq!(sys::getsid(pid), Ok(pid));
    assert_eq!(sys::getpgid(pid + 1000), Err(Errno::ESRCH));
    assert_eq!(sys::getsid(-1), Err(Errno::ESRCH));
    // A process group leader cannot start a session.
    assert_eq!(sys::setsid(), Err(Errno::EPERM));
}

#[libos::test]
fn resource_limits() {
    let mut l = Rlimit::default();
    // SAFETY: `l` is writable and not aliased.
    unsafe { sys::getrlimit(rlimit::STACK, &mut l) }.unwrap();
    assert_eq!((l.rlim_cur, l.rlim_max), (8 << 20, 8 << 20));
    let mut p = Rlimit::default();
    // SAFETY: as above.
    unsafe { sys::prlimit64(0, rlimit::STACK, null(), &mut p) }.unwrap();
    assert_eq!(p, l);
    // SAFETY: as above.
    unsafe { sys::getrlimit(rlimit::NOFILE, &mut l) }.unwrap();
    assert_eq!(l.rlim_cur, 1024);
    // Setting the same limits is fine; NOFILE may go down and up again
    // (up to 1024), a fixed limit may not change.
    // SAFETY: as above.
    unsafe {
        assert_eq!(sys::prlimit64(0, rlimit::NOFILE, &l, null_mut()), Ok(()));
        let lower = Rlimit { rlim_cur: 10, rlim_max: 1024 };
        let mut old = Rlimit::default();
        assert_eq!(sys::prlimit64(0, rlimit::NOFILE, &lower, &mut old), Ok(()));
        assert_eq!(old, l, "the old limits come back");
        assert_eq!(sys::dup2(1, 10), Err(Errno::EBADF), "dup2 at the lowered limit");
        assert_eq!(sys::prlimit64(0, rlimit::NOFILE, &l, null_mut()), Ok(()));
        let above = Rlimit { rlim_cur: 1024, rlim_max: 1025 };
        assert_eq!(sys::prlimit64(0, rlimit::NOFILE, &above, null_mut()), Err(Errno::EPERM));
        let smaller_stack = Rlimit { rlim_cur: 1 << 20, rlim_max: 8 << 20 };
        assert_eq!(sys::prlimit64(0, rlimit::STACK, &smaller_stack, null_mut()), Err(Errno::EPERM));
        let inverted = Rlimit { rlim_cur: 2048, rlim_max: 1024 };
        assert_eq!(sys::prlimit64(0, rlimit::NOFILE, &inverted, null_mut()), Err(Errno::EINVAL));
        assert_eq!(sys::getrlimit(rlimit::COUNT, &mut l), Err(Errno::EINVAL));
        assert_eq!(sys::prlimit64(0, 1000, null(), &mut l), Err(Errno::EINVAL));
        assert_eq!(sys::prlimit64(99_999, rlimit::STACK, null(), &mut l), Err(Errno::ESRCH));
    }
}

#[libos::test]
fn usage_and_system_figures() {
    let mut u = Rusage::default();
    // SAFETY: `u` is writable and not aliased.
    unsafe { sys::getrusage(RUSAGE_SELF, &mut u) }.unwrap();
    assert!(u.ru_maxrss > 0, "maxrss {}", u.ru_maxrss);
    // SAFETY: as above.
    unsafe {
        sys::getrusage(RUSAGE_CHILDREN, &mut u).unwrap();
        assert_eq!(u.ru_maxrss, 0);
        assert_eq!(sys::getrusage(7, &mut u), Err(Errno::EINVAL));
    }
    let mut s = Sysinfo::default();
    // SAFETY: as above.
    unsafe { sys::sysinfo(&mut s) }.unwrap();
    assert!(s.totalram > 0 && s.freeram > 0 && s.freeram <= s.totalram && s.mem_unit == 1);
    assert_eq!(s.procs, 1);
    let mut t = Tms { tms_utime: -1, ..Tms::default() };
    // SAFETY: as above.
    let ticks = unsafe { sys::times(&mut t) }.unwrap();
    assert_eq!(t.tms_cutime, 0);
    // SAFETY: null is allowed.
    let later = unsafe { sys::times(null_mut()) }.unwrap();
    assert!(later >= ticks);
}

/// CPU time of the app and of the thread, by `getrusage`, `times` and the
/// CPU-time clocks: it grows by about the length of a busy loop, and not
/// while the thread sleeps.
#[libos::test]
fn cpu_time_grows_with_work_and_not_with_sleep() {
    const PROCESS_CPUTIME_ID: i32 = 2;
    const THREAD_CPUTIME_ID: i32 = 3;
    fn clock_ns(id: i32) -> u64 {
        let mut ts = Timespec::default();
        // SAFETY: `ts` is writable and not aliased.
        unsafe { sys::clock_gettime(id, &mut ts) }.unwrap();
        ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
    }
    fn rusage_us(who: i32) -> u64 {
        let mut u = Rusage::default();
        // SAFETY: `u` is writable and not aliased.
        unsafe { sys::getrusage(who, &mut u) }.unwrap();
        assert_eq!((u.ru_stime.tv_sec, u.ru_stime.tv_usec), (0, 0));
        u.ru_utime.tv_sec as u64 * 1_000_000 + u.ru_utime.tv_usec as u64
    }
    fn utime_ticks() -> i64 {
        let mut t = Tms::default();
        // SAFETY: `t` is writable and not aliased.
        unsafe { sys::times(&mut t) }.unwrap();
        t.tms_utime
    }
    // The emulator's TSC follows the host's clock: a virtual CPU the host
    // preempts still counts as running, so CPU time may exceed the work
    // done, but one thread's never exceeds the wall time around it.
    let wall0 = clock_ns(1);
    let (process0, thread0) = (clock_ns(PROCESS_CPUTIME_ID), clock_ns(THREAD_CPUTIME_ID));
    let (self0, ticks0) = (rusage_us(RUSAGE_SELF), utime_ticks());
    // 100 ms of work, by the monotonic clock.
    let start = clock_ns(1);
    while clock_ns(1) - start < 100_000_000 {
        core::hint::spin_loop();
    }
    let worked = clock_ns(1) - start;
    let (process1, thread1) = (clock_ns(PROCESS_CPUTIME_ID), clock_ns(THREAD_CPUTIME_ID));
    let (self1, ticks1) = (rusage_us(RUSAGE_SELF), utime_ticks());
    let wall1 = clock_ns(1);
    // Nobody else runs here: the thread had the CPU (timer interrupts and
    // the calls themselves count too), so at least half of it shows.
    let thread = thread1 - thread0;
    assert!(thread >= worked / 2, "thread CPU time +{thread} ns over {worked} ns of work");
    assert!(thread <= wall1 - wall0, "thread CPU time +{thread} ns in {} ns", wall1 - wall0);
    assert!(process1 - process0 >= worked / 2, "process CPU time +{} ns", process1 - process0);
    assert!(self1 - self0 >= worked / 2000, "ru_utime +{} us", self1 - self0);
    assert!(rusage_us(RUSAGE_THREAD) <= rusage_us(RUSAGE_SELF));
    assert!(ticks1 - ticks0 >= 5, "tms_utime +{} ticks", ticks1 - ticks0);
    // Asleep for 100 ms, it runs nothing: its CPU time around the sleep
    // leaves out at least 90 ms of the wall time.
    let (wall2, thread2) = (clock_ns(1), clock_ns(THREAD_CPUTIME_ID));
    let ts = Timespec { tv_sec: 0, tv_nsec: 100_000_000 };
    // SAFETY: a valid Timespec; no remainder asked.
    unsafe { sys::nanosleep(&ts, null_mut()) }.unwrap();
    let (thread3, wall3) = (clock_ns(THREAD_CPUTIME_ID), clock_ns(1));
    let (cpu, wall) = (thread3 - thread2, wall3 - wall2);
    assert!(cpu + 90_000_000 <= wall, "a 100 ms sleep cost {cpu} ns of CPU time in {wall} ns");
}

#[libos::test]
fn older_time_calls_agree_with_clock_gettime() {
    let mut ts = Timespec::default();
    // SAFETY: `ts` is writable and not aliased.
    unsafe { sys::clock_gettime(0, &mut ts) }.unwrap();
    let mut tv = Timeval::default();
    let mut tz = Timezone { tz_minuteswest: 7, tz_dsttime: 7 };
    // SAFETY: as above.
    unsafe { sys::gettimeofday(&mut tv, &mut tz) }.unwrap();
    assert_eq!(tz, Timezone::default());
    assert!(tv.tv_sec >= ts.tv_sec && tv.tv_sec <= ts.tv_sec + 2 && (0..1_000_000).contains(&tv.tv_usec));
    let mut t = 0i64;
    // SAFETY: as above.
    let now = unsafe { sys::time(&mut t) }.unwrap();
    assert_eq!(now, t);
    assert!(now >= ts.tv_sec && now <= ts.tv_sec + 2);
    // SAFETY: null pointers are allowed.
    unsafe {
        sys::gettimeofday(null_mut(), null_mut()).unwrap();
        sys::time(null_mut()).unwrap();
    }
    let mut res = Timespec::default();
    // SAFETY: as above.
    unsafe {
        sys::clock_getres(1, &mut res).unwrap();
        assert_eq!(res, Timespec::new(0, 1));
        sys::clock_getres(0, null_mut()).unwrap();
        assert_eq!(sys::clock_getres(99, &mut res), Err(Errno::EINVAL));
    }
}

#[libos::test]
fn clock_nanosleep_relative_and_absolute() {
    let now = |clock| {
        let mut ts = Timespec::default();
        // SAFETY: `ts` is writable and not aliased.
        unsafe { sys::clock_gettime(clock, &mut ts) }.unwrap();
        ts.as_nanos().unwrap()
    };
    let start = now(1);
    let req = Timespec::new(0, 2_000_000);
    // SAFETY: `req` is readable; `rem` may be null.
    unsafe { sys::clock_nanosleep(1, 0, &req, null_mut()) }.unwrap();
    assert!(now(1) - start >= 2_000_000);
    let until = Timespec::from_nanos(now(1) + 3_000_000);
    // SAFETY: as above.
    unsafe { sys::clock_nanosleep(1, 1, &until, null_mut()) }.unwrap();
    assert!(now(1) >= until.as_nanos().unwrap());
    // An absolute time in the past returns at once.
    // SAFETY: as above.
    unsafe { sys::clock_nanosleep(0, 1, &Timespec::new(1, 0), null_mut()) }.unwrap();
    // SAFETY: as above.
    unsafe {
        assert_eq!(sys::clock_nanosleep(2, 0, &req, null_mut()), Err(Errno::ENOTSUP));
        assert_eq!(sys::clock_nanosleep(99, 0, &req, null_mut()), Err(Errno::EINVAL));
        assert_eq!(sys::clock_nanosleep(1, 0, &Timespec::new(0, 1_000_000_000), null_mut()), Err(Errno::EINVAL));
    }
}

#[libos::test]
fn robust_list_registration() {
    let head = RobustListHead::default();
    let head_ptr = &head as *const RobustListHead as *mut RobustListHead;
    // SAFETY: the head stays valid until the test ends; the list is empty
    // (its `list` is 0), so the exit walk stops at once.
    unsafe {
        assert_eq!(sys::set_robust_list(head_ptr, 23), Err(Errno::EINVAL));
        sys::set_robust_list(head_ptr, 24).unwrap();
    }
    let (mut got, mut len) = (0u64, 0usize);
    // SAFETY: both are writable and not aliased.
    unsafe { sys::get_robust_list(0, &mut got, &mut len) }.unwrap();
    assert_eq!((got, len), (head_ptr as u64, 24));
    // SAFETY: as above.
    assert_eq!(unsafe { sys::get_robust_list(99_999, &mut got, &mut len) }, Err(Errno::ESRCH));
    // SAFETY: clears the registration before `head` goes.
    unsafe { sys::set_robust_list(null_mut(), 24) }.unwrap();
}

#[libos::test]
fn rseq_clone3_and_membarrier() {
    // SAFETY: both fail before looking at their arguments.
    unsafe {
        assert_eq!(sys::rseq(null_mut(), 32, 0, 0), Err(Errno::ENOSYS));
        assert_eq!(sys::clone3(null_mut(), 88), Err(Errno::ENOSYS));
    }
    let supported = sys::membarrier(membarrier_cmd::QUERY, 0, 0).unwrap();
    assert!(supported & membarrier_cmd::PRIVATE_EXPEDITED != 0);
    assert_eq!(sys::membarrier(membarrier_cmd::PRIVATE_EXPEDITED, 0, 0), Err(Errno::EPERM));
    assert_eq!(sys::membarrier(membarrier_cmd::REGISTER_PRIVATE_EXPEDITED, 0, 0), Ok(0));
    assert_eq!(sys::membarrier(membarrier_cmd::PRIVATE_EXPEDITED, 0, 0), Ok(0));
    assert_eq!(sys::membarrier(membarrier_cmd::GLOBAL, 0, 0), Ok(0));
    assert_eq!(sys::membarrier(membarrier_cmd::GLOBAL, 1, 0), Err(Errno::EINVAL));
    assert_eq!(sys::membarrier(3, 0, 0), Err(Errno::EINVAL));
}

fn map(pages: usize) -> usize {
    // SAFETY: a fresh anonymous mapping.
    unsafe { sys::mmap(0, pages * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) }.unwrap()
}

#[libos::test]
fn madvise_dontneed_zeroes_and_hints_need_mappings() {
    let addr = map(4);
    // SAFETY: the mapping is ours, 4 pages.
    let bytes = unsafe { core::slice::from_raw_parts_mut(addr as *mut u8, 4 * 4096) };
    bytes.fill(0xa5);
    // SAFETY: nothing refers to the pages dropped (`bytes` is re-read after).
    unsafe { sys::madvise(addr + 4096, 2 * 4096, madv::DONTNEED) }.unwrap();
    // SAFETY: as above: the mapping is still ours.
    let bytes = unsafe { core::slice::from_raw_parts(addr as *const u8, 4 * 4096) };
    assert!(bytes[..4096].iter().all(|&b| b == 0xa5));
    assert!(bytes[4096..3 * 4096].iter().all(|&b| b == 0), "MADV_DONTNEED kept the contents");
    assert!(bytes[3 * 4096..].iter().all(|&b| b == 0xa5));
    // SAFETY: hints change nothing; the refused calls do nothing.
    unsafe {
        sys::madvise(addr, 4 * 4096, madv::WILLNEED).unwrap();
        sys::madvise(addr, 4 * 4096, madv::HUGEPAGE).unwrap();
        assert_eq!(sys::madvise(addr + 1, 4096, madv::NORMAL), Err(Errno::EINVAL));
        assert_eq!(sys::madvise(addr, 4096, 999), Err(Errno::EINVAL));
        assert_eq!(sys::madvise(addr, 4096, madv::REMOVE), Err(Errno::EINVAL));
        assert_eq!(sys::madvise(0x0000_1000_0000_0000, 4096, madv::WILLNEED), Err(Errno::ENOMEM));
        assert_eq!(sys::madvise(0x0000_1000_0000_0000, 4096, madv::DONTNEED), Err(Errno::ENOMEM));
        // Past the end of the mapping: a hole.
        assert_eq!(sys::madvise(addr, 64 * 4096, madv::WILLNEED), Err(Errno::ENOMEM));
        // Kernel and non-canonical addresses.
        for a in BAD {
            assert_eq!(sys::madvise(a as usize, 4096, madv::DONTNEED), Err(Errno::ENOMEM), "{a:#x}");
        }
        sys::munmap(addr, 4 * 4096).unwrap();
    }
}

#[libos::test]
fn madvise_refuses_to_drop_the_program_image() {
    // The page of this function's code is the program's own image.
    let text = (madvise_refuses_to_drop_the_program_image as *const () as usize) & !4095;
    // SAFETY: refused before anything is dropped.
    assert_eq!(unsafe { sys::madvise(text, 4096, madv::DONTNEED) }, Err(Errno::EINVAL));
}

#[libos::test]
fn mremap_grows_shrinks_and_moves_with_the_contents() {
    use mremap_flags::*;
    let addr = map(2);
    // SAFETY: the mapping is ours, 2 pages.
    unsafe { core::slice::from_raw_parts_mut(addr as *mut u8, 2 * 4096) }.fill(0x5a);
    // Shrink in place.
    // SAFETY: the second page is not used any more.
    assert_eq!(unsafe { sys::mremap(addr, 2 * 4096, 4096, 0, 0) }, Ok(addr));
    // Block growth in place with a fixed mapping right after it, then grow
    // by moving.
    // SAFETY: the page after the mapping is free (just unmapped).
    let blocker = unsafe {
        sys::mmap(addr + 4096, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | 0x10_0000, -1, 0) // MAP_FIXED_NOREPLACE
    };
    if blocker == Ok(addr + 4096) {
        // SAFETY: the old page is not used after the move.
        assert_eq!(unsafe { sys::mremap(addr, 4096, 8 * 4096, 0, 0) }, Err(Errno::ENOMEM));
    }
    // SAFETY: as above.
    let moved = unsafe { sys::mremap(addr, 4096, 8 * 4096, MREMAP_MAYMOVE, 0) }.unwrap();
    // SAFETY: the new mapping is ours, 8 pages.
    let bytes = unsafe { core::slice::from_raw_parts_mut(moved as *mut u8, 8 * 4096) };
    assert!(bytes[..4096].iter().all(|&b| b == 0x5a), "the contents did not move");
    assert!(bytes[4096..].iter().all(|&b| b == 0));
    bytes[8 * 4096 - 1] = 1;
    // SAFETY: refused calls do nothing.
    unsafe {
        assert_eq!(sys::mremap(moved + 1, 4096, 4096, 0, 0), Err(Errno::EINVAL));
        assert_eq!(sys::mremap(moved, 4096, 0, 0, 0), Err(Errno::EINVAL));
        assert_eq!(sys::mremap(moved, 4096, 4096, 0x80, 0), Err(Errno::EINVAL));
        assert_eq!(sys::mremap(moved, 4096, 4096, MREMAP_FIXED, 0x1000_0000), Err(Errno::EINVAL));
        assert_eq!(sys::mremap(moved, 4096, 4096, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, 0), Err(Errno::EINVAL));
        // Overlapping fixed target.
        assert_eq!(sys::mremap(moved, 4096, 4096, MREMAP_MAYMOVE | MREMAP_FIXED, moved), Err(Errno::EINVAL));
        for a in BAD {
            assert_eq!(sys::mremap(a as usize, 4096, 8192, MREMAP_MAYMOVE, 0), Err(Errno::EFAULT), "{a:#x}");
        }
        // Beyond the mapping's end.
        assert_eq!(sys::mremap(moved, 64 * 4096, 65 * 4096, MREMAP_MAYMOVE, 0), Err(Errno::EFAULT));
    }
    // A fixed move.
    let target = map(1);
    // SAFETY: `target` is replaced; nothing refers to it.
    let fixed = unsafe { sys::mremap(moved, 8 * 4096, 8 * 4096, MREMAP_MAYMOVE | MREMAP_FIXED, target) };
    assert_eq!(fixed, Ok(target));
    // SAFETY: the mapping moved there, 8 pages.
    let bytes = unsafe { core::slice::from_raw_parts(target as *const u8, 8 * 4096) };
    assert_eq!((bytes[0], bytes[8 * 4096 - 1]), (0x5a, 1));
    // SAFETY: ours.
    unsafe { sys::munmap(target, 8 * 4096) }.unwrap();
}

#[libos::test]
fn bad_pointers_to_every_new_call() {
    for a in BAD {
        // SAFETY: the kernel must refuse each pointer without using it.
        unsafe {
            assert_eq!(sys::getrlimit(rlimit::STACK, bad(a)), Err(Errno::EFAULT), "{a:#x}");
            assert_eq!(sys::prlimit64(0, rlimit::STACK, null(), bad(a)), Err(Errno::EFAULT), "{a:#x}");
            assert_eq!(
                sys::prlimit64(0, rlimit::STACK, without_provenance(a as usize), null_mut()),
                Err(Errno::EFAULT)
            );
            assert_eq!(sys::getrusage(RUSAGE_SELF, bad(a)), Err(Errno::EFAULT), "{a:#x}");
            assert_eq!(sys::sysinfo(bad(a)), Err(Errno::EFAULT), "{a:#x}");
            assert_eq!(sys::times(bad(a)), Err(Errno::EFAULT), "{a:#x}");
            assert_eq!(sys::gettimeofday(bad(a), null_mut()), Err(Errno::EFAULT), "{a:#x}");
            assert_eq!(sys::gettimeofday(null_mut(), bad(a)), Err(Errno::EFAULT), "{a:#x}");
            assert_eq!(sys::time(bad(a)), Err(Errno::EFAULT), "{a:#x}");
            assert_eq!(sys::clock_getres(1, bad(a)), Err(Errno::EFAULT), "{a:#x}");
            assert_eq!(sys::clock_nanosleep(1, 0, without_provenance(a as usize), null_mut()), Err(Errno::EFAULT));
            let mut word = 0u64;
            let mut len = 0usize;
            assert_eq!(sys::get_robust_list(0, bad(a), &mut len), Err(Errno::EFAULT), "{a:#x}");
            assert_eq!(sys::get_robust_list(0, &mut word, bad(a)), Err(Errno::EFAULT), "{a:#x}");
        }
    }
}

#[libos::test]
fn a_robust_list_at_a_bad_address_is_harmless_at_exit() {
    // SAFETY: the kernel reads the head only when the thread exits, and
    // must give up on an address it cannot read.
    unsafe { sys::set_robust_list(bad(0xffff_ffff_8010_0000), 24) }.unwrap();
}

#[libos::test]
fn sched_getaffinity_wants_whole_longs() {
    let mut mask = [0u8; 16];
    // SAFETY: `mask` is writable for 16 bytes.
    unsafe {
        assert_eq!(sys::sched_getaffinity(0, 12, mask.as_mut_ptr()), Err(Errno::EINVAL));
        assert_eq!(sys::sched_getaffinity(0, 4, mask.as_mut_ptr()), Err(Errno::EINVAL));
        assert_eq!(sys::sched_getaffinity(0, 16, mask.as_mut_ptr()), Ok(8));
    }
    assert!(mask[0] & 1 != 0);
}
