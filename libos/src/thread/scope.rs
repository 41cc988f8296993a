//! Scoped threads: threads that may borrow from the caller's stack, because
//! [`scope`] waits for all of them before it returns (as
//! `std::thread::scope`).

use alloc::sync::Arc;
use core::marker::PhantomData;
use core::sync::atomic::{AtomicU32, Ordering};

use libos_abi::errno::Errno;

use super::spawn::{Builder, JoinInner, Result};
use super::thread::Thread;
use crate::sync::futex;

/// Runs `f` with a [`Scope`] to spawn threads on, then waits for every
/// thread spawned in it (joined or not) and returns `f`'s result.
///
/// ```ignore
/// use libos::thread;
///
/// let mut numbers = vec![1, 2, 3, 4];
/// let (left, right) = numbers.split_at_mut(2);
/// thread::scope(|s| {
///     s.spawn(|| left.iter_mut().for_each(|n| *n *= 10));
///     s.spawn(|| right.iter_mut().for_each(|n| *n += 1));
/// });
/// assert_eq!(numbers, [10, 20, 4, 5]);
/// ```
pub fn scope<'env, F, T>(f: F) -> T
where
    F: for<'scope> FnOnce(&'scope Scope<'scope, 'env>) -> T,
{
    let scope =
        Scope { data: Arc::new(ScopeData { running: AtomicU32::new(0) }), _scope: PhantomData, _env: PhantomData };
    let result = f(&scope);
    // Every thread of the scope has finished with its borrows once the
    // count is back at zero.
    loop {
        let running = scope.data.running.load(Ordering::Acquire);
        if running == 0 {
            break;
        }
        futex::wait(&scope.data.running, running, None);
    }
    result
}

/// What [`scope`] hands out to spawn threads on.
pub struct Scope<'scope, 'env: 'scope> {
    data: Arc<ScopeData>,
    _scope: PhantomData<&'scope mut &'scope ()>,
    _env: PhantomData<&'env mut &'env ()>,
}

struct ScopeData {
    /// Threads of the scope still running their closures (a futex word).
    running: AtomicU32,
}

impl<'scope> Scope<'scope, '_> {
    /// Spawns a thread that may borrow anything that outlives the scope.
    /// Panics if the kernel cannot make one.
    pub fn spawn<F, T>(&'scope self, f: F) -> ScopedJoinHandle<'scope, T>
    where
        F: FnOnce() -> T + Send + 'scope,
        T: Send + 'scope,
    {
        Builder::new().spawn_scoped(self, f).expect("failed to spawn scoped thread")
    }
}

impl Builder {
    /// Spawns a scoped thread with these settings (see [`scope`]).
    pub fn spawn_scoped<'scope, 'env, F, T>(
        self,
        scope: &'scope Scope<'scope, 'env>,
        f: F,
    ) -> core::result::Result<ScopedJoinHandle<'scope, T>, Errno>
    where
        F: FnOnce() -> T + Send + 'scope,
        T: Send + 'scope,
    {
        scope.data.running.fetch_add(1, Ordering::Relaxed);
        let countdown = Countdown(scope.data.clone());
        let main = move || ResultWithCountdown { value: f(), _countdown: countdown };
        // SAFETY: the scope waits for `running` to reach zero before any
        // 'scope borrow ends, and it reaches zero only once each thread's
        // closure has run and its result (which may borrow) is dropped or
        // taken by `join` (see `ResultWithCountdown`). If the spawn fails,
        // the closure is dropped and counts down itself.
        let inner = unsafe { self.spawn_unchecked(main) }?;
        Ok(ScopedJoinHandle { inner, _scope: PhantomData })
    }
}

/// Counts a scoped thread down when dropped.
struct Countdown(Arc<ScopeData>);

impl Drop for Countdown {
    fn drop(&mut self) {
        if self.0.running.fetch_sub(1, Ordering::Release) == 1 {
            futex::wake_all(&self.0.running);
        }
    }
}

/// A scoped thread's result together with its countdown: the countdown
/// runs when `join` has taken the result out, or when the result is dropped
/// without a join (with the thread's packet).
struct ResultWithCountdown<T> {
    value: T,
    _countdown: Countdown,
}

/// Owns a scoped thread, as `std::thread::ScopedJoinHandle`.
pub struct ScopedJoinHandle<'scope, T> {
    inner: JoinInner<'scope, ResultWithCountdown<T>>,
    _scope: PhantomData<&'scope ()>,
}

impl<T> ScopedJoinHandle<'_, T> {
    /// Waits for the thread and returns its closure's result.
    pub fn join(self) -> Result<T> {
        self.inner.join().map(|r| r.value)
    }

    /// The thread's handle.
    pub fn thread(&self) -> &Thread {
        self.inner.thread()
    }

    /// Whether the thread's closure has returned.
    pub fn is_finished(&self) -> bool {
        self.inner.is_finished()
    }
}
