//! Structures and values of the calls static Linux programs make at start,
//! in their runtime and at exit: resource limits and usage, the system's
//! figures, the older time calls, robust futex lists, `madvise`, `mremap`
//! and `membarrier` (Linux x86_64 layouts and values: include/uapi/linux/
//! resource.h, sysinfo.h, time.h, times.h, futex.h, mman-common.h,
//! membarrier.h).
//!
//! Every structure is `#[repr(C)]` with its size and field offsets checked
//! at compile time against Linux's.

use core::mem::{offset_of, size_of};

/// A time with microseconds: `struct timeval` (`gettimeofday`, `getrusage`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Timeval {
    /// Whole seconds.
    pub tv_sec: i64,
    /// Microseconds, `0..1_000_000`.
    pub tv_usec: i64,
}

impl Timeval {
    /// The value for a number of nanoseconds (truncated to microseconds).
    pub const fn from_nanos(nanos: u64) -> Timeval {
        Timeval { tv_sec: (nanos / 1_000_000_000) as i64, tv_usec: ((nanos % 1_000_000_000) / 1000) as i64 }
    }
}

/// An interval timer's setting: `struct itimerval` (`setitimer`,
/// `getitimer`): the time to the next expiry, and the period after it (0:
/// one shot).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Itimerval {
    /// The period reloaded at each expiry (0: the timer stops).
    pub it_interval: Timeval,
    /// The time left to the next expiry (0: disarmed).
    pub it_value: Timeval,
}

/// Interval timers (`ITIMER_*`, include/uapi/linux/time.h).
pub mod itimer {
    /// Real (wall-clock) time: `SIGALRM` at expiry.
    pub const REAL: i32 = 0;
    /// CPU time in user mode: `SIGVTALRM`.
    pub const VIRTUAL: i32 = 1;
    /// CPU time in user and kernel mode: `SIGPROF`.
    pub const PROF: i32 = 2;
}

/// `which` of `getpriority`/`setpriority` (`PRIO_*`,
/// include/uapi/linux/resource.h).
pub mod prio {
    /// A process (a thread, as Linux takes the id).
    pub const PROCESS: i32 = 0;
    /// A process group.
    pub const PGRP: i32 = 1;
    /// A user's processes.
    pub const USER: i32 = 2;
}

/// `mlockall` and `mlock2` flags (include/uapi/asm-generic/mman-common.h,
/// mman.h).
pub mod mlock_flags {
    /// `mlockall`: lock what is mapped now.
    pub const MCL_CURRENT: i32 = 1;
    /// `mlockall`: lock what is mapped from now on.
    pub const MCL_FUTURE: i32 = 2;
    /// `mlockall`: lock pages as they are faulted in.
    pub const MCL_ONFAULT: i32 = 4;
    /// `mlock2`: lock pages as they are faulted in.
    pub const MLOCK_ONFAULT: u32 = 1;
}

/// `struct timezone` (`gettimeofday`'s second argument; obsolete: always
/// UTC, no daylight saving time here).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Timezone {
    /// Minutes west of Greenwich.
    pub tz_minuteswest: i32,
    /// Type of DST correction.
    pub tz_dsttime: i32,
}

/// One resource limit: `struct rlimit` (= `struct rlimit64` on x86_64).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rlimit {
    /// The soft limit.
    pub rlim_cur: u64,
    /// The hard limit (ceiling of the soft one).
    pub rlim_max: u64,
}

/// "No limit" (`RLIM_INFINITY`).
pub const RLIM_INFINITY: u64 = u64::MAX;

/// Resource numbers (`RLIMIT_*`).
pub mod rlimit {
    /// CPU time in seconds.
    pub const CPU: u32 = 0;
    /// Largest file size.
    pub const FSIZE: u32 = 1;
    /// Largest data segment.
    pub const DATA: u32 = 2;
    /// Largest stack.
    pub const STACK: u32 = 3;
    /// Largest core file.
    pub const CORE: u32 = 4;
    /// Largest resident set.
    pub const RSS: u32 = 5;
    /// Most processes (threads) of the user.
    pub const NPROC: u32 = 6;
    /// Most open files.
    pub const NOFILE: u32 = 7;
    /// Most locked memory.
    pub const MEMLOCK: u32 = 8;
    /// Largest address space.
    pub const AS: u32 = 9;
    /// Most file locks.
    pub const LOCKS: u32 = 10;
    /// Most pending signals.
    pub const SIGPENDING: u32 = 11;
    /// Most bytes in POSIX message queues.
    pub const MSGQUEUE: u32 = 12;
    /// Ceiling of the nice value.
    pub const NICE: u32 = 13;
    /// Ceiling of the real-time priority.
    pub const RTPRIO: u32 = 14;
    /// Real-time CPU time in microseconds.
    pub const RTTIME: u32 = 15;
    /// Number of resources (`RLIM_NLIMITS`).
    pub const COUNT: u32 = 16;
}

/// Resource usage: `struct rusage`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rusage {
    /// User CPU time.
    pub ru_utime: Timeval,
    /// System CPU time.
    pub ru_stime: Timeval,
    /// Largest resident set, in KiB.
    pub ru_maxrss: i64,
    /// The rest (`ru_ixrss` .. `ru_nivcsw`), in Linux's order.
    pub ru_rest: [i64; 13],
}

/// `getrusage`'s `who`: the calling process.
pub const RUSAGE_SELF: i32 = 0;
/// `getrusage`'s `who`: its waited-for children.
pub const RUSAGE_CHILDREN: i32 = -1;
/// `getrusage`'s `who`: the calling thread.
pub const RUSAGE_THREAD: i32 = 1;

/// Process times in clock ticks: `struct tms`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tms {
    /// User CPU time.
    pub tms_utime: i64,
    /// System CPU time.
    pub tms_stime: i64,
    /// User CPU time of waited-for children.
    pub tms_cutime: i64,
    /// System CPU time of waited-for children.
    pub tms_cstime: i64,
}

/// The system's figures: `struct sysinfo`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sysinfo {
    /// Seconds since boot.
    pub uptime: i64,
    /// Load averages over 1, 5 and 15 minutes, scaled by 65536.
    pub loads: [u64; 3],
    /// Usable memory, in `mem_unit`s.
    pub totalram: u64,
    /// Free memory.
    pub freeram: u64,
    /// Shared memory.
    pub sharedram: u64,
    /// Buffer memory.
    pub bufferram: u64,
    /// Swap space.
    pub totalswap: u64,
    /// Free swap space.
    pub freeswap: u64,
    /// Number of processes (here: threads, as Linux counts them).
    pub procs: u16,
    /// Padding.
    pub pad: u16,
    /// Padding (the C layout's).
    pub pad2: u32,
    /// High memory (none on x86_64).
    pub totalhigh: u64,
    /// Free high memory.
    pub freehigh: u64,
    /// The unit of the memory figures, in bytes.
    pub mem_unit: u32,
    /// Padding to Linux's size.
    pub reserved: [u8; 4],
}

/// The head of a thread's robust futex list: `struct robust_list_head`
/// (`set_robust_list`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RobustListHead {
    /// The first entry (`struct robust_list *`); the list is circular back
    /// to the head.
    pub list: u64,
    /// Where an entry's futex word is, relative to the entry.
    pub futex_offset: i64,
    /// The entry being acquired or released, if any.
    pub list_op_pending: u64,
}

/// Robust futex word bits (include/uapi/linux/futex.h).
pub mod robust_futex {
    /// Some thread waits on the futex.
    pub const FUTEX_WAITERS: u32 = 0x8000_0000;
    /// The owner died without unlocking it.
    pub const FUTEX_OWNER_DIED: u32 = 0x4000_0000;
    /// The owner's thread id.
    pub const FUTEX_TID_MASK: u32 = 0x3fff_ffff;
    /// Most entries the kernel walks (`ROBUST_LIST_LIMIT`).
    pub const ROBUST_LIST_LIMIT: usize = 2048;
}

/// `madvise` advice values (include/uapi/asm-generic/mman-common.h).
pub mod madv {
    /// No special treatment.
    pub const NORMAL: i32 = 0;
    /// Random access expected.
    pub const RANDOM: i32 = 1;
    /// Sequential access expected.
    pub const SEQUENTIAL: i32 = 2;
    /// Will need these pages.
    pub const WILLNEED: i32 = 3;
    /// Do not need these pages: their contents go, later reads see zeros.
    pub const DONTNEED: i32 = 4;
    /// The pages may be freed lazily.
    pub const FREE: i32 = 8;
    /// Remove these pages and their backing store.
    pub const REMOVE: i32 = 9;
    /// Do not inherit across fork.
    pub const DONTFORK: i32 = 10;
    /// Inherit across fork.
    pub const DOFORK: i32 = 11;
    /// KSM may merge these pages.
    pub const MERGEABLE: i32 = 12;
    /// KSM may not merge these pages.
    pub const UNMERGEABLE: i32 = 13;
    /// Worth backing with huge pages.
    pub const HUGEPAGE: i32 = 14;
    /// Not worth backing with huge pages.
    pub const NOHUGEPAGE: i32 = 15;
    /// Leave out of a core dump.
    pub const DONTDUMP: i32 = 16;
    /// Include in a core dump.
    pub const DODUMP: i32 = 17;
    /// Zero-fill in the child after fork.
    pub const WIPEONFORK: i32 = 18;
    /// Undo `WIPEONFORK`.
    pub const KEEPONFORK: i32 = 19;
    /// Deactivate these pages.
    pub const COLD: i32 = 20;
    /// Reclaim these pages.
    pub const PAGEOUT: i32 = 21;
    /// Populate (prefault) page tables readable.
    pub const POPULATE_READ: i32 = 22;
    /// Populate (prefault) page tables writable.
    pub const POPULATE_WRITE: i32 = 23;
}

/// `mremap` flags.
pub mod mremap_flags {
    /// The mapping may move.
    pub const MREMAP_MAYMOVE: i32 = 1;
    /// Move it to `new_address` exactly.
    pub const MREMAP_FIXED: i32 = 2;
    /// Leave the old range mapped (and empty).
    pub const MREMAP_DONTUNMAP: i32 = 4;
}

/// `membarrier` commands (include/uapi/linux/membarrier.h).
pub mod membarrier_cmd {
    /// Which commands are supported.
    pub const QUERY: i32 = 0;
    /// A barrier on every CPU running any thread of any process.
    pub const GLOBAL: i32 = 1;
    /// A barrier on every CPU running a thread of a process that registered.
    pub const GLOBAL_EXPEDITED: i32 = 2;
    /// Registers for `GLOBAL_EXPEDITED`.
    pub const REGISTER_GLOBAL_EXPEDITED: i32 = 4;
    /// A barrier on every CPU running a thread of the caller's process.
    pub const PRIVATE_EXPEDITED: i32 = 8;
    /// Registers for `PRIVATE_EXPEDITED`.
    pub const REGISTER_PRIVATE_EXPEDITED: i32 = 16;
}

const _: () = {
    assert!(size_of::<Timeval>() == 16);
    assert!(size_of::<Timezone>() == 8);
    assert!(size_of::<Itimerval>() == 32 && offset_of!(Itimerval, it_value) == 16);
    assert!(size_of::<Rlimit>() == 16 && offset_of!(Rlimit, rlim_max) == 8);
    assert!(size_of::<Rusage>() == 144);
    assert!(offset_of!(Rusage, ru_stime) == 16 && offset_of!(Rusage, ru_maxrss) == 32);
    assert!(size_of::<Tms>() == 32);
    assert!(size_of::<Sysinfo>() == 112);
    assert!(offset_of!(Sysinfo, totalram) == 32 && offset_of!(Sysinfo, procs) == 80);
    assert!(offset_of!(Sysinfo, totalhigh) == 88 && offset_of!(Sysinfo, mem_unit) == 104);
    assert!(size_of::<RobustListHead>() == 24 && offset_of!(RobustListHead, list_op_pending) == 16);
};
