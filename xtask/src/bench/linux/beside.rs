//! Our figures beside Linux's, from the same run: each figure the Linux
//! guest measured, next to ours of the same setup, path and KPTI, in the
//! same unit, with the ratio ours / Linux (below 1: we are cheaper).

use std::fmt::Write;

use crate::bench::lines::SyscallPath;
use crate::bench::report::{Figure, Report, Setup, Summary, SyscallFigure};
use crate::bench::table::{Table, number};

/// One figure of both kernels.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// What is measured (`null syscall`).
    pub figure: String,
    /// The id of the ratio among the flat figures
    /// (`vs-linux/syscall/qemu-icount/kpti-on/null/instructions`).
    pub id: String,
    /// Where.
    pub setup: Setup,
    /// KPTI on (Linux: `pti=on`).
    pub kpti: bool,
    /// The unit of both values.
    pub unit: &'static str,
    /// Ours.
    pub ours: Summary,
    /// Linux's.
    pub linux: Summary,
}

impl Row {
    /// Ours / Linux's (medians); `None` when Linux's is 0.
    pub fn ratio(&self) -> Option<f64> {
        (self.linux.median != 0.0).then(|| self.ours.median / self.linux.median)
    }
}

fn figure_name(path: SyscallPath) -> String {
    match path {
        SyscallPath::Null => "null syscall".into(),
        other => other.name().into(),
    }
}

/// The pairs of values of one syscall figure in the units both have:
/// instructions where both runs proved them, else TSC ticks; and ns where
/// both have wall times.
fn pairs(ours: &SyscallFigure, linux: &SyscallFigure) -> Vec<(&'static str, &'static str, Summary, Summary)> {
    let mut out = Vec::new();
    match (ours.instructions, linux.instructions) {
        (Some(a), Some(b)) => out.push(("instructions", "instructions", Summary::one(a), Summary::one(b))),
        _ => {
            let unit = if ours.setup == Setup::QemuTcg { "emulated cycles" } else { "TSC ticks" };
            if let (Some(a), Some(b)) = (&ours.ns, &linux.ns) {
                out.push(("ns", "ns", a.clone(), b.clone()));
            }
            out.push((unit, "tsc", ours.tsc.clone(), linux.tsc.clone()));
        }
    }
    out
}

/// Every figure of the Linux guest with ours beside it, in the guest's
/// order. A Linux figure without a counterpart of ours has no row.
pub fn rows(report: &Report) -> Vec<Row> {
    let Some(linux) = &report.linux else {
        return Vec::new();
    };
    let mut rows = Vec::new();
    for l in &linux.syscalls {
        let Some(ours) =
            report.syscalls.iter().find(|o| o.setup == l.setup && o.path == l.path && o.entry.kpti == l.entry.kpti)
        else {
            continue;
        };
        for (unit, unit_id, a, b) in pairs(ours, l) {
            let kpti = if l.entry.kpti { "on" } else { "off" };
            rows.push(Row {
                figure: figure_name(l.path),
                id: format!("vs-linux/syscall/{}/kpti-{kpti}/{}/{unit_id}", l.setup.name(), l.path.name()),
                setup: l.setup,
                kpti: l.entry.kpti,
                unit,
                ours: a,
                linux: b,
            });
        }
    }
    rows
}

/// The flat figures of the Linux guest and of the ratios, for the JSON file
/// and `--compare`.
pub fn figures(report: &Report) -> Vec<Figure> {
    let mut out = Vec::new();
    let Some(linux) = &report.linux else {
        return out;
    };
    for f in &linux.syscalls {
        let stem = format!(
            "linux/syscall/{}/pti-{}/{}",
            f.setup.name(),
            if f.entry.kpti { "on" } else { "off" },
            f.path.name()
        );
        let mut push = |id: String, unit: &str, value: f64| out.push(Figure { id, unit: unit.into(), value });
        match f.instructions {
            Some(n) => push(format!("{stem}/instructions"), "instructions", n),
            None => push(format!("{stem}/tsc"), "TSC ticks", f.tsc.median),
        }
        if let Some(ns) = &f.ns {
            push(format!("{stem}/ns"), "ns", ns.median);
        }
    }
    for row in rows(report) {
        if let Some(ratio) = row.ratio() {
            out.push(Figure { id: row.id, unit: "x Linux".into(), value: ratio });
        }
    }
    out
}

/// A value with its spread when it has several samples.
fn value(summary: &Summary, decimals: usize) -> String {
    let median = number(summary.median, decimals);
    if summary.samples.len() > 1 { format!("{median} (±{:.0}%)", 50.0 * summary.spread()) } else { median }
}

/// The section of the console report; nothing when Linux did not run (the
/// notes say why).
pub fn render(out: &mut String, report: &Report) {
    let Some(linux) = &report.linux else {
        return;
    };
    let _ = writeln!(
        out,
        "\n== Beside Linux, measured in this run: Debian {} {} (uname -r {}), {} boots, {:.0} s",
        linux.package, linux.version, linux.release, linux.boots, linux.elapsed_s
    );
    let mut table = Table::new(&["figure", "setup", "KPTI", "unit", "ours", "Linux", "ours / Linux [x]"], 4);
    for row in rows(report) {
        let decimals = if row.unit == "instructions" { 1 } else { 0 };
        table.row(vec![
            row.figure.clone(),
            row.setup.describe().into(),
            if row.kpti { "on" } else { "off" }.into(),
            row.unit.into(),
            value(&row.ours, decimals),
            value(&row.linux, decimals),
            row.ratio().map(|r| format!("{r:.2}")).unwrap_or_else(|| "-".into()),
        ]);
    }
    out.push_str(&table.render());
    let checks: Vec<String> = linux
        .tsc_checks
        .iter()
        .map(|c| {
            let verdict = if c.ticks_per_instruction() == Some(1) { "yes".to_string() } else { c.verdict() };
            format!("pti={} {verdict}", if c.entry.kpti { "on" } else { "off" })
        })
        .collect();
    let _ = writeln!(
        out,
        "ours / Linux below 1: we are cheaper. Linux's /init is apps/bench/linux, a static\n\
         x86_64-unknown-linux-musl program that runs the bench app's loops (apps/bench/workload): the\n\
         same 4 user instructions per round trip, on the same QEMU machine. Linux's command line:\n\
         \x20   {} pti=on|off -- syscalls {}\n\
         KPTI on is pti=on; neither side has PCID under TCG. Linux's ns: CLOCK_MONOTONIC around the\n\
         loop (ours: TSC ticks at the kernel's measured frequency). Linux's TSC counts instructions\n\
         under -icount: {}.\n\
         The kernel is kept in target/linux/kernel (delete it to fetch the newest).",
        linux.cmdline,
        report.config.iterations,
        if checks.is_empty() { "not checked".to_string() } else { checks.join(", ") }
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::linux::LinuxReport;
    use crate::bench::report::TscCheck;
    use crate::bench::report::tests::{OFF, ON, sample};

    fn linux_figure(setup: Setup, kpti: bool, path: SyscallPath, per_call: f64) -> SyscallFigure {
        let timed = setup == Setup::QemuTcg;
        SyscallFigure {
            setup,
            entry: if kpti { ON } else { OFF },
            path,
            iterations: 100_000,
            instructions: (!timed).then_some(per_call),
            tsc: Summary::one(per_call),
            ns: timed.then(|| Summary::of(vec![per_call / 2.0, per_call / 2.0 * 1.1]).unwrap()),
        }
    }

    /// The sample report with a Linux guest, as measured on this project's
    /// machines.
    pub(crate) fn with_linux() -> Report {
        let mut report = sample();
        let mut syscalls = Vec::new();
        for (setup, kpti, null, getpid) in [
            (Setup::QemuIcount, true, 219.64292, 317.20122),
            (Setup::QemuIcount, false, 211.0, 309.0),
            (Setup::QemuTcg, true, 34_000.0, 40_000.0),
        ] {
            syscalls.push(linux_figure(setup, kpti, SyscallPath::Null, null));
            syscalls.push(linux_figure(setup, kpti, SyscallPath::Getpid, getpid));
        }
        report.linux = Some(LinuxReport {
            package: "linux-image-6.1.0-57-cloud-amd64".into(),
            version: "6.1.192-3".into(),
            release: "6.1.0-57-cloud-amd64".into(),
            cmdline: crate::bench::linux::CMDLINE.into(),
            tsc_checks: vec![TscCheck { setup: Setup::QemuIcount, entry: ON, tsc: 200_000, instructions: 200_000 }],
            syscalls,
            files: Vec::new(),
            http: Vec::new(),
            start: None,
            notes: Vec::new(),
            boots: 4,
            elapsed_s: 61.2,
        });
        report.finish();
        report
    }

    #[test]
    fn rows_pair_the_same_setup_path_and_kpti() {
        let report = with_linux();
        let rows = rows(&report);
        // icount: 2 paths x 2 KPTI; TCG (KPTI on only, in the sample): 2
        // paths x (ns, cycles).
        assert_eq!(rows.len(), 8, "{rows:#?}");
        let null_on = &rows[0];
        assert_eq!((null_on.figure.as_str(), null_on.setup, null_on.kpti), ("null syscall", Setup::QemuIcount, true));
        assert_eq!((null_on.ours.median, null_on.linux.median), (131.004, 219.64292));
        assert!((null_on.ratio().unwrap() - 131.004 / 219.64292).abs() < 1e-12);
        assert_eq!(null_on.id, "vs-linux/syscall/qemu-icount/kpti-on/null/instructions");
        let getpid_off = &rows[3];
        assert_eq!((getpid_off.ours.median, getpid_off.linux.median, getpid_off.kpti), (152.0, 309.0, false));
        let tcg: Vec<_> = rows.iter().filter(|r| r.setup == Setup::QemuTcg).map(|r| (r.unit, r.kpti)).collect();
        assert_eq!(tcg, [("ns", true), ("emulated cycles", true), ("ns", true), ("emulated cycles", true)]);
        assert!(super::rows(&sample()).is_empty(), "no Linux, no rows");
    }

    #[test]
    fn flat_figures_name_both_kernels_and_the_ratio() {
        let report = with_linux();
        let value = |id: &str| report.figures.iter().find(|f| f.id == id).map(|f| (f.unit.as_str(), f.value));
        assert_eq!(value("linux/syscall/qemu-icount/pti-on/getpid/instructions"), Some(("instructions", 317.20122)));
        assert_eq!(value("linux/syscall/qemu-tcg/pti-on/null/tsc"), Some(("TSC ticks", 34_000.0)));
        assert!(value("linux/syscall/qemu-tcg/pti-on/null/ns").is_some());
        let (unit, ratio) = value("vs-linux/syscall/qemu-icount/kpti-off/null/instructions").unwrap();
        assert_eq!((unit, ratio), ("x Linux", 113.0045 / 211.0));
        let ids: std::collections::HashSet<&str> = report.figures.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(ids.len(), report.figures.len(), "ids stay unique");
    }

    #[test]
    fn the_section_shows_the_kernel_and_the_ratios() {
        let mut text = String::new();
        render(&mut text, &with_linux());
        for needle in [
            "Beside Linux, measured in this run: Debian linux-image-6.1.0-57-cloud-amd64 6.1.192-3",
            "uname -r 6.1.0-57-cloud-amd64), 4 boots, 61 s",
            "ours / Linux [x]",
            "    console=ttyS0 quiet panic=-1 cryptomgr.notests pti=on|off -- syscalls 100000\n",
            "under -icount: pti=on yes.",
        ] {
            assert!(text.contains(needle), "{needle:?} not in:\n{text}");
        }
        let line = text.lines().find(|l| l.starts_with("null syscall  QEMU -icount shift=0  on")).unwrap();
        assert!(line.contains("131.0") && line.contains("219.6") && line.ends_with("0.60"), "{line}");
        let mut empty = String::new();
        render(&mut empty, &sample());
        assert!(empty.is_empty());
        // In the whole report: after the times under plain TCG, before boot.
        let whole = crate::bench::table::render(&with_linux());
        let at = |title: &str| whole.find(title).unwrap_or_else(|| panic!("{title} not in:\n{whole}"));
        assert!(
            at("== Syscall round trip under plain TCG") < at("== Beside Linux")
                && at("== Beside Linux") < at("== Boot")
        );
    }
}
