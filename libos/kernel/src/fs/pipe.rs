//! Pipes (Linux's `fs/pipe.c`): a 64 KiB buffer between a read end and a
//! write end. A reader waits for data, and reads 0 once every writer is
//! gone; a writer waits for room, and gets `EPIPE` and `SIGPIPE` once
//! every reader is gone (`pipe_write`). Writes of at most
//! `PIPE_BUF` bytes are atomic. `O_NONBLOCK` turns waits into `EAGAIN`.

use alloc::collections::VecDeque;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicU64, Ordering};

use libos_abi::errno::Errno;
use libos_abi::fs_types::{O_NONBLOCK, S_IFIFO, Stat};

use super::file::{FileObject, poll};
use super::wait::wait_until;
use crate::sched::wait::WaitQueue;
use crate::sync::SpinLock;

/// The buffer's size (Linux's default, 16 pages).
pub const PIPE_SIZE: usize = 64 * 1024;
/// Writes up to this size are atomic.
pub const PIPE_BUF: usize = 4096;

struct State {
    data: VecDeque<u8>,
    readers: usize,
    writers: usize,
}

/// The pipe both ends share.
struct Pipe {
    state: SpinLock<State>,
    /// Readers waiting for data.
    readable: WaitQueue,
    /// Writers waiting for room.
    writable: WaitQueue,
    ino: u64,
}

/// Inode numbers of pipes (their own "file system", as Linux's pipefs).
static NEXT_INO: AtomicU64 = AtomicU64::new(1);

/// The read end.
pub struct ReadEnd(Arc<Pipe>);
/// The write end.
pub struct WriteEnd(Arc<Pipe>);

/// A new pipe's two ends.
pub fn new() -> (ReadEnd, WriteEnd) {
    let pipe = Arc::new(Pipe {
        state: SpinLock::new(State { data: VecDeque::new(), readers: 1, writers: 1 }),
        readable: WaitQueue::new(),
        writable: WaitQueue::new(),
        ino: NEXT_INO.fetch_add(1, Ordering::Relaxed),
    });
    (ReadEnd(pipe.clone()), WriteEnd(pipe))
}

impl Pipe {
    fn stat(&self) -> Stat {
        Stat { st_mode: S_IFIFO | 0o600, st_ino: self.ino, st_nlink: 1, st_blksize: 4096, ..Default::default() }
    }
}

impl FileObject for ReadEnd {
    fn pipe_size(&self) -> Option<usize> {
        Some(PIPE_SIZE)
    }

    fn read(&self, _pos: &mut u64, buf: &mut [u8], flags: i32) -> Result<usize, Errno> {
        if buf.is_empty() {
            return Ok(0);
        }
        let pipe = &*self.0;
        loop {
            {
                let mut s = pipe.state.lock();
                if !s.data.is_empty() {
                    let n = buf.len().min(s.data.len());
                    for (dst, src) in buf.iter_mut().zip(s.data.drain(..n)) {
                        *dst = src;
                    }
                    drop(s);
                    pipe.writable.wake_all();
                    return Ok(n);
                }
                if s.writers == 0 {
                    return Ok(0);
                }
            }
            if flags & O_NONBLOCK != 0 {
                return Err(Errno::EAGAIN);
            }
            wait_until(&pipe.readable, || {
                let s = pipe.state.lock();
                !s.data.is_empty() || s.writers == 0
            })?;
        }
    }

    fn stat(&self) -> Result<Stat, Errno> {
        Ok(self.0.stat())
    }

    fn poll(&self) -> u32 {
        let s = self.0.state.lock();
        let mut r = 0;
        if !s.data.is_empty() {
            r |= poll::POLLIN;
        }
        if s.writers == 0 {
            r |= poll::POLLHUP;
        }
        r
    }
    /// Woken when data arrives or the last writer goes.
    fn wait_queue(&self) -> Option<&WaitQueue> {
        Some(&self.0.readable)
    }
}

impl Drop for ReadEnd {
    fn drop(&mut self) {
        self.0.state.lock().readers -= 1;
        self.0.writable.wake_all();
    }
}

impl FileObject for WriteEnd {
    fn pipe_size(&self) -> Option<usize> {
        Some(PIPE_SIZE)
    }

    fn write(&self, _pos: &mut u64, buf: &[u8], flags: i32) -> Result<usize, Errno> {
        if buf.is_empty() {
            return Ok(0);
        }
        let pipe = &*self.0;
        // Atomic writes wait for room for all of it; larger ones take what
        // room there is, piece by piece.
        let atomic = buf.len() <= PIPE_BUF;
        let mut done = 0;
        loop {
            let no_reader = {
                let mut s = pipe.state.lock();
                let room = PIPE_SIZE - s.data.len();
                let want = buf.len() - done;
                if s.readers == 0 {
                    true
                } else {
                    if room >= want || (!atomic && room > 0) {
                        let n = want.min(room);
                        s.data.extend(&buf[done..done + n]);
                        done += n;
                    }
                    false
                }
            };
            if no_reader {
                // Linux's `pipe_write` sends SIGPIPE whether or not part
                // of the write went in (then the count is returned).
                crate::signal::raise_sigpipe();
                return if done > 0 { Ok(done) } else { Err(Errno::EPIPE) };
            }
            if done > 0 {
                pipe.readable.wake_all();
            }
            if done == buf.len() {
                return Ok(done);
            }
            if flags & O_NONBLOCK != 0 {
                return if done > 0 { Ok(done) } else { Err(Errno::EAGAIN) };
            }
            let need = if atomic { buf.len() } else { 1 };
            if let Err(e) = wait_until(&pipe.writable, || {
                let s = pipe.state.lock();
                s.readers == 0 || PIPE_SIZE - s.data.len() >= need
            }) {
                return if done > 0 { Ok(done) } else { Err(e) };
            }
        }
    }

    fn stat(&self) -> Result<Stat, Errno> {
        Ok(self.0.stat())
    }

    fn poll(&self) -> u32 {
        let s = self.0.state.lock();
        let mut r = 0;
        if PIPE_SIZE - s.data.len() >= PIPE_BUF {
            r |= poll::POLLOUT;
        }
        if s.readers == 0 {
            r |= poll::POLLERR;
        }
        r
    }
    /// Woken when room is freed or the last reader goes.
    fn wait_queue(&self) -> Option<&WaitQueue> {
        Some(&self.0.writable)
    }
}

impl Drop for WriteEnd {
    fn drop(&mut self) {
        self.0.state.lock().writers -= 1;
        self.0.readable.wake_all();
    }
}
