//! The console report of `cargo xtask bench`: one table per section, every
//! column header with its unit, Linux beside us (measured in the same run,
//! `crate::bench::linux::beside`), the targets, and the comparison with an
//! earlier run.

use std::fmt::Write;

use crate::bench::lines::{EntryConfig, SyscallPath};
use crate::bench::report::{Comparison, Earlier, Report, Setup, Summary};
use crate::bench::targets::Outcome;

/// A table: left-aligned leading columns, right-aligned figures.
#[derive(Clone, Debug, Default)]
pub struct Table {
    /// Column headers.
    pub headers: Vec<String>,
    /// Rows (as many cells as headers; fewer are padded).
    pub rows: Vec<Vec<String>>,
    /// How many leading columns are text (left-aligned).
    pub text_columns: usize,
}

impl Table {
    /// A table with these headers, the first `text_columns` left-aligned.
    pub fn new(headers: &[&str], text_columns: usize) -> Table {
        Table { headers: headers.iter().map(|h| h.to_string()).collect(), rows: Vec::new(), text_columns }
    }

    /// Adds a row.
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// The table as text, two spaces between columns, a rule under the
    /// headers, no trailing spaces.
    pub fn render(&self) -> String {
        let columns = self.headers.len();
        let cell = |row: &[String], i: usize| row.get(i).cloned().unwrap_or_default();
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, width) in widths.iter_mut().enumerate() {
                *width = (*width).max(cell(row, i).chars().count());
            }
        }
        let line = |cells: Vec<String>| {
            let mut text = String::new();
            for (i, c) in cells.iter().enumerate().take(columns) {
                if i > 0 {
                    text.push_str("  ");
                }
                let pad = widths[i] - c.chars().count();
                if i < self.text_columns {
                    text.push_str(c);
                    text.push_str(&" ".repeat(pad));
                } else {
                    text.push_str(&" ".repeat(pad));
                    text.push_str(c);
                }
            }
            text.trim_end().to_string() + "\n"
        };
        let mut out = line(self.headers.clone());
        out.push_str(&line(widths.iter().map(|w| "-".repeat(*w)).collect()));
        for row in &self.rows {
            out.push_str(&line((0..columns).map(|i| cell(row, i)).collect()));
        }
        out
    }
}

/// `1234567` as `1,234,567`.
pub fn group_digits(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A figure with `decimals` decimals, or as a whole number with digit
/// groups when it is whole or large (or `decimals` is 0).
pub fn number(value: f64, decimals: usize) -> String {
    if value.is_finite() && (decimals == 0 || value.fract() == 0.0 || value.abs() >= 100_000.0) {
        let sign = if value < 0.0 { "-" } else { "" };
        format!("{sign}{}", group_digits(value.abs().round() as u64))
    } else {
        format!("{value:.decimals$}")
    }
}

/// A median with its spread over the samples, when there are several:
/// `6900 (±3%)`.
fn with_spread(summary: &Summary, decimals: usize) -> String {
    let median = number(summary.median, decimals);
    if summary.samples.len() > 1 { format!("{median} (±{:.0}%)", 50.0 * summary.spread()) } else { median }
}

fn section(out: &mut String, title: &str) {
    let _ = writeln!(out, "\n== {title}");
}

/// The whole console report.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let env = &report.environment;
    let _ = writeln!(
        out,
        "cargo xtask bench{}: commit {}, {}, Bochs {}, host {} ({} CPUs, load {})",
        if report.config.quick { " --quick" } else { "" },
        env.commit,
        env.qemu,
        env.bochs.as_deref().unwrap_or("not installed"),
        env.host_cpu,
        env.host_cores,
        env.load_average.as_deref().unwrap_or("unknown"),
    );
    tsc_checks(&mut out, report);
    instructions(&mut out, report);
    tcg_times(&mut out, report);
    crate::bench::linux::beside::render(&mut out, report);
    boot(&mut out, report);
    size(&mut out, report);
    scaling(&mut out, report);
    files(&mut out, report);
    crate::bench::http::render(&mut out, report);
    crate::bench::start::render(&mut out, report);
    if !report.breakdown.is_empty() {
        out.push_str(&crate::bench::breakdown::render(&report.breakdown));
    }
    targets(&mut out, report);
    if !report.notes.is_empty() {
        section(&mut out, "Notes");
        for note in &report.notes {
            let _ = writeln!(out, "- {note}");
        }
    }
    out
}

fn tsc_checks(out: &mut String, report: &Report) {
    section(out, "Does the TSC count instructions? (a loop of 2 instructions x 100000, timed in each run)");
    let mut table = Table::new(&["setup", "runs", "TSC counts instructions"], 2);
    for setup in [Setup::QemuIcount, Setup::Bochs, Setup::QemuTcg] {
        let checks: Vec<_> = report.tsc_checks.iter().filter(|c| c.setup == setup).collect();
        let Some(first) = checks.first() else { continue };
        let agree = checks.iter().all(|c| c.tsc == first.tsc);
        let verdict = if agree || setup == Setup::QemuTcg {
            first.verdict()
        } else {
            let all: Vec<String> = checks.iter().map(|c| c.tsc.to_string()).collect();
            format!("runs disagree: {} ticks", all.join(", "))
        };
        table.row(vec![setup.describe().into(), checks.len().to_string(), verdict]);
    }
    out.push_str(&table.render());
}

fn instructions(out: &mut String, report: &Report) {
    section(
        out,
        "Syscall round trip: instructions (deterministic: TSC ticks per round trip where the check \
         proves 1 tick = 1 instruction)",
    );
    let headers = ["setup", "entry", "null [instr]", "getpid [instr]", "floor [instr]"];
    let mut table = Table::new(&headers, 2);
    for setup in [Setup::QemuIcount, Setup::Bochs] {
        let mut entries: Vec<EntryConfig> =
            report.syscalls.iter().filter(|f| f.setup == setup).map(|f| f.entry).collect();
        entries.dedup();
        if entries.is_empty() {
            let row = [setup.describe(), "not run (see the notes)", "-", "-", "-"];
            table.row(row.map(String::from).to_vec());
        }
        for entry in entries {
            let mut row = vec![setup.describe().to_string(), entry.describe().to_string()];
            for path in SyscallPath::ALL {
                row.push(match report.syscall(setup, entry, path) {
                    Some(f) => match f.instructions {
                        Some(n) => format!("{n:.1}"),
                        None => format!("{} TSC ticks", number(f.tsc.median, 1)),
                    },
                    None => "-".into(),
                });
            }
            table.row(row);
        }
    }
    out.push_str(&table.render());
    out.push_str(
        "null: an unknown syscall number (-ENOSYS). floor: a bare SYSCALL/SYSRET entry that does no work,\n\
         installed by the benchmark only, to show the floor. Every figure includes the user loop around\n\
         the call (mov, syscall, dec, jnz: 4 instructions). Linux's: \"Beside Linux\" below (or the notes say why not).\n",
    );
}

fn tcg_times(out: &mut String, report: &Report) {
    let figures: Vec<_> = report.syscalls.iter().filter(|f| f.setup == Setup::QemuTcg).collect();
    if figures.is_empty() {
        return;
    }
    section(
        out,
        &format!(
            "Syscall round trip under plain TCG (noisy: median of {} run(s), ± half the spread); TSC ticks \
             are emulated cycles",
            report.config.runs
        ),
    );
    let mut headers = vec!["entry".to_string()];
    for path in SyscallPath::ALL {
        headers.push(format!("{} [ns]", path.name()));
        headers.push(format!("{} [TSC ticks]", path.name()));
    }
    let header_refs: Vec<&str> = headers.iter().map(String::as_str).collect();
    let mut table = Table::new(&header_refs, 1);
    let mut entries: Vec<EntryConfig> = figures.iter().map(|f| f.entry).collect();
    entries.dedup();
    for entry in entries {
        let mut row = vec![entry.describe().to_string()];
        for path in SyscallPath::ALL {
            match report.syscall(Setup::QemuTcg, entry, path) {
                Some(f) => {
                    row.push(f.ns.as_ref().map(|ns| with_spread(ns, 0)).unwrap_or_else(|| "-".into()));
                    row.push(with_spread(&f.tsc, 0));
                }
                None => row.extend(["-".to_string(), "-".to_string()]),
            }
        }
        table.row(row);
    }
    out.push_str(&table.render());
}

fn boot(out: &mut String, report: &Report) {
    section(out, "Boot (release images, QEMU TCG, 1 CPU)");
    let b = &report.boot;
    let mut table = Table::new(&["figure", "value", "unit"], 1);
    if let Some(n) = b.instructions_to_main {
        table.row(vec![
            "first kernel instruction -> app's main (QEMU -icount)".into(),
            group_digits(n.round() as u64),
            "instructions".into(),
        ]);
    }
    if let Some(ms) = &b.ms_to_main {
        table.row(vec![
            format!("first kernel instruction -> app's main (TCG, median of {})", ms.samples.len()),
            with_spread(ms, 1),
            "ms".into(),
        ]);
    }
    for (what, summary) in [("hello", &b.hello_process_ms), ("empty image", &b.empty_process_ms)] {
        if let Some(ms) = summary {
            table.row(vec![
                format!("whole QEMU process, {what} (median of {})", ms.samples.len()),
                with_spread(ms, 1),
                "ms".into(),
            ]);
        }
    }
    if let (Some(ms), Some(ratio)) = (b.overhead_ms(), b.overhead_ratio()) {
        table.row(vec!["hello - empty: our cost".into(), format!("{ms:.1}"), "ms".into()]);
        table.row(vec!["hello / empty".into(), format!("{ratio:.2}"), "x".into()]);
    }
    out.push_str(&table.render());
    out.push_str(
        "empty image: the kernel built with bench-empty ends the run at its first Rust instruction, so\n\
         its process time is QEMU's and the firmware's floor. Time to main includes the kernel's clock\n\
         calibration: 2 ms of busy-waiting on the HPET for the TSC and 1 ms for the APIC timer (under\n\
         -icount, about 3 million instructions).\n",
    );
}

fn size(out: &mut String, report: &Report) {
    section(out, "Size (release)");
    let s = &report.size;
    let mut table = Table::new(&["figure", "value", "unit"], 1);
    let bytes = |n: u64| format!("{} ({:.1} KiB)", group_digits(n), n as f64 / 1024.0);
    table.row(vec!["hello image".into(), bytes(s.image_bytes), "bytes".into()]);
    table.row(vec!["  kernel part".into(), bytes(s.kernel_bytes), "bytes".into()]);
    table.row(vec![
        format!("  app part (payload header + ELF of {} bytes)", group_digits(s.app_elf_bytes)),
        bytes(s.app_bytes),
        "bytes".into(),
    ]);
    table.row(vec!["empty image (kernel built with bench-empty)".into(), bytes(s.empty_image_bytes), "bytes".into()]);
    if let Some(search) = &s.mem {
        let value = match (search.smallest_booting_mib, search.exact()) {
            (Some(mib), true) => mib.to_string(),
            (Some(mib), false) => format!("<= {mib}"),
            (None, _) => format!("> {}", search.largest_failing_mib.unwrap_or(0)),
        };
        let how = match search.largest_failing_mib {
            Some(failed) => format!("{failed} MiB does not boot"),
            None => "none smaller was tried".into(),
        };
        table.row(vec![
            format!("smallest --mem that boots hello ({} boots; {how})", search.boots),
            value,
            "MiB".into(),
        ]);
    }
    out.push_str(&table.render());
}

fn scaling(out: &mut String, report: &Report) {
    if report.scaling.is_empty() {
        return;
    }
    section(
        out,
        &format!(
            "Scaling: getpid with k threads pinned to k CPUs (QEMU multi-threaded TCG, -smp {}, median of {} \
             run(s))",
            report.config.scaling_cpus, report.config.runs
        ),
    );
    let mut table = Table::new(&["entry", "threads", "throughput [calls/s]", "ratio to 1 thread [x]", "target [x]"], 1);
    for f in &report.scaling {
        table.row(vec![
            f.entry.describe().into(),
            f.threads.to_string(),
            with_spread(&f.throughput, 0),
            format!("{:.2}", f.ratio),
            format!("{:.1}", crate::bench::targets::SCALING_MIN_EFFICIENCY * f64::from(f.threads)),
        ]);
    }
    out.push_str(&table.render());
}

/// The file workload, ours beside Linux's (when the guest ran).
fn files(out: &mut String, report: &Report) {
    if report.files.is_empty() {
        return;
    }
    let linux = report.linux.as_ref().map(|l| l.files.as_slice()).unwrap_or_default();
    let bytes = report.files.iter().find(|f| f.chunk > 0).map_or(0, |f| f.count);
    section(
        out,
        &format!(
            "Files: /tmp (RAM), a {} MiB file, and the ext2 disk (virtio-blk), a {} MiB file; instructions per call \
             under -icount, throughput under plain TCG (one run)",
            bytes >> 20,
            report.files.iter().find(|f| f.op.starts_with("disk")).map_or(0, |f| f.count) >> 20
        ),
    );
    let mut table =
        Table::new(&["workload", "libos [instr/call]", "Linux [instr/call]", "libos [MiB/s]", "Linux [MiB/s]"], 1);
    for f in &report.files {
        let theirs = linux.iter().find(|l| l.op == f.op && l.chunk == f.chunk);
        let rate = |x: &crate::bench::files::FileFigure| {
            if x.chunk == 0 { format!("({} ns/round)", number(x.tcg_ns, 0)) } else { number(x.tcg_mib_per_s, 1) }
        };
        table.row(vec![
            f.describe(),
            number(f.instructions, 0),
            theirs.map_or("-".to_string(), |l| number(l.instructions, 0)),
            rate(f),
            theirs.map_or("-".to_string(), rate),
        ]);
    }
    out.push_str(&table.render());
}

fn targets(out: &mut String, report: &Report) {
    section(out, "Targets (reported, never enforced)");
    let mut table = Table::new(&["target", "measured", "outcome", "by how much"], 4);
    for t in &report.targets {
        table.row(vec![t.target.clone(), t.actual.clone(), t.outcome.word().into(), t.detail.clone()]);
    }
    out.push_str(&table.render());
    let count = |o: Outcome| report.targets.iter().filter(|t| t.outcome == o).count();
    let _ = writeln!(
        out,
        "{} met, {} missed, {} not measured",
        count(Outcome::Met),
        count(Outcome::Missed),
        count(Outcome::Unknown)
    );
}

/// The comparison with an earlier run.
pub fn render_comparison(rows: &[Comparison], earlier: &Earlier, path: &str) -> String {
    let mut out = String::new();
    section(
        &mut out,
        &format!(
            "Compared with {path} (commit {}, {}, {})",
            if earlier.environment.commit.is_empty() { "unknown" } else { &earlier.environment.commit },
            if earlier.started_utc.is_empty() { "time unknown" } else { &earlier.started_utc },
            if earlier.environment.host_cpu.is_empty() { "host unknown" } else { &earlier.environment.host_cpu },
        ),
    );
    if rows.is_empty() {
        out.push_str("no figure in common\n");
        return out;
    }
    let mut table = Table::new(&["figure", "unit", "old", "new", "new/old [x]"], 2);
    for r in rows {
        table.row(vec![
            r.id.clone(),
            r.unit.clone(),
            number(r.old, 2),
            number(r.new, 2),
            r.ratio.map(|x| format!("{x:.3}")).unwrap_or_else(|| "-".into()),
        ]);
    }
    out.push_str(&table.render());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::report::tests::sample;
    use crate::bench::report::{Figure, compare};

    #[test]
    fn tables_align() {
        let mut t = Table::new(&["name", "n [x]"], 1);
        t.row(vec!["a".into(), "1.5".into()]);
        t.row(vec!["longer".into(), "12345.0".into()]);
        assert_eq!(t.render(), "name      n [x]\n------  -------\na           1.5\nlonger  12345.0\n");
    }

    #[test]
    fn numbers() {
        assert_eq!(group_digits(0), "0");
        assert_eq!(group_digits(999), "999");
        assert_eq!(group_digits(14_675_768), "14,675,768");
        assert_eq!(number(131.004, 1), "131.0");
        assert_eq!(number(372_736.0, 1), "372,736");
        assert_eq!(number(49_328.0, 2), "49,328");
        assert_eq!(number(-1234.0, 2), "-1,234");
        assert_eq!(number(-12.5, 2), "-12.50");
        assert_eq!(number(123_456.7, 2), "123,457");
        assert_eq!(number(7183.17, 0), "7,183");
        assert_eq!(with_spread(&Summary::of(vec![90.0, 100.0, 110.0]).unwrap(), 0), "100 (±10%)");
        assert_eq!(with_spread(&Summary::one(7.5), 1), "7.5");
    }

    #[test]
    fn the_report_shows_every_section_with_units() {
        let text = render(&sample());
        for needle in [
            "commit 0123abcd-dirty",
            "load 0.50 0.40 0.30",
            "QEMU -icount shift=0  1     yes (200000 ticks for 200000 instructions)",
            "null [instr]",
            "4 instructions",
            "null [TSC ticks]",
            "14,675,768",
            "hello - empty: our cost",
            "372,736 (364.0 KiB)",
            "ratio to 1 thread [x]",
            "MISSED",
            "met, ",
            "- nothing skipped",
        ] {
            assert!(text.contains(needle), "{needle:?} not in:\n{text}");
        }
        let mut without_bochs = sample();
        without_bochs.syscalls.retain(|f| f.setup != Setup::Bochs);
        let text_without = render(&without_bochs);
        assert!(text_without.contains("Bochs sync=none       not run (see the notes)"), "{text_without}");
        assert!(!text.contains("== Beside Linux"), "no Linux section without a Linux guest");
        let qemu_on = text.lines().find(|l| l.starts_with("QEMU -icount shift=0") && l.contains("KPTI on")).unwrap();
        assert!(qemu_on.contains("131.0") && qemu_on.contains("170.0") && qemu_on.ends_with("7.0"), "{qemu_on}");
    }

    #[test]
    fn comparisons_render() {
        let new = vec![Figure { id: "boot/overhead".into(), unit: "ms".into(), value: 50.0 }];
        let old = vec![Figure { id: "boot/overhead".into(), unit: "ms".into(), value: 100.0 }];
        let earlier = Earlier { figures: old.clone(), ..Earlier::default() };
        let text = render_comparison(&compare(&new, &old), &earlier, "old.json");
        assert!(text.contains("Compared with old.json (commit unknown, time unknown"), "{text}");
        assert!(text.contains("boot/overhead  ms    100   50        0.500"), "{text}");
        assert!(render_comparison(&[], &earlier, "x").contains("no figure in common"));
    }
}
