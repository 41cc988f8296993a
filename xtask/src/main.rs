//! `cargo xtask`: builds, runs and tests the library OS images.
//!
//! Modules:
//! - [`build`]: cargo invocations for the kernel and the apps, file layout;
//! - [`image`]: the bootable image (kernel loaded flat + app payload);
//! - [`qemu`]: QEMU's command line and a supervised, time-limited run;
//! - [`bochs`]: booting under Bochs (PCID) from a GRUB rescue ISO, judged
//!   from the serial output;
//! - [`emulator`]: QEMU or Bochs behind one interface;
//! - [`process`]: emulator processes that die with the xtask;
//! - [`accel`]: TCG, KVM, or KVM after a cached probe;
//! - [`run_result`]: how a run ended (QEMU status + exit line → verdict);
//! - [`serial_protocol`]: the boot-time test protocol on the serial port;
//! - [`test_plan`]: the table of boot-time test suites;
//! - [`test_runner`]: `cargo xtask test`;
//! - [`host_tests`]: the host unit tests (`cargo test`) summarised;
//! - [`lint`]: `cargo xtask lint` (what CI checks);
//! - [`install`]: finding (and installing) QEMU, Bochs and GRUB's tools;
//! - [`commands`]: `build`, `image` and `run`;
//! - [`mod@bench`]: `cargo xtask bench`, with [`bench_lines`] (the bench app's
//!   output), [`bench_report`] (figures, JSON, comparison),
//!   [`bench_targets`], [`bench_table`] (the console report) and
//!   [`bench_env`] (commit, versions, host).

mod accel;
mod bench;
mod bench_env;
mod bench_lines;
mod bench_report;
mod bench_table;
mod bench_targets;
mod bochs;
mod build;
mod commands;
mod emulator;
mod hook_symbols;
mod host_tests;
mod image;
mod install;
mod lint;
mod process;
mod qemu;
mod run_result;
mod serial_protocol;
mod test_plan;
mod test_runner;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::ensure;
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::accel::AccelChoice;
use crate::bench::BenchOptions;
use crate::build::{Flavor, Hooks};
use crate::commands::{BootOptions, ImageSpec, RunOptions};
use crate::emulator::Emulator;
use crate::qemu::Firmware;
use crate::test_runner::TestOptions;

/// Build, run and test the library OS: a kernel (ring 0) and an app (ring 3)
/// in one multiboot image, booted under QEMU (or Bochs, for PCID).
#[derive(Debug, Parser)]
#[command(name = "cargo xtask", bin_name = "cargo xtask")]
#[command(after_help = "Examples:\n  \
    cargo xtask run hello\n  \
    cargo xtask run hello --kpti off -- loglevel=debug -- arg1 arg2\n  \
    cargo xtask run hello --emulator bochs --smp 2\n  \
    cargo xtask test mm::\n  \
    cargo xtask test --emulator bochs --no-host\n  \
    cargo xtask bench --quick\n  \
    cargo xtask image hello -o hello.bin")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Build the kernel and an app, write the image, print its path and sizes.
    ///
    /// The image goes to `target/images/<app>[-tests][-release].bin`.
    Build {
        #[command(flatten)]
        target: TargetArgs,
    },
    /// Build, then boot the image under QEMU or Bochs, the guest's serial output on stdout.
    ///
    /// Exits with the run's status: 0 success, 1 kernel failure, the app's
    /// exit code, 128+signal when the kernel killed the app, 124 timeout, 2
    /// when the emulator or the guest misbehaved (QEMU error, triple fault).
    /// The xtask's own messages go to stderr.
    ///
    /// Under Bochs (--emulator bochs) the image boots from a GRUB rescue ISO
    /// (target/images/bochs/) and the run's outcome comes from the kernel's
    /// exit line on the serial port; Bochs's files (bochsrc, log) are in
    /// target/bochs/ and are kept when the run ends without an exit line.
    Run {
        #[command(flatten)]
        target: TargetArgs,
        #[command(flatten)]
        machine: MachineArgs,
        /// The emulator.
        #[arg(long, value_enum, default_value_t = Emulator::Qemu)]
        emulator: Emulator,
        /// Bochs's CPU model (`bochs --help cpu` lists them; corei7_skylake_x has
        /// PCID and INVPCID, corei7_sandy_bridge_2600k PCID without INVPCID)
        /// [default: corei7_skylake_x].
        #[arg(long, value_name = "MODEL")]
        bochs_cpu: Option<String>,
        /// QEMU's accelerator (auto: KVM only where a cached probe shows it
        /// runs our guest) [default: tcg].
        #[arg(long, value_enum)]
        accel: Option<AccelChoice>,
        /// Start QEMU halted, waiting for gdb on port 1234 (-s -S), with no
        /// timeout; prints the gdb command line to attach with symbols.
        #[arg(long)]
        gdb: bool,
        /// Kill the emulator after this many seconds (exit status 124)
        /// [default: 60 under QEMU, 300 under Bochs].
        #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
        timeout: Option<u64>,
        #[command(flatten)]
        cmdline: CmdlineArgs,
    },
    /// Run the whole test suite (host unit tests and boot-time suites).
    ///
    /// Host unit tests (cargo test), then the boot-time suites of
    /// xtask/src/test_plan.rs under their configurations: boot checks,
    /// kernel tests, harness self-checks, app tests. One line per test; the
    /// last line is `N passed, M failed`; exit status 0 iff nothing failed.
    ///
    /// With --emulator bochs: the configurations for Bochs (CPU models with
    /// PCID, named in each test's label); the QEMU-only suites (boot checks,
    /// harness) do not run.
    Test {
        /// Only tests whose name contains FILTER (passed to the kernel as
        /// test.filter=FILTER; suites with fixed names that do not match are
        /// skipped).
        filter: Option<String>,
        /// Build with the release profile.
        #[arg(long)]
        release: bool,
        #[command(flatten)]
        machine: MachineArgs,
        /// The emulator.
        #[arg(long, value_enum, default_value_t = Emulator::Qemu)]
        emulator: Emulator,
        /// Run every Bochs configuration with this CPU model instead of the
        /// table's models.
        #[arg(long, value_name = "MODEL")]
        bochs_cpu: Option<String>,
        /// QEMU's accelerator (auto: KVM only where a cached probe shows it
        /// runs our guest) [default: tcg].
        #[arg(long, value_enum)]
        accel: Option<AccelChoice>,
        /// Timeout of each boot in seconds (some boots set their own)
        /// [default: 120 under QEMU, 300 under Bochs].
        #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
        timeout: Option<u64>,
        /// Also show cargo test's output and every boot's full serial output.
        #[arg(long, short)]
        verbose: bool,
        /// Boots to run at once [default: the number of host CPUs].
        #[arg(long, short, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
        jobs: Option<u64>,
        /// Skip the host unit tests.
        #[arg(long)]
        no_host: bool,
        #[command(flatten)]
        cmdline: CmdlineArgs,
    },
    /// Build and write the bootable image to PATH; print how to boot it.
    ///
    /// The machine and command line options only shape the printed
    /// qemu-system-x86_64 command line.
    Image {
        #[command(flatten)]
        target: TargetArgs,
        /// Where to write the image.
        #[arg(short, long, value_name = "PATH")]
        output: PathBuf,
        #[command(flatten)]
        machine: MachineArgs,
        #[command(flatten)]
        cmdline: CmdlineArgs,
    },
    /// Measure the syscall path, boot and size (release images); a table and a JSON file.
    ///
    /// Syscall round trips (null, getpid, and the bare SYSCALL/SYSRET floor)
    /// in instructions, deterministic (QEMU -icount shift=0 and Bochs, whose
    /// TSC counts instructions: each run checks it), and in ns and emulated
    /// cycles under plain TCG (noisy: the median of --runs runs); KPTI on and
    /// off, with PCID under Bochs. Boot: instructions and time to the app's
    /// main, whole-process wall time of hello next to an empty image. Size of
    /// the hello image and the least memory it boots in. Scaling of getpid
    /// over 1..N CPUs (multi-threaded TCG). The targets, met or missed.
    ///
    /// The figures also go to `target/bench/<UTC time>.json` (or --out) with
    /// the commit, the emulators' versions and the host. Not a test: it fails
    /// only when a boot fails or its output cannot be read, never on a number.
    Bench {
        /// A smoke run (well under a minute once built): small counts, one run
        /// each, one Bochs configuration, a 3-boot memory search.
        #[arg(long)]
        quick: bool,
        /// Print each figure's ratio to the same figure in an earlier JSON file.
        #[arg(long, value_name = "FILE")]
        compare: Option<PathBuf>,
        /// Runs of each noisy measurement; the median is reported [default: 5, --quick 1].
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
        runs: Option<u32>,
        /// Round trips per syscall path per run, and getpid calls per thread
        /// per scaling run (ten times as many with KPTI off) [default: 100000,
        /// --quick 10000].
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
        iterations: Option<u64>,
        /// Leave out the Bochs runs (PCID).
        #[arg(long)]
        no_bochs: bool,
        /// Write the JSON here instead of `target/bench/<UTC time>.json`.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Run the checks CI runs before the tests: fmt, clippy and rustdoc.
    ///
    /// cargo fmt --check; clippy -D warnings for the host crates, the
    /// bare-metal crates and every app, the kernel with boot tests and the
    /// benchmark's empty kernel; cargo doc with RUSTDOCFLAGS=-D warnings.
    Lint,
}

/// Which image: an app (or the kernel alone) and how to build it.
#[derive(Debug, Args)]
struct TargetArgs {
    /// The app to build: a directory under apps/.
    #[arg(required_unless_present = "no_app")]
    app: Option<String>,
    /// The kernel alone, without an app.
    #[arg(long, hide = true, conflicts_with = "app")]
    no_app: bool,
    /// Build with the release profile.
    #[arg(long)]
    release: bool,
    /// Build the kernel with its boot-time tests (feature boot-tests); run
    /// them with the command line word `test`.
    #[arg(long)]
    boot_tests: bool,
    /// Build the test flavour: the kernel and the app with the test hooks
    /// (features `testing` and `libos/testing`); an app's tests then run
    /// with the command line word `test`.
    #[arg(long)]
    testing: bool,
}

impl TargetArgs {
    fn spec(&self) -> ImageSpec {
        ImageSpec {
            app: if self.no_app { None } else { self.app.clone() },
            flavor: Flavor {
                boot_tests: self.boot_tests,
                hooks: if self.testing { Hooks::Testing } else { Hooks::None },
                ..Flavor::plain(self.release)
            },
        }
    }
}

/// The virtual machine.
#[derive(Debug, Args)]
struct MachineArgs {
    /// Number of CPUs.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=255))]
    smp: u32,
    /// Memory size, in QEMU's syntax (64M, 1G, 512 = MiB; whole MiB under Bochs).
    #[arg(long, value_name = "SIZE", default_value = "128M", value_parser = parse_mem)]
    mem: String,
    /// QEMU's firmware [default: qboot if /usr/share/qemu/qboot.rom exists, else seabios].
    #[arg(long, value_enum)]
    firmware: Option<Firmware>,
}

impl MachineArgs {
    fn firmware(&self) -> Firmware {
        self.firmware.unwrap_or_else(Firmware::host_default)
    }
}

/// Checks that the options given fit the emulator: QEMU's options are
/// refused under Bochs and the other way round.
fn check_emulator_options(
    emulator: Emulator,
    bochs_cpu: Option<&str>,
    accel: Option<AccelChoice>,
    firmware: Option<Firmware>,
    gdb: bool,
) -> anyhow::Result<()> {
    match emulator {
        Emulator::Qemu => ensure!(bochs_cpu.is_none(), "--bochs-cpu needs --emulator bochs"),
        Emulator::Bochs => {
            for (given, option) in [(accel.is_some(), "--accel"), (firmware.is_some(), "--firmware"), (gdb, "--gdb")] {
                ensure!(!given, "{option} is a QEMU option; it does not apply to --emulator bochs");
            }
        }
    }
    Ok(())
}

/// On or off.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum OnOff {
    On,
    Off,
}

impl OnOff {
    fn word(self) -> &'static str {
        match self {
            OnOff::On => "on",
            OnOff::Off => "off",
        }
    }
}

/// The kernel command line.
#[derive(Debug, Args)]
struct CmdlineArgs {
    /// Kernel page-table isolation (adds kpti=on|off to the kernel command line).
    #[arg(long, value_enum, value_name = "on|off", hide_possible_values = true)]
    kpti: Option<OnOff>,
    /// Use of PCIDs (adds pcid=on|off to the kernel command line).
    #[arg(long, value_enum, value_name = "on|off", hide_possible_values = true)]
    pcid: Option<OnOff>,
    /// Trace every system call (adds trace=syscalls).
    #[arg(long)]
    trace_syscalls: bool,
    /// Words appended verbatim to the kernel command line; the kernel gives
    /// the words after a literal `--` among them to the app as argv[1..].
    #[arg(last = true, value_name = "EXTRA")]
    extra: Vec<String>,
}

impl CmdlineArgs {
    /// The words the options stand for, without the extra words.
    fn option_words(&self) -> Vec<String> {
        let mut words = Vec::new();
        if let Some(kpti) = self.kpti {
            words.push(format!("kpti={}", kpti.word()));
        }
        if let Some(pcid) = self.pcid {
            words.push(format!("pcid={}", pcid.word()));
        }
        if self.trace_syscalls {
            words.push("trace=syscalls".to_string());
        }
        words
    }

    /// The whole command line.
    fn line(&self) -> String {
        let mut words = self.option_words();
        words.extend(self.extra.iter().cloned());
        words.join(" ")
    }
}

/// Accepts QEMU's `-m` sizes: a number, optionally with a unit suffix
/// (B, K, M, G, T; any case); no suffix means MiB.
fn parse_mem(text: &str) -> Result<String, String> {
    let digits_end = text.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(text.len());
    let (number, suffix) = text.split_at(digits_end);
    let valid_number = !number.is_empty()
        && number.matches('.').count() <= 1
        && !number.starts_with('.')
        && !number.ends_with('.')
        && number.parse::<f64>().is_ok_and(|n| n > 0.0);
    let valid_suffix = suffix.is_empty() || (suffix.len() == 1 && "bBkKmMgGtT".contains(suffix));
    if valid_number && valid_suffix {
        Ok(text.to_string())
    } else {
        Err(format!("`{text}` is not a memory size (examples: 128M, 1G, 512)"))
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match dispatch(cli) {
        Ok(status) => ExitCode::from(status.clamp(0, 255) as u8),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(run_result::PROBLEM_STATUS as u8)
        }
    }
}

fn dispatch(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        Command::Build { target } => commands::build(&target.spec()).map(|()| 0),
        Command::Image { target, output, machine, cmdline } => {
            let boot = BootOptions {
                smp: machine.smp,
                mem: machine.mem.clone(),
                firmware: machine.firmware(),
                cmdline: cmdline.line(),
            };
            commands::image(&target.spec(), &output, &boot).map(|()| 0)
        }
        Command::Run { target, machine, emulator, bochs_cpu, accel, gdb, timeout, cmdline } => {
            check_emulator_options(emulator, bochs_cpu.as_deref(), accel, machine.firmware, gdb)?;
            let opts = RunOptions {
                boot: BootOptions {
                    smp: machine.smp,
                    mem: machine.mem.clone(),
                    firmware: machine.firmware(),
                    cmdline: cmdline.line(),
                },
                emulator,
                bochs_cpu: bochs_cpu.unwrap_or_else(|| bochs::DEFAULT_CPU.to_string()),
                accel: accel.unwrap_or(AccelChoice::Tcg),
                gdb,
                timeout: timeout.map(Duration::from_secs),
            };
            commands::run(&target.spec(), &opts)
        }
        Command::Test {
            filter,
            release,
            machine,
            emulator,
            bochs_cpu,
            accel,
            timeout,
            verbose,
            jobs,
            no_host,
            cmdline,
        } => {
            check_emulator_options(emulator, bochs_cpu.as_deref(), accel, machine.firmware, false)?;
            let jobs = jobs
                .map(|j| j as usize)
                .unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
            let opts = TestOptions {
                filter,
                release,
                emulator,
                bochs_cpu,
                accel: accel.unwrap_or(AccelChoice::Tcg),
                mem: machine.mem.clone(),
                smp: machine.smp,
                firmware: machine.firmware(),
                cmdline_words: cmdline.option_words(),
                extra: cmdline.extra.clone(),
                timeout: timeout.map(Duration::from_secs),
                verbose,
                jobs,
                no_host,
            };
            test_runner::run(&opts)
        }
        Command::Bench { quick, compare, runs, iterations, no_bochs, out } => {
            bench::run(&BenchOptions { quick, compare, runs, iterations, no_bochs, out })
        }
        Command::Lint => lint::run().map(|()| 0),
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_cli_is_consistent() {
        Cli::command().debug_assert();
    }

    fn parse(args: &[&str]) -> Cli {
        Cli::try_parse_from(std::iter::once("cargo xtask").chain(args.iter().copied())).unwrap()
    }

    #[test]
    fn extra_words_keep_every_double_dash() {
        let Command::Run { cmdline, target, .. } =
            parse(&["run", "hello", "--kpti", "off", "--", "kpti=off", "--", "a", "b"]).command
        else {
            panic!("not run");
        };
        assert_eq!(target.app.as_deref(), Some("hello"));
        assert_eq!(cmdline.extra, ["kpti=off", "--", "a", "b"]);
        assert_eq!(cmdline.line(), "kpti=off kpti=off -- a b");
    }

    #[test]
    fn option_words() {
        let Command::Test { cmdline, filter, jobs, .. } =
            parse(&["test", "mm::", "--pcid", "off", "--trace-syscalls", "-j", "1"]).command
        else {
            panic!("not test");
        };
        assert_eq!(filter.as_deref(), Some("mm::"));
        assert_eq!(jobs, Some(1));
        assert_eq!(cmdline.option_words(), ["pcid=off", "trace=syscalls"]);
    }

    #[test]
    fn an_app_or_no_app() {
        assert!(Cli::try_parse_from(["cargo xtask", "run"]).is_err());
        assert!(Cli::try_parse_from(["cargo xtask", "run", "hello", "--no-app"]).is_err());
        let Command::Run { target, .. } = parse(&["run", "--no-app"]).command else { panic!() };
        assert_eq!(target.spec().app, None);
    }

    #[test]
    fn the_documented_bochs_default_is_the_default() {
        let run = Cli::command();
        let run = run.find_subcommand("run").unwrap();
        let arg = run.get_arguments().find(|a| a.get_id() == "bochs_cpu").unwrap();
        let help = arg.get_long_help().or(arg.get_help()).unwrap().to_string();
        assert!(help.contains(&format!("[default: {}]", bochs::DEFAULT_CPU)), "{help}");
    }

    #[test]
    fn emulator_options() {
        let Command::Run { emulator, bochs_cpu, timeout, accel, .. } =
            parse(&["run", "hello", "--emulator", "bochs", "--bochs-cpu", "corei7_sandy_bridge_2600k"]).command
        else {
            panic!("not run");
        };
        assert_eq!(emulator, Emulator::Bochs);
        assert_eq!(bochs_cpu.as_deref(), Some("corei7_sandy_bridge_2600k"));
        assert_eq!((timeout, accel), (None, None));
        let Command::Test { emulator, timeout, .. } = parse(&["test", "--timeout", "30"]).command else {
            panic!("not test");
        };
        assert_eq!((emulator, timeout), (Emulator::Qemu, Some(30)));
        assert!(check_emulator_options(Emulator::Bochs, Some("tigerlake"), None, None, false).is_ok());
        assert!(check_emulator_options(Emulator::Qemu, None, Some(AccelChoice::Kvm), None, true).is_ok());
        let err = check_emulator_options(Emulator::Qemu, Some("tigerlake"), None, None, false).unwrap_err();
        assert!(err.to_string().contains("--bochs-cpu needs --emulator bochs"), "{err}");
        for (accel, firmware, gdb, option) in [
            (Some(AccelChoice::Tcg), None, false, "--accel"),
            (None, Some(Firmware::Seabios), false, "--firmware"),
            (None, None, true, "--gdb"),
        ] {
            let err = check_emulator_options(Emulator::Bochs, None, accel, firmware, gdb).unwrap_err().to_string();
            assert!(err.starts_with(option), "{err}");
        }
    }

    #[test]
    fn memory_sizes() {
        for ok in ["128M", "1G", "512", "64m", "1.5G", "4096K"] {
            assert!(parse_mem(ok).is_ok(), "{ok}");
        }
        for bad in ["", "M", "12X", "1GB", "-1G", "0", "1..5G", ".5G"] {
            assert!(parse_mem(bad).is_err(), "{bad}");
        }
    }
}
