//! eventfd: the counter, semaphore mode, non-blocking, readiness.

use libos::prelude::*;
use libos::thread;
use libos::time::Duration;

use crate::util::*;

#[libos::test]
fn a_read_takes_the_counter_and_a_write_adds_to_it() {
    let e = eventfd(3, EFD_NONBLOCK).unwrap();
    assert_eq!(ev_read(e), Ok(3));
    assert_eq!(ev_read(e), Err(Errno::EAGAIN));
    ev_write(e, 5).unwrap();
    ev_write(e, 6).unwrap();
    assert_eq!(ev_read(e), Ok(11));
    assert_eq!(ev_write(e, u64::MAX), Err(Errno::EINVAL));
    ev_write(e, u64::MAX - 1).unwrap();
    assert_eq!(ev_write(e, 1), Err(Errno::EAGAIN), "the counter is full");
    let mut small = [0u8; 4];
    // SAFETY: writable for 4 bytes.
    assert_eq!(unsafe { sys::read(e, small.as_mut_ptr(), 4) }, Err(Errno::EINVAL));
    assert_eq!(write_fd(e, &[1, 0, 0]), Err(Errno::EINVAL));
    sys::close(e).unwrap();
}

#[libos::test]
fn semaphore_mode_reads_one_at_a_time() {
    let e = eventfd(2, EFD_SEMAPHORE | EFD_NONBLOCK | EFD_CLOEXEC).unwrap();
    assert_eq!(sys::fcntl(e, F_GETFD, 0), Ok(FD_CLOEXEC));
    assert_eq!(ev_read(e), Ok(1));
    assert_eq!(ev_read(e), Ok(1));
    assert_eq!(ev_read(e), Err(Errno::EAGAIN));
    sys::close(e).unwrap();
    assert_eq!(eventfd(0, 0x4), Err(Errno::EINVAL));
    let plain = sys::eventfd(7).unwrap();
    assert_eq!(ev_read(plain), Ok(7));
    sys::close(plain).unwrap();
}

#[libos::test]
fn readiness_follows_the_counter() {
    let e = eventfd(0, 0).unwrap();
    let mut fds = [pfd(e, POLLIN | POLLOUT)];
    assert_eq!(poll(&mut fds, 0), Ok(1));
    assert_eq!(rev(&fds[0]), POLLOUT);
    ev_write(e, 1).unwrap();
    poll(&mut fds, 0).unwrap();
    assert_eq!(rev(&fds[0]), POLLIN | POLLOUT);
    ev_write(e, u64::MAX - 2).unwrap();
    poll(&mut fds, 0).unwrap();
    assert_eq!(rev(&fds[0]), POLLIN, "full: not writable");
    let ep = epoll();
    ctl(ep, EPOLL_CTL_ADD, e, EPOLLIN | EPOLLET, 1).unwrap();
    assert_eq!(wait(ep, 2, 0), Ok(vec![(EPOLLIN, 1)]));
    assert_eq!(wait(ep, 2, 0), Ok(vec![]));
    close_all(&[e, ep]);
}

#[libos::test]
fn a_blocked_reader_wakes_when_another_thread_writes() {
    let e = eventfd(0, 0).unwrap();
    let reader = thread::spawn(move || ev_read(e));
    thread::sleep(Duration::from_millis(30));
    ev_write(e, 42).unwrap();
    assert_eq!(reader.join().unwrap(), Ok(42));
    sys::close(e).unwrap();
}
