//! `poll`, `ppoll`, `select`, `pselect6` on pipes and the console.

use core::ptr;

use libos::time::{Duration, Instant};

use crate::util::*;

#[libos::test]
fn poll_times_out_when_nothing_is_ready() {
    let (r, w) = pipe(0);
    let mut fds = [pfd(r, POLLIN)];
    let start = Instant::now();
    assert_eq!(poll(&mut fds, 50), Ok(0));
    assert!(start.elapsed() >= Duration::from_millis(45), "waited {:?}", start.elapsed());
    assert_eq!(fds[0].revents, 0);
    close_all(&[r, w]);
}

#[libos::test]
fn poll_reports_a_pipe_readable_after_a_write_and_writable() {
    let (r, w) = pipe(0);
    let mut fds = [pfd(r, POLLIN), pfd(w, POLLOUT)];
    assert_eq!(poll(&mut fds, 0), Ok(1));
    assert_eq!((rev(&fds[0]), rev(&fds[1])), (0, POLLOUT));
    write_fd(w, b"x").unwrap();
    assert_eq!(poll(&mut fds, 0), Ok(2));
    assert_eq!(rev(&fds[0]), POLLIN);
    let mut fds = [pfd(r, POLLRDNORM)];
    assert_eq!(poll(&mut fds, 0), Ok(1));
    assert_eq!(rev(&fds[0]), POLLRDNORM, "POLLRDNORM comes with POLLIN");
    close_all(&[r, w]);
}

#[libos::test]
fn poll_reports_pollhup_once_the_writer_is_closed_and_pollerr_without_readers() {
    let (r, w) = pipe(0);
    sys::close(w).unwrap();
    let mut fds = [pfd(r, 0)];
    assert_eq!(poll(&mut fds, -1), Ok(1), "POLLHUP is reported although not asked");
    assert_eq!(rev(&fds[0]), POLLHUP);
    sys::close(r).unwrap();
    let (r, w) = pipe(0);
    sys::close(r).unwrap();
    let mut fds = [pfd(w, POLLOUT)];
    assert_eq!(poll(&mut fds, -1), Ok(1));
    assert_eq!(rev(&fds[0]) & POLLERR, POLLERR);
    sys::close(w).unwrap();
}

#[libos::test]
fn poll_reports_pollnval_for_a_closed_number_and_skips_negative_ones() {
    let mut fds = [pfd(900, POLLIN), pfd(-1, POLLIN), pfd(1, POLLOUT)];
    assert_eq!(poll(&mut fds, -1), Ok(2));
    assert_eq!((rev(&fds[0]), rev(&fds[1]), rev(&fds[2])), (POLLNVAL, 0, POLLOUT));
}

/// Rust's `std` polls 0, 1 and 2 with no events at start and aborts if a
/// `POLLNVAL` comes back (or the call fails).
#[libos::test]
fn poll_of_the_standard_descriptors_as_rust_std_does_at_start() {
    let mut fds = [pfd(0, 0), pfd(1, 0), pfd(2, 0)];
    assert_eq!(poll(&mut fds, 0), Ok(0));
    assert!(fds.iter().all(|f| f.revents == 0));
    let mut fds = [pfd(1, POLLOUT), pfd(2, POLLOUT)];
    assert_eq!(poll(&mut fds, 0), Ok(2), "the console is always writable");
    let mut fds = [pfd(0, POLLIN)];
    assert_eq!(poll(&mut fds, 20), Ok(0), "no input is typed during the tests");
}

#[libos::test]
fn ppoll_writes_back_the_time_left_and_checks_its_arguments() {
    let (r, w) = pipe(0);
    write_fd(w, b"x").unwrap();
    let mut fds = [pfd(r, POLLIN)];
    let mut t = Timespec::new(5, 0);
    let mask: u64 = 0;
    // SAFETY: all pointers valid.
    assert_eq!(unsafe { sys::ppoll(fds.as_mut_ptr(), 1, &mut t, &mask, 8) }, Ok(1));
    assert!(t.tv_sec <= 5 && t.tv_sec >= 4, "time left {t:?}");
    let mut t = Timespec::new(0, 30_000_000);
    let (r2, w2) = pipe(0);
    let mut fds2 = [pfd(r2, POLLIN)];
    // SAFETY: as above.
    assert_eq!(unsafe { sys::ppoll(fds2.as_mut_ptr(), 1, &mut t, ptr::null(), 0) }, Ok(0));
    assert_eq!(t, Timespec::new(0, 0), "timed out: nothing left");
    let mut bad = Timespec::new(0, 1_000_000_000);
    // SAFETY: as above.
    assert_eq!(unsafe { sys::ppoll(fds.as_mut_ptr(), 1, &mut bad, ptr::null(), 8) }, Err(Errno::EINVAL));
    let mut t = Timespec::new(1, 0);
    // SAFETY: as above; the size is wrong.
    assert_eq!(unsafe { sys::ppoll(fds.as_mut_ptr(), 1, &mut t, &mask, 4) }, Err(Errno::EINVAL));
    // SAFETY: the kernel checks the mask's address.
    assert_eq!(unsafe { sys::ppoll(fds.as_mut_ptr(), 1, &mut t, KERNEL_ADDR as *const u64, 8) }, Err(Errno::EFAULT));
    // SAFETY: as above, for the timeout.
    let bad_timeout = unsafe { sys::ppoll(fds.as_mut_ptr(), 1, LOW_ADDR as *mut Timespec, ptr::null(), 8) };
    assert_eq!(bad_timeout, Err(Errno::EFAULT));
    close_all(&[r, w, r2, w2]);
}

fn select(nfds: i32, r: Option<&mut FdSet>, w: Option<&mut FdSet>, t: Option<&mut Timeval>) -> Result<usize, Errno> {
    let rp = r.map_or(ptr::null_mut(), |s| s.as_mut_ptr());
    let wp = w.map_or(ptr::null_mut(), |s| s.as_mut_ptr());
    let tp = t.map_or(ptr::null_mut(), |t| t as *mut Timeval);
    // SAFETY: each pointer is null or valid for a whole set / timeval.
    unsafe { sys::select(nfds, rp, wp, ptr::null_mut(), tp) }
}

fn set_of(fds: &[i32]) -> FdSet {
    let mut s = [0u64; 16];
    for &fd in fds {
        s[fd as usize / 64] |= 1 << (fd % 64);
    }
    s
}

#[libos::test]
fn select_times_out_then_reports_readable_and_writable_descriptors() {
    let (r, w) = pipe(0);
    let mut rs = set_of(&[r]);
    let mut tv = Timeval { tv_sec: 0, tv_usec: 30_000 };
    let start = Instant::now();
    assert_eq!(select(r + 1, Some(&mut rs), None, Some(&mut tv)), Ok(0));
    assert!(start.elapsed() >= Duration::from_millis(25));
    assert_eq!(rs, [0; 16], "the set is cleared");
    assert_eq!(tv, Timeval::default(), "no time left");
    write_fd(w, b"x").unwrap();
    let mut rs = set_of(&[r, w]);
    let mut ws = set_of(&[r, w]);
    assert_eq!(select(w + 1, Some(&mut rs), Some(&mut ws), None), Ok(2));
    assert_eq!((rs, ws), (set_of(&[r]), set_of(&[w])));
    // nfds counts: a bit at or above it is not looked at.
    let mut rs = set_of(&[r]);
    let mut tv = Timeval::default();
    assert_eq!(select(r, Some(&mut rs), None, Some(&mut tv)), Ok(0));
    close_all(&[r, w]);
}

#[libos::test]
fn select_refuses_closed_descriptors_and_bad_arguments() {
    let mut rs = set_of(&[700]);
    assert_eq!(select(701, Some(&mut rs), None, None), Err(Errno::EBADF));
    assert_eq!(select(-1, None, None, None), Err(Errno::EINVAL));
    let mut tv = Timeval { tv_sec: -1, tv_usec: 0 };
    assert_eq!(select(0, None, None, Some(&mut tv)), Err(Errno::EINVAL));
    // A huge nfds counts as the limit (Linux caps it at the table's size).
    let mut ws = set_of(&[1]);
    assert_eq!(select(i32::MAX, None, Some(&mut ws), None), Ok(1));
    // SAFETY: the kernel checks the set's address.
    let bad_set = unsafe { sys::select(64, LOW_ADDR as *mut u64, ptr::null_mut(), ptr::null_mut(), ptr::null_mut()) };
    assert_eq!(bad_set, Err(Errno::EFAULT));
}

#[libos::test]
fn pselect6_takes_a_timespec_and_checks_the_mask_argument() {
    let (r, w) = pipe(0);
    let mut rs = set_of(&[r]);
    let mut ts = Timespec::new(0, 20_000_000);
    let mask: u64 = 0;
    let pack = SigsetArgpack { ss: &mask as *const u64 as u64, ss_len: 8 };
    // SAFETY: all pointers valid.
    let n = unsafe { sys::pselect6(r + 1, rs.as_mut_ptr(), ptr::null_mut(), ptr::null_mut(), &mut ts, &pack) };
    assert_eq!(n, Ok(0));
    assert_eq!(ts, Timespec::new(0, 0));
    let bad = SigsetArgpack { ss: &mask as *const u64 as u64, ss_len: 16 };
    let mut ts = Timespec::new(0, 0);
    // SAFETY: as above.
    let n = unsafe { sys::pselect6(r + 1, rs.as_mut_ptr(), ptr::null_mut(), ptr::null_mut(), &mut ts, &bad) };
    assert_eq!(n, Err(Errno::EINVAL));
    let bad = SigsetArgpack { ss: KERNEL_ADDR as u64, ss_len: 8 };
    // SAFETY: as above.
    let n = unsafe { sys::pselect6(r + 1, rs.as_mut_ptr(), ptr::null_mut(), ptr::null_mut(), &mut ts, &bad) };
    assert_eq!(n, Err(Errno::EFAULT));
    close_all(&[r, w]);
}

#[libos::test]
fn libos_io_poll_waits_with_a_duration() {
    let (r, w) = pipe(0);
    let mut fds = [libos::io::poll_fd(r, libos::io::POLLIN)];
    let start = Instant::now();
    assert_eq!(libos::io::poll(&mut fds, Some(Duration::from_micros(20_500))), Ok(0));
    assert!(start.elapsed() >= Duration::from_millis(20));
    write_fd(w, b"x").unwrap();
    assert_eq!(libos::io::poll(&mut fds, None), Ok(1));
    assert_eq!(fds[0].revents as u32, libos::io::POLLIN);
    close_all(&[r, w]);
}
