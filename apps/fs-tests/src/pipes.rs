//! Pipes: data, end of file, EPIPE, O_NONBLOCK, and a writer that blocks
//! until a reader on another thread makes room.

use libos::prelude::*;
use libos::thread;

use crate::util::fs_types::*;
use crate::util::{Errno, pattern, read_fd, sys, write_fd};

fn pipe(flags: i32) -> (i32, i32) {
    let mut fds = [0i32; 2];
    // SAFETY: writable.
    unsafe { sys::pipe2(fds.as_mut_ptr(), flags) }.unwrap();
    (fds[0], fds[1])
}

#[libos::test]
fn pipe_data_eof_and_epipe() {
    let (r, w) = pipe(0);
    assert_eq!(write_fd(w, b"through the pipe"), Ok(16));
    assert_eq!(read_fd(r, 7).unwrap(), b"through");
    assert_eq!(read_fd(r, 100).unwrap(), b" the pipe");
    assert_eq!(write_fd(r, b"x"), Err(Errno::EBADF));
    assert_eq!(read_fd(w, 1), Err(Errno::EBADF));
    assert_eq!(sys::lseek(r, 0, SEEK_CUR), Err(Errno::ESPIPE));
    let mut st = Stat::default();
    // SAFETY: writable.
    unsafe { sys::fstat(r, &mut st) }.unwrap();
    assert_eq!(st.st_mode & S_IFMT, S_IFIFO);
    sys::close(w).unwrap();
    assert_eq!(read_fd(r, 10).unwrap(), b"", "end of file once no writer is left");
    let (r2, w2) = pipe(0);
    sys::close(r2).unwrap();
    // As on Linux, the write also raises SIGPIPE, whose default action
    // would end the test: ignored, as a program that wants EPIPE does.
    ignore_sigpipe();
    assert_eq!(write_fd(w2, b"x"), Err(Errno::EPIPE));
    sys::close(w2).unwrap();
    sys::close(r).unwrap();
    let mut fds = [0i32; 2];
    // SAFETY: writable.
    assert_eq!(unsafe { sys::pipe2(fds.as_mut_ptr(), O_DIRECTORY) }, Err(Errno::EINVAL));
}

#[libos::test]
fn nonblocking_pipes_say_eagain() {
    let (r, w) = pipe(O_NONBLOCK | O_CLOEXEC);
    assert_eq!(sys::fcntl(r, F_GETFD, 0), Ok(FD_CLOEXEC));
    assert_eq!(read_fd(r, 1), Err(Errno::EAGAIN));
    let chunk = vec![7u8; 4096];
    let mut total = 0;
    loop {
        match write_fd(w, &chunk) {
            Ok(n) => total += n,
            Err(e) => {
                assert_eq!(e, Errno::EAGAIN);
                break;
            }
        }
    }
    assert_eq!(total, 64 * 1024, "the pipe holds 64 KiB");
    sys::close(r).unwrap();
    sys::close(w).unwrap();
}

#[libos::test]
fn a_blocked_writer_wakes_when_a_reader_makes_room() {
    let (r, w) = pipe(0);
    let data = pattern(7, 300 * 1024);
    let expected = data.clone();
    let writer = thread::spawn(move || {
        // Blocks several times: 300 KiB through a 64 KiB pipe.
        let mut done = 0;
        while done < data.len() {
            done += write_fd(w, &data[done..]).unwrap();
        }
        sys::close(w).unwrap();
        done
    });
    let mut got = Vec::new();
    loop {
        let part = read_fd(r, 10_000).unwrap();
        if part.is_empty() {
            break;
        }
        got.extend_from_slice(&part);
    }
    assert_eq!(writer.join().unwrap(), expected.len());
    assert!(got == expected, "the bytes arrive in order, all of them");
    sys::close(r).unwrap();
}

/// Sets SIGPIPE's action to `SIG_IGN`.
fn ignore_sigpipe() {
    use libos::__private::abi::signal::{SIG_IGN, SigAction, sig};
    let act = SigAction { handler: SIG_IGN, ..SigAction::default() };
    // SAFETY: `act` is readable; no old action is asked for.
    unsafe { sys::rt_sigaction(sig::SIGPIPE, &act, core::ptr::null_mut(), 8) }.unwrap();
}
