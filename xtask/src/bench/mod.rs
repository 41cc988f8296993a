//! `cargo xtask bench`: measures the syscall path, boot and size of the
//! release images, side by side, and says what each figure measures.
//!
//! Emulators are not hardware and these machines are shared, so every
//! figure comes in the unit that can be trusted for it:
//!
//! - **Instructions** (deterministic). Under QEMU with `-icount shift=0`
//!   (single-threaded TCG) the guest's TSC advances exactly one tick per
//!   instruction executed; under Bochs with `clock: sync=none` it does as
//!   well. The bench app (`apps/bench`) reads the TSC around N round trips,
//!   so ticks / N is the instruction count of one round trip: the same on
//!   every run and every host. Each run first times a loop of known length
//!   (2 instructions x 100000) and a figure is called instructions only
//!   when that check proves one tick per instruction (or a whole number of
//!   ticks per instruction, divided out); otherwise it stays TSC ticks.
//! - **Time** (noisy). Under plain TCG the guest's TSC reads the host's:
//!   ticks per round trip are host cycles spent emulating it ("emulated
//!   cycles"), and nanoseconds come from the kernel's TSC frequency,
//!   measured against the HPET. Both depend on the host, its load and
//!   QEMU's translation cache: each is the median of several runs, shown
//!   with its spread.
//! - **Whole-process wall time** (noisy): the median for `hello`, next to
//!   the same for an empty image whose kernel ends the run at its first
//!   Rust instruction, the emulator's and firmware's floor; the difference
//!   is our cost.
//! - **Sizes** are the bytes of the files; the memory `hello` needs is
//!   found by booting it (a bisection over whole MiB).
//! - **Scaling**: getpid throughput with 1..N threads pinned to 1..N CPUs
//!   under multi-threaded TCG, as a ratio to one thread (N = the host's
//!   CPUs, at most 4). It measures QEMU's parallelism and the host's other
//!   load as much as ours.
//! - **Float** ([`float`]): a Mandelbrot workload built hard- and
//!   soft-float (instructions and ratio), and a futex ping-pong's round
//!   trip with the eager FPU/SIMD state switch (instructions, emulated
//!   cycles, the state's size), in the notes.
//! - **Files** ([`files`]): `open`+`fstat`+`close` and a file written
//!   and read in 4 KiB and 1 MiB calls in `/tmp` and on an ext2 disk
//!   (virtio-blk), instructions per call under `-icount` and MiB/s under
//!   plain TCG, beside the Linux guest's.
//! - **HTTP and bulk TCP** ([`http`]): an HTTP/1.1 server (the libos app
//!   and the same program on Rust `std`) under the xtask's load generator
//!   at 1, 16 and 64 keep-alive connections, and one large transfer each
//!   way: guest instructions per request under `-icount` (counted by QEMU),
//!   requests/s and MB/s under plain TCG, KPTI on and off, beside the Linux
//!   guest serving the same `std` binary.
//! - **Start-up** ([`start`]): an ordinary Rust `std` hello (a static
//!   musl binary): instructions from the first kernel instruction to its
//!   `main` and to its exit, and `clock_gettime(CLOCK_MONOTONIC)` per
//!   call, under `-icount`, beside the same binary on the Linux guest.
//! - **Linux beside us** ([`linux`]): Debian's cloud kernel, booted in the
//!   same run on the same QEMU machine, with an `/init` that runs the bench
//!   app's loops (the same source, built for `x86_64-unknown-linux-musl`);
//!   each figure it measures is shown beside ours with the ratio. The null
//!   syscall and `getpid` now, under `-icount` and plain TCG, `pti=on` and
//!   `off`. `--no-linux` (and `--quick`) leave it out; without apt or a
//!   network the notes say so and the run goes on.
//!
//! The benchmark is not a test: it fails only when a boot fails or its
//! output cannot be read (the error shows the serial output's tail), never
//! on a number. The figures go to the console ([`crate::bench::table`]) and
//! to a JSON file in `target/bench/` ([`crate::bench::report`]) with the
//! commit, the emulators' versions and the host, so that runs can be
//! compared (`--compare`).

mod breakdown;
mod env;
mod files;
mod float;
mod http;
mod lines;
mod linux;
mod report;
mod start;
mod table;
mod targets;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail, ensure};
use libos_abi::run::RunExit;

use self::env::{Environment, Utc, host_cores};
use self::lines::{EntryConfig, ScalingTiming, SyscallsRun};
use self::report::{
    BootFigures, Config, Earlier, MemSearch, Report, SCHEMA, ScalingFigure, Setup, SizeFigures, Summary, SyscallFigure,
    TscCheck, compare,
};
use crate::build::image::Image;
use crate::build::{Flavor, Hooks, Layout};
use crate::commands::{ImageSpec, build_image};
use crate::emulator::bochs;
use crate::emulator::qemu::{self, Accel, Firmware, Machine};
use crate::emulator::run_result::Verdict;
use crate::emulator::{Ended, Launch};
use crate::install;

/// The app that measures.
pub const BENCH_APP: &str = "bench";
/// The app whose boot and size are measured.
pub const HELLO_APP: &str = "hello";
/// What `hello` prints when it runs.
pub const HELLO_LINE: &str = "Hello from ring 3!";
/// Memory of every boot but the memory search.
pub const MEM: &str = "128M";
/// The memory search's range, in MiB.
pub const MEM_RANGE_MIB: (u32, u32) = (1, 128);
/// Timeout of a QEMU boot that measures (generous: the host may be busy).
pub const QEMU_TIMEOUT: Duration = Duration::from_secs(300);
/// Timeout of a boot of the memory search: `hello` boots in well under a
/// second, and a size too small may hang.
pub const MEM_PROBE_TIMEOUT: Duration = Duration::from_secs(15);
/// Most CPUs of the scaling runs.
pub const MAX_SCALING_CPUS: u32 = 4;
/// Lines of serial output shown when a boot fails.
pub const TAIL_LINES: usize = 30;
/// The kernel command line words of each configuration measured: the
/// defaults (KPTI on, PCID when the CPU has it) and KPTI off, and, under
/// Bochs, KPTI on without PCID.
pub const KPTI_ON: &str = "";
/// See [`KPTI_ON`].
pub const KPTI_OFF: &str = "kpti=off";
/// See [`KPTI_ON`].
pub const PCID_OFF: &str = "pcid=off";

/// `cargo xtask bench`'s options.
#[derive(Clone, Debug, Default)]
pub struct BenchOptions {
    /// `--quick`: a smoke run (small counts, one run each, coarse memory
    /// search, one Bochs configuration).
    pub quick: bool,
    /// `--compare FILE`.
    pub compare: Option<PathBuf>,
    /// `--runs N`: runs of each noisy measurement.
    pub runs: Option<u32>,
    /// `--iterations N`: round trips per path per run.
    pub iterations: Option<u64>,
    /// `--no-bochs`.
    pub no_bochs: bool,
    /// `--out FILE`: where the JSON goes.
    pub out: Option<PathBuf>,
    /// `--no-linux`: no Linux guest beside us.
    pub no_linux: bool,
    /// `--breakdown`: where one round trip's instructions go.
    pub breakdown: bool,
    /// `--only`: the parts to run (empty: all).
    pub only: Vec<Part>,
    /// `--net tap`: the HTTP part's guests on a tap device.
    pub tap: bool,
}

/// A part of the benchmark (`--only`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// Syscall instructions under QEMU -icount.
    Syscalls,
    /// Syscall instructions under Bochs.
    Bochs,
    /// Syscall times under plain TCG.
    Tcg,
    /// The Linux guest.
    Linux,
    /// Boot instructions and times, whole-process wall times.
    Boot,
    /// The memory search.
    Memory,
    /// getpid scaling.
    Scaling,
    /// The per-phase breakdown of a round trip.
    Breakdown,
    /// The file workload (ours; the Linux guest's with [`Part::Linux`]).
    Files,
    /// HTTP and bulk TCP (ours; the Linux guest's with [`Part::Linux`]).
    Http,
    /// Start-up and `clock_gettime` of a Rust `std` program (ours; the
    /// Linux guest's with [`Part::Linux`]).
    Start,
}

impl Part {
    /// Every part, in `--only`'s spelling.
    pub const ALL: [(&'static str, Part); 11] = [
        ("syscalls", Part::Syscalls),
        ("bochs", Part::Bochs),
        ("tcg", Part::Tcg),
        ("linux", Part::Linux),
        ("boot", Part::Boot),
        ("memory", Part::Memory),
        ("scaling", Part::Scaling),
        ("breakdown", Part::Breakdown),
        ("files", Part::Files),
        ("http", Part::Http),
        ("start", Part::Start),
    ];

    /// `--only`'s parser.
    pub fn parse(word: &str) -> Result<Part, String> {
        Part::ALL.iter().find(|(name, _)| *name == word).map(|(_, p)| *p).ok_or_else(|| {
            let names: Vec<&str> = Part::ALL.iter().map(|(n, _)| *n).collect();
            format!("no part `{word}`; the parts are {}", names.join(", "))
        })
    }
}

/// How many of everything a run does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// `--quick`.
    pub quick: bool,
    /// Runs of each noisy TCG measurement.
    pub runs: u32,
    /// Runs of each whole-process wall time.
    pub process_runs: u32,
    /// Round trips per path per `syscalls` run.
    pub iterations: u64,
    /// getpid calls per thread in a scaling run with KPTI on (ten times as
    /// many with KPTI off, which is that much faster).
    pub scaling_iterations: u64,
    /// CPUs of the scaling runs.
    pub scaling_cpus: u32,
    /// Configurations of the scaling runs.
    pub scaling_configs: Vec<&'static str>,
    /// Configurations under Bochs.
    pub bochs_configs: Vec<&'static str>,
    /// The memory search: the largest size (tried first) and most boots.
    pub mem_high_mib: u32,
    /// See [`Plan::mem_high_mib`].
    pub mem_max_boots: u32,
    /// Why the Linux guest is left out (`--no-linux`, `--quick`), if it is.
    pub linux_skipped: Option<&'static str>,
    /// `--only`'s parts (empty: all but the breakdown, which `--breakdown`
    /// adds).
    pub only: Vec<Part>,
    /// `--breakdown` (or `--only breakdown`).
    pub breakdown: bool,
    /// `--net tap`: the HTTP part's guests on a tap device.
    pub tap: bool,
}

impl Plan {
    /// The plan for these options on a host with `cores` CPUs.
    pub fn new(opts: &BenchOptions, cores: usize) -> Plan {
        let quick = opts.quick;
        let default_iterations = if quick { 10_000 } else { 100_000 };
        Plan {
            quick,
            runs: opts.runs.unwrap_or(if quick { 1 } else { 5 }).max(1),
            process_runs: if quick { 3 } else { 10 },
            iterations: opts.iterations.unwrap_or(default_iterations).max(1),
            scaling_iterations: opts.iterations.unwrap_or(default_iterations).max(1),
            scaling_cpus: (cores.clamp(1, MAX_SCALING_CPUS as usize)) as u32,
            scaling_configs: if quick { vec![KPTI_ON] } else { vec![KPTI_ON, KPTI_OFF] },
            bochs_configs: if quick { vec![KPTI_ON] } else { vec![KPTI_ON, PCID_OFF, KPTI_OFF] },
            // Quick: 16 MiB (the target), then 8 and 4.
            mem_high_mib: if quick { targets::MEM_TARGET_MIB } else { MEM_RANGE_MIB.1 },
            mem_max_boots: if quick { 3 } else { u32::MAX },
            linux_skipped: if opts.no_linux {
                Some("--no-linux")
            } else if quick {
                Some("--quick")
            } else if !opts.only.is_empty() && !opts.only.contains(&Part::Linux) {
                Some("--only")
            } else {
                None
            },
            only: opts.only.clone(),
            breakdown: opts.breakdown || opts.only.contains(&Part::Breakdown),
            tap: opts.tap,
        }
    }

    /// Whether `part` runs (`--only`; the breakdown only when asked for).
    pub fn runs(&self, part: Part) -> bool {
        match part {
            Part::Breakdown => self.breakdown,
            _ => self.only.is_empty() || self.only.contains(&part),
        }
    }

    /// getpid calls per thread in a scaling run of this configuration.
    pub fn scaling_calls(&self, words: &str) -> u64 {
        if words == KPTI_OFF { self.scaling_iterations * 10 } else { self.scaling_iterations }
    }
}

/// The kernel command line: configuration words, then the app's arguments.
pub fn app_cmdline(words: &str, app_args: &str) -> String {
    if words.is_empty() { format!("-- {app_args}") } else { format!("{words} -- {app_args}") }
}

/// A configuration's words in the progress messages.
fn describe_words(words: &str) -> &str {
    if words.is_empty() { "defaults" } else { words }
}

/// The last `max` lines of a run's serial output, indented.
pub fn serial_tail(serial: &[u8], max: usize) -> String {
    let text = String::from_utf8_lossy(serial);
    let lines: Vec<&str> = text.lines().collect();
    let skip = lines.len().saturating_sub(max);
    let mut out = format!("---- serial output (last {} of {} lines)\n", lines.len() - skip, lines.len());
    for line in &lines[skip..] {
        out.push_str("    | ");
        out.push_str(line.trim_end_matches('\r'));
        out.push('\n');
    }
    out
}

/// The figures of a run under a deterministic setup: the check, and each
/// path's TSC ticks per round trip, as instructions where the check proves
/// the ratio.
pub fn instruction_figures(setup: Setup, run: &SyscallsRun) -> (TscCheck, Vec<SyscallFigure>) {
    let check = TscCheck { setup, entry: run.config, tsc: run.check.tsc, instructions: run.check.instructions() };
    let ratio = check.ticks_per_instruction();
    let figures = run
        .timings
        .iter()
        .map(|t| {
            let per_call = t.tsc as f64 / t.iterations as f64;
            SyscallFigure {
                setup,
                entry: run.config,
                path: t.path,
                iterations: t.iterations,
                instructions: ratio.map(|r| per_call / r as f64),
                tsc: Summary::one(per_call),
                ns: None,
            }
        })
        .collect();
    (check, figures)
}

/// The figures of several runs of one configuration under plain TCG: the
/// median ns and TSC ticks per round trip of each path the first run timed.
pub fn timed_figures(runs: &[SyscallsRun]) -> Result<Vec<SyscallFigure>> {
    let first = runs.first().context("no runs")?;
    ensure!(
        runs.iter().all(|r| r.config == first.config),
        "the runs of one configuration report different entry configurations"
    );
    ensure!(
        runs.iter().all(|r| r.timings.iter().map(|t| t.path).eq(first.timings.iter().map(|t| t.path))),
        "the runs of one configuration timed different paths"
    );
    let mut figures = Vec::new();
    for path in first.timings.iter().map(|t| t.path) {
        let per_call = |f: fn(&lines::SyscallTiming) -> u64| -> Vec<f64> {
            runs.iter().map(|r| r.timing(path)).map(|t| f(&t) as f64 / t.iterations as f64).collect()
        };
        figures.push(SyscallFigure {
            setup: Setup::QemuTcg,
            entry: first.config,
            path,
            iterations: first.timing(path).iterations,
            instructions: None,
            tsc: Summary::of(per_call(|t| t.tsc)).expect("runs"),
            ns: Summary::of(per_call(|t| t.ns)),
        });
    }
    Ok(figures)
}

/// The scaling figures of several runs of one configuration: median
/// throughput per thread count and its ratio to one thread.
pub fn scaling_figures(entry: EntryConfig, runs: &[Vec<ScalingTiming>]) -> Vec<ScalingFigure> {
    let Some(first) = runs.first() else {
        return Vec::new();
    };
    let mut figures: Vec<ScalingFigure> = first
        .iter()
        .enumerate()
        .map(|(i, t)| ScalingFigure {
            entry,
            threads: t.threads,
            calls: t.calls,
            throughput: Summary::of(runs.iter().filter_map(|r| r.get(i)).map(ScalingTiming::throughput).collect())
                .expect("runs"),
            ratio: 0.0,
        })
        .collect();
    let one = figures.first().map(|f| f.throughput.median).unwrap_or(0.0);
    for f in &mut figures {
        f.ratio = if one > 0.0 { f.throughput.median / one } else { 0.0 };
    }
    figures
}

/// The smallest size in `low..=high` (MiB) for which `boots` says yes, by
/// bisection, trying `high` first, with at most `max_boots` boots. Assumes
/// that a size boots when a smaller one does.
pub fn smallest_that_boots(
    low: u32,
    high: u32,
    max_boots: u32,
    boots: &mut dyn FnMut(u32) -> Result<bool>,
) -> Result<MemSearch> {
    let mut search = MemSearch { smallest_booting_mib: None, largest_failing_mib: None, boots: 0 };
    if max_boots == 0 || high < low {
        return Ok(search);
    }
    search.boots += 1;
    if !boots(high)? {
        search.largest_failing_mib = Some(high);
        return Ok(search);
    }
    // Invariant: `ok` boots; `failed` (if any) does not; sizes below `low`
    // count as failing.
    let mut ok = high;
    let mut failed = low - 1;
    while ok - failed > 1 && search.boots < max_boots {
        let mid = failed + (ok - failed) / 2;
        search.boots += 1;
        if boots(mid)? {
            ok = mid;
        } else {
            failed = mid;
            search.largest_failing_mib = Some(mid);
        }
    }
    search.smallest_booting_mib = Some(ok);
    Ok(search)
}

/// A warning when the host was busy as the run started (its 1-minute load
/// average at least half its CPUs): the timings are then noisier than
/// usual, the scaling figures above all. The instruction counts are not
/// affected.
pub fn busy_host_note(env: &Environment) -> Option<String> {
    let load: f64 = env.load_average.as_deref()?.split_whitespace().next()?.parse().ok()?;
    (load >= env.host_cores as f64 / 2.0).then(|| {
        format!(
            "the host was busy: load average {load:.2} on {} CPUs when the run started. Timings (ns, TSC \
             ticks under plain TCG, process wall times) and scaling above all suffer; instruction counts do \
             not",
            env.host_cores
        )
    })
}

/// The three release images.
#[derive(Clone, Debug)]
struct Images {
    /// The kernel with the bench app.
    bench: PathBuf,
    /// The kernel with `hello`.
    hello: PathBuf,
    /// The empty kernel alone.
    empty: PathBuf,
}

/// One benchmark run in progress.
struct Bench {
    layout: Layout,
    plan: Plan,
    qemu: PathBuf,
    firmware: Firmware,
    bochs: Option<bochs::Tools>,
    images: Images,
}

impl Bench {
    fn qemu_launch(
        &self,
        image: &Path,
        cmdline: String,
        smp: u32,
        mem: &str,
        icount: bool,
        timeout: Duration,
    ) -> Launch {
        Launch::Qemu(qemu::Boot {
            qemu: self.qemu.clone(),
            image: image.to_path_buf(),
            initrd: None,
            cmdline,
            machine: Machine {
                accel: Accel::Tcg,
                cpu: None,
                mem: mem.to_string(),
                smp,
                firmware: self.firmware,
                icount,
            },
            gdb: false,
            timeout: Some(timeout),
            devices: Vec::new(),
            stdin: None,
        })
    }

    fn bochs_launch(&self, tools: &bochs::Tools, image: &Path, cmdline: String) -> Result<Launch> {
        Ok(Launch::Bochs(bochs::Boot {
            tools: tools.clone(),
            image: image.to_path_buf(),
            cmdline,
            module: None,
            machine: bochs::Machine {
                cpu: bochs::DEFAULT_CPU.to_string(),
                smp: 1,
                mem_mib: bochs::mem_mib(MEM).map_err(|e| anyhow!(e))?,
            },
            timeout: bochs::DEFAULT_TIMEOUT,
            iso_dir: self.layout.bochs_iso_dir(),
            work_root: self.layout.bochs_work_dir(),
        }))
    }

    /// Boots and returns the run, which must have succeeded; a failure is an
    /// error that shows the serial output's tail.
    fn boot(&self, launch: &Launch, what: &str) -> Result<Ended> {
        let ended =
            launch.run(&mut |_, _| {}).with_context(|| format!("{what}: running {}", launch.emulator().name()))?;
        eprintln!("bench: {what} ({:.2} s)", ended.elapsed.as_secs_f64());
        if ended.verdict != Verdict::Exit(RunExit::Success) {
            let kept = match &ended.work_dir {
                Some(dir) => format!("---- the run's files are kept in {}\n", dir.display()),
                None => String::new(),
            };
            bail!(
                "{what}: {}\n$ {}\n{}{}{kept}",
                ended.verdict.describe(),
                ended.command,
                ended.diagnostics,
                serial_tail(&ended.serial, TAIL_LINES)
            );
        }
        ended.clean_up();
        Ok(ended)
    }

    /// Decodes a run's output with `parse`; an error shows the tail.
    fn decode<T>(&self, what: &str, ended: &Ended, parse: impl Fn(&str) -> Result<T>) -> Result<T> {
        parse(&String::from_utf8_lossy(&ended.serial))
            .map_err(|e| anyhow!("{what}: {e:#}\n$ {}\n{}", ended.command, serial_tail(&ended.serial, TAIL_LINES)))
    }

    fn syscalls(&self, launch: &Launch, what: &str) -> Result<SyscallsRun> {
        let ended = self.boot(launch, what)?;
        self.decode(what, &ended, lines::syscalls_run)
    }

    fn syscalls_cmdline(&self, words: &str) -> String {
        app_cmdline(words, &format!("syscalls {}", self.plan.iterations))
    }

    /// Instructions under QEMU `-icount`, KPTI on and off.
    fn qemu_instructions(&self, report: &mut Report) -> Result<()> {
        for words in [KPTI_ON, KPTI_OFF] {
            let launch = self.qemu_launch(&self.images.bench, self.syscalls_cmdline(words), 1, MEM, true, QEMU_TIMEOUT);
            let run = self.syscalls(&launch, &format!("QEMU -icount, {}: syscalls", describe_words(words)))?;
            let (check, figures) = instruction_figures(Setup::QemuIcount, &run);
            report.tsc_checks.push(check);
            report.syscalls.extend(figures);
        }
        Ok(())
    }

    /// Instructions under Bochs, if it is there.
    fn bochs_instructions(&self, report: &mut Report) -> Result<()> {
        let Some(tools) = &self.bochs else {
            return Ok(());
        };
        for &words in &self.plan.bochs_configs {
            let launch = self.bochs_launch(tools, &self.images.bench, self.syscalls_cmdline(words))?;
            let what = format!("Bochs {}, {}: syscalls", bochs::DEFAULT_CPU, describe_words(words));
            let run = self.syscalls(&launch, &what)?;
            let (check, figures) = instruction_figures(Setup::Bochs, &run);
            report.tsc_checks.push(check);
            report.syscalls.extend(figures);
        }
        Ok(())
    }

    /// Time per round trip under plain TCG, KPTI on and off.
    fn tcg_times(&self, report: &mut Report) -> Result<()> {
        for words in [KPTI_ON, KPTI_OFF] {
            let mut runs = Vec::new();
            for i in 1..=self.plan.runs {
                let launch =
                    self.qemu_launch(&self.images.bench, self.syscalls_cmdline(words), 1, MEM, false, QEMU_TIMEOUT);
                let what = format!("QEMU TCG, {}: syscalls, run {i}/{}", describe_words(words), self.plan.runs);
                runs.push(self.syscalls(&launch, &what)?);
            }
            if let Some(first) = runs.first() {
                let (check, _) = instruction_figures(Setup::QemuTcg, first);
                report.tsc_checks.push(check);
            }
            report.syscalls.extend(timed_figures(&runs)?);
        }
        Ok(())
    }

    /// Boot: instructions and time to `main`, whole-process wall times.
    fn boot_figures(&self, report: &mut Report) -> Result<()> {
        let cmdline = app_cmdline(KPTI_ON, "boot");
        let launch = self.qemu_launch(&self.images.bench, cmdline.clone(), 1, MEM, true, QEMU_TIMEOUT);
        let what = "QEMU -icount: boot";
        let ended = self.boot(&launch, what)?;
        let boot = self.decode(what, &ended, lines::boot_run)?;
        // The icount syscalls runs checked what a tick is.
        let ratio =
            report.tsc_checks.iter().find(|c| c.setup == Setup::QemuIcount).and_then(TscCheck::ticks_per_instruction);
        report.boot.instructions_to_main = ratio.map(|r| boot.tsc as f64 / r as f64);
        if ratio.is_none() {
            report.notes.push("boot instructions: the TSC check under -icount failed; not reported".to_string());
        }

        let mut ms = Vec::new();
        for i in 1..=self.plan.runs {
            let launch = self.qemu_launch(&self.images.bench, cmdline.clone(), 1, MEM, false, QEMU_TIMEOUT);
            let what = format!("QEMU TCG: boot, run {i}/{}", self.plan.runs);
            let ended = self.boot(&launch, &what)?;
            ms.push(self.decode(&what, &ended, lines::boot_run)?.ms());
        }
        report.boot.ms_to_main = Summary::of(ms);

        // Alternate the two images, so that a change in the host's load
        // falls on both alike.
        let (mut hello, mut empty) = (Vec::new(), Vec::new());
        let n = self.plan.process_runs;
        for i in 1..=n {
            let launch = self.qemu_launch(&self.images.hello, String::new(), 1, MEM, false, QEMU_TIMEOUT);
            let what = format!("QEMU TCG: hello, whole process, run {i}/{n}");
            let ended = self.boot(&launch, &what)?;
            ensure!(
                String::from_utf8_lossy(&ended.serial).contains(HELLO_LINE),
                "{what}: no `{HELLO_LINE}` line\n{}",
                serial_tail(&ended.serial, TAIL_LINES)
            );
            hello.push(ended.elapsed.as_secs_f64() * 1e3);
            let launch = self.qemu_launch(&self.images.empty, String::new(), 1, MEM, false, QEMU_TIMEOUT);
            let ended = self.boot(&launch, &format!("QEMU TCG: empty image, whole process, run {i}/{n}"))?;
            empty.push(ended.elapsed.as_secs_f64() * 1e3);
        }
        report.boot.hello_process_ms = Summary::of(hello);
        report.boot.empty_process_ms = Summary::of(empty);
        Ok(())
    }

    /// The smallest memory `hello` boots in.
    fn mem_search(&self) -> Result<MemSearch> {
        let mut probe = |mib: u32| -> Result<bool> {
            let launch =
                self.qemu_launch(&self.images.hello, String::new(), 1, &format!("{mib}M"), false, MEM_PROBE_TIMEOUT);
            let ended = launch.run(&mut |_, _| {}).context("running QEMU")?;
            let ok = ended.verdict == Verdict::Exit(RunExit::Success)
                && String::from_utf8_lossy(&ended.serial).contains(HELLO_LINE);
            let outcome = if ok { "boots".to_string() } else { format!("does not boot: {}", ended.verdict.describe()) };
            eprintln!("bench: hello with --mem {mib}M {outcome} ({:.2} s)", ended.elapsed.as_secs_f64());
            Ok(ok)
        };
        smallest_that_boots(MEM_RANGE_MIB.0, self.plan.mem_high_mib, self.plan.mem_max_boots, &mut probe)
    }

    /// getpid throughput on 1..N CPUs.
    fn scaling(&self, report: &mut Report) -> Result<()> {
        let cpus = self.plan.scaling_cpus;
        for &words in &self.plan.scaling_configs {
            let cmdline = app_cmdline(words, &format!("scaling {}", self.plan.scaling_calls(words)));
            let mut runs = Vec::new();
            let mut entry = None;
            for i in 1..=self.plan.runs {
                let launch = self.qemu_launch(&self.images.bench, cmdline.clone(), cpus, MEM, false, QEMU_TIMEOUT);
                let what =
                    format!("QEMU TCG -smp {cpus}, {}: scaling, run {i}/{}", describe_words(words), self.plan.runs);
                let ended = self.boot(&launch, &what)?;
                runs.push(self.decode(&what, &ended, |serial| lines::scaling_run(serial, cpus))?);
                // The scaling mode prints no config line: KPTI as asked,
                // PCID never under TCG.
                entry = Some(EntryConfig { kpti: words != KPTI_OFF, pcid: false });
            }
            if let Some(entry) = entry {
                report.scaling.extend(scaling_figures(entry, &runs));
            }
        }
        Ok(())
    }
}

/// Builds the three release images: the kernel with the bench app, with
/// `hello`, and the empty kernel alone; returns them and their sizes.
fn build_images(layout: &Layout) -> Result<(Images, SizeFigures)> {
    let release = Flavor::plain(true);
    // The bench app talks to the kernel's benchmark hooks (libos_debug);
    // hello and the empty kernel are production images.
    let bench_flavor = Flavor { hooks: Hooks::Bench, ..release };
    let build = |app: Option<&str>, flavor: Flavor| -> Result<(PathBuf, Image)> {
        let out = layout.image(app, flavor);
        let built = build_image(layout, &ImageSpec { app: app.map(str::to_string), flavor, elf: None }, &out)?;
        Ok((out, built.image))
    };
    let (bench, _) = build(Some(BENCH_APP), bench_flavor)?;
    let (hello, hello_image) = build(Some(HELLO_APP), release)?;
    let (empty, empty_image) = build(None, Flavor { bench_empty: true, ..release })?;
    Ok((Images { bench, hello, empty }, size_figures(&hello_image, &empty_image)))
}

/// The sizes of the `hello` image and of the empty one.
fn size_figures(hello: &Image, empty: &Image) -> SizeFigures {
    let (app_bytes, app_elf_bytes) = match &hello.app {
        Some(app) => (app.elf_offset + app.elf_size - app.payload_offset, app.elf_size),
        None => (0, 0),
    };
    SizeFigures {
        image_bytes: hello.bytes.len() as u64,
        kernel_bytes: hello.kernel_size,
        app_bytes,
        app_elf_bytes,
        empty_image_bytes: empty.bytes.len() as u64,
        mem: None,
    }
}

/// `cargo xtask bench`.
pub fn run(opts: &BenchOptions) -> Result<i32> {
    let started = Instant::now();
    let utc = Utc::now();
    // Read the earlier run first: a bad file should not cost a whole run.
    let earlier = opts.compare.as_deref().map(Earlier::read).transpose()?;
    let layout = Layout::new();
    let plan = Plan::new(opts, host_cores());
    let qemu_path = install::ensure_qemu()?;
    let environment = Environment::collect(&layout.root, qemu::version(&qemu_path)?);
    let mut notes = Vec::new();
    let bochs = if opts.no_bochs {
        notes.push("Bochs: not run (--no-bochs)".to_string());
        None
    } else {
        match install::ensure_bochs() {
            Ok(tools) => {
                bochs::remove_stale_runs(&layout.bochs_work_dir());
                Some(tools)
            }
            Err(e) => {
                let first = format!("{e:#}");
                notes.push(format!("Bochs: not run ({})", first.lines().next().unwrap_or("missing")));
                None
            }
        }
    };
    let firmware = Firmware::host_default();
    eprintln!("bench: building the release images");
    let (images, size) = build_images(&layout)?;
    let bench = Bench { layout, plan: plan.clone(), qemu: qemu_path, firmware, bochs, images };

    let config = Config {
        quick: plan.quick,
        runs: plan.runs,
        process_runs: plan.process_runs,
        iterations: plan.iterations,
        scaling_iterations: plan.scaling_iterations,
        scaling_cpus: plan.scaling_cpus,
        qemu_machine: format!("pc, -cpu max, {MEM}, firmware {}, TCG", firmware.name()),
        bochs_machine: match &bench.bochs {
            Some(_) => format!("{}, 1 CPU, {MEM}, sync=none, ips={}", bochs::DEFAULT_CPU, bochs::IPS),
            None => "not run".to_string(),
        },
        mem_search: if plan.quick {
            format!("coarse: {} MiB, halving, {} boots at most", plan.mem_high_mib, plan.mem_max_boots)
        } else {
            format!("bisection over {}..={} MiB", MEM_RANGE_MIB.0, plan.mem_high_mib)
        },
    };
    let mut report = Report {
        schema: SCHEMA,
        started_utc: utc.iso8601(),
        elapsed_s: 0.0,
        environment,
        config,
        tsc_checks: Vec::new(),
        syscalls: Vec::new(),
        boot: BootFigures::default(),
        size,
        scaling: Vec::new(),
        targets: Vec::new(),
        notes,
        linux: None,
        files: Vec::new(),
        http: Vec::new(),
        start: None,
        breakdown: Vec::new(),
        figures: Vec::new(),
    };
    // The boot figures need the -icount run's check of what a tick is.
    if plan.runs(Part::Syscalls) || plan.runs(Part::Boot) {
        bench.qemu_instructions(&mut report)?;
    }
    if plan.runs(Part::Bochs) {
        bench.bochs_instructions(&mut report)?;
    }
    if plan.runs(Part::Tcg) {
        bench.tcg_times(&mut report)?;
    }
    linux::run(&bench, &mut report)?;
    if plan.only.is_empty() {
        bench.float_figures(&mut report)?;
    }
    if plan.runs(Part::Boot) {
        bench.boot_figures(&mut report)?;
    }
    if plan.runs(Part::Memory) {
        report.size.mem = Some(bench.mem_search()?);
    }
    if plan.runs(Part::Scaling) {
        bench.scaling(&mut report)?;
    }
    if plan.runs(Part::Files) {
        report.files = bench.files()?;
    }
    if plan.runs(Part::Http) {
        report.http = http::ours(&bench)?;
    }
    if plan.runs(Part::Start) {
        report.start = Some(start::ours(&bench)?);
    }
    if plan.runs(Part::Breakdown) {
        report.breakdown = breakdown::run(&bench)?;
    }
    if !plan.only.is_empty() {
        let names: Vec<&str> = Part::ALL.iter().filter(|(_, p)| plan.only.contains(p)).map(|(n, _)| *n).collect();
        report.notes.push(format!("--only {}: the other parts were not run", names.join(",")));
    }
    if bench.plan.scaling_cpus < 2 && plan.runs(Part::Scaling) {
        report.notes.push("scaling: the host has one CPU, so there is nothing to scale".to_string());
    }
    if let Some(note) = busy_host_note(&report.environment) {
        report.notes.push(note);
    }

    report.elapsed_s = started.elapsed().as_secs_f64();
    report.targets = targets::evaluate(&report);
    report.finish();
    print!("{}", table::render(&report));
    let out = opts
        .out
        .clone()
        .unwrap_or_else(|| bench.layout.root.join("target/bench").join(format!("{}.json", utc.compact())));
    report.write(&out)?;
    if let (Some(earlier), Some(path)) = (&earlier, &opts.compare) {
        let rows = compare(&report.figures, &earlier.figures);
        print!("{}", table::render_comparison(&rows, earlier, &path.display().to_string()));
    }
    println!("\nwrote {} ({:.0} s)", out.display(), report.elapsed_s);
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::lines::{Check, SyscallPath, SyscallTiming};

    fn run_of(config: EntryConfig, check_tsc: u64, per_call: [u64; 3], ns: [u64; 3]) -> SyscallsRun {
        SyscallsRun {
            check: Check { loop_instructions: 2, iterations: 100_000, tsc: check_tsc },
            config,
            timings: SyscallPath::ALL
                .iter()
                .enumerate()
                .map(|(i, &path)| SyscallTiming { path, iterations: 1000, tsc: per_call[i] * 1000, ns: ns[i] * 1000 })
                .collect(),
        }
    }

    const ON: EntryConfig = EntryConfig { kpti: true, pcid: false };

    #[test]
    fn plans() {
        let full = Plan::new(&BenchOptions::default(), 16);
        assert_eq!((full.runs, full.process_runs, full.iterations, full.scaling_cpus), (5, 10, 100_000, 4));
        assert_eq!(full.bochs_configs, [KPTI_ON, PCID_OFF, KPTI_OFF]);
        assert_eq!((full.mem_high_mib, full.mem_max_boots), (128, u32::MAX));
        assert_eq!(full.scaling_calls(KPTI_OFF), 1_000_000);
        let quick = Plan::new(&BenchOptions { quick: true, runs: Some(2), ..BenchOptions::default() }, 2);
        assert_eq!((quick.runs, quick.process_runs, quick.iterations, quick.scaling_cpus), (2, 3, 10_000, 2));
        assert_eq!((quick.bochs_configs.len(), quick.mem_high_mib, quick.mem_max_boots), (1, 16, 3));
        let one = Plan::new(&BenchOptions { runs: Some(0), iterations: Some(7), ..BenchOptions::default() }, 1);
        assert_eq!((one.runs, one.iterations, one.scaling_cpus), (1, 7, 1));
        assert_eq!((full.linux_skipped, quick.linux_skipped), (None, Some("--quick")));
        let no_linux = Plan::new(&BenchOptions { no_linux: true, quick: true, ..BenchOptions::default() }, 2);
        assert_eq!(no_linux.linux_skipped, Some("--no-linux"));
    }

    #[test]
    fn command_lines() {
        assert_eq!(app_cmdline(KPTI_ON, "syscalls 100"), "-- syscalls 100");
        assert_eq!(app_cmdline(KPTI_OFF, "boot"), "kpti=off -- boot");
    }

    #[test]
    fn instructions_only_where_the_check_proves_them() {
        let (check, figures) = instruction_figures(Setup::QemuIcount, &run_of(ON, 200_000, [131, 170, 7], [0; 3]));
        assert_eq!(check.ticks_per_instruction(), Some(1));
        assert_eq!(figures.iter().map(|f| f.instructions).collect::<Vec<_>>(), [Some(131.0), Some(170.0), Some(7.0)]);
        assert!(figures.iter().all(|f| f.ns.is_none() && f.entry == ON));
        let (_, doubled) = instruction_figures(Setup::Bochs, &run_of(ON, 400_000, [262, 340, 14], [0; 3]));
        assert_eq!(doubled[0].instructions, Some(131.0));
        assert_eq!(doubled[0].tsc.median, 262.0);
        let (_, tcg) = instruction_figures(Setup::QemuTcg, &run_of(ON, 1_064_414, [17_914, 19_038, 114], [0; 3]));
        assert_eq!(tcg[0].instructions, None);
    }

    #[test]
    fn timed_figures_take_medians() {
        let runs = [
            run_of(ON, 1, [100, 200, 10], [50, 80, 5]),
            run_of(ON, 1, [300, 250, 12], [90, 70, 4]),
            run_of(ON, 1, [200, 210, 11], [60, 75, 6]),
        ];
        let figures = timed_figures(&runs).unwrap();
        assert_eq!(figures.len(), 3);
        assert_eq!(figures[0].tsc.median, 200.0);
        assert_eq!(figures[0].ns.as_ref().unwrap().median, 60.0);
        assert_eq!(figures[1].tsc.samples, [200.0, 250.0, 210.0]);
        assert_eq!(figures[2].ns.as_ref().unwrap().median, 5.0);
        let mixed = [runs[0].clone(), run_of(EntryConfig { kpti: false, pcid: false }, 1, [1; 3], [1; 3])];
        assert!(timed_figures(&mixed).is_err());
        assert!(timed_figures(&[]).is_err());
    }

    #[test]
    fn scaling_ratios_are_to_one_thread() {
        let run = |one: u64, two: u64| {
            vec![ScalingTiming { threads: 1, calls: 1000, ns: one }, ScalingTiming { threads: 2, calls: 2000, ns: two }]
        };
        let figures = scaling_figures(ON, &[run(1_000_000, 1_000_000), run(2_000_000, 1_000_000)]);
        assert_eq!(figures[0].throughput.samples, [1e6, 5e5]);
        assert_eq!(figures[0].ratio, 1.0);
        assert_eq!(figures[1].throughput.median, 2e6);
        assert_eq!(figures[1].ratio, 2e6 / 7.5e5);
        assert!(scaling_figures(ON, &[]).is_empty());
    }

    #[test]
    fn memory_bisection() {
        let search = |needed: u32, high: u32, max: u32| {
            let mut tried = Vec::new();
            let result = smallest_that_boots(1, high, max, &mut |mib| {
                tried.push(mib);
                Ok(mib >= needed)
            })
            .unwrap();
            (result, tried)
        };
        let (found, tried) = search(2, 128, u32::MAX);
        assert_eq!(tried, [128, 64, 32, 16, 8, 4, 2, 1]);
        assert_eq!(found, MemSearch { smallest_booting_mib: Some(2), largest_failing_mib: Some(1), boots: 8 });
        assert!(found.exact());
        let (found, tried) = search(37, 128, u32::MAX);
        assert_eq!(found.smallest_booting_mib, Some(37));
        assert!(found.exact() && tried.len() <= 9, "{tried:?}");
        let (coarse, tried) = search(2, 16, 3);
        assert_eq!(tried, [16, 8, 4]);
        assert_eq!(coarse, MemSearch { smallest_booting_mib: Some(4), largest_failing_mib: None, boots: 3 });
        let (none, _) = search(200, 128, u32::MAX);
        assert_eq!(none, MemSearch { smallest_booting_mib: None, largest_failing_mib: Some(128), boots: 1 });
        let (one, _) = search(1, 128, u32::MAX);
        assert_eq!(one.smallest_booting_mib, Some(1));
        let err = smallest_that_boots(1, 4, 9, &mut |_| bail!("QEMU is gone")).unwrap_err();
        assert_eq!(err.to_string(), "QEMU is gone");
    }

    #[test]
    fn busy_hosts_are_noted() {
        let env = |load: &str, cores| Environment {
            load_average: Some(load.to_string()),
            host_cores: cores,
            ..Environment::default()
        };
        let note = busy_host_note(&env("8.77 8.05 5.39", 2)).unwrap();
        assert!(note.starts_with("the host was busy: load average 8.77 on 2 CPUs"), "{note}");
        assert_eq!(busy_host_note(&env("0.20 0.10 0.00", 2)), None);
        assert_eq!(busy_host_note(&Environment::default()), None);
    }

    /// A [`Bench`] whose "QEMU" is a shell script.
    fn fake_bench(script: &str) -> (Bench, PathBuf) {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("xtask-bench-fake-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let qemu = dir.join("qemu");
        std::fs::write(&qemu, format!("#!/bin/sh\n{script}\n")).unwrap();
        let mut perms = std::fs::metadata(&qemu).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
        std::fs::set_permissions(&qemu, perms).unwrap();
        let image = dir.join("image.bin");
        let bench = Bench {
            layout: Layout::workspace(dir.clone()),
            plan: Plan::new(&BenchOptions::default(), 1),
            qemu,
            firmware: Firmware::Seabios,
            bochs: None,
            images: Images { bench: image.clone(), hello: image.clone(), empty: image },
        };
        (bench, dir)
    }

    fn fake_syscalls(script: &str) -> Result<SyscallsRun> {
        let (bench, dir) = fake_bench(script);
        let launch = bench.qemu_launch(&bench.images.bench, "-- syscalls 10".into(), 1, MEM, true, QEMU_TIMEOUT);
        let result = bench.syscalls(&launch, "fake run");
        std::fs::remove_dir_all(dir).unwrap();
        result
    }

    #[test]
    fn runs_that_fail_or_cannot_be_read_are_errors_with_the_tail() {
        let lines = "[bench] check loop_instructions=2 iterations=100000 tsc=200000\n\
                     [bench] config kpti=1 pcid=0\n\
                     [bench] syscall path=null iterations=10 tsc=1310 ns=1310\n\
                     [bench] syscall path=getpid iterations=10 tsc=1700 ns=1700\n";
        // The isa-debug-exit status of a successful run is 3.
        let err = fake_syscalls(&format!("printf '{lines}'; exit 3")).unwrap_err().to_string();
        assert!(err.starts_with("fake run: no `[bench] syscall path=floor` line"), "{err}");
        assert!(err.contains("---- serial output (last 4 of 4 lines)\n    | [bench] check"), "{err}");
        let err = fake_syscalls("echo 'kernel panic'; exit 1").unwrap_err().to_string();
        assert!(err.starts_with("fake run: QEMU exited with status 1"), "{err}");
        assert!(err.contains("-icount shift=0") && err.contains("    | kernel panic\n"), "{err}");
        let full = format!("{lines}[bench] syscall path=floor iterations=10 tsc=70 ns=70\n");
        let run = fake_syscalls(&format!("printf '{full}'; exit 3")).unwrap();
        assert_eq!(run.timing(SyscallPath::Floor).tsc, 70);
    }

    #[test]
    fn failures_show_the_tail() {
        let serial: Vec<u8> = (1..=40).map(|i| format!("line {i}\r\n")).collect::<String>().into_bytes();
        let tail = serial_tail(&serial, 3);
        assert_eq!(tail, "---- serial output (last 3 of 40 lines)\n    | line 38\n    | line 39\n    | line 40\n");
    }
}
