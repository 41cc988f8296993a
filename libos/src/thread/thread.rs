//! [`Thread`] handles and [`ThreadId`]s, and parking.

use alloc::string::String;
use alloc::sync::Arc;
use core::fmt;
use core::num::NonZeroU64;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use core::time::Duration;

use crate::sync::futex;

/// A unique identifier of a thread of this app, as `std::thread::ThreadId`:
/// never reused while the app runs. (Not the kernel's tid; see
/// [`Thread::os_id`].)
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct ThreadId(NonZeroU64);

impl ThreadId {
    fn new() -> ThreadId {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let id = NEXT.fetch_add(1, Ordering::Relaxed);
        ThreadId(NonZeroU64::new(id).expect("thread ids do not run out"))
    }

    /// The id as a number (the first thread's is 1).
    pub fn as_u64(&self) -> NonZeroU64 {
        self.0
    }
}

/// Park token states.
const EMPTY: u32 = 0;
const NOTIFIED: u32 = 1;
const PARKED: u32 = u32::MAX;

struct Inner {
    id: ThreadId,
    name: Option<String>,
    /// The kernel's tid (set by the thread itself when it starts).
    os_id: AtomicU32,
    /// The park token (a futex word).
    park: AtomicU32,
}

/// A handle to a thread, as `std::thread::Thread`: its id and name, and
/// [`unpark`](Thread::unpark). Cheap to clone.
#[derive(Clone)]
pub struct Thread {
    inner: Arc<Inner>,
}

impl Thread {
    pub(crate) fn new(name: Option<String>) -> Thread {
        Thread {
            inner: Arc::new(Inner { id: ThreadId::new(), name, os_id: AtomicU32::new(0), park: AtomicU32::new(EMPTY) }),
        }
    }

    /// The thread's id.
    pub fn id(&self) -> ThreadId {
        self.inner.id
    }

    /// Its name, if it was given one ("main" for the first thread).
    pub fn name(&self) -> Option<&str> {
        self.inner.name.as_deref()
    }

    /// The kernel's thread id (what `gettid` returns on that thread and what
    /// fault reports name); 0 until the thread has started.
    pub fn os_id(&self) -> u32 {
        self.inner.os_id.load(Ordering::Acquire)
    }

    pub(crate) fn set_os_id(&self, tid: u32) {
        self.inner.os_id.store(tid, Ordering::Release);
    }

    /// Makes the thread's token available: its next (or current)
    /// [`park`](super::park) returns.
    pub fn unpark(&self) {
        if self.inner.park.swap(NOTIFIED, Ordering::Release) == PARKED {
            futex::wake_one(&self.inner.park);
        }
    }

    /// Parks the calling thread, which must be this one.
    pub(crate) fn park(&self, timeout: Option<Duration>) {
        let token = &self.inner.park;
        // NOTIFIED -> EMPTY: the token was there; EMPTY -> PARKED: sleep.
        if token.fetch_sub(1, Ordering::Acquire) == NOTIFIED {
            return;
        }
        match timeout {
            None => loop {
                futex::wait(token, PARKED, None);
                if token.compare_exchange(NOTIFIED, EMPTY, Ordering::Acquire, Ordering::Acquire).is_ok() {
                    return;
                }
            },
            Some(d) => {
                futex::wait(token, PARKED, Some(d));
                // Whether woken or timed out, the token is consumed.
                token.swap(EMPTY, Ordering::Acquire);
            }
        }
    }
}

impl fmt::Debug for Thread {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Thread").field("id", &self.id()).field("name", &self.name()).finish_non_exhaustive()
    }
}
