//! `cargo xtask test`: host unit tests, then every boot of the test plan
//! (in parallel), with one line per test and a closing `N passed, M failed`.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use libos_abi::run::{RunExit, TEST_DISK_BYTES};
use libos_abi::test::TEST_SECTION;
use libos_elf::Elf;

use crate::build::{Flavor, Hooks, Layout, linux_programs};
use crate::emulator::accel::{self, AccelChoice, ProbeSetup};
use crate::emulator::bochs;
use crate::emulator::network::Network;
use crate::emulator::qemu::{self, Accel, Firmware, Machine};
use crate::emulator::run_result::{self, Verdict};
use crate::emulator::{Emulator, Launch, Stream};
use crate::install;
use crate::testing::host_side::{self, HostSide};
use crate::testing::plan::{self, Expect, HarnessCheck, ImageRef, KernelKind, PlanRequest, PlannedBoot};
use crate::testing::same_as_linux::{self, HostRun};
use crate::testing::serial_protocol::{Done, Event, Outcome, Parser, TestResult};
use crate::testing::{busybox_files, busybox_sweep, disk_persistence, fpu_free, hook_symbols, host_tests, out_of_tree};

/// Serial lines shown for a failed boot without `--verbose`.
const FAILURE_TAIL_LINES: usize = 200;
/// The timeout of a QEMU boot unless `--timeout` or the boot says otherwise.
pub const QEMU_DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);
/// The timeout of a boot with a host side at full scale
/// (`host_side::FULL_SCALE_ENV`).
const FULL_SCALE_TIMEOUT: Duration = Duration::from_secs(3 * 3600);

/// Everything `cargo xtask test` was asked to do.
#[derive(Clone, Debug)]
pub struct TestOptions {
    /// The framework's workspace, or the layout of the one app outside it.
    pub layout: Layout,
    /// Test only this app (`--app-path`): its tests in one boot, no host
    /// tests.
    pub app: Option<String>,
    /// `--elf`: `app` is this prebuilt program (its file name), not built.
    pub elf: Option<PathBuf>,
    /// Only tests whose name contains this.
    pub filter: Option<String>,
    /// Build in release mode.
    pub release: bool,
    /// `--emulator`.
    pub emulator: Emulator,
    /// `--bochs-cpu`: one Bochs CPU model instead of the table's.
    pub bochs_cpu: Option<String>,
    /// `--accel` (QEMU).
    pub accel: AccelChoice,
    /// `--mem`.
    pub mem: String,
    /// `--smp` (a configuration may override it).
    pub smp: u32,
    /// `--firmware` (QEMU; a configuration may override it).
    pub firmware: Firmware,
    /// Kernel command line words from the options (`kpti=off`, ...).
    pub cmdline_words: Vec<String>,
    /// Words after `--`, appended to every command line.
    pub extra: Vec<String>,
    /// `--timeout`: of each boot (a boot may set its own); `None`: the
    /// emulator's default ([`QEMU_DEFAULT_TIMEOUT`], [`bochs::DEFAULT_TIMEOUT`]).
    pub timeout: Option<Duration>,
    /// Show every boot's serial output.
    pub verbose: bool,
    /// Boots run at once.
    pub jobs: usize,
    /// Skip the host tests.
    pub no_host: bool,
}

/// Pass and failure counts, and the names of the failures (repeated at the
/// end of the run: a CI log often keeps only its tail).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    /// Tests that passed.
    pub passed: u32,
    /// Tests that failed.
    pub failed: u32,
    /// The failed tests' names, in the order they were reported.
    pub failed_names: Vec<String>,
}

impl Totals {
    /// Counts a result.
    pub fn add(&mut self, result: &TestResult) {
        self.add_with_suffix(result, "");
    }

    /// Counts a result of a boot whose configuration is `suffix`
    /// (` [kpti=off]`), as its line names it.
    pub fn add_with_suffix(&mut self, result: &TestResult, suffix: &str) {
        match &result.outcome {
            Outcome::Ok => self.passed += 1,
            Outcome::Failed(reason) if reason.is_empty() => self.fail(format!("{}{suffix}", result.name)),
            Outcome::Failed(reason) => {
                // The reason's first line, shortened: the full one is above.
                let first = reason.lines().next().unwrap_or_default();
                let short: String = first.chars().take(160).collect();
                let more = if short.len() < reason.len() { " ..." } else { "" };
                self.fail(format!("{}{suffix}: {short}{more}", result.name))
            }
            Outcome::Ignored(_) => {}
        }
    }

    /// Counts one failure named `name`.
    pub fn fail(&mut self, name: impl Into<String>) {
        self.failed += 1;
        self.failed_names.push(name.into());
    }

    /// The lines that end a run: the failures again, then the counts.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        if !self.failed_names.is_empty() {
            out.push_str("failures:\n");
            for name in &self.failed_names {
                out.push_str(&format!("    {name}\n"));
            }
        }
        out.push_str(&format!("{} passed, {} failed", self.passed, self.failed));
        out
    }
}

/// Runs the test suite; returns the process exit status.
pub fn run(opts: &TestOptions) -> Result<i32> {
    if let Some(filter) = &opts.filter
        && (filter.is_empty() || filter.contains(char::is_whitespace))
    {
        bail!("the test filter must be one word (it goes on the kernel command line): {filter:?}");
    }
    let layout = &opts.layout;
    let mut totals = Totals::default();
    let started = Instant::now();

    if let Some(app) = &opts.app {
        println!("testing the app `{app}` (its #[libos::test] functions, in one boot)");
    } else if opts.no_host {
        println!("host tests: skipped (--no-host)");
    } else {
        host_stage(layout, opts, &mut totals)?;
    }
    boot_stage(layout, opts, &mut totals)?;
    if opts.app.is_none() && opts.emulator == Emulator::Qemu {
        out_of_tree::stage(layout, opts.filter.as_deref(), opts.verbose, &mut totals);
    }

    println!("total time {:.1} s", started.elapsed().as_secs_f64());
    println!("{}", totals.summary());
    Ok(if totals.failed == 0 { 0 } else { 1 })
}

/// Runs `cargo test` and prints one line per test binary.
fn host_stage(layout: &Layout, opts: &TestOptions, totals: &mut Totals) -> Result<()> {
    println!("host tests: cargo test --no-fail-fast (output shown for failures; --verbose shows all)");
    crate::install::ensure(crate::install::HOST_TEST_NEEDS, "host tests")?;
    let report = host_tests::run(&layout.root, opts.filter.as_deref(), opts.verbose)?;
    for binary in &report.binaries {
        if opts.filter.is_some() && binary.ok && binary.passed + binary.failed == 0 {
            continue;
        }
        println!("{}", binary.line());
        totals.passed += binary.passed;
        if binary.failures() > 0 {
            totals.failed += binary.failures() - 1;
            totals.fail(format!("host::{} ({} failed)", binary.name, binary.failures()));
        }
        if !binary.ok && !opts.verbose {
            print_indented(&binary.output, usize::MAX);
        }
    }
    if !report.cargo_ok && report.binaries.iter().all(|b| b.ok) {
        println!("test host::build ... FAILED (cargo test failed outside any test binary)");
        totals.fail("host::build");
        if !opts.verbose {
            print_indented(&report.output, FAILURE_TAIL_LINES);
        }
    }
    Ok(())
}

/// A build step's failure, reported as a test line.
fn build_failure(name: &str, error: &anyhow::Error, totals: &mut Totals) {
    let message = format!("{error:#}").replace('\n', " ");
    println!("{}", TestResult::failed(format!("build::{name}"), message).line(""));
    totals.fail(format!("build::{name}"));
}

/// The programs of the emulator.
enum Programs {
    Qemu(PathBuf),
    Bochs(bochs::Tools),
}

/// Builds what the plan needs, then runs the boots.
fn boot_stage(layout: &Layout, opts: &TestOptions, totals: &mut Totals) -> Result<()> {
    let programs = match opts.emulator {
        Emulator::Qemu => Programs::Qemu(install::ensure_qemu()?),
        Emulator::Bochs => Programs::Bochs(install::ensure_bochs()?),
    };
    let release = opts.release;

    // Apps first (test builds): which of them have boot-time tests decides
    // the plan.
    println!("building the apps, the kernels and the images");
    let mut app_elfs: HashMap<(String, KernelKind), PathBuf> = HashMap::new();
    let mut apps_with_tests = Vec::new();
    let apps = match &opts.app {
        Some(app) => vec![app.clone()],
        None => layout.apps()?,
    };
    for app in apps {
        // A prebuilt program says which tests it has only when it runs.
        let built = match &opts.elf {
            Some(elf) => Ok((true, elf.clone())),
            None => layout.build_app(&app, Flavor::testing(release)).and_then(|elf| Ok((has_boot_tests(&elf)?, elf))),
        };
        match built {
            Ok((tests, elf)) => {
                if tests {
                    apps_with_tests.push(app.clone());
                }
                app_elfs.insert((app.clone(), KernelKind::Testing), elf.clone());
                app_elfs.insert((app, KernelKind::BootTests), elf);
            }
            Err(e) => build_failure(&app, &e, totals),
        }
    }
    let request = PlanRequest {
        emulator: opts.emulator,
        apps_with_tests: &apps_with_tests,
        filter: opts.filter.as_deref(),
        smp: opts.smp,
        bochs_cpu: opts.bochs_cpu.as_deref(),
    };
    let suites = if opts.app.is_some() { plan::ONE_APP } else { plan::SUITES };
    if let Some(app) = &opts.app
        && app_elfs.contains_key(&(app.clone(), KernelKind::Testing))
        && !apps_with_tests.contains(app)
    {
        println!("the app `{app}` has no #[libos::test] functions");
    }
    let plan = plan::expand(suites, &request);
    if !plan.suites_not_run.is_empty() {
        let why = match opts.emulator {
            Emulator::Bochs => "they rely on QEMU CPU models and timeouts",
            Emulator::Qemu => "they have no QEMU configuration",
        };
        println!("not run under {}: {} ({why})", opts.emulator.name(), plan.suites_not_run.join(", "));
    }
    let plan = plan.boots;

    // Kernels, then images.
    let kinds: BTreeSet<KernelKind> = plan
        .iter()
        .map(|b| match &b.image {
            ImageRef::Kernel(kind) | ImageRef::App { kernel: kind, .. } => *kind,
        })
        .collect();
    let mut kernels: HashMap<KernelKind, PathBuf> = HashMap::new();
    for kind in kinds {
        let flavor = kernel_flavor(kind, release);
        match layout.build_kernel(flavor) {
            Ok(elf) => {
                kernels.insert(kind, elf);
            }
            Err(e) => build_failure(&format!("kernel{}", flavor.suffix()), &e, totals),
        }
    }
    // The framework's own check; one app's tests (`--app-path`, `cargo libos
    // test`) are that app's results only.
    if opts.app.is_none() {
        check_hook_symbols(&kernels, opts.filter.as_deref(), totals);
    }
    // The Linux programs' ELF files: built or found, not apps.
    for boot in &plan {
        if let ImageRef::App { app, kernel } = &boot.image
            && linux_programs::ALL.contains(&app.as_str())
            && !app_elfs.contains_key(&(app.clone(), *kernel))
        {
            match linux_programs::build(layout, app) {
                Ok(elf) => {
                    app_elfs.insert((app.clone(), *kernel), elf);
                }
                Err(e) => build_failure(app, &e, totals),
            }
        }
    }
    let mut images: HashMap<ImageRef, PathBuf> = HashMap::new();
    for boot in &plan {
        if images.contains_key(&boot.image) {
            continue;
        }
        let (kind, app) = match &boot.image {
            ImageRef::Kernel(kind) => (*kind, None),
            ImageRef::App { app, kernel } => (*kernel, Some(app.as_str())),
        };
        let Some(kernel_elf) = kernels.get(&kind) else {
            continue;
        };
        let flavor = kernel_flavor(kind, release);
        let out = layout.image(app, flavor);
        let app_elf = match app {
            // A Linux program that could not be built (reported above).
            Some(a) if linux_programs::ALL.contains(&a) && !app_elfs.contains_key(&(a.to_string(), kind)) => continue,
            // Production images carry the app's production build.
            Some(a) if !app_elfs.contains_key(&(a.to_string(), kind)) => match layout.build_app(a, flavor) {
                Ok(elf) => Some(app_elfs.entry((a.to_string(), kind)).or_insert(elf).clone()),
                Err(e) => {
                    build_failure(a, &e, totals);
                    continue;
                }
            },
            Some(a) => Some(app_elfs[&(a.to_string(), kind)].clone()),
            None => None,
        };
        let app_input = app.zip(app_elf.as_deref());
        match layout.write_image(kernel_elf, app_input, &out) {
            Ok(_) => {
                images.insert(boot.image.clone(), out);
            }
            Err(e) => build_failure(&format!("image::{}", app.unwrap_or("kernel")), &e, totals),
        }
    }
    if opts.app.is_none() {
        check_fpu_free(&kernels, &app_elfs, opts.filter.as_deref(), totals);
    }
    let (runnable, skipped): (Vec<PlannedBoot>, Vec<PlannedBoot>) =
        plan.into_iter().partition(|b| images.contains_key(&b.image));
    if !skipped.is_empty() {
        println!("note: {} boot(s) not run because their image could not be built", skipped.len());
    }

    // The differential boots' programs run on the host first (a fraction
    // of a second each).
    let host_runs: Vec<Option<Result<HostRun, String>>> = runnable
        .iter()
        .enumerate()
        .map(|(i, planned)| {
            let (Expect::SameAsLinux { .. }, ImageRef::App { app, kernel }) = (&planned.expect, &planned.image) else {
                return None;
            };
            let elf = app_elfs.get(&(app.clone(), *kernel))?;
            let (args, env) = host_arguments(&planned.cmdline);
            let scratch = layout.state_dir().join("same-as-linux").join(format!("boot-{i}"));
            Some(same_as_linux::run_on_host(elf, &args, &env, &scratch).map_err(|e| format!("{e:#}")))
        })
        .collect();

    let command_words = |planned: &PlannedBoot| {
        let mut words = planned.cmdline.clone();
        plan::add_kernel_words(&mut words, opts.cmdline_words.iter().cloned());
        words.extend(opts.extra.iter().cloned());
        words.join(" ")
    };
    let mut persistence = None;
    let mut busybox_machine = None;
    let launches: Vec<Launch> = match programs {
        Programs::Qemu(qemu_path) => {
            let machine = Machine {
                accel: Accel::Tcg,
                cpu: None,
                mem: opts.mem.clone(),
                smp: opts.smp,
                firmware: opts.firmware,
                icount: false,
            };
            let setup =
                ProbeSetup { qemu: &qemu_path, machine: machine.clone(), cache: layout.state_dir().join("kvm-probe") };
            let chosen = accel::choose(opts.accel, &setup, &mut || probe_image(layout, release));
            println!("accelerator: {} ({})", chosen.accel.name(), chosen.reason);
            let timeout = opts.timeout.unwrap_or(QEMU_DEFAULT_TIMEOUT);
            let disks = layout.state_dir().join("disks");
            let launches = runnable
                .iter()
                .enumerate()
                .map(|(i, planned)| {
                    // The kernel's test image gets a fresh disk and a
                    // network card (its virtio tests); the file tests their
                    // files and a fresh ext2 disk; apps whose tests have a
                    // host side a network card with their ports forwarded;
                    // other apps neither.
                    let mut initrd = None;
                    let mut full_scale = false;
                    let devices = if planned.image == ImageRef::Kernel(KernelKind::BootTests) {
                        let disk = disks.join(format!("boot-{i}.img"));
                        fresh_disk(&disk, TEST_DISK_BYTES)?;
                        qemu::virtio_test_devices(&disk)
                    } else if is_fs_tests(&planned.image) {
                        initrd = Some(fs_tests_archive(layout)?);
                        let disk = disks.join(format!("fs-{i}.img"));
                        let _ = std::fs::remove_file(&disk);
                        crate::build::disk::format_new(&disk, FS_TEST_DISK_BYTES)?;
                        crate::build::disk::qemu_args(&disk)
                    } else if let ImageRef::App { app, .. } = &planned.image
                        && let Some(net) = host_side::network_for(app)?
                    {
                        if host_side::full_scale() {
                            full_scale = true;
                        }
                        net.qemu_args()
                    } else {
                        Vec::new()
                    };
                    let mut cmdline = command_words(planned);
                    let mut boot_timeout = planned.timeout.unwrap_or(timeout);
                    if full_scale {
                        // The guest sizes its transfers by this (its
                        // kernel words come before any `--`).
                        let mut words: Vec<String> = cmdline.split(' ').map(str::to_string).collect();
                        plan::add_kernel_words(&mut words, ["env=NET_FULL_SCALE=1".to_string()]);
                        cmdline = words.join(" ");
                        boot_timeout = boot_timeout.max(FULL_SCALE_TIMEOUT);
                    }
                    Ok(Launch::Qemu(qemu::Boot {
                        qemu: qemu_path.clone(),
                        image: images[&planned.image].clone(),
                        initrd,
                        cmdline,
                        machine: Machine {
                            accel: chosen.accel,
                            cpu: planned.cpu.clone(),
                            smp: planned.smp.unwrap_or(opts.smp),
                            firmware: planned.firmware.unwrap_or(opts.firmware),
                            ..machine.clone()
                        },
                        gdb: false,
                        timeout: Some(boot_timeout),
                        devices,
                        stdin: planned.stdin.map(|t| crate::emulator::console_input::typed(t.as_bytes())),
                    }))
                })
                .collect::<Result<_>>()?;
            if opts.app.is_none() && opts.elf.is_none() {
                busybox_machine = Some((qemu_path.clone(), Machine { accel: chosen.accel, ..machine.clone() }));
            }
            if opts.app.is_none()
                && let Some(planned) = runnable.iter().find(|b| is_fs_tests(&b.image))
            {
                persistence = Some((
                    qemu_path.clone(),
                    images[&planned.image].clone(),
                    Machine { accel: chosen.accel, ..machine.clone() },
                ));
            }
            launches
        }
        Programs::Bochs(tools) => {
            bochs::remove_stale_runs(&layout.bochs_work_dir());
            let mem_mib = bochs::mem_mib(&opts.mem).map_err(anyhow::Error::msg)?;
            let timeout = opts.timeout.unwrap_or(bochs::DEFAULT_TIMEOUT);
            let mut models: Vec<&str> = Vec::new();
            for model in runnable.iter().filter_map(|b| b.cpu.as_deref()) {
                if !models.contains(&model) {
                    models.push(model);
                }
            }
            println!(
                "bochs: CPU models {}; {mem_mib} MiB; timeout {} per boot",
                if models.is_empty() { "(none)".to_string() } else { models.join(", ") },
                run_result::format_secs(timeout)
            );
            runnable
                .iter()
                .map(|planned| {
                    Ok(Launch::Bochs(bochs::Boot {
                        tools: tools.clone(),
                        image: images[&planned.image].clone(),
                        cmdline: command_words(planned),
                        module: if is_fs_tests(&planned.image) { Some(fs_tests_archive(layout)?) } else { None },
                        machine: bochs::Machine {
                            cpu: planned.cpu.clone().unwrap_or_else(|| bochs::DEFAULT_CPU.to_string()),
                            smp: planned.smp.unwrap_or(opts.smp),
                            mem_mib,
                        },
                        timeout: planned.timeout.unwrap_or(timeout),
                        iso_dir: layout.bochs_iso_dir(),
                        work_root: layout.bochs_work_dir(),
                    }))
                })
                .collect::<Result<_>>()?
        }
    };
    let jobs = opts.jobs.clamp(1, launches.len().max(1));
    println!("running {} boot(s), {jobs} at a time", launches.len());
    let boot_started = Instant::now();
    run_boots(&runnable, &launches, &host_runs, jobs, opts.verbose, totals);
    println!("boots took {:.1} s", boot_started.elapsed().as_secs_f64());
    if let Some((qemu_path, image, machine)) = persistence {
        let archive = fs_tests_archive(layout)?;
        let std_files = match std_files_image(layout, &kernels, release) {
            Ok(found) => Some(found),
            Err(e) => {
                build_failure(linux_programs::STD_FILES, &e, totals);
                None
            }
        };
        let sqlite = match sqlite_image(layout, &kernels, release) {
            Ok(found) => Some(found),
            Err(e) => {
                build_failure(linux_programs::SQLITE_STD, &e, totals);
                None
            }
        };
        let setup = disk_persistence::Setup {
            qemu: qemu_path,
            image,
            archive,
            std_files,
            sqlite,
            machine,
            dir: layout.state_dir().join("disks"),
            verbose: opts.verbose,
        };
        disk_persistence::run(&setup, opts.filter.as_deref(), totals);
    }
    if let Some((qemu_path, machine)) = busybox_machine
        && opts.filter.as_deref().is_none_or(|f| {
            busybox_files::NAMES.iter().any(|n| n.contains(f))
                || busybox_sweep::PREFIX.contains(f)
                || f.starts_with(busybox_sweep::PREFIX)
        })
    {
        run_busybox_files(layout, release, qemu_path, machine, opts, totals)?;
    }
    Ok(())
}

/// BusyBox over `--files` and `--disk` (`busybox_files`) and the BusyBox
/// sweep (`busybox_sweep`): builds their image (the production kernel, as
/// the BusyBox suite's) and runs the boots.
fn run_busybox_files(
    layout: &Layout,
    release: bool,
    qemu: PathBuf,
    machine: Machine,
    opts: &TestOptions,
    totals: &mut Totals,
) -> Result<()> {
    let flavor = kernel_flavor(KernelKind::Production, release);
    let built = layout.build_kernel(flavor).and_then(|kernel| {
        let elf = linux_programs::build(layout, linux_programs::BUSYBOX)?;
        let image = layout.image(Some(linux_programs::BUSYBOX), flavor);
        layout.write_image(&kernel, Some((linux_programs::BUSYBOX, &elf)), &image)?;
        Ok(image)
    });
    let image = match built {
        Ok(image) => image,
        Err(e) => {
            build_failure("busybox_files", &e, totals);
            return Ok(());
        }
    };
    let files = layout.root.join(busybox_files::FILES_DIR);
    let dir = layout.state_dir().join("disks");
    std::fs::create_dir_all(&dir)?;
    let archive = dir.join("busybox-files.cpio");
    std::fs::write(&archive, crate::build::cpio::pack_dir(&files)?)
        .with_context(|| format!("writing {}", archive.display()))?;
    let filter = opts.filter.as_deref();
    if filter.is_none_or(|f| busybox_files::NAMES.iter().any(|n| n.contains(f))) {
        let setup = busybox_files::Setup {
            qemu: qemu.clone(),
            image: image.clone(),
            files,
            archive,
            machine: machine.clone(),
            dir: dir.clone(),
            verbose: opts.verbose,
        };
        busybox_files::run(&setup, filter, totals);
    }
    let files = layout.root.join(busybox_sweep::SWEEP_DIR);
    let archive = dir.join("busybox-sweep.cpio");
    std::fs::write(&archive, crate::build::cpio::pack_dir(&files)?)
        .with_context(|| format!("writing {}", archive.display()))?;
    let setup = busybox_files::Setup {
        qemu,
        image,
        files,
        archive,
        machine,
        dir: layout.state_dir().join("busybox-sweep"),
        verbose: opts.verbose,
    };
    busybox_sweep::run(&setup, opts.jobs, filter, totals);
    Ok(())
}

/// The size of the file tests' disk.
const FS_TEST_DISK_BYTES: u64 = 64 << 20;

/// Whether a boot is of the file tests' app.
fn is_fs_tests(image: &ImageRef) -> bool {
    matches!(image, ImageRef::App { app, .. } if app == plan::FS_TESTS_APP)
}

/// The file tests' root archive (`apps/fs-tests/files`, packed once per run).
fn fs_tests_archive(layout: &Layout) -> Result<PathBuf> {
    let out = layout.state_dir().join("disks").join("fs-tests-files.cpio");
    let archive = crate::build::cpio::pack_dir(&layout.root.join("apps").join(plan::FS_TESTS_APP).join("files"))?;
    std::fs::create_dir_all(layout.state_dir().join("disks"))?;
    if std::fs::read(&out).ok().as_deref() != Some(archive.as_slice()) {
        std::fs::write(&out, archive).with_context(|| format!("writing {}", out.display()))?;
    }
    Ok(out)
}

/// The `std::fs` program's image (on the test kernel) and its root
/// archive (`linux-programs/std-files/files`), for the disk test.
fn std_files_image(
    layout: &Layout,
    kernels: &HashMap<KernelKind, PathBuf>,
    release: bool,
) -> Result<(PathBuf, PathBuf)> {
    let kernel = kernels.get(&KernelKind::Testing).context("the test kernel was not built")?;
    let elf = linux_programs::build(layout, linux_programs::STD_FILES)?;
    let image = layout.image(Some(linux_programs::STD_FILES), kernel_flavor(KernelKind::Testing, release));
    layout.write_image(kernel, Some((linux_programs::STD_FILES, &elf)), &image)?;
    let archive = crate::build::cpio::pack_dir(&layout.root.join("linux-programs/std-files/files"))?;
    let out = layout.state_dir().join("disks").join("std-files-files.cpio");
    std::fs::create_dir_all(layout.state_dir().join("disks"))?;
    std::fs::write(&out, archive).with_context(|| format!("writing {}", out.display()))?;
    Ok((image, out))
}

/// The SQLite program's image (on the test kernel), for the disk test.
fn sqlite_image(layout: &Layout, kernels: &HashMap<KernelKind, PathBuf>, release: bool) -> Result<PathBuf> {
    let kernel = kernels.get(&KernelKind::Testing).context("the test kernel was not built")?;
    let elf = linux_programs::build(layout, linux_programs::SQLITE_STD)?;
    let image = layout.image(Some(linux_programs::SQLITE_STD), kernel_flavor(KernelKind::Testing, release));
    layout.write_image(kernel, Some((linux_programs::SQLITE_STD, &elf)), &image)?;
    Ok(image)
}

/// The flavour of a kernel kind.
fn kernel_flavor(kind: KernelKind, release: bool) -> Flavor {
    match kind {
        KernelKind::Production => Flavor::plain(release),
        KernelKind::Testing => Flavor::testing(release),
        KernelKind::BootTests => Flavor { boot_tests: true, hooks: Hooks::Testing, ..Flavor::plain(release) },
    }
}

/// Reads the symbols of the production kernel (it must have no hook) and
/// of the test kernel (it must have them, or the first check proves
/// nothing), for those the plan built; one test line each.
fn check_hook_symbols(kernels: &HashMap<KernelKind, PathBuf>, filter: Option<&str>, totals: &mut Totals) {
    type Check = fn(&[u8]) -> Result<(), String>;
    let checks: [(KernelKind, &str, Check); 2] = [
        (KernelKind::Production, "production::kernel_has_no_hook_symbols", hook_symbols::check_production),
        (KernelKind::Testing, "production::test_kernel_shows_its_hook_symbols", hook_symbols::check_testing),
    ];
    for (kind, name, check) in checks {
        let Some(elf) = kernels.get(&kind) else { continue };
        if filter.is_some_and(|f| !name.contains(f)) {
            continue;
        }
        let verdict = std::fs::read(elf).map_err(|e| format!("reading {}: {e}", elf.display())).and_then(|b| check(&b));
        let result = match verdict {
            Ok(()) => TestResult::ok(name),
            Err(why) => TestResult::failed(name, why),
        };
        println!("{}", result.line(""));
        totals.add(&result);
    }
}

/// The app `check_fpu_free` disassembles for SSE instructions.
const FPU_TESTS_APP: &str = "fpu-tests";

/// Disassembles the kernels the plan built: no FPU/SIMD instruction outside
/// the kernel's `xstate` module; and one hard-float app the plan built: it
/// must have them (an `f64` multiply is a `mulsd`), or the first check
/// proves nothing. One test line each.
fn check_fpu_free(
    kernels: &HashMap<KernelKind, PathBuf>,
    app_elfs: &HashMap<(String, KernelKind), PathBuf>,
    filter: Option<&str>,
    totals: &mut Totals,
) {
    type Check = fn(&Path) -> Result<(), String>;
    let mut checks: Vec<(String, PathBuf, Check)> = Vec::new();
    for (kind, elf) in kernels {
        let name = format!("kernel_fpu::{kind:?}_kernel_uses_no_fpu_or_simd_register").to_lowercase();
        checks.push((name, elf.clone(), fpu_free::check_kernel));
    }
    // The app whose tests multiply f64s (fpu-tests' results), when built.
    if let Some((_, elf)) = app_elfs.iter().find(|((app, _), _)| app == FPU_TESTS_APP) {
        checks.push(("kernel_fpu::apps_are_hard_float".to_string(), elf.clone(), fpu_free::check_app));
    }
    checks.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, elf, check) in checks {
        if filter.is_some_and(|f| !name.contains(f)) {
            continue;
        }
        let result = match check(&elf) {
            Ok(()) => TestResult::ok(&name),
            Err(why) => TestResult::failed(&name, why),
        };
        println!("{}", result.line(""));
        totals.add(&result);
    }
}

/// Creates (or empties) the raw disk image `path` of `bytes` bytes (sparse).
fn fresh_disk(path: &Path, bytes: u64) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let file = std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    file.set_len(bytes).with_context(|| format!("sizing {}", path.display()))?;
    Ok(())
}

/// The production kernel with the probe app, for the KVM probe.
fn probe_image(layout: &Layout, release: bool) -> Result<PathBuf> {
    let flavor = Flavor::plain(release);
    let name = accel::probe_app(layout);
    let app = layout.build_app(&name, flavor)?;
    let kernel = layout.build_kernel(flavor)?;
    let out = layout.image(Some(&name), flavor);
    layout.write_image(&kernel, Some((&name, &app)), &out)?;
    Ok(out)
}

/// Symbols that bracket the test records when the linker script merges the
/// test section into another one (as `libos/user.ld` does, into `.rodata`).
pub const TESTS_START_SYMBOL: &str = "__libos_tests_start";
/// See [`TESTS_START_SYMBOL`].
pub const TESTS_END_SYMBOL: &str = "__libos_tests_end";

/// Whether an ELF file holds boot-time test records: a non-empty
/// `.libos_tests` section, or `__libos_tests_end > __libos_tests_start`.
pub fn has_boot_tests(elf_path: &Path) -> Result<bool> {
    let bytes = std::fs::read(elf_path)?;
    let at = |e: libos_elf::ElfError| anyhow::anyhow!("{}: {e}", elf_path.display());
    let elf = Elf::parse(&bytes).map_err(at)?;
    if elf.section_by_name(TEST_SECTION).map_err(at)?.is_some_and(|s| s.size > 0) {
        return Ok(true);
    }
    let start = elf.symbol(TESTS_START_SYMBOL).map_err(at)?;
    let end = elf.symbol(TESTS_END_SYMBOL).map_err(at)?;
    Ok(matches!((start, end), (Some(s), Some(e)) if e.value > s.value))
}

/// A message from a boot's thread to the printer.
enum Msg {
    /// A result line to print.
    Line(usize, String),
    /// The boot finished.
    Finished(usize, Box<BootReport>),
}

/// What a finished boot reports.
struct BootReport {
    results: Vec<TestResult>,
    details: String,
    show_details: bool,
    /// The emulator's wall time (none if it could not run).
    elapsed: Option<Duration>,
}

/// How many of the slowest boots the summary names.
const SLOWEST_SHOWN: usize = 3;

/// `slowest boots: kernel [smp=4] 3.1 s, hello 0.4 s` (at most
/// [`SLOWEST_SHOWN`]), from (name, wall time) pairs.
fn slowest_line(times: &[(String, Duration)]) -> Option<String> {
    let mut sorted: Vec<&(String, Duration)> = times.iter().collect();
    sorted.sort_by_key(|(_, d)| std::cmp::Reverse(*d));
    let shown: Vec<String> =
        sorted.iter().take(SLOWEST_SHOWN).map(|(name, d)| format!("{name} {:.1} s", d.as_secs_f64())).collect();
    (!shown.is_empty()).then(|| format!("slowest boots: {}", shown.join(", ")))
}

/// Runs the boots on `jobs` threads; prints their lines grouped per boot in
/// plan order, each as soon as every earlier boot has finished; then names
/// the slowest boots.
fn run_boots(
    plan: &[PlannedBoot],
    boots: &[Launch],
    host_runs: &[Option<Result<HostRun, String>>],
    jobs: usize,
    verbose: bool,
    totals: &mut Totals,
) {
    let mut times: Vec<(String, Duration)> = Vec::new();
    let next = AtomicUsize::new(0);
    let (tx, rx) = mpsc::channel::<Msg>();
    thread::scope(|scope| {
        for _ in 0..jobs {
            let tx = tx.clone();
            let next = &next;
            scope.spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= boots.len() {
                        break;
                    }
                    let report = run_one(&plan[i], &boots[i], host_runs[i].as_ref(), verbose, &mut |line| {
                        let _ = tx.send(Msg::Line(i, line));
                    });
                    let _ = tx.send(Msg::Finished(i, Box::new(report)));
                }
            });
        }
        drop(tx);
        let mut pending: Vec<Vec<String>> = vec![Vec::new(); boots.len()];
        let mut finished: Vec<Option<Box<BootReport>>> = (0..boots.len()).map(|_| None).collect();
        let mut current = 0;
        for msg in rx {
            match msg {
                Msg::Line(i, line) if i == current => println!("{line}"),
                Msg::Line(i, line) => pending[i].push(line),
                Msg::Finished(i, report) => finished[i] = Some(report),
            }
            while current < boots.len() {
                let Some(report) = finished[current].take() else {
                    break;
                };
                for result in &report.results {
                    totals.add_with_suffix(result, &plan[current].suffix);
                }
                if let Some(elapsed) = report.elapsed {
                    let planned = &plan[current];
                    let name = planned.expect.fixed_name().unwrap_or(&planned.suite);
                    times.push((format!("{name}{}", planned.suffix), elapsed));
                }
                if report.show_details {
                    print!("{}", report.details);
                }
                current += 1;
                if current < boots.len() {
                    for line in pending[current].drain(..) {
                        println!("{line}");
                    }
                }
            }
        }
    });
    if let Some(line) = slowest_line(&times) {
        println!("{line}");
    }
}

/// A differential boot's program arguments (the words after `--`) and
/// environment (the `env=K=V` words before it), for its host run.
fn host_arguments(cmdline: &[String]) -> (Vec<String>, Vec<(String, String)>) {
    let at = cmdline.iter().position(|w| w == "--").unwrap_or(cmdline.len());
    let env = cmdline[..at]
        .iter()
        .filter_map(|w| w.strip_prefix("env="))
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    (cmdline.get(at + 1..).unwrap_or_default().to_vec(), env)
}

/// Runs one boot and judges it; `emit` gets each result line as it is
/// known. `host_run` is the host's run of a differential boot's program.
fn run_one(
    planned: &PlannedBoot,
    boot: &Launch,
    host_run: Option<&Result<HostRun, String>>,
    verbose: bool,
    emit: &mut dyn FnMut(String),
) -> BootReport {
    let mut parser = Parser::new();
    let live = matches!(planned.expect, Expect::Protocol { .. });
    let suffix = planned.suffix.as_str();
    let mut host = match boot {
        Launch::Qemu(b) => Network::from_qemu_args(&b.devices).map(|n| HostSide::new(&planned.suite, n)),
        Launch::Bochs(_) => None,
    };
    // Results come from the run record only; the console is kept to quote
    // in crash reports (and the host side reads its requests there).
    let mut on_output = |stream: Stream, chunk: &[u8]| match stream {
        Stream::Console => {
            if let Some(h) = host.as_mut() {
                h.feed(chunk);
            }
            parser.feed_console(chunk)
        }
        Stream::Record => {
            for event in parser.feed_records(chunk) {
                if let (true, Event::Result(result)) = (live, event) {
                    emit(result.line(suffix));
                }
            }
        }
    };
    let finished = match boot.run(&mut on_output) {
        Ok(finished) => finished,
        Err(e) => {
            let name = planned.expect.fixed_name().unwrap_or(&planned.suite);
            let result = TestResult::failed(name, format!("could not run {}: {e:#}", boot.emulator().name()));
            emit(result.line(suffix));
            return BootReport { results: vec![result], details: String::new(), show_details: false, elapsed: None };
        }
    };
    let verdict = finished.verdict.clone();
    let host_results = host.map(HostSide::finish).unwrap_or_default();
    let mut results = match planned.expect {
        Expect::Protocol { expect_tests } => {
            for event in parser.finish(&planned.suite, &verdict) {
                if let Event::Result(result) = event {
                    emit(result.line(suffix));
                }
            }
            let mut results = parser.results().to_vec();
            if expect_tests && results.is_empty() {
                let result =
                    TestResult::failed(&planned.suite, "the image has boot-time tests, but the run reported none");
                emit(result.line(suffix));
                results.push(result);
            }
            results
        }
        Expect::Outcome { name, output_contains, exit } => {
            let result = match check_outcome(output_contains, exit, &finished.serial, &verdict) {
                Ok(()) => TestResult::ok(name),
                Err(why) => TestResult::failed(name, why),
            };
            emit(result.line(suffix));
            vec![result]
        }
        Expect::SameAsLinux { prefix } => {
            let ours = same_as_linux::transcript(&String::from_utf8_lossy(&finished.serial));
            let our_end = match &verdict {
                Verdict::Exit(RunExit::Success) => Ok(()),
                other => Err(other.describe()),
            };
            let results = match host_run {
                Some(Ok(linux)) => {
                    let theirs = same_as_linux::transcript(&linux.stdout);
                    same_as_linux::compare(prefix, &theirs, &linux.end, &ours, &our_end)
                }
                Some(Err(why)) => vec![TestResult::failed(prefix, format!("the host run failed: {why}"))],
                None => vec![TestResult::failed(prefix, "the program was not run on the host")],
            };
            for result in &results {
                emit(result.line(suffix));
            }
            results
        }
        Expect::Harness { name, check } => {
            parser.finish(&planned.suite, &verdict);
            let result = match check_harness(&check, parser.results(), parser.done(), &verdict) {
                Ok(()) => TestResult::ok(name),
                Err(why) => TestResult::failed(name, why),
            };
            emit(result.line(suffix));
            vec![result]
        }
    };
    for result in host_results {
        emit(result.line(suffix));
        results.push(result);
    }
    let failed = results.iter().any(TestResult::is_failure);
    let mut details = format!(
        "    ---- {}{}: `{}` ({}, {}, {:.2} s)\n    $ {}\n",
        planned.suite,
        planned.suffix,
        boot.cmdline(),
        boot.emulator().name(),
        verdict.describe(),
        finished.elapsed.as_secs_f64(),
        finished.command
    );
    let serial = String::from_utf8_lossy(&finished.serial);
    details.push_str(&indented(&serial, if verbose { usize::MAX } else { FAILURE_TAIL_LINES }));
    // What the verdict was read from.
    details.push_str("    ---- the kernel's run record (COM2)\n");
    details.push_str(&indented(&String::from_utf8_lossy(&finished.records), FAILURE_TAIL_LINES));
    for line in finished.diagnostics.lines() {
        if line.starts_with("---- ") {
            details.push_str(&format!("    {line}\n"));
        } else {
            details.push_str(&format!("    | {line}\n"));
        }
    }
    // A Bochs run's files are kept for a failure.
    if failed && let Some(dir) = &finished.work_dir {
        details.push_str(&format!("    ---- the run's files are kept in {}\n", dir.display()));
    } else {
        finished.clean_up();
    }
    BootReport { results, details, show_details: verbose || failed, elapsed: Some(finished.elapsed) }
}

/// Checks a named outcome: a text in the output and the way the run ended.
pub fn check_outcome(
    output_contains: Option<&str>,
    exit: RunExit,
    serial: &[u8],
    verdict: &Verdict,
) -> Result<(), String> {
    let mut problems = Vec::new();
    if let Some(text) = output_contains
        && !String::from_utf8_lossy(serial).contains(text)
    {
        problems.push(format!("the output does not contain {text:?}"));
    }
    if *verdict != Verdict::Exit(exit) {
        problems.push(format!(
            "expected the run to end with {exit:?} ({}), but {}",
            run_result::describe_exit(exit),
            verdict.describe()
        ));
    }
    if problems.is_empty() { Ok(()) } else { Err(problems.join("; ")) }
}

/// Checks a harness self-check against what the inner run reported.
pub fn check_harness(
    check: &HarnessCheck,
    results: &[TestResult],
    done: Option<Done>,
    verdict: &Verdict,
) -> Result<(), String> {
    let mut problems = Vec::new();
    match *check {
        HarnessCheck::Results { results: expected, done: (passed, failed), exit } => {
            let got: Vec<(String, bool)> = results
                .iter()
                .filter(|r| !matches!(r.outcome, Outcome::Ignored(_)))
                .map(|r| (r.name.clone(), r.outcome == Outcome::Ok))
                .collect();
            let want: Vec<(String, bool)> = expected.iter().map(|(n, p)| (n.to_string(), *p)).collect();
            if got != want {
                let show = |list: &[(String, bool)]| {
                    list.iter()
                        .map(|(n, p)| format!("{n} {}", if *p { "ok" } else { "FAILED" }))
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                problems.push(format!("expected results [{}], got [{}]", show(&want), show(&got)));
            }
            if done != Some(Done { passed, failed }) {
                let got = done.map_or("none".to_string(), |d| format!("{} passed, {} failed", d.passed, d.failed));
                problems.push(format!("expected the done line {passed} passed, {failed} failed, got {got}"));
            }
            if *verdict != Verdict::Exit(exit) {
                problems.push(format!("expected the run to end with {exit:?}, but {}", verdict.describe()));
            }
        }
        HarnessCheck::CrashAttributed { test } => {
            let attributed = results
                .iter()
                .any(|r| r.name == test && matches!(&r.outcome, Outcome::Failed(why) if why.starts_with("crashed (")));
            if !attributed {
                problems.push(format!("`{test}` was not reported as crashed; results: {}", list(results)));
            }
            if results.len() != 1 {
                problems.push(format!("expected exactly one result, got {}", results.len()));
            }
            if *verdict != Verdict::Exit(RunExit::Failure) {
                problems.push(format!("expected a failure exit, but {}", verdict.describe()));
            }
        }
        HarnessCheck::TimeoutAttributed { test } => {
            let attributed = results.iter().any(|r| {
                r.name == test && matches!(&r.outcome, Outcome::Failed(why) if why.starts_with("timed out after"))
            });
            if !attributed {
                problems.push(format!("`{test}` was not reported as timed out; results: {}", list(results)));
            }
            if results.len() != 1 {
                problems.push(format!("expected exactly one result, got {}", results.len()));
            }
            if !matches!(verdict, Verdict::TimedOut(_)) {
                problems.push(format!("expected the run to time out, but {}", verdict.describe()));
            }
        }
    }
    if problems.is_empty() { Ok(()) } else { Err(problems.join("; ")) }
}

fn list(results: &[TestResult]) -> String {
    if results.is_empty() {
        return "none".to_string();
    }
    results.iter().map(|r| r.line("")).collect::<Vec<_>>().join(" | ")
}

/// The last `max` lines of `text`, each indented, with a note of what was
/// left out.
fn indented(text: &str, max: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let skip = lines.len().saturating_sub(max);
    let mut out = String::new();
    if skip > 0 {
        out.push_str(&format!("    | ({skip} earlier lines left out; --verbose shows them)\n"));
    }
    for line in &lines[skip..] {
        out.push_str("    | ");
        out.push_str(line.trim_end_matches('\r'));
        out.push('\n');
    }
    out
}

/// Prints the last `max` lines of `text`, indented.
pub fn print_indented(text: &str, max: usize) {
    print!("{}", indented(text, max));
}

#[cfg(test)]
mod tests {
    use super::*;

    const WRONG: &[(&str, bool)] = &[
        ("selfcheck::passes", true),
        ("selfcheck::assertion_fails", false),
        ("selfcheck::fault_never_comes", false),
        ("selfcheck::panic_never_comes", false),
    ];

    #[test]
    fn the_summary_names_each_failure_with_its_configuration_and_ends_with_the_counts() {
        let mut totals = Totals::default();
        totals.add(&TestResult::ok("a::passes"));
        totals.add_with_suffix(&TestResult::failed("a::fails", "expected 1\nthen more"), " [smp=4]");
        totals.add_with_suffix(&TestResult::failed("b::crashes", ""), "");
        totals.fail("host::build");
        assert_eq!(
            totals.summary(),
            "failures:\n    a::fails [smp=4]: expected 1 ...\n    b::crashes\n    host::build\n1 passed, 3 failed"
        );
        assert_eq!(Totals::default().summary(), "0 passed, 0 failed");
    }

    fn results_check() -> HarnessCheck {
        HarnessCheck::Results { results: WRONG, done: (1, 3), exit: RunExit::Failure }
    }

    /// Parses a transcript the way `run_one` does.
    fn parse(transcript: &str, verdict: &Verdict) -> (Vec<TestResult>, Option<Done>) {
        let mut parser = Parser::new();
        parser.feed_transcript(transcript);
        parser.finish("harness", verdict);
        (parser.results().to_vec(), parser.done())
    }

    const WRONG_TRANSCRIPT: &str = "\
[libos-test] start selfcheck::passes\n\
test selfcheck::passes ... ok\n\
[libos-test] start selfcheck::assertion_fails\n\
test selfcheck::assertion_fails ... FAILED: assertion failed: 1 == 2\n\
[libos-test] start selfcheck::fault_never_comes\n\
test selfcheck::fault_never_comes ... FAILED: expected fault #PF (vector 14), but it returned\n\
[libos-test] start selfcheck::panic_never_comes\n\
test selfcheck::panic_never_comes ... FAILED: expected panic, but it returned\n\
[libos-test] done: 1 passed, 3 failed\n\
[libos] exit: failure\n";

    #[test]
    fn harness_accepts_the_expected_failures() {
        let verdict = Verdict::Exit(RunExit::Failure);
        let (results, done) = parse(WRONG_TRANSCRIPT, &verdict);
        assert_eq!(check_harness(&results_check(), &results, done, &verdict), Ok(()));
    }

    #[test]
    fn harness_fails_when_a_failing_test_passes() {
        let transcript = WRONG_TRANSCRIPT
            .replace(
                "test selfcheck::fault_never_comes ... FAILED: expected fault #PF (vector 14), but it returned",
                "test selfcheck::fault_never_comes ... ok",
            )
            .replace("1 passed, 3 failed", "2 passed, 2 failed");
        let verdict = Verdict::Exit(RunExit::Failure);
        let (results, done) = parse(&transcript, &verdict);
        let err = check_harness(&results_check(), &results, done, &verdict).unwrap_err();
        assert!(err.contains("selfcheck::fault_never_comes ok"), "{err}");
        assert!(err.contains("got 2 passed, 2 failed"), "{err}");
    }

    #[test]
    fn harness_fails_when_the_run_succeeds() {
        let verdict = Verdict::Exit(RunExit::Success);
        let (results, done) = parse(WRONG_TRANSCRIPT, &verdict);
        let err = check_harness(&results_check(), &results, done, &verdict).unwrap_err();
        assert!(err.contains("expected the run to end with Failure"), "{err}");
    }

    #[test]
    fn crash_attribution_check() {
        let check = HarnessCheck::CrashAttributed { test: "selfcheck::crashes" };
        let transcript = "[libos-test] start selfcheck::crashes\n\
                          [libos] unexpected kernel exception #GP at 0xffffffff80101000\n\
                          [libos] exit: failure\n";
        let verdict = Verdict::Exit(RunExit::Failure);
        let (results, done) = parse(transcript, &verdict);
        assert_eq!(check_harness(&check, &results, done, &verdict), Ok(()));
        // The kernel reporting the test itself is not crash attribution.
        let reported = "[libos-test] start selfcheck::crashes\n\
                        test selfcheck::crashes ... FAILED: exception\n\
                        [libos-test] done: 0 passed, 1 failed\n";
        let (results, done) = parse(reported, &verdict);
        let err = check_harness(&check, &results, done, &verdict).unwrap_err();
        assert!(err.contains("was not reported as crashed"), "{err}");
    }

    #[test]
    fn timeout_attribution_check() {
        let check = HarnessCheck::TimeoutAttributed { test: "selfcheck::hangs" };
        let verdict = Verdict::TimedOut(Duration::from_secs(10));
        let (results, done) = parse("[libos-test] start selfcheck::hangs\n", &verdict);
        assert_eq!(check_harness(&check, &results, done, &verdict), Ok(()));
        let exited = Verdict::Exit(RunExit::Failure);
        let (results, done) = parse("[libos-test] start selfcheck::hangs\n", &exited);
        let err = check_harness(&check, &results, done, &exited).unwrap_err();
        assert!(err.contains("expected the run to time out"), "{err}");
    }

    #[test]
    fn test_records_are_found_by_their_bracketing_symbols() {
        use crate::build::image::tests::{Seg, synthetic_elf};
        let dir = std::env::temp_dir().join(format!("xtask-has-tests-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let seg = || Seg { vaddr: 0x40_0000, paddr: 0x40_0000, data: vec![0; 64], mem_size: 64, flags: 4 };
        let cases: [(&[(&str, u64)], bool); 3] = [
            (&[(TESTS_START_SYMBOL, 0x40_0000), (TESTS_END_SYMBOL, 0x40_0030)], true),
            (&[(TESTS_START_SYMBOL, 0x40_0030), (TESTS_END_SYMBOL, 0x40_0030)], false),
            (&[("_start", 0x40_0000)], false),
        ];
        for (i, (symbols, expected)) in cases.into_iter().enumerate() {
            let path = dir.join(format!("app{i}"));
            std::fs::write(&path, synthetic_elf(&[seg()], symbols, 0x40_0000)).unwrap();
            assert_eq!(has_boot_tests(&path).unwrap(), expected, "{symbols:?}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn outcome_checks() {
        let failure = Verdict::Exit(RunExit::Failure);
        let text = b"libos: this CPU has no 64-bit long mode (CPUID ...)\r\n";
        assert_eq!(check_outcome(Some("has no 64-bit long mode"), RunExit::Failure, text, &failure), Ok(()));
        let err = check_outcome(Some("has no execute-disable bit"), RunExit::Failure, text, &failure).unwrap_err();
        assert!(err.contains("does not contain"), "{err}");
        let reset = Verdict::Problem("QEMU exited with status 0: the guest reset itself".into());
        let err = check_outcome(None, RunExit::Success, b"", &reset).unwrap_err();
        assert!(err.contains("the guest reset itself"), "{err}");
    }

    #[test]
    fn the_slowest_boots_are_named() {
        let secs = |s: u64| Duration::from_millis(s * 100);
        let times: Vec<(String, Duration)> = [("a", 5), ("b [smp=4]", 31), ("c", 12), ("d", 20)]
            .iter()
            .map(|(n, t)| (n.to_string(), secs(*t)))
            .collect();
        assert_eq!(slowest_line(&times).unwrap(), "slowest boots: b [smp=4] 3.1 s, d 2.0 s, c 1.2 s");
        assert_eq!(slowest_line(&[]), None);
    }

    #[test]
    fn indentation_keeps_the_tail() {
        let text = "a\r\nb\nc\n";
        assert_eq!(indented(text, 10), "    | a\n    | b\n    | c\n");
        assert!(indented(text, 1).starts_with("    | (2 earlier lines left out"));
    }
}
