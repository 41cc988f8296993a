//! The boot-time test suites: one table, [`SUITES`].
//!
//! A suite boots an image (the kernel alone, or the kernel with each app that
//! has boot-time tests) once per [`BootSpec`] and per [`Config`], with a
//! kernel command line and an expectation ([`Expect`]). Adding a suite is
//! adding an entry here; [`expand`] turns the table into the list of boots
//! for a given filter and set of apps.

use std::time::Duration;

use libos_abi::run::RunExit;

use crate::qemu::Firmware;

/// Which kernel an image is built with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum KernelKind {
    /// The plain kernel.
    Plain,
    /// The kernel built with `--features boot-tests`.
    BootTests,
}

/// What a suite boots.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// The kernel alone (no app payload).
    Kernel(KernelKind),
    /// Every app whose ELF has a non-empty `.libos_tests` section, each with
    /// this kernel: one suite per app, named after the app.
    AppsWithTests(KernelKind),
}

/// A configuration a suite is repeated under. The default configuration
/// has an empty label; others suffix every reported test name with
/// ` [label]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// Shown after the test names (`kpti=off`); empty for the default.
    pub label: &'static str,
    /// Extra kernel command line words.
    pub cmdline: &'static [&'static str],
    /// A CPU count instead of `--smp`.
    pub smp: Option<u32>,
    /// A firmware instead of `--firmware` (SMP may need SeaBIOS's ACPI tables).
    pub firmware: Option<Firmware>,
}

/// The default configuration.
pub const DEFAULT: Config = Config { label: "", cmdline: &[], smp: None, firmware: None };

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
            Expect::Protocol { .. } => None,
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
    /// A `-cpu` model instead of the accelerator's default.
    pub cpu: Option<&'static str>,
    /// A timeout instead of `--timeout`.
    pub timeout_secs: Option<u64>,
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

/// Every suite, in the order results are printed.
pub const SUITES: &[Suite] = &[
    Suite {
        name: "boot-checks",
        target: Target::Kernel(KernelKind::Plain),
        configs: &[DEFAULT],
        boots: &[
            BootSpec {
                cmdline: &[],
                cpu: Some("qemu32"),
                timeout_secs: None,
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
        configs: &[DEFAULT],
        boots: &[BootSpec {
            cmdline: &["test"],
            cpu: None,
            timeout_secs: None,
            expect: Expect::Protocol { expect_tests: true },
        }],
    },
    Suite {
        name: "harness",
        target: Target::Kernel(KernelKind::BootTests),
        configs: &[DEFAULT],
        boots: &[
            BootSpec {
                cmdline: &["test", "test.self-check=wrong"],
                cpu: None,
                timeout_secs: None,
                expect: Expect::Harness {
                    name: "harness::reports_failing_tests",
                    check: HarnessCheck::Results { results: SELF_CHECK_WRONG, done: (1, 3), exit: RunExit::Failure },
                },
            },
            BootSpec {
                cmdline: &["test", "test.self-check=crash"],
                cpu: None,
                timeout_secs: None,
                expect: Expect::Harness {
                    name: "harness::attributes_crash_to_running_test",
                    check: HarnessCheck::CrashAttributed { test: "selfcheck::crashes" },
                },
            },
            BootSpec {
                cmdline: &["test", "test.self-check=hang"],
                cpu: None,
                timeout_secs: Some(10),
                expect: Expect::Harness {
                    name: "harness::attributes_timeout_to_running_test",
                    check: HarnessCheck::TimeoutAttributed { test: "selfcheck::hangs" },
                },
            },
        ],
    },
    Suite {
        name: "apps",
        target: Target::AppsWithTests(KernelKind::Plain),
        configs: &[
            DEFAULT,
            Config { label: "kpti=off", cmdline: &["kpti=off"], smp: None, firmware: None },
            Config { label: "smp=4", cmdline: &[], smp: Some(4), firmware: None },
        ],
        boots: &[BootSpec {
            cmdline: &["test"],
            cpu: None,
            timeout_secs: None,
            expect: Expect::Protocol { expect_tests: true },
        }],
    },
];

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
    /// ` [label]` for non-default configurations, else empty.
    pub suffix: String,
    /// The image.
    pub image: ImageRef,
    /// The suite's and configuration's command line words (the test filter
    /// included); the runner appends the common ones.
    pub cmdline: Vec<String>,
    /// `-cpu` override.
    pub cpu: Option<String>,
    /// CPU count override.
    pub smp: Option<u32>,
    /// Firmware override.
    pub firmware: Option<Firmware>,
    /// Timeout override.
    pub timeout: Option<Duration>,
    /// What must happen.
    pub expect: Expect,
}

/// The kernel command line word that passes a test filter.
pub fn filter_word(filter: &str) -> String {
    format!("test.filter={filter}")
}

/// Expands the table: the boots to run, in print order. `apps_with_tests`
/// are the apps whose ELF has boot-time tests. With a filter, boots with a
/// fixed test name that does not contain it are left out, and protocol
/// boots pass it to the guest.
pub fn expand(suites: &[Suite], apps_with_tests: &[String], filter: Option<&str>) -> Vec<PlannedBoot> {
    let mut planned = Vec::new();
    for suite in suites {
        let targets: Vec<(String, ImageRef)> = match suite.target {
            Target::Kernel(kind) => vec![(suite.name.to_string(), ImageRef::Kernel(kind))],
            Target::AppsWithTests(kernel) => {
                apps_with_tests.iter().map(|app| (app.clone(), ImageRef::App { app: app.clone(), kernel })).collect()
            }
        };
        for (name, image) in &targets {
            for config in suite.configs {
                for boot in suite.boots {
                    if let (Some(fixed), Some(filter)) = (boot.expect.fixed_name(), filter)
                        && !fixed.contains(filter)
                    {
                        continue;
                    }
                    let mut cmdline: Vec<String> =
                        boot.cmdline.iter().chain(config.cmdline).map(|w| w.to_string()).collect();
                    if let (Expect::Protocol { .. }, Some(filter)) = (boot.expect, filter) {
                        cmdline.push(filter_word(filter));
                    }
                    planned.push(PlannedBoot {
                        suite: name.clone(),
                        suffix: if config.label.is_empty() { String::new() } else { format!(" [{}]", config.label) },
                        image: image.clone(),
                        cmdline,
                        cpu: boot.cpu.map(str::to_string),
                        smp: config.smp,
                        firmware: config.firmware,
                        timeout: boot.timeout_secs.map(Duration::from_secs),
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
    planned
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

    #[test]
    fn the_full_plan_without_apps() {
        let plan = expand(SUITES, &[], None);
        assert_eq!(
            names(&plan),
            [
                "boot::rejects_cpu_without_long_mode ",
                "boot::rejects_cpu_without_nx ",
                "boot::plain_kernel_boots ",
                "kernel test",
                "harness::reports_failing_tests test test.self-check=wrong",
                "harness::attributes_crash_to_running_test test test.self-check=crash",
                "harness::attributes_timeout_to_running_test test test.self-check=hang",
            ]
        );
        assert_eq!(plan[0].cpu.as_deref(), Some("qemu32"));
        assert_eq!(plan[1].cpu.as_deref(), Some("qemu64,-nx"));
        assert_eq!(plan[0].image, ImageRef::Kernel(KernelKind::Plain));
        assert_eq!(plan[3].image, ImageRef::Kernel(KernelKind::BootTests));
        assert_eq!(plan[6].timeout, Some(Duration::from_secs(10)));
        assert_eq!(plan[3].expect, Expect::Protocol { expect_tests: true });
    }

    #[test]
    fn app_suites_repeat_under_their_configurations() {
        let plan = expand(SUITES, &["hello".to_string(), "net".to_string()], None);
        let apps: Vec<_> = plan.iter().filter(|b| matches!(b.image, ImageRef::App { .. })).collect();
        assert_eq!(apps.len(), 6);
        assert_eq!(apps[0].suite, "hello");
        assert_eq!(apps[0].suffix, "");
        assert_eq!(apps[1].suffix, " [kpti=off]");
        assert_eq!(apps[1].cmdline, ["test", "kpti=off"]);
        assert_eq!(apps[2].suffix, " [smp=4]");
        assert_eq!(apps[2].smp, Some(4));
        assert_eq!(apps[3].suite, "net");
        assert_eq!(apps[3].image, ImageRef::App { app: "net".into(), kernel: KernelKind::Plain });
    }

    #[test]
    fn filter_skips_fixed_names_and_reaches_the_guest() {
        let plan = expand(SUITES, &["hello".to_string()], Some("mm::"));
        assert_eq!(
            names(&plan),
            [
                "kernel test test.filter=mm::",
                "hello test test.filter=mm::",
                "hello [kpti=off] test kpti=off test.filter=mm::",
                "hello [smp=4] test test.filter=mm::",
            ]
        );
        assert_eq!(plan[0].expect, Expect::Protocol { expect_tests: false });
        let plan = expand(SUITES, &[], Some("harness::attributes"));
        let fixed: Vec<_> = plan.iter().filter_map(|b| b.expect.fixed_name()).collect();
        assert_eq!(fixed, ["harness::attributes_crash_to_running_test", "harness::attributes_timeout_to_running_test"]);
        let plan = expand(SUITES, &[], Some("long_mode"));
        assert_eq!(plan[0].expect.fixed_name(), Some("boot::rejects_cpu_without_long_mode"));
        assert_eq!(plan.len(), 2, "the kernel suite still runs, filtered by the guest");
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
}
