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
//!   (the boot-time test protocol on the serial port) and
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
mod testing;

use std::process::ExitCode;

use clap::Parser;

use crate::bench::BenchOptions;
use crate::cli::{Cli, Command};
use crate::commands::RunOptions;
use crate::emulator::{bochs, run_result};
use crate::testing::runner::{self, TestOptions};

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
            commands::image(&target.spec(), &output, &machine.boot_options(&cmdline)).map(|()| 0)
        }
        Command::Run { target, boot, gdb } => {
            boot.check(gdb)?;
            let opts = RunOptions {
                boot: boot.boot_options(),
                emulator: boot.emulator,
                bochs_cpu: boot.bochs_cpu.clone().unwrap_or_else(|| bochs::DEFAULT_CPU.to_string()),
                accel: boot.accel(),
                gdb,
                timeout: boot.timeout(),
            };
            commands::run(&target.spec(), &opts)
        }
        Command::Test { filter, release, boot, verbose, jobs, no_host } => {
            boot.check(false)?;
            let jobs = jobs
                .map(|j| j as usize)
                .unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
            let opts = TestOptions {
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
        Command::Bench { quick, compare, runs, iterations, no_bochs, no_linux, out } => {
            bench::run(&BenchOptions { quick, compare, runs, iterations, no_bochs, out, no_linux })
        }
        Command::Lint => lint::run().map(|()| 0),
    }
}
