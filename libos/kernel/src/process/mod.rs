//! Processes: an app's address space and its threads.
//!
//! The kernel starts one app (the test harness runs many, one after
//! another, each in a fresh process); the app may make child processes
//! ([`fork`]: `fork`, `vfork`, `clone` without `CLONE_THREAD`) and replace
//! its program ([`exec`]). A process ends when its last thread exits, when
//! a thread calls `exit_group`, or when it is killed (a fault, a signal);
//! its parent reaps its [`ExitStatus`] with `wait4`, or the kernel waits
//! for the first process ([`Process::wait`]), whose end ends every other
//! process too. [`table`]: every process by pid, and their number limit.
//!
//! Family rules (Linux's `kernel/exit.c` where it matters here): an ended
//! child stays a zombie until its parent reaps it, unless the parent
//! ignores `SIGCHLD` (or set `SA_NOCLDWAIT`), which reaps it at once; the
//! parent gets its exit signal (`SIGCHLD`). When a parent ends first, its
//! children keep running without a parent (`getppid` says 0) and are reaped
//! by the kernel when they end, as if their parent were an `init` that
//! always waits. Every process is in the first process's process group and
//! session.

#[cfg(feature = "hooks")]
pub mod app_tests;
pub mod exec;
pub mod fault;
pub mod fork;
pub mod loader;
pub mod program;
pub mod table;
pub mod vdso;

#[cfg(feature = "hooks")]
use alloc::string::String;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use libos_abi::errno::Errno;
#[cfg(feature = "hooks")]
use libos_abi::test::Expect;

use libos_kcore::limits::{Resource, Usage};

use crate::mm::address_space::AddressSpace;
use crate::sched::wait::WaitQueue;
use crate::sched::{self, Task, ThreadName};
use crate::signal::ProcessSignals;
use crate::sync::SpinLock;

/// How a process ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    /// It exited with this code.
    Exited(i32),
    /// The kernel killed it.
    Killed(Kill),
}

/// Why the kernel killed a process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Kill {
    /// The Linux signal it corresponds to (SIGSEGV, SIGILL, ...).
    pub signo: u8,
    /// The CPU exception, if one caused it.
    pub vector: Option<u8>,
    /// Where (RIP) it happened.
    pub rip: u64,
    /// The faulting address (page faults), else 0.
    pub address: u64,
    /// The exception's error code (`u64::MAX` if none).
    pub error_code: u64,
    /// The thread that faulted.
    pub tid: u32,
    /// Its name, as the report printed it.
    pub thread_name: ThreadName,
}

/// Linux signal numbers used in kill reports and exit statuses.
pub mod signal {
    /// Illegal instruction.
    pub const SIGILL: u8 = 4;
    /// Trace/breakpoint trap.
    pub const SIGTRAP: u8 = 5;
    /// Bus error (alignment).
    pub const SIGBUS: u8 = 7;
    /// Arithmetic exception.
    pub const SIGFPE: u8 = 8;
    /// Killed (out of memory).
    pub const SIGKILL: u8 = 9;
    /// Segmentation fault.
    pub const SIGSEGV: u8 = 11;

    /// The signal's name (`"SIGABRT"`).
    pub const fn name(signo: u8) -> &'static str {
        libos_abi::signal::sig::name(signo as i32)
    }
}

/// A test an app told the kernel about (`libos_test_register`).
#[cfg(feature = "hooks")]
#[derive(Clone, Debug)]
pub struct RegisteredTest {
    /// Its index in the app's test section.
    pub index: u64,
    /// Its name (`<module path>::<function>`).
    pub name: String,
    /// How it must end.
    pub expect: Expect,
}

struct Inner {
    exit: Option<ExitStatus>,
    threads: Vec<Arc<Task>>,
    /// Its children not reaped yet (running or zombies).
    children: Vec<Arc<Process>>,
    /// What the test hooks told the kernel about this process.
    #[cfg(feature = "hooks")]
    test: TestRecords,
}

/// What an app's test runner and tests tell the kernel through the hooks.
#[cfg(feature = "hooks")]
#[derive(Default)]
struct TestRecords {
    /// The tests the app registered (`libos_test_register`).
    tests: Vec<RegisteredTest>,
    /// (mask, value) a fault's error code must match (`EXPECT_ERROR_CODE`).
    expected_error_code: Option<(u64, u64)>,
    /// The thread a fault must come from (`EXPECT_FAULTING_THREAD`).
    expected_fault_thread: Option<(u32, ThreadName)>,
    /// The code the app must exit with (`EXPECT_EXIT_CODE`).
    expected_exit_code: Option<i32>,
    /// The signal a killing fault must be reported as (`EXPECT_SIGNAL`).
    expected_signal: Option<u8>,
    /// A text the console must print before the process ends
    /// (`EXPECT_OUTPUT`).
    expected_output: Option<ExpectedOutput>,
}

/// The text of `EXPECT_OUTPUT`.
#[cfg(feature = "hooks")]
pub type ExpectedOutput = heapless::Vec<u8, { libos_abi::debug::MAX_EXPECTED_OUTPUT as usize }>;

/// Most tests one app may register (`libos_test_register`): the records are
/// kernel memory held for the app.
#[cfg(feature = "hooks")]
pub const MAX_REGISTERED_TESTS: usize = 4096;

/// A running app.
pub struct Process {
    /// Process id (the tid of its first thread).
    pub pid: u32,
    /// The app's name (from the payload).
    pub name: heapless::String<32>,
    /// Its process group and session (the first process's pid).
    pub pgid: u32,
    /// The signal its parent gets when it ends (`SIGCHLD`, or what
    /// `clone`'s low byte said; 0 for none).
    pub exit_signal: u8,
    /// Its memory (replaced by `execve`; shared with a `vfork` parent).
    space: SpinLock<Arc<AddressSpace>>,
    /// The program it runs (replaced by `execve`).
    program: SpinLock<Arc<program::Program>>,
    /// Its parent while that lives (`None`: the first process, or an
    /// orphan).
    parent: SpinLock<Option<Weak<Process>>>,
    /// Every thread has exited and its files are closed: a zombie until
    /// reaped.
    ended: AtomicBool,
    /// Woken when one of its children ends (`wait4` sleeps here).
    child_ended: WaitQueue,
    /// Set when it calls `execve` or ends: a `vfork` parent waits for it
    /// (Linux's `vfork_done`), on `released_queue`.
    released: AtomicBool,
    released_queue: WaitQueue,
    /// Its signal actions and the signals pending for it as a whole (lock
    /// before any of its threads' `signals`).
    pub signals: SpinLock<ProcessSignals>,
    /// The kernel objects it holds, by kind, and their limits.
    pub usage: Usage,
    /// `membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED)` was called.
    pub membarrier_registered: core::sync::atomic::AtomicBool,
    /// Its descriptors, current directory and umask.
    pub files: crate::fs::ProcessFiles,
    /// Its `ITIMER_REAL` (`setitimer`, `alarm`).
    pub real_timer: crate::time::itimer::RealTimer,
    inner: SpinLock<Inner>,
    exited: WaitQueue,
    /// CPU time (TSC ticks) of its threads that have exited.
    exited_cpu_ticks: AtomicU64,
}

/// What a new process takes from its parent (`fork`), or starts with.
pub struct Lineage {
    /// Its parent (`None` for the first process).
    pub parent: Option<Weak<Process>>,
    /// Its process group.
    pub pgid: u32,
    /// The signal its parent gets when it ends.
    pub exit_signal: u8,
    /// Its descriptors, current directory and umask.
    pub files: crate::fs::ProcessFiles,
    /// The program it runs.
    pub program: Arc<program::Program>,
}

impl Process {
    fn new(pid: u32, name: &str, space: Arc<AddressSpace>, lineage: Lineage) -> Arc<Process> {
        let mut n = heapless::String::new();
        for c in name.chars() {
            if n.push(c).is_err() {
                break;
            }
        }
        Arc::new(Process {
            pid,
            name: n,
            pgid: lineage.pgid,
            exit_signal: lineage.exit_signal,
            space: SpinLock::new(space),
            program: SpinLock::new(lineage.program),
            parent: SpinLock::new(lineage.parent),
            ended: AtomicBool::new(false),
            child_ended: WaitQueue::new(),
            released: AtomicBool::new(false),
            released_queue: WaitQueue::new(),
            signals: SpinLock::new(ProcessSignals::new()),
            usage: Usage::new(),
            membarrier_registered: core::sync::atomic::AtomicBool::new(false),
            files: lineage.files,
            real_timer: crate::time::itimer::RealTimer::new(),
            inner: SpinLock::new(Inner {
                exit: None,
                threads: Vec::new(),
                children: Vec::new(),
                #[cfg(feature = "hooks")]
                test: TestRecords::default(),
            }),
            exited: WaitQueue::new(),
            exited_cpu_ticks: AtomicU64::new(0),
        })
    }

    /// The program it runs now.
    pub fn program(&self) -> Arc<program::Program> {
        self.program.lock().clone()
    }

    /// Puts `program` in place of the one it ran (`execve`).
    pub(crate) fn set_program(&self, program: Arc<program::Program>) {
        let old = core::mem::replace(&mut *self.program.lock(), program);
        drop(old);
    }

    /// Its memory now.
    pub fn space(&self) -> Arc<AddressSpace> {
        self.space.lock().clone()
    }

    /// Puts `space` in place of its memory (`execve`), returning the old
    /// one. The caller loads the new one on its CPU (`sched`).
    pub(crate) fn replace_space(&self, space: Arc<AddressSpace>) -> Arc<AddressSpace> {
        core::mem::replace(&mut *self.space.lock(), space)
    }

    /// Its parent's pid, or 0 without one (`getppid`).
    pub fn parent_pid(&self) -> u32 {
        self.parent.lock().as_ref().and_then(Weak::upgrade).map_or(0, |p| p.pid)
    }

    /// Whether it has a parent (a child process, not the first one).
    pub fn has_parent(&self) -> bool {
        self.parent.lock().as_ref().is_some_and(|p| p.strong_count() > 0)
    }

    /// Whether it has ended (a zombie until reaped).
    pub fn has_ended(&self) -> bool {
        self.ended.load(Ordering::Acquire)
    }

    /// Whether other processes can still see it (`kill`, `getpgid`): alive,
    /// or a zombie its parent has not reaped; one that ended without a
    /// parent (an earlier app's, on its way out) is gone.
    pub fn is_visible(&self) -> bool {
        !self.has_ended() || self.has_parent()
    }

    /// How it ended (once it has).
    pub fn exit_status(&self) -> Option<ExitStatus> {
        if self.has_ended() { self.inner.lock().exit } else { None }
    }

    /// Adds a new child (`fork`); `ENOMEM` if the list cannot grow.
    pub(crate) fn add_child(&self, child: Arc<Process>) -> Result<(), Errno> {
        let mut inner = self.inner.lock();
        inner.children.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
        inner.children.push(child);
        Ok(())
    }

    /// Takes `child` off its list of children (a fork that failed).
    pub(crate) fn forget_child(&self, child: &Arc<Process>) {
        let removed = {
            let mut inner = self.inner.lock();
            let at = inner.children.iter().position(|c| Arc::ptr_eq(c, child));
            at.map(|i| inner.children.remove(i))
        };
        drop(removed);
    }

    /// Takes a child that `pick` chooses among its children out of the
    /// list (reaping it), with what the search found: `Err(ECHILD)` when
    /// no child matches `wanted`, `Ok(None)` when some match but none has
    /// ended.
    pub(crate) fn reap_child(&self, wanted: impl Fn(&Process) -> bool) -> Result<Option<Arc<Process>>, Errno> {
        let mut inner = self.inner.lock();
        let mut any = false;
        for i in 0..inner.children.len() {
            let c = &inner.children[i];
            if wanted(c) {
                any = true;
                if c.has_ended() {
                    return Ok(Some(inner.children.remove(i)));
                }
            }
        }
        if any { Ok(None) } else { Err(Errno::ECHILD) }
    }

    /// Whether a child `wanted` chooses has ended, or none matches (a
    /// wait's condition).
    pub(crate) fn child_waitable(&self, wanted: impl Fn(&Process) -> bool) -> bool {
        let inner = self.inner.lock();
        let mut matching = inner.children.iter().filter(|c| wanted(c)).peekable();
        matching.peek().is_none() || matching.any(|c| c.has_ended())
    }

    /// The queue `wait4` sleeps on.
    pub(crate) fn child_ended_queue(&self) -> &WaitQueue {
        &self.child_ended
    }

    /// It called `execve` or ended: a `vfork` parent goes on.
    pub(crate) fn release_vfork_parent(&self) {
        self.released.store(true, Ordering::Release);
        self.released_queue.wake_all();
    }

    /// Blocks until it calls `execve` or ends (its `vfork` parent). Not
    /// ended by a kill or a signal (Linux waits killably; here a kill of
    /// the parent takes effect once the child lets go).
    pub(crate) fn wait_for_release(&self) {
        self.released_queue.wait_until(|| self.released.load(Ordering::Acquire));
    }

    /// The CPU time (TSC ticks up to `now`) of all its threads, the exited
    /// ones included (`getrusage(RUSAGE_SELF)`, `times`).
    pub fn cpu_ticks(&self, now: u64) -> u64 {
        let live: u64 = self.inner.lock().threads.iter().map(|t| t.cpu_time.ticks(now)).sum();
        self.exited_cpu_ticks.load(Ordering::Relaxed) + live
    }

    /// Takes a thread from the app's allowance ([`Resource::Threads`]):
    /// `EAGAIN` at the limit, as Linux's `clone` at `RLIMIT_NPROC`. The
    /// charge goes to the thread [`Process::add_thread`] adds, and comes
    /// back when it exits; a caller that fails before adding it calls
    /// [`Process::uncharge_thread`].
    pub fn charge_thread(&self) -> Result<(), Errno> {
        self.usage.try_charge(Resource::Threads).map_err(|_| Errno::EAGAIN)
    }

    /// Its live threads.
    pub fn threads(&self) -> Vec<Arc<Task>> {
        self.inner.lock().threads.clone()
    }

    /// The live thread with id `tid`.
    pub fn thread(&self, tid: u32) -> Option<Arc<Task>> {
        self.inner.lock().threads.iter().find(|t| t.tid == tid).cloned()
    }

    /// Gives back a thread charge whose thread was never added.
    pub fn uncharge_thread(&self) {
        self.usage.release(Resource::Threads);
    }

    /// Adds a started thread (charged before with
    /// [`Process::charge_thread`]). `ENOMEM` if the list cannot grow (the
    /// charge is then given back).
    pub fn add_thread(&self, task: Arc<Task>) -> Result<(), Errno> {
        let mut inner = self.inner.lock();
        if inner.threads.try_reserve(1).is_err() {
            drop(inner);
            self.uncharge_thread();
            return Err(Errno::ENOMEM);
        }
        inner.threads.push(task);
        Ok(())
    }

    /// How many threads it has.
    pub fn thread_count(&self) -> usize {
        self.inner.lock().threads.len()
    }

    /// Ends the whole process with `status` (the first status wins): every
    /// thread is marked to die before it next returns to ring 3.
    pub fn exit_group(&self, status: ExitStatus) {
        let threads: Vec<Arc<Task>> = {
            let mut inner = self.inner.lock();
            if inner.exit.is_none() {
                inner.exit = Some(status);
            }
            inner.threads.clone()
        };
        let me = crate::percpu::cpu_index();
        for t in threads {
            t.flags.kill();
            // A blocked thread wakes to find it must die; one running on
            // another CPU is interrupted so it sees that on its way back.
            if t.try_unblock() {
                sched::enqueue(t);
            } else if t.state() == sched::TaskState::Running {
                let cpu = t.last_cpu.load(Ordering::Relaxed);
                if cpu != me {
                    crate::smp::send_ipi(cpu, crate::arch::x86_64::vectors::RESCHEDULE);
                }
            }
        }
    }

    /// Ends every thread but `me` (`execve`'s `de_thread`) and waits
    /// until they are gone; `EINTR` if `me` is killed meanwhile.
    pub(crate) fn end_other_threads(&self, me: &Task) -> Result<(), Errno> {
        let others: Vec<Arc<Task>> =
            self.threads().into_iter().filter(|t| !core::ptr::eq(Arc::as_ptr(t), me)).collect();
        if others.is_empty() {
            return Ok(());
        }
        for t in &others {
            t.flags.kill();
            if t.try_unblock() {
                sched::enqueue(t.clone());
            } else if t.state() == sched::TaskState::Running {
                let cpu = t.last_cpu.load(Ordering::Relaxed);
                if cpu != crate::percpu::cpu_index() {
                    crate::smp::send_ipi(cpu, crate::arch::x86_64::vectors::RESCHEDULE);
                }
            }
        }
        drop(others);
        while self.thread_count() > 1 {
            if me.flags.killed() {
                return Err(Errno::EINTR);
            }
            // They die on their way back to ring 3, soon: a short sleep.
            let _ = crate::sched::wait::sleep_until(crate::time::deadline_after(100_000));
        }
        Ok(())
    }

    /// Called when a thread of this process dies. If it is the last one and
    /// nothing decided the app's status before (an `exit_group`, a fatal
    /// fault), the status is its `exit` code, as on Linux; the check and
    /// the decision happen under one lock, so threads exiting together on
    /// several CPUs agree on which of them is last.
    pub fn thread_exited(self: &Arc<Self>, task: &Task) {
        let last = {
            let mut inner = self.inner.lock();
            let before = inner.threads.len();
            inner.threads.retain(|t| !core::ptr::eq(Arc::as_ptr(t), task));
            if inner.threads.len() != before {
                self.usage.release(Resource::Threads);
                // Its time so far (the rest of its last run is not counted).
                self.exited_cpu_ticks.fetch_add(task.cpu_time.ticks(crate::time::rdtsc()), Ordering::Relaxed);
            }
            if inner.threads.is_empty() && inner.exit.is_none() {
                inner.exit = Some(ExitStatus::Exited(task.exit_code.load(Ordering::Acquire) & 0xFF));
            }
            inner.threads.is_empty()
        };
        if last {
            self.real_timer.cancel();
            self.ended_now();
        } else {
            // A signal sent to the process that this thread was told about
            // goes to another thread now.
            crate::signal::retarget_shared(self);
        }
    }

    /// Its last thread has exited (and runs this, with interrupts on: the
    /// last close of a file may sleep): its files close, a `vfork` parent
    /// goes on, its children lose their parent, and its own parent is told
    /// (Linux's `exit_files`, `mm_release`, `exit_notify`).
    fn ended_now(self: &Arc<Self>) {
        self.files.close_all();
        crate::fs::record_lock::release_process(self.pid);
        self.release_vfork_parent();
        let orphans = core::mem::take(&mut self.inner.lock().children);
        for child in &orphans {
            *child.parent.lock() = None;
        }
        drop(orphans);
        self.ended.store(true, Ordering::Release);
        self.exited.wake_all();
        let parent = self.parent.lock().as_ref().and_then(Weak::upgrade);
        let Some(parent) = parent else {
            return;
        };
        let status = self.inner.lock().exit.unwrap_or(ExitStatus::Exited(0));
        // A parent that ignores SIGCHLD (or set SA_NOCLDWAIT) never sees
        // its zombies: reaped now (Linux's `do_notify_parent`).
        let auto_reap = {
            let ps = parent.signals.lock();
            let act = ps.action(libos_abi::signal::sig::SIGCHLD);
            act.handler == libos_abi::signal::SIG_IGN || act.flags & libos_abi::signal::sa::SA_NOCLDWAIT != 0
        };
        if auto_reap {
            let reaped = {
                let mut inner = parent.inner.lock();
                let at = inner.children.iter().position(|c| Arc::ptr_eq(c, self));
                at.map(|i| inner.children.remove(i))
            };
            drop(reaped);
        }
        if self.exit_signal != 0 {
            crate::signal::send_to_process(&parent, child_signal(self, status));
        }
        parent.child_ended.wake_all();
    }

    /// Blocks until it has ended (every thread exited, its files closed),
    /// then ends every other process (the first process's end ends the
    /// machine's app: nothing may outlive it) and waits for them; returns
    /// how it ended.
    pub fn wait(self: &Arc<Self>) -> ExitStatus {
        self.exited.wait_until(|| self.has_ended());
        table::end_all_but(self);
        self.inner.lock().exit.unwrap_or(ExitStatus::Exited(0))
    }
}

/// The information of the signal a parent gets when `child` ends with
/// `status`: `si_pid`, `si_uid` 0, the code (`CLD_EXITED` or `CLD_KILLED`)
/// and `si_status` (the exit code or the signal).
fn child_signal(child: &Process, status: ExitStatus) -> libos_kcore::signal::PendingInfo {
    const CLD_EXITED: i32 = 1;
    const CLD_KILLED: i32 = 2;
    let (code, value) = match status {
        ExitStatus::Exited(c) => (CLD_EXITED, c as u64 & 0xff),
        ExitStatus::Killed(k) => (CLD_KILLED, u64::from(k.signo)),
    };
    libos_kcore::signal::PendingInfo {
        signo: i32::from(child.exit_signal),
        code,
        word0: u64::from(child.pid),
        trapno: 0,
        err: value,
        fault: false,
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        table::remove(self.pid);
    }
}

/// The test hooks' records.
#[cfg(feature = "hooks")]
impl Process {
    /// Records a test the app registered: `ENOSPC` past
    /// [`MAX_REGISTERED_TESTS`], `ENOMEM` if the list cannot grow.
    pub fn register_test(&self, test: RegisteredTest) -> Result<(), Errno> {
        let tests = &mut self.inner.lock().test.tests;
        if tests.len() >= MAX_REGISTERED_TESTS {
            return Err(Errno::ENOSPC);
        }
        tests.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
        tests.push(test);
        Ok(())
    }

    /// Sets the code the app must exit with (test hook).
    pub fn expect_exit_code(&self, code: i32) {
        self.inner.lock().test.expected_exit_code = Some(code);
    }

    /// The code the app must exit with, if it set one.
    pub fn expected_exit_code(&self) -> Option<i32> {
        self.inner.lock().test.expected_exit_code
    }

    /// Sets the signal a killing fault must be reported as (test hook).
    pub fn expect_signal(&self, signo: u8) {
        self.inner.lock().test.expected_signal = Some(signo);
    }

    /// The signal a killing fault must be reported as, if the app set one.
    pub fn expected_signal(&self) -> Option<u8> {
        self.inner.lock().test.expected_signal
    }

    /// Sets a text the console must print before the process ends (test
    /// hook; the caller started the console recording).
    pub fn expect_output(&self, text: ExpectedOutput) {
        self.inner.lock().test.expected_output = Some(text);
    }

    /// The text the console must print, if the app set one.
    pub fn expected_output(&self) -> Option<ExpectedOutput> {
        self.inner.lock().test.expected_output.clone()
    }

    /// Sets the error code a killing fault must have (test hook).
    pub fn expect_error_code(&self, mask: u64, value: u64) {
        self.inner.lock().test.expected_error_code = Some((mask, value));
    }

    /// The error code a killing fault must have, if the app set one.
    pub fn expected_error_code(&self) -> Option<(u64, u64)> {
        self.inner.lock().test.expected_error_code
    }

    /// Sets the thread a killing fault must come from (test hook).
    pub fn expect_faulting_thread(&self, tid: u32, name: ThreadName) {
        self.inner.lock().test.expected_fault_thread = Some((tid, name));
    }

    /// The thread a killing fault must come from, if the app set one.
    pub fn expected_faulting_thread(&self) -> Option<(u32, ThreadName)> {
        self.inner.lock().test.expected_fault_thread
    }

    /// The tests the app registered.
    pub fn tests(&self) -> Vec<RegisteredTest> {
        self.inner.lock().test.tests.clone()
    }
}

/// The process of the running task, if it belongs to one.
pub fn current() -> Option<Arc<Process>> {
    sched::current().process.clone()
}

/// An app to run: its name and ELF bytes (from the image's payload).
#[derive(Clone, Copy, Debug)]
pub struct AppImage {
    /// The app's name.
    pub name: &'static str,
    /// Its ELF file.
    pub elf: &'static [u8],
}

/// Loads `app` into a new process with `argv` and the environment `envp`
/// and makes its first thread runnable.
pub fn spawn(app: &AppImage, argv: &[&str], envp: &[&str]) -> Result<Arc<Process>, loader::LoadError> {
    let space = AddressSpace::new().map_err(|_| loader::LoadError::OutOfMemory)?;
    let mut random = [0u8; 16];
    crate::random::fill(&mut random);
    let image = loader::load(&space, app.elf, &loader::ProgramArgs { argv, envp, random })?;
    let pid = Task::allocate_tid();
    let lineage = Lineage {
        parent: None,
        pgid: pid,
        exit_signal: 0,
        files: crate::fs::ProcessFiles::new(),
        program: Arc::new(program::Program {
            path: alloc::format!("/{}", app.name),
            bytes: program::ProgramBytes::Boot(app.elf),
        }),
    };
    let process = Process::new(pid, app.name, space, lineage);
    table::insert(&process).map_err(|_| loader::LoadError::OutOfMemory)?;
    let task = Task::new_user(process.clone(), Some(pid), image.entry, image.stack_pointer, |regs| {
        // SysV: RDX holds a function for atexit, or 0.
        regs.rdx = 0;
    })
    .ok_or(loader::LoadError::OutOfMemory)?;
    // Register the thread before it can run: it may finish at once on
    // another CPU, and its exit must find itself in the list.
    let task = Arc::new(task);
    process.charge_thread().map_err(|_| loader::LoadError::OutOfMemory)?;
    process.add_thread(task.clone()).map_err(|_| loader::LoadError::OutOfMemory)?;
    sched::spawn(task);
    Ok(process)
}
