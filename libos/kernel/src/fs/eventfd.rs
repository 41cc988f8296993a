//! Eventfd (Linux's `fs/eventfd.c`): a 64-bit counter as a file. A read
//! takes the value (or 1, with `EFD_SEMAPHORE`), waiting while it is 0; a
//! write adds, waiting while the sum would pass `2^64 - 2`; `O_NONBLOCK`
//! turns waits into `EAGAIN`. The counter arithmetic is
//! [`EventCounter`]; each eventfd is
//! charged to its app (`Resource::EventFds`).

use alloc::sync::Arc;

use libos_abi::errno::Errno;
use libos_abi::fs_types::{O_NONBLOCK, Stat};
use libos_fs::readiness::EventCounter;
use libos_kcore::limits::Resource;

use super::file::FileObject;
use super::wait::wait_until;
use crate::process::Process;
use crate::sched::wait::WaitQueue;
use crate::sync::SpinLock;

/// An eventfd.
pub struct EventFd {
    counter: SpinLock<EventCounter>,
    /// Woken on every change of the counter (readers, writers, `poll`).
    queue: WaitQueue,
    semaphore: bool,
    /// The app it is charged to.
    owner: Arc<Process>,
}

impl EventFd {
    /// A counter at `initval`, charged to `owner` (`EMFILE` at its limit).
    pub fn new(owner: Arc<Process>, initval: u64, semaphore: bool) -> Result<EventFd, Errno> {
        owner.usage.try_charge(Resource::EventFds).map_err(|_| Errno::EMFILE)?;
        Ok(EventFd { counter: SpinLock::new(EventCounter::new(initval)), queue: WaitQueue::new(), semaphore, owner })
    }
}

impl FileObject for EventFd {
    /// 8 bytes: the value (`EINVAL` for a smaller buffer).
    fn read(&self, _pos: &mut u64, buf: &mut [u8], flags: i32) -> Result<usize, Errno> {
        if buf.len() < 8 {
            return Err(Errno::EINVAL);
        }
        loop {
            let taken = self.counter.lock().read(self.semaphore);
            if let Ok(v) = taken {
                self.queue.wake_all();
                buf[..8].copy_from_slice(&v.to_ne_bytes());
                return Ok(8);
            }
            if flags & O_NONBLOCK != 0 {
                return Err(Errno::EAGAIN);
            }
            wait_until(&self.queue, || self.counter.lock().value() > 0)?;
        }
    }

    /// 8 bytes: the value to add (`EINVAL` for a smaller buffer or
    /// `u64::MAX`).
    fn write(&self, _pos: &mut u64, buf: &[u8], flags: i32) -> Result<usize, Errno> {
        let Some(bytes) = buf.get(..8) else { return Err(Errno::EINVAL) };
        let add = u64::from_ne_bytes(bytes.try_into().map_err(|_| Errno::EINVAL)?);
        loop {
            let done = self.counter.lock().write(add)?;
            if done.is_ok() {
                self.queue.wake_all();
                return Ok(8);
            }
            if flags & O_NONBLOCK != 0 {
                return Err(Errno::EAGAIN);
            }
            wait_until(&self.queue, || libos_abi::poll_types::EVENTFD_MAX - self.counter.lock().value() >= add)?;
        }
    }

    fn stat(&self) -> Result<Stat, Errno> {
        // An anonymous inode, as Linux's "[eventfd]".
        Ok(Stat { st_mode: 0o600, st_nlink: 1, st_blksize: 4096, ..Default::default() })
    }

    fn poll(&self) -> u32 {
        self.counter.lock().mask()
    }

    fn wait_queue(&self) -> Option<&WaitQueue> {
        Some(&self.queue)
    }
}

impl Drop for EventFd {
    fn drop(&mut self) {
        self.owner.usage.release(Resource::EventFds);
    }
}
