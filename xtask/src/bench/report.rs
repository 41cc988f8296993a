//! The figures of one `cargo xtask bench` run, as they are written to (and
//! read back from) `target/bench/<UTC time>.json`, and the comparison of two
//! runs.
//!
//! The file holds the figures twice: structured ([`Report`]'s sections, for
//! people and for the table) and flat ([`Report::figures`]: `id`, `unit`,
//! `value`). `--compare` reads only the flat list of the older file, so a
//! file written by an older xtask still compares as long as the ids of its
//! figures mean the same.

use std::fs;
use std::path::Path;

use anyhow::{Context, Result, ensure};
use serde::{Deserialize, Serialize};

use crate::bench::env::Environment;
use crate::bench::lines::{EntryConfig, SyscallPath};
use crate::bench::targets::TargetResult;
use crate::build::write_atomically;

/// The version of the file's layout; bumped when a figure's id changes
/// meaning.
pub const SCHEMA: u32 = 1;

/// The median of some samples (the mean of the middle two for an even
/// count); `None` for none. NaNs sort last.
pub fn median(samples: &[f64]) -> Option<f64> {
    if samples.is_empty() {
        return None;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    Some(if sorted.len() % 2 == 1 { sorted[mid] } else { (sorted[mid - 1] + sorted[mid]) / 2.0 })
}

/// Repeated measurements of one figure and their median.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// The median: the figure reported.
    pub median: f64,
    /// The smallest sample.
    pub min: f64,
    /// The largest sample.
    pub max: f64,
    /// Every sample, in the order measured.
    pub samples: Vec<f64>,
}

impl Summary {
    /// The summary of some samples; `None` for none.
    pub fn of(samples: Vec<f64>) -> Option<Summary> {
        let median = median(&samples)?;
        let min = samples.iter().copied().fold(f64::INFINITY, f64::min);
        let max = samples.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        Some(Summary { median, min, max, samples })
    }

    /// A single, deterministic measurement.
    pub fn one(value: f64) -> Summary {
        Summary { median: value, min: value, max: value, samples: vec![value] }
    }

    /// `(max - min) / median`, the spread of the samples.
    pub fn spread(&self) -> f64 {
        if self.median == 0.0 { 0.0 } else { (self.max - self.min) / self.median }
    }
}

/// Where a syscall figure was measured, which decides its unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Setup {
    /// QEMU, single-threaded TCG with `-icount shift=0`: TSC ticks are
    /// instructions (the check says whether).
    QemuIcount,
    /// Bochs with `clock: sync=none`: TSC ticks are instructions (the check
    /// says whether).
    Bochs,
    /// QEMU, plain TCG: TSC ticks follow the host's clock (emulated cycles),
    /// nanoseconds are wall time; noisy.
    QemuTcg,
}

impl Setup {
    /// Its name in figure ids.
    pub fn name(self) -> &'static str {
        match self {
            Setup::QemuIcount => "qemu-icount",
            Setup::Bochs => "bochs",
            Setup::QemuTcg => "qemu-tcg",
        }
    }

    /// In words, for the table.
    pub fn describe(self) -> &'static str {
        match self {
            Setup::QemuIcount => "QEMU -icount shift=0",
            Setup::Bochs => "Bochs sync=none",
            Setup::QemuTcg => "QEMU TCG",
        }
    }
}

/// The check of one run: a loop of known length timed with the TSC.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TscCheck {
    /// Where.
    pub setup: Setup,
    /// The run's entry configuration.
    pub entry: EntryConfig,
    /// The TSC ticks the loop took.
    pub tsc: u64,
    /// The instructions it executed.
    pub instructions: u64,
}

impl TscCheck {
    /// TSC ticks per instruction when the check proves a whole, constant
    /// ratio (the ticks are an exact multiple of the instructions), else
    /// `None`. 1 means that the TSC counts instructions.
    pub fn ticks_per_instruction(&self) -> Option<u64> {
        (self.instructions > 0 && self.tsc >= self.instructions && self.tsc.is_multiple_of(self.instructions))
            .then(|| self.tsc / self.instructions)
    }

    /// "yes (200000 for 2x100000)" / "no (1064414 for ...)", for the table.
    pub fn verdict(&self) -> String {
        let what = format!("{} ticks for {} instructions", self.tsc, self.instructions);
        match self.ticks_per_instruction() {
            Some(1) => format!("yes ({what})"),
            Some(n) => format!("as {n} ticks per instruction ({what})"),
            None => format!("no ({what})"),
        }
    }
}

/// Round trips of one syscall path under one setup and entry
/// configuration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SyscallFigure {
    /// Where.
    pub setup: Setup,
    /// The entry configuration the kernel reported.
    pub entry: EntryConfig,
    /// The path.
    pub path: SyscallPath,
    /// Round trips per run.
    pub iterations: u64,
    /// Instructions per round trip: TSC ticks per round trip divided by the
    /// ticks per instruction the run's check proved. `None` where it proved
    /// nothing (and under plain TCG).
    pub instructions: Option<f64>,
    /// TSC ticks per round trip (emulated cycles under plain TCG).
    pub tsc: Summary,
    /// Nanoseconds per round trip, where they are wall time (plain TCG).
    pub ns: Option<Summary>,
}

/// From the kernel's first instruction to the app's `main`, and whole
/// emulator processes.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BootFigures {
    /// Instructions from the kernel's first instruction to `main` (QEMU
    /// `-icount`).
    pub instructions_to_main: Option<f64>,
    /// Milliseconds from the kernel's first instruction to `main` (plain
    /// TCG, TSC ticks at the kernel's measured frequency).
    pub ms_to_main: Option<Summary>,
    /// Wall time of a whole QEMU process that boots `hello`, in ms.
    pub hello_process_ms: Option<Summary>,
    /// Wall time of a whole QEMU process that boots the empty image (the
    /// kernel ends the run at its first Rust instruction), in ms.
    pub empty_process_ms: Option<Summary>,
}

impl BootFigures {
    /// What booting `hello` costs over the empty image, in ms (medians).
    pub fn overhead_ms(&self) -> Option<f64> {
        Some(self.hello_process_ms.as_ref()?.median - self.empty_process_ms.as_ref()?.median)
    }

    /// `hello`'s process time over the empty image's (medians).
    pub fn overhead_ratio(&self) -> Option<f64> {
        let empty = self.empty_process_ms.as_ref()?.median;
        (empty > 0.0).then(|| self.hello_process_ms.as_ref().map(|h| h.median / empty)).flatten()
    }
}

/// The search for the smallest memory `hello` boots in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemSearch {
    /// The smallest size, in MiB, that booted (`None`: not even the largest
    /// size tried).
    pub smallest_booting_mib: Option<u32>,
    /// The largest size, in MiB, that did not boot (`None`: none failed).
    pub largest_failing_mib: Option<u32>,
    /// Boots tried.
    pub boots: u32,
}

impl MemSearch {
    /// Whether the smallest size is exact (the next smaller one failed, or
    /// it is 1 MiB) rather than an upper bound.
    pub fn exact(&self) -> bool {
        match self.smallest_booting_mib {
            Some(1) => true,
            Some(ok) => self.largest_failing_mib == Some(ok - 1),
            None => false,
        }
    }
}

/// Sizes of the `hello` release image.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SizeFigures {
    /// The whole image file, in bytes.
    pub image_bytes: u64,
    /// Its kernel part.
    pub kernel_bytes: u64,
    /// Its app part: the payload header and the app's ELF file.
    pub app_bytes: u64,
    /// The app's ELF file alone.
    pub app_elf_bytes: u64,
    /// The empty image (the kernel built with `bench-empty`, no app).
    pub empty_image_bytes: u64,
    /// The smallest `--mem` it boots in.
    pub mem: Option<MemSearch>,
}

/// getpid throughput with some threads on as many CPUs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScalingFigure {
    /// The entry configuration.
    pub entry: EntryConfig,
    /// Threads (= CPUs busy).
    pub threads: u32,
    /// Calls per run.
    pub calls: u64,
    /// Calls per second, all threads together.
    pub throughput: Summary,
    /// The median throughput over the median with one thread.
    pub ratio: f64,
}

/// The run's parameters.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Config {
    /// `--quick`.
    pub quick: bool,
    /// Runs of each noisy measurement under plain TCG (the median is
    /// reported).
    pub runs: u32,
    /// Runs of each whole-process wall time.
    pub process_runs: u32,
    /// Round trips per path per `syscalls` run.
    pub iterations: u64,
    /// getpid calls per thread in the scaling runs.
    pub scaling_iterations: u64,
    /// CPUs of the scaling runs.
    pub scaling_cpus: u32,
    /// The QEMU machine, in words.
    pub qemu_machine: String,
    /// The Bochs machine, in words, or why Bochs did not run.
    pub bochs_machine: String,
    /// How the memory search went.
    pub mem_search: String,
}

/// One figure, flat: what `--compare` compares.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Figure {
    /// A stable name: `syscall/qemu-icount/kpti-on/null/instructions`.
    pub id: String,
    /// Its unit.
    pub unit: String,
    /// Its value.
    pub value: f64,
}

/// Everything one run measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// [`SCHEMA`].
    pub schema: u32,
    /// When the run started (UTC, ISO 8601).
    pub started_utc: String,
    /// Seconds the whole run took.
    pub elapsed_s: f64,
    /// The commit, the emulators and the host.
    pub environment: Environment,
    /// The parameters.
    pub config: Config,
    /// Whether the TSC counted instructions, per run.
    pub tsc_checks: Vec<TscCheck>,
    /// Syscall round trips.
    pub syscalls: Vec<SyscallFigure>,
    /// Boot.
    pub boot: BootFigures,
    /// Size.
    pub size: SizeFigures,
    /// Scaling.
    pub scaling: Vec<ScalingFigure>,
    /// The targets, met or missed.
    pub targets: Vec<TargetResult>,
    /// What did not run, and why.
    pub notes: Vec<String>,
    /// The Linux guest's figures, measured in the same run (`None`: not
    /// run; the notes say why).
    #[serde(default)]
    pub linux: Option<crate::bench::linux::LinuxReport>,
    /// The file workload under our kernel (empty when not run; the Linux
    /// guest's are in `linux`).
    #[serde(default)]
    pub files: Vec<crate::bench::files::FileFigure>,
    /// HTTP and bulk TCP under our kernel (empty when not run; the Linux
    /// guest's are in `linux`).
    #[serde(default)]
    pub http: Vec<crate::bench::http::HttpFigure>,
    /// Where one round trip's instructions go (`--breakdown`; empty when
    /// not run).
    #[serde(default)]
    pub breakdown: Vec<crate::bench::breakdown::RoundTrip>,
    /// Start-up and `clock_gettime` of the `std` hello (ours).
    #[serde(default)]
    pub start: Option<crate::bench::start::StartFigure>,
    /// Every figure, flat (filled by [`Report::finish`]).
    pub figures: Vec<Figure>,
}

impl Report {
    /// A syscall figure, if it was measured.
    pub fn syscall(&self, setup: Setup, entry: EntryConfig, path: SyscallPath) -> Option<&SyscallFigure> {
        self.syscalls.iter().find(|f| f.setup == setup && f.entry == entry && f.path == path)
    }

    /// The flat list of figures of the structured sections.
    pub fn flatten(&self) -> Vec<Figure> {
        let mut out = Vec::new();
        let mut push = |id: String, unit: &str, value: f64| out.push(Figure { id, unit: unit.to_string(), value });
        for f in &self.syscalls {
            let stem = format!("syscall/{}/{}/{}", f.setup.name(), f.entry.name(), f.path.name());
            if let Some(instructions) = f.instructions {
                push(format!("{stem}/instructions"), "instructions", instructions);
            } else {
                push(format!("{stem}/tsc"), "TSC ticks", f.tsc.median);
            }
            if let Some(ns) = &f.ns {
                push(format!("{stem}/ns"), "ns", ns.median);
            }
        }
        let boot = &self.boot;
        if let Some(n) = boot.instructions_to_main {
            push("boot/instructions-to-main".into(), "instructions", n);
        }
        for (name, summary) in [
            ("ms-to-main", &boot.ms_to_main),
            ("hello-process", &boot.hello_process_ms),
            ("empty-process", &boot.empty_process_ms),
        ] {
            if let Some(s) = summary {
                push(format!("boot/{name}"), "ms", s.median);
            }
        }
        if let Some(ms) = boot.overhead_ms() {
            push("boot/overhead".into(), "ms", ms);
        }
        let size = &self.size;
        if size.image_bytes > 0 {
            push("size/image".into(), "bytes", size.image_bytes as f64);
            push("size/kernel".into(), "bytes", size.kernel_bytes as f64);
            push("size/app".into(), "bytes", size.app_bytes as f64);
        }
        // An exact size and an upper bound (a coarse search) do not compare.
        if let Some(search) = &size.mem
            && let Some(mib) = search.smallest_booting_mib
        {
            let id = if search.exact() { "size/min-mem" } else { "size/min-mem-at-most" };
            push(id.into(), "MiB", f64::from(mib));
        }
        for f in &self.scaling {
            let stem = format!("scaling/{}/threads-{}", f.entry.name(), f.threads);
            push(format!("{stem}/throughput"), "calls/s", f.throughput.median);
            push(format!("{stem}/ratio"), "x 1 thread", f.ratio);
        }
        out.extend(crate::bench::linux::beside::figures(self));
        out.extend(crate::bench::http::flat(self));
        out.extend(crate::bench::start::flat(self));
        out
    }

    /// Fills [`Report::figures`] from the sections.
    pub fn finish(&mut self) {
        self.figures = self.flatten();
    }

    /// Writes the report as pretty JSON.
    pub fn write(&self, path: &Path) -> Result<()> {
        let mut text = serde_json::to_string_pretty(self).context("encoding the report as JSON")?;
        text.push('\n');
        write_atomically(path, text.as_bytes())
    }
}

/// What `--compare` needs of an earlier run: its flat figures and where it
/// came from. Unknown fields are ignored, so older and newer files load.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct Earlier {
    /// When it started.
    #[serde(default)]
    pub started_utc: String,
    /// Its commit.
    #[serde(default)]
    pub environment: EarlierEnvironment,
    /// Its figures.
    pub figures: Vec<Figure>,
}

/// The part of an earlier run's environment that `--compare` shows.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct EarlierEnvironment {
    /// Its commit.
    #[serde(default)]
    pub commit: String,
    /// Its host CPU.
    #[serde(default)]
    pub host_cpu: String,
}

impl Earlier {
    /// Reads the figures of an earlier run's JSON file.
    pub fn read(path: &Path) -> Result<Earlier> {
        let text = fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let earlier: Earlier = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a bench report (no `figures` list?)", path.display()))?;
        ensure!(!earlier.figures.is_empty(), "{} has no figures", path.display());
        Ok(earlier)
    }
}

/// One figure of both runs.
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    /// The figure's id.
    pub id: String,
    /// Its unit (the new run's).
    pub unit: String,
    /// The earlier value.
    pub old: f64,
    /// The new value.
    pub new: f64,
    /// new / old; `None` when old is 0.
    pub ratio: Option<f64>,
}

/// The figures both runs have, in the new run's order. A figure whose unit
/// changed is left out: its values do not compare.
pub fn compare(new: &[Figure], old: &[Figure]) -> Vec<Comparison> {
    new.iter()
        .filter_map(|n| {
            let o = old.iter().find(|o| o.id == n.id && o.unit == n.unit)?;
            let ratio = (o.value != 0.0).then(|| n.value / o.value);
            Some(Comparison { id: n.id.clone(), unit: n.unit.clone(), old: o.value, new: n.value, ratio })
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::bench::env::Environment;

    #[test]
    fn medians() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0]), Some(3.0));
        assert_eq!(median(&[5.0, 1.0, 3.0]), Some(3.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        let s = Summary::of(vec![10.0, 30.0, 20.0]).unwrap();
        assert_eq!((s.median, s.min, s.max), (20.0, 10.0, 30.0));
        assert_eq!(s.samples, [10.0, 30.0, 20.0], "samples stay in measuring order");
        assert_eq!(s.spread(), 1.0);
        assert_eq!(Summary::of(Vec::new()), None);
        assert_eq!(Summary::one(7.0).spread(), 0.0);
    }

    #[test]
    fn checks_prove_a_whole_ratio_or_nothing() {
        let check = |tsc| TscCheck { setup: Setup::Bochs, entry: ON, tsc, instructions: 200_000 };
        assert_eq!(check(200_000).ticks_per_instruction(), Some(1));
        assert_eq!(check(600_000).ticks_per_instruction(), Some(3));
        assert_eq!(check(1_064_414).ticks_per_instruction(), None);
        assert_eq!(check(100_000).ticks_per_instruction(), None);
        assert!(check(200_000).verdict().starts_with("yes (200000 ticks"));
        assert!(check(1_064_414).verdict().starts_with("no ("));
        assert!(check(600_000).verdict().starts_with("as 3 ticks per instruction"));
    }

    #[test]
    fn memory_bounds_are_exact_only_next_to_a_failure() {
        let search = |ok, failed| MemSearch { smallest_booting_mib: ok, largest_failing_mib: failed, boots: 8 };
        assert!(search(Some(2), Some(1)).exact());
        assert!(search(Some(1), None).exact());
        assert!(!search(Some(4), None).exact());
        assert!(!search(Some(8), Some(2)).exact());
        assert!(!search(None, Some(128)).exact());
    }

    pub(crate) const ON: EntryConfig = EntryConfig { kpti: true, pcid: false };
    pub(crate) const OFF: EntryConfig = EntryConfig { kpti: false, pcid: false };
    pub(crate) const PCID: EntryConfig = EntryConfig { kpti: true, pcid: true };

    fn syscall(setup: Setup, entry: EntryConfig, path: SyscallPath, per_call: f64) -> SyscallFigure {
        let timed = setup == Setup::QemuTcg;
        SyscallFigure {
            setup,
            entry,
            path,
            iterations: 100_000,
            instructions: (!timed).then_some(per_call),
            tsc: Summary::one(per_call),
            ns: timed.then(|| Summary::of(vec![per_call / 2.0, per_call / 3.0]).unwrap()),
        }
    }

    /// A report with a figure of every kind, as the measurements on this
    /// project's machines gave them.
    pub(crate) fn sample() -> Report {
        let mut syscalls = Vec::new();
        for (setup, entry, null, getpid) in [
            (Setup::QemuIcount, ON, 131.004, 170.0),
            (Setup::QemuIcount, OFF, 113.0045, 152.0),
            (Setup::Bochs, PCID, 137.0, 176.0),
            (Setup::Bochs, OFF, 119.0, 158.0),
            (Setup::QemuTcg, ON, 17914.0, 19038.0),
        ] {
            syscalls.push(syscall(setup, entry, SyscallPath::Null, null));
            syscalls.push(syscall(setup, entry, SyscallPath::Getpid, getpid));
            syscalls.push(syscall(setup, entry, SyscallPath::Floor, 7.0));
        }
        let throughput = |v: f64| Summary::of(vec![v, v * 1.1, v * 0.9]).unwrap();
        let mut report = Report {
            schema: SCHEMA,
            started_utc: "2025-01-02T03:04:05Z".into(),
            elapsed_s: 80.5,
            environment: Environment {
                commit: "0123abcd-dirty".into(),
                qemu: "QEMU emulator version 7.2.22".into(),
                bochs: Some("2.7+dfsg-4+deb12u1".into()),
                host_cpu: "AMD EPYC".into(),
                host_cores: 2,
                load_average: Some("0.50 0.40 0.30".into()),
            },
            config: Config {
                quick: false,
                runs: 5,
                process_runs: 10,
                iterations: 100_000,
                scaling_cpus: 2,
                ..Config::default()
            },
            tsc_checks: vec![TscCheck { setup: Setup::QemuIcount, entry: ON, tsc: 200_000, instructions: 200_000 }],
            syscalls,
            boot: BootFigures {
                instructions_to_main: Some(14_675_768.0),
                ms_to_main: Some(Summary::of(vec![34.8, 35.0, 36.1]).unwrap()),
                hello_process_ms: Some(Summary::of(vec![150.0, 148.0]).unwrap()),
                empty_process_ms: Some(Summary::of(vec![40.0, 44.0]).unwrap()),
            },
            size: SizeFigures {
                image_bytes: 372_736,
                kernel_bytes: 319_488,
                app_bytes: 49_328,
                app_elf_bytes: 49_264,
                empty_image_bytes: 300_000,
                mem: Some(MemSearch { smallest_booting_mib: Some(2), largest_failing_mib: Some(1), boots: 8 }),
            },
            scaling: vec![
                ScalingFigure { entry: ON, threads: 1, calls: 100_000, throughput: throughput(134_000.0), ratio: 1.0 },
                ScalingFigure { entry: ON, threads: 2, calls: 200_000, throughput: throughput(241_200.0), ratio: 1.8 },
            ],
            targets: Vec::new(),
            notes: vec!["nothing skipped".into()],
            linux: None,
            files: Vec::new(),
            http: Vec::new(),
            breakdown: Vec::new(),
            start: None,
            figures: Vec::new(),
        };
        report.targets = crate::bench::targets::evaluate(&report);
        report.finish();
        report
    }

    #[test]
    fn figures_are_flat_and_named() {
        let report = sample();
        let value = |id: &str| report.figures.iter().find(|f| f.id == id).map(|f| (f.unit.as_str(), f.value));
        assert_eq!(value("syscall/qemu-icount/kpti-on/null/instructions"), Some(("instructions", 131.004)));
        assert_eq!(value("syscall/bochs/kpti-on-pcid/floor/instructions"), Some(("instructions", 7.0)));
        assert_eq!(value("syscall/qemu-tcg/kpti-on/null/tsc"), Some(("TSC ticks", 17914.0)));
        assert_eq!(value("syscall/qemu-tcg/kpti-on/null/ns"), Some(("ns", (17914.0 / 2.0 + 17914.0 / 3.0) / 2.0)));
        assert_eq!(value("syscall/qemu-icount/kpti-on/null/ns"), None, "no wall time under -icount");
        assert_eq!(value("boot/overhead"), Some(("ms", 107.0)));
        assert_eq!(value("size/min-mem"), Some(("MiB", 2.0)));
        assert_eq!(value("scaling/kpti-on/threads-2/ratio"), Some(("x 1 thread", 1.8)));
        let ids: std::collections::HashSet<&str> = report.figures.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(ids.len(), report.figures.len(), "ids are unique");
    }

    #[test]
    fn json_round_trip_and_comparison() {
        let dir = std::env::temp_dir().join(format!("xtask-bench-json-{}", std::process::id()));
        let path = dir.join("run.json");
        let old = sample();
        old.write(&path).unwrap();
        let read: Report = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(read, old, "the report survives the round trip");

        let earlier = Earlier::read(&path).unwrap();
        assert_eq!(earlier.started_utc, "2025-01-02T03:04:05Z");
        assert_eq!(earlier.environment.commit, "0123abcd-dirty");
        let mut new = sample();
        new.syscalls[0].instructions = Some(65.502);
        new.boot.hello_process_ms = Some(Summary::one(0.0));
        new.finish();
        // A figure only the new run has, and one whose unit changed.
        new.figures.push(Figure { id: "new/figure".into(), unit: "ms".into(), value: 1.0 });
        new.figures.retain(|f| f.id != "size/image");
        new.figures.push(Figure { id: "size/image".into(), unit: "KiB".into(), value: 364.0 });
        let rows = compare(&new.figures, &earlier.figures);
        let row = |id: &str| rows.iter().find(|r| r.id == id);
        let null = row("syscall/qemu-icount/kpti-on/null/instructions").unwrap();
        assert_eq!((null.old, null.new, null.ratio), (131.004, 65.502, Some(0.5)));
        assert_eq!(row("boot/hello-process").unwrap().ratio, Some(0.0));
        assert_eq!(row("size/kernel").unwrap().ratio, Some(1.0));
        assert!(row("new/figure").is_none() && row("size/image").is_none());
        assert_eq!(rows.len(), earlier.figures.len() - 1);

        // A file of an older layout still compares through its figures.
        fs::write(&path, r#"{"figures":[{"id":"boot/overhead","unit":"ms","value":214.0}],"other":1}"#).unwrap();
        let rows = compare(&new.figures, &Earlier::read(&path).unwrap().figures);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].ratio, Some((0.0 - 42.0) / 214.0));
        fs::write(&path, "{}").unwrap();
        assert!(Earlier::read(&path).is_err());
        fs::remove_dir_all(&dir).unwrap();
    }
}
