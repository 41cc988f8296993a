//! Creating threads ([`Builder`], [`spawn`]) and waiting for them
//! ([`JoinHandle`]).

use alloc::boxed::Box;
use alloc::string::String;
use alloc::sync::Arc;
use core::cell::UnsafeCell;
use core::marker::PhantomData;
use core::mem::ManuallyDrop;
use core::sync::atomic::Ordering;

use libos_abi::abi_types::clone_flags::{CLONE_CHILD_CLEARTID, CLONE_PARENT_SETTID, CLONE_SETTLS, THREAD_FLAGS};
use libos_abi::abi_types::prctl_option::{PR_SET_NAME, TASK_COMM_LEN};
use libos_abi::errno::Errno;
use libos_abi::syscalls::user;

use super::local;
use super::stack::{DEFAULT_STACK_SIZE, ThreadStack};
use super::tcb::{DETACHED, EXITED, JOINABLE, Tcb};
use super::thread::Thread;
use crate::arch::thread_start::{libos_clone_thread, libos_exit_thread_unmapping};
use crate::sync::futex;

/// What `join` returns: always `Ok` here, because a panicking thread ends
/// the whole app (panics abort) instead of handing its panic to the joiner.
pub type Result<T> = core::result::Result<T, Box<dyn core::any::Any + Send + 'static>>;

/// Thread settings before spawning, as `std::thread::Builder`.
///
/// ```ignore
/// use libos::thread;
///
/// let handle = thread::Builder::new()
///     .name("worker".into())
///     .stack_size(64 * 1024)
///     .spawn(|| thread::current().name().map(String::from))
///     .unwrap();
/// assert_eq!(handle.join().unwrap().as_deref(), Some("worker"));
/// ```
#[derive(Debug, Default)]
#[must_use = "must eventually spawn the thread"]
pub struct Builder {
    name: Option<String>,
    stack_size: Option<usize>,
}

impl Builder {
    /// Default settings: no name, a 2 MiB stack.
    pub fn new() -> Builder {
        Builder::default()
    }

    /// Names the thread: `thread::current().name()` returns it, panic
    /// messages show it, and the kernel's fault reports too (its first 15
    /// bytes, set with `prctl(PR_SET_NAME)`).
    pub fn name(mut self, name: String) -> Builder {
        self.name = Some(name);
        self
    }

    /// The stack size in bytes (rounded up to pages; at least 16 KiB).
    /// Pages are only used once touched, so a generous size costs nothing.
    pub fn stack_size(mut self, size: usize) -> Builder {
        self.stack_size = Some(size);
        self
    }

    /// Spawns a thread running `f` and returns its handle; fails when the
    /// kernel cannot make the stack or the thread (for instance `EAGAIN`
    /// beyond the kernel's thread limit).
    pub fn spawn<F, T>(self, f: F) -> core::result::Result<JoinHandle<T>, Errno>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        // SAFETY: F and T are 'static, so nothing they hold can end before
        // the thread uses it.
        unsafe { self.spawn_unchecked(f) }.map(|inner| JoinHandle { inner })
    }

    /// Spawns without the `'static` bound (for scoped threads).
    ///
    /// # Safety
    ///
    /// Everything `f` and its result borrow must outlive the thread's use
    /// of it (the scope guarantees this by waiting for its threads).
    pub(crate) unsafe fn spawn_unchecked<'a, F, T>(self, f: F) -> core::result::Result<JoinInner<'a, T>, Errno>
    where
        F: FnOnce() -> T + Send + 'a,
        T: Send + 'a,
    {
        let thread = Thread::new(self.name);
        let packet: Arc<Packet<'a, T>> = Arc::new(Packet { result: UnsafeCell::new(None), _borrow: PhantomData });
        let their_packet = packet.clone();
        let their_thread = thread.clone();
        let main = move || {
            if let Some(name) = their_thread.name() {
                set_kernel_name(name);
            }
            let value = f();
            // SAFETY: only this thread writes the result, and the joiner
            // reads it only after this thread has exited.
            unsafe { *their_packet.result.get() = Some(value) };
            drop(their_packet);
        };
        let main: Box<dyn FnOnce() + Send + 'a> = Box::new(main);
        // SAFETY: the caller guarantees the borrows outlive the thread (the
        // lifetime is erased only to store the closure in the control block).
        let main: Box<dyn FnOnce() + Send + 'static> = unsafe { core::mem::transmute(main) };

        let stack = ThreadStack::map(self.stack_size.unwrap_or(DEFAULT_STACK_SIZE))?;
        let (base, len) = (stack.base, stack.len);
        // SAFETY: the slot is inside the new mapping, aligned, unused.
        let tcb = unsafe { Tcb::place(stack.tcb_slot(), Tcb::new(thread.clone(), (base, len), Some(main))) };
        let sp = stack.push_start(thread_start as *const () as usize, tcb as usize);
        let flags = THREAD_FLAGS | CLONE_SETTLS | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID;
        // SAFETY: `tcb` is valid and `tid` lives in it; `sp` is the top of a
        // stack only the new thread uses, holding [thread_start, tcb].
        let tid = unsafe {
            let tid = core::ptr::addr_of!((*tcb).tid).cast_mut().cast::<u32>();
            libos_clone_thread(flags, sp, tid, tid, tcb as u64)
        };
        if tid < 0 {
            // SAFETY: the thread never started: the block is ours to drop
            // and the mapping is unused.
            unsafe {
                core::ptr::drop_in_place(tcb);
                ThreadStack::unmap(base, len);
            }
            return Err(Errno::from_raw(-tid).unwrap_or(Errno::EAGAIN));
        }
        thread.set_os_id(tid as u32);
        Ok(JoinInner { tcb, thread, packet })
    }
}

/// Spawns a thread running `f`, as `std::thread::spawn`. Panics if the
/// kernel cannot make one (see [`Builder::spawn`] for the fallible form).
///
/// ```ignore
/// use libos::thread;
///
/// let handle = thread::spawn(|| (1..=10u64).product::<u64>());
/// assert_eq!(handle.join().unwrap(), 3_628_800);
/// ```
pub fn spawn<F, T>(f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    Builder::new().spawn(f).expect("failed to spawn thread")
}

/// Tells the kernel the thread's name (for its reports).
fn set_kernel_name(name: &str) {
    let mut buf = [0u8; TASK_COMM_LEN];
    let n = name.len().min(TASK_COMM_LEN - 1);
    buf[..n].copy_from_slice(&name.as_bytes()[..n]);
    // SAFETY: PR_SET_NAME only reads the 16-byte buffer.
    let _ = unsafe { user::prctl(PR_SET_NAME, buf.as_ptr() as u64, 0, 0, 0) };
}

/// Where a new thread starts (called by the clone code on its own stack).
extern "C" fn thread_start(tcb: usize) -> ! {
    // SAFETY: `tcb` is this thread's control block (its FS base too).
    let tcb = unsafe { &*(tcb as *const Tcb) };
    if let Some(thread) = tcb.thread() {
        thread.set_os_id(tcb.tid.load(Ordering::Relaxed));
    }
    if let Some(main) = tcb.take_start() {
        main();
    }
    local::run_destructors(tcb);
    drop(tcb.take_thread());
    if tcb.state.swap(EXITED, Ordering::AcqRel) == DETACHED {
        // Nobody will join: free the stack and block ourselves.
        let (base, len) = tcb.mapping;
        // SAFETY: the handle is gone, so nothing else uses the mapping, and
        // everything in it has been dropped.
        unsafe { libos_exit_thread_unmapping(base, len) }
    }
    // The kernel clears `tcb.tid` and wakes the joiner, who unmaps.
    user::exit(0)
}

/// Where a thread's result waits for the joiner.
pub(crate) struct Packet<'a, T> {
    result: UnsafeCell<Option<T>>,
    _borrow: PhantomData<&'a ()>,
}

// SAFETY: the result is written by the thread before it exits and read by
// the joiner after, never at the same time.
unsafe impl<T: Send> Sync for Packet<'_, T> {}

/// A started thread, shared by [`JoinHandle`] and the scoped handle.
pub(crate) struct JoinInner<'a, T> {
    tcb: *mut Tcb,
    thread: Thread,
    packet: Arc<Packet<'a, T>>,
}

impl<T> JoinInner<'_, T> {
    /// Waits for the thread to exit, frees its stack and returns its result.
    pub(crate) fn join(self) -> Result<T> {
        let this = ManuallyDrop::new(self);
        // SAFETY: the handle owns the mapping until it frees it here, and
        // ManuallyDrop keeps Drop from detaching.
        unsafe { this.wait_and_unmap() };
        // SAFETY: moved out once; `this` is not used or dropped again.
        let (thread, mut packet) = unsafe { (core::ptr::read(&this.thread), core::ptr::read(&this.packet)) };
        drop(thread);
        let value = Arc::get_mut(&mut packet)
            .and_then(|p| p.result.get_mut().take())
            .expect("a joined thread has left its result");
        Ok(value)
    }

    /// Waits until the kernel has cleared the tid (the thread is gone),
    /// then unmaps its memory.
    ///
    /// # Safety
    ///
    /// Called once, by the owner of the handle, which must not touch the
    /// control block afterwards.
    unsafe fn wait_and_unmap(&self) {
        // SAFETY: the mapping stays until this function unmaps it.
        let tcb = unsafe { &*self.tcb };
        loop {
            let tid = tcb.tid.load(Ordering::Acquire);
            if tid == 0 {
                break;
            }
            futex::wait(&tcb.tid, tid, None);
        }
        let (base, len) = tcb.mapping;
        // SAFETY: the thread has exited (the kernel cleared its tid after
        // its last instruction) and dropped what it owned there.
        unsafe { ThreadStack::unmap(base, len) };
    }

    pub(crate) fn thread(&self) -> &Thread {
        &self.thread
    }

    pub(crate) fn is_finished(&self) -> bool {
        Arc::strong_count(&self.packet) == 1
    }
}

impl<T> Drop for JoinInner<'_, T> {
    /// Detaches: the thread frees its own stack when it ends, or, if it is
    /// already ending, this waits a moment and frees it.
    fn drop(&mut self) {
        // SAFETY: the mapping is alive: the thread frees it only once
        // DETACHED is set, which happens right here.
        let tcb = unsafe { &*self.tcb };
        if tcb.state.compare_exchange(JOINABLE, DETACHED, Ordering::AcqRel, Ordering::Acquire).is_err() {
            // SAFETY: EXITED: the thread leaves the unmapping to us.
            unsafe { self.wait_and_unmap() };
        }
    }
}

// SAFETY: the handle only waits on and frees the thread's block, and moves
// the T result (Send) out of it.
unsafe impl<T: Send> Send for JoinInner<'_, T> {}
// SAFETY: shared access reads only the Thread handle and a refcount.
unsafe impl<T: Send> Sync for JoinInner<'_, T> {}

/// Owns a spawned thread: [`join`](JoinHandle::join) waits for it and
/// returns its result. Dropping the handle detaches the thread (it runs on
/// and frees its own stack when it ends), as in std.
pub struct JoinHandle<T> {
    inner: JoinInner<'static, T>,
}

impl<T> JoinHandle<T> {
    /// Waits for the thread to finish and returns what its closure returned.
    pub fn join(self) -> Result<T> {
        self.inner.join()
    }

    /// The thread's handle.
    pub fn thread(&self) -> &Thread {
        self.inner.thread()
    }

    /// Whether the thread's closure has returned (join would not wait long).
    pub fn is_finished(&self) -> bool {
        self.inner.is_finished()
    }
}

impl<T> core::fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("JoinHandle").field("thread", self.thread()).finish_non_exhaustive()
    }
}
