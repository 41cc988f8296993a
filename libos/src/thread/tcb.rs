//! The thread control block: what the runtime keeps per thread, found
//! through the FS base.
//!
//! A spawned thread's block lives at the top of the mapping that also holds
//! its stack (and the guard page below that), so one `munmap` frees all of
//! it. The first thread's block is allocated when the runtime starts.

use alloc::boxed::Box;
use core::cell::UnsafeCell;
use core::mem::MaybeUninit;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use super::local::Slots;
use super::thread::Thread;
use crate::arch::thread_pointer;

/// A joinable thread: its `JoinHandle` still exists.
pub(crate) const JOINABLE: u32 = 0;
/// Its `JoinHandle` was dropped: the thread frees its own stack at exit.
pub(crate) const DETACHED: u32 = 1;
/// It has finished its work: whoever holds the handle frees the stack once
/// the kernel has cleared `tid`.
pub(crate) const EXITED: u32 = 2;

/// Per-thread runtime state.
#[repr(C)]
pub(crate) struct Tcb {
    /// This block's own address: `%fs:0` (must stay the first field).
    self_ptr: *mut Tcb,
    /// The kernel's id for the thread. The kernel writes it at creation
    /// (`CLONE_PARENT_SETTID`) and writes 0 and futex-wakes here when the
    /// thread has exited (`CLONE_CHILD_CLEARTID`): what `join` waits for.
    pub(crate) tid: AtomicU32,
    /// `JOINABLE`, `DETACHED` or `EXITED`: who frees the stack.
    pub(crate) state: AtomicU32,
    /// The mapping holding the stack and this block (`0, 0` for the first
    /// thread, whose stack the kernel made).
    pub(crate) mapping: (usize, usize),
    /// The thread's handle (`thread::current()`); taken at exit.
    thread: UnsafeCell<Option<Thread>>,
    /// What the thread runs; taken when it starts.
    start: UnsafeCell<Option<Box<dyn FnOnce() + Send>>>,
    /// Its thread-local values.
    pub(crate) locals: UnsafeCell<Slots>,
    /// Set while the thread runs its thread-local destructors.
    pub(crate) exiting: AtomicBool,
}

/// Set once the first thread's block is in place: from then on every
/// thread has one.
static READY: AtomicBool = AtomicBool::new(false);

impl Tcb {
    /// A block for a thread with handle `thread` that will run `start`.
    pub(crate) fn new(thread: Thread, mapping: (usize, usize), start: Option<Box<dyn FnOnce() + Send>>) -> Tcb {
        Tcb {
            self_ptr: core::ptr::null_mut(),
            tid: AtomicU32::new(0),
            state: AtomicU32::new(JOINABLE),
            mapping,
            thread: UnsafeCell::new(Some(thread)),
            start: UnsafeCell::new(start),
            locals: UnsafeCell::new(Slots::new()),
            exiting: AtomicBool::new(false),
        }
    }

    /// Writes `tcb` at `at` and makes its first word point at itself.
    ///
    /// # Safety
    ///
    /// `at` is valid for writes of a `Tcb`, aligned, and not in use.
    pub(crate) unsafe fn place(at: *mut Tcb, tcb: Tcb) -> *mut Tcb {
        // SAFETY: the caller provides the memory.
        unsafe {
            at.write(tcb);
            (*at).self_ptr = at;
        }
        at
    }

    /// Installs the first thread's block (before `main` runs).
    pub(crate) fn init_first(thread: Thread) {
        let at = Box::into_raw(Box::new(MaybeUninit::<Tcb>::uninit())).cast::<Tcb>();
        // SAFETY: a fresh heap block of the right size and alignment, never
        // freed (the first thread lives as long as the app).
        let tcb = unsafe { Tcb::place(at, Tcb::new(thread, (0, 0), None)) };
        // SAFETY: `tcb` is a complete block whose first word is its address,
        // and it is never freed.
        unsafe { thread_pointer::set(tcb.cast()) };
        READY.store(true, Ordering::Release);
    }

    /// The calling thread's block, if the runtime has set blocks up.
    pub(crate) fn try_current() -> Option<&'static Tcb> {
        if !READY.load(Ordering::Acquire) {
            return None;
        }
        // SAFETY: once READY, every thread's FS base points at its block,
        // which lives until the thread ends (so for any use on the thread).
        Some(unsafe { &*thread_pointer::read().cast::<Tcb>() })
    }

    /// The calling thread's block.
    pub(crate) fn current() -> &'static Tcb {
        Tcb::try_current().expect("the thread runtime is not set up yet")
    }

    /// The thread's handle.
    pub(crate) fn thread(&self) -> Option<&Thread> {
        // SAFETY: only the owning thread reaches its own `thread` field (via
        // its FS base), and only its exit path replaces it.
        unsafe { (*self.thread.get()).as_ref() }
    }

    /// Takes what the thread runs (once, when it starts).
    pub(crate) fn take_start(&self) -> Option<Box<dyn FnOnce() + Send>> {
        // SAFETY: called once by the owning thread.
        unsafe { (*self.start.get()).take() }
    }

    /// Drops the handle (at exit).
    pub(crate) fn take_thread(&self) -> Option<Thread> {
        // SAFETY: called by the owning thread at exit, after all uses.
        unsafe { (*self.thread.get()).take() }
    }
}
