//! The project's performance targets, and where a benchmark run stands
//! against them. A target is reported, never enforced: the benchmark does
//! not fail on a number.
//!
//! The targets (from the issue that asked for the benchmark):
//! - a null syscall with KPTI on takes at most 80 instructions per round
//!   trip, and at most 1.3x the instructions with KPTI off;
//! - booting `hello` adds at most 20 ms of whole-process wall time under
//!   TCG over the empty image;
//! - the `hello` release image is under 512 KiB and boots in 16 MiB;
//! - getpid throughput on N CPUs is at least 0.9 x N times one CPU's.
//!
//! And the step towards the first two that issue 16 asked for (a leaner
//! syscall path, a boot without busy-waiting), under QEMU -icount and under
//! Bochs with PCID:
//! - a null syscall with KPTI on at most 100 instructions, `getpid` at most
//!   110, KPTI on at most 1.2x off;
//! - from the first kernel instruction to the app's `main` under 500 000
//!   instructions with the TSC frequency published, and `hello`'s
//!   whole-process wall time within 1.15x the empty image's.

use serde::{Deserialize, Serialize};

use crate::bench::lines::SyscallPath;
use crate::bench::report::{Report, Setup};

/// Instructions per null syscall round trip with KPTI on, at most.
pub const NULL_SYSCALL_MAX_INSTRUCTIONS: f64 = 80.0;
/// KPTI on over KPTI off, null syscall instructions, at most.
pub const KPTI_MAX_RATIO: f64 = 1.2;
/// Issue 16's step: a null syscall with KPTI on, at most.
pub const NULL_SYSCALL_STEP_INSTRUCTIONS: f64 = 100.0;
/// Issue 16's step: `getpid` with KPTI on, at most.
pub const GETPID_MAX_INSTRUCTIONS: f64 = 110.0;
/// Instructions from the first kernel instruction to `main`, below.
pub const BOOT_MAX_INSTRUCTIONS: f64 = 500_000.0;
/// `hello`'s whole-process wall time over the empty image's, at most.
pub const BOOT_MAX_PROCESS_RATIO: f64 = 1.15;
/// Whole-process wall time that booting `hello` adds over the empty image,
/// at most, in ms.
pub const BOOT_MAX_OVERHEAD_MS: f64 = 20.0;
/// The `hello` release image, less than this many bytes.
pub const IMAGE_LIMIT_BYTES: u64 = 512 * 1024;
/// `hello` boots in this much memory, MiB.
pub const MEM_TARGET_MIB: u32 = 16;
/// Throughput on N CPUs, at least this times N times one CPU's.
pub const SCALING_MIN_EFFICIENCY: f64 = 0.9;

/// Where a figure stands against its target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Met.
    Met,
    /// Missed.
    Missed,
    /// Not measured in this run.
    Unknown,
}

impl Outcome {
    /// For the table.
    pub fn word(self) -> &'static str {
        match self {
            Outcome::Met => "met",
            Outcome::Missed => "MISSED",
            Outcome::Unknown => "not measured",
        }
    }
}

/// One target and where the run stands.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TargetResult {
    /// The target, in words.
    pub target: String,
    /// The measured figure, in words.
    pub actual: String,
    /// Met or not.
    pub outcome: Outcome,
    /// By how much it was missed (or what is missing); empty when met.
    pub detail: String,
}

impl TargetResult {
    fn unknown(target: String, why: &str) -> TargetResult {
        TargetResult { target, actual: "-".into(), outcome: Outcome::Unknown, detail: why.to_string() }
    }
}

/// `value` against an upper `limit` (inclusive): met, or missed by how
/// much.
fn at_most(target: String, value: f64, limit: f64, unit: &str, actual: String) -> TargetResult {
    if value <= limit {
        TargetResult { target, actual, outcome: Outcome::Met, detail: String::new() }
    } else {
        let detail = if limit > 0.0 {
            format!("{:.1} {unit} over ({:.2}x the limit)", value - limit, value / limit)
        } else {
            format!("{:.1} {unit} over", value - limit)
        };
        TargetResult { target, actual, outcome: Outcome::Missed, detail }
    }
}

/// Evaluates every target on a report's figures.
pub fn evaluate(report: &Report) -> Vec<TargetResult> {
    let mut out = Vec::new();
    syscall_targets(report, &mut out);
    out.push(boot_target(report));
    boot_step_targets(report, &mut out);
    size_targets(report, &mut out);
    scaling_targets(report, &mut out);
    out
}

fn syscall_targets(report: &Report, out: &mut Vec<TargetResult>) {
    let null = |setup: Setup, kpti: bool| {
        report
            .syscalls
            .iter()
            .filter(|f| f.setup == setup && f.path == SyscallPath::Null && f.entry.kpti == kpti)
            .filter_map(|f| Some((f.entry, f.instructions?)))
            .collect::<Vec<_>>()
    };
    for setup in [Setup::QemuIcount, Setup::Bochs] {
        let on = null(setup, true);
        let off = null(setup, false).first().map(|&(_, n)| n);
        if on.is_empty() && setup == Setup::QemuIcount {
            let target = format!("null syscall, KPTI on: <= {NULL_SYSCALL_MAX_INSTRUCTIONS} instructions");
            out.push(TargetResult::unknown(target, "no instruction count under QEMU -icount"));
        }
        for (entry, n) in on {
            let place = format!("{}, {}", setup.describe(), entry.describe());
            out.push(at_most(
                format!("null syscall ({place}): <= {NULL_SYSCALL_STEP_INSTRUCTIONS} instructions (issue 16)"),
                n,
                NULL_SYSCALL_STEP_INSTRUCTIONS,
                "instructions",
                format!("{n:.1} instructions"),
            ));
            let getpid = report.syscall(setup, entry, SyscallPath::Getpid).and_then(|f| f.instructions);
            if let Some(g) = getpid {
                out.push(at_most(
                    format!("getpid ({place}): <= {GETPID_MAX_INSTRUCTIONS} instructions (issue 16)"),
                    g,
                    GETPID_MAX_INSTRUCTIONS,
                    "instructions",
                    format!("{g:.1} instructions"),
                ));
            }
            out.push(at_most(
                format!("null syscall ({place}): <= {NULL_SYSCALL_MAX_INSTRUCTIONS} instructions"),
                n,
                NULL_SYSCALL_MAX_INSTRUCTIONS,
                "instructions",
                format!("{n:.1} instructions"),
            ));
            if let Some(off) = off.filter(|&off| off > 0.0) {
                let ratio = n / off;
                out.push(at_most(
                    format!("null syscall ({place}) / KPTI off: <= {KPTI_MAX_RATIO}x"),
                    ratio,
                    KPTI_MAX_RATIO,
                    "x",
                    format!("{ratio:.2}x ({n:.1} / {off:.1})"),
                ));
            }
        }
    }
}

fn boot_target(report: &Report) -> TargetResult {
    let target = format!("boot adds <= {BOOT_MAX_OVERHEAD_MS} ms of process wall time over the empty image (TCG)");
    let boot = &report.boot;
    match (boot.overhead_ms(), &boot.hello_process_ms, &boot.empty_process_ms) {
        (Some(ms), Some(hello), Some(empty)) => at_most(
            target,
            ms,
            BOOT_MAX_OVERHEAD_MS,
            "ms",
            format!("{ms:.1} ms (hello {:.1} ms - empty {:.1} ms)", hello.median, empty.median),
        ),
        _ => TargetResult::unknown(target, "the process wall times were not measured"),
    }
}

fn boot_step_targets(report: &Report, out: &mut Vec<TargetResult>) {
    let boot = &report.boot;
    let target = format!("first kernel instruction -> main < {BOOT_MAX_INSTRUCTIONS} instructions (QEMU -icount)");
    out.push(match boot.instructions_to_main {
        Some(n) if n < BOOT_MAX_INSTRUCTIONS => TargetResult {
            target,
            actual: format!("{n:.0} instructions"),
            outcome: Outcome::Met,
            detail: String::new(),
        },
        Some(n) => at_most(target, n, BOOT_MAX_INSTRUCTIONS, "instructions", format!("{n:.0} instructions")),
        None => TargetResult::unknown(target, "the boot was not measured under -icount"),
    });
    let target = format!("hello / empty image, whole-process wall time (TCG): <= {BOOT_MAX_PROCESS_RATIO}x");
    out.push(match (&boot.hello_process_ms, &boot.empty_process_ms) {
        (Some(hello), Some(empty)) if empty.median > 0.0 => {
            let ratio = hello.median / empty.median;
            at_most(
                target,
                ratio,
                BOOT_MAX_PROCESS_RATIO,
                "x",
                format!("{ratio:.2}x ({:.1} / {:.1} ms)", hello.median, empty.median),
            )
        }
        _ => TargetResult::unknown(target, "the process wall times were not measured"),
    });
}

fn size_targets(report: &Report, out: &mut Vec<TargetResult>) {
    let size = &report.size;
    let target = format!("hello release image < {} KiB", IMAGE_LIMIT_BYTES / 1024);
    if size.image_bytes == 0 {
        out.push(TargetResult::unknown(target, "the image size is unknown"));
    } else {
        let kib = size.image_bytes as f64 / 1024.0;
        let limit = IMAGE_LIMIT_BYTES as f64 / 1024.0;
        let actual = format!("{kib:.1} KiB ({} bytes)", size.image_bytes);
        out.push(if size.image_bytes < IMAGE_LIMIT_BYTES {
            TargetResult { target, actual, outcome: Outcome::Met, detail: String::new() }
        } else {
            let detail = format!("{:.1} KiB over ({:.2}x the limit)", kib - limit, kib / limit);
            TargetResult { target, actual, outcome: Outcome::Missed, detail }
        });
    }
    let target = format!("hello boots in {MEM_TARGET_MIB} MiB");
    out.push(match &size.mem {
        None => TargetResult::unknown(target, "the memory search did not run"),
        Some(search) => match search.smallest_booting_mib {
            Some(mib) if mib <= MEM_TARGET_MIB => {
                let bound = if search.exact() { "" } else { "at most " };
                TargetResult {
                    target,
                    actual: format!("boots in {bound}{mib} MiB"),
                    outcome: Outcome::Met,
                    detail: String::new(),
                }
            }
            Some(mib) => at_most(target, f64::from(mib), f64::from(MEM_TARGET_MIB), "MiB", format!("needs {mib} MiB")),
            None => TargetResult {
                target,
                actual: format!(
                    "did not boot in any size tried (up to {} MiB)",
                    search.largest_failing_mib.unwrap_or(0)
                ),
                outcome: Outcome::Missed,
                detail: "no size tried was enough".into(),
            },
        },
    });
}

fn scaling_targets(report: &Report, out: &mut Vec<TargetResult>) {
    let mut entries: Vec<_> = report.scaling.iter().map(|f| f.entry).collect();
    entries.dedup();
    if entries.is_empty() {
        let target = format!("throughput on N CPUs >= {SCALING_MIN_EFFICIENCY} x N x 1 CPU");
        out.push(TargetResult::unknown(target, "scaling was not measured"));
    }
    for entry in entries {
        let Some(top) = report.scaling.iter().filter(|f| f.entry == entry).max_by_key(|f| f.threads) else {
            continue;
        };
        let n = top.threads;
        let want = SCALING_MIN_EFFICIENCY * f64::from(n);
        let target = format!("getpid throughput on {n} CPUs ({}) >= {want:.1} x 1 CPU", entry.describe());
        if n < 2 {
            out.push(TargetResult::unknown(target, "one CPU: nothing to scale"));
            continue;
        }
        let actual = format!("{:.2}x", top.ratio);
        out.push(if top.ratio >= want {
            TargetResult { target, actual, outcome: Outcome::Met, detail: String::new() }
        } else {
            let detail = format!("{:.2}x short ({:.0}% of the target)", want - top.ratio, 100.0 * top.ratio / want);
            TargetResult { target, actual, outcome: Outcome::Missed, detail }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::report::tests::sample;
    use crate::bench::report::{MemSearch, Summary};

    fn find<'a>(results: &'a [TargetResult], starts: &str) -> &'a TargetResult {
        results.iter().find(|t| t.target.starts_with(starts)).unwrap_or_else(|| panic!("{starts}: {results:#?}"))
    }

    #[test]
    fn the_sample_run_against_the_targets() {
        let results = evaluate(&sample());
        let null = find(&results, "null syscall (QEMU -icount shift=0, KPTI on, no PCID): <= 80");
        assert_eq!(null.outcome, Outcome::Missed);
        assert_eq!(null.actual, "131.0 instructions");
        assert_eq!(null.detail, "51.0 instructions over (1.64x the limit)");
        let ratio = find(&results, "null syscall (QEMU -icount shift=0, KPTI on, no PCID) / KPTI off");
        assert_eq!((ratio.outcome, ratio.actual.as_str()), (Outcome::Met, "1.16x (131.0 / 113.0)"));
        let bochs = find(&results, "null syscall (Bochs sync=none, KPTI on, PCID): <= 80");
        assert_eq!(bochs.outcome, Outcome::Missed);
        find(&results, "null syscall (Bochs sync=none, KPTI on, PCID) / KPTI off");
        let boot = find(&results, "boot adds");
        assert_eq!(boot.outcome, Outcome::Missed);
        assert_eq!(boot.actual, "107.0 ms (hello 149.0 ms - empty 42.0 ms)");
        assert_eq!(boot.detail, "87.0 ms over (5.35x the limit)");
        assert_eq!(find(&results, "hello release image").outcome, Outcome::Met);
        let mem = find(&results, "hello boots in 16 MiB");
        assert_eq!((mem.outcome, mem.actual.as_str()), (Outcome::Met, "boots in 2 MiB"));
        let scaling = find(&results, "getpid throughput on 2 CPUs (KPTI on, no PCID) >= 1.8");
        assert_eq!(scaling.outcome, Outcome::Met, "1.8 is 0.9 x 2 exactly");
    }

    #[test]
    fn misses_and_gaps() {
        let mut report = sample();
        report.size.image_bytes = 600 * 1024;
        report.size.mem = Some(MemSearch { smallest_booting_mib: Some(32), largest_failing_mib: Some(16), boots: 3 });
        report.scaling[1].ratio = 0.9;
        report.boot.empty_process_ms = None;
        report.syscalls.retain(|f| f.setup != Setup::QemuIcount);
        let results = evaluate(&report);
        let image = find(&results, "hello release image");
        assert_eq!((image.outcome, image.detail.as_str()), (Outcome::Missed, "88.0 KiB over (1.17x the limit)"));
        let mem = find(&results, "hello boots in 16 MiB");
        assert_eq!((mem.outcome, mem.detail.as_str()), (Outcome::Missed, "16.0 MiB over (2.00x the limit)"));
        let scaling = find(&results, "getpid throughput on 2 CPUs");
        assert_eq!((scaling.outcome, scaling.detail.as_str()), (Outcome::Missed, "0.90x short (50% of the target)"));
        assert_eq!(find(&results, "boot adds").outcome, Outcome::Unknown);
        assert_eq!(find(&results, "null syscall, KPTI on").outcome, Outcome::Unknown);

        report.scaling.truncate(1);
        report.size.mem = Some(MemSearch { smallest_booting_mib: Some(4), largest_failing_mib: None, boots: 3 });
        let results = evaluate(&report);
        assert_eq!(find(&results, "getpid throughput on 1 CPUs").outcome, Outcome::Unknown);
        assert_eq!(find(&results, "hello boots in 16 MiB").actual, "boots in at most 4 MiB");
        report.scaling.clear();
        report.boot.hello_process_ms = Some(Summary::one(1.0));
        assert_eq!(find(&evaluate(&report), "throughput on N CPUs").outcome, Outcome::Unknown);
    }
}
