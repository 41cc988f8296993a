//! The command line: the commands and their options.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::ensure;
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

use crate::build::{Flavor, Hooks};
use crate::commands::{AppChoice, BootOptions, Spelling};
use crate::emulator::Emulator;
use crate::emulator::accel::AccelChoice;
use crate::emulator::qemu::Firmware;
use crate::new_app::GitPin;

/// Build, run and test the library OS: a kernel (ring 0) and an app (ring 3)
/// in one multiboot image, booted under QEMU (or Bochs, for PCID).
#[derive(Debug, Parser)]
#[command(name = "cargo xtask", bin_name = "cargo xtask", version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// The examples at the end of `cargo xtask --help`.
const XTASK_EXAMPLES: &str = "Examples:
  cargo xtask run hello
  cargo xtask run hello --kpti off -- loglevel=debug -- arg1 arg2
  cargo xtask run hello --emulator bochs --smp 2
  cargo xtask run --elf /bin/busybox --env HOME=/ -- -- echo hello
  cargo xtask run myapp --files ./site --disk data.img,size=128M -- fs.ram=32M
  cargo xtask test mm::
  cargo xtask test --emulator bochs --no-host
  cargo xtask bench --quick
  cargo xtask image hello -o hello.bin
  cargo xtask new myapp --path ../myapp
  cargo xtask run --app-path ../myapp";

/// The examples at the end of `cargo libos --help`.
const LIBOS_EXAMPLES: &str = "Examples:
  cargo libos new myapp && cd myapp
  cargo libos run
  cargo libos run --smp 4 -- -- arg1 arg2
  cargo libos test
  cargo libos image -o myapp.bin";

impl Cli {
    /// Parses the command line of the binary: `cargo libos ARGS` runs it
    /// as `cargo-libos libos ARGS`; `cargo xtask ARGS` (the alias) as
    /// `cargo-libos ARGS`. Exits with clap's message on a bad command line.
    pub fn parse_args(args: Vec<OsString>) -> (Spelling, Cli) {
        let (spelling, args) = spelling_of(args);
        let name = spelling.command();
        let examples = match spelling {
            Spelling::Xtask => XTASK_EXAMPLES,
            Spelling::CargoLibos => LIBOS_EXAMPLES,
        };
        let matches = Cli::command().name(name).bin_name(name).after_help(examples).get_matches_from(args);
        let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
        (spelling, cli)
    }
}

/// How the binary was invoked, and its arguments without cargo's
/// subcommand word.
pub fn spelling_of(mut args: Vec<OsString>) -> (Spelling, Vec<OsString>) {
    if args.get(1).is_some_and(|a| a == "libos") {
        args.remove(1);
        (Spelling::CargoLibos, args)
    } else {
        (Spelling::Xtask, args)
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build the kernel and an app, write the image, print its path and sizes.
    ///
    /// The image goes to `target/images/<app>[-tests|-testing][-release].bin`
    /// (for an app outside the framework, to `<its target dir>/libos/images/`).
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
        boot: BootArgs,
        /// Start QEMU halted, waiting for gdb on port 1234 (-s -S), with no
        /// timeout; prints the gdb command line to attach with symbols.
        #[arg(long)]
        gdb: bool,
        #[command(flatten)]
        files: FilesArgs,
        /// Type FILE's bytes on the console for the app's standard input,
        /// then end of file: read(0) returns them, then 0, as from a Linux
        /// terminal in canonical mode (a carriage return reads as a newline;
        /// Ctrl-D ends a read). QEMU only.
        #[arg(long, value_name = "FILE")]
        stdin: Option<PathBuf>,
    },
    /// Run the whole test suite (host unit tests and boot-time suites).
    ///
    /// Host unit tests (cargo test), then the boot-time suites of
    /// xtask/src/testing/plan.rs under their configurations: boot checks,
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
        /// Test only this app, by its directory (an app crate anywhere on
        /// disk): its `#[libos::test]` functions, in one boot with the options
        /// given. `cargo libos test` in an app's directory does the same.
        #[arg(long, value_name = "DIR")]
        app_path: Option<PathBuf>,
        /// Test a prebuilt static Linux program (see `run --elf`) that
        /// registers its tests and reports them through the kernel's test
        /// runner (the `libos_test_register` hook), in one boot.
        #[arg(long, value_name = "PATH", conflicts_with = "app_path")]
        elf: Option<PathBuf>,
        /// Build with the release profile.
        #[arg(long)]
        release: bool,
        #[command(flatten)]
        boot: BootArgs,
        /// Also show cargo test's output and every boot's full serial output.
        #[arg(long, short)]
        verbose: bool,
        /// Boots to run at once [default: the number of host CPUs].
        #[arg(long, short, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
        jobs: Option<u64>,
        /// Skip the host unit tests.
        #[arg(long)]
        no_host: bool,
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
    /// Linux beside us, in the same run: Debian's cloud kernel (fetched with
    /// apt-get download into target/linux, never installed; cached) boots on
    /// the same QEMU machine with a one-file initramfs whose /init runs the
    /// same loops (apps/bench/linux); each figure it measures gets a Linux
    /// column and the ratio.
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
        /// Leave out the Linux guest (--quick leaves it out too).
        #[arg(long)]
        no_linux: bool,
        /// Write the JSON here instead of `target/bench/<UTC time>.json`.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Where the instructions of one syscall round trip go (entry, save,
        /// dispatch, handler, exit, return): a QEMU `-d exec,nochain
        /// -singlestep` trace of a few round trips, mapped to the kernel's
        /// symbols, KPTI on and off.
        #[arg(long)]
        breakdown: bool,
        /// Run only these parts (comma-separated): syscalls (QEMU -icount),
        /// bochs, tcg (timed syscalls), linux, boot, memory, scaling,
        /// breakdown (implies --breakdown), files (the file workload; the Linux guest's with linux),
        /// http (HTTP requests and bulk TCP; the Linux guest's with linux),
        /// start (a Rust std hello's start-up and clock_gettime; the Linux
        /// guest's with linux).
        #[arg(long, value_name = "PARTS", value_delimiter = ',', value_parser = crate::bench::Part::parse)]
        only: Vec<crate::bench::Part>,
        /// The guests' network in the HTTP part: `user` (QEMU's user network,
        /// a forwarded port) or `tap` (a tap device in a network namespace
        /// the xtask creates; root only) [default: user].
        #[arg(long, value_enum)]
        net: Option<NetMode>,
    },
    /// Write a new app crate: Cargo.toml, src/main.rs, README.md.
    ///
    /// The app depends on libos (of this framework by default, by path; or
    /// by git with --git and --rev or --tag) and has a `#[libos::main]` and
    /// one `#[libos::test]`. In the framework's repository an app is
    /// apps/NAME, which the workspace picks up; anywhere else (--path) it is
    /// a crate of its own that needs nothing but its Cargo.toml.
    New {
        /// The app's name.
        name: String,
        /// The app's directory [default: apps/NAME of the framework with
        /// `cargo xtask`, ./NAME with `cargo libos`].
        #[arg(long, value_name = "DIR")]
        path: Option<PathBuf>,
        #[command(flatten)]
        libos: LibosSourceArgs,
    },
    /// Run the checks CI runs before the tests: fmt, clippy and rustdoc.
    ///
    /// cargo fmt --check; clippy -D warnings for the host crates, the
    /// bare-metal crates and every app, libos without its test hooks, the
    /// kernel with boot tests, the benchmark's kernel and the benchmark's
    /// empty kernel; cargo doc with RUSTDOCFLAGS=-D warnings.
    Lint,
}

/// The app's files: a root file system and a disk.
#[derive(Debug, Args)]
pub struct FilesArgs {
    /// Pack DIR (files, folders, symbolic links, modes) into a cpio newc
    /// archive that the kernel mounts at / (a RAM file system, writable,
    /// copy-on-write over the archive; `-- fs.ram=SIZE` limits it and
    /// /tmp). Passed as a multiboot module (QEMU -initrd; a GRUB `module`
    /// line under Bochs).
    #[arg(long, value_name = "DIR")]
    pub files: Option<PathBuf>,
    /// Attach FILE as a virtio-blk disk with an ext2 file system, mounted at
    /// `fs.disk=PATH` (default /data). A missing FILE is created at SIZE
    /// (default 64M) and formatted with mkfs.ext2; an existing one is used
    /// as it is. QEMU only (Bochs has no virtio).
    #[arg(long, value_name = "FILE[,size=SIZE]", value_parser = crate::build::disk::parse)]
    pub disk: Option<crate::build::disk::DiskSpec>,
}

/// Which image: an app (or the kernel alone) and how to build it.
#[derive(Debug, Args)]
pub struct TargetArgs {
    /// The app: one of the framework's apps, by name (a directory under
    /// apps/) [default: the app of the current directory].
    #[arg(conflicts_with = "app_path")]
    pub app: Option<String>,
    /// The app by its directory: an app crate anywhere on disk. The kernel
    /// is built from the libos source that the app depends on.
    #[arg(long, value_name = "DIR")]
    pub app_path: Option<PathBuf>,
    /// The kernel alone, without an app.
    #[arg(long, hide = true, conflicts_with_all = ["app", "app_path"])]
    pub no_app: bool,
    /// A prebuilt static Linux x86-64 executable as the app, unmodified (a
    /// musl or glibc static program, or a static PIE); `argv[0]` is its file
    /// name. See README "Running Linux programs".
    #[arg(long, value_name = "PATH", conflicts_with_all = ["app", "app_path", "no_app"])]
    pub elf: Option<PathBuf>,
    /// Build with the release profile.
    #[arg(long)]
    pub release: bool,
    /// Build the kernel with its boot-time tests (feature boot-tests); run
    /// them with the command line word `test`.
    #[arg(long)]
    pub boot_tests: bool,
    /// Build the test flavour: the kernel and the app with the test hooks
    /// (features `testing` and `libos/testing`); an app's tests then run
    /// with the command line word `test`.
    #[arg(long)]
    pub testing: bool,
}

impl TargetArgs {
    /// Which app.
    pub fn choice(&self) -> AppChoice {
        if let Some(elf) = &self.elf {
            return AppChoice::Elf(elf.clone());
        }
        match (&self.app, &self.app_path) {
            _ if self.no_app => AppChoice::KernelOnly,
            (Some(name), _) => AppChoice::Named(name.clone()),
            (None, Some(dir)) => AppChoice::Path(dir.clone()),
            (None, None) => AppChoice::Current,
        }
    }

    /// Profile and kernel flavour.
    pub fn flavor(&self) -> Flavor {
        Flavor {
            boot_tests: self.boot_tests,
            hooks: if self.testing { Hooks::Testing } else { Hooks::None },
            ..Flavor::plain(self.release)
        }
    }
}

/// Where a new app's `libos` comes from.
#[derive(Debug, Args)]
pub struct LibosSourceArgs {
    /// Depend on the framework at DIR (its checkout, or its libos/
    /// directory) [default: the framework of this tool: with `cargo xtask`
    /// its checkout; with `cargo libos` the checkout around the current
    /// directory, else the one it was installed from].
    #[arg(long, value_name = "DIR", conflicts_with = "git")]
    pub libos_path: Option<PathBuf>,
    /// Depend on the framework's git repository at URL.
    #[arg(long, value_name = "URL")]
    pub git: Option<String>,
    /// With --git: pin this commit.
    #[arg(long, requires = "git", conflicts_with_all = ["tag", "branch"])]
    pub rev: Option<String>,
    /// With --git: pin this tag.
    #[arg(long, requires = "git", conflicts_with = "branch")]
    pub tag: Option<String>,
    /// With --git: follow this branch.
    #[arg(long, requires = "git")]
    pub branch: Option<String>,
}

impl LibosSourceArgs {
    /// The git pin given, if any.
    pub fn pin(&self) -> Option<GitPin> {
        self.rev
            .clone()
            .map(GitPin::Rev)
            .or_else(|| self.tag.clone().map(GitPin::Tag))
            .or_else(|| self.branch.clone().map(GitPin::Branch))
    }
}

/// The virtual machine.
#[derive(Debug, Args)]
pub struct MachineArgs {
    /// Number of CPUs.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=255))]
    pub smp: u32,
    /// Memory size, in QEMU's syntax (64M, 1G, 512 = MiB; whole MiB under Bochs).
    #[arg(long, value_name = "SIZE", default_value = "128M", value_parser = parse_mem)]
    pub mem: String,
    /// QEMU's firmware [default: qboot if /usr/share/qemu/qboot.rom exists, else seabios].
    #[arg(long, value_enum)]
    pub firmware: Option<Firmware>,
}

impl MachineArgs {
    /// `--firmware`, or the host's default.
    pub fn firmware(&self) -> Firmware {
        self.firmware.unwrap_or_else(Firmware::host_default)
    }

    /// The machine with this command line.
    pub fn boot_options(&self, cmdline: &CmdlineArgs) -> BootOptions {
        BootOptions { smp: self.smp, mem: self.mem.clone(), firmware: self.firmware(), cmdline: cmdline.line() }
    }
}

/// How the images boot: the machine, the emulator and the kernel command
/// line. `run` and `test` both take these.
#[derive(Debug, Args)]
pub struct BootArgs {
    #[command(flatten)]
    pub machine: MachineArgs,
    /// The emulator.
    #[arg(long, value_enum, default_value_t = Emulator::Qemu)]
    pub emulator: Emulator,
    /// Bochs's CPU model (`bochs --help cpu` lists them; corei7_skylake_x has
    /// PCID and INVPCID, corei7_sandy_bridge_2600k PCID without INVPCID);
    /// `test` runs every Bochs configuration with it instead of the table's
    /// models [default: corei7_skylake_x].
    #[arg(long, value_name = "MODEL")]
    pub bochs_cpu: Option<String>,
    /// QEMU's accelerator (auto: KVM only where a cached probe shows it
    /// runs our guest) [default: tcg].
    #[arg(long, value_enum)]
    pub accel: Option<AccelChoice>,
    /// Kill the emulator after this many seconds (`run` then exits with
    /// status 124); for `test`, of each boot (some boots set their own)
    /// [default under QEMU: 60 for run, 120 for test; under Bochs: 300].
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout: Option<u64>,
    /// The guest's network card (QEMU): `user` attaches a virtio-net card on
    /// QEMU's user-mode network (NAT; the host is 10.0.2.2; DHCP gives the
    /// guest 10.0.2.15), `tap` one on a tap device in a network namespace
    /// the xtask creates and deletes (root only; the guest is 10.0.3.2, the
    /// host 10.0.3.1, reachable with `ip netns exec NAME ...`), `none` no
    /// card [default: user with --forward, else none].
    #[arg(long, value_enum)]
    pub net: Option<NetMode>,
    /// Forward 127.0.0.1:HOSTPORT on the host to the guest's GUESTPORT, TCP
    /// and UDP (repeatable; implies --net user).
    #[arg(long, value_name = "HOSTPORT:GUESTPORT")]
    pub forward: Vec<crate::emulator::network::Forward>,
    #[command(flatten)]
    pub cmdline: CmdlineArgs,
}

/// `--net`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum NetMode {
    /// QEMU's user-mode network.
    User,
    /// A tap device in a network namespace of the xtask's (root only).
    Tap,
    /// No network card.
    None,
}

impl BootArgs {
    /// `--net tap`.
    pub fn tap(&self) -> bool {
        self.net == Some(NetMode::Tap)
    }

    /// Checks that the options given fit the emulator: QEMU's options are
    /// refused under Bochs and the other way round. `gdb`: whether `--gdb`
    /// (a QEMU option of `run`) was given.
    pub fn check(&self, gdb: bool) -> anyhow::Result<()> {
        check_emulator_options(self.emulator, self.bochs_cpu.as_deref(), self.accel, self.machine.firmware, gdb)
    }

    /// The machine and the whole command line, as `run` and `image` use them.
    pub fn boot_options(&self) -> BootOptions {
        self.machine.boot_options(&self.cmdline)
    }

    /// `--accel`, or its default.
    pub fn accel(&self) -> AccelChoice {
        self.accel.unwrap_or(AccelChoice::Tcg)
    }

    /// `--timeout`.
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout.map(Duration::from_secs)
    }

    /// `--net` and `--forward`: the network, if the guest gets one.
    pub fn network(&self) -> anyhow::Result<Option<crate::emulator::network::Network>> {
        let forwards = self.forward.clone();
        match self.net {
            Some(NetMode::None) => {
                ensure!(forwards.is_empty(), "--forward needs a network (--net user)");
                Ok(None)
            }
            Some(NetMode::User) => Ok(Some(crate::emulator::network::Network { forwards })),
            Some(NetMode::Tap) => {
                ensure!(
                    forwards.is_empty(),
                    "--forward needs --net user: with --net tap the host reaches the guest at 10.0.3.2, inside \
                     the network namespace the run prints"
                );
                Ok(None)
            }
            None if !forwards.is_empty() => Ok(Some(crate::emulator::network::Network { forwards })),
            None => Ok(None),
        }
    }
}

/// Checks that the options given fit the emulator: QEMU's options are
/// refused under Bochs and the other way round.
pub fn check_emulator_options(
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
pub enum OnOff {
    On,
    Off,
}

impl OnOff {
    pub fn word(self) -> &'static str {
        match self {
            OnOff::On => "on",
            OnOff::Off => "off",
        }
    }
}

/// The kernel command line.
#[derive(Debug, Args)]
pub struct CmdlineArgs {
    /// Kernel page-table isolation (adds kpti=on|off to the kernel command line).
    #[arg(long, value_enum, value_name = "on|off", hide_possible_values = true)]
    pub kpti: Option<OnOff>,
    /// Use of PCIDs (adds pcid=on|off to the kernel command line).
    #[arg(long, value_enum, value_name = "on|off", hide_possible_values = true)]
    pub pcid: Option<OnOff>,
    /// Trace every system call (adds trace=syscalls).
    #[arg(long)]
    pub trace_syscalls: bool,
    /// A variable of the app's environment (adds env=KEY=VALUE; repeatable;
    /// no spaces: the command line is split at them).
    #[arg(long, value_name = "KEY=VALUE", value_parser = parse_env)]
    pub env: Vec<String>,
    /// Words appended to the kernel command line; the kernel gives the
    /// words after a literal `--` among them to the app as argv[1..] (a
    /// word with spaces, or an empty one, travels in double quotes).
    #[arg(last = true, value_name = "EXTRA", value_parser = parse_extra_word)]
    pub extra: Vec<String>,
}

impl CmdlineArgs {
    /// The words the options stand for, without the extra words.
    pub fn option_words(&self) -> Vec<String> {
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
        words.extend(self.env.iter().map(|v| format!("env={v}")));
        words
    }

    /// The whole command line. A word with a space in it, or an empty one,
    /// goes in double quotes, which the kernel's word splitter removes
    /// (`BootOptions::app_arg_words`, as Linux's `next_arg`).
    pub fn line(&self) -> String {
        let mut words = self.option_words();
        words.extend(self.extra.iter().map(|w| quote_word(w)));
        words.join(" ")
    }
}

/// Whether a command line word must travel in double quotes.
fn needs_quotes(word: &str) -> bool {
    word.is_empty() || word.contains(' ') || word.starts_with('"')
}

/// `word` as the kernel's splitter will give it back.
pub fn quote_word(word: &str) -> String {
    if needs_quotes(word) { format!("\"{word}\"") } else { word.to_string() }
}

/// Accepts an extra word the kernel command line can carry: one that needs
/// quotes cannot hold a double quote (the kernel's quoting has no escape).
pub fn parse_extra_word(text: &str) -> Result<String, String> {
    if needs_quotes(text) && text.contains('"') {
        return Err(format!(
            "`{text}` has a space and a double quote: the kernel command line cannot carry both in one \
             argument; put the text in a file (--files DIR) and name the file instead"
        ));
    }
    Ok(text.to_string())
}

/// Accepts `KEY=VALUE` with a non-empty key and no whitespace (the kernel
/// command line is split at spaces).
pub fn parse_env(text: &str) -> Result<String, String> {
    match text.split_once('=') {
        Some((key, _)) if !key.is_empty() && !text.contains(char::is_whitespace) => Ok(text.to_string()),
        _ => Err(format!("`{text}` is not KEY=VALUE without spaces")),
    }
}

/// Accepts QEMU's `-m` sizes: a number, optionally with a unit suffix
/// (B, K, M, G, T; any case); no suffix means MiB.
pub fn parse_mem(text: &str) -> Result<String, String> {
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

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;
    use crate::emulator::bochs;

    #[test]
    fn the_cli_is_consistent() {
        Cli::command().debug_assert();
    }

    fn parse(args: &[&str]) -> Cli {
        Cli::try_parse_from(std::iter::once("cargo xtask").chain(args.iter().copied())).unwrap()
    }

    #[test]
    fn words_with_spaces_travel_in_double_quotes() {
        let Command::Run { boot, .. } = parse(&["run", "hello", "--", "--", "sh", "-c", "ls | wc -l", ""]).command
        else {
            panic!("not run")
        };
        assert_eq!(boot.boot_options().cmdline, "-- sh -c \"ls | wc -l\" \"\"");
        assert!(parse_extra_word("say \"hi\"").is_err());
        assert!(parse_extra_word("\"").is_err());
        assert_eq!(parse_extra_word("a\"b").as_deref(), Ok("a\"b"));
    }

    #[test]
    fn extra_words_keep_every_double_dash() {
        let Command::Run { boot, target, .. } =
            parse(&["run", "hello", "--kpti", "off", "--", "kpti=off", "--", "a", "b"]).command
        else {
            panic!("not run");
        };
        assert_eq!(target.app.as_deref(), Some("hello"));
        assert_eq!(boot.cmdline.extra, ["kpti=off", "--", "a", "b"]);
        assert_eq!(boot.boot_options().cmdline, "kpti=off kpti=off -- a b");
    }

    #[test]
    pub fn option_words() {
        let Command::Test { boot, filter, jobs, .. } =
            parse(&["test", "mm::", "--pcid", "off", "--trace-syscalls", "-j", "1"]).command
        else {
            panic!("not test");
        };
        assert_eq!(filter.as_deref(), Some("mm::"));
        assert_eq!(jobs, Some(1));
        assert_eq!(boot.cmdline.option_words(), ["pcid=off", "trace=syscalls"]);
    }

    #[test]
    fn an_app_by_name_by_path_here_or_no_app() {
        let choice = |args: &[&str]| {
            let Command::Run { target, .. } = parse(args).command else { panic!("not run") };
            target.choice()
        };
        assert_eq!(choice(&["run", "hello"]), AppChoice::Named("hello".into()));
        assert_eq!(choice(&["run", "--app-path", "../x"]), AppChoice::Path("../x".into()));
        assert_eq!(choice(&["run"]), AppChoice::Current);
        assert_eq!(choice(&["run", "--no-app"]), AppChoice::KernelOnly);
        assert_eq!(choice(&["run", "--elf", "/bin/busybox"]), AppChoice::Elf("/bin/busybox".into()));
        assert!(Cli::try_parse_from(["cargo xtask", "run", "hello", "--no-app"]).is_err());
        assert!(Cli::try_parse_from(["cargo xtask", "run", "hello", "--app-path", "x"]).is_err());
        assert!(Cli::try_parse_from(["cargo xtask", "image", "--app-path", "x", "-o", "x.bin"]).is_ok());
        let Command::Test { app_path, .. } = parse(&["test", "--app-path", "/a"]).command else { panic!() };
        assert_eq!(app_path.as_deref(), Some(std::path::Path::new("/a")));
    }

    #[test]
    fn testing_builds_the_test_flavour() {
        let flavor = |args: &[&str]| {
            let Command::Run { target, .. } = parse(args).command else { panic!("not run") };
            target.flavor()
        };
        assert_eq!(flavor(&["run", "hello"]), Flavor::plain(false));
        assert_eq!(flavor(&["run", "hello", "--testing", "--release"]), Flavor::testing(true));
        assert_eq!(flavor(&["run", "--app-path", "../x", "--testing"]).hooks, Hooks::Testing);
    }

    #[test]
    fn both_spellings() {
        let args = |words: &[&str]| words.iter().map(OsString::from).collect::<Vec<_>>();
        let (spelling, rest) = spelling_of(args(&["/bin/cargo-libos", "libos", "run"]));
        assert_eq!((spelling, rest), (Spelling::CargoLibos, args(&["/bin/cargo-libos", "run"])));
        let (spelling, rest) = spelling_of(args(&["target/debug/cargo-libos", "run", "libos"]));
        assert_eq!((spelling, rest), (Spelling::Xtask, args(&["target/debug/cargo-libos", "run", "libos"])));
        let (_, cli) = Cli::parse_args(args(&["cargo-libos", "libos", "new", "x", "--git", "u", "--tag", "v1"]));
        let Command::New { name, libos, .. } = cli.command else { panic!("not new") };
        assert_eq!((name.as_str(), libos.pin()), ("x", Some(GitPin::Tag("v1".into()))));
        assert!(Cli::try_parse_from(["x", "new", "a", "--rev", "r"]).is_err(), "--rev needs --git");
        assert!(Cli::try_parse_from(["x", "new", "a", "--git", "u", "--libos-path", "p"]).is_err());
    }

    #[test]
    fn run_and_test_share_the_boot_options() {
        let cli = Cli::command();
        let ids = |name: &str| -> Vec<String> {
            let cmd = cli.find_subcommand(name).unwrap();
            cmd.get_arguments().map(|a| a.get_id().to_string()).collect()
        };
        let (run, test) = (ids("run"), ids("test"));
        let boot = BootArgs::augment_args(clap::Command::new("boot"));
        let boot = boot.get_arguments().map(|a| a.get_id().to_string()).collect::<Vec<_>>();
        assert!(boot.len() >= 10, "{boot:?}");
        for id in &boot {
            assert!(run.contains(id) && test.contains(id), "{id} missing from run or test");
        }
        let Command::Run { boot: r, .. } = parse(&["run", "hello", "--smp", "2", "--pcid", "off", "--", "x"]).command
        else {
            panic!("not run");
        };
        let Command::Test { boot: t, .. } = parse(&["test", "--smp", "2", "--pcid", "off", "--", "x"]).command else {
            panic!("not test");
        };
        assert_eq!(r.boot_options(), t.boot_options());
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
        let Command::Run { boot, .. } =
            parse(&["run", "hello", "--emulator", "bochs", "--bochs-cpu", "corei7_sandy_bridge_2600k"]).command
        else {
            panic!("not run");
        };
        assert_eq!(boot.emulator, Emulator::Bochs);
        assert_eq!(boot.bochs_cpu.as_deref(), Some("corei7_sandy_bridge_2600k"));
        assert_eq!((boot.timeout, boot.accel), (None, None));
        boot.check(false).unwrap();
        let err = boot.check(true).unwrap_err().to_string();
        assert!(err.starts_with("--gdb"), "{err}");
        let Command::Test { boot, .. } = parse(&["test", "--timeout", "30"]).command else {
            panic!("not test");
        };
        assert_eq!((boot.emulator, boot.timeout()), (Emulator::Qemu, Some(Duration::from_secs(30))));
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
