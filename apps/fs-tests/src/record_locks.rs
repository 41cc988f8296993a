//! POSIX record locks (`fcntl` `F_SETLK`...): what needs the test hooks or
//! a libos thread. The compared semantics (owners, ranges, errors) are in
//! the C sweep's `locks` section, run beside Linux.

use libos::prelude::*;
use libos::thread;
use libos::time::Duration;
use libos::{Errno, debug};

use crate::util::fs_types::*;
use crate::util::{fresh_dir, open, sys};

/// A `struct flock` for bytes `start..start + len`.
fn flock(l_type: i16, start: i64, len: i64) -> Flock {
    Flock { l_type, l_whence: SEEK_SET as i16, l_start: start, l_len: len, ..Flock::default() }
}

/// `fcntl(fd, cmd, &fl)`.
fn lock(fd: i32, cmd: i32, fl: &Flock) -> Result<i32, Errno> {
    sys::fcntl(fd, cmd, fl as *const Flock as u64)
}

#[libos::test]
fn record_locks_are_charged_and_refused_with_enolck_at_the_limit() {
    let d = fresh_dir("/tmp/locks-limit");
    let path = format!("{d}/f");
    let fd = open(&path, O_RDWR | O_CREAT, 0o644).unwrap();
    // Three locks at most (`Resource::RecordLocks`).
    debug::call(debug::LOWER_THREAD_LIMIT, 3, debug::LIMIT_RECORD_LOCKS).unwrap();
    for start in [0, 10, 20] {
        assert_eq!(lock(fd, F_OFD_SETLK, &flock(F_WRLCK, start, 5)), Ok(0));
    }
    assert_eq!(lock(fd, F_OFD_SETLK, &flock(F_WRLCK, 30, 5)), Err(Errno::ENOLCK));
    assert_eq!(lock(fd, F_SETLK, &flock(F_RDLCK, 30, 5)), Err(Errno::ENOLCK), "classic locks count too");
    // Splitting a lock in two needs one more.
    assert_eq!(lock(fd, F_OFD_SETLK, &flock(F_UNLCK, 12, 1)), Err(Errno::ENOLCK));
    // Taking one away gives its charge back.
    assert_eq!(lock(fd, F_OFD_SETLK, &flock(F_UNLCK, 20, 5)), Ok(0));
    assert_eq!(lock(fd, F_OFD_SETLK, &flock(F_UNLCK, 12, 1)), Ok(0));
    // The last close gives back every one.
    sys::close(fd).unwrap();
    let fd = open(&path, O_RDWR, 0).unwrap();
    for start in [0, 10, 20] {
        assert_eq!(lock(fd, F_SETLK, &flock(F_WRLCK, start, 5)), Ok(0));
    }
    sys::close(fd).unwrap();
}

#[libos::test]
fn a_waiting_f_ofd_setlkw_is_woken_by_the_holders_last_close() {
    let d = fresh_dir("/tmp/locks-close");
    let path = format!("{d}/f");
    let holder = open(&path, O_RDWR | O_CREAT, 0o644).unwrap();
    let waiter = open(&path, O_RDWR, 0).unwrap();
    assert_eq!(lock(holder, F_OFD_SETLK, &flock(F_WRLCK, 0, 0)), Ok(0));
    let closer = thread::spawn(move || {
        thread::sleep(Duration::from_millis(50));
        sys::close(holder)
    });
    assert_eq!(lock(waiter, F_OFD_SETLKW, &flock(F_RDLCK, 100, 1)), Ok(0));
    assert_eq!(closer.join().unwrap(), Ok(()));
    // The waiter holds its lock now: another open sees it.
    let other = open(&path, O_RDWR, 0).unwrap();
    let mut probe = flock(F_WRLCK, 0, 0);
    assert_eq!(sys::fcntl(other, F_OFD_GETLK, &mut probe as *mut Flock as u64), Ok(0));
    assert_eq!((probe.l_type, probe.l_start, probe.l_len, probe.l_pid), (F_RDLCK, 100, 1, -1));
    sys::close(other).unwrap();
    sys::close(waiter).unwrap();
}
