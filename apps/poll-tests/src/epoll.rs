//! epoll: level- and edge-triggered watches, one-shot, hang-ups, nesting,
//! watches across `dup` and close, `epoll_ctl`'s errors.

use libos::prelude::*;
use libos::time::{Duration, Instant};

use crate::util::*;

#[libos::test]
fn level_triggered_reports_until_the_data_is_read() {
    let (r, w) = pipe(0);
    let ep = epoll();
    ctl(ep, EPOLL_CTL_ADD, r, EPOLLIN, 7).unwrap();
    let start = Instant::now();
    assert_eq!(wait(ep, 4, 40), Ok(vec![]));
    assert!(start.elapsed() >= Duration::from_millis(35), "the timeout is kept");
    write_fd(w, b"ab").unwrap();
    assert_eq!(wait(ep, 4, -1), Ok(vec![(EPOLLIN, 7)]));
    assert_eq!(wait(ep, 4, 0), Ok(vec![(EPOLLIN, 7)]), "still ready: reported again");
    read_fd(r, 2).unwrap();
    assert_eq!(wait(ep, 4, 0), Ok(vec![]));
    close_all(&[r, w, ep]);
}

#[libos::test]
fn edge_triggered_reports_once_per_write() {
    let (r, w) = pipe(0);
    let ep = epoll();
    ctl(ep, EPOLL_CTL_ADD, r, EPOLLIN | EPOLLET, 1).unwrap();
    assert_eq!(wait(ep, 4, 0), Ok(vec![]));
    write_fd(w, b"a").unwrap();
    assert_eq!(wait(ep, 4, 0), Ok(vec![(EPOLLIN, 1)]));
    assert_eq!(wait(ep, 4, 0), Ok(vec![]), "no new data: no new event");
    write_fd(w, b"b").unwrap();
    assert_eq!(wait(ep, 4, 0), Ok(vec![(EPOLLIN, 1)]), "new data while still readable: reported");
    assert_eq!(read_fd(r, 10).unwrap(), b"ab");
    assert_eq!(wait(ep, 4, 0), Ok(vec![]));
    close_all(&[r, w, ep]);
}

#[libos::test]
fn oneshot_reports_once_and_mod_rearms_it() {
    let (r, w) = pipe(0);
    let ep = epoll();
    ctl(ep, EPOLL_CTL_ADD, r, EPOLLIN | EPOLLONESHOT, 3).unwrap();
    write_fd(w, b"a").unwrap();
    assert_eq!(wait(ep, 4, 0), Ok(vec![(EPOLLIN, 3)]));
    write_fd(w, b"b").unwrap();
    assert_eq!(wait(ep, 4, 0), Ok(vec![]), "disarmed");
    ctl(ep, EPOLL_CTL_MOD, r, EPOLLIN | EPOLLONESHOT, 4).unwrap();
    assert_eq!(wait(ep, 4, 0), Ok(vec![(EPOLLIN, 4)]), "re-armed, with the new data");
    assert_eq!(wait(ep, 4, 0), Ok(vec![]));
    close_all(&[r, w, ep]);
}

#[libos::test]
fn a_closed_writer_gives_epollhup_and_a_pipe_no_epollrdhup() {
    let (r, w) = pipe(0);
    let ep = epoll();
    ctl(ep, EPOLL_CTL_ADD, r, EPOLLIN | EPOLLRDHUP, 5).unwrap();
    sys::close(w).unwrap();
    // Linux: pipes report EPOLLHUP; EPOLLRDHUP is for stream sockets.
    assert_eq!(wait(ep, 4, -1), Ok(vec![(EPOLLHUP, 5)]));
    // Hang-ups are reported even when not asked.
    ctl(ep, EPOLL_CTL_MOD, r, 0, 6).unwrap();
    assert_eq!(wait(ep, 4, 0), Ok(vec![(EPOLLHUP, 6)]));
    close_all(&[r, ep]);
}

#[libos::test]
fn epoll_ctl_errors_are_linux_s() {
    let (r, w) = pipe(0);
    let ep = epoll();
    ctl(ep, EPOLL_CTL_ADD, r, EPOLLIN, 0).unwrap();
    assert_eq!(ctl(ep, EPOLL_CTL_ADD, r, EPOLLIN, 0), Err(Errno::EEXIST));
    assert_eq!(ctl(ep, EPOLL_CTL_MOD, w, EPOLLOUT, 0), Err(Errno::ENOENT));
    assert_eq!(ctl(ep, EPOLL_CTL_DEL, w, 0, 0), Err(Errno::ENOENT));
    assert_eq!(ctl(ep, 99, r, EPOLLIN, 0), Err(Errno::EINVAL));
    assert_eq!(ctl(ep, EPOLL_CTL_ADD, ep, EPOLLIN, 0), Err(Errno::EINVAL), "an instance on itself");
    assert_eq!(ctl(r, EPOLL_CTL_ADD, w, EPOLLIN, 0), Err(Errno::EINVAL), "not an instance");
    assert_eq!(ctl(ep, EPOLL_CTL_ADD, 800, EPOLLIN, 0), Err(Errno::EBADF));
    assert_eq!(ctl(800, EPOLL_CTL_ADD, r, EPOLLIN, 0), Err(Errno::EBADF));
    // SAFETY: the kernel checks the event's address.
    assert_eq!(unsafe { sys::epoll_ctl(ep, EPOLL_CTL_ADD, w, LOW_ADDR as *const EpollEvent) }, Err(Errno::EFAULT));
    // SAFETY: DEL does not read the event.
    assert_eq!(unsafe { sys::epoll_ctl(ep, EPOLL_CTL_DEL, r, null()) }, Ok(()));
    // EPOLLEXCLUSIVE: accepted with ADD only, and not with EPOLLONESHOT.
    ctl(ep, EPOLL_CTL_ADD, r, EPOLLIN | EPOLLEXCLUSIVE, 0).unwrap();
    assert_eq!(ctl(ep, EPOLL_CTL_MOD, r, EPOLLIN, 0), Err(Errno::EINVAL), "an exclusive watch cannot change");
    assert_eq!(ctl(ep, EPOLL_CTL_ADD, w, EPOLLOUT | EPOLLEXCLUSIVE | EPOLLONESHOT, 0), Err(Errno::EINVAL));
    // A regular file is always ready: EPERM, as Linux.
    let path = b"/tmp/poll-tests-file\0";
    // SAFETY: NUL-terminated.
    let f = unsafe { sys::openat(AT_FDCWD, path.as_ptr(), O_CREAT | O_RDWR, 0o600) }.unwrap();
    assert_eq!(ctl(ep, EPOLL_CTL_ADD, f, EPOLLIN, 0), Err(Errno::EPERM));
    // ...but poll reports it ready at once.
    let mut fds = [pfd(f, POLLIN | POLLOUT)];
    assert_eq!(poll(&mut fds, -1), Ok(1));
    assert_eq!(rev(&fds[0]), POLLIN | POLLOUT);
    close_all(&[f, r, w, ep]);
    assert_eq!(sys::epoll_create(0), Err(Errno::EINVAL));
    assert_eq!(sys::epoll_create1(O_NONBLOCK), Err(Errno::EINVAL));
    let old = sys::epoll_create(1).unwrap();
    assert_eq!(sys::fcntl(old, F_GETFD, 0), Ok(0));
    assert_eq!(sys::fcntl(epoll_cloexec(), F_GETFD, 0), Ok(FD_CLOEXEC));
}

fn epoll_cloexec() -> i32 {
    // Left open: the app's end closes it.
    epoll()
}

#[libos::test]
fn instances_nest_and_cycles_are_eloop() {
    let (r, w) = pipe(0);
    let outer = epoll();
    let inner = epoll();
    ctl(inner, EPOLL_CTL_ADD, r, EPOLLIN, 1).unwrap();
    ctl(outer, EPOLL_CTL_ADD, inner, EPOLLIN, 2).unwrap();
    assert_eq!(ctl(inner, EPOLL_CTL_ADD, outer, EPOLLIN, 3), Err(Errno::ELOOP));
    let mut fds = [pfd(inner, POLLIN)];
    assert_eq!(poll(&mut fds, 0), Ok(0));
    assert_eq!(wait(outer, 4, 0), Ok(vec![]));
    write_fd(w, b"x").unwrap();
    assert_eq!(poll(&mut fds, 0), Ok(1), "poll on an instance: POLLIN when it has events");
    assert_eq!(wait(outer, 4, 0), Ok(vec![(EPOLLIN, 2)]));
    assert_eq!(wait(inner, 4, 0), Ok(vec![(EPOLLIN, 1)]));
    // A chain deeper than 4 is ELOOP too.
    let chain: Vec<i32> = (0..6).map(|_| epoll()).collect();
    let mut refused = false;
    for pair in chain.windows(2) {
        if ctl(pair[1], EPOLL_CTL_ADD, pair[0], EPOLLIN, 0) == Err(Errno::ELOOP) {
            refused = true;
        }
    }
    assert!(refused, "six nested instances");
    close_all(&chain);
    close_all(&[r, w, outer, inner]);
}

#[libos::test]
fn a_watch_survives_dup_and_goes_with_the_last_close() {
    let (r, w) = pipe(0);
    let ep = epoll();
    ctl(ep, EPOLL_CTL_ADD, r, EPOLLIN, 9).unwrap();
    let r2 = sys::dup(r).unwrap();
    sys::close(r).unwrap();
    write_fd(w, b"x").unwrap();
    assert_eq!(wait(ep, 4, 0), Ok(vec![(EPOLLIN, 9)]), "the description is still open");
    // The number is free again: a watch of a new file under it is new.
    let (r3, w3) = pipe(0);
    assert_eq!(r3, r);
    ctl(ep, EPOLL_CTL_ADD, r3, EPOLLIN, 10).unwrap();
    sys::close(r2).unwrap();
    assert_eq!(wait(ep, 4, 0), Ok(vec![]), "the last close took the old watch");
    write_fd(w3, b"y").unwrap();
    assert_eq!(wait(ep, 4, 0), Ok(vec![(EPOLLIN, 10)]));
    close_all(&[w, r3, w3, ep]);
}

#[libos::test]
fn ready_watches_take_turns_when_maxevents_is_small() {
    let ep = epoll();
    let pipes: Vec<(i32, i32)> = (0..3).map(|_| pipe(0)).collect();
    for (i, &(r, w)) in pipes.iter().enumerate() {
        write_fd(w, b"x").unwrap();
        ctl(ep, EPOLL_CTL_ADD, r, EPOLLIN, i as u64).unwrap();
    }
    let mut seen = [false; 3];
    for _ in 0..3 {
        let got = wait(ep, 1, 0).unwrap();
        assert_eq!(got.len(), 1);
        seen[got[0].1 as usize] = true;
    }
    assert_eq!(seen, [true; 3], "each level-triggered watch had its turn");
    for (r, w) in pipes {
        close_all(&[r, w]);
    }
    sys::close(ep).unwrap();
}

/// Linux's epoll holds no reference to a watched file: its last close
/// frees it even while a thread waits on the instance (here within
/// `REGATHER_NS`, 50 ms).
#[libos::test]
fn a_watched_file_closed_while_a_thread_waits_really_closes() {
    let (r, w) = pipe(0);
    let ep = epoll();
    ctl(ep, EPOLL_CTL_ADD, r, EPOLLIN, 1).unwrap();
    let waiter = libos::thread::spawn(move || wait(ep, 4, 3000));
    libos::thread::sleep(Duration::from_millis(20));
    sys::close(r).unwrap();
    libos::thread::sleep(Duration::from_millis(200));
    // The write raises SIGPIPE too (as on Linux): ignored, so it is EPIPE.
    {
        use libos::__private::abi::signal::{SIG_IGN, SigAction, sig};
        let act = SigAction { handler: SIG_IGN, ..SigAction::default() };
        // SAFETY: `act` is readable; no old action is asked for.
        unsafe { libos::sys::rt_sigaction(sig::SIGPIPE, &act, core::ptr::null_mut(), 8) }.unwrap();
    }
    assert_eq!(write_fd(w, b"x"), Err(Errno::EPIPE), "the read end is gone: no reader left");
    assert_eq!(waiter.join().unwrap(), Ok(vec![]));
    close_all(&[w, ep]);
}
