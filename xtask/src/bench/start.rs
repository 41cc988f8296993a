//! Start-up and `clock_gettime` of an ordinary Rust `std` program
//! (`linux-programs/std-hello`, a static `x86_64-unknown-linux-musl`
//! binary), the same file on our kernel (`--elf`, a benchmark kernel,
//! KPTI on) and on the Linux guest (`pti=on`, as a child of `/init`), each
//! under QEMU `-icount shift=0`.
//!
//! The program reads the TSC at the first line of `main` and in an
//! `atexit(3)` handler (after Rust's runtime has returned from `main`,
//! just before `exit_group`), and prints both. Under `-icount shift=0`
//! the TSC is the guest's instructions since the machine's reset (the
//! firmware included) plus the time a halted CPU skips. What each column
//! counts:
//!
//! - **libos, to `main`**: TSC at `main` minus the TSC at our kernel's
//!   first instruction (which the program asks the benchmark kernel for
//!   after its exit mark): our whole boot, the ELF load and musl's and
//!   std's start-up. Our kernel does not halt before `main`, so this is an
//!   exact instruction count.
//! - **Linux, to `main`**: TSC at `main` since the reset: the firmware
//!   (SeaBIOS and its Linux loader), the kernel's decompression and boot,
//!   `/init` (`apps/bench/linux`) up to its `start` mode, its fork and
//!   exec of the program, and the program's start-up. Linux halts while it
//!   waits during its boot, and that time counts too: an upper bound of its
//!   instructions. The row "Linux: /init's `main` to the program's
//!   `main`" is the part from `/init`'s own TSC mark (the first line of
//!   its `main`) to the program's: `/init` mounting `/proc`, calling
//!   `uname` and printing two lines, then fork, exec and the program's
//!   start-up.
//! - **`main` to exit**: the program's own run (the hello line, std's
//!   shutdown, musl's `exit` up to the handler), no halt on either; the
//!   timer interrupts that land in it, as the host's timing decides, vary
//!   it by well under 1% between runs.
//! - **`clock_gettime(CLOCK_MONOTONIC)`**: TSC ticks per call over N
//!   calls through musl, which uses the vDSO on both (no kernel entry;
//!   ours would make the system call with `vdso=off`).

use anyhow::{Context, Result, bail, ensure};
use serde::{Deserialize, Serialize};

use super::linux::{Extras, Guest, LinuxReport};
use super::report::{Figure, Report};
use super::{Bench, KPTI_ON, MEM, Part, QEMU_TIMEOUT, app_cmdline};
use crate::build::linux_programs::{self, STD_HELLO};
use crate::build::{Flavor, Hooks};
use crate::commands::{ImageSpec, build_image};

/// What the program printed in one run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StartRun {
    /// TSC at `main`.
    pub main: u64,
    /// TSC at the exit handler.
    pub exit: u64,
    /// TSC at our kernel's first instruction (ours only).
    pub first_instruction: Option<u64>,
    /// TSC at `/init`'s first instruction (the Linux guest only).
    pub init: Option<u64>,
    /// `clock_gettime` calls and the TSC ticks they took (`clock` runs).
    pub clock: Option<(u64, u64)>,
}

/// Decodes the `[start]` lines of a run's serial output.
pub fn parse(serial: &str) -> Result<StartRun> {
    let mut main = None;
    let mut exit = None;
    let mut run = StartRun::default();
    for line in serial.lines() {
        let Some(body) = line.find("[start] ").map(|i| line[i + "[start] ".len()..].trim_end()) else {
            continue;
        };
        let (kind, rest) = body.split_once(' ').with_context(|| format!("no fields in `{body}`"))?;
        let field = |name: &str| -> Result<u64> {
            rest.split_whitespace()
                .find_map(|f| f.strip_prefix(name).and_then(|v| v.strip_prefix('=')))
                .with_context(|| format!("no `{name}=` in `{body}`"))?
                .parse()
                .with_context(|| format!("`{name}` is not a number in `{body}`"))
        };
        let once = |slot: &mut Option<u64>, v: u64| -> Result<()> {
            ensure!(slot.replace(v).is_none(), "two `{kind}` lines");
            Ok(())
        };
        match kind {
            "main" => once(&mut main, field("tsc")?)?,
            "exit" => once(&mut exit, field("tsc")?)?,
            "first_instruction" => once(&mut run.first_instruction, field("tsc")?)?,
            "init" => once(&mut run.init, field("tsc")?)?,
            "clock_gettime" => {
                let iterations = field("iterations")?;
                ensure!(iterations > 0, "no iterations in `{body}`");
                ensure!(run.clock.replace((iterations, field("tsc")?)).is_none(), "two `clock_gettime` lines");
            }
            other => bail!("unknown kind `{other}` in `{body}`"),
        }
    }
    run.main = main.context("no `[start] main` line")?;
    run.exit = exit.context("no `[start] exit` line")?;
    ensure!(run.exit >= run.main, "the exit mark ({}) is before main's ({})", run.exit, run.main);
    for (what, mark) in [("the kernel's first instruction", run.first_instruction), ("/init's start", run.init)] {
        if let Some(m) = mark {
            ensure!(m <= run.main, "{what} ({m}) is after main ({})", run.main);
        }
    }
    Ok(run)
}

/// The start-up figures of one kernel (instructions under `-icount`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StartFigure {
    /// `libos` or `linux`.
    pub kernel: String,
    /// To `main`: from our kernel's first instruction (ours), from the
    /// machine's reset (Linux; halted time included).
    pub to_main: f64,
    /// The same to the exit handler.
    pub to_exit: f64,
    /// From the machine's reset to `main` on both (the firmware included;
    /// Linux's halted time too).
    #[serde(default)]
    pub reset_to_main: f64,
    /// `main` to the exit handler.
    pub main_to_exit: f64,
    /// Linux only: `/init`'s `main` to the program's `main` (`/init`'s
    /// set-up, fork, exec, start-up).
    pub init_to_main: Option<f64>,
    /// `clock_gettime(CLOCK_MONOTONIC)` per call.
    pub clock_gettime: f64,
    /// Calls timed.
    pub clock_iterations: u64,
}

/// The figures of a kernel's plain run and its `clock` run.
pub fn figure(kernel: &str, plain: &StartRun, clock: &StartRun) -> Result<StartFigure> {
    let origin = match kernel {
        "libos" => plain.first_instruction.context("our kernel gave no first-instruction TSC")?,
        _ => 0,
    };
    let (iterations, tsc) = clock.clock.context("the clock run printed no `clock_gettime` line")?;
    Ok(StartFigure {
        kernel: kernel.to_string(),
        to_main: (plain.main - origin) as f64,
        to_exit: (plain.exit - origin) as f64,
        reset_to_main: plain.main as f64,
        main_to_exit: (plain.exit - plain.main) as f64,
        init_to_main: plain.init.map(|i| (plain.main - i) as f64),
        clock_gettime: tsc as f64 / iterations as f64,
        clock_iterations: iterations,
    })
}

/// `clock_gettime` calls per run.
fn clock_iterations(quick: bool) -> u64 {
    if quick { 1_000 } else { 10_000 }
}

/// Our side: `std-hello` on a benchmark kernel (which answers the
/// first-instruction hook), KPTI on, under `-icount`.
pub(super) fn ours(bench: &Bench) -> Result<StartFigure> {
    let elf = linux_programs::build(&bench.layout, STD_HELLO)?;
    let flavor = Flavor { hooks: Hooks::Bench, ..Flavor::plain(true) };
    let image = bench.layout.image(Some(STD_HELLO), flavor);
    build_image(&bench.layout, &ImageSpec { app: Some(STD_HELLO.to_string()), flavor, elf: Some(elf) }, &image)?;
    let mut runs = Vec::new();
    for args in [String::new(), format!("clock {}", clock_iterations(bench.plan.quick))] {
        let launch = bench.qemu_launch(&image, app_cmdline(KPTI_ON, &args), 1, MEM, true, QEMU_TIMEOUT);
        let what = format!("QEMU -icount: {STD_HELLO} {args}");
        let ended = bench.boot(&launch, what.trim_end())?;
        runs.push(bench.decode(&what, &ended, parse)?);
    }
    figure("libos", &runs[0], &runs[1])
}

/// The Linux guest's side (a workload of `linux::WORKLOADS`): `/init`'s
/// `start` mode runs `/std-hello` (the same file), pti on, under
/// `-icount`.
pub fn linux(guest: &Guest<'_>, report: &mut LinuxReport) -> Result<()> {
    if !guest.plan().runs(Part::Start) {
        return Ok(());
    }
    let bench = guest.bench();
    let program = linux_programs::build(&bench.layout, STD_HELLO)?;
    let initrd = bench.layout.root.join("target/linux/initramfs-start.cpio");
    write_initramfs(guest.init(), &program, &initrd)?;
    let mut runs = Vec::new();
    for count in [0, clock_iterations(guest.plan().quick)] {
        let args = format!("start {count}");
        let extras = Extras { initrd: &initrd, devices: Vec::new() };
        let serial = guest.boot_with(true, true, MEM, &args, extras, &mut |_, _| {}, &args)?;
        runs.push(Guest::decode(&args, &serial, parse)?);
    }
    report.start = Some(figure("linux", &runs[0], &runs[1])?);
    Ok(())
}

/// The Linux guest's initramfs for `start`: `/init` and `/std-hello`.
fn write_initramfs(init: &std::path::Path, program: &std::path::Path, out: &std::path::Path) -> Result<()> {
    use crate::build::cpio::{Member, archive};
    let read = |p: &std::path::Path| std::fs::read(p).with_context(|| format!("reading {}", p.display()));
    let (init, program) = (read(init)?, read(program)?);
    let members = [Member::file("init", 0o755, &init), Member::file(STD_HELLO, 0o755, &program)];
    crate::build::write_atomically(out, &archive(&members)?)
}

/// The flat figures (`--compare`) of ours and the Linux guest's.
pub fn flat(report: &Report) -> Vec<Figure> {
    let linux = report.linux.as_ref().and_then(|l| l.start.as_ref());
    let mut out = Vec::new();
    for f in report.start.iter().chain(linux) {
        let mut push = |name: &str, value: f64| {
            out.push(Figure { id: format!("start/{}/{name}", f.kernel), unit: "instructions".into(), value });
        };
        push("to-main", f.to_main);
        push("to-exit", f.to_exit);
        push("reset-to-main", f.reset_to_main);
        push("main-to-exit", f.main_to_exit);
        if let Some(n) = f.init_to_main {
            push("init-to-main", n);
        }
        push("clock_gettime", f.clock_gettime);
    }
    out
}

/// The console section: ours beside the Linux guest's when it ran.
pub fn render(out: &mut String, report: &Report) {
    use std::fmt::Write as _;

    use super::table::{Table, number};
    let Some(ours) = &report.start else {
        return;
    };
    let theirs = report.linux.as_ref().and_then(|l| l.start.as_ref());
    let _ = writeln!(
        out,
        "\n== Start-up of a Rust std hello (linux-programs/{STD_HELLO}, static musl), the same binary on both; \
         instructions under -icount (TSC marks), KPTI/pti on"
    );
    let mut table = Table::new(&["figure", "libos", "Linux"], 1);
    let linux = |f: fn(&StartFigure) -> Option<f64>| theirs.and_then(f).map_or("-".to_string(), |n| number(n, 0));
    table.row(vec![
        "to main (libos: from the kernel's 1st instruction; Linux: from reset, firmware + halts included)".into(),
        number(ours.to_main, 0),
        linux(|f| Some(f.to_main)),
    ]);
    table.row(vec!["to exit (same origins)".into(), number(ours.to_exit, 0), linux(|f| Some(f.to_exit))]);
    table.row(vec![
        "to main from reset on both (firmware included; Linux's halts too)".into(),
        number(ours.reset_to_main, 0),
        linux(|f| Some(f.reset_to_main)),
    ]);
    table.row(vec![
        "main to exit (the program's run)".into(),
        number(ours.main_to_exit, 0),
        linux(|f| Some(f.main_to_exit)),
    ]);
    table.row(vec![
        "Linux: /init's main to the program's main (mount, 2 lines, fork+exec, start-up)".into(),
        "-".into(),
        linux(|f| f.init_to_main),
    ]);
    table.row(vec![
        format!("clock_gettime(CLOCK_MONOTONIC) per call, {} calls (the vDSO on both)", ours.clock_iterations),
        number(ours.clock_gettime, 0),
        linux(|f| Some(f.clock_gettime)),
    ]);
    out.push_str(&table.render());
}

#[cfg(test)]
mod tests {
    use super::*;

    const OURS: &str = "libos 0.1.0 booting\r\n[start] main tsc=1500000\r\nHello from Rust std!\r\n\
                        [start] exit tsc=1530000\r\n[start] first_instruction tsc=400000\r\n";
    const LINUX_CLOCK: &str = "[bench] kernel release=6.1\r\n[start] init tsc=900000000\r\n\
                               [start] main tsc=901000000\r\n[start] clock_gettime iterations=1000 tsc=80000\r\n\
                               Hello from Rust std!\r\n[start] exit tsc=901100000\r\n";

    #[test]
    fn runs_decode() {
        let ours = parse(OURS).unwrap();
        assert_eq!(
            ours,
            StartRun { main: 1_500_000, exit: 1_530_000, first_instruction: Some(400_000), ..Default::default() }
        );
        let linux = parse(LINUX_CLOCK).unwrap();
        assert_eq!((linux.init, linux.clock, linux.first_instruction), (Some(900_000_000), Some((1000, 80_000)), None));
    }

    #[test]
    fn bad_runs_are_errors() {
        assert!(parse("Hello\n").unwrap_err().to_string().contains("no `[start] main` line"));
        assert!(parse("[start] main tsc=5\n").unwrap_err().to_string().contains("no `[start] exit` line"));
        assert!(parse("[start] main tsc=5\n[start] exit tsc=4\n").is_err(), "exit before main");
        assert!(parse("[start] main tsc=5\n[start] main tsc=6\n[start] exit tsc=9\n").is_err(), "two mains");
        assert!(parse("[start] main tsc=x\n").is_err());
        assert!(parse("[start] main tsc=5\n[start] exit tsc=9\n[start] first_instruction tsc=6\n").is_err());
        assert!(parse("[start] main tsc=5\n[start] exit tsc=9\n[start] clock_gettime iterations=0 tsc=1\n").is_err());
        assert!(parse("[start] frobnicate tsc=1\n").is_err());
    }

    #[test]
    fn figures_count_from_each_kernel_s_origin() {
        let clock = parse(&format!("{OURS}[start] clock_gettime iterations=100 tsc=25000\n")).unwrap();
        let ours = figure("libos", &parse(OURS).unwrap(), &clock).unwrap();
        assert_eq!((ours.to_main, ours.to_exit, ours.main_to_exit), (1_100_000.0, 1_130_000.0, 30_000.0));
        assert_eq!(ours.reset_to_main, 1_500_000.0);
        assert_eq!((ours.clock_gettime, ours.clock_iterations, ours.init_to_main), (250.0, 100, None));
        let linux_run = parse(LINUX_CLOCK).unwrap();
        let linux = figure("linux", &linux_run, &linux_run).unwrap();
        assert_eq!((linux.to_main, linux.init_to_main, linux.clock_gettime), (901_000_000.0, Some(1_000_000.0), 80.0));
        assert_eq!(linux.reset_to_main, linux.to_main);
        assert!(figure("libos", &linux_run, &linux_run).is_err(), "ours needs the first-instruction mark");
        assert!(figure("libos", &parse(OURS).unwrap(), &parse(OURS).unwrap()).is_err(), "no clock line");
    }
}
