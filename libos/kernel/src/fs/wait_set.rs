//! Waiting for any of several files to change: what `poll`, `select` and
//! `epoll_wait` sleep in.
//!
//! A [`WaitSet`] holds the files a call watches (and, for an epoll
//! instance among them, the files it watches, down to
//! [`MAX_NESTING`] levels). Its *stamp* is the sum of the wake counts of
//! their queues ([`WaitQueue::wake_count`]): the caller reads the stamp,
//! looks at every file's readiness, and if nothing is ready sleeps on all
//! the queues at once (`wait_event`) until the stamp moves. A waker changes
//! a file's state, then wakes its queue (which moves the stamp): a change
//! after the stamp was read ends the sleep at once or wakes it, a change
//! before it was seen by the look. No callback per file is needed, at the
//! price of a new look at every file after each wake-up.

use alloc::sync::Arc;
use alloc::vec::Vec;

use libos_abi::errno::Errno;

use super::file::OpenFile;
use crate::console;
use crate::sched::wait::{WaitQueue, WaitResult, wait_event};

/// How deep epoll instances may nest (Linux's `EP_MAX_NESTS`).
pub const MAX_NESTING: usize = 4;

/// How long a wait that holds the files an epoll instance watches sleeps
/// before it lets go of them and gathers them again. Linux's epoll holds
/// no reference to a watched file, so its last close frees it even while a
/// thread waits; here the wait holds the files whose queues it sleeps on
/// (a queue must outlive the sleep), so a file closed meanwhile really goes
/// (a pipe's writer then gets `EPIPE`) at most this much later.
pub const REGATHER_NS: u64 = 50_000_000;

/// The files a wait watches.
#[derive(Default)]
pub struct WaitSet {
    files: Vec<Arc<OpenFile>>,
    /// Whether some are held only because an epoll instance watches them.
    nested: bool,
}

impl WaitSet {
    /// An empty set.
    pub fn new() -> WaitSet {
        WaitSet { files: Vec::new(), nested: false }
    }

    /// Adds `file` (and what an epoll instance watches). `ENOMEM` if the set
    /// cannot grow.
    pub fn add(&mut self, file: &Arc<OpenFile>) -> Result<(), Errno> {
        self.add_nested(file, 0)
    }

    fn add_nested(&mut self, file: &Arc<OpenFile>, depth: usize) -> Result<(), Errno> {
        self.files.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
        self.files.push(file.clone());
        self.nested |= depth > 0;
        if depth < MAX_NESTING
            && let Some(ep) = file.object().as_epoll()
        {
            for child in ep.watched_files() {
                self.add_nested(&child, depth + 1)?;
            }
        }
        Ok(())
    }

    /// The sum of the wake counts of the files' queues: it moves whenever
    /// one of them is woken.
    pub fn stamp(&self) -> u64 {
        stamp_of(&self.files)
    }

    /// Sleeps until the stamp differs from `since` ([`WaitResult::Ready`]:
    /// look again), the TSC reaches `deadline`, or the thread is
    /// interrupted. A look at the console's input is due every
    /// [`console::input::recheck_ns`] while it is watched (its input may
    /// arrive without a wake-up), and the files of epoll instances are let
    /// go every [`REGATHER_NS`]: such a slice's end is `Ready` too (the
    /// caller looks again, with the files gathered anew).
    pub fn wait(&self, since: u64, deadline: Option<u64>) -> Result<WaitResult, Errno> {
        let mut queues: Vec<&WaitQueue> = Vec::new();
        queues.try_reserve(self.files.len()).map_err(|_| Errno::ENOMEM)?;
        queues.extend(self.files.iter().filter_map(|f| f.object().wait_queue()));
        let console = queues.iter().any(|q| core::ptr::eq(*q, &console::input::READERS));
        let slice_ns = match (console, self.nested) {
            (true, true) => Some(console::input::recheck_ns().min(REGATHER_NS)),
            (true, false) => Some(console::input::recheck_ns()),
            (false, true) => Some(REGATHER_NS),
            (false, false) => None,
        };
        let slice = slice_ns.map(crate::time::deadline_after);
        let until = match (deadline, slice) {
            (Some(d), Some(s)) => Some(d.min(s)),
            (d, s) => d.or(s),
        };
        match wait_event(&queues, until, || stamp_of(&self.files) != since)? {
            WaitResult::TimedOut if until != deadline && !expired(deadline) => Ok(WaitResult::Ready),
            result => Ok(result),
        }
    }
}

/// Whether the TSC has reached `deadline`.
fn expired(deadline: Option<u64>) -> bool {
    deadline.is_some_and(|d| crate::time::rdtsc() >= d)
}

fn stamp_of(files: &[Arc<OpenFile>]) -> u64 {
    files.iter().filter_map(|f| f.object().wait_queue()).fold(0u64, |sum, q| sum.wrapping_add(q.wake_count()))
}

/// The stamp of one file (with what it watches, for an epoll instance).
pub fn file_stamp(file: &Arc<OpenFile>) -> Result<u64, Errno> {
    if file.object().as_epoll().is_none() {
        return Ok(file.object().wait_queue().map_or(0, WaitQueue::wake_count));
    }
    let mut set = WaitSet::new();
    set.add(file)?;
    Ok(set.stamp())
}

/// The file's readiness as Linux's files report it (`POLLRDNORM` with
/// `POLLIN`...).
pub fn mask_of(file: &OpenFile) -> u32 {
    libos_fs::readiness::normalize(file.object().poll())
}
