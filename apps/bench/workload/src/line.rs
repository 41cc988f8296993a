//! The `[bench]` lines both guests print and the xtask reads
//! (`xtask/src/bench/lines.rs`): `[bench] <kind> key=value ...`, one
//! figure per line, raw totals only. Each type's `Display` is the line,
//! without its newline.

use core::fmt;

/// What starts every line.
pub const PREFIX: &str = "[bench] ";

/// `[bench] check ...`: a loop of known length, timed with the TSC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Check {
    /// Instructions per iteration of the loop.
    pub loop_instructions: u64,
    /// Iterations timed.
    pub iterations: u64,
    /// TSC ticks they took.
    pub tsc: u64,
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{PREFIX}check loop_instructions={} iterations={} tsc={}",
            self.loop_instructions, self.iterations, self.tsc
        )
    }
}

/// `[bench] config ...`: the entry configuration as the measured kernel
/// reports it (ours: its entry flags; Linux: `/proc/cpuinfo`'s `pti` and
/// `pcid` flags).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// Kernel page-table isolation is on.
    pub kpti: bool,
    /// PCIDs are in use (Linux: the CPU has them, which Linux then uses).
    pub pcid: bool,
}

impl fmt::Display for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{PREFIX}config kpti={} pcid={}", u8::from(self.kpti), u8::from(self.pcid))
    }
}

/// `[bench] syscall ...`: round trips of one path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Syscall<'a> {
    /// The path: `null`, `getpid`, `floor`.
    pub path: &'a str,
    /// Round trips timed.
    pub iterations: u64,
    /// TSC ticks they took.
    pub tsc: u64,
    /// Nanoseconds they took (ours: from the kernel's TSC frequency;
    /// Linux: `CLOCK_MONOTONIC` around the same loop).
    pub ns: u64,
}

impl fmt::Display for Syscall<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{PREFIX}syscall path={} iterations={} tsc={} ns={}", self.path, self.iterations, self.tsc, self.ns)
    }
}

/// `[bench] kernel ...`: which kernel ran the workload (the Linux guest
/// prints its `uname -r`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Kernel<'a> {
    /// The release, without spaces.
    pub release: &'a str,
}

impl fmt::Display for Kernel<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{PREFIX}kernel release={}", self.release)
    }
}

/// `[bench] files ...`: one figure of the file workload
/// ([`crate::files::run`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileOp<'a> {
    /// `open_fstat_close`, `write` or `read`.
    pub op: &'a str,
    /// Bytes per call (0 for `open_fstat_close`).
    pub chunk: u64,
    /// Rounds (`open_fstat_close`) or bytes moved.
    pub count: u64,
    /// TSC ticks they took.
    pub tsc: u64,
    /// Nanoseconds they took.
    pub ns: u64,
}

impl fmt::Display for FileOp<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{PREFIX}files op={} chunk={} count={} tsc={} ns={}",
            self.op, self.chunk, self.count, self.tsc, self.ns
        )
    }
}
