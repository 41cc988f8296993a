//! The `[bench]` lines that `apps/bench` prints on the serial port, decoded.
//!
//! Each line is `[bench] <kind> key=value ...` with raw totals (TSC ticks,
//! nanoseconds, iterations); the xtask divides. A line whose kind is known
//! but whose values are missing or not numbers is an error, and so is a run
//! whose output lacks a line it must have: a benchmark never guesses.

use anyhow::{Context, Result, bail, ensure};

/// What starts every line of the bench app's report.
pub const PREFIX: &str = "[bench] ";

/// One syscall path the bench app times.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SyscallPath {
    /// An unknown syscall number: the kernel's dispatch answers -ENOSYS.
    Null,
    /// `getpid`.
    Getpid,
    /// The bare SYSCALL/SYSRET floor entry, installed for the measurement.
    Floor,
}

impl SyscallPath {
    /// Every path, in the order of the report.
    pub const ALL: [SyscallPath; 3] = [SyscallPath::Null, SyscallPath::Getpid, SyscallPath::Floor];

    /// Its name in the `[bench]` lines and in figure names.
    pub fn name(self) -> &'static str {
        match self {
            SyscallPath::Null => "null",
            SyscallPath::Getpid => "getpid",
            SyscallPath::Floor => "floor",
        }
    }

    fn from_name(name: &str) -> Option<SyscallPath> {
        SyscallPath::ALL.into_iter().find(|p| p.name() == name)
    }
}

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

impl Check {
    /// The instructions the loop executed.
    pub fn instructions(&self) -> u64 {
        self.loop_instructions * self.iterations
    }
}

/// `[bench] config ...`: the entry configuration as the kernel reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct EntryConfig {
    /// Kernel page-table isolation.
    pub kpti: bool,
    /// PCIDs in use.
    pub pcid: bool,
}

impl EntryConfig {
    /// Its name in figure names: `kpti-off`, `kpti-on`, `kpti-on-pcid`.
    pub fn name(self) -> &'static str {
        match (self.kpti, self.pcid) {
            (false, _) => "kpti-off",
            (true, false) => "kpti-on",
            (true, true) => "kpti-on-pcid",
        }
    }

    /// In words: `KPTI off`, `KPTI on, no PCID`, `KPTI on, PCID`.
    pub fn describe(self) -> &'static str {
        match (self.kpti, self.pcid) {
            (false, _) => "KPTI off",
            (true, false) => "KPTI on, no PCID",
            (true, true) => "KPTI on, PCID",
        }
    }
}

/// `[bench] syscall ...`: round trips of one path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyscallTiming {
    /// The path.
    pub path: SyscallPath,
    /// Round trips timed.
    pub iterations: u64,
    /// TSC ticks they took.
    pub tsc: u64,
    /// Nanoseconds they took, from the kernel's TSC frequency.
    pub ns: u64,
}

/// `[bench] boot ...`: from the kernel's first instructions to the app's
/// `main`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BootTiming {
    /// TSC ticks.
    pub tsc: u64,
    /// The kernel's TSC frequency.
    pub tsc_hz: u64,
}

impl BootTiming {
    /// The time in milliseconds (the ticks at the kernel's TSC frequency).
    pub fn ms(&self) -> f64 {
        self.tsc as f64 * 1e3 / self.tsc_hz as f64
    }
}

/// `[bench] scaling ...`: getpid calls by `threads` threads on as many CPUs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScalingTiming {
    /// Threads, each pinned to its own CPU.
    pub threads: u32,
    /// Calls made by all of them together.
    pub calls: u64,
    /// Nanoseconds from their common start to the last one's end.
    pub ns: u64,
}

impl ScalingTiming {
    /// Calls per second.
    pub fn throughput(&self) -> f64 {
        self.calls as f64 * 1e9 / self.ns.max(1) as f64
    }
}

/// One decoded line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Line {
    /// `check`.
    Check(Check),
    /// `config`.
    Config(EntryConfig),
    /// `syscall`.
    Syscall(SyscallTiming),
    /// `boot`.
    Boot(BootTiming),
    /// `scaling`.
    Scaling(ScalingTiming),
    /// `kernel release=...`: the Linux guest's `uname -r`.
    Kernel(String),
    /// `files ...`: a figure of the file workload.
    Files(FileTiming),
}

/// A `[bench] files` line (`bench_workload::line::FileOp`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileTiming {
    /// `open_fstat_close`, `write` or `read`.
    pub op: String,
    /// Bytes per call (0 for `open_fstat_close`).
    pub chunk: u64,
    /// Rounds or bytes.
    pub count: u64,
    /// TSC ticks.
    pub tsc: u64,
    /// Nanoseconds.
    pub ns: u64,
}

/// The `[bench] files` lines of a run (at least one, or an error).
pub fn files_run(serial: &str) -> Result<Vec<FileTiming>> {
    let all: Vec<FileTiming> = parse_all(serial)?
        .into_iter()
        .filter_map(|l| match l {
            Line::Files(f) => Some(f),
            _ => None,
        })
        .collect();
    ensure!(!all.is_empty(), "no `[bench] files` line in the output");
    Ok(all)
}

/// The `key=value` words of a line after its kind.
struct Fields<'a> {
    line: &'a str,
    pairs: Vec<(&'a str, &'a str)>,
}

impl<'a> Fields<'a> {
    fn new(line: &'a str, words: impl Iterator<Item = &'a str>) -> Result<Fields<'a>> {
        let mut pairs = Vec::new();
        for word in words {
            let (key, value) =
                word.split_once('=').with_context(|| format!("`{word}` is not key=value in `{line}`"))?;
            pairs.push((key, value));
        }
        Ok(Fields { line, pairs })
    }

    fn text(&self, key: &str) -> Result<&'a str> {
        self.pairs
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| *v)
            .with_context(|| format!("no `{key}=` in `{}`", self.line))
    }

    fn number(&self, key: &str) -> Result<u64> {
        let text = self.text(key)?;
        text.parse().with_context(|| format!("`{key}={text}` is not a whole number in `{}`", self.line))
    }

    fn flag(&self, key: &str) -> Result<bool> {
        match self.number(key)? {
            0 => Ok(false),
            1 => Ok(true),
            n => bail!("`{key}={n}` is neither 0 nor 1 in `{}`", self.line),
        }
    }
}

/// Decodes one line of output: `None` when it is not a `[bench]` line. The
/// prefix may follow other output on the same line.
pub fn parse_line(line: &str) -> Option<Result<Line>> {
    let at = line.find(PREFIX)?;
    let body = line[at + PREFIX.len()..].trim();
    Some(parse_body(body).with_context(|| format!("cannot read the bench line `{}`", line.trim())))
}

fn parse_body(body: &str) -> Result<Line> {
    let mut words = body.split_whitespace();
    let kind = words.next().context("an empty bench line")?;
    let f = Fields::new(body, words)?;
    Ok(match kind {
        "check" => Line::Check(Check {
            loop_instructions: f.number("loop_instructions")?,
            iterations: f.number("iterations")?,
            tsc: f.number("tsc")?,
        }),
        "config" => Line::Config(EntryConfig { kpti: f.flag("kpti")?, pcid: f.flag("pcid")? }),
        "syscall" => {
            let name = f.text("path")?;
            let path = SyscallPath::from_name(name).with_context(|| format!("unknown syscall path `{name}`"))?;
            let iterations = f.number("iterations")?;
            ensure!(iterations > 0, "no iterations in `{body}`");
            Line::Syscall(SyscallTiming { path, iterations, tsc: f.number("tsc")?, ns: f.number("ns")? })
        }
        "boot" => {
            let tsc_hz = f.number("tsc_hz")?;
            ensure!(tsc_hz > 0, "a TSC frequency of 0 in `{body}`");
            Line::Boot(BootTiming { tsc: f.number("tsc")?, tsc_hz })
        }
        "scaling" => {
            let threads = f.number("threads")?;
            Line::Scaling(ScalingTiming {
                threads: u32::try_from(threads).with_context(|| format!("{threads} threads"))?,
                calls: f.number("calls")?,
                ns: f.number("ns")?,
            })
        }
        "kernel" => Line::Kernel(f.text("release")?.to_string()),
        "files" => {
            let count = f.number("count")?;
            ensure!(count > 0, "a count of 0 in `{body}`");
            Line::Files(FileTiming {
                op: f.text("op")?.to_string(),
                chunk: f.number("chunk")?,
                count,
                tsc: f.number("tsc")?,
                ns: f.number("ns")?,
            })
        }
        other => bail!("unknown kind `{other}`"),
    })
}

/// Every `[bench]` line of a run's output, in order.
pub fn parse_all(serial: &str) -> Result<Vec<Line>> {
    serial.lines().filter_map(parse_line).collect()
}

/// What a `syscalls` run prints.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyscallsRun {
    /// The loop of known length.
    pub check: Check,
    /// The entry configuration.
    pub config: EntryConfig,
    /// One timing per path, in [`SyscallPath::ALL`]'s order.
    pub timings: Vec<SyscallTiming>,
}

impl SyscallsRun {
    /// The timing of a path.
    pub fn timing(&self, path: SyscallPath) -> SyscallTiming {
        *self.timings.iter().find(|t| t.path == path).expect("every path is timed")
    }
}

/// Decodes a `syscalls` run: exactly one check, one config and one timing
/// per path.
pub fn syscalls_run(serial: &str) -> Result<SyscallsRun> {
    syscalls_run_of(serial, &SyscallPath::ALL)
}

/// Decodes a `syscalls` run that times `paths` (the Linux guest has no
/// floor entry): exactly one check, one config and one timing per path.
pub fn syscalls_run_of(serial: &str, paths: &[SyscallPath]) -> Result<SyscallsRun> {
    let lines = parse_all(serial)?;
    let check = exactly_one(&lines, "check", |l| if let Line::Check(c) = l { Some(*c) } else { None })?;
    let config = exactly_one(&lines, "config", |l| if let Line::Config(c) = l { Some(*c) } else { None })?;
    let mut timings = Vec::new();
    for &path in paths {
        let what = format!("syscall path={}", path.name());
        timings.push(exactly_one(&lines, &what, |l| match l {
            Line::Syscall(t) if t.path == path => Some(*t),
            _ => None,
        })?);
    }
    Ok(SyscallsRun { check, config, timings })
}

/// The release the Linux guest's `/init` reports: exactly one kernel line.
pub fn kernel_release(serial: &str) -> Result<String> {
    let lines = parse_all(serial)?;
    exactly_one(&lines, "kernel", |l| if let Line::Kernel(r) = l { Some(r.clone()) } else { None })
}

/// Decodes a `boot` run: exactly one boot line.
pub fn boot_run(serial: &str) -> Result<BootTiming> {
    let lines = parse_all(serial)?;
    exactly_one(&lines, "boot", |l| if let Line::Boot(b) = l { Some(*b) } else { None })
}

/// Decodes a `scaling` run: one line for each thread count from 1 to
/// `cpus`, in order.
pub fn scaling_run(serial: &str, cpus: u32) -> Result<Vec<ScalingTiming>> {
    let lines = parse_all(serial)?;
    let timings: Vec<ScalingTiming> =
        lines.iter().filter_map(|l| if let Line::Scaling(s) = l { Some(*s) } else { None }).collect();
    let counts: Vec<u32> = timings.iter().map(|t| t.threads).collect();
    let expected: Vec<u32> = (1..=cpus).collect();
    ensure!(counts == expected, "expected `[bench] scaling` lines for threads {expected:?}, found {counts:?}");
    Ok(timings)
}

fn exactly_one<T>(lines: &[Line], what: &str, pick: impl Fn(&Line) -> Option<T>) -> Result<T> {
    let mut found: Vec<T> = lines.iter().filter_map(pick).collect();
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => bail!("no `{PREFIX}{what}` line in the output"),
        n => bail!("{n} `{PREFIX}{what}` lines in the output, expected one"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SYSCALLS: &str = "libos 0.1.0 booting (loader: qemu)\r\n\
        [bench] check loop_instructions=2 iterations=100000 tsc=200000\r\n\
        [bench] config kpti=1 pcid=0\r\n\
        [bench] syscall path=null iterations=100000 tsc=13100400 ns=13100403\r\n\
        [bench] syscall path=getpid iterations=100000 tsc=17000005 ns=17000010\r\n\
        [bench] syscall path=floor iterations=100000 tsc=700003 ns=700003\r\n\
        [libos] app 'bench' exited with code 0\r\n";

    #[test]
    fn a_syscalls_run_decodes() {
        let run = syscalls_run(SYSCALLS).unwrap();
        assert_eq!(run.check, Check { loop_instructions: 2, iterations: 100_000, tsc: 200_000 });
        assert_eq!(run.check.instructions(), 200_000);
        assert_eq!(run.config, EntryConfig { kpti: true, pcid: false });
        assert_eq!(
            run.timing(SyscallPath::Getpid),
            SyscallTiming { path: SyscallPath::Getpid, iterations: 100_000, tsc: 17_000_005, ns: 17_000_010 }
        );
        assert_eq!(run.timings.iter().map(|t| t.path).collect::<Vec<_>>(), SyscallPath::ALL);
    }

    #[test]
    fn other_lines_are_ignored_and_the_prefix_may_follow_output() {
        assert!(parse_line("[libos] exit: success").is_none());
        let line = parse_line("partial[bench] boot tsc=14675768 tsc_hz=999999700\r").unwrap().unwrap();
        assert_eq!(line, Line::Boot(BootTiming { tsc: 14_675_768, tsc_hz: 999_999_700 }));
        let Line::Boot(boot) = line else { unreachable!() };
        let release = "[bench] kernel release=6.1.0-57-cloud-amd64\r";
        assert_eq!(parse_line(release).unwrap().unwrap(), Line::Kernel("6.1.0-57-cloud-amd64".into()));
        assert!((boot.ms() - 14.675_772).abs() < 1e-3, "{}", boot.ms());
    }

    #[test]
    fn bad_lines_are_errors() {
        for bad in [
            "[bench] syscall path=null iterations=10 tsc=x ns=1",
            "[bench] syscall path=sideways iterations=10 tsc=1 ns=1",
            "[bench] syscall path=null iterations=0 tsc=1 ns=1",
            "[bench] config kpti=2 pcid=0",
            "[bench] config kpti=1",
            "[bench] boot tsc=1 tsc_hz=0",
            "[bench] boot tsc 1",
            "[bench] kernel version=6.1",
            "[bench] frobnicate a=1",
            "[bench] ",
        ] {
            let err = parse_line(bad).unwrap().unwrap_err();
            assert!(format!("{err:#}").contains("cannot read the bench line"), "{bad}: {err:#}");
        }
    }

    #[test]
    fn missing_or_repeated_lines_are_errors() {
        let without_floor: String =
            SYSCALLS.lines().filter(|l| !l.contains("floor")).map(|l| l.to_string() + "\n").collect();
        let err = syscalls_run(&without_floor).unwrap_err().to_string();
        assert!(err.contains("no `[bench] syscall path=floor` line"), "{err}");
        let twice = format!("{SYSCALLS}[bench] config kpti=0 pcid=0\n");
        let err = syscalls_run(&twice).unwrap_err().to_string();
        assert!(err.contains("2 `[bench] config` lines"), "{err}");
        assert!(boot_run("nothing here\n").is_err());
    }

    #[test]
    fn scaling_needs_every_thread_count_in_order() {
        let serial = "[bench] scaling threads=1 calls=100 ns=1000\n[bench] scaling threads=2 calls=200 ns=1000\n";
        let timings = scaling_run(serial, 2).unwrap();
        assert_eq!(timings[1], ScalingTiming { threads: 2, calls: 200, ns: 1000 });
        assert_eq!(timings[1].throughput(), 2e8);
        let err = scaling_run(serial, 3).unwrap_err().to_string();
        assert!(err.contains("[1, 2, 3]"), "{err}");
    }
}
