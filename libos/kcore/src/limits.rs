//! Accounting of the kernel objects held on an app's behalf, with a limit
//! per kind.
//!
//! Every object the kernel allocates because an app asked (a thread, an
//! armed timer, a futex waiter, a memory region, an epoll watch, an
//! eventfd; later descriptors and sockets) is charged to the app's
//! [`Usage`] before it is created and released when it goes away. A charge that would pass the kind's limit
//! fails, and the call that wanted the object fails with the kind's error
//! (see [`Resource::errno`]) instead of the kernel running out of memory.
//!
//! Charging is one compare-and-swap loop on the kind's counter, so CPUs
//! charging at once never take the count past the limit (a check followed
//! by a separate add could: two CPUs both see 255 and both add).
//!
//! Adding a kind (descriptors, sockets): a variant of [`Resource`], its
//! limit in [`Resource::default_limit`] and its error in
//! [`Resource::errno`]; charge where the object is created, release where
//! it is freed (a [`Charge`] guard does the release on drop).

use core::sync::atomic::{AtomicUsize, Ordering};

/// A kind of kernel object an app can make the kernel hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(usize)]
pub enum Resource {
    /// Threads (Linux: `RLIMIT_NPROC`, `kernel.threads-max`); `clone`
    /// fails with `EAGAIN` at the limit.
    Threads = 0,
    /// Timer events armed for timed waits (futex timeouts, sleeps, timed
    /// reads); at most one per waiting thread.
    Timers = 1,
    /// Threads queued on futexes.
    FutexWaiters = 2,
    /// Memory regions (Linux: `vm.max_map_count`); the memory calls that
    /// would add one fail with `ENOMEM` at the limit.
    Regions = 3,
    /// Epoll watches (Linux: `fs.epoll.max_user_watches`); `epoll_ctl`
    /// `EPOLL_CTL_ADD` fails with `ENOSPC` at the limit.
    EpollWatches = 4,
    /// Eventfd counters; `eventfd2` fails with `EMFILE` at the limit.
    EventFds = 5,
    /// Sockets (Linux counts them as open files: `ENFILE` when the
    /// system's file table is full); `socket` and `accept` fail with
    /// `ENFILE` at the limit.
    Sockets = 6,
    /// POSIX record locks (`fcntl` `F_SETLK`...; Linux allocates them from
    /// kernel memory and answers `ENOLCK` when it cannot); `ENOLCK` at the
    /// limit.
    RecordLocks = 7,
}

impl Resource {
    /// Every kind, in index order.
    pub const ALL: [Resource; 8] = [
        Resource::Threads,
        Resource::Timers,
        Resource::FutexWaiters,
        Resource::Regions,
        Resource::EpollWatches,
        Resource::EventFds,
        Resource::Sockets,
        Resource::RecordLocks,
    ];
    /// How many kinds there are.
    pub const COUNT: usize = Resource::ALL.len();

    /// The kind's limit per app.
    pub const fn default_limit(self) -> usize {
        match self {
            Resource::Threads => MAX_THREADS,
            // One timed wait per thread at a time, plus the test hook's
            // timers (bounded on their own).
            Resource::Timers => MAX_THREADS,
            Resource::FutexWaiters => MAX_THREADS,
            Resource::Regions => MAX_REGIONS,
            Resource::EpollWatches => MAX_EPOLL_WATCHES,
            Resource::EventFds => MAX_EVENTFDS,
            Resource::Sockets => MAX_SOCKETS,
            Resource::RecordLocks => MAX_RECORD_LOCKS,
        }
    }

    /// The Linux error number (positive) a call gets when the kind is at
    /// its limit: `EAGAIN` (11) for threads, timers and futex waiters (as
    /// `clone` gives at `RLIMIT_NPROC`: try again once some are gone),
    /// `ENOMEM` (12) for regions (as `mmap` gives at `vm.max_map_count`),
    /// `ENOSPC` (28) for epoll watches (as `epoll_ctl` gives at
    /// `max_user_watches`), `EMFILE` (24) for eventfds (a per-app limit on
    /// open objects).
    pub const fn errno(self) -> i32 {
        match self {
            Resource::Threads | Resource::Timers | Resource::FutexWaiters => 11,
            Resource::Regions => 12,
            Resource::EpollWatches => 28,
            Resource::EventFds => 24,
            Resource::Sockets => 23,
            Resource::RecordLocks => 37,
        }
    }

    /// Its name, for reports.
    pub const fn name(self) -> &'static str {
        match self {
            Resource::Threads => "threads",
            Resource::Timers => "timers",
            Resource::FutexWaiters => "futex waiters",
            Resource::Regions => "regions",
            Resource::EpollWatches => "epoll watches",
            Resource::EventFds => "eventfds",
            Resource::Sockets => "sockets",
            Resource::RecordLocks => "record locks",
        }
    }
}

/// Most threads one app may have.
pub const MAX_THREADS: usize = 256;
/// Most memory regions one app may have (Linux's default
/// `vm.max_map_count`).
pub const MAX_REGIONS: usize = 65530;
/// Most epoll watches one app may have. Linux allows 4% of low memory
/// divided by a watch's cost (about 200 bytes): 8192 watches is Linux's
/// figure for a machine of about 40 MiB, and about 1.5 MiB of kernel heap
/// here at most.
pub const MAX_EPOLL_WATCHES: usize = 8192;
/// Most eventfds one app may have: one per descriptor it may open.
pub const MAX_EVENTFDS: usize = 1024;
/// Most sockets one app may have open (above the descriptor limit of
/// 1024, so `EMFILE` comes first unless a test lowers this).
pub const MAX_SOCKETS: usize = 4096;
/// Most POSIX record locks one app may hold (each is a range of one file;
/// about 64 bytes of kernel heap each: 512 KiB at most). SQLite holds a few
/// per open database.
pub const MAX_RECORD_LOCKS: usize = 8192;

/// A charge refused: the kind is at its limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LimitReached(pub Resource);

/// What one app holds of each kind, and its limits.
#[derive(Debug)]
pub struct Usage {
    held: [AtomicUsize; Resource::COUNT],
    limits: [AtomicUsize; Resource::COUNT],
}

impl Default for Usage {
    fn default() -> Self {
        Self::new()
    }
}

impl Usage {
    /// Nothing held, every kind at its [`Resource::default_limit`].
    pub const fn new() -> Usage {
        let mut limits = [0; Resource::COUNT];
        let mut i = 0;
        while i < Resource::COUNT {
            limits[i] = Resource::ALL[i].default_limit();
            i += 1;
        }
        Usage::with_limits(limits)
    }

    /// Nothing held, with these limits (by [`Resource`] index).
    pub const fn with_limits(limits: [usize; Resource::COUNT]) -> Usage {
        // (A loop cannot build an array of atomics in a const fn.)
        const _: () = assert!(Resource::COUNT == 8);
        let limits = [
            AtomicUsize::new(limits[0]),
            AtomicUsize::new(limits[1]),
            AtomicUsize::new(limits[2]),
            AtomicUsize::new(limits[3]),
            AtomicUsize::new(limits[4]),
            AtomicUsize::new(limits[5]),
            AtomicUsize::new(limits[6]),
            AtomicUsize::new(limits[7]),
        ];
        Usage { held: [const { AtomicUsize::new(0) }; Resource::COUNT], limits }
    }

    /// Takes one `kind` if the app holds fewer than its limit. Atomic: CPUs
    /// charging at once never pass the limit together.
    pub fn try_charge(&self, kind: Resource) -> Result<(), LimitReached> {
        let limit = self.limits[kind as usize].load(Ordering::Acquire);
        self.held[kind as usize]
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| if n < limit { Some(n + 1) } else { None })
            .map(|_| ())
            .map_err(|_| LimitReached(kind))
    }

    /// [`Usage::try_charge`] with a guard that gives the charge back when
    /// dropped, unless [`Charge::keep`] hands it to the object.
    pub fn charge(&self, kind: Resource) -> Result<Charge<'_>, LimitReached> {
        self.try_charge(kind)?;
        Ok(Charge { usage: self, kind })
    }

    /// Gives one `kind` back (the object went away).
    ///
    /// # Panics
    /// Releasing more than was charged is a kernel bug: it panics in debug
    /// builds and leaves the count at zero otherwise.
    pub fn release(&self, kind: Resource) {
        let before = self.held[kind as usize]
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| Some(n.saturating_sub(1)))
            .unwrap_or(0);
        debug_assert!(before > 0, "released more {} than were charged", kind.name());
    }

    /// How many of `kind` the app holds.
    pub fn held(&self, kind: Resource) -> usize {
        self.held[kind as usize].load(Ordering::Acquire)
    }

    /// The app's limit for `kind`.
    pub fn limit(&self, kind: Resource) -> usize {
        self.limits[kind as usize].load(Ordering::Acquire)
    }

    /// Changes the app's limit for `kind`, down to at most its default
    /// (what an app holds above a lowered limit stays; new charges fail
    /// until it is below).
    pub fn lower_limit(&self, kind: Resource, limit: usize) {
        self.limits[kind as usize].store(limit.min(kind.default_limit()), Ordering::Release);
    }
}

/// One charged object, given back on drop unless kept.
#[must_use = "dropping a charge gives it back"]
#[derive(Debug)]
pub struct Charge<'a> {
    usage: &'a Usage,
    kind: Resource,
}

impl Charge<'_> {
    /// The object was created: it now owns the charge, and whoever frees it
    /// calls [`Usage::release`].
    pub fn keep(self) {
        core::mem::forget(self);
    }
}

impl Drop for Charge<'_> {
    fn drop(&mut self) {
        self.usage.release(self.kind);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::vec::Vec;

    #[test]
    fn charges_up_to_the_limit_and_no_further() {
        let u = Usage::with_limits([3, 1, 1, 1, 1, 1, 1, 1]);
        for _ in 0..3 {
            u.try_charge(Resource::Threads).unwrap();
        }
        assert_eq!(u.try_charge(Resource::Threads), Err(LimitReached(Resource::Threads)));
        assert_eq!(u.held(Resource::Threads), 3);
        u.release(Resource::Threads);
        u.try_charge(Resource::Threads).unwrap();
        // Kinds are apart.
        u.try_charge(Resource::Timers).unwrap();
        assert!(u.try_charge(Resource::Timers).is_err());
        assert_eq!(u.held(Resource::Regions), 0);
    }

    #[test]
    fn a_dropped_charge_is_given_back_a_kept_one_is_not() {
        let u = Usage::new();
        {
            let _c = u.charge(Resource::FutexWaiters).unwrap();
            assert_eq!(u.held(Resource::FutexWaiters), 1);
        }
        assert_eq!(u.held(Resource::FutexWaiters), 0);
        u.charge(Resource::FutexWaiters).unwrap().keep();
        assert_eq!(u.held(Resource::FutexWaiters), 1);
    }

    #[test]
    fn concurrent_charges_never_pass_the_limit() {
        for _ in 0..20 {
            let u = Arc::new(Usage::with_limits([256, 1, 1, 1, 1, 1, 1, 1]));
            let threads: Vec<_> = (0..8)
                .map(|_| {
                    let u = u.clone();
                    std::thread::spawn(move || (0..100).filter(|_| u.try_charge(Resource::Threads).is_ok()).count())
                })
                .collect();
            let granted: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
            assert_eq!(granted, 256);
            assert_eq!(u.held(Resource::Threads), 256);
        }
    }

    #[test]
    fn errors_and_defaults_are_linux_s() {
        assert_eq!(Resource::Threads.errno(), 11);
        assert_eq!(Resource::Regions.errno(), 12);
        assert_eq!(Resource::Sockets.errno(), 23);
        assert_eq!(Resource::EpollWatches.errno(), 28);
        assert_eq!(Resource::EventFds.errno(), 24);
        assert_eq!(Resource::RecordLocks.errno(), 37);
        for (i, kind) in Resource::ALL.iter().enumerate() {
            assert_eq!(*kind as usize, i);
        }
        assert_eq!(Usage::new().limit(Resource::Threads), 256);
        assert_eq!(Usage::new().limit(Resource::Regions), 65530);
    }

    #[test]
    fn a_lowered_limit_applies_to_new_charges_and_cannot_rise() {
        let u = Usage::new();
        for _ in 0..3 {
            u.try_charge(Resource::Threads).unwrap();
        }
        u.lower_limit(Resource::Threads, 2);
        assert!(u.try_charge(Resource::Threads).is_err());
        u.release(Resource::Threads);
        u.release(Resource::Threads);
        u.try_charge(Resource::Threads).unwrap();
        u.lower_limit(Resource::Threads, 1_000_000);
        assert_eq!(u.limit(Resource::Threads), MAX_THREADS);
    }
}
