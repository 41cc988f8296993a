//! The emulators a boot runs under (QEMU, Bochs), behind one interface for
//! the test runner.

pub mod accel;
pub mod bochs;
pub mod console_input;
pub mod network;
pub mod process;
pub mod qemu;
pub mod run_result;
pub mod tap;

use std::fs;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;

use self::run_result::Verdict;

/// Which emulator boots the images.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Emulator {
    /// QEMU (TCG by default): fast; no PCID.
    #[default]
    Qemu,
    /// Bochs, from a GRUB rescue ISO: slow; CPU models with PCID and INVPCID.
    Bochs,
}

impl Emulator {
    /// Its name in messages and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Emulator::Qemu => "qemu",
            Emulator::Bochs => "bochs",
        }
    }
}

/// Which of the guest's two serial ports a chunk of output comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    /// COM1, the console: the kernel's messages and the app's output. The
    /// app can write anything there, so it is shown, never trusted.
    Console,
    /// COM2, the run record: the lines the kernel alone writes (exit line,
    /// test protocol; see `libos_abi::run`). Verdicts come from here.
    Record,
}

/// One boot, under either emulator.
#[derive(Clone, Debug)]
pub enum Launch {
    /// A QEMU boot.
    Qemu(qemu::Boot),
    /// A Bochs boot.
    Bochs(bochs::Boot),
}

/// A finished boot, whatever ran it.
#[derive(Clone, Debug)]
pub struct Ended {
    /// What the run means.
    pub verdict: Verdict,
    /// Everything the guest printed on its console (COM1).
    pub serial: Vec<u8>,
    /// The kernel's run record (COM2).
    pub records: Vec<u8>,
    /// The emulator's own messages worth showing with a failure (titled
    /// `---- ...` sections), or empty.
    pub diagnostics: String,
    /// Wall time of the emulator process.
    pub elapsed: Duration,
    /// The shell command that repeats the boot.
    pub command: String,
    /// A directory with the run's files (Bochs), for [`Ended::clean_up`].
    pub work_dir: Option<PathBuf>,
}

impl Ended {
    /// Removes the run's files (call it when they are not needed).
    pub fn clean_up(&self) {
        if let Some(dir) = &self.work_dir {
            let _ = fs::remove_dir_all(dir);
        }
    }
}

impl Launch {
    /// The emulator.
    pub fn emulator(&self) -> Emulator {
        match self {
            Launch::Qemu(_) => Emulator::Qemu,
            Launch::Bochs(_) => Emulator::Bochs,
        }
    }

    /// The kernel command line.
    pub fn cmdline(&self) -> &str {
        match self {
            Launch::Qemu(boot) => &boot.cmdline,
            Launch::Bochs(boot) => &boot.cmdline,
        }
    }

    /// Boots, feeding the console and the run record to `on_output` as they
    /// arrive, and judges the run.
    pub fn run(&self, on_output: &mut dyn FnMut(Stream, &[u8])) -> Result<Ended> {
        match self {
            Launch::Qemu(boot) => {
                let finished = qemu::run(boot, qemu::Stderr::Capture, on_output)?;
                let stderr = String::from_utf8_lossy(&finished.stderr);
                let diagnostics =
                    if stderr.trim().is_empty() { String::new() } else { format!("---- QEMU's stderr\n{stderr}") };
                Ok(Ended {
                    verdict: run_result::decode(finished.end, &finished.records),
                    serial: finished.serial,
                    records: finished.records,
                    diagnostics,
                    elapsed: finished.elapsed,
                    command: boot.shell_command(),
                    work_dir: None,
                })
            }
            Launch::Bochs(boot) => {
                let finished = bochs::run(boot, on_output)?;
                Ok(Ended {
                    verdict: finished.verdict,
                    serial: finished.serial,
                    records: finished.records,
                    diagnostics: finished.diagnostics,
                    elapsed: finished.elapsed,
                    command: finished.command,
                    work_dir: Some(finished.work_dir),
                })
            }
        }
    }
}
