//! Readiness calls (Linux's `fs/select.c`, `fs/eventpoll.c`,
//! `fs/eventfd.c`): `poll`, `ppoll`, `select`, `pselect6`, the epoll calls
//! and eventfd. The rules of what is reported are host-tested in
//! `libos_fs::readiness`; the sleeping is [`WaitSet`]; epoll instances and
//! eventfds are the file objects of `fs/epoll.rs` and `fs/eventfd.rs`.
//!
//! Signal masks (`ppoll`, `pselect6`, `epoll_pwait`, `epoll_pwait2`): the
//! argument is checked as Linux checks it (`EINVAL` for a size other than
//! 8, `EFAULT` for a mask that cannot be read), then [`with_sigmask`]
//! installs it for the wait and restores the old one (at once, or after
//! the handler of the signal that interrupted the wait). Tested in
//! apps/signal-tests (`wait_masks`).

use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;

use libos_abi::abi_types::Timespec;
use libos_abi::errno::Errno;
use libos_abi::fs_types::{O_CLOEXEC, O_NONBLOCK, O_RDWR};
use libos_abi::poll_types::{
    EFD_CLOEXEC, EFD_NONBLOCK, EFD_SEMAPHORE, EPOLL_CLOEXEC, EPOLL_CTL_DEL, EpollEvent, FD_SETSIZE, POLLNVAL, PollFd,
    SIGSET_SIZE, SigsetArgpack, Timeval,
};
use libos_abi::syscalls::Readiness;
use libos_abi::user_ptr::{UserPtr, UserPtrMut};
use libos_fs::readiness::{
    check_ctl, fd_isset, fd_set, fd_words, millis_timeout, poll_revents, select_bits, timespec_timeout, timeval_timeout,
};
use libos_kcore::signal::UNBLOCKABLE;

use super::files::files_of_caller;
use super::{Cx, Kernel};
use crate::fs::epoll::Epoll;
use crate::fs::eventfd::EventFd;
use crate::fs::fd_table::NOFILE_LIMIT;
use crate::fs::file::OpenFile;
use crate::fs::wait_set::{WaitSet, mask_of};
use crate::mm::user_access::{self, Pod, copy_from_user, copy_to_user, read_user, write_user};
use crate::sched;
use crate::sched::wait::WaitResult;
use crate::signal;
use crate::time;

// SAFETY: integers, no padding (layouts checked in libos-abi).
unsafe impl Pod for PollFd {}
// SAFETY: as above (packed: 12 bytes, no padding).
unsafe impl Pod for EpollEvent {}
// SAFETY: as above. (`Timeval` is `Pod` in `syscalls::clocks`.)
unsafe impl Pod for SigsetArgpack {}

/// Most events one `epoll_wait` may ask for (`EP_MAX_EVENTS`: `INT_MAX`
/// divided by the size of an event).
const EP_MAX_EVENTS: i32 = i32::MAX / size_of::<EpollEvent>() as i32;

/// A wait's timeout: its TSC deadline, and its end on the monotonic clock
/// (for the time left that `select`, `pselect6` and `ppoll` write back).
#[derive(Clone, Copy)]
struct Timeout {
    ns: Option<u64>,
    deadline: Option<u64>,
    end_ns: u64,
}

impl Timeout {
    fn after(ns: Option<u64>) -> Timeout {
        let now = time::monotonic_ns();
        Timeout { ns, deadline: ns.map(time::deadline_after), end_ns: ns.map_or(u64::MAX, |ns| now.saturating_add(ns)) }
    }

    /// Only a look, no waiting.
    fn is_zero(&self) -> bool {
        self.ns == Some(0)
    }

    /// Nanoseconds left.
    fn left_ns(&self) -> u64 {
        self.end_ns.saturating_sub(time::monotonic_ns())
    }
}

/// Checks a signal mask argument as Linux's `set_user_sigmask` does.
fn sigmask_arg(mask: u64, size: usize) -> Result<Option<u64>, Errno> {
    if mask == 0 {
        return Ok(None);
    }
    if size != SIGSET_SIZE {
        return Err(Errno::EINVAL);
    }
    Ok(Some(read_user::<u64>(mask)?))
}

/// Runs `wait` with `mask` as the thread's signal mask, as Linux's
/// `set_user_sigmask`/`restore_saved_sigmask_unless` (kernel/signal.c) do
/// for `ppoll`, `pselect6` and `epoll_pwait`: the old mask is kept as the
/// thread's saved mask; if the wait was interrupted (`EINTR`: a signal the
/// new mask lets through is pending), it stays saved so the handler runs
/// with the new mask in force and the old one in its frame (the return to
/// ring 3 restores it); otherwise the old mask comes back at once.
fn with_sigmask<T>(mask: Option<u64>, wait: impl FnOnce() -> Result<T, Errno>) -> Result<T, Errno> {
    let Some(new) = mask else {
        return wait();
    };
    let task = sched::current();
    let process = task.process.clone().ok_or(Errno::ESRCH)?;
    {
        let ps = process.signals.lock();
        let mut ts = task.signals.lock();
        ts.saved_mask = Some(ts.blocked);
        ts.blocked = new & !UNBLOCKABLE;
        signal::recalc(&task, &ps, &ts);
    }
    let result = wait();
    if !matches!(result, Err(Errno::EINTR)) {
        let ps = process.signals.lock();
        let mut ts = task.signals.lock();
        if let Some(saved) = ts.saved_mask.take() {
            ts.blocked = saved;
        }
        signal::recalc(&task, &ps, &ts);
    }
    result
}

/// The caller's descriptor `fd`.
fn fd_file(fd: i32) -> Result<Arc<OpenFile>, Errno> {
    files_of_caller()?.files.fds.get(fd)
}

/// `poll` and `ppoll`: the entries, the timeout; the number of entries
/// with events.
fn do_poll(fds: u64, nfds: u32, timeout: Timeout) -> Result<usize, Errno> {
    let n = nfds as usize;
    // Linux: `EINVAL` above the soft `RLIMIT_NOFILE`.
    if n > files_of_caller()?.files.fds.soft_limit() {
        return Err(Errno::EINVAL);
    }
    let mut entries: Vec<PollFd> = Vec::new();
    entries.try_reserve(n).map_err(|_| Errno::ENOMEM)?;
    for i in 0..n {
        entries.push(read_user(fds + (i * size_of::<PollFd>()) as u64)?);
    }
    let table = &files_of_caller()?.files.fds;
    let files: Vec<Option<Arc<OpenFile>>> =
        entries.iter().map(|e| if e.fd < 0 { None } else { table.get(e.fd).ok() }).collect();
    let mut last_look = timeout.is_zero();
    let count = loop {
        // Gathered anew each time: what epoll instances watch changes.
        let mut set = WaitSet::new();
        for f in files.iter().flatten() {
            set.add(f)?;
        }
        let stamp = set.stamp();
        let mut count = 0;
        for (e, f) in entries.iter_mut().zip(&files) {
            e.revents = match f {
                Some(f) => poll_revents(e.events, mask_of(f)),
                None if e.fd >= 0 => POLLNVAL as i16,
                None => 0,
            };
            count += usize::from(e.revents != 0);
        }
        if count > 0 || last_look {
            break count;
        }
        match set.wait(stamp, timeout.deadline)? {
            WaitResult::Ready => {}
            WaitResult::TimedOut => last_look = true,
            WaitResult::Interrupted => return Err(Errno::EINTR),
        }
    };
    for (i, e) in entries.iter().enumerate() {
        let at = fds + (i * size_of::<PollFd>()) as u64 + 6;
        copy_to_user(at, &e.revents.to_ne_bytes()).map_err(|(e, _)| e)?;
    }
    Ok(count)
}

/// `select` and `pselect6`: the three sets (each may be null), the
/// timeout; the number of bits left set.
fn do_select(nfds: i32, sets: [u64; 3], timeout: Timeout) -> Result<usize, Errno> {
    if nfds < 0 {
        return Err(Errno::EINVAL);
    }
    let n = (nfds as usize).min(NOFILE_LIMIT).min(FD_SETSIZE);
    let words = fd_words(n);
    let mut want = [[0u64; FD_SETSIZE / 64]; 3];
    for (set, &addr) in want.iter_mut().zip(&sets) {
        if addr != 0 {
            let mut bytes = [0u8; FD_SETSIZE / 8];
            copy_from_user(&mut bytes[..words * 8], addr).map_err(|(e, _)| e)?;
            for (w, b) in set.iter_mut().zip(bytes.chunks_exact(8)) {
                *w = u64::from_ne_bytes(b.try_into().unwrap_or_default());
            }
        }
    }
    let table = &files_of_caller()?.files.fds;
    let mut files: Vec<(usize, Arc<OpenFile>)> = Vec::new();
    for fd in 0..n {
        if want.iter().any(|s| fd_isset(s, fd)) {
            let f = table.get(fd as i32)?;
            files.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
            files.push((fd, f));
        }
    }
    let mut last_look = timeout.is_zero();
    let (count, result) = loop {
        // Gathered anew each time: what epoll instances watch changes.
        let mut set = WaitSet::new();
        for (_, f) in &files {
            set.add(f)?;
        }
        let stamp = set.stamp();
        let mut result = [[0u64; FD_SETSIZE / 64]; 3];
        let mut count = 0;
        for (fd, f) in &files {
            let asked = [fd_isset(&want[0], *fd), fd_isset(&want[1], *fd), fd_isset(&want[2], *fd)];
            for (i, ready) in select_bits(mask_of(f), asked).into_iter().enumerate() {
                if ready {
                    fd_set(&mut result[i], *fd);
                    count += 1;
                }
            }
        }
        if count > 0 || last_look {
            break (count, result);
        }
        match set.wait(stamp, timeout.deadline)? {
            WaitResult::Ready => {}
            WaitResult::TimedOut => last_look = true,
            WaitResult::Interrupted => return Err(Errno::EINTR),
        }
    };
    for (set, &addr) in result.iter().zip(&sets) {
        if addr != 0 {
            let mut bytes = [0u8; FD_SETSIZE / 8];
            for (b, w) in bytes.chunks_exact_mut(8).zip(set) {
                b.copy_from_slice(&w.to_ne_bytes());
            }
            copy_to_user(addr, &bytes[..words * 8]).map_err(|(e, _)| e)?;
        }
    }
    Ok(count)
}

/// Writes the time left to a `struct timespec` timeout (not for a zero
/// one, as Linux's `poll_select_finish`; a failed write is not an error).
fn timespec_left(addr: u64, timeout: &Timeout) {
    if addr != 0 && !timeout.is_zero() {
        let _ = write_user(addr, &Timespec::from_nanos(timeout.left_ns()));
    }
}

/// The epoll wait of all four calls, once the mask is in place.
fn do_epoll_wait(epfd: i32, events: u64, maxevents: i32, timeout: Timeout) -> Result<usize, Errno> {
    if maxevents <= 0 || maxevents > EP_MAX_EVENTS {
        return Err(Errno::EINVAL);
    }
    user_access::check(events, maxevents as usize * size_of::<EpollEvent>())?;
    let file = fd_file(epfd)?;
    let ep = file.object().as_epoll().ok_or(Errno::EINVAL)?;
    let mut last_look = timeout.is_zero();
    loop {
        // What to sleep on is gathered again each time: watches change.
        let mut set = WaitSet::new();
        set.add(&file)?;
        let stamp = set.stamp();
        let ready = ep.collect(maxevents as usize)?;
        if !ready.is_empty() || last_look {
            for (i, ev) in ready.iter().enumerate() {
                write_user(events + (i * size_of::<EpollEvent>()) as u64, ev)?;
            }
            return Ok(ready.len());
        }
        match set.wait(stamp, timeout.deadline)? {
            WaitResult::Ready => {}
            WaitResult::TimedOut => last_look = true,
            WaitResult::Interrupted => return Err(Errno::EINTR),
        }
    }
}

/// Installs a new description of `object` with `flags`; its descriptor.
fn install(object: Box<dyn crate::fs::file::FileObject>, flags: i32, cloexec: bool) -> Result<i32, Errno> {
    let file = Arc::new(OpenFile::new(object, flags));
    files_of_caller()?.files.fds.install(file, cloexec, 0)
}

impl Readiness for Kernel {
    fn poll(_cx: &mut Cx, fds: UserPtrMut<PollFd>, nfds: u32, timeout: i32) -> Result<usize, Errno> {
        do_poll(fds.addr(), nfds, Timeout::after(millis_timeout(timeout)))
    }

    fn select(
        _cx: &mut Cx,
        nfds: i32,
        readfds: UserPtrMut<u64>,
        writefds: UserPtrMut<u64>,
        exceptfds: UserPtrMut<u64>,
        timeout: UserPtrMut<Timeval>,
    ) -> Result<usize, Errno> {
        let ns = if timeout.is_null() { None } else { Some(timeval_timeout(&read_user(timeout.addr())?)?) };
        let t = Timeout::after(ns);
        let result = do_select(nfds, [readfds.addr(), writefds.addr(), exceptfds.addr()], t);
        if !timeout.is_null() && !t.is_zero() {
            let left = t.left_ns();
            let tv = Timeval { tv_sec: (left / 1_000_000_000) as i64, tv_usec: ((left % 1_000_000_000) / 1000) as i64 };
            let _ = write_user(timeout.addr(), &tv);
        }
        result
    }

    fn epoll_create(_cx: &mut Cx, size: i32) -> Result<i32, Errno> {
        if size <= 0 {
            return Err(Errno::EINVAL);
        }
        Self::epoll_create1(_cx, 0)
    }

    fn epoll_wait(
        _cx: &mut Cx,
        epfd: i32,
        events: UserPtrMut<EpollEvent>,
        maxevents: i32,
        timeout: i32,
    ) -> Result<usize, Errno> {
        do_epoll_wait(epfd, events.addr(), maxevents, Timeout::after(millis_timeout(timeout)))
    }

    fn epoll_ctl(_cx: &mut Cx, epfd: i32, op: i32, fd: i32, event: UserPtr<EpollEvent>) -> Result<(), Errno> {
        let ev: EpollEvent = if op == EPOLL_CTL_DEL { EpollEvent::default() } else { read_user(event.addr())? };
        let ep_file = fd_file(epfd)?;
        let target = fd_file(fd)?;
        if target.object().wait_queue().is_none() {
            return Err(Errno::EPERM);
        }
        let ep = ep_file.object().as_epoll().ok_or(Errno::EINVAL)?;
        if Arc::ptr_eq(&ep_file, &target) {
            return Err(Errno::EINVAL);
        }
        let events = check_ctl(op, ev.events, target.object().as_epoll().is_some())?;
        ep.ctl(op, fd, &target, events, ev.data)
    }

    fn pselect6(
        _cx: &mut Cx,
        nfds: i32,
        readfds: UserPtrMut<u64>,
        writefds: UserPtrMut<u64>,
        exceptfds: UserPtrMut<u64>,
        timeout: UserPtrMut<Timespec>,
        sigmask: UserPtr<SigsetArgpack>,
    ) -> Result<usize, Errno> {
        let ns = if timeout.is_null() { None } else { Some(timespec_timeout(&read_user(timeout.addr())?)?) };
        let pack: SigsetArgpack = if sigmask.is_null() { SigsetArgpack::default() } else { read_user(sigmask.addr())? };
        let mask = sigmask_arg(pack.ss, pack.ss_len as usize)?;
        let t = Timeout::after(ns);
        let result = with_sigmask(mask, || do_select(nfds, [readfds.addr(), writefds.addr(), exceptfds.addr()], t));
        timespec_left(timeout.addr(), &t);
        result
    }

    fn ppoll(
        _cx: &mut Cx,
        fds: UserPtrMut<PollFd>,
        nfds: u32,
        tmo: UserPtrMut<Timespec>,
        sigmask: UserPtr<u64>,
        sigsetsize: usize,
    ) -> Result<usize, Errno> {
        let ns = if tmo.is_null() { None } else { Some(timespec_timeout(&read_user(tmo.addr())?)?) };
        let mask = sigmask_arg(sigmask.addr(), sigsetsize)?;
        let t = Timeout::after(ns);
        let result = with_sigmask(mask, || do_poll(fds.addr(), nfds, t));
        timespec_left(tmo.addr(), &t);
        result
    }

    fn epoll_pwait(
        _cx: &mut Cx,
        epfd: i32,
        events: UserPtrMut<EpollEvent>,
        maxevents: i32,
        timeout: i32,
        sigmask: UserPtr<u64>,
        sigsetsize: usize,
    ) -> Result<usize, Errno> {
        let mask = sigmask_arg(sigmask.addr(), sigsetsize)?;
        let t = Timeout::after(millis_timeout(timeout));
        with_sigmask(mask, || do_epoll_wait(epfd, events.addr(), maxevents, t))
    }

    fn eventfd(cx: &mut Cx, initval: u32) -> Result<i32, Errno> {
        Self::eventfd2(cx, initval, 0)
    }

    fn eventfd2(_cx: &mut Cx, initval: u32, flags: i32) -> Result<i32, Errno> {
        if flags & !(EFD_SEMAPHORE | EFD_CLOEXEC | EFD_NONBLOCK) != 0 {
            return Err(Errno::EINVAL);
        }
        let owner = files_of_caller()?;
        let object = EventFd::new(owner, u64::from(initval), flags & EFD_SEMAPHORE != 0)?;
        install(Box::new(object), O_RDWR | (flags & O_NONBLOCK), flags & EFD_CLOEXEC != 0)
    }

    fn epoll_create1(_cx: &mut Cx, flags: i32) -> Result<i32, Errno> {
        if flags & !EPOLL_CLOEXEC != 0 {
            return Err(Errno::EINVAL);
        }
        let owner = files_of_caller()?;
        install(Box::new(Epoll::new(owner)), O_RDWR, flags & O_CLOEXEC != 0)
    }

    fn epoll_pwait2(
        _cx: &mut Cx,
        epfd: i32,
        events: UserPtrMut<EpollEvent>,
        maxevents: i32,
        timeout: UserPtr<Timespec>,
        sigmask: UserPtr<u64>,
        sigsetsize: usize,
    ) -> Result<usize, Errno> {
        let ns = if timeout.is_null() { None } else { Some(timespec_timeout(&read_user(timeout.addr())?)?) };
        let mask = sigmask_arg(sigmask.addr(), sigsetsize)?;
        let t = Timeout::after(ns);
        with_sigmask(mask, || do_epoll_wait(epfd, events.addr(), maxevents, t))
    }
}
