//! `cargo xtask build`, `image` and `run`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};

use crate::build::disk::{self, DiskSpec};
use crate::build::image::Image;
use crate::build::{Flavor, Layout, app, cpio};
use crate::emulator::accel::{self, AccelChoice, ProbeSetup};
use crate::emulator::qemu::{self, Accel, Boot, Firmware, Machine, QEMU, shell_quote};
use crate::emulator::run_result::{self, Verdict};
use crate::emulator::{Emulator, Stream};
use crate::emulator::{bochs, console_input};
use crate::install;

/// How the tool was invoked: the same commands, two spellings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Spelling {
    /// `cargo xtask ...`, in the framework's checkout (the alias runs the
    /// xtask package's binary).
    Xtask,
    /// `cargo libos ...`: the installed `cargo-libos`, usually in an app's
    /// own directory.
    CargoLibos,
}

impl Spelling {
    /// The command as typed: `cargo xtask` or `cargo libos`.
    pub fn command(self) -> &'static str {
        match self {
            Spelling::Xtask => "cargo xtask",
            Spelling::CargoLibos => "cargo libos",
        }
    }
}

/// Which app a command works on, as the command line says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AppChoice {
    /// One of the framework's apps (`apps/NAME`).
    Named(String),
    /// An app crate by its directory, anywhere on disk.
    Path(PathBuf),
    /// The app of the current directory.
    Current,
    /// The kernel alone.
    KernelOnly,
    /// A prebuilt static Linux executable (`--elf PATH`).
    Elf(PathBuf),
}

/// The framework's workspace: with `cargo xtask`, the xtask's own; with
/// `cargo libos`, the one around the current directory.
pub fn framework(spelling: Spelling) -> Result<Layout> {
    match spelling {
        Spelling::Xtask => Ok(Layout::new()),
        Spelling::CargoLibos => app::framework_around_current_dir().map(Layout::workspace),
    }
}

/// The layout that builds the chosen app, and the app's name (`None` for
/// the kernel alone).
pub fn select(spelling: Spelling, choice: &AppChoice) -> Result<(Layout, Option<String>)> {
    let dir = match choice {
        AppChoice::Named(name) => return Ok((framework(spelling)?, Some(name.clone()))),
        AppChoice::KernelOnly => return Ok((framework(spelling)?, None)),
        AppChoice::Elf(path) => return Ok((framework(spelling)?, Some(elf_app_name(path)?))),
        AppChoice::Path(dir) => dir.clone(),
        AppChoice::Current => match app::current_app_dir() {
            Some(dir) => dir,
            None => {
                let named = match framework(spelling).and_then(|layout| layout.apps()) {
                    Ok(apps) => format!(" or the name of one of the framework's apps ({})", apps.join(", ")),
                    Err(_) => String::new(),
                };
                bail!(
                    "there is no app in the current directory: run this in an app's directory, or give \
                     --app-path DIR{named}"
                )
            }
        },
    };
    let located = app::locate(&dir)?;
    let ours = env!("CARGO_PKG_VERSION");
    if located.libos_version != ours {
        eprintln!(
            "xtask: note: this tool is version {ours} and the app's libos {}; if the build fails, \
             install the tool from the same source (`cargo install --locked --path <framework>/xtask`)",
            located.libos_version
        );
    }
    Ok((located.layout, Some(located.name)))
}

/// The app name of a prebuilt program: its file name (its `argv[0]`).
pub fn elf_app_name(path: &Path) -> Result<String> {
    anyhow::ensure!(path.is_file(), "--elf {}: no such file", path.display());
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    anyhow::ensure!(
        !name.is_empty() && !name.contains(char::is_whitespace),
        "--elf {}: the file name (the program's argv[0]) must be one word",
        path.display()
    );
    Ok(name)
}

/// Which image to build.
#[derive(Clone, Debug)]
pub struct ImageSpec {
    /// The app, or `None` for the kernel alone.
    pub app: Option<String>,
    /// Profile and kernel flavour.
    pub flavor: Flavor,
    /// A prebuilt program to use as the app (`--elf`) instead of building
    /// `app`, which is then its file name.
    pub elf: Option<PathBuf>,
}

/// A built image and the ELF files it came from.
#[derive(Clone, Debug)]
pub struct Built {
    /// The kernel ELF (with symbols, for gdb).
    pub kernel_elf: PathBuf,
    /// The app ELF, if there is an app.
    pub app_elf: Option<PathBuf>,
    /// The image.
    pub image: Image,
}

/// Builds the kernel and the app and writes the image to `out`.
pub fn build_image(layout: &Layout, spec: &ImageSpec, out: &Path) -> Result<Built> {
    if let (Some(app), None) = (&spec.app, &spec.elf) {
        layout.check_app(app)?;
    }
    let app_elf = match (&spec.app, &spec.elf) {
        (_, Some(elf)) => Some(elf.clone()),
        (Some(app), None) => Some(layout.build_app(app, spec.flavor)?),
        (None, None) => None,
    };
    let kernel_elf = layout.build_kernel(spec.flavor)?;
    let app_input = spec.app.as_deref().zip(app_elf.as_deref());
    let image = layout.write_image(&kernel_elf, app_input, out)?;
    Ok(Built { kernel_elf, app_elf, image })
}

/// `cargo xtask build`.
pub fn build(layout: &Layout, spec: &ImageSpec) -> Result<()> {
    let out = layout.image(spec.app.as_deref(), spec.flavor);
    let built = build_image(layout, spec, &out)?;
    println!("{}", out.display());
    println!("{}", built.image.size_report());
    Ok(())
}

/// What to boot and how, as given on the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BootOptions {
    /// `--smp`.
    pub smp: u32,
    /// `--mem`.
    pub mem: String,
    /// `--firmware`.
    pub firmware: Firmware,
    /// The kernel command line.
    pub cmdline: String,
}

/// `cargo xtask image`: writes the image to `out` and prints how to boot it.
pub fn image(layout: &Layout, spec: &ImageSpec, out: &Path, boot: &BootOptions) -> Result<()> {
    let built = build_image(layout, spec, out)?;
    println!("wrote {}", out.display());
    println!("{}", built.image.size_report());
    let example = Boot {
        qemu: PathBuf::from(QEMU),
        image: out.to_path_buf(),
        initrd: None,
        cmdline: boot.cmdline.clone(),
        machine: Machine {
            accel: Accel::Tcg,
            cpu: None,
            mem: boot.mem.clone(),
            smp: boot.smp,
            firmware: boot.firmware,
            icount: false,
        },
        gdb: false,
        timeout: None,
        devices: Vec::new(),
        stdin: None,
    };
    println!("boot it with:\n    {}", example.shell_command());
    if boot.firmware == Firmware::Qboot {
        println!("(without `-bios {}` QEMU uses SeaBIOS, which boots too, a little slower)", qemu::QBOOT_ROM);
    }
    Ok(())
}

/// The timeout of `cargo xtask run` under QEMU unless `--timeout` says
/// otherwise.
pub const QEMU_RUN_TIMEOUT: Duration = Duration::from_secs(60);

/// `cargo xtask run`'s own options.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// The machine and command line.
    pub boot: BootOptions,
    /// `--emulator`.
    pub emulator: Emulator,
    /// `--bochs-cpu` (Bochs).
    pub bochs_cpu: String,
    /// `--accel` (QEMU).
    pub accel: AccelChoice,
    /// `--gdb` (QEMU).
    pub gdb: bool,
    /// `--timeout` (ignored with `--gdb`); `None`: [`QEMU_RUN_TIMEOUT`] or
    /// [`bochs::DEFAULT_TIMEOUT`].
    pub timeout: Option<Duration>,
    /// `--net`/`--forward` (QEMU): the guest's network card, if any.
    pub network: Option<crate::emulator::network::Network>,
    /// `--net tap` (QEMU): the card on a tap device in a network namespace.
    pub tap: bool,
    /// `--files DIR`.
    pub files: Option<PathBuf>,
    /// `--disk FILE[,size=SIZE]`.
    pub disk: Option<DiskSpec>,
    /// `--stdin FILE` (QEMU): typed on the console, then end of file.
    pub stdin: Option<PathBuf>,
}

/// The mount point of `--disk` when the command line names none.
pub const DEFAULT_DISK_MOUNT: &str = "/data";

/// Packs `--files DIR` into `target/images/<app>-files.cpio`; its path.
fn pack_files(layout: &Layout, app: Option<&str>, dir: &Path) -> Result<PathBuf> {
    let archive = cpio::pack_dir(dir)?;
    let out = layout.image(app, Flavor::plain(false)).with_extension("files.cpio");
    std::fs::write(&out, &archive).with_context(|| format!("writing {}", out.display()))?;
    // In bytes: a folder of a few small files makes an archive under 1 KiB,
    // which "0 KiB" would misreport as empty.
    eprintln!("xtask: --files {}: {} byte archive {}", dir.display(), archive.len(), out.display());
    Ok(out)
}

/// The kernel command line with `fs.disk=` added for `--disk` if missing.
fn cmdline_with_disk(cmdline: &str, disk: bool) -> String {
    let mut kernel_words = cmdline.split_whitespace().take_while(|w| *w != "--");
    if !disk || kernel_words.any(|w| w.starts_with("fs.disk=")) {
        return cmdline.to_string();
    }
    let disk_word = format!("fs.disk={DEFAULT_DISK_MOUNT}");
    if cmdline.is_empty() { disk_word } else { format!("{disk_word} {cmdline}") }
}

/// `cargo xtask run`: returns the exit status to exit with.
pub fn run(layout: &Layout, spec: &ImageSpec, opts: &RunOptions) -> Result<i32> {
    if opts.emulator == Emulator::Bochs {
        ensure!(opts.stdin.is_none(), "--stdin is for QEMU only");
        return run_bochs(layout, spec, opts);
    }
    let stdin = match &opts.stdin {
        Some(path) => {
            let text = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            if !console_input::passes_unchanged(&text) {
                eprintln!(
                    "xtask: {} holds carriage returns or Ctrl-D: the console, a terminal, changes them",
                    path.display()
                );
            }
            Some(console_input::typed(&text))
        }
        None => None,
    };
    let qemu_path = install::ensure_qemu()?;
    let out = layout.image(spec.app.as_deref(), spec.flavor);
    let built = build_image(layout, spec, &out)?;
    let initrd = opts.files.as_deref().map(|dir| pack_files(layout, spec.app.as_deref(), dir)).transpose()?;
    let mut devices = Vec::new();
    if let Some(d) = &opts.disk {
        disk::prepare(d)?;
        devices = disk::qemu_args(&d.path);
    }
    if let Some(n) = &opts.network {
        devices.extend(n.qemu_args());
    }
    let tap = opts.tap.then(crate::emulator::tap::TapNetwork::create).transpose()?;
    let mut cmdline = cmdline_with_disk(&opts.boot.cmdline, opts.disk.is_some());
    if let Some(tap) = &tap {
        devices.extend(tap.qemu_args());
        cmdline = format!("{} {cmdline}", crate::emulator::tap::kernel_words()).trim_end().to_string();
        eprintln!(
            "xtask: --net tap: the guest is {} in the network namespace {}; from the host: `ip netns exec {} curl \
             http://10.0.3.2/` (the namespace is deleted when the run ends)",
            crate::emulator::tap::GUEST_ADDRESS,
            tap.name(),
            tap.name()
        );
    }

    let machine = Machine {
        accel: Accel::Tcg,
        cpu: None,
        mem: opts.boot.mem.clone(),
        smp: opts.boot.smp,
        firmware: opts.boot.firmware,
        icount: false,
    };
    let setup = ProbeSetup { qemu: &qemu_path, machine: machine.clone(), cache: layout.state_dir().join("kvm-probe") };
    let release = spec.flavor.release;
    let chosen = accel::choose(opts.accel, &setup, &mut || {
        let flavor = Flavor::plain(release);
        let app = accel::probe_app(layout);
        let probe = ImageSpec { app: Some(app.clone()), flavor, elf: None };
        let path = layout.image(Some(&app), flavor);
        build_image(layout, &probe, &path).map(|_| path)
    });
    eprintln!("xtask: accelerator: {} ({})", chosen.accel.name(), chosen.reason);

    let boot = Boot {
        qemu: qemu_path,
        image: out,
        initrd,
        cmdline,
        machine: Machine { accel: chosen.accel, ..machine },
        gdb: opts.gdb,
        timeout: if opts.gdb { None } else { Some(opts.timeout.unwrap_or(QEMU_RUN_TIMEOUT)) },
        devices,
        stdin,
    };
    eprintln!("xtask: $ {}", boot.shell_command());
    if opts.gdb {
        eprintln!("xtask: QEMU waits for gdb on localhost:1234 (no timeout). Attach with:");
        eprintln!("    {}", gdb_command(&built.kernel_elf, built.app_elf.as_deref()));
    }
    // QEMU starts inside the tap network's namespace (this thread's).
    let _inside = tap.as_ref().map(|t| t.enter()).transpose()?;
    let stdout = std::io::stdout();
    // The console is shown; the run record (the kernel's exit line) is
    // what the verdict comes from.
    let finished = qemu::run(&boot, qemu::Stderr::Echo, &mut |stream, chunk| {
        if stream == Stream::Console {
            let mut out = stdout.lock();
            let _ = out.write_all(chunk);
            let _ = out.flush();
        }
    })
    .context("running QEMU")?;
    let verdict = run_result::decode(finished.end, &finished.records);
    let status = verdict.shell_status();
    match &verdict {
        Verdict::Exit(_) => {
            eprintln!("xtask: {} ({:.2} s; exit status {status})", verdict.describe(), finished.elapsed.as_secs_f64())
        }
        Verdict::TimedOut(_) => eprintln!("xtask: {}", verdict.describe()),
        Verdict::Problem(_) if opts.gdb && String::from_utf8_lossy(&finished.stderr).contains("GDBstub") => {
            eprintln!("xtask: gdb ended QEMU before the guest ended the run");
        }
        // QEMU's stderr, if any, was shown above as it came.
        Verdict::Problem(problem) => eprintln!("xtask: {problem}"),
    }
    Ok(status)
}

/// `cargo xtask run --emulator bochs`: returns the exit status to exit with.
fn run_bochs(layout: &Layout, spec: &ImageSpec, opts: &RunOptions) -> Result<i32> {
    if opts.disk.is_some() {
        bail!("--disk needs QEMU: Bochs has no virtio devices");
    }
    if opts.network.is_some() || opts.tap {
        bail!("--net and --forward need QEMU: Bochs has no virtio network card");
    }
    let tools = install::ensure_bochs()?;
    bochs::remove_stale_runs(&layout.bochs_work_dir());
    let out = layout.image(spec.app.as_deref(), spec.flavor);
    build_image(layout, spec, &out)?;
    let module = opts.files.as_deref().map(|dir| pack_files(layout, spec.app.as_deref(), dir)).transpose()?;
    let boot = bochs::Boot {
        tools,
        image: out,
        cmdline: opts.boot.cmdline.clone(),
        module,
        machine: bochs::Machine {
            cpu: opts.bochs_cpu.clone(),
            smp: opts.boot.smp,
            mem_mib: bochs::mem_mib(&opts.boot.mem).map_err(anyhow::Error::msg)?,
        },
        timeout: opts.timeout.unwrap_or(bochs::DEFAULT_TIMEOUT),
        iso_dir: layout.bochs_iso_dir(),
        work_root: layout.bochs_work_dir(),
    };
    eprintln!("xtask: bochs: CPU model {}; timeout {}", boot.machine.describe(), run_result::format_secs(boot.timeout));
    let stdout = std::io::stdout();
    let finished = bochs::run(&boot, &mut |stream, chunk| {
        if stream == Stream::Console {
            let mut out = stdout.lock();
            let _ = out.write_all(chunk);
            let _ = out.flush();
        }
    })
    .context("running Bochs")?;
    let status = finished.verdict.shell_status();
    match &finished.verdict {
        Verdict::Exit(_) => {
            eprintln!(
                "xtask: {} ({:.2} s under Bochs; exit status {status})",
                finished.verdict.describe(),
                finished.elapsed.as_secs_f64()
            );
            let _ = std::fs::remove_dir_all(&finished.work_dir);
        }
        other => {
            eprint!("{}", finished.diagnostics);
            eprintln!("xtask: {}", other.describe());
            eprintln!("xtask: the run's files are kept in {}; to run it again:", finished.work_dir.display());
            eprintln!("    {}", finished.command);
        }
    }
    Ok(status)
}

/// The gdb command line that attaches to QEMU with the kernel's (and the
/// app's) symbols.
pub fn gdb_command(kernel_elf: &Path, app_elf: Option<&Path>) -> String {
    let mut words = vec![
        "gdb".to_string(),
        shell_quote(&absolute(kernel_elf).to_string_lossy()),
        "-ex".into(),
        shell_quote("target remote :1234"),
    ];
    if let Some(app) = app_elf {
        words.push("-ex".into());
        words.push(shell_quote(&format!("add-symbol-file {}", absolute(app).display())));
    }
    words.join(" ")
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gdb_lines() {
        assert_eq!(
            gdb_command(Path::new("/w/target/images/kernel.elf"), None),
            "gdb /w/target/images/kernel.elf -ex 'target remote :1234'"
        );
        assert_eq!(
            gdb_command(
                Path::new("/w/target/images/kernel.elf"),
                Some(Path::new("/w/target/user/x86_64-unknown-linux-musl/debug/hello"))
            ),
            "gdb /w/target/images/kernel.elf -ex 'target remote :1234' \
             -ex 'add-symbol-file /w/target/user/x86_64-unknown-linux-musl/debug/hello'"
        );
    }
}
