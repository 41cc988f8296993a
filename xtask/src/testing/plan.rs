//! The boot-time test suites: one table, [`SUITES`].
//!
//! A suite boots an image (the kernel alone, one app, or the kernel with
//! each app that has boot-time tests) once per [`BootSpec`] and per
//! [`Config`], with a kernel command line and an expectation ([`Expect`]).
//! A configuration names its emulator ([`Vm`]: QEMU, or Bochs with a CPU
//! model), so `cargo xtask test --emulator E` runs the configurations of E
//! only; a suite without one for E does not run under E. Adding a suite is
//! adding an entry here, adding a configuration one line; [`expand`] turns
//! the table into the list of boots for an emulator, a filter and a set of
//! apps.

use std::time::Duration;

use libos_abi::run::RunExit;

use crate::build::linux_programs;
use crate::emulator::Emulator;
use crate::emulator::bochs;
use crate::emulator::qemu::Firmware;

/// Which kernel an image is built with (and, for an app, which flavour of
/// the app: with `libos/testing` but for production kernels).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum KernelKind {
    /// The production kernel (no feature: the ABI only).
    Production,
    /// The kernel with the test hooks (`--features testing`).
    Testing,
    /// The kernel built with `--features boot-tests` (the test hooks and
    /// the kernel's own tests).
    BootTests,
}

/// What a suite boots.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// The kernel alone (no app payload).
    Kernel(KernelKind),
    /// Every app whose ELF has a non-empty `.libos_tests` section and that
    /// no [`Target::App`] suite names, each with this kernel: one suite per
    /// app, named after the app.
    AppsWithTests(KernelKind),
    /// This app, if it exists and has boot-time tests, with this kernel;
    /// the results are named after the app.
    App(&'static str, KernelKind),
    /// This app, tests or not, with this kernel (a production kernel gets
    /// the app's production build): for boots that check how a run ends.
    AppRun(&'static str, KernelKind),
    /// This unmodified static Linux program (one of
    /// `build::linux_programs::ALL`) as the app, with this kernel.
    Linux(&'static str, KernelKind),
}

/// The emulator a configuration runs under.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Vm {
    /// QEMU, with the accelerator's default CPU (or the boot's `cpu`).
    Qemu,
    /// Bochs with this CPU model (`bochs --help cpu` lists them).
    Bochs(&'static str),
}

impl Vm {
    /// The emulator.
    pub fn emulator(self) -> Emulator {
        match self {
            Vm::Qemu => Emulator::Qemu,
            Vm::Bochs(_) => Emulator::Bochs,
        }
    }
}

/// A configuration a suite is repeated under. Its label, after every
/// reported test name as ` [label]`, is derived from it: the Bochs CPU
/// model, the command line words, `smp=N`, `firmware=F` (the default QEMU
/// configuration has none).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// The emulator (and Bochs's CPU model).
    pub vm: Vm,
    /// Extra kernel command line words.
    pub cmdline: &'static [&'static str],
    /// A CPU count instead of `--smp`.
    pub smp: Option<u32>,
    /// A QEMU firmware instead of `--firmware` (SMP may need SeaBIOS's ACPI
    /// tables).
    pub firmware: Option<Firmware>,
}

/// The default configuration: QEMU, nothing changed.
pub const DEFAULT: Config = Config { vm: Vm::Qemu, cmdline: &[], smp: None, firmware: None };

impl Config {
    /// Bochs with this CPU model, nothing else changed.
    pub const fn bochs(cpu: &'static str) -> Config {
        Config { vm: Vm::Bochs(cpu), ..DEFAULT }
    }

    /// The same with these kernel command line words.
    pub const fn with(self, cmdline: &'static [&'static str]) -> Config {
        Config { cmdline, ..self }
    }

    /// The same with this many CPUs.
    pub const fn cpus(self, smp: u32) -> Config {
        Config { smp: Some(smp), ..self }
    }

    /// The label (see [`Config`]); `bochs_cpu` replaces the Bochs model.
    pub fn label(&self, bochs_cpu: Option<&str>) -> String {
        let mut parts: Vec<String> = Vec::new();
        if let Vm::Bochs(cpu) = self.vm {
            parts.push(bochs_cpu.unwrap_or(cpu).to_string());
        }
        parts.extend(self.cmdline.iter().map(|w| w.to_string()));
        if let Some(smp) = self.smp {
            parts.push(format!("smp={smp}"));
        }
        if let Some(firmware) = self.firmware {
            parts.push(format!("firmware={}", firmware.name()));
        }
        parts.join(", ")
    }
}

/// Bochs with the default CPU model: PCID, INVPCID, SMEP, SMAP, FSGSBASE.
const SKYLAKE_X: Config = Config::bochs(bochs::DEFAULT_CPU);
/// Bochs with PCID but no INVPCID (the kernel's deferred-flush path).
const SANDY_BRIDGE: Config = Config::bochs(bochs::SANDY_BRIDGE_CPU);

/// The kernel's boot-time tests run under these.
const KERNEL_CONFIGS: &[Config] =
    &[DEFAULT, DEFAULT.with(&["kpti=off"]), DEFAULT.cpus(4), SKYLAKE_X, SKYLAKE_X.cpus(2)];

/// Every app's boot-time tests run under these. QEMU's TCG has no PCID, so
/// `pcid=off` under QEMU takes the same paths as the default; Bochs's
/// models have it, and with several CPUs the TLB shootdowns take the PCID
/// paths too (INVPCID on Skylake-X, the deferred user flush on Sandy
/// Bridge). Bochs is slow (the app suites under Bochs were most of CI's
/// time), so it runs a sample: one CPU with PCID, and the two multi-CPU
/// flush paths; `pcid=off` under Bochs takes QEMU's paths, and Sandy
/// Bridge's single-CPU paths are Skylake-X's without INVPCID, which the
/// kernel's own tests cover (`KERNEL_CONFIGS`).
const APP_CONFIGS: &[Config] = &[
    DEFAULT,
    DEFAULT.with(&["kpti=off"]),
    DEFAULT.with(&["pcid=off"]),
    DEFAULT.cpus(4),
    SKYLAKE_X,
    SKYLAKE_X.cpus(4),
    SANDY_BRIDGE.cpus(2),
];

/// The app whose tests need several CPUs.
pub const SMP_TESTS_APP: &str = "smp-tests";

/// The app that calls the hook numbers with every operation and checks
/// they answer -ENOSYS (exit 0) or not (exit 1).
pub const NO_HOOKS_APP: &str = "no-hooks";

/// The app of the FPU/SIMD tests, also run on CPUs the app suite's
/// configurations leave out.
pub const FPU_TESTS_APP: &str = "fpu-tests";

/// The FPU tests' extra configurations: two CPUs under QEMU (AVX,
/// XSAVEOPT); Bochs's Penryn (XSAVE without XSAVEOPT or AVX) and Phenom
/// (no XSAVE: the FXSAVE fallback). AVX-512 with XSAVES is
/// `corei7_skylake_x`, in the app suite's configurations.
const FPU_CONFIGS: &[Config] = &[DEFAULT.cpus(2), Config::bochs(bochs::PENRYN_CPU), Config::bochs(bochs::PHENOM_CPU)];

/// The app that prints forged verdict and test lines on its console, then
/// dies (issue 11, finding 10).
pub const FORGED_VERDICT_APP: &str = "forged-verdict";

/// Where [`FORGED_VERDICT_APP`] runs: QEMU (whose exit port the app cannot
/// forge, but whose app exit code and test results come from the run
/// record) and Bochs (where the record's exit line is the only verdict).
const VERDICT_CONFIGS: &[Config] = &[DEFAULT, SKYLAKE_X];

/// Its tests and whether each must pass: the one that forges passes and
/// then faults fails, and nothing else (no `forged::phantom`) is reported.
const FORGED_VERDICT_RESULTS: &[(&str, bool)] = &[
    ("forged_verdict::forges_a_pass_then_faults", false),
    ("forged_verdict::the_record_port_is_out_of_reach", true),
    ("forged_verdict::names_with_line_breaks_are_refused", true),
];

/// The network tests (`apps/net-tests`): their boots get a network card
/// with ports forwarded, and the host side of `host_side` plays the
/// client.
pub const NET_TESTS_APP: &str = "net-tests";

/// [`NET_TESTS_APP`] runs under these: one CPU and two, KPTI off.
const NET_CONFIGS: &[Config] = &[DEFAULT, DEFAULT.cpus(2).with(&["kpti=off"])];

/// The system-call fuzzer (`apps/fuzz`, its fixed default seed).
pub const FUZZ_APP: &str = "fuzz";

/// [`FUZZ_APP`] runs under these: one CPU, four, and four without KPTI.
const FUZZ_CONFIGS: &[Config] = &[DEFAULT.cpus(1), DEFAULT.cpus(4), DEFAULT.cpus(4).with(&["kpti=off"])];

/// The app of the file tests: booted with `--files` of its `files/`
/// folder and (under QEMU) a fresh ext2 disk (see the runner).
pub const FS_TESTS_APP: &str = "fs-tests";

/// The file tests' command line: a small RAM limit (so filling it is
/// quick) and the disk at /data.
const FS_WORDS: &[&str] = &["fs.ram=8M", "fs.disk=/data"];

/// Under Bochs: the tests whose names start with `the_` (the root from
/// the GRUB module, written over; the console; the disk test, which says
/// it is ignored: no virtio). All of them take longer than a Bochs boot's
/// timeout on a loaded machine.
const FS_WORDS_BOCHS: &[&str] = &["fs.ram=8M", "fs.disk=/data", "test.filter=::the_"];

/// [`FS_TESTS_APP`] runs under these: one CPU, four (threads racing on one
/// folder), and Bochs (a few tests, above).
const FS_APP_CONFIGS: &[Config] =
    &[DEFAULT.with(FS_WORDS), DEFAULT.with(FS_WORDS).cpus(4), SKYLAKE_X.with(FS_WORDS_BOCHS)];

/// The app of the readiness tests (poll, select, epoll, eventfd).
pub const POLL_TESTS_APP: &str = "poll-tests";

/// [`POLL_TESTS_APP`] runs under these: one CPU, and four (waiters woken
/// from other CPUs).
const POLL_APP_CONFIGS: &[Config] = &[DEFAULT.cpus(1), DEFAULT.cpus(4)];

/// [`SMP_TESTS_APP`] runs under these.
const SMP_APP_CONFIGS: &[Config] = &[DEFAULT.cpus(2), DEFAULT.cpus(4), SKYLAKE_X.cpus(2)];

/// Static Linux programs (issue 13) run under these: KPTI on and off, one
/// CPU and four.
const LINUX_CONFIGS: &[Config] =
    &[DEFAULT, DEFAULT.with(&["kpti=off"]), DEFAULT.cpus(4), DEFAULT.cpus(4).with(&["kpti=off"])];

/// The C tests run under [`LINUX_CONFIGS`] and once without a vDSO
/// (`vdso=off`; the environment tells the vDSO tests what to expect).
const C_TESTS_CONFIGS: &[Config] = &[
    DEFAULT,
    DEFAULT.with(&["kpti=off"]),
    DEFAULT.cpus(4),
    DEFAULT.cpus(4).with(&["kpti=off"]),
    DEFAULT.with(&["vdso=off", "env=C_TESTS_VDSO=off"]),
];

/// Static Linux programs with a host side run under these: one CPU, four.
const NET_LINUX_CONFIGS: &[Config] = &[DEFAULT, DEFAULT.cpus(4)];

/// BusyBox's boots check a command's output and exit status each: one
/// CPU with KPTI, four without.
const BUSYBOX_CONFIGS: &[Config] = &[DEFAULT, DEFAULT.cpus(4).with(&["kpti=off"])];

/// A BusyBox boot: the applet and its arguments after `--`, a text the
/// output must contain, how it must end.
const fn busybox(
    name: &'static str,
    cmdline: &'static [&'static str],
    output: Option<&'static str>,
    exit: RunExit,
) -> BootSpec {
    BootSpec {
        cmdline,
        cpu: None,
        timeout_secs: None,
        stdin: None,
        expect: Expect::Outcome { name, output_contains: output, exit },
    }
}

/// What [`BUSYBOX_SHA256_STDIN`] types on the console.
const SHA256_STDIN_TEXT: &str = "libos types this on the console\n";

/// The host's `sha256sum` of [`SHA256_STDIN_TEXT`], as it prints it.
const SHA256_STDIN_DIGEST: &str = "023395c9cb16a995f95894956c236141e8ba80be9313ec4e2d8dbbc21178f963  -";

/// BusyBox reads its standard input from the console until end of file:
/// `sha256sum` of [`SHA256_STDIN_TEXT`] must print the digest the host's
/// `sha256sum` gives for it (its test, `xtask::testing::plan::tests`,
/// recomputes it), and "-" for the file name.
const BUSYBOX_SHA256_STDIN: BootSpec = BootSpec {
    cmdline: &["--", "sha256sum"],
    cpu: None,
    timeout_secs: None,
    stdin: Some(SHA256_STDIN_TEXT),
    expect: Expect::Outcome {
        name: "busybox::sha256sum_of_stdin",
        output_contains: Some(SHA256_STDIN_DIGEST),
        exit: RunExit::Success,
    },
};

/// What must happen for a boot to pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// One named check: the output contains a text and the run ends so.
    Outcome {
        /// The reported test name.
        name: &'static str,
        /// A text the serial output must contain.
        output_contains: Option<&'static str>,
        /// How the run must end.
        exit: RunExit,
    },
    /// The boot-time test protocol (see `serial_protocol`): every test the
    /// guest reports counts, plus failures for crashes and timeouts.
    Protocol {
        /// Without a filter, a run that reports no test at all fails (the
        /// image has tests, so they were lost on the way).
        expect_tests: bool,
    },
    /// The program prints the same as on the host's Linux: it runs there
    /// too, and the outputs are compared section by section (see
    /// `same_as_linux`), one line `PREFIX::SECTION` each. The first app
    /// argument (after `--`) is its scratch folder, replaced by a fresh
    /// host folder on Linux; `env=K=V` words are its environment there.
    SameAsLinux {
        /// The prefix of the test names.
        prefix: &'static str,
    },
    /// A self-check of the test harness: the inner tests do not count, one
    /// line named `name` does.
    Harness {
        /// The reported test name.
        name: &'static str,
        /// What the inner run must look like.
        check: HarnessCheck,
    },
}

impl Expect {
    /// The fixed test name this boot reports, if it has one (filtering
    /// skips the boot when the name does not match).
    pub fn fixed_name(&self) -> Option<&'static str> {
        match self {
            Expect::Outcome { name, .. } | Expect::Harness { name, .. } => Some(name),
            Expect::SameAsLinux { prefix } => Some(prefix),
            Expect::Protocol { .. } => None,
        }
    }

    /// Whether `filter` leaves this boot out: a fixed name that does not
    /// contain it; the sections of a comparison are named after its prefix.
    pub fn filtered_out(&self, filter: &str) -> bool {
        match self {
            Expect::SameAsLinux { prefix } => !prefix.contains(filter) && !filter.starts_with(prefix),
            other => other.fixed_name().is_some_and(|name| !name.contains(filter)),
        }
    }
}

/// What a harness self-check expects of the inner run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HarnessCheck {
    /// Exactly these results (name, passed) in this order, the done line
    /// with these counts, and a run that ends with this exit.
    Results {
        /// The inner tests' names and whether each must pass.
        results: &'static [(&'static str, bool)],
        /// The done line's `(passed, failed)`.
        done: (u32, u32),
        /// How the run must end.
        exit: RunExit,
    },
    /// The run ends (with a failure exit) while this test runs, and the
    /// xtask reports the test as crashed.
    CrashAttributed {
        /// The test that crashes.
        test: &'static str,
    },
    /// The run times out while this test runs, and the xtask reports the
    /// test as timed out.
    TimeoutAttributed {
        /// The test that hangs.
        test: &'static str,
    },
}

/// One boot of a suite.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BootSpec {
    /// Kernel command line words.
    pub cmdline: &'static [&'static str],
    /// A QEMU `-cpu` model instead of the accelerator's default (suites with
    /// such boots have QEMU configurations only).
    pub cpu: Option<&'static str>,
    /// A timeout instead of `--timeout`.
    pub timeout_secs: Option<u64>,
    /// Text typed on the console (COM1) for the app's standard input,
    /// then end of file (see `emulator::console_input`); QEMU only.
    pub stdin: Option<&'static str>,
    /// What must happen.
    pub expect: Expect,
}

/// A boot-time test suite.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Suite {
    /// The suite's name (the name of its failures when a run breaks down).
    pub name: &'static str,
    /// What it boots.
    pub target: Target,
    /// The fewest CPUs it needs: configurations with fewer (their `smp`, or
    /// `--smp`) are left out.
    pub min_cpus: u32,
    /// The configurations it is repeated under.
    pub configs: &'static [Config],
    /// Its boots.
    pub boots: &'static [BootSpec],
}

/// The self-check tests of the `wrong` set and whether each must pass.
const SELF_CHECK_WRONG: &[(&str, bool)] = &[
    ("selfcheck::passes", true),
    ("selfcheck::assertion_fails", false),
    ("selfcheck::fault_never_comes", false),
    ("selfcheck::panic_never_comes", false),
];

/// The boot of the protocol suites: the word `test`, every test counts.
const PROTOCOL_BOOT: BootSpec = BootSpec {
    cmdline: &["test"],
    cpu: None,
    timeout_secs: None,
    stdin: None,
    expect: Expect::Protocol { expect_tests: true },
};

/// Every suite, in the order results are printed.
///
/// `boot-checks` and `harness` run under QEMU only: they use QEMU CPU
/// models (`qemu32`, `-nx`) and a timeout calibrated for QEMU.
pub const SUITES: &[Suite] = &[
    Suite {
        name: "boot-checks",
        target: Target::Kernel(KernelKind::Production),
        min_cpus: 1,
        configs: &[DEFAULT],
        boots: &[
            BootSpec {
                cmdline: &[],
                cpu: Some("qemu32"),
                timeout_secs: None,
                stdin: None,
                expect: Expect::Outcome {
                    name: "boot::rejects_cpu_without_long_mode",
                    output_contains: Some("has no 64-bit long mode"),
                    exit: RunExit::Failure,
                },
            },
            BootSpec {
                cmdline: &[],
                cpu: Some("qemu64,-nx"),
                timeout_secs: None,
                stdin: None,
                expect: Expect::Outcome {
                    name: "boot::rejects_cpu_without_nx",
                    output_contains: Some("has no execute-disable bit"),
                    exit: RunExit::Failure,
                },
            },
            BootSpec {
                cmdline: &[],
                cpu: None,
                timeout_secs: None,
                stdin: None,
                expect: Expect::Outcome {
                    name: "boot::plain_kernel_boots",
                    output_contains: None,
                    exit: RunExit::Success,
                },
            },
        ],
    },
    Suite {
        name: "kernel",
        target: Target::Kernel(KernelKind::BootTests),
        min_cpus: 1,
        configs: KERNEL_CONFIGS,
        boots: &[PROTOCOL_BOOT],
    },
    Suite {
        name: "harness",
        target: Target::Kernel(KernelKind::BootTests),
        min_cpus: 1,
        configs: &[DEFAULT],
        boots: &[
            BootSpec {
                cmdline: &["test", "test.self-check=wrong"],
                cpu: None,
                timeout_secs: None,
                stdin: None,
                expect: Expect::Harness {
                    name: "harness::reports_failing_tests",
                    check: HarnessCheck::Results { results: SELF_CHECK_WRONG, done: (1, 3), exit: RunExit::Failure },
                },
            },
            BootSpec {
                cmdline: &["test", "test.self-check=crash"],
                cpu: None,
                timeout_secs: None,
                stdin: None,
                expect: Expect::Harness {
                    name: "harness::attributes_crash_to_running_test",
                    check: HarnessCheck::CrashAttributed { test: "selfcheck::crashes" },
                },
            },
            BootSpec {
                cmdline: &["test", "test.self-check=hang"],
                cpu: None,
                timeout_secs: Some(10),
                stdin: None,
                expect: Expect::Harness {
                    name: "harness::attributes_timeout_to_running_test",
                    check: HarnessCheck::TimeoutAttributed { test: "selfcheck::hangs" },
                },
            },
        ],
    },
    Suite {
        name: "apps",
        target: Target::AppsWithTests(KernelKind::Testing),
        min_cpus: 1,
        configs: APP_CONFIGS,
        boots: &[PROTOCOL_BOOT],
    },
    Suite {
        name: SMP_TESTS_APP,
        target: Target::App(SMP_TESTS_APP, KernelKind::Testing),
        min_cpus: 2,
        configs: SMP_APP_CONFIGS,
        boots: &[PROTOCOL_BOOT],
    },
    Suite {
        name: NET_TESTS_APP,
        target: Target::App(NET_TESTS_APP, KernelKind::Testing),
        min_cpus: 1,
        configs: NET_CONFIGS,
        boots: &[BootSpec {
            cmdline: &["test"],
            cpu: None,
            timeout_secs: Some(300),
            stdin: None,
            expect: Expect::Protocol { expect_tests: true },
        }],
    },
    Suite {
        name: FPU_TESTS_APP,
        target: Target::App(FPU_TESTS_APP, KernelKind::Testing),
        min_cpus: 1,
        configs: FPU_CONFIGS,
        boots: &[PROTOCOL_BOOT],
    },
    // The verdict is the kernel's: an app that prints the exit line and
    // test lines itself, then dies, is judged by how it really ended.
    Suite {
        name: "verdict",
        target: Target::AppRun(FORGED_VERDICT_APP, KernelKind::Testing),
        min_cpus: 1,
        configs: VERDICT_CONFIGS,
        boots: &[
            BootSpec {
                cmdline: &["--", "segv"],
                cpu: None,
                timeout_secs: None,
                stdin: None,
                expect: Expect::Outcome {
                    name: "verdict::forged_success_then_sigsegv_is_sigsegv",
                    output_contains: Some("[libos] exit: success"),
                    exit: RunExit::AppKilled(11),
                },
            },
            BootSpec {
                cmdline: &["--", "exit3"],
                cpu: None,
                timeout_secs: None,
                stdin: None,
                expect: Expect::Outcome {
                    name: "verdict::forged_exit_code_then_exit_3_is_3",
                    output_contains: Some("[libos] exit: app-code 42"),
                    exit: RunExit::AppCode(3),
                },
            },
        ],
    },
    Suite {
        name: FORGED_VERDICT_APP,
        target: Target::App(FORGED_VERDICT_APP, KernelKind::Testing),
        min_cpus: 1,
        configs: VERDICT_CONFIGS,
        boots: &[BootSpec {
            cmdline: &["test"],
            cpu: None,
            timeout_secs: None,
            stdin: None,
            expect: Expect::Harness {
                name: "verdict::forged_test_lines_make_no_pass",
                check: HarnessCheck::Results { results: FORGED_VERDICT_RESULTS, done: (2, 1), exit: RunExit::Failure },
            },
        }],
    },
    // Random system calls with hostile arguments on a production image
    // (the ABI apps get), then checks that the kernel is alive and
    // consistent.
    Suite {
        name: "fuzz",
        target: Target::AppRun(FUZZ_APP, KernelKind::Production),
        min_cpus: 1,
        configs: FUZZ_CONFIGS,
        boots: &[BootSpec {
            cmdline: &[],
            cpu: None,
            timeout_secs: None,
            stdin: None,
            expect: Expect::Outcome {
                name: "fuzz::kernel_survives_hostile_syscalls",
                output_contains: Some("fuzz: the kernel survived and is consistent"),
                exit: RunExit::Success,
            },
        }],
    },
    Suite {
        name: FS_TESTS_APP,
        target: Target::App(FS_TESTS_APP, KernelKind::Testing),
        min_cpus: 1,
        configs: FS_APP_CONFIGS,
        boots: &[PROTOCOL_BOOT],
    },
    Suite {
        name: POLL_TESTS_APP,
        target: Target::App(POLL_TESTS_APP, KernelKind::Testing),
        min_cpus: 1,
        configs: POLL_APP_CONFIGS,
        boots: &[PROTOCOL_BOOT],
    },
    // A production image (the kernel and the app built without hooks): the
    // hook numbers answer -ENOSYS with every operation. `cargo xtask test`
    // also checks the production kernel's symbols (`hook_symbols`).
    Suite {
        name: "production",
        target: Target::AppRun(NO_HOOKS_APP, KernelKind::Production),
        min_cpus: 1,
        configs: &[DEFAULT],
        boots: &[
            BootSpec {
                cmdline: &[],
                cpu: None,
                timeout_secs: None,
                stdin: None,
                expect: Expect::Outcome {
                    name: "production::hook_numbers_answer_enosys",
                    output_contains: Some("no-hooks: every hook number answered -ENOSYS"),
                    exit: RunExit::Success,
                },
            },
            // `trace=syscalls` makes each CPU's syscall body the traced one
            // (chosen at boot, not tested per call): every call is printed.
            BootSpec {
                cmdline: &["trace=syscalls"],
                cpu: None,
                timeout_secs: None,
                stdin: None,
                expect: Expect::Outcome {
                    name: "production::trace_syscalls_prints_every_call",
                    output_contains: Some("] exit_group("),
                    exit: RunExit::Success,
                },
            },
        ],
    },
    // The same app on a test kernel must see the hooks: the check above
    // can fail.
    Suite {
        name: "production-check",
        target: Target::AppRun(NO_HOOKS_APP, KernelKind::Testing),
        min_cpus: 1,
        configs: &[DEFAULT],
        boots: &[BootSpec {
            cmdline: &[],
            cpu: None,
            timeout_secs: None,
            stdin: None,
            expect: Expect::Outcome {
                name: "production::the_check_sees_the_hooks_of_a_test_kernel",
                output_contains: Some("no-hooks: a hook answered"),
                exit: RunExit::AppCode(1),
            },
        }],
    },
    // Unmodified static Linux programs (issue 13), through the kernel's
    // test runner (`std` and C on musl) or by their output (BusyBox, a
    // static glibc program).
    Suite {
        name: linux_programs::STD_TESTS,
        target: Target::Linux(linux_programs::STD_TESTS, KernelKind::Testing),
        min_cpus: 1,
        configs: LINUX_CONFIGS,
        boots: &[BootSpec {
            cmdline: &["test", "env=STD_TESTS=1", "env=STD_TESTS_EMPTY="],
            cpu: None,
            timeout_secs: None,
            stdin: None,
            expect: Expect::Protocol { expect_tests: true },
        }],
    },
    // std::net with the host side as the peer (a network card with the
    // ports of `host_side::GUEST_PORTS` forwarded), on one CPU and four.
    Suite {
        name: linux_programs::NET_STD,
        target: Target::Linux(linux_programs::NET_STD, KernelKind::Testing),
        min_cpus: 1,
        configs: NET_LINUX_CONFIGS,
        boots: &[BootSpec {
            cmdline: &["test"],
            cpu: None,
            timeout_secs: Some(300),
            stdin: None,
            expect: Expect::Protocol { expect_tests: true },
        }],
    },
    // An async echo server on tokio's multi-threaded runtime (epoll): 32
    // host connections at once, judged by both sides.
    Suite {
        name: linux_programs::NET_TOKIO,
        target: Target::Linux(linux_programs::NET_TOKIO, KernelKind::Testing),
        min_cpus: 1,
        configs: NET_LINUX_CONFIGS,
        boots: &[BootSpec {
            cmdline: &[],
            cpu: None,
            timeout_secs: Some(300),
            stdin: None,
            expect: Expect::Outcome {
                name: "net_tokio::echo_serves_32_host_connections_at_once",
                output_contains: Some("net-tokio: echoed 32 connections"),
                exit: RunExit::Success,
            },
        }],
    },
    // What a program wrote just before it exited reaches the peer: the
    // machine powers off only after closed connections have delivered
    // their data (the host side's `collect` checks all 16 MiB, then EOF).
    Suite {
        name: "net-exit",
        target: Target::Linux(linux_programs::NET_STD, KernelKind::Testing),
        min_cpus: 1,
        configs: &[DEFAULT],
        boots: &[BootSpec {
            cmdline: &["--", "answer-and-exit"],
            cpu: None,
            timeout_secs: Some(120),
            stdin: None,
            expect: Expect::Outcome {
                name: "net_exit::data_written_before_exit_reaches_the_peer",
                output_contains: Some("net-std: sent 16777216 bytes; exiting"),
                exit: RunExit::Success,
            },
        }],
    },
    // SIGPIPE's default action ends the program (the kernel reports 128 +
    // 13): a write(2) to a connection the host reset, and to a pipe
    // without a reader.
    Suite {
        name: "sigpipe",
        target: Target::Linux(linux_programs::NET_STD, KernelKind::Testing),
        min_cpus: 1,
        configs: &[DEFAULT],
        boots: &[
            BootSpec {
                cmdline: &["--", "sigpipe-tcp"],
                cpu: None,
                timeout_secs: Some(120),
                stdin: None,
                expect: Expect::Outcome {
                    name: "sigpipe::a_write_to_a_reset_connection_kills",
                    output_contains: None,
                    exit: RunExit::AppKilled(13),
                },
            },
            BootSpec {
                cmdline: &["--", "sigpipe-pipe"],
                cpu: None,
                timeout_secs: None,
                stdin: None,
                expect: Expect::Outcome {
                    name: "sigpipe::a_write_to_a_pipe_without_reader_kills",
                    output_contains: None,
                    exit: RunExit::AppKilled(13),
                },
            },
        ],
    },
    Suite {
        name: linux_programs::C_TESTS,
        target: Target::Linux(linux_programs::C_TESTS, KernelKind::Testing),
        min_cpus: 1,
        configs: C_TESTS_CONFIGS,
        boots: &[PROTOCOL_BOOT],
    },
    // Ordinary C on musl, compared with the host's Linux (one boot: the
    // program runs every section once).
    Suite {
        name: linux_programs::C_SWEEP,
        target: Target::Linux(linux_programs::C_SWEEP, KernelKind::Production),
        min_cpus: 1,
        configs: &[DEFAULT],
        boots: &[BootSpec {
            cmdline: &["env=C_SWEEP_GIVEN=given", "--", "/tmp/c-sweep", "first", "second"],
            cpu: None,
            timeout_secs: None,
            stdin: None,
            expect: Expect::SameAsLinux { prefix: "c_sweep" },
        }],
    },
    // SQLite (a static Rust std program with the C amalgamation) in /tmp,
    // compared with the host's Linux section by section; its runs on the
    // disk across two boots are in `disk_persistence`.
    Suite {
        name: linux_programs::SQLITE_STD,
        target: Target::Linux(linux_programs::SQLITE_STD, KernelKind::Production),
        min_cpus: 1,
        configs: &[DEFAULT],
        boots: &[BootSpec {
            cmdline: &["--", "/tmp/sqlite", "all"],
            cpu: None,
            timeout_secs: Some(300),
            stdin: None,
            expect: Expect::SameAsLinux { prefix: "sqlite" },
        }],
    },
    Suite {
        name: linux_programs::BUSYBOX,
        target: Target::Linux(linux_programs::BUSYBOX, KernelKind::Production),
        min_cpus: 1,
        configs: BUSYBOX_CONFIGS,
        boots: &[
            busybox(
                "busybox::echo",
                &["--", "echo", "hello", "from", "busybox"],
                Some("hello from busybox"),
                RunExit::Success,
            ),
            busybox("busybox::true_exits_0", &["--", "true"], None, RunExit::Success),
            busybox("busybox::false_exits_1", &["--", "false"], None, RunExit::AppCode(1)),
            busybox("busybox::seq", &["--", "seq", "-s", ",", "1", "5"], Some("1,2,3,4,5"), RunExit::Success),
            busybox("busybox::sh_arithmetic", &["--", "sh", "-c", "echo$IFS$((6*7))"], Some("42"), RunExit::Success),
            // One argument with spaces, in double quotes on the kernel
            // command line (as `cargo xtask run` writes it): a pipeline.
            busybox(
                "busybox::sh_pipeline_in_one_argument",
                &["--", "sh", "-c", "\"echo piped through tr | tr a-z A-Z\""],
                Some("PIPED THROUGH TR"),
                RunExit::Success,
            ),
            BUSYBOX_SHA256_STDIN,
            // `sync` (162) has no handler: the kernel names it, once.
            busybox(
                "busybox::a_missing_call_is_named",
                &["--", "sync"],
                Some("system call 162 (sync) is not implemented: -ENOSYS"),
                RunExit::Success,
            ),
        ],
    },
    // A dynamically linked program is refused, naming its interpreter.
    Suite {
        name: linux_programs::DYNAMIC_TRUE,
        target: Target::Linux(linux_programs::DYNAMIC_TRUE, KernelKind::Production),
        min_cpus: 1,
        configs: &[DEFAULT],
        boots: &[BootSpec {
            cmdline: &[],
            cpu: None,
            timeout_secs: None,
            stdin: None,
            expect: Expect::Outcome {
                name: "loader::a_dynamically_linked_program_is_refused_naming_its_interpreter",
                output_contains: Some("dynamically linked (it wants the interpreter /lib"),
                exit: RunExit::Failure,
            },
        }],
    },
];

/// `cargo xtask test --app-path DIR` and `cargo libos test`: one app's
/// tests, in one boot with the options given (`--smp`, `--kpti`, ...), as
/// `cargo test` runs a crate's tests once. The configurations above test
/// the framework; an app's author picks the ones that matter to them.
pub const ONE_APP: &[Suite] = &[Suite {
    name: "app",
    target: Target::AppsWithTests(KernelKind::Testing),
    min_cpus: 1,
    configs: &[DEFAULT, SKYLAKE_X],
    boots: &[PROTOCOL_BOOT],
}];

/// The image a boot needs.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ImageRef {
    /// The kernel alone.
    Kernel(KernelKind),
    /// The kernel with an app.
    App {
        /// The app.
        app: String,
        /// The kernel.
        kernel: KernelKind,
    },
}

/// One boot to run, with everything the table said about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedBoot {
    /// The suite's name (an app's name for app suites).
    pub suite: String,
    /// ` [label]` for configurations with a label, else empty.
    pub suffix: String,
    /// The image.
    pub image: ImageRef,
    /// The suite's and configuration's command line words (the test filter
    /// included); the runner appends the common ones.
    pub cmdline: Vec<String>,
    /// The emulator.
    pub emulator: Emulator,
    /// The CPU model: QEMU's `-cpu` override, or Bochs's model (always set).
    pub cpu: Option<String>,
    /// CPU count override.
    pub smp: Option<u32>,
    /// Firmware override (QEMU).
    pub firmware: Option<Firmware>,
    /// Timeout override.
    pub timeout: Option<Duration>,
    /// Text typed on the console for the app's standard input.
    pub stdin: Option<&'static str>,
    /// What must happen.
    pub expect: Expect,
}

/// What to plan for.
#[derive(Clone, Copy, Debug)]
pub struct PlanRequest<'a> {
    /// Only configurations of this emulator.
    pub emulator: Emulator,
    /// The apps whose ELF has boot-time tests.
    pub apps_with_tests: &'a [String],
    /// `cargo xtask test FILTER`.
    pub filter: Option<&'a str>,
    /// `--smp`: the CPU count of configurations that set none.
    pub smp: u32,
    /// `--bochs-cpu`: replaces the CPU model of every Bochs configuration
    /// (configurations that then repeat an earlier one are left out).
    pub bochs_cpu: Option<&'a str>,
}

/// The boots to run, and the suites left out for the emulator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// The boots, in print order.
    pub boots: Vec<PlannedBoot>,
    /// Suites with no configuration for the emulator.
    pub suites_not_run: Vec<&'static str>,
}

/// Adds kernel command line words to `cmdline`: before its first `--`
/// (after which the words are the app's arguments), or at its end.
pub fn add_kernel_words(cmdline: &mut Vec<String>, words: impl IntoIterator<Item = String>) {
    let at = cmdline.iter().position(|w| w == "--").unwrap_or(cmdline.len());
    let tail = cmdline.split_off(at);
    cmdline.extend(words);
    cmdline.extend(tail);
}

/// The kernel command line word that passes a test filter.
pub fn filter_word(filter: &str) -> String {
    format!("test.filter={filter}")
}

/// Expands the table: the boots to run, in print order. With a filter,
/// boots with a fixed test name that does not contain it are left out, and
/// protocol boots pass it to the guest.
pub fn expand(suites: &[Suite], request: &PlanRequest<'_>) -> Plan {
    let filter = request.filter;
    // Apps with a suite of their own are not in the generic app suites.
    let own_suite: Vec<&str> = suites
        .iter()
        .filter_map(|s| match s.target {
            Target::App(app, _) => Some(app),
            _ => None,
        })
        .collect();
    let mut plan = Plan { boots: Vec::new(), suites_not_run: Vec::new() };
    for suite in suites {
        let configs: Vec<&Config> = suite.configs.iter().filter(|c| c.vm.emulator() == request.emulator).collect();
        if configs.is_empty() {
            plan.suites_not_run.push(suite.name);
            continue;
        }
        let targets: Vec<(String, ImageRef)> = match suite.target {
            Target::Kernel(kind) => vec![(suite.name.to_string(), ImageRef::Kernel(kind))],
            Target::AppsWithTests(kernel) => request
                .apps_with_tests
                .iter()
                .filter(|app| !own_suite.contains(&app.as_str()))
                .map(|app| (app.clone(), ImageRef::App { app: app.clone(), kernel }))
                .collect(),
            Target::App(app, kernel) => request
                .apps_with_tests
                .iter()
                .filter(|a| *a == app)
                .map(|app| (app.clone(), ImageRef::App { app: app.clone(), kernel }))
                .collect(),
            Target::AppRun(app, kernel) | Target::Linux(app, kernel) => {
                vec![(suite.name.to_string(), ImageRef::App { app: app.to_string(), kernel })]
            }
        };
        for (name, image) in &targets {
            let mut labels: Vec<String> = Vec::new();
            for config in &configs {
                if config.smp.unwrap_or(request.smp) < suite.min_cpus {
                    continue;
                }
                let label = config.label(request.bochs_cpu);
                if labels.contains(&label) {
                    continue;
                }
                labels.push(label.clone());
                let cpu_of_config = match config.vm {
                    Vm::Qemu => None,
                    Vm::Bochs(cpu) => Some(request.bochs_cpu.unwrap_or(cpu)),
                };
                for boot in suite.boots {
                    if filter.is_some_and(|f| boot.expect.filtered_out(f)) {
                        continue;
                    }
                    let mut cmdline: Vec<String> = boot.cmdline.iter().map(|w| w.to_string()).collect();
                    add_kernel_words(&mut cmdline, config.cmdline.iter().map(|w| w.to_string()));
                    if let (Expect::Protocol { .. }, Some(filter)) = (boot.expect, filter) {
                        cmdline.push(filter_word(filter));
                    }
                    plan.boots.push(PlannedBoot {
                        suite: name.clone(),
                        suffix: if label.is_empty() { String::new() } else { format!(" [{label}]") },
                        image: image.clone(),
                        cmdline,
                        emulator: request.emulator,
                        cpu: cpu_of_config.or(boot.cpu).map(str::to_string),
                        smp: config.smp,
                        firmware: config.firmware,
                        timeout: boot.timeout_secs.map(Duration::from_secs),
                        stdin: boot.stdin,
                        expect: match boot.expect {
                            // A filter may leave no test to run.
                            Expect::Protocol { .. } if filter.is_some() => Expect::Protocol { expect_tests: false },
                            other => other,
                        },
                    });
                }
            }
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(boots: &[PlannedBoot]) -> Vec<String> {
        boots
            .iter()
            .map(|b| {
                let name = b.expect.fixed_name().map(str::to_string).unwrap_or_else(|| b.suite.clone());
                format!("{name}{} {}", b.suffix, b.cmdline.join(" "))
            })
            .collect()
    }

    fn request<'a>(emulator: Emulator, apps: &'a [String], filter: Option<&'a str>) -> PlanRequest<'a> {
        PlanRequest { emulator, apps_with_tests: apps, filter, smp: 1, bochs_cpu: None }
    }

    fn apps(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn the_full_qemu_plan_without_apps() {
        let plan = expand(SUITES, &request(Emulator::Qemu, &[], None));
        assert_eq!(
            names(&plan.boots),
            [
                "boot::rejects_cpu_without_long_mode ",
                "boot::rejects_cpu_without_nx ",
                "boot::plain_kernel_boots ",
                "kernel test",
                "kernel [kpti=off] test kpti=off",
                "kernel [smp=4] test",
                "harness::reports_failing_tests test test.self-check=wrong",
                "harness::attributes_crash_to_running_test test test.self-check=crash",
                "harness::attributes_timeout_to_running_test test test.self-check=hang",
                "verdict::forged_success_then_sigsegv_is_sigsegv -- segv",
                "verdict::forged_exit_code_then_exit_3_is_3 -- exit3",
                "fuzz::kernel_survives_hostile_syscalls [smp=1] ",
                "fuzz::kernel_survives_hostile_syscalls [smp=4] ",
                "fuzz::kernel_survives_hostile_syscalls [kpti=off, smp=4] kpti=off",
                "production::hook_numbers_answer_enosys ",
                "production::trace_syscalls_prints_every_call trace=syscalls",
                "production::the_check_sees_the_hooks_of_a_test_kernel ",
                "std-tests test env=STD_TESTS=1 env=STD_TESTS_EMPTY=",
                "std-tests [kpti=off] test env=STD_TESTS=1 env=STD_TESTS_EMPTY= kpti=off",
                "std-tests [smp=4] test env=STD_TESTS=1 env=STD_TESTS_EMPTY=",
                "std-tests [kpti=off, smp=4] test env=STD_TESTS=1 env=STD_TESTS_EMPTY= kpti=off",
                "net-std test",
                "net-std [smp=4] test",
                "net_tokio::echo_serves_32_host_connections_at_once ",
                "net_tokio::echo_serves_32_host_connections_at_once [smp=4] ",
                "net_exit::data_written_before_exit_reaches_the_peer -- answer-and-exit",
                "sigpipe::a_write_to_a_reset_connection_kills -- sigpipe-tcp",
                "sigpipe::a_write_to_a_pipe_without_reader_kills -- sigpipe-pipe",
                "c-tests test",
                "c-tests [kpti=off] test kpti=off",
                "c-tests [smp=4] test",
                "c-tests [kpti=off, smp=4] test kpti=off",
                "c-tests [vdso=off, env=C_TESTS_VDSO=off] test vdso=off env=C_TESTS_VDSO=off",
                "c_sweep env=C_SWEEP_GIVEN=given -- /tmp/c-sweep first second",
                "sqlite -- /tmp/sqlite all",
                "busybox::echo -- echo hello from busybox",
                "busybox::true_exits_0 -- true",
                "busybox::false_exits_1 -- false",
                "busybox::seq -- seq -s , 1 5",
                "busybox::sh_arithmetic -- sh -c echo$IFS$((6*7))",
                "busybox::sh_pipeline_in_one_argument -- sh -c \"echo piped through tr | tr a-z A-Z\"",
                "busybox::sha256sum_of_stdin -- sha256sum",
                "busybox::a_missing_call_is_named -- sync",
                "busybox::echo [kpti=off, smp=4] kpti=off -- echo hello from busybox",
                "busybox::true_exits_0 [kpti=off, smp=4] kpti=off -- true",
                "busybox::false_exits_1 [kpti=off, smp=4] kpti=off -- false",
                "busybox::seq [kpti=off, smp=4] kpti=off -- seq -s , 1 5",
                "busybox::sh_arithmetic [kpti=off, smp=4] kpti=off -- sh -c echo$IFS$((6*7))",
                "busybox::sh_pipeline_in_one_argument [kpti=off, smp=4] kpti=off -- sh -c \"echo piped through tr | tr a-z A-Z\"",
                "busybox::sha256sum_of_stdin [kpti=off, smp=4] kpti=off -- sha256sum",
                "busybox::a_missing_call_is_named [kpti=off, smp=4] kpti=off -- sync",
                "loader::a_dynamically_linked_program_is_refused_naming_its_interpreter ",
            ]
        );
        assert!(plan.suites_not_run.is_empty());
        let boots = &plan.boots;
        assert!(boots.iter().all(|b| b.emulator == Emulator::Qemu));
        assert_eq!(boots[0].cpu.as_deref(), Some("qemu32"));
        assert_eq!(boots[1].cpu.as_deref(), Some("qemu64,-nx"));
        assert_eq!(boots[3].cpu, None);
        assert_eq!(boots[0].image, ImageRef::Kernel(KernelKind::Production));
        assert_eq!(boots[3].image, ImageRef::Kernel(KernelKind::BootTests));
        assert_eq!(boots[5].smp, Some(4));
        assert_eq!(boots[8].timeout, Some(Duration::from_secs(10)));
        assert_eq!(boots[3].expect, Expect::Protocol { expect_tests: true });
        // The production image: the app's and the kernel's production builds.
        assert_eq!(boots[9].image, ImageRef::App { app: FORGED_VERDICT_APP.into(), kernel: KernelKind::Testing });
        // The fuzzer runs on a production image: the ABI apps get.
        assert_eq!(boots[11].image, ImageRef::App { app: FUZZ_APP.into(), kernel: KernelKind::Production });
        assert_eq!(boots[13].smp, Some(4));
        assert_eq!(boots[14].image, ImageRef::App { app: NO_HOOKS_APP.into(), kernel: KernelKind::Production });
        assert_eq!(boots[15].image, ImageRef::App { app: NO_HOOKS_APP.into(), kernel: KernelKind::Production });
        assert_eq!(boots[16].image, ImageRef::App { app: NO_HOOKS_APP.into(), kernel: KernelKind::Testing });
    }

    #[test]
    fn app_suites_repeat_under_their_qemu_configurations() {
        let plan = expand(SUITES, &request(Emulator::Qemu, &apps(&["hello", "net"]), None));
        let apps: Vec<_> = plan.boots.iter().filter(|b| b.suite == "hello" || b.suite == "net").collect();
        assert_eq!(apps.len(), 8);
        assert_eq!(apps[0].suite, "hello");
        assert_eq!(apps[0].suffix, "");
        assert_eq!(apps[1].suffix, " [kpti=off]");
        assert_eq!(apps[1].cmdline, ["test", "kpti=off"]);
        assert_eq!(apps[2].suffix, " [pcid=off]");
        assert_eq!(apps[2].cmdline, ["test", "pcid=off"]);
        assert_eq!(apps[3].suffix, " [smp=4]");
        assert_eq!(apps[3].smp, Some(4));
        assert_eq!(apps[4].suite, "net");
        assert_eq!(apps[4].image, ImageRef::App { app: "net".into(), kernel: KernelKind::Testing });
    }

    #[test]
    fn a_comparison_with_linux_is_kept_by_its_prefix_and_its_section_names() {
        let kept = |filter| {
            let plan = expand(SUITES, &request(Emulator::Qemu, &[], Some(filter)));
            plan.boots.iter().any(|b| matches!(b.expect, Expect::SameAsLinux { .. }))
        };
        assert!(kept("c_sweep"));
        assert!(kept("sweep"));
        assert!(kept("c_sweep::stdio"));
        assert!(!kept("busybox"));
        assert!(!kept("c_tests"));
    }

    #[test]
    fn the_bochs_plan_names_the_cpu_model() {
        let plan = expand(SUITES, &request(Emulator::Bochs, &apps(&["hello"]), None));
        assert_eq!(
            plan.suites_not_run,
            [
                "boot-checks",
                "harness",
                "net-tests",
                "fuzz",
                "poll-tests",
                "production",
                "production-check",
                "std-tests",
                "net-std",
                "net-tokio",
                "net-exit",
                "sigpipe",
                "c-tests",
                "c-sweep",
                "sqlite-std",
                "busybox",
                "dynamic-true"
            ]
        );
        assert_eq!(
            names(&plan.boots),
            [
                "kernel [corei7_skylake_x] test",
                "kernel [corei7_skylake_x, smp=2] test",
                "hello [corei7_skylake_x] test",
                "hello [corei7_skylake_x, smp=4] test",
                "hello [corei7_sandy_bridge_2600k, smp=2] test",
                "verdict::forged_success_then_sigsegv_is_sigsegv [corei7_skylake_x] -- segv",
                "verdict::forged_exit_code_then_exit_3_is_3 [corei7_skylake_x] -- exit3",
            ]
        );
        assert!(plan.boots.iter().all(|b| b.emulator == Emulator::Bochs && b.cpu.is_some()));
        assert_eq!(plan.boots[1].smp, Some(2));
        assert_eq!(plan.boots[4].cpu.as_deref(), Some("corei7_sandy_bridge_2600k"));
    }

    #[test]
    fn a_bochs_cpu_override_replaces_every_model_once() {
        let req = PlanRequest { bochs_cpu: Some("broadwell_ult"), ..request(Emulator::Bochs, &[], None) };
        let apps = apps(&["hello"]);
        let plan = expand(SUITES, &PlanRequest { apps_with_tests: &apps, ..req });
        assert_eq!(
            names(&plan.boots),
            [
                "kernel [broadwell_ult] test",
                "kernel [broadwell_ult, smp=2] test",
                "hello [broadwell_ult] test",
                "hello [broadwell_ult, smp=4] test",
                "hello [broadwell_ult, smp=2] test",
                "verdict::forged_success_then_sigsegv_is_sigsegv [broadwell_ult] -- segv",
                "verdict::forged_exit_code_then_exit_3_is_3 [broadwell_ult] -- exit3",
            ]
        );
        assert!(plan.boots.iter().all(|b| b.cpu.as_deref() == Some("broadwell_ult")));
    }

    #[test]
    fn smp_tests_run_only_with_several_cpus() {
        let all = apps(&["hello", SMP_TESTS_APP]);
        let qemu = expand(SUITES, &request(Emulator::Qemu, &all, None));
        let smp: Vec<_> = qemu.boots.iter().filter(|b| b.suite == SMP_TESTS_APP).collect();
        assert_eq!(
            names(&smp.iter().map(|b| (*b).clone()).collect::<Vec<_>>()),
            ["smp-tests [smp=2] test", "smp-tests [smp=4] test"]
        );
        assert_eq!(qemu.boots.iter().filter(|b| b.suite == "hello").count(), 4, "not in the generic app suite");
        let bochs = expand(SUITES, &request(Emulator::Bochs, &all, None));
        let smp: Vec<_> = bochs.boots.iter().filter(|b| b.suite == SMP_TESTS_APP).collect();
        assert_eq!(smp.len(), 1);
        assert_eq!(smp[0].suffix, " [corei7_skylake_x, smp=2]");
        assert_eq!(smp[0].smp, Some(2));
        // Without the app, nothing.
        let none = expand(SUITES, &request(Emulator::Qemu, &apps(&["hello"]), None));
        assert!(none.boots.iter().all(|b| b.suite != SMP_TESTS_APP));
    }

    #[test]
    fn the_minimum_cpu_count_uses_smp_for_configurations_without_one() {
        const SUITE: Suite = Suite {
            name: "needs-two",
            target: Target::Kernel(KernelKind::BootTests),
            min_cpus: 2,
            configs: &[DEFAULT, DEFAULT.with(&["kpti=off"]).cpus(2)],
            boots: &[PROTOCOL_BOOT],
        };
        let plan = expand(&[SUITE], &request(Emulator::Qemu, &[], None));
        assert_eq!(names(&plan.boots), ["needs-two [kpti=off, smp=2] test kpti=off"]);
        let plan = expand(&[SUITE], &PlanRequest { smp: 2, ..request(Emulator::Qemu, &[], None) });
        assert_eq!(plan.boots.len(), 2);
    }

    #[test]
    fn kernel_words_go_before_the_app_arguments() {
        let mut words = vec!["--".to_string(), "seq".to_string()];
        add_kernel_words(&mut words, ["kpti=off".to_string()]);
        assert_eq!(words, ["kpti=off", "--", "seq"]);
        let mut words = vec!["test".to_string()];
        add_kernel_words(&mut words, ["kpti=off".to_string()]);
        assert_eq!(words, ["test", "kpti=off"]);
    }

    #[test]
    fn labels() {
        assert_eq!(DEFAULT.label(None), "");
        let seabios = Config { firmware: Some(Firmware::Seabios), ..DEFAULT.cpus(4) };
        assert_eq!(seabios.label(None), "smp=4, firmware=seabios");
        assert_eq!(SKYLAKE_X.with(&["pcid=off", "kpti=on"]).label(None), "corei7_skylake_x, pcid=off, kpti=on");
        assert_eq!(SANDY_BRIDGE.label(Some("tigerlake")), "tigerlake");
    }

    #[test]
    fn qemu_cpu_models_stay_under_qemu() {
        for suite in SUITES {
            if suite.boots.iter().any(|b| b.cpu.is_some()) {
                assert!(suite.configs.iter().all(|c| c.vm == Vm::Qemu), "{}", suite.name);
            }
        }
    }

    #[test]
    fn filter_skips_fixed_names_and_reaches_the_guest() {
        let hello = apps(&["hello"]);
        let plan = expand(SUITES, &request(Emulator::Qemu, &hello, Some("mm::")));
        assert_eq!(
            names(&plan.boots),
            [
                "kernel test test.filter=mm::",
                "kernel [kpti=off] test kpti=off test.filter=mm::",
                "kernel [smp=4] test test.filter=mm::",
                "hello test test.filter=mm::",
                "hello [kpti=off] test kpti=off test.filter=mm::",
                "hello [pcid=off] test pcid=off test.filter=mm::",
                "hello [smp=4] test test.filter=mm::",
                "std-tests test env=STD_TESTS=1 env=STD_TESTS_EMPTY= test.filter=mm::",
                "std-tests [kpti=off] test env=STD_TESTS=1 env=STD_TESTS_EMPTY= kpti=off test.filter=mm::",
                "std-tests [smp=4] test env=STD_TESTS=1 env=STD_TESTS_EMPTY= test.filter=mm::",
                "std-tests [kpti=off, smp=4] test env=STD_TESTS=1 env=STD_TESTS_EMPTY= kpti=off test.filter=mm::",
                "net-std test test.filter=mm::",
                "net-std [smp=4] test test.filter=mm::",
                "c-tests test test.filter=mm::",
                "c-tests [kpti=off] test kpti=off test.filter=mm::",
                "c-tests [smp=4] test test.filter=mm::",
                "c-tests [kpti=off, smp=4] test kpti=off test.filter=mm::",
                "c-tests [vdso=off, env=C_TESTS_VDSO=off] test vdso=off env=C_TESTS_VDSO=off test.filter=mm::",
            ]
        );
        assert_eq!(plan.boots[0].expect, Expect::Protocol { expect_tests: false });
        let plan = expand(SUITES, &request(Emulator::Qemu, &[], Some("harness::attributes")));
        let fixed: Vec<_> = plan.boots.iter().filter_map(|b| b.expect.fixed_name()).collect();
        assert_eq!(fixed, ["harness::attributes_crash_to_running_test", "harness::attributes_timeout_to_running_test"]);
        let plan = expand(SUITES, &request(Emulator::Qemu, &[], Some("long_mode")));
        assert_eq!(plan.boots[0].expect.fixed_name(), Some("boot::rejects_cpu_without_long_mode"));
        assert_eq!(plan.boots.len(), 15, "the protocol suites still run, filtered by the guest");
    }

    #[test]
    fn harness_expects_one_pass_and_three_failures() {
        let harness = SUITES.iter().find(|s| s.name == "harness").unwrap();
        let Expect::Harness { check: HarnessCheck::Results { results, done, exit }, .. } = harness.boots[0].expect
        else {
            panic!("the first harness boot checks results");
        };
        let passed = results.iter().filter(|(_, pass)| *pass).count() as u32;
        assert_eq!((passed, results.len() as u32 - passed), done);
        assert_eq!(exit, RunExit::Failure);
    }

    /// The digest BusyBox must print is the host's (`sha256sum`, from
    /// coreutils).
    #[test]
    fn the_stdin_digest_is_the_host_s() {
        use std::io::Write;
        let mut child = std::process::Command::new("sha256sum")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("running the host's sha256sum");
        child.stdin.take().unwrap().write_all(SHA256_STDIN_TEXT.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim_end(), SHA256_STDIN_DIGEST);
        assert!(crate::emulator::console_input::passes_unchanged(SHA256_STDIN_TEXT.as_bytes()));
    }
}
