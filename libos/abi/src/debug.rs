//! Operations of the `libos_debug` hook (number 1025).
//!
//! They exist for the boot-time test suite and the benchmark: each one lets
//! a test app ask the kernel to show or do something that ring 3 cannot
//! observe on its own (what CR3 looks like inside the kernel, whether SMAP
//! blocks a kernel read of user memory, an audit of the app's own user page
//! table, ...). Only test and benchmark kernels have the hook; a production
//! kernel answers its number with `ENOSYS`. Unknown operations give
//! `EINVAL`, and so do `LAST_KERNEL_CR3` and `LAST_USER_CR3` in a benchmark
//! kernel (only test kernels record CR3 writes) and `BENCH_FLOOR` in a test
//! kernel (only benchmark kernels have the floor).

/// `arg0` = a user address. The kernel reads it *without* opening SMAP
/// (no STAC) inside a guarded call; returns 1 if that read faulted (SMAP
/// works), 0 if it succeeded (no SMAP on this CPU).
pub const SMAP_PROBE: u64 = 1;
/// `arg0` = an address. The syscall returns to `arg0` instead of the
/// instruction after SYSCALL (a crafted return frame). With `arg1` = 0, RCX
/// is set to match RIP, so only RIP's validity decides between SYSRET and
/// IRET; with `arg1` = 1 RCX is left alone, which forces the IRET path.
pub const SET_RETURN_RIP: u64 = 2;
/// Returns CR3 as the kernel sees it while handling this syscall.
pub const KERNEL_CR3: u64 = 3;
/// Audits the caller's user page table against the KPTI allow-list;
/// returns the number of mappings outside it (0 = clean). Fails with
/// `EOPNOTSUPP` when KPTI is off (there is no separate user page table).
pub const AUDIT_USER_PAGE_TABLE: u64 = 4;
/// Returns the address of live kernel heap memory.
pub const KERNEL_HEAP_ADDRESS: u64 = 5;
/// Returns the index of the CPU running the caller.
pub const CPU_INDEX: u64 = 6;
/// Returns this CPU's IA32_LSTAR.
pub const LSTAR: u64 = 7;
/// Checks that all six argument registers arrived intact: RSI = a seed, and
/// RDX, R10, R8, R9 must hold [`arg_pattern`] of it for indices 2..=5.
/// Returns a bit mask of the registers that did not (0 = all intact).
pub const CHECK_ARGS: u64 = 8;
/// Returns this CPU's entry flags (bit 0: KPTI, bit 1: PCID).
pub const ENTRY_FLAGS: u64 = 9;
/// Returns the per-CPU GS base the kernel runs with on this CPU.
pub const KERNEL_GS_BASE: u64 = 10;
/// Returns the number of CPUs running.
pub const CPU_COUNT: u64 = 11;
/// Returns 1 if a user-ASID flush is pending on this CPU (PCID without
/// INVPCID), else 0.
pub const USER_FLUSH_PENDING: u64 = 12;

/// `arg0` = mask, `arg1` = value: if this process is killed by a fault,
/// its error code must satisfy `code & mask == value` for the boot-time
/// test harness to count the expected fault (e.g. a page fault that must
/// be "not present": mask 1, value 0).
pub const EXPECT_ERROR_CODE: u64 = 13;

/// Returns the CR3 value the entry code wrote when this syscall entered
/// the kernel (NOFLUSH bit included; 0 without KPTI, which switches nothing).
pub const LAST_KERNEL_CR3: u64 = 14;
/// Returns the CR3 value the exit code wrote the last time this CPU
/// returned to ring 3 (for the caller, pinned to one CPU: the return from
/// its previous syscall).
pub const LAST_USER_CR3: u64 = 15;
/// Arms this CPU's local APIC timer to raise the test vector once, about
/// `arg0` nanoseconds from now (so it can arrive while the app runs).
pub const ARM_TEST_TIMER: u64 = 16;
/// Returns how many test-vector interrupts this CPU has taken.
pub const TEST_INTERRUPTS: u64 = 17;
/// Returns how many NMIs this CPU has taken.
pub const NMI_COUNT: u64 = 18;
/// Asks CPU `arg0` to send an NMI to the caller's CPU about `arg1`
/// nanoseconds from now (so it can arrive while the app runs).
pub const NMI_FROM_CPU: u64 = 19;
/// Returns 1 if the CPU has INVPCID and the kernel uses PCID, else 0.
pub const USES_INVPCID: u64 = 20;
/// `arg0` = tid, `arg1` = address of a NUL-terminated name (up to 16
/// bytes): if this process is killed by a fault, the kill must name that
/// thread (its tid and `PR_SET_NAME` name) for the boot-time test harness
/// to count the expected fault.
pub const EXPECT_FAULTING_THREAD: u64 = 21;
/// Returns how many pages of the app's memory are resident (backed by
/// frames) right now.
pub const RESIDENT_PAGES: u64 = 22;
/// `arg0` = 1 points this CPU's LSTAR at the benchmark's floor entry (every
/// SYSCALL but `libos_debug` returns at once, doing nothing), 0 back at the
/// normal entry. For `cargo xtask bench`, from a thread pinned to a CPU.
pub const BENCH_FLOOR: u64 = 23;
/// Returns the TSC the kernel read at its first instructions (with
/// `-icount`, the instructions executed before it; the benchmark's boot
/// figure is the difference to a TSC read in `main`).
pub const FIRST_INSTRUCTION_TSC: u64 = 24;
/// Returns the TSC frequency the kernel's clock uses, in Hz.
pub const TSC_HZ: u64 = 25;
/// Returns two counts since boot, packed: interrupts and exceptions that
/// came from ring 3 with RFLAGS.AC set (low 32 bits), and those whose
/// kernel handler found AC still set (high 32 bits; the entry code clears
/// it, so this stays 0).
pub const AC_AT_ENTRY: u64 = 26;

/// `arg0` = an exit code: this process must end with it (through `exit`
/// or `exit_group`) for the boot-time test harness to count the test as
/// passed; any other end fails it.
pub const EXPECT_EXIT_CODE: u64 = 27;
/// Returns the bytes in live kernel heap allocations.
pub const KERNEL_HEAP_BYTES: u64 = 28;
/// Returns how many timer events are pending on all CPUs.
pub const PENDING_TIMERS: u64 = 29;
/// Starts recording what the console prints (up to 64 KiB, from now on;
/// an earlier recording is dropped).
pub const CONSOLE_CAPTURE: u64 = 30;
/// `arg0` = a buffer, `arg1` = its length: stops the recording and copies
/// what it holds there; returns the byte count. `EINVAL` if no recording
/// runs, `ENOMEM` if none could be allocated.
pub const CONSOLE_CAPTURED: u64 = 31;

/// `arg0` = a count, `arg1` = a kind of kernel object (the index of
/// `libos_kcore::limits::Resource`: 0 threads, 1 timers, 2 futex waiters,
/// 3 regions, 4 epoll watches, 5 eventfds, 6 sockets, 7 record locks): lowers the app's limit for that
/// kind (below its default only), so a test can reach it quickly and
/// often. `EINVAL` for an unknown kind.
pub const LOWER_THREAD_LIMIT: u64 = 32;

/// `arg0` = a Linux signal number: the fault that ends this process must
/// be one the kernel reports as that signal (`SIGBUS` past the end of a
/// mapped file, not `SIGSEGV`), for the boot-time test harness to count
/// the test as passed.
pub const EXPECT_SIGNAL: u64 = 33;
/// `arg0` = a text, `arg1` = its length (1 to [`MAX_EXPECTED_OUTPUT`]
/// bytes): what the console prints from now until this process ends must
/// contain that text for the boot-time test harness to count the test as
/// passed (a message the app prints as it dies, such as `std`'s "has
/// overflowed its stack"). It starts a console recording
/// ([`CONSOLE_CAPTURE`]); the harness takes it when the process has ended.
pub const EXPECT_OUTPUT: u64 = 34;
/// The longest text [`EXPECT_OUTPUT`] takes.
pub const MAX_EXPECTED_OUTPUT: u64 = 128;
/// [`LOWER_THREAD_LIMIT`]'s `arg1` for epoll watches.
pub const LIMIT_EPOLL_WATCHES: u64 = 4;
/// [`LOWER_THREAD_LIMIT`]'s `arg1` for eventfds.
pub const LIMIT_EVENTFDS: u64 = 5;
/// [`LOWER_THREAD_LIMIT`]'s `arg1` for POSIX record locks.
pub const LIMIT_RECORD_LOCKS: u64 = 7;

/// The highest operation number.
pub const LAST_OPERATION: u64 = EXPECT_OUTPUT;

/// Whether operation `op` cannot break the app's memory safety: all but
/// [`SET_RETURN_RIP`] (the call returns elsewhere), [`BENCH_FLOOR`]
/// (every later system call returns unanswered) and [`CONSOLE_CAPTURED`]
/// (it writes to the app's memory wherever `arg0` points).
pub const fn is_memory_safe(op: u64) -> bool {
    !matches!(op, SET_RETURN_RIP | BENCH_FLOOR | CONSOLE_CAPTURED)
}

/// Distance between two CPUs' entry areas, and so between their LSTARs
/// under KPTI (the kernel checks at compile time that this is its stride).
pub const ENTRY_AREA_STRIDE: u64 = 0x2_0000;

/// The value argument register `index` (0 = RDI ... 5 = R9) carries in a
/// [`CHECK_ARGS`] call with `seed`: distinct per register and per seed.
pub const fn arg_pattern(seed: u64, index: u32) -> u64 {
    seed.rotate_left(index * 11) ^ (0x0101_0101_0101_0101u64.wrapping_mul(index as u64 + 1))
}
