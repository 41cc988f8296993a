//! Readiness rules, apart from the kernel's objects and waits: what `poll`,
//! `select` and `epoll` report for a file's readiness mask, when an epoll
//! watch reports (level- and edge-triggered, one-shot), the eventfd
//! counter, and the calls' timeouts. The kernel (`fs/epoll.rs`,
//! `fs/eventfd.rs`, `syscalls/readiness.rs`) applies them; Linux's
//! `fs/select.c`, `fs/eventpoll.c` and `fs/eventfd.c` are the reference.

use libos_abi::abi_types::Timespec;
use libos_abi::errno::Errno;
use libos_abi::poll_types::*;

/// The mask as Linux's files report it: `POLLIN` comes with `POLLRDNORM`,
/// `POLLOUT` with `POLLWRNORM` (what `select` and `poll` callers that ask
/// for the `*NORM` bits expect).
pub const fn normalize(mask: u32) -> u32 {
    let mut m = mask;
    if m & POLLIN != 0 {
        m |= POLLRDNORM;
    }
    if m & POLLOUT != 0 {
        m |= POLLWRNORM;
    }
    m
}

/// `revents` of one `poll` entry asking for `events`, for a file whose
/// (normalized) mask is `mask`: what was asked, plus `POLLERR` and
/// `POLLHUP`, which are always reported (`do_pollfd`).
pub const fn poll_revents(events: i16, mask: u32) -> i16 {
    let filter = (events as u16 as u32) | POLLERR | POLLHUP;
    (mask & filter) as u16 as i16
}

/// What makes a descriptor readable for `select` (`POLLIN_SET`).
pub const SELECT_IN: u32 = POLLRDNORM | POLLRDBAND | POLLIN | POLLHUP | POLLERR;
/// What makes it writable (`POLLOUT_SET`).
pub const SELECT_OUT: u32 = POLLWRBAND | POLLWRNORM | POLLOUT | POLLERR;
/// What makes it exceptional (`POLLEX_SET`).
pub const SELECT_EX: u32 = POLLPRI;

/// Bit `fd` of a descriptor set.
pub fn fd_isset(set: &[u64], fd: usize) -> bool {
    set.get(fd / 64).is_some_and(|w| w & (1 << (fd % 64)) != 0)
}

/// Sets bit `fd` (if the set has it).
pub fn fd_set(set: &mut [u64], fd: usize) {
    if let Some(w) = set.get_mut(fd / 64) {
        *w |= 1 << (fd % 64);
    }
}

/// The words of a set that `nfds` descriptors need (`FDS_LONGS`).
pub const fn fd_words(nfds: usize) -> usize {
    nfds.div_ceil(64)
}

/// The bits of `set` below `nfds` (bits above it in the last word are not
/// looked at, as in Linux).
pub fn fds_below(set: &[u64], nfds: usize) -> impl Iterator<Item = usize> + '_ {
    (0..nfds.min(set.len() * 64)).filter(move |&fd| fd_isset(set, fd))
}

/// `select`'s verdict for one descriptor: which of its read, write and
/// exception bits stay set, for a file with (normalized) mask `mask`.
pub const fn select_bits(mask: u32, want: [bool; 3]) -> [bool; 3] {
    [want[0] && mask & SELECT_IN != 0, want[1] && mask & SELECT_OUT != 0, want[2] && mask & SELECT_EX != 0]
}

/// `poll`'s and `epoll_wait`'s timeout in milliseconds as nanoseconds
/// (`None`: no limit, for any negative value).
pub const fn millis_timeout(ms: i32) -> Option<u64> {
    if ms < 0 { None } else { Some(ms as u64 * 1_000_000) }
}

/// A `struct timespec` timeout as nanoseconds; `EINVAL` unless valid.
pub fn timespec_timeout(ts: &Timespec) -> Result<u64, Errno> {
    if !ts.is_valid() {
        return Err(Errno::EINVAL);
    }
    Ok((ts.tv_sec as u64).saturating_mul(1_000_000_000).saturating_add(ts.tv_nsec as u64))
}

/// `select`'s `struct timeval` as nanoseconds: negative fields are
/// `EINVAL`; microseconds past a second carry into the seconds, as Linux
/// does.
pub fn timeval_timeout(tv: &Timeval) -> Result<u64, Errno> {
    if tv.tv_sec < 0 || tv.tv_usec < 0 {
        return Err(Errno::EINVAL);
    }
    Ok((tv.tv_sec as u64).saturating_mul(1_000_000_000).saturating_add((tv.tv_usec as u64).saturating_mul(1000)))
}

/// The bits of a watch's `events` that are flags, not events
/// (`EP_PRIVATE_BITS`).
pub const EPOLL_FLAGS: u32 = EPOLLWAKEUP | EPOLLONESHOT | EPOLLET | EPOLLEXCLUSIVE;

/// What `EPOLLEXCLUSIVE` may come with (`EPOLLEXCLUSIVE_OK_BITS`).
const EXCLUSIVE_OK: u32 = EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLWAKEUP | EPOLLET | EPOLLEXCLUSIVE;

/// `epoll_ctl`'s checks of `op` and `events` that need no file (after the
/// descriptors were found): `EINVAL` for an unknown `op`, `EPOLLEXCLUSIVE`
/// with `MOD`, with other event bits, or on an epoll instance. Returns the
/// events a watch keeps: `EPOLLERR | EPOLLHUP` are always added.
pub fn check_ctl(op: i32, events: u32, target_is_epoll: bool) -> Result<u32, Errno> {
    if !matches!(op, EPOLL_CTL_ADD | EPOLL_CTL_MOD | EPOLL_CTL_DEL) {
        return Err(Errno::EINVAL);
    }
    if op != EPOLL_CTL_DEL
        && events & EPOLLEXCLUSIVE != 0
        && (op == EPOLL_CTL_MOD || target_is_epoll || events & !EXCLUSIVE_OK != 0)
    {
        return Err(Errno::EINVAL);
    }
    Ok(events | EPOLLERR | EPOLLHUP)
}

/// The state of one epoll watch that decides when it reports.
///
/// The kernel gives it the file's readiness mask and a *stamp*: a number
/// that changes whenever the file's wait queue is woken (Linux's
/// `ep_poll_callback` puts the watch on the ready list at each such
/// wake-up). The stamp is read before the mask, so a change between the
/// two shows at the next look (a spurious report at worst, never a lost
/// one).
///
/// - Level-triggered: reports whenever the mask has an asked event.
/// - Edge-triggered (`EPOLLET`): reports once, and again only after a
///   wake-up (a new write, a close...) with the file ready then; a look that
///   finds it not ready also uses up the wake-up (as Linux drops the watch
///   from its ready list).
/// - `EPOLLONESHOT`: after one report the watch asks for nothing until
///   [`WatchState::modify`] (`EPOLL_CTL_MOD`).
///
/// A new or modified watch is looked at once whatever the stamp (Linux
/// polls the file in `ep_insert`/`ep_modify`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WatchState {
    /// Asked events and flags (`EPOLLERR | EPOLLHUP` included).
    events: u32,
    /// To be looked at even without a new stamp (added or modified).
    pending: bool,
    /// The stamp at the last look.
    seen: u64,
}

impl WatchState {
    /// A new watch for `events` (as [`check_ctl`] returned them); `stamp` is
    /// the file's now.
    pub const fn new(events: u32, stamp: u64) -> WatchState {
        WatchState { events, pending: true, seen: stamp }
    }

    /// `EPOLL_CTL_MOD`: new events, re-armed, looked at again.
    pub fn modify(&mut self, events: u32, stamp: u64) {
        *self = WatchState::new(events, stamp);
    }

    /// The events and flags asked.
    pub const fn events(&self) -> u32 {
        self.events
    }

    /// Whether the watch asks for nothing (a one-shot that reported).
    pub const fn disarmed(&self) -> bool {
        self.events & !EPOLL_FLAGS == 0
    }

    /// A look by `epoll_wait`: the events to report for a file whose
    /// (normalized) mask is `mask` and stamp `stamp`, if any; updates the
    /// state (edge and one-shot).
    pub fn collect(&mut self, mask: u32, stamp: u64) -> Option<u32> {
        let woke = stamp != self.seen || self.pending;
        self.seen = stamp;
        self.pending = false;
        let report = self.would_report(mask, woke)?;
        if self.events & EPOLLONESHOT != 0 {
            self.events &= EPOLL_FLAGS;
        }
        Some(report)
    }

    /// Whether a look now would report (for `poll` on the epoll instance
    /// itself, which must not use anything up).
    pub fn peek(&self, mask: u32, stamp: u64) -> bool {
        self.would_report(mask, stamp != self.seen || self.pending).is_some()
    }

    fn would_report(&self, mask: u32, woke: bool) -> Option<u32> {
        if self.disarmed() || (self.events & EPOLLET != 0 && !woke) {
            return None;
        }
        let report = mask & self.events & !EPOLL_FLAGS;
        (report != 0).then_some(report)
    }
}

/// Why an eventfd operation cannot complete now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventfdBlock {
    /// Reading: the counter is 0. Writing: the sum would pass
    /// [`EVENTFD_MAX`].
    WouldBlock,
}

/// An eventfd's counter (`fs/eventfd.c`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EventCounter {
    count: u64,
}

impl EventCounter {
    /// A counter at `initval`.
    pub const fn new(initval: u64) -> EventCounter {
        EventCounter { count: initval }
    }

    /// The value.
    pub const fn value(&self) -> u64 {
        self.count
    }

    /// A read: the value, reset to 0 (with `semaphore`: 1, taken from it).
    pub fn read(&mut self, semaphore: bool) -> Result<u64, EventfdBlock> {
        if self.count == 0 {
            return Err(EventfdBlock::WouldBlock);
        }
        let v = if semaphore { 1 } else { self.count };
        self.count -= v;
        Ok(v)
    }

    /// A write of `add`: `EINVAL` for `u64::MAX`; blocks while the sum would
    /// pass [`EVENTFD_MAX`].
    pub fn write(&mut self, add: u64) -> Result<Result<(), EventfdBlock>, Errno> {
        if add == u64::MAX {
            return Err(Errno::EINVAL);
        }
        if EVENTFD_MAX - self.count < add {
            return Ok(Err(EventfdBlock::WouldBlock));
        }
        self.count += add;
        Ok(Ok(()))
    }

    /// The readiness mask (`eventfd_poll`).
    pub const fn mask(&self) -> u32 {
        let mut m = 0;
        if self.count > 0 {
            m |= POLLIN;
        }
        if self.count < EVENTFD_MAX {
            m |= POLLOUT;
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poll_reports_what_was_asked_plus_err_and_hup() {
        let mask = normalize(POLLIN | POLLHUP);
        assert_eq!(mask, POLLIN | POLLRDNORM | POLLHUP);
        assert_eq!(poll_revents(POLLOUT as i16, mask), POLLHUP as i16);
        assert_eq!(poll_revents(POLLIN as i16, mask), (POLLIN | POLLHUP) as i16);
        assert_eq!(poll_revents(0, normalize(POLLIN | POLLOUT)), 0);
        assert_eq!(poll_revents(POLLRDNORM as i16, normalize(POLLIN)), POLLRDNORM as i16);
        // The upper bits of a negative `events` are ignored.
        assert_eq!(poll_revents(-1, normalize(POLLOUT)), (POLLOUT | POLLWRNORM) as i16);
    }

    #[test]
    fn select_sets_and_bits() {
        let mut set = [0u64; 16];
        fd_set(&mut set, 0);
        fd_set(&mut set, 65);
        fd_set(&mut set, 1023);
        fd_set(&mut set, 5000);
        assert!(fd_isset(&set, 65) && !fd_isset(&set, 64) && fd_isset(&set, 1023));
        assert_eq!(fds_below(&set, 1024).collect::<std::vec::Vec<_>>(), [0, 65, 1023]);
        assert_eq!(fds_below(&set, 65).collect::<std::vec::Vec<_>>(), [0]);
        assert_eq!(fd_words(0), 0);
        assert_eq!(fd_words(1), 1);
        assert_eq!(fd_words(65), 2);
        // A hung-up pipe is readable (EOF) but not writable; an error is both.
        assert_eq!(select_bits(normalize(POLLHUP), [true, true, true]), [true, false, false]);
        assert_eq!(select_bits(POLLERR, [true, true, false]), [true, true, false]);
        assert_eq!(select_bits(normalize(POLLOUT), [true, false, true]), [false, false, false]);
        assert_eq!(select_bits(POLLPRI, [false, false, true]), [false, false, true]);
    }

    #[test]
    fn timeouts() {
        assert_eq!(millis_timeout(-1), None);
        assert_eq!(millis_timeout(-7), None);
        assert_eq!(millis_timeout(0), Some(0));
        assert_eq!(millis_timeout(1500), Some(1_500_000_000));
        assert_eq!(timespec_timeout(&Timespec::new(1, 5)), Ok(1_000_000_005));
        assert_eq!(timespec_timeout(&Timespec::new(-1, 0)), Err(Errno::EINVAL));
        assert_eq!(timespec_timeout(&Timespec::new(0, 1_000_000_000)), Err(Errno::EINVAL));
        assert_eq!(timeval_timeout(&Timeval { tv_sec: 0, tv_usec: 2_500_000 }), Ok(2_500_000_000));
        assert_eq!(timeval_timeout(&Timeval { tv_sec: 0, tv_usec: -1 }), Err(Errno::EINVAL));
        assert_eq!(timespec_timeout(&Timespec::new(i64::MAX, 0)), Ok(u64::MAX));
    }

    #[test]
    fn ctl_checks() {
        assert_eq!(check_ctl(EPOLL_CTL_ADD, EPOLLIN, false), Ok(EPOLLIN | EPOLLERR | EPOLLHUP));
        assert_eq!(check_ctl(4, EPOLLIN, false), Err(Errno::EINVAL));
        assert_eq!(check_ctl(0, EPOLLIN, false), Err(Errno::EINVAL));
        assert!(check_ctl(EPOLL_CTL_ADD, EPOLLIN | EPOLLEXCLUSIVE | EPOLLET, false).is_ok());
        assert_eq!(check_ctl(EPOLL_CTL_MOD, EPOLLIN | EPOLLEXCLUSIVE, false), Err(Errno::EINVAL));
        assert_eq!(check_ctl(EPOLL_CTL_ADD, EPOLLIN | EPOLLEXCLUSIVE | EPOLLONESHOT, false), Err(Errno::EINVAL));
        assert_eq!(check_ctl(EPOLL_CTL_ADD, EPOLLIN | EPOLLEXCLUSIVE, true), Err(Errno::EINVAL));
        assert!(check_ctl(EPOLL_CTL_DEL, EPOLLEXCLUSIVE | EPOLLONESHOT, true).is_ok());
    }

    #[test]
    fn level_triggered_reports_while_ready() {
        let mut w = WatchState::new(EPOLLIN | EPOLLERR | EPOLLHUP, 5);
        assert_eq!(w.collect(0, 5), None);
        assert_eq!(w.collect(POLLIN | POLLRDNORM, 5), Some(EPOLLIN));
        assert_eq!(w.collect(POLLIN, 5), Some(EPOLLIN), "again, with no wake-up");
        assert_eq!(w.collect(POLLOUT, 6), None, "not asked");
        assert_eq!(w.collect(POLLHUP, 6), Some(EPOLLHUP), "hang-ups are always reported");
    }

    #[test]
    fn edge_triggered_reports_once_per_wake_up() {
        let mut w = WatchState::new(EPOLLIN | EPOLLET | EPOLLERR | EPOLLHUP, 5);
        assert_eq!(w.collect(POLLIN, 5), Some(EPOLLIN), "ready when added: reported once");
        assert_eq!(w.collect(POLLIN, 5), None, "no wake-up since");
        assert!(!w.peek(POLLIN, 5));
        assert!(w.peek(POLLIN, 6));
        assert_eq!(w.collect(POLLIN, 6), Some(EPOLLIN), "more data came: reported again");
        // A wake-up that leaves it not ready is used up.
        assert_eq!(w.collect(0, 7), None);
        assert_eq!(w.collect(POLLIN, 7), None);
        // Not ready when added: nothing until a wake-up.
        let mut w = WatchState::new(EPOLLIN | EPOLLET, 1);
        assert_eq!(w.collect(0, 1), None);
        assert_eq!(w.collect(POLLIN, 1), None);
        assert_eq!(w.collect(POLLIN, 2), Some(EPOLLIN));
    }

    #[test]
    fn oneshot_disarms_until_modified() {
        let mut w = WatchState::new(EPOLLIN | EPOLLONESHOT, 0);
        assert_eq!(w.collect(POLLIN, 0), Some(EPOLLIN));
        assert!(w.disarmed());
        assert_eq!(w.collect(POLLIN | POLLHUP, 9), None, "not even a hang-up");
        assert!(!w.peek(POLLIN, 10));
        w.modify(EPOLLIN | EPOLLONESHOT | EPOLLERR | EPOLLHUP, 10);
        assert!(!w.disarmed());
        assert_eq!(w.collect(POLLIN, 10), Some(EPOLLIN), "re-armed and looked at at once");
        assert_eq!(w.collect(POLLIN, 11), None);
    }

    #[test]
    fn eventfd_counter() {
        let mut c = EventCounter::new(3);
        assert_eq!(c.mask(), POLLIN | POLLOUT);
        assert_eq!(c.read(true), Ok(1));
        assert_eq!(c.read(false), Ok(2));
        assert_eq!(c.read(false), Err(EventfdBlock::WouldBlock));
        assert_eq!(c.mask(), POLLOUT);
        assert_eq!(c.write(u64::MAX), Err(Errno::EINVAL));
        assert_eq!(c.write(EVENTFD_MAX), Ok(Ok(())));
        assert_eq!(c.mask(), POLLIN, "full: not writable");
        assert_eq!(c.write(1), Ok(Err(EventfdBlock::WouldBlock)));
        assert_eq!(c.write(0), Ok(Ok(())), "adding 0 always fits");
        assert_eq!(c.read(false), Ok(EVENTFD_MAX));
        let mut c = EventCounter::new(u64::from(u32::MAX));
        assert_eq!(c.write(EVENTFD_MAX - u64::from(u32::MAX) + 1), Ok(Err(EventfdBlock::WouldBlock)));
        assert_eq!(c.value(), u64::from(u32::MAX));
    }
}
