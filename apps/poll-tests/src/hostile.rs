//! Waiters woken from other CPUs, an app ending while threads wait, bad
//! pointers and sizes, and the per-app limits.

use core::ptr;
use core::sync::atomic::{AtomicBool, Ordering};

use libos::prelude::*;
use libos::sync::Arc;
use libos::time::Duration;
use libos::{cpu, debug, thread};

use crate::util::*;

/// Pins the current thread to `cpu` of the run's CPUs (modulo their
/// count).
fn pin(cpu: usize) {
    let n = cpu::count();
    cpu::pin_to(cpu % n).unwrap();
}

#[libos::test]
fn waiters_in_poll_epoll_and_select_are_woken_from_another_cpu() {
    for round in 0..40 {
        let (r, w) = pipe(0);
        let ep = epoll();
        ctl(ep, EPOLL_CTL_ADD, r, EPOLLIN | if round % 2 == 0 { EPOLLET } else { 0 }, 1).unwrap();
        let by_epoll = thread::spawn(move || {
            pin(1);
            wait(ep, 4, -1)
        });
        let by_poll = thread::spawn(move || {
            pin(2);
            let mut fds = [pfd(r, POLLIN)];
            poll(&mut fds, -1).map(|n| (n, rev(&fds[0])))
        });
        let by_select = thread::spawn(move || {
            pin(3);
            let mut rs = [0u64; 16];
            rs[r as usize / 64] |= 1 << (r % 64);
            // SAFETY: a whole set; no timeout.
            unsafe { sys::select(r + 1, rs.as_mut_ptr(), ptr::null_mut(), ptr::null_mut(), ptr::null_mut()) }
        });
        pin(0);
        if round % 4 == 0 {
            thread::sleep(Duration::from_millis(5));
        }
        write_fd(w, b"x").unwrap();
        assert_eq!(by_epoll.join().unwrap(), Ok(vec![(EPOLLIN, 1)]), "round {round}");
        assert_eq!(by_poll.join().unwrap(), Ok((1, POLLIN)), "round {round}");
        assert_eq!(by_select.join().unwrap(), Ok(1), "round {round}");
        close_all(&[r, w, ep]);
    }
    cpu::set_affinity(u64::MAX).ok();
}

#[libos::test]
fn a_watch_added_while_a_thread_waits_wakes_it() {
    let (r, w) = pipe(0);
    write_fd(w, b"x").unwrap();
    let ep = epoll();
    let waiter = thread::spawn(move || wait(ep, 4, 10_000));
    thread::sleep(Duration::from_millis(20));
    ctl(ep, EPOLL_CTL_ADD, r, EPOLLIN, 11).unwrap();
    assert_eq!(waiter.join().unwrap(), Ok(vec![(EPOLLIN, 11)]));
    close_all(&[r, w, ep]);
}

/// Tells the kernel this test passes only if the app ends with `code`.
fn expect_exit_code(code: u64) {
    debug::call(debug::EXPECT_EXIT_CODE, code, 0).unwrap();
}

#[libos::test]
fn exit_ends_an_app_whose_threads_wait_in_epoll_wait_and_poll() {
    expect_exit_code(3);
    let ep = epoll();
    let (r, _w) = pipe(0);
    let started = Arc::new(AtomicBool::new(false));
    let s = started.clone();
    thread::spawn(move || {
        s.store(true, Ordering::Release);
        let got = wait(ep, 4, -1);
        libos::eprintln!("epoll_wait returned {got:?} although nothing comes");
        sys::exit_group(1)
    });
    thread::spawn(move || {
        let mut fds = [pfd(r, POLLIN)];
        let got = poll(&mut fds, -1);
        libos::eprintln!("poll returned {got:?} although nothing comes");
        sys::exit_group(1)
    });
    while !started.load(Ordering::Acquire) {
        thread::yield_now();
    }
    thread::sleep(Duration::from_millis(50));
    libos::process::exit(3);
}

#[libos::test]
fn bad_pointers_are_efault_and_huge_counts_einval() {
    let ep = epoll();
    let mut evs = [EpollEvent::default(); 4];
    // SAFETY: the kernel checks every address.
    unsafe {
        assert_eq!(sys::epoll_wait(ep, evs.as_mut_ptr(), 0, 0), Err(Errno::EINVAL));
        assert_eq!(sys::epoll_wait(ep, evs.as_mut_ptr(), -1, 0), Err(Errno::EINVAL));
        assert_eq!(sys::epoll_wait(ep, evs.as_mut_ptr(), i32::MAX, 0), Err(Errno::EINVAL));
        assert_eq!(sys::epoll_wait(ep, null(), 4, 0), Err(Errno::EFAULT));
        assert_eq!(sys::epoll_wait(ep, KERNEL_ADDR as *mut EpollEvent, 4, 0), Err(Errno::EFAULT));
        assert_eq!(sys::epoll_wait(1, evs.as_mut_ptr(), 4, 0), Err(Errno::EINVAL), "not an instance");
        assert_eq!(sys::epoll_wait(900, evs.as_mut_ptr(), 4, 0), Err(Errno::EBADF));
        let mask = 0u64;
        assert_eq!(sys::epoll_pwait(ep, evs.as_mut_ptr(), 4, 0, &mask, 7), Err(Errno::EINVAL));
        assert_eq!(sys::epoll_pwait(ep, evs.as_mut_ptr(), 4, 0, LOW_ADDR as *const u64, 8), Err(Errno::EFAULT));
        assert_eq!(sys::epoll_pwait(ep, evs.as_mut_ptr(), 4, 0, &mask, 8), Ok(0));
        let t = Timespec::new(0, 10_000_000);
        assert_eq!(sys::epoll_pwait2(ep, evs.as_mut_ptr(), 4, &t, ptr::null(), 0), Ok(0));
        let bad = Timespec::new(-1, 0);
        assert_eq!(sys::epoll_pwait2(ep, evs.as_mut_ptr(), 4, &bad, ptr::null(), 0), Err(Errno::EINVAL));
        assert_eq!(
            sys::epoll_pwait2(ep, evs.as_mut_ptr(), 4, LOW_ADDR as *const Timespec, ptr::null(), 0),
            Err(Errno::EFAULT)
        );
        // poll: too many entries, entries out of reach.
        assert_eq!(sys::poll(null(), 1025, 0), Err(Errno::EINVAL));
        assert_eq!(sys::poll(null(), u32::MAX, 0), Err(Errno::EINVAL));
        assert_eq!(sys::poll(null(), 1, 0), Err(Errno::EFAULT));
        assert_eq!(sys::poll(KERNEL_ADDR as *mut PollFd, 2, 0), Err(Errno::EFAULT));
        assert_eq!(sys::poll(null(), 0, 0), Ok(0), "no entries: a sleep of 0 ms");
        // A read-only entry array: the revents cannot be written.
        let ro = READ_ONLY_POLLFD.as_ptr() as *mut PollFd;
        assert_eq!(sys::poll(ro, 1, 0), Err(Errno::EFAULT));
    }
    sys::close(ep).unwrap();
}

#[libos::test]
fn the_epoll_watch_limit_is_enospc_and_closed_files_give_their_watches_back() {
    const LIMIT: u64 = 64;
    debug::call(debug::LOWER_THREAD_LIMIT, LIMIT, debug::LIMIT_EPOLL_WATCHES).unwrap();
    let (r, w) = pipe(0);
    let ep = epoll();
    let dups: Vec<i32> = (0..LIMIT).map(|_| sys::dup(r).unwrap()).collect();
    for &fd in &dups {
        ctl(ep, EPOLL_CTL_ADD, fd, EPOLLIN, 0).unwrap();
    }
    let extra = sys::dup(r).unwrap();
    assert_eq!(ctl(ep, EPOLL_CTL_ADD, extra, EPOLLIN, 0), Err(Errno::ENOSPC));
    let ep2 = epoll();
    assert_eq!(ctl(ep2, EPOLL_CTL_ADD, extra, EPOLLIN, 0), Err(Errno::ENOSPC), "the limit is the app's");
    ctl(ep, EPOLL_CTL_DEL, dups[0], 0, 0).unwrap();
    ctl(ep2, EPOLL_CTL_ADD, extra, EPOLLIN, 0).unwrap();
    // All of them share one description: closing numbers keeps it open.
    close_all(&dups[1..]);
    assert_eq!(ctl(ep2, EPOLL_CTL_ADD, w, EPOLLOUT, 0), Err(Errno::ENOSPC));
    // Closing the instance gives its watches back.
    sys::close(ep).unwrap();
    ctl(ep2, EPOLL_CTL_ADD, w, EPOLLOUT, 0).unwrap();
    close_all(&[dups[0], extra, r, w, ep2]);
}

#[libos::test]
fn the_eventfd_limit_is_emfile() {
    debug::call(debug::LOWER_THREAD_LIMIT, 4, debug::LIMIT_EVENTFDS).unwrap();
    let fds: Vec<i32> = (0..4).map(|_| eventfd(0, 0).unwrap()).collect();
    assert_eq!(eventfd(0, 0), Err(Errno::EMFILE));
    sys::close(fds[0]).unwrap();
    let again = eventfd(0, 0).unwrap();
    close_all(&fds[1..]);
    sys::close(again).unwrap();
}

#[libos::test]
fn epoll_and_eventfd_churn_leaves_no_kernel_memory_behind() {
    let heap = || debug::call(debug::KERNEL_HEAP_BYTES, 0, 0).unwrap();
    let churn = || {
        for _ in 0..50 {
            let (r, w) = pipe(0);
            let e = eventfd(1, 0).unwrap();
            let ep = epoll();
            ctl(ep, EPOLL_CTL_ADD, r, EPOLLIN, 0).unwrap();
            ctl(ep, EPOLL_CTL_ADD, e, EPOLLIN, 0).unwrap();
            assert_eq!(wait(ep, 4, 0).unwrap().len(), 1);
            close_all(&[r, w, e, ep]);
        }
    };
    churn();
    let before = heap();
    churn();
    let after = heap();
    assert!(after <= before + 4096, "kernel heap {before} -> {after}");
}
