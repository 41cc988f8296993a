//! The system call table: one declaration for the kernel and the apps.
//!
//! The calls are declared once, below, grouped by topic: one trait per
//! topic (`Io`, `Memory`, `Sched`, `Time`, `Process`, `Thread`, `Info`,
//! `Descriptors`, `Files`, `Readiness`, and
//! the test and benchmark `Hooks`), each call with its Linux x86_64 number
//! (`#[nr = N]`), typed arguments, success type and documentation.
//! [`libos_macros::syscall_table!`] expands the declaration, in this module,
//! into everything both sides need, so the two can never disagree on a
//! number, an argument's register or a result's encoding:
//!
//! - [`nr`]: one `u64` constant per call (`nr::WRITE`); [`ABI_TABLE_LEN`],
//!   the highest number of the ABI plus one; [`FIRST_HOOK`] and
//!   [`HOOKS_TABLE_LEN`], where the hooks' numbers lie.
//! - [`Syscalls`], which a kernel implements once to name its `Context`
//!   (the calling thread's saved registers), and each topic as a subtrait of
//!   it: `fn write(cx: &mut Self::Context, fd: i32, buf: UserPtr<u8>,
//!   count: usize) -> Result<usize, Errno>` in [`Io`]. The kernel implements
//!   each topic in the file of that topic, with the handlers' bodies: a
//!   missing handler or a wrong signature does not compile, and a search for
//!   `fn write` lands on the handler.
//! - [`DispatchTable`]: [`ABI`](DispatchTable::ABI), the table of a
//!   production kernel, and [`WITH_HOOKS`](DispatchTable::WITH_HOOKS), that
//!   of a test or benchmark kernel; each a
//!   [`SyscallTable`](crate::dispatch::SyscallTable) whose `dispatch` runs a
//!   call: one bounds check, the speculation clamp, one indirect call to a
//!   generated entry that decodes the argument registers through
//!   [`SyscallArg`](crate::syscall_arg::SyscallArg), calls the handler and
//!   encodes its result as Linux does (`-errno` for an error). Numbers
//!   without a call get `-ENOSYS`.
//! - [`trace_call`] and [`trace_result`]: strace-style lines
//!   (`write(1, 0x400120, 14) = 14`), [`syscall_name`] and [`is_hook`].
//! - [`user`] (x86_64): the app's stubs, `user::write(fd, buf: *const u8,
//!   count) -> Result<usize, Errno>`, each the `syscall` instruction inline;
//!   [`user_hooks`] for the hooks. A stub taking a pointer, or declared
//!   `unsafe fn` here (calls that can unmap or remap memory Rust uses), is
//!   an `unsafe fn`.
//!
//! Numbers are Linux's where Linux has a call with the same meaning, so an
//! app's stubs also work under Linux; the hooks, which are not part of the
//! ABI, start at 1024.
//!
//! # Kernel side
//!
//! ```
//! use libos_abi::dispatch::SyscallArgs;
//! use libos_abi::errno::Errno;
//! use libos_abi::syscalls::*;
//! use libos_abi::user_ptr::{UserPtr, UserPtrMut};
//! # use libos_abi::abi_types::{Timespec, Utsname};
//! # use libos_abi::signal::{SigAction, StackT};
//! # use libos_abi::fs_types::{Iovec, Stat, Statfs, Statx};
//! # use libos_abi::poll_types::{EpollEvent, PollFd, SigsetArgpack, Timeval};
//!
//! /// What a handler works on: the calling thread's registers, its
//! /// address space...
//! pub struct Caller {
//!     regs: [u64; 6],
//!     console: Vec<u8>,
//! }
//!
//! impl SyscallArgs for Caller {
//!     fn arg(&self, index: usize) -> u64 {
//!         self.regs[index]
//!     }
//!     fn note_frame_rewritten(&mut self) {
//!         // a real kernel: a bit in the thread's flags, so that the return
//!         // path checks the whole frame
//!     }
//! }
//!
//! pub enum Kernel {}
//!
//! impl Syscalls for Kernel {
//!     type Context = Caller;
//! }
//!
//! // In the kernel's `syscalls/io.rs`:
//! impl Io for Kernel {
//!     fn write(t: &mut Caller, fd: i32, buf: UserPtr<u8>, count: usize) -> Result<usize, Errno> {
//!         if fd != 1 && fd != 2 {
//!             return Err(Errno::EBADF);
//!         }
//!         // A real kernel checks and copies `buf` here.
//!         t.console.extend(std::iter::repeat_n(b'.', count));
//!         Ok(count)
//!     }
//! #   fn read(_: &mut Caller, _: i32, _: UserPtrMut<u8>, _: usize) -> Result<usize, Errno> { Err(Errno::ENOSYS) }
//! }
//!
//! // In the kernel's `syscalls/process.rs`:
//! impl Process for Kernel {
//!     fn exit(_t: &mut Caller, code: i32) -> ! {
//!         std::process::exit(code)
//!     }
//! #   fn getpid(_: &mut Caller) -> Result<i32, Errno> { Ok(1) }
//! #   fn exit_group(_: &mut Caller, code: i32) -> ! { std::process::exit(code) }
//! #   fn wait4(_: &mut Caller, _: i32, _: UserPtrMut<i32>, _: i32, _: UserPtrMut<Rusage>) -> Result<i32, Errno> { Err(Errno::ECHILD) }
//! #   fn fork(_: &mut Caller) -> Result<i32, Errno> { Err(Errno::ENOSYS) }
//! #   fn vfork(_: &mut Caller) -> Result<i32, Errno> { Err(Errno::ENOSYS) }
//! #   fn execve(_: &mut Caller, _: libos_abi::dispatch::RewritesFrame, _: UserPtr<u8>, _: UserPtr<u64>, _: UserPtr<u64>) -> Result<u64, Errno> { Err(Errno::ENOSYS) }
//! }
//! // ... every other topic ...
//! # impl Memory for Kernel {
//! #   fn mmap(_: &mut Caller, _: usize, _: usize, _: i32, _: i32, _: i32, _: i64) -> Result<usize, Errno> { Err(Errno::ENOSYS) }
//! #   fn mprotect(_: &mut Caller, _: usize, _: usize, _: i32) -> Result<(), Errno> { Err(Errno::ENOSYS) }
//! #   fn munmap(_: &mut Caller, _: usize, _: usize) -> Result<(), Errno> { Err(Errno::ENOSYS) }
//! #   fn brk(_: &mut Caller, _: usize) -> Result<usize, Errno> { Err(Errno::ENOSYS) }
//! #   fn msync(_: &mut Caller, _: usize, _: usize, _: i32) -> Result<(), Errno> { Err(Errno::ENOSYS) }
//! # }
//! # impl Sched for Kernel {
//! #   fn sched_yield(_: &mut Caller) -> Result<(), Errno> { Ok(()) }
//! #   fn sched_setaffinity(_: &mut Caller, _: i32, _: usize, _: UserPtr<u8>) -> Result<(), Errno> { Ok(()) }
//! #   fn sched_getaffinity(_: &mut Caller, _: i32, _: usize, _: UserPtrMut<u8>) -> Result<usize, Errno> { Ok(8) }
//! #   fn getcpu(_: &mut Caller, _: UserPtrMut<u32>, _: UserPtrMut<u32>, _: usize) -> Result<(), Errno> { Ok(()) }
//! #   fn sched_get_priority_max(_: &mut Caller, _: i32) -> Result<i32, Errno> { Ok(0) }
//! #   fn sched_get_priority_min(_: &mut Caller, _: i32) -> Result<i32, Errno> { Ok(0) }
//! # }
//! # impl Time for Kernel {
//! #   fn nanosleep(_: &mut Caller, _: UserPtr<Timespec>, _: UserPtrMut<Timespec>) -> Result<(), Errno> { Err(Errno::ENOSYS) }
//! #   fn clock_gettime(_: &mut Caller, _: i32, _: UserPtrMut<Timespec>) -> Result<(), Errno> { Err(Errno::ENOSYS) }
//! # }
//! # impl Thread for Kernel {
//! #   fn clone(_: &mut Caller, _: u64, _: usize, _: UserPtrMut<i32>, _: UserPtrMut<i32>, _: u64) -> Result<i32, Errno> { Err(Errno::ENOSYS) }
//! #   fn prctl(_: &mut Caller, _: i32, _: u64, _: u64, _: u64, _: u64) -> Result<i32, Errno> { Err(Errno::EINVAL) }
//! #   fn arch_prctl(_: &mut Caller, _: i32, _: u64) -> Result<(), Errno> { Err(Errno::ENOSYS) }
//! #   fn gettid(_: &mut Caller) -> Result<i32, Errno> { Ok(1) }
//! #   fn futex(_: &mut Caller, _: UserPtrMut<u32>, _: i32, _: u32, _: UserPtr<Timespec>, _: UserPtrMut<u32>, _: u32) -> Result<usize, Errno> { Err(Errno::ENOSYS) }
//! #   fn set_tid_address(_: &mut Caller, _: UserPtrMut<i32>) -> Result<i32, Errno> { Ok(1) }
//! # }
//! # impl Signals for Kernel {
//! #   fn rt_sigaction(_: &mut Caller, _: i32, _: UserPtr<SigAction>, _: UserPtrMut<SigAction>, _: usize) -> Result<(), Errno> { Err(Errno::ENOSYS) }
//! #   fn rt_sigprocmask(_: &mut Caller, _: i32, _: UserPtr<u64>, _: UserPtrMut<u64>, _: usize) -> Result<(), Errno> { Err(Errno::ENOSYS) }
//! #   fn rt_sigreturn(_: &mut Caller, _: libos_abi::dispatch::RewritesFrame) -> Result<u64, Errno> { Err(Errno::ENOSYS) }
//! #   fn kill(_: &mut Caller, _: i32, _: i32) -> Result<(), Errno> { Err(Errno::ENOSYS) }
//! #   fn rt_sigpending(_: &mut Caller, _: UserPtrMut<u64>, _: usize) -> Result<(), Errno> { Err(Errno::ENOSYS) }
//! #   fn rt_sigsuspend(_: &mut Caller, _: UserPtr<u64>, _: usize) -> Result<(), Errno> { Err(Errno::ENOSYS) }
//! #   fn pause(_: &mut Caller) -> Result<(), Errno> { Err(Errno::ENOSYS) }
//! #   fn sigaltstack(_: &mut Caller, _: UserPtr<StackT>, _: UserPtrMut<StackT>) -> Result<(), Errno> { Err(Errno::ENOSYS) }
//! #   fn tkill(_: &mut Caller, _: i32, _: i32) -> Result<(), Errno> { Err(Errno::ENOSYS) }
//! #   fn tgkill(_: &mut Caller, _: i32, _: i32, _: i32) -> Result<(), Errno> { Err(Errno::ENOSYS) }
//! # }
//! # impl Info for Kernel {
//! #   fn uname(_: &mut Caller, _: UserPtrMut<Utsname>) -> Result<(), Errno> { Err(Errno::ENOSYS) }
//! #   fn getrandom(_: &mut Caller, _: UserPtrMut<u8>, _: usize, _: u32) -> Result<usize, Errno> { Err(Errno::ENOSYS) }
//! # }
//! # impl Identity for Kernel {
//! #   fn getuid(_: &mut Caller) -> Result<u32, Errno> { Ok(0) }
//! #   fn getgid(_: &mut Caller) -> Result<u32, Errno> { Ok(0) }
//! #   fn geteuid(_: &mut Caller) -> Result<u32, Errno> { Ok(0) }
//! #   fn getegid(_: &mut Caller) -> Result<u32, Errno> { Ok(0) }
//! #   fn getppid(_: &mut Caller) -> Result<i32, Errno> { Ok(0) }
//! #   fn getpgrp(_: &mut Caller) -> Result<i32, Errno> { Ok(1) }
//! #   fn setsid(_: &mut Caller) -> Result<i32, Errno> { Err(Errno::EPERM) }
//! #   fn getpgid(_: &mut Caller, _: i32) -> Result<i32, Errno> { Ok(1) }
//! #   fn getsid(_: &mut Caller, _: i32) -> Result<i32, Errno> { Ok(1) }
//! #   fn getgroups(_: &mut Caller, _: i32, _: UserPtrMut<u32>) -> Result<i32, Errno> { Ok(0) }
//! # }
//! # use libos_abi::linux_types::*;
//! # impl Limits for Kernel {
//! #   fn getrlimit(_: &mut Caller, _: u32, _: UserPtrMut<Rlimit>) -> Result<(), Errno> { Err(Errno::ENOSYS) }
//! #   fn getrusage(_: &mut Caller, _: i32, _: UserPtrMut<Rusage>) -> Result<(), Errno> { Err(Errno::ENOSYS) }
//! #   fn sysinfo(_: &mut Caller, _: UserPtrMut<Sysinfo>) -> Result<(), Errno> { Err(Errno::ENOSYS) }
//! #   fn times(_: &mut Caller, _: UserPtrMut<Tms>) -> Result<u64, Errno> { Err(Errno::ENOSYS) }
//! #   fn prlimit64(_: &mut Caller, _: i32, _: u32, _: UserPtr<Rlimit>, _: UserPtrMut<Rlimit>) -> Result<(), Errno> { Err(Errno::ENOSYS) }
//! # }
//! # impl Priorities for Kernel {
//! #   fn getpriority(_: &mut Caller, _: i32, _: i32) -> Result<i32, Errno> { Ok(20) }
//! #   fn setpriority(_: &mut Caller, _: i32, _: i32, _: i32) -> Result<(), Errno> { Ok(()) }
//! # }
//! # impl IntervalTimers for Kernel {
//! #   fn getitimer(_: &mut Caller, _: i32, _: UserPtrMut<Itimerval>) -> Result<(), Errno> { Err(Errno::EINVAL) }
//! #   fn setitimer(_: &mut Caller, _: i32, _: UserPtr<Itimerval>, _: UserPtrMut<Itimerval>) -> Result<(), Errno> { Err(Errno::EINVAL) }
//! #   fn alarm(_: &mut Caller, _: u32) -> Result<u32, Errno> { Ok(0) }
//! # }
//! # impl MemoryLocks for Kernel {
//! #   fn mlock(_: &mut Caller, _: usize, _: usize) -> Result<(), Errno> { Err(Errno::ENOMEM) }
//! #   fn mlock2(_: &mut Caller, _: usize, _: usize, _: u32) -> Result<(), Errno> { Err(Errno::ENOMEM) }
//! #   fn munlock(_: &mut Caller, _: usize, _: usize) -> Result<(), Errno> { Err(Errno::ENOMEM) }
//! #   fn mlockall(_: &mut Caller, _: i32) -> Result<(), Errno> { Err(Errno::EINVAL) }
//! #   fn munlockall(_: &mut Caller) -> Result<(), Errno> { Ok(()) }
//! #   fn mincore(_: &mut Caller, _: usize, _: usize, _: UserPtrMut<u8>) -> Result<(), Errno> { Err(Errno::ENOMEM) }
//! # }
//! # impl Clocks for Kernel {
//! #   fn gettimeofday(_: &mut Caller, _: UserPtrMut<Timeval>, _: UserPtrMut<Timezone>) -> Result<(), Errno> { Err(Errno::ENOSYS) }
//! #   fn time(_: &mut Caller, _: UserPtrMut<i64>) -> Result<i64, Errno> { Err(Errno::ENOSYS) }
//! #   fn clock_getres(_: &mut Caller, _: i32, _: UserPtrMut<Timespec>) -> Result<(), Errno> { Err(Errno::ENOSYS) }
//! #   fn clock_nanosleep(_: &mut Caller, _: i32, _: i32, _: UserPtr<Timespec>, _: UserPtrMut<Timespec>) -> Result<(), Errno> { Err(Errno::ENOSYS) }
//! # }
//! # impl ThreadRuntime for Kernel {
//! #   fn set_robust_list(_: &mut Caller, _: UserPtrMut<RobustListHead>, _: usize) -> Result<(), Errno> { Err(Errno::ENOSYS) }
//! #   fn get_robust_list(_: &mut Caller, _: i32, _: UserPtrMut<u64>, _: UserPtrMut<usize>) -> Result<(), Errno> { Err(Errno::ENOSYS) }
//! #   fn membarrier(_: &mut Caller, _: i32, _: u32, _: i32) -> Result<i32, Errno> { Err(Errno::ENOSYS) }
//! #   fn rseq(_: &mut Caller, _: UserPtrMut<u8>, _: u32, _: i32, _: u32) -> Result<(), Errno> { Err(Errno::ENOSYS) }
//! #   fn clone3(_: &mut Caller, _: UserPtrMut<u8>, _: usize) -> Result<i32, Errno> { Err(Errno::ENOSYS) }
//! # }
//! # impl MemoryAdvice for Kernel {
//! #   fn mremap(_: &mut Caller, _: usize, _: usize, _: usize, _: i32, _: usize) -> Result<usize, Errno> { Err(Errno::ENOSYS) }
//! #   fn madvise(_: &mut Caller, _: usize, _: usize, _: i32) -> Result<(), Errno> { Err(Errno::ENOSYS) }
//! # }
//! # impl Sockets for Kernel {
//! #   fn socket(_: &mut Caller, _: i32, _: i32, _: i32) -> Result<i32, Errno> { Err(Errno::ENOSYS) }
//! #   fn connect(_: &mut Caller, _: i32, _: UserPtr<u8>, _: u32) -> Result<(), Errno> { Err(Errno::ENOSYS) }
//! #   fn accept(_: &mut Caller, _: i32, _: UserPtrMut<u8>, _: UserPtrMut<u32>) -> Result<i32, Errno> { Err(Errno::ENOSYS) }
//! #   fn sendto(_: &mut Caller, _: i32, _: UserPtr<u8>, _: usize, _: i32, _: UserPtr<u8>, _: u32) -> Result<usize, Errno> { Err(Errno::ENOSYS) }
//! #   fn recvfrom(_: &mut Caller, _: i32, _: UserPtrMut<u8>, _: usize, _: i32, _: UserPtrMut<u8>, _: UserPtrMut<u32>) -> Result<usize, Errno> { Err(Errno::ENOSYS) }
//! #   fn sendmsg(_: &mut Caller, _: i32, _: UserPtr<libos_abi::net_types::MsgHdr>, _: i32) -> Result<usize, Errno> { Err(Errno::ENOSYS) }
//! #   fn recvmsg(_: &mut Caller, _: i32, _: UserPtrMut<libos_abi::net_types::MsgHdr>, _: i32) -> Result<usize, Errno> { Err(Errno::ENOSYS) }
//! #   fn shutdown(_: &mut Caller, _: i32, _: i32) -> Result<(), Errno> { Err(Errno::ENOSYS) }
//! #   fn bind(_: &mut Caller, _: i32, _: UserPtr<u8>, _: u32) -> Result<(), Errno> { Err(Errno::ENOSYS) }
//! #   fn listen(_: &mut Caller, _: i32, _: i32) -> Result<(), Errno> { Err(Errno::ENOSYS) }
//! #   fn getsockname(_: &mut Caller, _: i32, _: UserPtrMut<u8>, _: UserPtrMut<u32>) -> Result<(), Errno> { Err(Errno::ENOSYS) }
//! #   fn getpeername(_: &mut Caller, _: i32, _: UserPtrMut<u8>, _: UserPtrMut<u32>) -> Result<(), Errno> { Err(Errno::ENOSYS) }
//! #   fn setsockopt(_: &mut Caller, _: i32, _: i32, _: i32, _: UserPtr<u8>, _: u32) -> Result<(), Errno> { Err(Errno::ENOSYS) }
//! #   fn getsockopt(_: &mut Caller, _: i32, _: i32, _: i32, _: UserPtrMut<u8>, _: UserPtrMut<u32>) -> Result<(), Errno> { Err(Errno::ENOSYS) }
//! #   fn accept4(_: &mut Caller, _: i32, _: UserPtrMut<u8>, _: UserPtrMut<u32>, _: i32) -> Result<i32, Errno> { Err(Errno::ENOSYS) }
//! # }
//! # impl Descriptors for Kernel {
//! #   fn close(_: &mut Caller, _: i32) -> Result<(), Errno> { Err(Errno::ENOSYS) }
//! #   fn lseek(_: &mut Caller, _: i32, _: i64, _: i32) -> Result<i64, Errno> { Err(Errno::ENOSYS) }
//! #   fn pread64(_: &mut Caller, _: i32, _: UserPtrMut<u8>, _: usize, _: i64) -> Result<usize, Errno> { Err(Errno::ENOSYS) }
//! #   fn pwrite64(_: &mut Caller, _: i32, _: UserPtr<u8>, _: usize, _: i64) -> Result<usize, Errno> { Err(Errno::ENOSYS) }
//! #   fn readv(_: &mut Caller, _: i32, _: UserPtr<Iovec>, _: i32) -> Result<usize, Errno> { Err(Errno::ENOSYS) }
//! #   fn writev(_: &mut Caller, _: i32, _: UserPtr<Iovec>, _: i32) -> Result<usize, Errno> { Err(Errno::ENOSYS) }
//! #   fn sendfile(_: &mut Caller, _: i32, _: i32, _: UserPtrMut<i64>, _: usize) -> Result<usize, Errno> { Err(Errno::ENOSYS) }
//! #   fn pipe(_: &mut Caller, _: UserPtrMut<i32>) -> Result<(), Errno> { Err(Errno::ENOSYS) }
//! #   fn dup(_: &mut Caller, _: i32) -> Result<i32, Errno> { Err(Errno::ENOSYS) }
//! #   fn dup2(_: &mut Caller, _: i32, _: i32) -> Result<i32, Errno> { Err(Errno::ENOSYS) }
//! #   fn ioctl(_: &mut Caller, _: i32, _: u32, _: u64) -> Result<i64, Errno> { Err(Errno::ENOSYS) }
//! #   fn fcntl(_: &mut Caller, _: i32, _: i32, _: u64) -> Result<i32, Errno> { Err(Errno::ENOSYS) }
//! #   fn fsync(_: &mut Caller, _: i32) -> Result<(), Errno> { Err(Errno::ENOSYS) }
//! #   fn fdatasync(_: &mut Caller, _: i32) -> Result<(), Errno> { Err(Errno::ENOSYS) }
//! #   fn ftruncate(_: &mut Caller, _: i32, _: i64) -> Result<(), Errno> { Err(Errno::ENOSYS) }
//! #   fn fchdir(_: &mut Caller, _: i32) -> Result<(), Errno> { Err(Errno::ENOSYS) }
//! #   fn fchmod(_: &mut Caller, _: i32, _: u32) -> Result<(), Errno> { Err(Errno::ENOSYS) }
//! #   fn fchown(_: &mut Caller, _: i32, _: u32, _: u32) -> Result<(), Errno> { Err(Errno::ENOSYS) }
//! #   fn flock(_: &mut Caller, _: i32, _: i32) -> Result<(), Errno> { Err(Errno::ENOSYS) }
//! #   fn fallocate(_: &mut Caller, _: i32, _: i32, _: i64, _: i64) -> Result<(), Errno> { Err(Errno::ENOSYS) }
//! #   fn fstat(_: &mut Caller, _: i32, _: UserPtrMut<Stat>) -> Result<(), Errno> { Err(Errno::ENOSYS) }
//! #   fn fstatfs(_: &mut Caller, _: i32, _: UserPtrMut<Statfs>) -> Result<(), Errno> { Err(Errno::ENOSYS) }
//! #   fn getdents64(_: &mut Caller, _: i32, _: UserPtrMut<u8>, _: usize) -> Result<usize, Errno> { Err(Errno::ENOSYS) }
//! #   fn dup3(_: &mut Caller, _: i32, _: i32, _: i32) -> Result<i32, Errno> { Err(Errno::ENOSYS) }
//! #   fn pipe2(_: &mut Caller, _: UserPtrMut<i32>, _: i32) -> Result<(), Errno> { Err(Errno::ENOSYS) }
//! #   fn fadvise64(_: &mut Caller, _: i32, _: i64, _: i64, _: i32) -> Result<(), Errno> { Ok(()) }
//! # }
//! # impl Files for Kernel {
//! #   fn open(_: &mut Caller, _: UserPtr<u8>, _: i32, _: u32) -> Result<i32, Errno> { Err(Errno::ENOSYS) }
//! #   fn stat(_: &mut Caller, _: UserPtr<u8>, _: UserPtrMut<Stat>) -> Result<(), Errno> { Err(Errno::ENOSYS) }
//! #   fn lstat(_: &mut Caller, _: UserPtr<u8>, _: UserPtrMut<Stat>) -> Result<(), Errno> { Err(Errno::ENOSYS) }
//! #   fn access(_: &mut Caller, _: UserPtr<u8>, _: i32) -> Result<(), Errno> { Err(Errno::ENOSYS) }
//! #   fn truncate(_: &mut Caller, _: UserPtr<u8>, _: i64) -> Result<(), Errno> { Err(Errno::ENOSYS) }
//! #   fn getcwd(_: &mut Caller, _: UserPtrMut<u8>, _: usize) -> Result<usize, Errno> { Err(Errno::ENOSYS) }
//! #   fn chdir(_: &mut Caller, _: UserPtr<u8>) -> Result<(), Errno> { Err(Errno::ENOSYS) }
//! #   fn rename(_: &mut Caller, _: UserPtr<u8>, _: UserPtr<u8>) -> Result<(), Errno> { Err(Errno::ENOSYS) }
//! #   fn mkdir(_: &mut Caller, _: UserPtr<u8>, _: u32) -> Result<(), Errno> { Err(Errno::ENOSYS) }
//! #   fn rmdir(_: &mut Caller, _: UserPtr<u8>) -> Result<(), Errno> { Err(Errno::ENOSYS) }
//! #   fn creat(_: &mut Caller, _: UserPtr<u8>, _: u32) -> Result<i32, Errno> { Err(Errno::ENOSYS) }
//! #   fn link(_: &mut Caller, _: UserPtr<u8>, _: UserPtr<u8>) -> Result<(), Errno> { Err(Errno::ENOSYS) }
//! #   fn unlink(_: &mut Caller, _: UserPtr<u8>) -> Result<(), Errno> { Err(Errno::ENOSYS) }
//! #   fn symlink(_: &mut Caller, _: UserPtr<u8>, _: UserPtr<u8>) -> Result<(), Errno> { Err(Errno::ENOSYS) }
//! #   fn readlink(_: &mut Caller, _: UserPtr<u8>, _: UserPtrMut<u8>, _: usize) -> Result<usize, Errno> { Err(Errno::ENOSYS) }
//! #   fn chmod(_: &mut Caller, _: UserPtr<u8>, _: u32) -> Result<(), Errno> { Err(Errno::ENOSYS) }
//! #   fn umask(_: &mut Caller, _: u32) -> Result<u32, Errno> { Err(Errno::ENOSYS) }
//! #   fn statfs(_: &mut Caller, _: UserPtr<u8>, _: UserPtrMut<Statfs>) -> Result<(), Errno> { Err(Errno::ENOSYS) }
//! #   fn openat(_: &mut Caller, _: i32, _: UserPtr<u8>, _: i32, _: u32) -> Result<i32, Errno> { Err(Errno::ENOSYS) }
//! #   fn mkdirat(_: &mut Caller, _: i32, _: UserPtr<u8>, _: u32) -> Result<(), Errno> { Err(Errno::ENOSYS) }
//! #   fn newfstatat(_: &mut Caller, _: i32, _: UserPtr<u8>, _: UserPtrMut<Stat>, _: i32) -> Result<(), Errno> { Err(Errno::ENOSYS) }
//! #   fn unlinkat(_: &mut Caller, _: i32, _: UserPtr<u8>, _: i32) -> Result<(), Errno> { Err(Errno::ENOSYS) }
//! #   fn renameat(_: &mut Caller, _: i32, _: UserPtr<u8>, _: i32, _: UserPtr<u8>) -> Result<(), Errno> { Err(Errno::ENOSYS) }
//! #   fn linkat(_: &mut Caller, _: i32, _: UserPtr<u8>, _: i32, _: UserPtr<u8>, _: i32) -> Result<(), Errno> { Err(Errno::ENOSYS) }
//! #   fn symlinkat(_: &mut Caller, _: UserPtr<u8>, _: i32, _: UserPtr<u8>) -> Result<(), Errno> { Err(Errno::ENOSYS) }
//! #   fn readlinkat(_: &mut Caller, _: i32, _: UserPtr<u8>, _: UserPtrMut<u8>, _: usize) -> Result<usize, Errno> { Err(Errno::ENOSYS) }
//! #   fn fchmodat(_: &mut Caller, _: i32, _: UserPtr<u8>, _: u32) -> Result<(), Errno> { Err(Errno::ENOSYS) }
//! #   fn chown(_: &mut Caller, _: UserPtr<u8>, _: u32, _: u32) -> Result<(), Errno> { Err(Errno::ENOSYS) }
//! #   fn lchown(_: &mut Caller, _: UserPtr<u8>, _: u32, _: u32) -> Result<(), Errno> { Err(Errno::ENOSYS) }
//! #   fn fchownat(_: &mut Caller, _: i32, _: UserPtr<u8>, _: u32, _: u32, _: i32) -> Result<(), Errno> { Err(Errno::ENOSYS) }
//! #   fn faccessat(_: &mut Caller, _: i32, _: UserPtr<u8>, _: i32) -> Result<(), Errno> { Err(Errno::ENOSYS) }
//! #   fn utimensat(_: &mut Caller, _: i32, _: UserPtr<u8>, _: UserPtr<Timespec>, _: i32) -> Result<(), Errno> { Err(Errno::ENOSYS) }
//! #   fn renameat2(_: &mut Caller, _: i32, _: UserPtr<u8>, _: i32, _: UserPtr<u8>, _: u32) -> Result<(), Errno> { Err(Errno::ENOSYS) }
//! #   fn statx(_: &mut Caller, _: i32, _: UserPtr<u8>, _: i32, _: u32, _: UserPtrMut<Statx>) -> Result<(), Errno> { Err(Errno::ENOSYS) }
//! #   fn faccessat2(_: &mut Caller, _: i32, _: UserPtr<u8>, _: i32, _: i32) -> Result<(), Errno> { Err(Errno::ENOSYS) }
//! # }
//! # impl Readiness for Kernel {
//! #   fn poll(_: &mut Caller, _: UserPtrMut<PollFd>, _: u32, _: i32) -> Result<usize, Errno> { Err(Errno::ENOSYS) }
//! #   fn select(_: &mut Caller, _: i32, _: UserPtrMut<u64>, _: UserPtrMut<u64>, _: UserPtrMut<u64>, _: UserPtrMut<Timeval>) -> Result<usize, Errno> { Err(Errno::ENOSYS) }
//! #   fn epoll_create(_: &mut Caller, _: i32) -> Result<i32, Errno> { Err(Errno::ENOSYS) }
//! #   fn epoll_wait(_: &mut Caller, _: i32, _: UserPtrMut<EpollEvent>, _: i32, _: i32) -> Result<usize, Errno> { Err(Errno::ENOSYS) }
//! #   fn epoll_ctl(_: &mut Caller, _: i32, _: i32, _: i32, _: UserPtr<EpollEvent>) -> Result<(), Errno> { Err(Errno::ENOSYS) }
//! #   fn pselect6(_: &mut Caller, _: i32, _: UserPtrMut<u64>, _: UserPtrMut<u64>, _: UserPtrMut<u64>, _: UserPtrMut<Timespec>, _: UserPtr<SigsetArgpack>) -> Result<usize, Errno> { Err(Errno::ENOSYS) }
//! #   fn ppoll(_: &mut Caller, _: UserPtrMut<PollFd>, _: u32, _: UserPtrMut<Timespec>, _: UserPtr<u64>, _: usize) -> Result<usize, Errno> { Err(Errno::ENOSYS) }
//! #   fn epoll_pwait(_: &mut Caller, _: i32, _: UserPtrMut<EpollEvent>, _: i32, _: i32, _: UserPtr<u64>, _: usize) -> Result<usize, Errno> { Err(Errno::ENOSYS) }
//! #   fn eventfd(_: &mut Caller, _: u32) -> Result<i32, Errno> { Err(Errno::ENOSYS) }
//! #   fn eventfd2(_: &mut Caller, _: u32, _: i32) -> Result<i32, Errno> { Err(Errno::ENOSYS) }
//! #   fn epoll_create1(_: &mut Caller, _: i32) -> Result<i32, Errno> { Err(Errno::ENOSYS) }
//! #   fn epoll_pwait2(_: &mut Caller, _: i32, _: UserPtrMut<EpollEvent>, _: i32, _: UserPtr<Timespec>, _: UserPtr<u64>, _: usize) -> Result<usize, Errno> { Err(Errno::ENOSYS) }
//! # }
//!
//! /// The table a production kernel's entry path indexes.
//! static SYSCALLS: libos_abi::dispatch::SyscallTable<Caller, ABI_TABLE_LEN> = DispatchTable::<Kernel>::ABI;
//!
//! let mut t = Caller { regs: [1, 0x40_0120, 14, 0, 0, 0], console: Vec::new() };
//! assert_eq!(SYSCALLS.dispatch(&mut t, nr::WRITE), 14);
//! t.regs[0] = 7;
//! assert_eq!(SYSCALLS.dispatch(&mut t, nr::WRITE), -9);
//! assert_eq!(SYSCALLS.dispatch(&mut t, 500), -38);
//! // The hooks are not in a production table.
//! assert_eq!(SYSCALLS.dispatch(&mut t, nr::LIBOS_DEBUG), -38);
//! ```

use crate::abi_types::{Timespec, Utsname};
use crate::fs_types::{Iovec, Stat, Statfs, Statx};
use crate::linux_types::{Itimerval, Rlimit, RobustListHead, Rusage, Sysinfo, Timeval, Timezone, Tms};
use crate::net_types::MsgHdr;
use crate::poll_types::{EpollEvent, PollFd, SigsetArgpack};
use crate::signal::{SigAction, StackT};
use crate::user_ptr::{UserPtr, UserPtrMut};

libos_macros::syscall_table! {
    crate = crate;

    /// Reading and writing through the file-descriptor table (Linux's
    /// `fs/read_write.c`): the console (0, 1 and 2 at start), files, pipes.
    pub trait Io {
        /// Reads up to `count` bytes from file descriptor `fd` into `buf` at
        /// its offset and returns how many it read (0 at the end of a file, or
        /// of a pipe with no writer left).
        ///
        /// The console waits until at least one byte is available and returns
        /// what is there; a pipe waits for data (`EAGAIN` with `O_NONBLOCK`).
        /// Errors: `EBADF` for a descriptor not open for reading, `EISDIR`
        /// for a directory, `EFAULT` when `buf..buf + count` is not writable
        /// app memory.
        #[nr = 0]
        fn read(fd: i32, buf: UserPtrMut<u8>, count: usize) -> usize;

        /// Writes `count` bytes from `buf` to file descriptor `fd` at its
        /// offset (at the end with `O_APPEND`) and returns how many it wrote.
        ///
        /// The console takes everything; a file takes what fits (`ENOSPC` when
        /// nothing does); a pipe waits for room (`EPIPE` with no reader left).
        /// Errors: `EBADF` for a descriptor not open for writing, `EFAULT`
        /// when `buf..buf + count` is not readable app memory.
        #[nr = 1]
        fn write(fd: i32, buf: UserPtr<u8>, count: usize) -> usize;
    }

    /// The app's address space: anonymous mappings and the program break
    /// (Linux's `mm/mmap.c`, `mm/mprotect.c`).
    pub trait Memory {
        /// Maps `length` bytes (rounded up to whole pages) of zero-filled memory
        /// with protection `prot` (`PROT_*`) and returns its page-aligned address.
        ///
        /// This kernel maps anonymous memory only: `flags` must hold
        /// `MAP_ANONYMOUS` and one of `MAP_PRIVATE` and `MAP_SHARED` (the same
        /// here: there is no `fork` to share with), optionally with
        /// `MAP_FIXED` or `MAP_FIXED_NOREPLACE`; `fd` is ignored, as Linux
        /// ignores it for anonymous mappings, and `offset` must be
        /// page-aligned. Without a fixed flag `addr` is a hint the kernel may
        /// ignore. Errors: `EINVAL` for a zero `length`, an unaligned fixed
        /// `addr` or `offset`, unknown `prot` bits, or neither or both of
        /// `MAP_PRIVATE` and `MAP_SHARED`; for a file mapping, `EBADF` for a
        /// descriptor that is not open, `EACCES` for one not open for reading
        /// (or not for writing, with `MAP_SHARED` and `PROT_WRITE`), `ENODEV`
        /// for a pipe, the console, a directory, a `/proc` file, or a
        /// writable shared mapping (not supported); `EEXIST` when
        /// `MAP_FIXED_NOREPLACE` meets an existing mapping; `ENOMEM` when
        /// memory or address space runs out.
        ///
        /// # Safety
        ///
        /// With `MAP_FIXED` the new mapping replaces whatever was mapped in
        /// `addr..addr + length`: nothing Rust uses (no live object, reference,
        /// stack or heap memory) may be there. Without it the call is sound.
        #[nr = 9]
        unsafe fn mmap(addr: usize, length: usize, prot: i32, flags: i32, fd: i32, offset: i64) -> usize;

        /// Sets the protection of the pages in `addr..addr + length` (`addr`
        /// page-aligned, `length` rounded up to whole pages) to `prot`
        /// (`PROT_*`).
        ///
        /// Errors: `EINVAL` for an unaligned `addr` or unknown `prot` bits,
        /// `ENOMEM` when part of the range is not mapped.
        ///
        /// # Safety
        ///
        /// No Rust object in the range may be accessed in a way the new
        /// protection forbids while it is in force, and no reference into the
        /// range may rely on it staying accessible.
        #[nr = 10]
        unsafe fn mprotect(addr: usize, length: usize, prot: i32);

        /// Removes the mappings of the pages in `addr..addr + length` (`addr`
        /// page-aligned, `length` rounded up to whole pages); later accesses
        /// fault. Unmapped pages in the range are not an error.
        ///
        /// Errors: `EINVAL` for an unaligned `addr`, a zero `length` or a range
        /// outside the app's half of the address space.
        ///
        /// # Safety
        ///
        /// Nothing Rust uses may be in the range: no live object, no reference,
        /// no part of the stack or of a heap still in use.
        #[nr = 11]
        unsafe fn munmap(addr: usize, length: usize);

        /// Moves the end of the app's data segment (the program break) to `addr`
        /// and returns the break after the call.
        ///
        /// As on Linux, an `addr` the kernel cannot honour (0 included, below the
        /// segment's start, or out of memory) leaves the break where it is and
        /// returns it, so `brk(0)` asks for the current break and a caller sees
        /// failure as a result below what it asked for. Memory gained is zeroed.
        /// Never returns an error.
        ///
        /// # Safety
        ///
        /// Moving the break down unmaps memory: nothing Rust uses may be between
        /// the new and the old break (a heap allocator owning that memory, for
        /// instance).
        #[nr = 12]
        unsafe fn brk(addr: usize) -> usize;

        /// Writes a mapped file's changed pages back (Linux's `msync`,
        /// `flags` = `MS_ASYNC`, `MS_SYNC` (not both), `MS_INVALIDATE`).
        ///
        /// Errors: `EINVAL` for an unaligned `addr` or bad `flags`, `ENOMEM`
        /// when part of the range is not mapped.
        #[nr = 26]
        fn msync(addr: usize, length: usize, flags: i32);
    }

    /// Scheduling: yielding the CPU, CPU affinity, the current CPU (Linux's
    /// `kernel/sched/`).
    pub trait Sched {
        /// Gives the CPU to another ready task, if there is one; returns at once
        /// otherwise. Never fails.
        #[nr = 24]
        fn sched_yield();

        /// Restricts thread `tid` (0: the calling thread) to the CPUs whose bits
        /// are set in the `len`-byte mask at `mask` (bit `n` = CPU index `n`, as
        /// Linux's `cpu_set_t`). A thread outside its new set moves before the
        /// call returns. Errors: `EINVAL` if no allowed CPU is online or `len`
        /// is 0; `ESRCH` for a `tid` that is not the caller (only the caller can
        /// be set here); `EFAULT` for an unreadable mask.
        #[nr = 203]
        fn sched_setaffinity(tid: i32, len: usize, mask: UserPtr<u8>);

        /// Writes thread `tid`'s (0: the caller's) CPU mask into the `len`
        /// bytes at `mask` and returns how many bytes the kernel's mask has (8:
        /// up to 64 CPUs), as Linux does. Errors: `EINVAL` if `len` is smaller
        /// than 8 or not a multiple of 8 (Linux's whole longs); `ESRCH` for
        /// another `tid`; `EFAULT` for an unwritable buffer.
        #[nr = 204]
        fn sched_getaffinity(tid: i32, len: usize, mask: UserPtrMut<u8>) -> usize;

        /// Writes the index of the CPU the caller runs on to `cpu` and the NUMA
        /// node (always 0) to `node`, each when not null. `unused` is ignored
        /// (Linux's `tcache`). Errors: `EFAULT`.
        #[nr = 309]
        fn getcpu(cpu: UserPtrMut<u32>, node: UserPtrMut<u32>, unused: usize);

        /// The highest static priority of scheduling policy `policy`: 99
        /// for `SCHED_FIFO` (1) and `SCHED_RR` (2), 0 for `SCHED_OTHER`
        /// (0), `SCHED_BATCH` (3), `SCHED_IDLE` (5) and `SCHED_DEADLINE`
        /// (6); `EINVAL` for any other (Linux's `kernel/sched/syscalls.c`).
        #[nr = 146]
        fn sched_get_priority_max(policy: i32) -> i32;

        /// The lowest: 1 for `SCHED_FIFO` and `SCHED_RR`, 0 for the others
        /// as above; `EINVAL` for an unknown policy.
        #[nr = 147]
        fn sched_get_priority_min(policy: i32) -> i32;
    }

    /// Clocks and sleeping (Linux's `kernel/time/`).
    pub trait Time {
        /// Sleeps for the duration `*req`.
        ///
        /// When a sleep is interrupted Linux writes the time left to `*rem` (if
        /// `rem` is not null) and fails with `EINTR`. This kernel has no signals:
        /// a sleep ends early only when the app is ending (`EINTR`), and `rem`
        /// is never written (it may be null). Errors: `EINVAL` when `*req` is
        /// not a valid duration (see [`Timespec::is_valid`]), `EFAULT` when `req`
        /// is not readable app memory.
        #[nr = 35]
        fn nanosleep(req: UserPtr<Timespec>, rem: UserPtrMut<Timespec>);

        /// Writes the current time of clock `clock` to `*tp`.
        ///
        /// Supported clocks: `CLOCK_MONOTONIC` (time since boot, never going
        /// backwards; `MONOTONIC_RAW`, `MONOTONIC_COARSE` and `BOOTTIME` are
        /// the same), `CLOCK_REALTIME` (wall-clock time since the Unix epoch;
        /// `REALTIME_COARSE` too), `CLOCK_PROCESS_CPUTIME_ID` and
        /// `CLOCK_THREAD_CPUTIME_ID` (the CPU time of the app's threads, of
        /// the calling thread). Errors: `EINVAL` for any other clock, `EFAULT` when `tp` is
        /// not writable app memory.
        #[nr = 228]
        fn clock_gettime(clock: i32, tp: UserPtrMut<Timespec>);
    }

    /// The process: its id and its end (Linux's `kernel/exit.c`,
    /// `kernel/sys.c`).
    pub trait Process {
        /// Returns the caller's process id: the thread id of the app's first
        /// thread, the same for all its threads. Never fails.
        #[nr = 39]
        fn getpid() -> i32;

        /// Ends the calling thread with exit status `code`. When it is the
        /// app's last thread, the app ends with that status (of which, as on
        /// Linux, the low 8 bits are the status the run reports); the other
        /// threads of a multi-threaded app go on. To end every thread, see
        /// [`exit_group`](Process::exit_group).
        #[nr = 60]
        fn exit(code: i32) -> !;

        /// Ends the app, all its threads, with exit status `code` (the low 8 bits
        /// are the status the run reports).
        #[nr = 231]
        fn exit_group(code: i32) -> !;

        /// Waits for a child to end (Linux's `kernel_wait4` in
        /// `kernel/exit.c`): `pid` > 0 that child, -1 or 0 or < -1 any child
        /// (every process is in one process group). An ended child (a
        /// zombie) is reaped: its pid is returned and its status word
        /// written to `status` if not NULL (exit code << 8, or the signal
        /// that killed it); `rusage`, if not NULL, is zeroed. `WNOHANG`:
        /// 0 when no child has ended yet. Errors: `ECHILD` when the caller
        /// has no such child, `EINVAL` for an unknown option bit, `ESRCH`
        /// for `pid == INT_MIN`, `EINTR` when a signal interrupts the wait
        /// (restarted under `SA_RESTART`), `EFAULT`.
        #[nr = 61]
        fn wait4(pid: i32, status: UserPtrMut<i32>, options: i32, rusage: UserPtrMut<Rusage>) -> i32;

        /// Creates a child process (Linux's `fork`): a copy of the caller's
        /// memory, descriptors (sharing their open file descriptions) and
        /// signal actions, with the calling thread only, which returns 0 in
        /// the child; the caller gets the child's pid. Errors: `EAGAIN` at
        /// the process limit, `ENOMEM`.
        #[nr = 57]
        fn fork() -> i32;

        /// `fork` whose child shares the caller's memory until it calls
        /// `execve` or ends, while the caller sleeps (Linux's `vfork`,
        /// `CLONE_VM | CLONE_VFORK`).
        #[nr = 58]
        fn vfork() -> i32;

        /// Replaces the calling process's program with the static ELF
        /// executable at `path` (Linux's `execve`, `fs/exec.c`): `argv` and
        /// `envp` are NULL-terminated arrays of strings, copied onto the new
        /// stack; descriptors with `FD_CLOEXEC` are closed, caught signals
        /// reset to their default, other threads ended. Does not return on
        /// success. Errors: `ENOENT`, `ENOTDIR`, `EACCES` (not a regular
        /// executable file), `ENOEXEC` (not an ELF file this kernel loads,
        /// or a dynamically linked one), `E2BIG`, `EFAULT`, `ENOMEM`.
        ///
        /// # Safety
        ///
        /// Replaces the whole program and every register of the caller.
        #[nr = 59]
        #[rewrites_frame]
        unsafe fn execve(path: UserPtr<u8>, argv: UserPtr<u64>, envp: UserPtr<u64>) -> u64;
    }

    /// Threads: creating them, their ids, names, thread-local storage and
    /// futexes (Linux's `kernel/fork.c`, `kernel/futex/`,
    /// `arch/x86/kernel/process_64.c`).
    pub trait Thread {
        /// Starts a new thread in the caller's address space (Linux's
        /// `clone`), or a child process: without `CLONE_THREAD`, `flags` is an
        /// exit signal (its low byte) with `CLONE_VM` (share the memory, as
        /// `vfork`), `CLONE_VFORK`, `CLONE_SETTLS` and the tid flags below,
        /// and the call is `fork` (or `vfork`) with the child on `stack` if
        /// not 0. For a thread, `flags` must contain `CLONE_VM | CLONE_FS |
        /// CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD` and may add
        /// `CLONE_SYSVSEM`, `CLONE_DETACHED` (ignored, as by Linux),
        /// `CLONE_SETTLS` (the new thread's FS base is `tls`),
        /// `CLONE_PARENT_SETTID` (its tid is written to `parent_tid`),
        /// `CLONE_CHILD_SETTID` (to `child_tid`) and `CLONE_CHILD_CLEARTID` (when
        /// it exits, 0 is written to `child_tid` and a futex wake is done there:
        /// how a thread is joined). The new thread continues from the same
        /// instruction with RAX = 0 and RSP = `stack` (or the caller's RSP if
        /// `stack` is 0); the caller gets the new tid. Errors: `EINVAL` for any
        /// other flag combination, `EFAULT`, `ENOMEM`, `EAGAIN` beyond the
        /// thread or process limit.
        ///
        /// # Safety
        ///
        /// The new thread runs the caller's code on `stack` concurrently with
        /// the caller: `stack` must be memory nothing else uses, with what the
        /// code at the return address expects on it (with `stack` 0 both threads
        /// would share one stack, which Rust code cannot survive). `tls`,
        /// `parent_tid` and `child_tid` are written or kept as described, so
        /// they must stay valid for that.
        #[nr = 56]
        unsafe fn clone(flags: u64, stack: usize, parent_tid: UserPtrMut<i32>, child_tid: UserPtrMut<i32>, tls: u64)
        -> i32;

        /// Process and thread settings (Linux's `prctl`): `PR_SET_NAME` (15)
        /// names the calling thread with the NUL-terminated string at `arg2`
        /// (at most 15 bytes are kept; fault reports and the kernel's thread
        /// dump show it); `PR_GET_NAME` (16) writes the name, NUL-terminated, to
        /// the 16 bytes at `arg2`. A new thread starts with its creator's name;
        /// the first thread with the app's. `arg3` to `arg5` must be 0 for
        /// these. Other options: `EINVAL`. Errors: `EFAULT`.
        ///
        /// # Safety
        ///
        /// `PR_GET_NAME` writes 16 bytes at `arg2`, which must be memory the
        /// caller owns.
        #[nr = 157]
        unsafe fn prctl(option: i32, arg2: u64, arg3: u64, arg4: u64, arg5: u64) -> i32;

        /// Sets or gets the calling thread's FS or GS base (thread-local
        /// storage): `ARCH_SET_FS` (0x1002) and `ARCH_SET_GS` (0x1001) set it to
        /// `addr`, which must be a user address (`EPERM` otherwise);
        /// `ARCH_GET_FS` (0x1003) and `ARCH_GET_GS` (0x1004) write it to the u64
        /// at `addr`. Other codes: `EINVAL`.
        ///
        /// # Safety
        ///
        /// The runtime keeps the thread's control block at the FS base: setting
        /// it must leave a valid one there. The GET codes write 8 bytes at
        /// `addr`, which must be memory the caller owns.
        #[nr = 158]
        unsafe fn arch_prctl(code: i32, addr: u64);

        /// Returns the calling thread's id (for the first thread, the process
        /// id).
        #[nr = 186]
        fn gettid() -> i32;

        /// Fast user-space mutex support (Linux's `futex`): `FUTEX_WAIT` (0)
        /// blocks while the u32 at `uaddr` equals `val` (`EAGAIN` if it does not),
        /// until woken, until the relative `timeout` (null: none) passes
        /// (`ETIMEDOUT`), or until the app is ending (`EINTR`); `FUTEX_WAKE` (1)
        /// wakes up to `val` waiters on `uaddr` and returns how many.
        /// `FUTEX_WAIT_BITSET` (9) and `FUTEX_WAKE_BITSET` (10) do the same with
        /// `val3` as the bitset (the timeout is then absolute, on the monotonic
        /// clock). `FUTEX_PRIVATE_FLAG` (128) is accepted (every futex here is
        /// private to the app), and `FUTEX_CLOCK_REALTIME` (256) with the
        /// waits (`ENOSYS` with the others, as on Linux). `FUTEX_REQUEUE` (3)
        /// wakes up to `val` waiters on `uaddr` and moves up to `val2` more
        /// (passed in the `timeout` argument, as a number) to `uaddr2`;
        /// `FUTEX_CMP_REQUEUE` (4) first checks that `uaddr` holds `val3`
        /// (`EAGAIN` if not); both return how many were woken or moved (Linux's
        /// `futex_requeue`). Errors: `ENOSYS` for an operation this kernel does
        /// not have (as Linux answers one it does not know), `EINVAL`
        /// (misaligned `uaddr` or `uaddr2`, bad timeout, zero bitset, a
        /// negative count), `EFAULT`.
        #[nr = 202]
        fn futex(
            uaddr: UserPtrMut<u32>,
            op: i32,
            val: u32,
            timeout: UserPtr<Timespec>,
            uaddr2: UserPtrMut<u32>,
            val3: u32,
        ) -> usize;

        /// Sets where the calling thread's tid is cleared (and a futex wake
        /// done) when it exits, as `CLONE_CHILD_CLEARTID`; returns its tid.
        /// A null `tidptr` clears nothing.
        ///
        /// # Safety
        ///
        /// The u32 at `tidptr` is written when the thread exits, however long
        /// after the call that is: it must stay memory the write cannot harm.
        #[nr = 218]
        unsafe fn set_tid_address(tidptr: UserPtrMut<i32>) -> i32;
    }

    /// Signals: actions, masks, the alternate stack, sending a signal to
    /// the app itself, and the return from a handler (Linux's
    /// `kernel/signal.c`, `arch/x86/kernel/signal.c`, `signal_64.c`). Actions
    /// belong to the process, masks, pending sets and the alternate stack to
    /// each thread. Types and flags: [`crate::signal`].
    pub trait Signals {
        /// Examines and changes the action of signal `sig`: when `oact` is
        /// not null the old action is written there, then when `act` is not
        /// null it becomes the action (`SA_*` flags not known are dropped, as
        /// Linux does; on x86_64 a handler needs `SA_RESTORER`, or its
        /// delivery ends the app with SIGSEGV). Setting `SIG_IGN` (or
        /// `SIG_DFL` for a signal whose default is to ignore) discards the
        /// signal where it is pending. Errors: `EINVAL` for a `sigsetsize`
        /// other than 8, a signal outside `1..=64`, or an action for SIGKILL
        /// or SIGSTOP; `EFAULT`.
        ///
        /// # Safety
        ///
        /// A handler runs asynchronously, on the stack the action says, and
        /// returns through `sa_restorer`: both must be code that can.
        #[nr = 13]
        unsafe fn rt_sigaction(sig: i32, act: UserPtr<SigAction>, oact: UserPtrMut<SigAction>, sigsetsize: usize);

        /// Examines and changes the calling thread's blocked signals: the
        /// old mask is written to `oset` when not null, then `set` (when not
        /// null) is added (`SIG_BLOCK`), removed (`SIG_UNBLOCK`) or becomes
        /// the mask (`SIG_SETMASK`). SIGKILL and SIGSTOP are never blocked.
        /// Errors: `EINVAL` for a `sigsetsize` other than 8 or an unknown
        /// `how` (with a `set`); `EFAULT`.
        #[nr = 14]
        fn rt_sigprocmask(how: i32, set: UserPtr<u64>, oset: UserPtrMut<u64>, sigsetsize: usize);

        /// Returns from a signal handler: restores the registers, the blocked
        /// mask, the alternate stack and the extended state from the
        /// `rt_sigframe` at RSP - 8 (the handler's `ret` popped its return
        /// address), and returns the restored RAX. The frame is checked
        /// first: a user CS and SS only, RFLAGS only in its arithmetic, DF,
        /// TF, AC and RF bits, an extended-state area whose header and MXCSR
        /// a CPU would accept; a frame that fails (or cannot be read) ends in
        /// SIGSEGV, as on Linux.
        ///
        /// # Safety
        ///
        /// Replaces every register with the frame's.
        #[nr = 15]
        #[rewrites_frame]
        unsafe fn rt_sigreturn() -> u64;

        /// Sends signal `sig` to process `pid` (> 0), or to every process
        /// (0 or minus the process group: all processes share one group;
        /// -1: every process but the caller); `sig` 0 only checks. Errors:
        /// `EINVAL` for a signal outside `0..=64`; `ESRCH` when no such
        /// process exists.
        #[nr = 62]
        fn kill(pid: i32, sig: i32);

        /// Writes the signals pending for the calling thread (its own and
        /// the process's) that it blocks to the `sigsetsize` bytes at `set`.
        /// Errors: `EINVAL` for a `sigsetsize` above 8; `EFAULT`.
        #[nr = 127]
        fn rt_sigpending(set: UserPtrMut<u64>, sigsetsize: usize);

        /// Replaces the calling thread's blocked mask with `*mask` (SIGKILL
        /// and SIGSTOP never blocked) and waits until a signal runs a
        /// handler or ends the app; the old mask comes back when the handler
        /// returns. Always fails: `EINTR` after a handler ran. Errors:
        /// `EINVAL` for a `sigsetsize` other than 8; `EFAULT`.
        #[nr = 130]
        fn rt_sigsuspend(mask: UserPtr<u64>, sigsetsize: usize);

        /// Waits until a signal runs a handler or ends the process (Linux's
        /// `pause`). Always fails: `EINTR` after a handler ran.
        #[nr = 34]
        fn pause();

        /// Sets and gets the calling thread's alternate signal stack: the old
        /// one is written to `old_ss` when not null (`SS_ONSTACK` while the
        /// thread runs on it, `SS_DISABLE` when there is none), then `ss`
        /// (when not null) is set: `SS_DISABLE` turns it off, else it is
        /// `ss_sp..ss_sp + ss_size`, with `SS_AUTODISARM` optionally. Errors:
        /// `EPERM` while running on the current one, `EINVAL` for other
        /// flags, `ENOMEM` below `MINSIGSTKSZ` (2048); `EFAULT`.
        ///
        /// # Safety
        ///
        /// Handlers with `SA_ONSTACK` will write their frames there: it must
        /// be memory nothing else uses.
        #[nr = 131]
        unsafe fn sigaltstack(ss: UserPtr<StackT>, old_ss: UserPtrMut<StackT>);

        /// Sends signal `sig` to thread `tid` of the app (Linux's obsolete
        /// `tkill`). Errors: `EINVAL` for a `tid` below 1 or a signal outside
        /// `0..=64`; `ESRCH` when no thread of the app has that id.
        #[nr = 200]
        fn tkill(tid: i32, sig: i32);

        /// Sends signal `sig` to thread `tid` of process `tgid`. Errors:
        /// `EINVAL` for a `tgid` or `tid` below 1 or a signal outside
        /// `0..=64`; `ESRCH` when `tgid` is not the app or no thread of it has
        /// that id.
        #[nr = 234]
        fn tgkill(tgid: i32, tid: i32, sig: i32);
    }

    /// The system: its identity and random bytes (Linux's `kernel/sys.c`,
    /// `drivers/char/random.c`).
    pub trait Info {
        /// Fills `*buf` with the system's identification: the kernel's name,
        /// release and version, the machine (`"x86_64"`), and its host and
        /// domain names. Errors: `EFAULT` when `buf` is not writable app memory.
        #[nr = 63]
        fn uname(buf: UserPtrMut<Utsname>);

        /// Fills `buf[..count]` with random bytes from the kernel's generator and
        /// returns how many it wrote: all of them, up to 32 MiB - 1 per call (as
        /// Linux caps it), fewer only when `buf` stops being writable part-way.
        ///
        /// `flags` may hold `GRND_NONBLOCK`, `GRND_RANDOM` or `GRND_INSECURE`
        /// (not the last two together); they change nothing, as the generator
        /// never blocks. Errors: `EINVAL` for other flag bits, `EFAULT` when
        /// `buf` is not writable app memory.
        #[nr = 318]
        fn getrandom(buf: UserPtrMut<u8>, count: usize, flags: u32) -> usize;
    }

    /// Who the app is: user, group, process group and session ids (Linux's
    /// `kernel/sys.c`). The app is the only user there is: it runs with
    /// uid and gid 0; its first process leads the one process group and
    /// session every process is in, with no parent (ppid 0, as Linux's
    /// first process has).
    pub trait Identity {
        /// Returns the real user id: 0. Never fails.
        #[nr = 102]
        fn getuid() -> u32;

        /// Returns the real group id: 0. Never fails.
        #[nr = 104]
        fn getgid() -> u32;

        /// Returns the effective user id: 0. Never fails.
        #[nr = 107]
        fn geteuid() -> u32;

        /// Returns the effective group id: 0. Never fails.
        #[nr = 108]
        fn getegid() -> u32;

        /// Returns the parent's process id: 0 for the first process and for
        /// an orphan (its parent ended). Never fails.
        #[nr = 110]
        fn getppid() -> i32;

        /// Returns the process group id: the first process's id. Never fails.
        #[nr = 111]
        fn getpgrp() -> i32;

        /// Makes the caller a session leader. The first process already
        /// leads its process group, so this fails with `EPERM`, as on Linux;
        /// so does it for the other processes (sessions of their own are not
        /// supported).
        #[nr = 112]
        fn setsid() -> i32;

        /// Returns the process group of process `pid` (0: the caller).
        /// Errors: `ESRCH` for a pid no process has.
        #[nr = 121]
        fn getpgid(pid: i32) -> i32;

        /// Returns the session id of process `pid` (0: the caller).
        /// Errors: `ESRCH` for a pid no process has.
        #[nr = 124]
        fn getsid(pid: i32) -> i32;

        /// Returns the number of supplementary groups: 0 (the app has
        /// none), and copies none into `list`. Errors: `EINVAL` for a
        /// negative `size` (Linux's `getgroups` in `kernel/groups.c`).
        #[nr = 115]
        fn getgroups(size: i32, list: UserPtrMut<u32>) -> i32;
    }

    /// Resource limits and usage, and the system's figures (Linux's
    /// `kernel/sys.c`).
    pub trait Limits {
        /// Writes the limits of resource `resource` (`RLIMIT_*`) to `*rlim`.
        /// Errors: `EINVAL` for an unknown resource, `EFAULT`.
        #[nr = 97]
        fn getrlimit(resource: u32, rlim: UserPtrMut<Rlimit>);

        /// Writes the resource usage of `who` (`RUSAGE_SELF`,
        /// `RUSAGE_THREAD`, `RUSAGE_CHILDREN`) to `*usage`: the largest
        /// resident set (KiB) and the CPU time the app's threads (or the
        /// calling thread) ran, all of it as `ru_utime` (the kernel does not
        /// split user from system time; `ru_stime` reads 0); the other
        /// counters read 0 (there are no children, page-ins or context-switch
        /// counts). Errors: `EINVAL` for another `who`, `EFAULT`.
        #[nr = 98]
        fn getrusage(who: i32, usage: UserPtrMut<Rusage>);

        /// Writes the system's figures to `*info`: uptime, memory (total and
        /// free frames, `mem_unit` 1), the app's thread count as `procs`;
        /// load averages are not computed (0), there is no swap. Errors:
        /// `EFAULT`.
        #[nr = 99]
        fn sysinfo(info: UserPtrMut<Sysinfo>);

        /// Writes the process times in clock ticks (`AT_CLKTCK`, 100 a
        /// second) to `*buf` if not null (the CPU time of the app's threads as
        /// `tms_utime`, as in `getrusage`; the others 0), and returns the ticks
        /// since boot. Errors: `EFAULT`.
        #[nr = 100]
        fn times(buf: UserPtrMut<Tms>) -> u64;

        /// Gets and sets resource limits of process `pid` (0: the caller):
        /// writes the limits of `resource` to `*old_limit` when not null (the
        /// limits before the change); then sets `*new_limit` when not null.
        /// `RLIMIT_NOFILE` may change freely up to a hard limit of 1024 (the
        /// descriptor table's ceiling; above it `EPERM`, as Linux above
        /// `nr_open`), and the descriptor calls enforce its soft limit; the
        /// other limits are fixed (the kernel could not honour another
        /// value): any change fails with `EPERM`. Errors: `EINVAL` for an
        /// unknown resource or a soft limit above the hard one, `ESRCH` for
        /// another process, `EFAULT`.
        #[nr = 302]
        fn prlimit64(pid: i32, resource: u32, new_limit: UserPtr<Rlimit>, old_limit: UserPtrMut<Rlimit>);
    }

    /// Nice values (Linux's `getpriority`/`setpriority` in `kernel/sys.c`).
    /// Each thread has one, -20 (most favoured) to 19, 0 at start, inherited
    /// by the threads it creates; the scheduler does not weigh it (every
    /// ready thread gets equal slices), the calls keep and report it. `who`
    /// 0 means the caller's thread, process group or user; else a thread id
    /// of the app (`PRIO_PROCESS`), its pid (`PRIO_PGRP`), or uid 0
    /// (`PRIO_USER`). Errors: `EINVAL` for another `which`, `ESRCH` when
    /// nothing matches `who`.
    pub trait Priorities {
        /// Returns `20 - nice` of the matching thread (the highest among
        /// several), 1 to 40, as Linux's system call does (libc turns it
        /// into the nice value).
        #[nr = 140]
        fn getpriority(which: i32, who: i32) -> i32;

        /// Sets the nice value of the matching threads to `niceval`,
        /// clamped to -20..=19. The app runs as root (`CAP_SYS_NICE`), so
        /// lowering it is allowed.
        #[nr = 141]
        fn setpriority(which: i32, who: i32, niceval: i32);
    }

    /// Interval timers (Linux's `kernel/time/itimer.c`, `alarm` in
    /// `kernel/time/itimer.c`): one `ITIMER_REAL` per process, which sends
    /// `SIGALRM` to the process at each expiry and reloads itself with its
    /// interval (0: it stops). `ITIMER_VIRTUAL` and `ITIMER_PROF` (CPU-time
    /// timers) are not implemented: `EINVAL`, as for an unknown timer.
    pub trait IntervalTimers {
        /// Writes timer `which`'s interval and the time left to its next
        /// expiry (0: disarmed) to `*value`. Errors: `EINVAL`, `EFAULT`.
        #[nr = 36]
        fn getitimer(which: i32, value: UserPtrMut<Itimerval>);

        /// Arms timer `which` with `*new_value` (an `it_value` of 0
        /// disarms it; a null `new_value` too, as Linux still accepts),
        /// first writing the old setting to `*old_value` when not null.
        /// Errors: `EINVAL` for a negative time or microseconds outside
        /// 0..1000000, `EFAULT`, `ENOMEM` when no timer can be armed.
        #[nr = 38]
        fn setitimer(which: i32, new_value: UserPtr<Itimerval>, old_value: UserPtrMut<Itimerval>);

        /// Arms `ITIMER_REAL` for `seconds` (0: disarms it), one shot, and
        /// returns the seconds that were left on it (rounded to the
        /// nearest, at least 1 while it was armed), as Linux's `alarm`.
        #[nr = 37]
        fn alarm(seconds: u32) -> u32;
    }

    /// Locking memory in and asking what is resident (Linux's
    /// `mm/mlock.c`, `mm/mincore.c`). Pages here never leave memory once
    /// faulted in (there is no swap), so locking a range faults it in;
    /// unlocking changes nothing. Ranges are rounded out to whole pages.
    pub trait MemoryLocks {
        /// Faults in every page of `addr..addr + len`. Errors: `ENOMEM`
        /// when part of the range is not mapped (or memory runs out),
        /// `EINVAL` for a range that wraps.
        #[nr = 149]
        fn mlock(addr: usize, len: usize);

        /// `mlock` with `flags`: `MLOCK_ONFAULT` (pages are locked as
        /// they are touched: nothing is faulted in now). `EINVAL` for
        /// other flags.
        #[nr = 325]
        fn mlock2(addr: usize, len: usize, flags: u32);

        /// Unlocks `addr..addr + len`. Errors: `ENOMEM` as `mlock`.
        #[nr = 150]
        fn munlock(addr: usize, len: usize);

        /// `MCL_CURRENT` faults in every mapped page; `MCL_FUTURE` (pages
        /// come in on first touch, and stay) and `MCL_ONFAULT` are
        /// accepted. `EINVAL` for no flag, an unknown one or
        /// `MCL_ONFAULT` alone; `ENOMEM` when memory runs out.
        #[nr = 151]
        fn mlockall(flags: i32);

        /// Unlocks everything. Never fails.
        #[nr = 152]
        fn munlockall();

        /// Writes one byte per page of `addr..addr + len` to `vec`: 1 if
        /// the page is resident, 0 if not (yet). Errors: `EINVAL` for an
        /// unaligned `addr`, `ENOMEM` for a range not wholly mapped,
        /// `EFAULT` for an unwritable `vec`.
        #[nr = 27]
        fn mincore(addr: usize, len: usize, vec: UserPtrMut<u8>);
    }

    /// The older time calls and clock sleeps (Linux's `kernel/time/`).
    pub trait Clocks {
        /// Writes the wall-clock time to `*tv` and zeros (UTC) to `*tz`, each
        /// when not null. Errors: `EFAULT`.
        #[nr = 96]
        fn gettimeofday(tv: UserPtrMut<Timeval>, tz: UserPtrMut<Timezone>);

        /// Returns the wall-clock time in seconds since the epoch, also
        /// written to `*tloc` when not null. Errors: `EFAULT`.
        #[nr = 201]
        fn time(tloc: UserPtrMut<i64>) -> i64;

        /// Writes the resolution of clock `clock` to `*res` when not null:
        /// 1 ns for the clocks `clock_gettime` supports. Errors: `EINVAL`
        /// for another clock, `EFAULT`.
        #[nr = 229]
        fn clock_getres(clock: i32, res: UserPtrMut<Timespec>);

        /// Sleeps on clock `clock` (`CLOCK_REALTIME`, `CLOCK_MONOTONIC`,
        /// `CLOCK_BOOTTIME`) for `*req`, or until the absolute time `*req`
        /// with `TIMER_ABSTIME` (1) in `flags`. Ends early (`EINTR`) only
        /// when the app is ending; `rem` is then not written. Other `flags`
        /// bits are ignored, as Linux ignores them. Errors: `EINVAL` for an
        /// invalid `*req` or another clock (`ENOTSUP` for the CPU-time
        /// clocks), `EFAULT`.
        #[nr = 230]
        fn clock_nanosleep(clock: i32, flags: i32, req: UserPtr<Timespec>, rem: UserPtrMut<Timespec>);
    }

    /// What C and Rust runtimes ask of the kernel for their threads:
    /// robust futex lists, restartable sequences, `clone3`, memory barriers
    /// (Linux's `kernel/futex/`, `kernel/rseq.c`, `kernel/fork.c`,
    /// `kernel/sched/membarrier.c`).
    pub trait ThreadRuntime {
        /// Registers the calling thread's robust futex list: when the thread
        /// ends, every futex on the list it still owns gets
        /// `FUTEX_OWNER_DIED` and one waiter is woken (Linux's
        /// `exit_robust_list`). Errors: `EINVAL` when `len` is not 24 (the
        /// size of `struct robust_list_head`).
        #[nr = 273]
        fn set_robust_list(head: UserPtrMut<RobustListHead>, len: usize);

        /// Writes the robust list head of thread `tid` (0: the caller; a
        /// thread of the app) to `*head` and its size to `*len`. Errors:
        /// `ESRCH` for another tid, `EFAULT`.
        #[nr = 274]
        fn get_robust_list(tid: i32, head: UserPtrMut<u64>, len: UserPtrMut<usize>);

        /// Issues memory barriers on the CPUs running the app's threads:
        /// `MEMBARRIER_CMD_QUERY` returns the supported commands;
        /// `GLOBAL`, `GLOBAL_EXPEDITED` and `PRIVATE_EXPEDITED` (after
        /// `REGISTER_PRIVATE_EXPEDITED`, else `EPERM`) interrupt every other
        /// online CPU and wait for it; the `REGISTER_*` commands return 0.
        /// `cpu_id` is unused (no `MEMBARRIER_CMD_FLAG_CPU`). Errors:
        /// `EINVAL` for other commands or nonzero `flags`.
        #[nr = 324]
        fn membarrier(cmd: i32, flags: u32, cpu_id: i32) -> i32;

        /// Restartable sequences are not supported: `ENOSYS`, what kernels
        /// before 4.18 answer (glibc and others then do without).
        #[nr = 334]
        fn rseq(rseq: UserPtrMut<u8>, len: u32, flags: i32, sig: u32);

        /// Not supported: `ENOSYS`, what kernels before 5.3 answer; C
        /// libraries then use `clone`.
        #[nr = 435]
        fn clone3(args: UserPtrMut<u8>, size: usize) -> i32;
    }

    /// Advice on and moves of anonymous memory (Linux's `mm/madvise.c`,
    /// `mm/mremap.c`).
    pub trait MemoryAdvice {
        /// Resizes (and, with `MREMAP_MAYMOVE`, moves) the mapping
        /// `old_address..+old_size`, which must lie in one anonymous mapping
        /// (`mmap`), and returns its new address. Shrinking unmaps the tail;
        /// growing extends it in place when the pages after it are free,
        /// else moves it (with `MREMAP_MAYMOVE`; to `new_address` with
        /// `MREMAP_FIXED` too), its contents with it. Errors: `EINVAL` for an
        /// unaligned address, a zero `new_size`, unknown flags, `MREMAP_FIXED`
        /// without `MREMAP_MAYMOVE`, `MREMAP_DONTUNMAP` (not supported), an
        /// overlapping fixed target; `EFAULT` when the old range is not one
        /// anonymous mapping; `ENOMEM` when it cannot grow in place and may
        /// not move, or memory runs out.
        ///
        /// # Safety
        ///
        /// The old range's contents move: nothing Rust uses may refer to
        /// them, and a fixed target is replaced as with `MAP_FIXED`.
        #[nr = 25]
        unsafe fn mremap(old_address: usize, old_size: usize, new_size: usize, flags: i32, new_address: usize)
        -> usize;

        /// Advice about `addr..addr + length` (`addr` page-aligned, the
        /// length rounded up to pages): `MADV_DONTNEED` and `MADV_FREE` drop
        /// the pages of anonymous memory (later reads see zeros); the hints
        /// (`NORMAL`, `RANDOM`, `SEQUENTIAL`, `WILLNEED`, `DONTFORK`,
        /// `DOFORK`, `HUGEPAGE`, `NOHUGEPAGE`, `DONTDUMP`, `DODUMP`,
        /// `WIPEONFORK`, `KEEPONFORK`, `COLD`, `PAGEOUT`, `POPULATE_READ`,
        /// `POPULATE_WRITE`) change nothing here. Errors: `EINVAL` for an
        /// unaligned `addr`, other advice, or `DONTNEED`/`FREE` on the
        /// program's own image (its file contents could not come back);
        /// `ENOMEM` when part of the range is not mapped.
        ///
        /// # Safety
        ///
        /// `DONTNEED` and `FREE` zero the range: nothing Rust uses may be
        /// there.
        #[nr = 28]
        unsafe fn madvise(addr: usize, length: usize, advice: i32);
    }

    /// Sockets: TCP and UDP over IPv4 and IPv6 (Linux's `net/socket.c`,
    /// `net/ipv4/af_inet.c`, `net/ipv4/tcp.c`, `net/ipv4/udp.c`). A socket is
    /// a file descriptor: `read`, `write`, `readv`, `writev`, `close`,
    /// `fcntl(F_SETFL, O_NONBLOCK)` and `ioctl(FIONBIO)` work on it.
    /// Addresses are `struct sockaddr_in`/`sockaddr_in6`
    /// ([`crate::net_types`]); an address argument that is not readable app
    /// memory gives `EFAULT`, a length too short for its family or over 128
    /// bytes `EINVAL`, a family other than `AF_INET`/`AF_INET6`
    /// `EAFNOSUPPORT`. Blocking calls wait until they can go on, their
    /// timeout (`SO_RCVTIMEO`/`SO_SNDTIMEO`: `EAGAIN`) or the app's end
    /// (`EINTR`); `shutdown` of the socket wakes them.
    pub trait Sockets {
        /// Creates a socket of `domain` (`AF_INET`, `AF_INET6`; others
        /// `EAFNOSUPPORT`) and `type` (`SOCK_STREAM`, `SOCK_DGRAM`, with
        /// `SOCK_NONBLOCK`, `SOCK_CLOEXEC`; others `ESOCKTNOSUPPORT`/`EINVAL`),
        /// `protocol` 0 or the type's own (`IPPROTO_TCP`/`IPPROTO_UDP`, else
        /// `EPROTONOSUPPORT`). Returns the lowest free descriptor. `EMFILE`
        /// at the descriptor limit, `ENOBUFS` at the sockets limit, `ENETDOWN`
        /// without a network card.
        #[nr = 41]
        fn socket(domain: i32, kind: i32, protocol: i32) -> i32;

        /// Connects `fd` to `addr` (`addrlen` bytes). A stream socket waits
        /// for the handshake (`ECONNREFUSED`, `ETIMEDOUT`); non-blocking, it
        /// answers `EINPROGRESS` and `SO_ERROR` later gives the outcome
        /// (`EALREADY` while under way, `EISCONN` once connected). A datagram
        /// socket sets its peer.
        #[nr = 42]
        fn connect(fd: i32, addr: UserPtr<u8>, addrlen: u32);

        /// `accept4` without flags.
        #[nr = 43]
        fn accept(fd: i32, addr: UserPtrMut<u8>, addrlen: UserPtrMut<u32>) -> i32;

        /// Sends `len` bytes from `buf`, to `addr` if given (datagram sockets;
        /// ignored on a connected stream). `flags`: `MSG_DONTWAIT`,
        /// `MSG_NOSIGNAL` (no `SIGPIPE` with `EPIPE`: this kernel has no
        /// signals, so it never sends one). A datagram too big for one frame
        /// (1472 bytes over IPv4, 1452 over IPv6: no IP fragmentation) is
        /// `EMSGSIZE`.
        #[nr = 44]
        fn sendto(fd: i32, buf: UserPtr<u8>, len: usize, flags: i32, addr: UserPtr<u8>, addrlen: u32) -> usize;

        /// Receives up to `len` bytes into `buf`; the source address into
        /// `addr` (`*addrlen` bytes at most; `*addrlen` becomes the full
        /// length) if `addr` is not null. `flags`: `MSG_DONTWAIT`,
        /// `MSG_PEEK`, `MSG_TRUNC` (a datagram's whole length is returned),
        /// `MSG_WAITALL`.
        #[nr = 45]
        fn recvfrom(
            fd: i32,
            buf: UserPtrMut<u8>,
            len: usize,
            flags: i32,
            addr: UserPtrMut<u8>,
            addrlen: UserPtrMut<u32>,
        ) -> usize;

        /// `sendto` with the buffers and address of a `struct msghdr`
        /// (ancillary data is ignored).
        #[nr = 46]
        fn sendmsg(fd: i32, msg: UserPtr<MsgHdr>, flags: i32) -> usize;

        /// `recvfrom` into the buffers of a `struct msghdr`; `msg_flags` gets
        /// `MSG_TRUNC` for a cut datagram; no ancillary data
        /// (`msg_controllen` becomes 0).
        #[nr = 47]
        fn recvmsg(fd: i32, msg: UserPtrMut<MsgHdr>, flags: i32) -> usize;

        /// Shuts down reading (`SHUT_RD`), writing (`SHUT_WR`: sends FIN) or
        /// both; wakes the socket's blocked calls. `ENOTCONN` if not connected.
        #[nr = 48]
        fn shutdown(fd: i32, how: i32);

        /// Binds `fd` to `addr`: `EADDRINUSE` if the port is taken (see
        /// `SO_REUSEADDR`, `SO_REUSEPORT`), `EADDRNOTAVAIL` for an address not
        /// ours, `EINVAL` if already bound. Port 0 picks a free one.
        #[nr = 49]
        fn bind(fd: i32, addr: UserPtr<u8>, addrlen: u32);

        /// Listens with a backlog of `backlog` connections (at most 64: more
        /// connections than that waiting for `accept` are refused with RST).
        #[nr = 50]
        fn listen(fd: i32, backlog: i32);

        /// The socket's own address into `addr` (see `recvfrom` for `addrlen`).
        #[nr = 51]
        fn getsockname(fd: i32, addr: UserPtrMut<u8>, addrlen: UserPtrMut<u32>);

        /// The peer's address (`ENOTCONN` if none).
        #[nr = 52]
        fn getpeername(fd: i32, addr: UserPtrMut<u8>, addrlen: UserPtrMut<u32>);

        /// Sets an option: `SOL_SOCKET` `SO_REUSEADDR`, `SO_REUSEPORT`,
        /// `SO_KEEPALIVE`, `SO_RCVBUF`, `SO_SNDBUF` (2 KiB..1 MiB; a connection
        /// made later gets it), `SO_RCVTIMEO`, `SO_SNDTIMEO` (`struct
        /// timeval`), `SO_LINGER` (accepted, ignored), `SO_BROADCAST`;
        /// `IPPROTO_TCP` `TCP_NODELAY`; `IPPROTO_IPV6` `IPV6_V6ONLY`. Others
        /// `ENOPROTOOPT`; a short `optlen` `EINVAL`.
        #[nr = 54]
        fn setsockopt(fd: i32, level: i32, name: i32, value: UserPtr<u8>, optlen: u32);

        /// Reads an option: those of `setsockopt`, and `SO_ERROR` (the pending
        /// error, cleared), `SO_TYPE`, `SO_DOMAIN`, `SO_PROTOCOL`,
        /// `SO_ACCEPTCONN`. `*optlen` is the room at `value` and becomes the
        /// length written.
        #[nr = 55]
        fn getsockopt(fd: i32, level: i32, name: i32, value: UserPtrMut<u8>, optlen: UserPtrMut<u32>);

        /// Takes the next connection of listening socket `fd` (waiting for one
        /// unless non-blocking: `EAGAIN`), as a new descriptor; the peer's
        /// address into `addr` if not null. `flags`: `SOCK_NONBLOCK`,
        /// `SOCK_CLOEXEC` (others `EINVAL`). `EINVAL` if `fd` does not listen.
        #[nr = 288]
        fn accept4(fd: i32, addr: UserPtrMut<u8>, addrlen: UserPtrMut<u32>, flags: i32) -> i32;
    }

    /// The test suite's and the benchmark's hooks into the kernel: not part
    /// of the ABI. Only kernels built for tests or the benchmark implement
    /// them; a production kernel answers their numbers with `-ENOSYS`, like
    /// any number it has no call for.
    #[hooks]
    pub trait Hooks {
        /// Tells the kernel about test number `index` of the app's test runner:
        /// its name (`name_len` bytes of UTF-8 at `name`,
        /// `"<module path>::<function>"`) and how it must end, encoded as
        /// [`Expect::to_raw`](crate::test::Expect::to_raw) gives `expect_kind`
        /// and `expect_arg`.
        ///
        /// The app's `#[libos::test]` runner registers every test before running
        /// them, so the kernel can report each test and judge those that must
        /// raise a CPU exception (which ends the app: only the kernel sees it).
        /// Only the kind and the fault vector cross: a `should_panic` message is
        /// checked by the app. Not a Linux call. Errors: `EINVAL` for an unknown
        /// kind or vector, a name that is not UTF-8 or an `index` registered
        /// before; `EFAULT` when the name is not readable app memory.
        #[nr = 1024]
        fn libos_test_register(index: u64, name: UserPtr<u8>, name_len: usize, expect_kind: u32, expect_arg: u64);

        /// Runs diagnostic operation `op` of the kernel with arguments `arg0` and
        /// `arg1` and returns its result.
        ///
        /// A hook for the boot-time test suite and the benchmark, which define
        /// the operations (`crate::debug`: checking kernel state from ring 3,
        /// provoking a condition to test); not for ordinary apps. Not a Linux
        /// call. Errors: `EINVAL` for an operation the kernel does not define,
        /// or what the operation returns.
        ///
        /// # Safety
        ///
        /// An operation may do anything the test suite defines, faults and
        /// changes to the app's memory included: the caller must know what `op`
        /// does and uphold what it requires.
        #[nr = 1025]
        #[rewrites_frame]
        unsafe fn libos_debug(op: u64, arg0: u64, arg1: u64) -> u64;
    }

    /// Calls on file descriptors: the per-process table (the console is 0,
    /// 1 and 2), reading and writing at an offset or in vectors, seeking,
    /// duplicating, flags, pipes, and the calls on an opened file (Linux's
    /// `fs/read_write.c`, `fs/file.c`, `fs/fcntl.c`, `fs/pipe.c`, `fs/open.c`,
    /// `fs/stat.c`, `fs/readdir.c`, `fs/sync.c`). Errors common to all:
    /// `EBADF` for a number that is not an open descriptor, `EFAULT` for app
    /// memory that cannot be read or written.
    pub trait Descriptors {
        /// Closes `fd`; the file description goes with its last descriptor.
        #[nr = 3]
        fn close(fd: i32);

        /// Moves the offset of `fd`'s description: to `offset` (`SEEK_SET`),
        /// by `offset` (`SEEK_CUR`), or to the end plus `offset` (`SEEK_END`);
        /// returns the new offset. `EINVAL` for another `whence` or a negative
        /// result, `ESPIPE` for a pipe or the console.
        #[nr = 8]
        fn lseek(fd: i32, offset: i64, whence: i32) -> i64;

        /// Reads up to `count` bytes at `offset`, leaving the description's
        /// offset alone. `ESPIPE` for a pipe or the console, `EINVAL` for a
        /// negative offset, `EISDIR` for a directory.
        #[nr = 17]
        fn pread64(fd: i32, buf: UserPtrMut<u8>, count: usize, offset: i64) -> usize;

        /// Writes `count` bytes at `offset` (at the end with `O_APPEND`, as
        /// Linux does), leaving the offset alone. `ESPIPE`, `EINVAL` as
        /// `pread64`; `ENOSPC` when the file system is full.
        #[nr = 18]
        fn pwrite64(fd: i32, buf: UserPtr<u8>, count: usize, offset: i64) -> usize;

        /// Reads into `iovcnt` buffers (`struct iovec`) in order; returns the
        /// total. `EINVAL` for `iovcnt` over 1024 or a total over `isize::MAX`.
        #[nr = 19]
        fn readv(fd: i32, iov: UserPtr<Iovec>, iovcnt: i32) -> usize;

        /// Writes from `iovcnt` buffers in order; returns the total.
        #[nr = 20]
        fn writev(fd: i32, iov: UserPtr<Iovec>, iovcnt: i32) -> usize;

        /// Copies up to `count` bytes from `in_fd` (a file: not a pipe, the
        /// console or a socket, `EINVAL`) to `out_fd` (any file open for
        /// writing), in the kernel; returns the bytes copied (Linux's
        /// `do_sendfile`). With `offset` NULL it reads at `in_fd`'s offset and
        /// moves it; else at `*offset`, which it advances, leaving `in_fd`'s
        /// offset alone (`ESPIPE` if `in_fd` cannot seek, `EINVAL` if `*offset`
        /// is negative). `EBADF` when `in_fd` is not open for reading or
        /// `out_fd` for writing, `EINVAL` when `out_fd` has `O_APPEND`.
        #[nr = 40]
        fn sendfile(out_fd: i32, in_fd: i32, offset: UserPtrMut<i64>, count: usize) -> usize;

        /// Makes a pipe: `fds[0]` reads, `fds[1]` writes (64 KiB buffer).
        /// `EMFILE` when the table is full.
        #[nr = 22]
        fn pipe(fds: UserPtrMut<i32>);

        /// A new descriptor (the lowest free) for `fd`'s description.
        /// `EMFILE` when the table is full.
        #[nr = 32]
        fn dup(fd: i32) -> i32;

        /// Makes `newfd` a descriptor of `oldfd`'s description, closing what
        /// `newfd` was; returns `newfd` (`oldfd` equal to `newfd`: nothing,
        /// if valid). `EBADF` for `newfd` outside the table's limit.
        #[nr = 33]
        fn dup2(oldfd: i32, newfd: i32) -> i32;

        /// A device request `cmd` with argument `arg` (Linux's `do_vfs_ioctl`,
        /// then the file's own): for every descriptor `FIONBIO` (`*arg`, an
        /// int, sets or clears `O_NONBLOCK`), `FIOCLEX`/`FIONCLEX`
        /// (`FD_CLOEXEC`); for a socket `FIONREAD` (bytes waiting, an int at
        /// `arg`). Others `ENOTTY`; `EFAULT` for a bad `arg` pointer.
        #[nr = 16]
        fn ioctl(fd: i32, cmd: u32, arg: u64) -> i64;

        /// `F_DUPFD`/`F_DUPFD_CLOEXEC` (the lowest free descriptor at least
        /// `arg`), `F_GETFD`/`F_SETFD` (`FD_CLOEXEC`), `F_GETFL`/`F_SETFL`
        /// (access mode and status flags; only `O_APPEND` and `O_NONBLOCK`
        /// change), `F_GETPIPE_SZ`; POSIX record locks with a `struct flock`
        /// at `arg`: `F_GETLK`/`F_SETLK`/`F_SETLKW` (owned by the process)
        /// and `F_OFD_GETLK`/`F_OFD_SETLK`/`F_OFD_SETLKW` (owned by the open
        /// file description), as Linux's `fs/locks.c`. `EINVAL` for other
        /// commands and for `arg` past the limit.
        #[nr = 72]
        fn fcntl(fd: i32, cmd: i32, arg: u64) -> i32;

        /// Writes the file's data and metadata to stable storage (the disk:
        /// a device flush). `EINVAL` for a pipe or the console.
        #[nr = 74]
        fn fsync(fd: i32);

        /// As `fsync` (our file systems have no cheaper data-only sync).
        #[nr = 75]
        fn fdatasync(fd: i32);

        /// Sets the size of the regular file open for writing on `fd`.
        /// `EINVAL` for a negative size or a file not open for writing,
        /// `EFBIG`, `ENOSPC`.
        #[nr = 77]
        fn ftruncate(fd: i32, length: i64);

        /// Makes the directory open on `fd` the current directory. `ENOTDIR`.
        #[nr = 81]
        fn fchdir(fd: i32);

        /// Changes the permission bits of the file open on `fd`. `EROFS`.
        #[nr = 91]
        fn fchmod(fd: i32, mode: u32);

        /// Changes the owner and group of the file open on `fd` (`u32::MAX`,
        /// C's -1, leaves one alone) and clears the set-user-ID bit (and
        /// set-group-ID with group execute) of anything but a directory, as
        /// Linux's `chown_common`. The app is root: any ids. `EBADF` for an
        /// `O_PATH` descriptor or one that is not a file on a mount, `EROFS`.
        #[nr = 93]
        fn fchown(fd: i32, owner: u32, group: u32);

        /// Takes or drops a whole-file advisory lock on the file open on
        /// `fd` (Linux's `fs/locks.c`): `LOCK_SH` (shared), `LOCK_EX`
        /// (exclusive) or `LOCK_UN`, with `LOCK_NB` not to wait. Locks
        /// belong to the open file description: two opens of one file
        /// conflict (in one process too), `dup`s share; the description's
        /// last close drops them. Asking for the other kind drops the held
        /// lock first, as Linux does. A wait ends with the lock, or with
        /// `EINTR` for a signal (a restart under `SA_RESTART`). Errors:
        /// `EINVAL` for another operation, `EBADF` (also for `O_PATH`),
        /// `EWOULDBLOCK` with `LOCK_NB` when another description's lock
        /// conflicts, `ENOMEM`.
        #[nr = 73]
        fn flock(fd: i32, operation: i32);

        /// Allocates the storage of `offset..offset + len` of the regular
        /// file open for writing on `fd` (Linux's `vfs_fallocate`): mode 0
        /// also grows the file to `offset + len` (zeros);
        /// `FALLOC_FL_KEEP_SIZE` (1) leaves the size (the RAM file system
        /// only: `EOPNOTSUPP` on ext2). Later writes in the range do not
        /// fail for space. Errors, in Linux's order: `EBADF`, `EINVAL` for
        /// a negative offset or a length not above 0, `EOPNOTSUPP` for any
        /// other mode bit (punching holes, zeroing, collapsing and inserting
        /// ranges are not implemented), `EBADF` when not open for writing,
        /// `ESPIPE` for a pipe, `EISDIR`, `ENODEV` for anything but a
        /// regular file, `EFBIG` past the largest file, `ENOSPC`, `EROFS`.
        #[nr = 285]
        fn fallocate(fd: i32, mode: i32, offset: i64, len: i64);

        /// Fills `*buf` with `struct stat` of the file open on `fd`.
        #[nr = 5]
        fn fstat(fd: i32, buf: UserPtrMut<Stat>);

        /// Fills `*buf` with `struct statfs` of the file system `fd` is on.
        #[nr = 138]
        fn fstatfs(fd: i32, buf: UserPtrMut<Statfs>);

        /// Fills `buf[..count]` with `struct linux_dirent64` records of the
        /// directory open on `fd`, from its offset; returns the bytes filled
        /// (0 at the end). `ENOTDIR`, `EINVAL` when one record does not fit.
        #[nr = 217]
        fn getdents64(fd: i32, buf: UserPtrMut<u8>, count: usize) -> usize;

        /// `dup2` with `flags` (`O_CLOEXEC` only); `EINVAL` when `oldfd`
        /// equals `newfd` or for other flags.
        #[nr = 292]
        fn dup3(oldfd: i32, newfd: i32, flags: i32) -> i32;

        /// `pipe` with `flags` (`O_CLOEXEC`, `O_NONBLOCK`; others `EINVAL`).
        #[nr = 293]
        fn pipe2(fds: UserPtrMut<i32>, flags: i32);

        /// Advice on how the file will be read (`posix_fadvise`): taken and
        /// ignored (there is no page cache to prefetch into or drop), after
        /// Linux's checks (`ksys_fadvise64_64`, `generic_fadvise` in
        /// `mm/fadvise.c`): `ESPIPE` for a pipe, `EINVAL` for a negative
        /// length or an unknown advice (0 to 5 are known).
        #[nr = 221]
        fn fadvise64(fd: i32, offset: i64, len: i64, advice: i32);
    }

    /// Calls on paths: opening, creating, removing, renaming, links, the
    /// attributes, the current directory and the umask (Linux's
    /// `fs/namei.c`, `fs/open.c`, `fs/stat.c`, `fs/statfs.c`, `fs/utimes.c`,
    /// `fs/d_path.c`). A path is at most `PATH_MAX` (4096) bytes with its
    /// NUL (`ENAMETOOLONG`), a component at most 255 (`ENAMETOOLONG`); `..`
    /// never leaves `/`; symbolic links are followed 40 deep at most
    /// (`ELOOP`). `dirfd` is `AT_FDCWD` or a directory's descriptor
    /// (`EBADF`, `ENOTDIR`), ignored for an absolute path. Apps run as root:
    /// permission bits are kept but not checked. A change on a read-only
    /// mount gives `EROFS` (as Linux does; not `EACCES`). Common errors:
    /// `ENOENT`, `ENOTDIR`, `EFAULT`, `ENAMETOOLONG`, `ELOOP`.
    pub trait Files {
        /// `openat(AT_FDCWD, path, flags, mode)`.
        #[nr = 2]
        fn open(path: UserPtr<u8>, flags: i32, mode: u32) -> i32;

        /// `newfstatat(AT_FDCWD, path, buf, 0)`.
        #[nr = 4]
        fn stat(path: UserPtr<u8>, buf: UserPtrMut<Stat>);

        /// `newfstatat(AT_FDCWD, path, buf, AT_SYMLINK_NOFOLLOW)`.
        #[nr = 6]
        fn lstat(path: UserPtr<u8>, buf: UserPtrMut<Stat>);

        /// `faccessat(AT_FDCWD, path, mode)`.
        #[nr = 21]
        fn access(path: UserPtr<u8>, mode: i32);

        /// `truncate`: sets the size of the regular file `path`. `EISDIR`,
        /// `EINVAL` for a negative size, `EROFS`.
        #[nr = 76]
        fn truncate(path: UserPtr<u8>, length: i64);

        /// Copies the current directory's absolute path, with its NUL, to
        /// `buf[..size]`; returns its length with the NUL. `ERANGE` when it
        /// does not fit, `ENOENT` when the directory was removed.
        #[nr = 79]
        fn getcwd(buf: UserPtrMut<u8>, size: usize) -> usize;

        /// Makes the directory `path` the current directory.
        #[nr = 80]
        fn chdir(path: UserPtr<u8>);

        /// `renameat2(AT_FDCWD, old, AT_FDCWD, new, 0)`.
        #[nr = 82]
        fn rename(old: UserPtr<u8>, new: UserPtr<u8>);

        /// `mkdirat(AT_FDCWD, path, mode)`.
        #[nr = 83]
        fn mkdir(path: UserPtr<u8>, mode: u32);

        /// `unlinkat(AT_FDCWD, path, AT_REMOVEDIR)`.
        #[nr = 84]
        fn rmdir(path: UserPtr<u8>);

        /// `openat(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode)`.
        #[nr = 85]
        fn creat(path: UserPtr<u8>, mode: u32) -> i32;

        /// `linkat(AT_FDCWD, old, AT_FDCWD, new, 0)`.
        #[nr = 86]
        fn link(old: UserPtr<u8>, new: UserPtr<u8>);

        /// `unlinkat(AT_FDCWD, path, 0)`.
        #[nr = 87]
        fn unlink(path: UserPtr<u8>);

        /// `symlinkat(target, AT_FDCWD, path)`.
        #[nr = 88]
        fn symlink(target: UserPtr<u8>, path: UserPtr<u8>);

        /// `readlinkat(AT_FDCWD, path, buf, size)`.
        #[nr = 89]
        fn readlink(path: UserPtr<u8>, buf: UserPtrMut<u8>, size: usize) -> usize;

        /// `fchmodat(AT_FDCWD, path, mode)`.
        #[nr = 90]
        fn chmod(path: UserPtr<u8>, mode: u32);

        /// Sets the file creation mask to `mask & 0o777`; returns the old one.
        #[nr = 95]
        fn umask(mask: u32) -> u32;

        /// Fills `*buf` with `struct statfs` of the file system `path` is on.
        #[nr = 137]
        fn statfs(path: UserPtr<u8>, buf: UserPtrMut<Statfs>);

        /// Opens (with `O_CREAT` creates, permission bits `mode & ~umask`)
        /// `path`; returns the lowest free descriptor. `EEXIST` (`O_CREAT |
        /// O_EXCL`), `EISDIR` (a directory opened for writing), `ENOTDIR`
        /// (`O_DIRECTORY`), `ELOOP` (`O_NOFOLLOW` on a symbolic link),
        /// `EINVAL` (`O_CREAT | O_DIRECTORY`, `O_TMPFILE`), `EMFILE`, `ENOSPC`.
        #[nr = 257]
        fn openat(dirfd: i32, path: UserPtr<u8>, flags: i32, mode: u32) -> i32;

        /// Makes the directory `path` (`mode & ~umask`). `EEXIST`, `ENOSPC`.
        #[nr = 258]
        fn mkdirat(dirfd: i32, path: UserPtr<u8>, mode: u32);

        /// Fills `*buf` with `struct stat` of `path`; `flags`:
        /// `AT_SYMLINK_NOFOLLOW`, `AT_EMPTY_PATH` (an empty path names
        /// `dirfd` itself), `AT_NO_AUTOMOUNT`; others `EINVAL`.
        #[nr = 262]
        fn newfstatat(dirfd: i32, path: UserPtr<u8>, buf: UserPtrMut<Stat>, flags: i32);

        /// Removes the name `path` (`AT_REMOVEDIR`: the empty directory).
        /// `EISDIR`, `ENOTDIR`, `ENOTEMPTY`, `EBUSY` (a mount point).
        #[nr = 263]
        fn unlinkat(dirfd: i32, path: UserPtr<u8>, flags: i32);

        /// `renameat2(olddirfd, old, newdirfd, new, 0)`.
        #[nr = 264]
        fn renameat(olddirfd: i32, old: UserPtr<u8>, newdirfd: i32, new: UserPtr<u8>);

        /// Adds the name `new` for the file `old` (`AT_SYMLINK_FOLLOW`
        /// follows a link in `old`). `EXDEV` across mounts, `EPERM` for a
        /// directory, `EEXIST`.
        #[nr = 265]
        fn linkat(olddirfd: i32, old: UserPtr<u8>, newdirfd: i32, new: UserPtr<u8>, flags: i32);

        /// Makes a symbolic link `path` to `target`. `EEXIST`, `ENOENT` for
        /// an empty target.
        #[nr = 266]
        fn symlinkat(target: UserPtr<u8>, dirfd: i32, path: UserPtr<u8>);

        /// Copies a symbolic link's target (no NUL) to `buf[..size]`,
        /// truncated; returns the bytes copied. `EINVAL` for a file that is
        /// not a link or `size` 0.
        #[nr = 267]
        fn readlinkat(dirfd: i32, path: UserPtr<u8>, buf: UserPtrMut<u8>, size: usize) -> usize;

        /// `fchown` for `path`, following a final symbolic link.
        #[nr = 92]
        fn chown(path: UserPtr<u8>, owner: u32, group: u32);

        /// `fchown` for `path`, not following a final symbolic link (the
        /// link itself changes).
        #[nr = 94]
        fn lchown(path: UserPtr<u8>, owner: u32, group: u32);

        /// `fchown` for `path` from `dirfd`; `flags`: `AT_SYMLINK_NOFOLLOW`
        /// (as `lchown`), `AT_EMPTY_PATH` (an empty path names `dirfd`'s
        /// file); `EINVAL` for others.
        #[nr = 260]
        fn fchownat(dirfd: i32, path: UserPtr<u8>, owner: u32, group: u32, flags: i32);

        /// Sets the permission bits (`mode & 0o7777`) of `path`.
        #[nr = 268]
        fn fchmodat(dirfd: i32, path: UserPtr<u8>, mode: u32);

        /// Checks that `path` exists (`mode` `F_OK`, or `R_OK|W_OK|X_OK`:
        /// root may read and write anything; `X_OK` needs an execute bit;
        /// `W_OK` on a read-only mount gives `EROFS`). `EINVAL` for other bits.
        #[nr = 269]
        fn faccessat(dirfd: i32, path: UserPtr<u8>, mode: i32);

        /// Sets the access and modification times of `path` (of `dirfd` for
        /// a null path) from `times[0..2]` (`UTIME_NOW`, `UTIME_OMIT`), or to
        /// now for a null `times`. `flags`: `AT_SYMLINK_NOFOLLOW`,
        /// `AT_EMPTY_PATH`. `EINVAL` for a bad nanosecond field.
        #[nr = 280]
        fn utimensat(dirfd: i32, path: UserPtr<u8>, times: UserPtr<Timespec>, flags: i32);

        /// Renames `old` to `new`; `flags`: `RENAME_NOREPLACE`,
        /// `RENAME_EXCHANGE` (others `EINVAL`). `EXDEV` across mounts,
        /// `ENOTEMPTY`, `EISDIR`, `ENOTDIR`, `EINVAL` (into itself), `EBUSY`.
        #[nr = 316]
        fn renameat2(olddirfd: i32, old: UserPtr<u8>, newdirfd: i32, new: UserPtr<u8>, flags: u32);

        /// Fills `*buf` with `struct statx` of `path` (`flags` as
        /// `newfstatat`, plus `AT_STATX_*`); the basic fields whatever `mask`
        /// asks. `EINVAL` for unknown flags or `STATX__RESERVED` in `mask`.
        #[nr = 332]
        fn statx(dirfd: i32, path: UserPtr<u8>, flags: i32, mask: u32, buf: UserPtrMut<Statx>);

        /// `faccessat` with `flags` (`AT_EACCESS`, `AT_SYMLINK_NOFOLLOW`,
        /// `AT_EMPTY_PATH`).
        #[nr = 439]
        fn faccessat2(dirfd: i32, path: UserPtr<u8>, mode: i32, flags: i32);
    }

    /// Readiness: waiting for several descriptors at once, and eventfd
    /// counters (Linux's `fs/select.c`, `fs/eventpoll.c`, `fs/eventfd.c`).
    /// A wait ends when a descriptor is ready, the timeout passes, or the
    /// thread is interrupted (`EINTR`; today: its app is ending). Timeouts
    /// count from the call on the monotonic clock. The signal mask
    /// arguments are checked (`EINVAL` for a `sigsetsize` other than 8,
    /// `EFAULT`) but change nothing until signals exist.
    pub trait Readiness {
        /// Waits until one of the `nfds` entries of `fds` (`struct pollfd`)
        /// is ready for its `events`, or `timeout` milliseconds (negative:
        /// no limit; 0: just look); returns how many entries have a
        /// non-zero `revents`. `POLLERR` and `POLLHUP` are always reported,
        /// `POLLNVAL` for a number that is not open; a negative `fd` is
        /// skipped. `EINVAL` for `nfds` over the descriptor limit (1024),
        /// `EFAULT`, `EINTR`, `ENOMEM`.
        #[nr = 7]
        fn poll(fds: UserPtrMut<PollFd>, nfds: u32, timeout: i32) -> usize;

        /// Waits until a descriptor below `nfds` in `readfds` is readable,
        /// one in `writefds` writable or one in `exceptfds` has urgent data
        /// (each set may be null), or `timeout` passes (null: no limit);
        /// keeps in the sets only the ready descriptors, writes the time
        /// left to `timeout`, and returns how many bits are set. `nfds`
        /// above 1024 counts as 1024. `EBADF` for a set bit of a number
        /// that is not open, `EINVAL` for a negative `nfds` or timeout.
        #[nr = 23]
        fn select(
            nfds: i32,
            readfds: UserPtrMut<u64>,
            writefds: UserPtrMut<u64>,
            exceptfds: UserPtrMut<u64>,
            timeout: UserPtrMut<Timeval>,
        ) -> usize;

        /// Makes an epoll instance; `size` must be positive (and is
        /// otherwise ignored). `EINVAL`, `EMFILE`.
        #[nr = 213]
        fn epoll_create(size: i32) -> i32;

        /// Waits until watches of epoll instance `epfd` have events, or
        /// `timeout` milliseconds (negative: no limit); writes at most
        /// `maxevents` of them (`struct epoll_event`) to `events` and
        /// returns how many. Level-triggered watches report while the file
        /// is ready, edge-triggered (`EPOLLET`) ones once per change,
        /// `EPOLLONESHOT` ones once until `EPOLL_CTL_MOD`. `EINVAL` for
        /// `maxevents` not in `1..=INT_MAX / 12` or `epfd` not an epoll
        /// instance, `EBADF`, `EFAULT`, `EINTR`.
        #[nr = 232]
        fn epoll_wait(epfd: i32, events: UserPtrMut<EpollEvent>, maxevents: i32, timeout: i32) -> usize;

        /// Adds (`EPOLL_CTL_ADD`), changes (`EPOLL_CTL_MOD`) or removes
        /// (`EPOLL_CTL_DEL`) the watch of `fd` in epoll instance `epfd`,
        /// with `*event` (its `events` and `data`; not read for `DEL`). A
        /// watch belongs to the open file and the number: it stays across a
        /// `dup` and goes with the file's last close. `EEXIST` (`ADD` of a
        /// watched file), `ENOENT` (`MOD`/`DEL` of an unwatched one),
        /// `EPERM` for a file that is always ready (a regular file or a
        /// directory), `EINVAL` for `fd` equal to `epfd`, `epfd` not an
        /// epoll instance, an unknown `op` or a misuse of `EPOLLEXCLUSIVE`,
        /// `ELOOP` for a watch that would make a cycle of epoll instances or
        /// nest them more than 4 deep, `ENOSPC` at the app's watch limit,
        /// `EBADF`, `EFAULT`.
        #[nr = 233]
        fn epoll_ctl(epfd: i32, op: i32, fd: i32, event: UserPtr<EpollEvent>);

        /// `select` with a `struct timespec` timeout (the time left is
        /// written back, as `select` does) and a signal mask (`sigmask`
        /// points to a `struct { sigset_t *ss; size_t ss_len; }`, or is
        /// null).
        #[nr = 270]
        fn pselect6(
            nfds: i32,
            readfds: UserPtrMut<u64>,
            writefds: UserPtrMut<u64>,
            exceptfds: UserPtrMut<u64>,
            timeout: UserPtrMut<Timespec>,
            sigmask: UserPtr<SigsetArgpack>,
        ) -> usize;

        /// `poll` with a `struct timespec` timeout (null: no limit; the time
        /// left is written back) and a signal mask of `sigsetsize` bytes
        /// (`sigmask` may be null).
        #[nr = 271]
        fn ppoll(fds: UserPtrMut<PollFd>, nfds: u32, tmo: UserPtrMut<Timespec>, sigmask: UserPtr<u64>, sigsetsize: usize) -> usize;

        /// `epoll_wait` with a signal mask of `sigsetsize` bytes (`sigmask`
        /// may be null).
        #[nr = 281]
        fn epoll_pwait(
            epfd: i32,
            events: UserPtrMut<EpollEvent>,
            maxevents: i32,
            timeout: i32,
            sigmask: UserPtr<u64>,
            sigsetsize: usize,
        ) -> usize;

        /// `eventfd2(initval, 0)`.
        #[nr = 284]
        fn eventfd(initval: u32) -> i32;

        /// Makes an eventfd: a 64-bit counter starting at `initval`. A read
        /// (8 bytes) waits until it is non-zero, then returns it and sets it
        /// to 0 (with `EFD_SEMAPHORE`: returns 1 and takes 1); a write (8
        /// bytes) adds to it, waiting while the sum would pass `2^64 - 2`.
        /// `flags`: `EFD_SEMAPHORE`, `EFD_NONBLOCK` (waits become
        /// `EAGAIN`), `EFD_CLOEXEC`; others `EINVAL`. Readable while
        /// non-zero, writable while 1 more fits. `EMFILE`.
        #[nr = 290]
        fn eventfd2(initval: u32, flags: i32) -> i32;

        /// `epoll_create` with `flags` (`EPOLL_CLOEXEC`; others `EINVAL`).
        #[nr = 291]
        fn epoll_create1(flags: i32) -> i32;

        /// `epoll_pwait` with a `struct timespec` timeout (null: no limit).
        #[nr = 441]
        fn epoll_pwait2(
            epfd: i32,
            events: UserPtrMut<EpollEvent>,
            maxevents: i32,
            timeout: UserPtr<Timespec>,
            sigmask: UserPtr<u64>,
            sigsetsize: usize,
        ) -> usize;
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use crate::dispatch::SyscallTable;
    use crate::errno::Errno;
    use crate::syscall_arg::decode_result;
    use std::string::String;
    use std::vec::Vec;

    /// A kernel whose handlers record their typed arguments.
    enum Mock {}

    /// The caller's argument registers, and what the mock handlers saw.
    #[derive(Debug, Default)]
    struct Recorder {
        args: [u64; 6],
        frame_rewritten: bool,
        calls: Vec<(&'static str, Vec<i128>)>,
    }

    impl crate::dispatch::SyscallArgs for Recorder {
        fn arg(&self, index: usize) -> u64 {
            self.args[index]
        }

        fn note_frame_rewritten(&mut self) {
            self.frame_rewritten = true;
        }
    }

    impl Recorder {
        fn record(&mut self, name: &'static str, args: &[i128]) {
            self.calls.push((name, args.to_vec()));
        }
    }

    impl Syscalls for Mock {
        type Context = Recorder;
    }

    impl Io for Mock {
        fn read(cx: &mut Recorder, fd: i32, buf: UserPtrMut<u8>, count: usize) -> Result<usize, Errno> {
            cx.record("read", &[fd.into(), buf.addr().into(), count as i128]);
            Ok(count / 2)
        }

        fn write(cx: &mut Recorder, fd: i32, buf: UserPtr<u8>, count: usize) -> Result<usize, Errno> {
            cx.record("write", &[fd.into(), buf.addr().into(), count as i128]);
            if buf.is_null() { Err(Errno::EFAULT) } else { Ok(count) }
        }
    }

    impl Memory for Mock {
        fn mmap(
            cx: &mut Recorder,
            addr: usize,
            length: usize,
            prot: i32,
            flags: i32,
            fd: i32,
            offset: i64,
        ) -> Result<usize, Errno> {
            cx.record("mmap", &[addr as i128, length as i128, prot.into(), flags.into(), fd.into(), offset.into()]);
            Ok(0x7fff_ffff_e000)
        }

        fn mprotect(cx: &mut Recorder, addr: usize, length: usize, prot: i32) -> Result<(), Errno> {
            cx.record("mprotect", &[addr as i128, length as i128, prot.into()]);
            Err(Errno::ENOMEM)
        }

        fn munmap(cx: &mut Recorder, addr: usize, length: usize) -> Result<(), Errno> {
            cx.record("munmap", &[addr as i128, length as i128]);
            Ok(())
        }

        fn brk(cx: &mut Recorder, addr: usize) -> Result<usize, Errno> {
            cx.record("brk", &[addr as i128]);
            Ok(0x60_0000)
        }

        fn msync(cx: &mut Recorder, addr: usize, length: usize, flags: i32) -> Result<(), Errno> {
            cx.record("msync", &[addr as i128, length as i128, flags.into()]);
            Ok(())
        }
    }

    impl Sched for Mock {
        fn sched_yield(cx: &mut Recorder) -> Result<(), Errno> {
            cx.record("sched_yield", &[]);
            Ok(())
        }

        fn sched_setaffinity(cx: &mut Recorder, tid: i32, len: usize, mask: UserPtr<u8>) -> Result<(), Errno> {
            cx.record("sched_setaffinity", &[tid.into(), len as i128, mask.addr().into()]);
            Ok(())
        }

        fn sched_getaffinity(cx: &mut Recorder, tid: i32, len: usize, mask: UserPtrMut<u8>) -> Result<usize, Errno> {
            cx.record("sched_getaffinity", &[tid.into(), len as i128, mask.addr().into()]);
            Ok(8)
        }

        fn getcpu(cx: &mut Recorder, cpu: UserPtrMut<u32>, node: UserPtrMut<u32>, unused: usize) -> Result<(), Errno> {
            cx.record("getcpu", &[cpu.addr().into(), node.addr().into(), unused as i128]);
            Ok(())
        }

        fn sched_get_priority_max(cx: &mut Recorder, policy: i32) -> Result<i32, Errno> {
            cx.record("sched_get_priority_max", &[policy.into()]);
            Ok(0)
        }

        fn sched_get_priority_min(cx: &mut Recorder, policy: i32) -> Result<i32, Errno> {
            cx.record("sched_get_priority_min", &[policy.into()]);
            Ok(0)
        }
    }

    impl Time for Mock {
        fn nanosleep(cx: &mut Recorder, req: UserPtr<Timespec>, rem: UserPtrMut<Timespec>) -> Result<(), Errno> {
            cx.record("nanosleep", &[req.addr().into(), rem.addr().into()]);
            Err(Errno::EINVAL)
        }

        fn clock_gettime(cx: &mut Recorder, clock: i32, tp: UserPtrMut<Timespec>) -> Result<(), Errno> {
            cx.record("clock_gettime", &[clock.into(), tp.addr().into()]);
            Ok(())
        }
    }

    impl Process for Mock {
        fn getpid(cx: &mut Recorder) -> Result<i32, Errno> {
            cx.record("getpid", &[]);
            Ok(1)
        }

        fn exit(_cx: &mut Recorder, code: i32) -> ! {
            panic!("exit({code})")
        }

        fn exit_group(_cx: &mut Recorder, code: i32) -> ! {
            panic!("exit_group({code})")
        }

        fn wait4(
            cx: &mut Recorder,
            pid: i32,
            status: UserPtrMut<i32>,
            options: i32,
            rusage: UserPtrMut<Rusage>,
        ) -> Result<i32, Errno> {
            cx.record("wait4", &[pid.into(), status.addr().into(), options.into(), rusage.addr().into()]);
            Err(Errno::ECHILD)
        }

        fn fork(cx: &mut Recorder) -> Result<i32, Errno> {
            cx.record("fork", &[]);
            Ok(2)
        }

        fn vfork(cx: &mut Recorder) -> Result<i32, Errno> {
            cx.record("vfork", &[]);
            Ok(2)
        }

        fn execve(
            cx: &mut Recorder,
            _frame: crate::dispatch::RewritesFrame,
            path: UserPtr<u8>,
            argv: UserPtr<u64>,
            envp: UserPtr<u64>,
        ) -> Result<u64, Errno> {
            cx.record("execve", &[path.addr().into(), argv.addr().into(), envp.addr().into()]);
            Ok(0)
        }
    }

    impl Thread for Mock {
        fn clone(
            cx: &mut Recorder,
            flags: u64,
            stack: usize,
            parent_tid: UserPtrMut<i32>,
            child_tid: UserPtrMut<i32>,
            tls: u64,
        ) -> Result<i32, Errno> {
            cx.record(
                "clone",
                &[flags.into(), stack as i128, parent_tid.addr().into(), child_tid.addr().into(), tls.into()],
            );
            Ok(2)
        }

        fn prctl(cx: &mut Recorder, option: i32, arg2: u64, arg3: u64, arg4: u64, arg5: u64) -> Result<i32, Errno> {
            cx.record("prctl", &[option.into(), arg2.into(), arg3.into(), arg4.into(), arg5.into()]);
            Ok(0)
        }

        fn arch_prctl(cx: &mut Recorder, code: i32, addr: u64) -> Result<(), Errno> {
            cx.record("arch_prctl", &[code.into(), addr.into()]);
            Ok(())
        }

        fn gettid(cx: &mut Recorder) -> Result<i32, Errno> {
            cx.record("gettid", &[]);
            Ok(1)
        }

        fn futex(
            cx: &mut Recorder,
            uaddr: UserPtrMut<u32>,
            op: i32,
            val: u32,
            timeout: UserPtr<Timespec>,
            uaddr2: UserPtrMut<u32>,
            val3: u32,
        ) -> Result<usize, Errno> {
            cx.record(
                "futex",
                &[uaddr.addr().into(), op.into(), val.into(), timeout.addr().into(), uaddr2.addr().into(), val3.into()],
            );
            Ok(0)
        }

        fn set_tid_address(cx: &mut Recorder, tidptr: UserPtrMut<i32>) -> Result<i32, Errno> {
            cx.record("set_tid_address", &[tidptr.addr().into()]);
            Ok(1)
        }
    }

    impl Signals for Mock {
        fn rt_sigaction(
            cx: &mut Recorder,
            sig: i32,
            act: UserPtr<crate::signal::SigAction>,
            oact: UserPtrMut<crate::signal::SigAction>,
            sigsetsize: usize,
        ) -> Result<(), Errno> {
            cx.record("rt_sigaction", &[sig.into(), act.addr().into(), oact.addr().into(), sigsetsize as i128]);
            Ok(())
        }

        fn rt_sigprocmask(
            cx: &mut Recorder,
            how: i32,
            set: UserPtr<u64>,
            oset: UserPtrMut<u64>,
            sigsetsize: usize,
        ) -> Result<(), Errno> {
            cx.record("rt_sigprocmask", &[how.into(), set.addr().into(), oset.addr().into(), sigsetsize as i128]);
            Ok(())
        }

        fn rt_sigreturn(cx: &mut Recorder, _frame: crate::dispatch::RewritesFrame) -> Result<u64, Errno> {
            cx.record("rt_sigreturn", &[]);
            Ok(0)
        }

        fn kill(cx: &mut Recorder, pid: i32, sig: i32) -> Result<(), Errno> {
            cx.record("kill", &[pid.into(), sig.into()]);
            Ok(())
        }

        fn rt_sigpending(cx: &mut Recorder, set: UserPtrMut<u64>, sigsetsize: usize) -> Result<(), Errno> {
            cx.record("rt_sigpending", &[set.addr().into(), sigsetsize as i128]);
            Ok(())
        }

        fn rt_sigsuspend(cx: &mut Recorder, mask: UserPtr<u64>, sigsetsize: usize) -> Result<(), Errno> {
            cx.record("rt_sigsuspend", &[mask.addr().into(), sigsetsize as i128]);
            Ok(())
        }

        fn pause(cx: &mut Recorder) -> Result<(), Errno> {
            cx.record("pause", &[]);
            Err(Errno::EINTR)
        }

        fn sigaltstack(
            cx: &mut Recorder,
            ss: UserPtr<crate::signal::StackT>,
            old_ss: UserPtrMut<crate::signal::StackT>,
        ) -> Result<(), Errno> {
            cx.record("sigaltstack", &[ss.addr().into(), old_ss.addr().into()]);
            Ok(())
        }

        fn tkill(cx: &mut Recorder, tid: i32, sig: i32) -> Result<(), Errno> {
            cx.record("tkill", &[tid.into(), sig.into()]);
            Ok(())
        }

        fn tgkill(cx: &mut Recorder, tgid: i32, tid: i32, sig: i32) -> Result<(), Errno> {
            cx.record("tgkill", &[tgid.into(), tid.into(), sig.into()]);
            Ok(())
        }
    }

    impl Info for Mock {
        fn uname(cx: &mut Recorder, buf: UserPtrMut<Utsname>) -> Result<(), Errno> {
            cx.record("uname", &[buf.addr().into()]);
            Ok(())
        }

        fn getrandom(cx: &mut Recorder, buf: UserPtrMut<u8>, count: usize, flags: u32) -> Result<usize, Errno> {
            cx.record("getrandom", &[buf.addr().into(), count as i128, flags.into()]);
            Ok(count)
        }
    }

    /// The calls of the Linux-program topics: each records its name and
    /// its arguments as plain numbers.
    macro_rules! record {
        ($cx:ident, $name:literal $(, $arg:expr)*) => {
            $cx.record($name, &[$(($arg) as i128),*])
        };
    }

    impl Identity for Mock {
        fn getuid(cx: &mut Recorder) -> Result<u32, Errno> {
            record!(cx, "getuid");
            Ok(0)
        }
        fn getgid(cx: &mut Recorder) -> Result<u32, Errno> {
            record!(cx, "getgid");
            Ok(0)
        }
        fn geteuid(cx: &mut Recorder) -> Result<u32, Errno> {
            record!(cx, "geteuid");
            Ok(0)
        }
        fn getegid(cx: &mut Recorder) -> Result<u32, Errno> {
            record!(cx, "getegid");
            Ok(0)
        }
        fn getppid(cx: &mut Recorder) -> Result<i32, Errno> {
            record!(cx, "getppid");
            Ok(0)
        }
        fn getpgrp(cx: &mut Recorder) -> Result<i32, Errno> {
            record!(cx, "getpgrp");
            Ok(1)
        }
        fn setsid(cx: &mut Recorder) -> Result<i32, Errno> {
            record!(cx, "setsid");
            Err(Errno::EPERM)
        }
        fn getpgid(cx: &mut Recorder, pid: i32) -> Result<i32, Errno> {
            record!(cx, "getpgid", pid);
            Ok(1)
        }
        fn getsid(cx: &mut Recorder, pid: i32) -> Result<i32, Errno> {
            record!(cx, "getsid", pid);
            Ok(1)
        }
        fn getgroups(cx: &mut Recorder, size: i32, list: UserPtrMut<u32>) -> Result<i32, Errno> {
            cx.record("getgroups", &[size.into(), list.addr().into()]);
            Ok(0)
        }
    }

    impl Limits for Mock {
        fn getrlimit(cx: &mut Recorder, resource: u32, rlim: UserPtrMut<Rlimit>) -> Result<(), Errno> {
            record!(cx, "getrlimit", resource, rlim.addr());
            Ok(())
        }
        fn getrusage(cx: &mut Recorder, who: i32, usage: UserPtrMut<Rusage>) -> Result<(), Errno> {
            record!(cx, "getrusage", who, usage.addr());
            Ok(())
        }
        fn sysinfo(cx: &mut Recorder, info: UserPtrMut<Sysinfo>) -> Result<(), Errno> {
            record!(cx, "sysinfo", info.addr());
            Ok(())
        }
        fn times(cx: &mut Recorder, buf: UserPtrMut<Tms>) -> Result<u64, Errno> {
            record!(cx, "times", buf.addr());
            Ok(0)
        }
        fn prlimit64(
            cx: &mut Recorder,
            pid: i32,
            resource: u32,
            new_limit: UserPtr<Rlimit>,
            old_limit: UserPtrMut<Rlimit>,
        ) -> Result<(), Errno> {
            record!(cx, "prlimit64", pid, resource, new_limit.addr(), old_limit.addr());
            Ok(())
        }
    }

    impl Clocks for Mock {
        fn gettimeofday(cx: &mut Recorder, tv: UserPtrMut<Timeval>, tz: UserPtrMut<Timezone>) -> Result<(), Errno> {
            record!(cx, "gettimeofday", tv.addr(), tz.addr());
            Ok(())
        }
        fn time(cx: &mut Recorder, tloc: UserPtrMut<i64>) -> Result<i64, Errno> {
            record!(cx, "time", tloc.addr());
            Ok(0)
        }
        fn clock_getres(cx: &mut Recorder, clock: i32, res: UserPtrMut<Timespec>) -> Result<(), Errno> {
            record!(cx, "clock_getres", clock, res.addr());
            Ok(())
        }
        fn clock_nanosleep(
            cx: &mut Recorder,
            clock: i32,
            flags: i32,
            req: UserPtr<Timespec>,
            rem: UserPtrMut<Timespec>,
        ) -> Result<(), Errno> {
            record!(cx, "clock_nanosleep", clock, flags, req.addr(), rem.addr());
            Ok(())
        }
    }

    impl ThreadRuntime for Mock {
        fn set_robust_list(cx: &mut Recorder, head: UserPtrMut<RobustListHead>, len: usize) -> Result<(), Errno> {
            record!(cx, "set_robust_list", head.addr(), len);
            Ok(())
        }
        fn get_robust_list(
            cx: &mut Recorder,
            tid: i32,
            head: UserPtrMut<u64>,
            len: UserPtrMut<usize>,
        ) -> Result<(), Errno> {
            record!(cx, "get_robust_list", tid, head.addr(), len.addr());
            Ok(())
        }
        fn membarrier(cx: &mut Recorder, cmd: i32, flags: u32, cpu_id: i32) -> Result<i32, Errno> {
            record!(cx, "membarrier", cmd, flags, cpu_id);
            Ok(0)
        }
        fn rseq(cx: &mut Recorder, rseq: UserPtrMut<u8>, len: u32, flags: i32, sig: u32) -> Result<(), Errno> {
            record!(cx, "rseq", rseq.addr(), len, flags, sig);
            Err(Errno::ENOSYS)
        }
        fn clone3(cx: &mut Recorder, args: UserPtrMut<u8>, size: usize) -> Result<i32, Errno> {
            record!(cx, "clone3", args.addr(), size);
            Err(Errno::ENOSYS)
        }
    }

    impl MemoryAdvice for Mock {
        fn mremap(
            cx: &mut Recorder,
            old_address: usize,
            old_size: usize,
            new_size: usize,
            flags: i32,
            new_address: usize,
        ) -> Result<usize, Errno> {
            record!(cx, "mremap", old_address, old_size, new_size, flags, new_address);
            Ok(old_address)
        }
        fn madvise(cx: &mut Recorder, addr: usize, length: usize, advice: i32) -> Result<(), Errno> {
            record!(cx, "madvise", addr, length, advice);
            Ok(())
        }
    }
    impl Sockets for Mock {
        fn socket(cx: &mut Recorder, domain: i32, kind: i32, protocol: i32) -> Result<i32, Errno> {
            cx.record("socket", &[domain.into(), kind.into(), protocol.into()]);
            Ok(3)
        }
        fn connect(cx: &mut Recorder, fd: i32, addr: UserPtr<u8>, addrlen: u32) -> Result<(), Errno> {
            cx.record("connect", &[fd.into(), addr.addr().into(), addrlen.into()]);
            Ok(())
        }
        fn accept(cx: &mut Recorder, fd: i32, addr: UserPtrMut<u8>, len: UserPtrMut<u32>) -> Result<i32, Errno> {
            cx.record("accept", &[fd.into(), addr.addr().into(), len.addr().into()]);
            Ok(4)
        }
        fn sendto(
            cx: &mut Recorder,
            fd: i32,
            buf: UserPtr<u8>,
            len: usize,
            flags: i32,
            addr: UserPtr<u8>,
            addrlen: u32,
        ) -> Result<usize, Errno> {
            cx.record(
                "sendto",
                &[fd.into(), buf.addr().into(), len as i128, flags.into(), addr.addr().into(), addrlen.into()],
            );
            Ok(len)
        }
        fn recvfrom(
            cx: &mut Recorder,
            fd: i32,
            buf: UserPtrMut<u8>,
            len: usize,
            flags: i32,
            addr: UserPtrMut<u8>,
            addrlen: UserPtrMut<u32>,
        ) -> Result<usize, Errno> {
            cx.record(
                "recvfrom",
                &[fd.into(), buf.addr().into(), len as i128, flags.into(), addr.addr().into(), addrlen.addr().into()],
            );
            Ok(0)
        }
        fn sendmsg(cx: &mut Recorder, fd: i32, msg: UserPtr<MsgHdr>, flags: i32) -> Result<usize, Errno> {
            cx.record("sendmsg", &[fd.into(), msg.addr().into(), flags.into()]);
            Ok(0)
        }
        fn recvmsg(cx: &mut Recorder, fd: i32, msg: UserPtrMut<MsgHdr>, flags: i32) -> Result<usize, Errno> {
            cx.record("recvmsg", &[fd.into(), msg.addr().into(), flags.into()]);
            Ok(0)
        }
        fn shutdown(cx: &mut Recorder, fd: i32, how: i32) -> Result<(), Errno> {
            cx.record("shutdown", &[fd.into(), how.into()]);
            Ok(())
        }
        fn bind(cx: &mut Recorder, fd: i32, addr: UserPtr<u8>, addrlen: u32) -> Result<(), Errno> {
            cx.record("bind", &[fd.into(), addr.addr().into(), addrlen.into()]);
            Ok(())
        }
        fn listen(cx: &mut Recorder, fd: i32, backlog: i32) -> Result<(), Errno> {
            cx.record("listen", &[fd.into(), backlog.into()]);
            Ok(())
        }
        fn getsockname(cx: &mut Recorder, fd: i32, addr: UserPtrMut<u8>, len: UserPtrMut<u32>) -> Result<(), Errno> {
            cx.record("getsockname", &[fd.into(), addr.addr().into(), len.addr().into()]);
            Ok(())
        }
        fn getpeername(cx: &mut Recorder, fd: i32, addr: UserPtrMut<u8>, len: UserPtrMut<u32>) -> Result<(), Errno> {
            cx.record("getpeername", &[fd.into(), addr.addr().into(), len.addr().into()]);
            Ok(())
        }
        fn setsockopt(
            cx: &mut Recorder,
            fd: i32,
            level: i32,
            name: i32,
            value: UserPtr<u8>,
            optlen: u32,
        ) -> Result<(), Errno> {
            cx.record("setsockopt", &[fd.into(), level.into(), name.into(), value.addr().into(), optlen.into()]);
            Ok(())
        }
        fn getsockopt(
            cx: &mut Recorder,
            fd: i32,
            level: i32,
            name: i32,
            value: UserPtrMut<u8>,
            optlen: UserPtrMut<u32>,
        ) -> Result<(), Errno> {
            cx.record("getsockopt", &[fd.into(), level.into(), name.into(), value.addr().into(), optlen.addr().into()]);
            Ok(())
        }
        fn accept4(
            cx: &mut Recorder,
            fd: i32,
            addr: UserPtrMut<u8>,
            len: UserPtrMut<u32>,
            flags: i32,
        ) -> Result<i32, Errno> {
            cx.record("accept4", &[fd.into(), addr.addr().into(), len.addr().into(), flags.into()]);
            Ok(4)
        }
    }

    /// The file calls' mocks record their name only.
    macro_rules! mock_calls {
        ($topic:ident { $(fn $name:ident($($arg:ident: $ty:ty),*) -> $ret:ty;)* }) => {
            impl $topic for Mock {
                $(fn $name(cx: &mut Recorder, $($arg: $ty),*) -> Result<$ret, Errno> {
                    $(let _ = $arg;)*
                    cx.record(stringify!($name), &[]);
                    Ok(<$ret>::default())
                })*
            }
        };
    }

    mock_calls!(Priorities {
        fn getpriority(which: i32, who: i32) -> i32;
        fn setpriority(which: i32, who: i32, niceval: i32) -> ();
    });

    mock_calls!(IntervalTimers {
        fn getitimer(which: i32, value: UserPtrMut<crate::linux_types::Itimerval>) -> ();
        fn setitimer(which: i32, new: UserPtr<crate::linux_types::Itimerval>, old: UserPtrMut<crate::linux_types::Itimerval>) -> ();
        fn alarm(seconds: u32) -> u32;
    });

    mock_calls!(MemoryLocks {
        fn mlock(addr: usize, len: usize) -> ();
        fn mlock2(addr: usize, len: usize, flags: u32) -> ();
        fn munlock(addr: usize, len: usize) -> ();
        fn mlockall(flags: i32) -> ();
        fn munlockall() -> ();
        fn mincore(addr: usize, len: usize, vec: UserPtrMut<u8>) -> ();
    });

    mock_calls!(Descriptors {
        fn close(fd: i32) -> ();
        fn lseek(fd: i32, offset: i64, whence: i32) -> i64;
        fn pread64(fd: i32, buf: UserPtrMut<u8>, count: usize, offset: i64) -> usize;
        fn pwrite64(fd: i32, buf: UserPtr<u8>, count: usize, offset: i64) -> usize;
        fn readv(fd: i32, iov: UserPtr<Iovec>, iovcnt: i32) -> usize;
        fn writev(fd: i32, iov: UserPtr<Iovec>, iovcnt: i32) -> usize;
        fn sendfile(out_fd: i32, in_fd: i32, offset: UserPtrMut<i64>, count: usize) -> usize;
        fn pipe(fds: UserPtrMut<i32>) -> ();
        fn dup(fd: i32) -> i32;
        fn dup2(oldfd: i32, newfd: i32) -> i32;
        fn ioctl(fd: i32, cmd: u32, arg: u64) -> i64;
        fn fcntl(fd: i32, cmd: i32, arg: u64) -> i32;
        fn fsync(fd: i32) -> ();
        fn fdatasync(fd: i32) -> ();
        fn ftruncate(fd: i32, length: i64) -> ();
        fn fchdir(fd: i32) -> ();
        fn fchmod(fd: i32, mode: u32) -> ();
        fn fchown(fd: i32, owner: u32, group: u32) -> ();
        fn flock(fd: i32, operation: i32) -> ();
        fn fallocate(fd: i32, mode: i32, offset: i64, len: i64) -> ();
        fn fstat(fd: i32, buf: UserPtrMut<Stat>) -> ();
        fn fstatfs(fd: i32, buf: UserPtrMut<Statfs>) -> ();
        fn getdents64(fd: i32, buf: UserPtrMut<u8>, count: usize) -> usize;
        fn dup3(oldfd: i32, newfd: i32, flags: i32) -> i32;
        fn pipe2(fds: UserPtrMut<i32>, flags: i32) -> ();
        fn fadvise64(fd: i32, offset: i64, len: i64, advice: i32) -> ();
    });

    mock_calls!(Files {
        fn open(path: UserPtr<u8>, flags: i32, mode: u32) -> i32;
        fn stat(path: UserPtr<u8>, buf: UserPtrMut<Stat>) -> ();
        fn lstat(path: UserPtr<u8>, buf: UserPtrMut<Stat>) -> ();
        fn access(path: UserPtr<u8>, mode: i32) -> ();
        fn truncate(path: UserPtr<u8>, length: i64) -> ();
        fn getcwd(buf: UserPtrMut<u8>, size: usize) -> usize;
        fn chdir(path: UserPtr<u8>) -> ();
        fn rename(old: UserPtr<u8>, new: UserPtr<u8>) -> ();
        fn mkdir(path: UserPtr<u8>, mode: u32) -> ();
        fn rmdir(path: UserPtr<u8>) -> ();
        fn creat(path: UserPtr<u8>, mode: u32) -> i32;
        fn link(old: UserPtr<u8>, new: UserPtr<u8>) -> ();
        fn unlink(path: UserPtr<u8>) -> ();
        fn symlink(target: UserPtr<u8>, path: UserPtr<u8>) -> ();
        fn readlink(path: UserPtr<u8>, buf: UserPtrMut<u8>, size: usize) -> usize;
        fn chmod(path: UserPtr<u8>, mode: u32) -> ();
        fn umask(mask: u32) -> u32;
        fn statfs(path: UserPtr<u8>, buf: UserPtrMut<Statfs>) -> ();
        fn openat(dirfd: i32, path: UserPtr<u8>, flags: i32, mode: u32) -> i32;
        fn mkdirat(dirfd: i32, path: UserPtr<u8>, mode: u32) -> ();
        fn newfstatat(dirfd: i32, path: UserPtr<u8>, buf: UserPtrMut<Stat>, flags: i32) -> ();
        fn unlinkat(dirfd: i32, path: UserPtr<u8>, flags: i32) -> ();
        fn renameat(olddirfd: i32, old: UserPtr<u8>, newdirfd: i32, new: UserPtr<u8>) -> ();
        fn linkat(olddirfd: i32, old: UserPtr<u8>, newdirfd: i32, new: UserPtr<u8>, flags: i32) -> ();
        fn symlinkat(target: UserPtr<u8>, dirfd: i32, path: UserPtr<u8>) -> ();
        fn readlinkat(dirfd: i32, path: UserPtr<u8>, buf: UserPtrMut<u8>, size: usize) -> usize;
        fn fchmodat(dirfd: i32, path: UserPtr<u8>, mode: u32) -> ();
        fn chown(path: UserPtr<u8>, owner: u32, group: u32) -> ();
        fn lchown(path: UserPtr<u8>, owner: u32, group: u32) -> ();
        fn fchownat(dirfd: i32, path: UserPtr<u8>, owner: u32, group: u32, flags: i32) -> ();
        fn faccessat(dirfd: i32, path: UserPtr<u8>, mode: i32) -> ();
        fn utimensat(dirfd: i32, path: UserPtr<u8>, times: UserPtr<Timespec>, flags: i32) -> ();
        fn renameat2(olddirfd: i32, old: UserPtr<u8>, newdirfd: i32, new: UserPtr<u8>, flags: u32) -> ();
        fn statx(dirfd: i32, path: UserPtr<u8>, flags: i32, mask: u32, buf: UserPtrMut<Statx>) -> ();
        fn faccessat2(dirfd: i32, path: UserPtr<u8>, mode: i32, flags: i32) -> ();
    });

    mock_calls!(Readiness {
        fn poll(fds: UserPtrMut<PollFd>, nfds: u32, timeout: i32) -> usize;
        fn select(nfds: i32, r: UserPtrMut<u64>, w: UserPtrMut<u64>, e: UserPtrMut<u64>, t: UserPtrMut<Timeval>) -> usize;
        fn epoll_create(size: i32) -> i32;
        fn epoll_wait(epfd: i32, events: UserPtrMut<EpollEvent>, maxevents: i32, timeout: i32) -> usize;
        fn epoll_ctl(epfd: i32, op: i32, fd: i32, event: UserPtr<EpollEvent>) -> ();
        fn pselect6(nfds: i32, r: UserPtrMut<u64>, w: UserPtrMut<u64>, e: UserPtrMut<u64>, t: UserPtrMut<Timespec>, m: UserPtr<SigsetArgpack>) -> usize;
        fn ppoll(fds: UserPtrMut<PollFd>, nfds: u32, tmo: UserPtrMut<Timespec>, m: UserPtr<u64>, size: usize) -> usize;
        fn epoll_pwait(epfd: i32, ev: UserPtrMut<EpollEvent>, max: i32, timeout: i32, m: UserPtr<u64>, size: usize) -> usize;
        fn eventfd(initval: u32) -> i32;
        fn eventfd2(initval: u32, flags: i32) -> i32;
        fn epoll_create1(flags: i32) -> i32;
        fn epoll_pwait2(epfd: i32, ev: UserPtrMut<EpollEvent>, max: i32, t: UserPtr<Timespec>, m: UserPtr<u64>, size: usize) -> usize;
    });

    impl Hooks for Mock {
        fn libos_test_register(
            cx: &mut Recorder,
            index: u64,
            name: UserPtr<u8>,
            name_len: usize,
            expect_kind: u32,
            expect_arg: u64,
        ) -> Result<(), Errno> {
            cx.record(
                "libos_test_register",
                &[index.into(), name.addr().into(), name_len as i128, expect_kind.into(), expect_arg.into()],
            );
            Ok(())
        }

        fn libos_debug(
            cx: &mut Recorder,
            _frame: crate::dispatch::RewritesFrame,
            op: u64,
            arg0: u64,
            arg1: u64,
        ) -> Result<u64, Errno> {
            cx.record("libos_debug", &[op.into(), arg0.into(), arg1.into()]);
            Ok(u64::MAX / 2)
        }
    }

    /// Distinctive values in all six registers.
    const REGS: [u64; 6] = [
        0x1111_2222_3333_4444,
        0x5555_6666_7777_8888,
        0x9999_aaaa_bbbb_cccc,
        0xdddd_eeee_ffff_0001,
        0x0123_4567_89ab_cdef,
        0xfedc_ba98_7654_3210,
    ];

    /// The table of a test kernel and that of a production kernel, as the
    /// kernel copies them into statics.
    static WITH_HOOKS: SyscallTable<Recorder, WITH_HOOKS_TABLE_LEN> = DispatchTable::<Mock>::WITH_HOOKS;
    static PRODUCTION: SyscallTable<Recorder, ABI_TABLE_LEN> = DispatchTable::<Mock>::ABI;

    fn call_in<const N: usize>(table: &SyscallTable<Recorder, N>, nr: u64, args: &[u64; 6]) -> (i64, Recorder) {
        let mut cx = Recorder { args: *args, frame_rewritten: false, calls: Vec::new() };
        let ret = table.dispatch(&mut cx, nr);
        // Only the call declared `#[rewrites_frame]` says so (and only where
        // the table has it).
        let has_debug = N == WITH_HOOKS_TABLE_LEN;
        assert_eq!(
            cx.frame_rewritten,
            (has_debug && nr == nr::LIBOS_DEBUG) || nr == nr::RT_SIGRETURN || nr == nr::EXECVE,
            "{nr}"
        );
        (ret, cx)
    }

    fn call(nr: u64, args: &[u64; 6]) -> (i64, Recorder) {
        call_in(&WITH_HOOKS, nr, args)
    }

    #[test]
    fn numbers_are_linux_numbers() {
        let expected = [
            (nr::READ, 0),
            (nr::WRITE, 1),
            (nr::MMAP, 9),
            (nr::MPROTECT, 10),
            (nr::MUNMAP, 11),
            (nr::BRK, 12),
            (nr::SCHED_YIELD, 24),
            (nr::NANOSLEEP, 35),
            (nr::GETPID, 39),
            (nr::EXIT, 60),
            (nr::UNAME, 63),
            (nr::CLONE, 56),
            (nr::PRCTL, 157),
            (nr::ARCH_PRCTL, 158),
            (nr::GETTID, 186),
            (nr::FUTEX, 202),
            (nr::SCHED_SETAFFINITY, 203),
            (nr::SCHED_GETAFFINITY, 204),
            (nr::SET_TID_ADDRESS, 218),
            (nr::GETCPU, 309),
            (nr::CLOCK_GETTIME, 228),
            (nr::EXIT_GROUP, 231),
            (nr::WAIT4, 61),
            (nr::FADVISE64, 221),
            (nr::SCHED_GET_PRIORITY_MAX, 146),
            (nr::SCHED_GET_PRIORITY_MIN, 147),
            (nr::GETGROUPS, 115),
            (nr::GETRANDOM, 318),
            (nr::MREMAP, 25),
            (nr::MADVISE, 28),
            (nr::GETTIMEOFDAY, 96),
            (nr::GETRLIMIT, 97),
            (nr::GETPRIORITY, 140),
            (nr::SETPRIORITY, 141),
            (nr::GETITIMER, 36),
            (nr::ALARM, 37),
            (nr::SETITIMER, 38),
            (nr::MLOCK, 149),
            (nr::MUNLOCK, 150),
            (nr::MLOCKALL, 151),
            (nr::MUNLOCKALL, 152),
            (nr::MLOCK2, 325),
            (nr::MINCORE, 27),
            (nr::CHOWN, 92),
            (nr::FCHOWN, 93),
            (nr::FLOCK, 73),
            (nr::FALLOCATE, 285),
            (nr::LCHOWN, 94),
            (nr::FCHOWNAT, 260),
            (nr::GETRUSAGE, 98),
            (nr::SYSINFO, 99),
            (nr::TIMES, 100),
            (nr::GETUID, 102),
            (nr::GETGID, 104),
            (nr::GETEUID, 107),
            (nr::GETEGID, 108),
            (nr::GETPPID, 110),
            (nr::GETPGRP, 111),
            (nr::SETSID, 112),
            (nr::GETPGID, 121),
            (nr::GETSID, 124),
            (nr::TIME, 201),
            (nr::CLOCK_GETRES, 229),
            (nr::CLOCK_NANOSLEEP, 230),
            (nr::SET_ROBUST_LIST, 273),
            (nr::GET_ROBUST_LIST, 274),
            (nr::PRLIMIT64, 302),
            (nr::MEMBARRIER, 324),
            (nr::RSEQ, 334),
            (nr::CLONE3, 435),
            (nr::RT_SIGACTION, 13),
            (nr::RT_SIGPROCMASK, 14),
            (nr::RT_SIGRETURN, 15),
            (nr::KILL, 62),
            (nr::RT_SIGPENDING, 127),
            (nr::SIGALTSTACK, 131),
            (nr::RT_SIGSUSPEND, 130),
            (nr::TKILL, 200),
            (nr::TGKILL, 234),
            (nr::OPEN, 2),
            (nr::CLOSE, 3),
            (nr::FSTAT, 5),
            (nr::LSEEK, 8),
            (nr::PIPE, 22),
            (nr::DUP2, 33),
            (nr::FCNTL, 72),
            (nr::GETCWD, 79),
            (nr::GETDENTS64, 217),
            (nr::OPENAT, 257),
            (nr::NEWFSTATAT, 262),
            (nr::RENAMEAT2, 316),
            (nr::STATX, 332),
            (nr::FACCESSAT2, 439),
            (nr::POLL, 7),
            (nr::SELECT, 23),
            (nr::EPOLL_CREATE, 213),
            (nr::EPOLL_WAIT, 232),
            (nr::EPOLL_CTL, 233),
            (nr::PSELECT6, 270),
            (nr::PPOLL, 271),
            (nr::EPOLL_PWAIT, 281),
            (nr::EVENTFD, 284),
            (nr::EVENTFD2, 290),
            (nr::EPOLL_CREATE1, 291),
            (nr::EPOLL_PWAIT2, 441),
            (nr::LIBOS_TEST_REGISTER, 1024),
            (nr::LIBOS_DEBUG, 1025),
        ];
        for (constant, value) in expected {
            assert_eq!(constant, value);
        }
        assert_eq!(ABI_TABLE_LEN, 442);
        assert_eq!((FIRST_HOOK, HOOKS_TABLE_LEN), (1024, 2));
        assert!(is_hook(nr::LIBOS_DEBUG) && is_hook(nr::LIBOS_TEST_REGISTER));
        assert!(!is_hook(nr::WRITE) && !is_hook(1026));
    }

    #[test]
    fn names() {
        assert_eq!(syscall_name(1), Some("write"));
        assert_eq!(syscall_name(228), Some("clock_gettime"));
        assert_eq!(syscall_name(1024), Some("libos_test_register"));
        assert_eq!(syscall_name(2), Some("open"));
        assert_eq!(syscall_name(7), Some("poll"));
        assert_eq!(syscall_name(13), Some("rt_sigaction"));
        assert_eq!(syscall_name(59), Some("execve"));
        assert_eq!(syscall_name(133), None);
        assert_eq!(syscall_name(u64::MAX), None);
    }

    #[test]
    fn six_arguments_reach_the_handler_intact() {
        let (ret, cx) = call(nr::MMAP, &REGS);
        assert_eq!(ret, 0x7fff_ffff_e000);
        assert_eq!(
            cx.calls,
            [(
                "mmap",
                std::vec![
                    REGS[0] as i128,
                    REGS[1] as i128,
                    // `int` arguments: the low 32 bits, as signed.
                    i128::from(0xbbbb_cccc_u32 as i32),
                    i128::from(0xffff_0001_u32 as i32),
                    i128::from(0x89ab_cdef_u32 as i32),
                    i128::from(REGS[5] as i64),
                ]
            )]
        );
    }

    #[test]
    fn five_arguments_reach_the_handler_intact() {
        let (ret, cx) = call(nr::LIBOS_TEST_REGISTER, &REGS);
        assert_eq!(ret, 0);
        assert_eq!(
            cx.calls[0].1,
            [REGS[0] as i128, REGS[1] as i128, REGS[2] as i128, i128::from(0xffff_0001_u32), REGS[4] as i128,]
        );
    }

    #[test]
    fn each_number_reaches_its_handler() {
        for (nr, name) in [
            (nr::READ, "read"),
            (nr::WRITE, "write"),
            (nr::MPROTECT, "mprotect"),
            (nr::MUNMAP, "munmap"),
            (nr::BRK, "brk"),
            (nr::SCHED_YIELD, "sched_yield"),
            (nr::NANOSLEEP, "nanosleep"),
            (nr::GETPID, "getpid"),
            (nr::UNAME, "uname"),
            (nr::CLOCK_GETTIME, "clock_gettime"),
            (nr::GETRANDOM, "getrandom"),
            (nr::LIBOS_DEBUG, "libos_debug"),
        ] {
            let (_, cx) = call(nr, &REGS);
            assert_eq!(cx.calls.len(), 1);
            assert_eq!(cx.calls[0].0, name);
        }
    }

    #[test]
    fn results_are_encoded_like_linux() {
        assert_eq!(call(nr::WRITE, &[1, 0x1000, 14, 0, 0, 0]).0, 14);
        assert_eq!(call(nr::WRITE, &[1, 0, 14, 0, 0, 0]).0, -14);
        assert_eq!(call(nr::WRITE, &[1, 0, 14, 0, 0, 0]).0, Errno::EFAULT.to_ret());
        assert_eq!(call(nr::MPROTECT, &[0; 6]).0, -12);
        assert_eq!(call(nr::MUNMAP, &[0; 6]).0, 0);
        assert_eq!(call(nr::GETPID, &[0; 6]).0, 1);
        assert_eq!(call(nr::LIBOS_DEBUG, &[0; 6]).0, (u64::MAX / 2) as i64);
    }

    #[test]
    fn thirty_two_bit_arguments_take_the_low_half() {
        let (_, cx) = call(nr::WRITE, &[0xffff_ffff_0000_0001, 0x1000, 3, 0, 0, 0]);
        assert_eq!(cx.calls[0].1[0], 1);
        let (_, cx) = call(nr::WRITE, &[0x0000_0001_ffff_ffff, 0x1000, 3, 0, 0, 0]);
        assert_eq!(cx.calls[0].1[0], -1);
        let (_, cx) = call(nr::GETRANDOM, &[0x1000, 8, 0xdead_0000_0000_0002, 0, 0, 0]);
        assert_eq!(cx.calls[0].1[2], 2);
    }

    #[test]
    fn unknown_numbers_are_enosys() {
        for nr in [133, 135, 319, 335, 440, 442, 1000, 1023, 1026, 4096, u64::MAX - 1023, u64::MAX] {
            let (ret, cx) = call_in(&WITH_HOOKS, nr, &REGS);
            assert_eq!(ret, -38, "{nr}");
            assert!(cx.calls.is_empty());
            let (ret, cx) = call_in(&PRODUCTION, nr, &REGS);
            assert_eq!(ret, -38, "{nr}");
            assert!(cx.calls.is_empty());
        }
    }

    #[test]
    fn a_production_table_has_no_hooks() {
        for nr in [nr::LIBOS_TEST_REGISTER, nr::LIBOS_DEBUG] {
            for op in 0..64 {
                let (ret, cx) = call_in(&PRODUCTION, nr, &[op, 1, 2, 3, 4, 5]);
                assert_eq!(ret, -38, "{nr} op {op}");
                assert!(cx.calls.is_empty());
            }
        }
        // Everything else is the same table.
        let (ret, cx) = call_in(&PRODUCTION, nr::GETPID, &REGS);
        assert_eq!((ret, cx.calls[0].0), (1, "getpid"));
    }

    #[test]
    fn diverging_calls_reach_their_handler() {
        let result = std::panic::catch_unwind(|| call(nr::EXIT_GROUP, &[0xffff_ffff_0000_0007, 0, 0, 0, 0, 0]));
        let payload = result.unwrap_err();
        assert_eq!(payload.downcast_ref::<String>().map(String::as_str), Some("exit_group(7)"));
    }

    #[test]
    fn every_declared_number_reaches_the_handler_of_its_name() {
        let mut declared = 0;
        for nr in 0..2048 {
            let name = syscall_name(nr);
            if matches!(name, Some("exit" | "exit_group")) {
                continue; // They do not return (see below).
            }
            let (_, cx) = call(nr, &[0, 0x1000, 5, 0, 0, 0]);
            match name {
                Some(name) => {
                    assert_eq!(cx.calls.len(), 1, "{nr}");
                    assert_eq!(cx.calls[0].0, name, "{nr}");
                    declared += 1;
                }
                None => assert!(cx.calls.is_empty(), "{nr}"),
            }
        }
        // ... + Process 4 (fork, vfork, execve, pause), Priorities 2,
        // IntervalTimers 3, MemoryLocks 6, chown 4, flock and fallocate 2.
        assert_eq!(declared, 28 - 2 + 21 + 33 + 10 + 1 + 12 + 25 + 15 + 1 + 4 + 2 + 3 + 6 + 4 + 2);
    }

    fn traced(nr: u64, args: &[u64; 6], ret: i64) -> String {
        let mut line = String::new();
        trace_call(nr, args, &mut line).unwrap();
        trace_result(nr, ret, &mut line).unwrap();
        line
    }

    #[test]
    fn traces() {
        assert_eq!(traced(nr::WRITE, &[1, 0x40_0120, 14, 0, 0, 0], 14), "write(1, 0x400120, 14) = 14");
        assert_eq!(traced(nr::WRITE, &[2, 0, 14, 0, 0, 0], -14), "write(2, NULL, 14) = -1 EFAULT (Bad address)");
        assert_eq!(
            traced(nr::MMAP, &[0, 8192, 3, 0x22, u64::MAX, 0], 0x7fff_0000),
            "mmap(0, 8192, 3, 34, -1, 0) = 2147418112"
        );
        assert_eq!(traced(nr::GETPID, &REGS, 1), "getpid() = 1");
        assert_eq!(traced(nr::SCHED_YIELD, &[0; 6], 0), "sched_yield() = 0");
        assert_eq!(traced(nr::EXIT_GROUP, &[3, 0, 0, 0, 0, 0], 0), "exit_group(3) = ?");
        assert_eq!(
            traced(nr::CLOCK_GETTIME, &[1, 0x7fff_f000, 0, 0, 0, 0], -22),
            "clock_gettime(1, 0x7ffff000) = -1 EINVAL (Invalid argument)"
        );
        assert_eq!(
            traced(1234, &[1, 2, 3, 0xa, 0xff, 0], -38),
            "syscall_1234(0x1, 0x2, 0x3, 0xa, 0xff, 0x0) = -1 ENOSYS (Function not implemented)"
        );
    }

    #[test]
    fn decoding_the_kernel_results() {
        let (ret, _) = call(nr::WRITE, &[1, 0, 14, 0, 0, 0]);
        assert_eq!(decode_result::<usize>(ret), Err(Errno::EFAULT));
        let (ret, _) = call(nr::MMAP, &REGS);
        assert_eq!(decode_result::<usize>(ret), Ok(0x7fff_ffff_e000));
        let (ret, _) = call(nr::MUNMAP, &REGS);
        assert_eq!(decode_result::<()>(ret), Ok(()));
        for n in 1..=4095 {
            assert!(decode_result::<usize>(-n).is_err(), "{n}");
        }
        // The top of the user half of the address space is a value.
        assert_eq!(decode_result::<usize>(0x7fff_ffff_f000), Ok(0x7fff_ffff_f000));
        assert_eq!(decode_result::<u64>(-4096), Ok((-4096_i64) as u64));
    }
}

/// The app-side stubs against the host's Linux kernel: the numbers, the
/// registers and the structure layouts are Linux's, so the stubs work there.
#[cfg(all(test, target_os = "linux", target_arch = "x86_64"))]
mod linux_tests {
    extern crate std;

    use super::{user, user_hooks};
    use crate::abi_types::{CLOCK_MONOTONIC, MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE, Timespec, Utsname};
    use crate::errno::Errno;

    #[test]
    fn getpid_is_the_process_id() {
        assert_eq!(user::getpid(), Ok(std::process::id() as i32));
        user::sched_yield().unwrap();
    }

    #[test]
    fn errors_come_back_as_errno() {
        let byte = 0u8;
        // SAFETY: `byte` is readable for the one byte the call may read.
        let ret = unsafe { user::write(-1, &byte, 1) };
        assert_eq!(ret, Err(Errno::EBADF));
        // SAFETY: the kernel fails on the fd before touching the (null)
        // buffer, and Rust never dereferences it.
        let ret = unsafe { user::read(-1, core::ptr::null_mut(), 1) };
        assert_eq!(ret, Err(Errno::EBADF));
        // SAFETY: address 16 is never mapped: the kernel's copy fails and
        // reports EFAULT; Rust never dereferences it.
        let ret = unsafe { user::write(2, core::ptr::without_provenance(16), 1) };
        assert_eq!(ret, Err(Errno::EFAULT));
        // Our own numbers are not Linux's: ENOSYS (or EPERM, which some
        // seccomp sandboxes answer for calls they do not know).
        // SAFETY: the name pointer is valid for reads of its one byte.
        let ret = unsafe { user_hooks::libos_test_register(0, b"x".as_ptr(), 1, 0, 0) };
        assert!(matches!(ret, Err(Errno::ENOSYS | Errno::EPERM)), "{ret:?}");
    }

    #[test]
    fn clock_and_uname_fill_linux_layouts() {
        let mut t = Timespec::default();
        // SAFETY: `t` is a writable `Timespec` no reference points into.
        unsafe { user::clock_gettime(CLOCK_MONOTONIC, &mut t) }.unwrap();
        assert!(t.is_valid());
        assert!(t != Timespec::ZERO);

        let mut u = Utsname::default();
        // SAFETY: `u` is a writable `Utsname` no reference points into.
        unsafe { user::uname(&mut u) }.unwrap();
        assert_eq!(Utsname::field_str(&u.sysname), Some("Linux"));
        assert_eq!(Utsname::field_str(&u.machine), Some("x86_64"));
    }

    #[test]
    fn mmap_uses_all_six_registers() {
        // `flags` travels in R10 (not RCX): a wrong register makes Linux
        // reject the mapping.
        // SAFETY: no MAP_FIXED: the kernel picks an unused range.
        let addr = unsafe { user::mmap(0, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) }.unwrap();
        assert_eq!(addr % 4096, 0);
        let mut buf = [0u8; 32];
        // SAFETY: `buf` is writable and not aliased during the call.
        let n = unsafe { user::getrandom(addr as *mut u8, 32, 0) }.unwrap();
        assert_eq!(n, 32);
        // SAFETY: `addr` is a fresh private mapping of 8192 bytes, read here
        // through a slice after the kernel wrote it.
        let random = unsafe { core::slice::from_raw_parts(addr as *const u8, 32) };
        buf.copy_from_slice(random);
        // SAFETY: the range is the mapping made above; `random` is not used
        // after this.
        unsafe { user::mprotect(addr, 8192, PROT_READ) }.unwrap();
        // SAFETY: as above; nothing refers to the mapping any more.
        unsafe { user::munmap(addr, 8192) }.unwrap();
        assert!(buf.iter().any(|&b| b != 0));
    }

    #[test]
    fn nanosleep_sleeps() {
        let req = Timespec::new(0, 1_000);
        let mut rem = Timespec::default();
        // SAFETY: `req` is readable and `rem` writable and unaliased.
        unsafe { user::nanosleep(&req, &mut rem) }.unwrap();
        let bad = Timespec::new(0, 2_000_000_000);
        // SAFETY: as above; `rem` may be null.
        let ret = unsafe { user::nanosleep(&bad, core::ptr::null_mut()) };
        assert_eq!(ret, Err(Errno::EINVAL));
    }

    #[test]
    fn brk_queries_with_zero() {
        // SAFETY: an impossible break (0) changes nothing and returns the
        // current one.
        let current = unsafe { user::brk(0) }.unwrap();
        assert!(current > 0);
    }
}
