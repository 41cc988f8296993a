//! Epoll instances (Linux's `fs/eventpoll.c`): a set of watches, each a
//! file (by its open description and descriptor number), the events asked
//! and the caller's `data`; `epoll_wait` reports the watches whose files
//! are ready.
//!
//! - When a watch reports is decided by
//!   [`WatchState`] (level-triggered,
//!   `EPOLLET`, `EPOLLONESHOT`), from the file's readiness and its stamp (the
//!   wake count of its queue, see [`super::wait_set`]).
//! - A watch holds its file weakly: like Linux, which removes a file's
//!   watches at its last close, a watch whose file is gone reports nothing
//!   and is dropped (and its charge given back) at the instance's next
//!   `epoll_ctl` or look. Watches survive a `dup` of the watched number.
//!   A thread sleeping in `epoll_wait` holds the watched files (it sleeps on
//!   their queues) and lets go of them every
//!   [`REGATHER_NS`](super::wait_set::REGATHER_NS), so a close during the
//!   sleep takes effect within that time.
//! - Each watch is charged to the app (`Resource::EpollWatches`,
//!   `ENOSPC` at the limit, as `max_user_watches`).
//! - An instance may watch another (`poll` on an instance says `POLLIN`
//!   when a wait would report); a watch that would close a cycle or nest
//!   deeper than [`MAX_NESTING`] is `ELOOP` (a global lock orders such
//!   additions, as Linux's `epnested_mutex`). Only the watched side's depth
//!   is counted, not how deep the instance itself is watched.
//! - Costs: a look at an instance polls every watch (O(watches) per
//!   `epoll_wait` and per wake-up), where Linux keeps a ready list fed by
//!   wake-up callbacks. `EPOLLEXCLUSIVE` is accepted; every waiter is
//!   woken.

use alloc::collections::BTreeMap;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;

use libos_abi::errno::Errno;
use libos_abi::fs_types::Stat;
use libos_abi::poll_types::{EPOLL_CTL_ADD, EPOLL_CTL_DEL, EPOLL_CTL_MOD, EPOLLEXCLUSIVE, EpollEvent};
use libos_fs::readiness::WatchState;
use libos_kcore::limits::Resource;

use super::file::{FileObject, OpenFile, poll};
use super::wait_set::{MAX_NESTING, file_stamp, mask_of};
use crate::process::Process;
use crate::sched::wait::WaitQueue;
use crate::sync::{Mutex, SpinLock};

/// A watch's key: the open description (by address) and the number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    file: usize,
    fd: i32,
}

struct Watch {
    file: Weak<OpenFile>,
    data: u64,
    state: WatchState,
}

/// Orders additions of an epoll instance to another (the cycle check and
/// the addition must not interleave with another such pair).
static NESTING: Mutex<()> = Mutex::new(());

/// An epoll instance.
pub struct Epoll {
    watches: SpinLock<Watches>,
    /// Woken when a watch is added or changed (a waiter looks again).
    changed: WaitQueue,
    /// The app its watches are charged to.
    owner: Arc<Process>,
}

struct Watches {
    map: BTreeMap<Key, Watch>,
    /// Where the next look starts: after the last watch reported, so that
    /// ready watches take turns when `maxevents` is smaller than their
    /// number (Linux moves a level-triggered watch to the ready list's end).
    next: Option<Key>,
}

impl Epoll {
    /// A new, empty instance whose watches are charged to `owner`.
    pub fn new(owner: Arc<Process>) -> Epoll {
        Epoll { watches: SpinLock::new(Watches { map: BTreeMap::new(), next: None }), changed: WaitQueue::new(), owner }
    }

    /// The files watched now (dropping the watches of closed ones).
    pub fn watched_files(&self) -> Vec<Arc<OpenFile>> {
        self.snapshot().into_iter().map(|(_, f)| f).collect()
    }

    /// The live watches from where the last look stopped, with their
    /// files; the watches of files that are gone are removed and their
    /// charges given back.
    fn snapshot(&self) -> Vec<(Key, Arc<OpenFile>)> {
        let mut live = Vec::new();
        let mut dead = 0;
        {
            let mut w = self.watches.lock();
            let start = w.next;
            let (after, before): (Vec<_>, Vec<_>) =
                w.map.iter().map(|(k, watch)| (*k, watch.file.upgrade())).partition(|(k, _)| Some(*k) > start);
            for (k, file) in after.into_iter().chain(before) {
                match file {
                    Some(f) => live.push((k, f)),
                    None => {
                        w.map.remove(&k);
                        dead += 1;
                    }
                }
            }
        }
        for _ in 0..dead {
            self.owner.usage.release(Resource::EpollWatches);
        }
        live
    }

    /// `epoll_ctl`: `op` on the watch of `target` (descriptor `fd`), with
    /// `events` (checked by `check_ctl`) and `data`.
    pub fn ctl(&self, op: i32, fd: i32, target: &Arc<OpenFile>, events: u32, data: u64) -> Result<(), Errno> {
        let key = Key { file: Arc::as_ptr(target) as usize, fd };
        match op {
            EPOLL_CTL_ADD => {
                // Hold the nesting lock across the check and the insertion
                // when the target is an instance.
                let _nesting = match target.object().as_epoll() {
                    Some(inner) => {
                        let guard = NESTING.lock();
                        if inner.reaches(self, 0)? {
                            return Err(Errno::ELOOP);
                        }
                        Some(guard)
                    }
                    None => None,
                };
                if self.watches.lock().map.contains_key(&key) {
                    return Err(Errno::EEXIST);
                }
                if self.owner.usage.held(Resource::EpollWatches) >= self.owner.usage.limit(Resource::EpollWatches) {
                    // Give back the charges of watches on closed files first.
                    drop(self.snapshot());
                }
                self.owner.usage.try_charge(Resource::EpollWatches).map_err(|_| Errno::ENOSPC)?;
                let state = WatchState::new(events, file_stamp(target).unwrap_or(0));
                let mut w = self.watches.lock();
                if w.map.contains_key(&key) {
                    drop(w);
                    self.owner.usage.release(Resource::EpollWatches);
                    return Err(Errno::EEXIST);
                }
                w.map.insert(key, Watch { file: Arc::downgrade(target), data, state });
            }
            EPOLL_CTL_MOD => {
                let stamp = file_stamp(target).unwrap_or(0);
                let mut w = self.watches.lock();
                let watch = w.map.get_mut(&key).ok_or(Errno::ENOENT)?;
                if watch.state.events() & EPOLLEXCLUSIVE != 0 {
                    return Err(Errno::EINVAL);
                }
                watch.state.modify(events, stamp);
                watch.data = data;
            }
            EPOLL_CTL_DEL => {
                let removed = self.watches.lock().map.remove(&key).ok_or(Errno::ENOENT)?;
                self.owner.usage.release(Resource::EpollWatches);
                drop(removed);
            }
            _ => return Err(Errno::EINVAL),
        }
        self.changed.wake_all();
        Ok(())
    }

    /// Whether `target` is this instance or is watched, directly or through
    /// other instances, by it; also true when the watches nest deeper than
    /// [`MAX_NESTING`] below it (`ELOOP` either way).
    fn reaches(&self, target: &Epoll, depth: usize) -> Result<bool, Errno> {
        if core::ptr::eq(self, target) || depth >= MAX_NESTING {
            return Ok(true);
        }
        for file in self.watched_files() {
            if let Some(inner) = file.object().as_epoll()
                && inner.reaches(target, depth + 1)?
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// A look by `epoll_wait`: up to `max` events of the watches that
    /// report now (their state moves on: edge, one-shot).
    pub fn collect(&self, max: usize) -> Result<Vec<EpollEvent>, Errno> {
        let mut out = Vec::new();
        out.try_reserve(max.min(1024)).map_err(|_| Errno::ENOMEM)?;
        for (key, file) in self.snapshot() {
            if out.len() >= max {
                break;
            }
            let stamp = file_stamp(&file)?;
            let mask = mask_of(&file);
            let mut w = self.watches.lock();
            if let Some(watch) = w.map.get_mut(&key)
                && let Some(events) = watch.state.collect(mask, stamp)
            {
                let data = watch.data;
                out.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
                out.push(EpollEvent { events, data });
                w.next = Some(key);
            }
        }
        Ok(out)
    }
}

impl FileObject for Epoll {
    fn stat(&self) -> Result<Stat, Errno> {
        // An anonymous inode, as Linux's "[eventpoll]".
        Ok(Stat { st_mode: 0o600, st_nlink: 1, st_blksize: 4096, ..Default::default() })
    }

    /// `POLLIN` when `epoll_wait` would report something (nothing is used
    /// up by looking).
    fn poll(&self) -> u32 {
        for (key, file) in self.snapshot() {
            let Ok(stamp) = file_stamp(&file) else { return poll::POLLIN };
            let mask = mask_of(&file);
            if self.watches.lock().map.get(&key).is_some_and(|w| w.state.peek(mask, stamp)) {
                return poll::POLLIN;
            }
        }
        0
    }

    /// Woken when a watch is added or changed; waiters also sleep on the
    /// watched files' queues (see [`super::wait_set::WaitSet`]).
    fn wait_queue(&self) -> Option<&WaitQueue> {
        Some(&self.changed)
    }

    fn as_epoll(&self) -> Option<&Epoll> {
        Some(self)
    }
}

impl Drop for Epoll {
    fn drop(&mut self) {
        let watches = core::mem::take(&mut self.watches.lock().map);
        for _ in 0..watches.len() {
            self.owner.usage.release(Resource::EpollWatches);
        }
    }
}
