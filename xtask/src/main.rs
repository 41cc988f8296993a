//! `cargo xtask`: builds, runs and tests the library OS images.
//!
//! Modules:
//! - [`commands`]: `build`, `image` and `run`;
//! - [`build`]: cargo invocations for the kernel and the apps, file layout;
//!   [`build::image`]: the bootable image (kernel loaded flat + app payload);
//! - [`emulator`]: QEMU or Bochs behind one interface, with
//!   [`emulator::qemu`] (QEMU's command line and a supervised, time-limited
//!   run), [`emulator::bochs`] (booting under Bochs, for PCID, from a GRUB
//!   rescue ISO, judged from the serial output), [`emulator::accel`] (TCG,
//!   KVM, or KVM after a cached probe), [`emulator::process`] (emulator
//!   processes that die with the xtask) and [`emulator::run_result`] (how a
//!   run ended: QEMU status + exit line → verdict);
//! - [`testing`]: `cargo xtask test`: [`testing::plan`] (the table of
//!   boot-time test suites), [`testing::runner`], [`testing::serial_protocol`]
//!   (the boot-time test protocol on the serial port),
//!   [`testing::hook_symbols`] (no hooks in production kernels) and
//!   [`testing::host_tests`] (the host unit tests, summarised);
//! - [`mod@bench`]: `cargo xtask bench` (the bench app's output, figures, JSON,
//!   comparison, targets, the console report, the environment);
//! - [`lint`]: `cargo xtask lint` (what CI checks);
//! - [`install`]: finding (and installing) the Rust targets, QEMU, Bochs and
//!   GRUB's tools.

mod bench;
mod build;
mod cli;
mod commands;
mod emulator;
mod install;
mod lint;
mod new_app;
mod testing;

use std::process::ExitCode;

use crate::bench::BenchOptions;
use crate::build::app;
use crate::cli::{Cli, Command};
use crate::commands::{AppChoice, ImageSpec, RunOptions, Spelling};
use crate::emulator::{bochs, run_result};
use crate::new_app::LibosSource;
use crate::testing::runner::{self, TestOptions};

fn main() -> ExitCode {
    let (spelling, cli) = Cli::parse_args(std::env::args_os().collect());
    match dispatch(spelling, cli) {
        Ok(status) => ExitCode::from(status.clamp(0, 255) as u8),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(run_result::PROBLEM_STATUS as u8)
        }
    }
}

fn dispatch(spelling: Spelling, cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        Command::Build { target } => {
            let (layout, app) = commands::select(spelling, &target.choice())?;
            commands::build(&layout, &ImageSpec { app, flavor: target.flavor(), elf: target.elf.clone() }).map(|()| 0)
        }
        Command::Image { target, output, machine, cmdline } => {
            let (layout, app) = commands::select(spelling, &target.choice())?;
            let spec = ImageSpec { app, flavor: target.flavor(), elf: target.elf.clone() };
            commands::image(&layout, &spec, &output, &machine.boot_options(&cmdline)).map(|()| 0)
        }
        Command::Run { target, boot, gdb, files, stdin } => {
            boot.check(gdb)?;
            let (layout, app) = commands::select(spelling, &target.choice())?;
            let opts = RunOptions {
                boot: boot.boot_options(),
                emulator: boot.emulator,
                bochs_cpu: boot.bochs_cpu.clone().unwrap_or_else(|| bochs::DEFAULT_CPU.to_string()),
                accel: boot.accel(),
                gdb,
                timeout: boot.timeout(),
                network: boot.network()?,
                tap: boot.tap(),
                files: files.files,
                disk: files.disk,
                stdin,
            };
            commands::run(&layout, &ImageSpec { app, flavor: target.flavor(), elf: target.elf.clone() }, &opts)
        }
        Command::Test { filter, app_path, elf, release, boot, verbose, jobs, no_host } => {
            boot.check(false)?;
            // A prebuilt program; an app by its directory; with `cargo
            // libos`, the app of the current directory if there is one; else
            // the whole suite.
            let choice = match (app_path, spelling) {
                _ if elf.is_some() => elf.clone().map(AppChoice::Elf),
                (Some(dir), _) => Some(AppChoice::Path(dir)),
                (None, Spelling::CargoLibos) => app::current_app_dir().map(AppChoice::Path),
                (None, Spelling::Xtask) => None,
            };
            let (layout, app) = match choice {
                Some(choice) => commands::select(spelling, &choice)?,
                None => (commands::framework(spelling)?, None),
            };
            let jobs = jobs
                .map(|j| j as usize)
                .unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
            let opts = TestOptions {
                layout,
                app,
                elf,
                filter,
                release,
                emulator: boot.emulator,
                accel: boot.accel(),
                timeout: boot.timeout(),
                mem: boot.machine.mem.clone(),
                smp: boot.machine.smp,
                firmware: boot.machine.firmware(),
                cmdline_words: boot.cmdline.option_words(),
                extra: boot.cmdline.extra.clone(),
                bochs_cpu: boot.bochs_cpu,
                verbose,
                jobs,
                no_host,
            };
            runner::run(&opts)
        }
        Command::New { name, path, libos } => {
            let source = match (libos.git.clone(), &libos.libos_path) {
                (Some(url), _) => Some(LibosSource::Git { url, pin: libos.pin() }),
                (None, Some(dir)) => Some(LibosSource::Path(new_app::framework_root(dir)?)),
                (None, None) => None,
            };
            new_app::command(spelling, name, path, source).map(|()| 0)
        }
        Command::Bench { .. } | Command::Lint if spelling == Spelling::CargoLibos => {
            anyhow::bail!("`bench` and `lint` check the framework itself: run `cargo xtask bench|lint` in its checkout")
        }
        Command::Bench { quick, compare, runs, iterations, no_bochs, no_linux, out, breakdown, only, net } => {
            if net == Some(cli::NetMode::None) {
                anyhow::bail!("bench --net: the HTTP part needs a network (user or tap)");
            }
            let tap = net == Some(cli::NetMode::Tap);
            bench::run(&BenchOptions {
                quick,
                compare,
                runs,
                iterations,
                no_bochs,
                out,
                no_linux,
                breakdown,
                only,
                tap,
            })
        }
        Command::Lint => lint::run().map(|()| 0),
    }
}
