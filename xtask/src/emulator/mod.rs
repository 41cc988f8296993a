//! The emulators a boot runs under (QEMU, Bochs), behind one interface for
//! the test runner.

pub mod accel;
pub mod bochs;
pub mod process;
pub mod qemu;
pub mod run_result;

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
    /// Everything the guest printed on its serial port.
    pub serial: Vec<u8>,
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

    /// Boots, feeding the serial output to `on_serial` as it arrives, and
    /// judges the run.
    pub fn run(&self, on_serial: &mut dyn FnMut(&[u8])) -> Result<Ended> {
        match self {
            Launch::Qemu(boot) => {
                let finished = qemu::run(boot, qemu::Stderr::Capture, on_serial)?;
                let stderr = String::from_utf8_lossy(&finished.stderr);
                let diagnostics =
                    if stderr.trim().is_empty() { String::new() } else { format!("---- QEMU's stderr\n{stderr}") };
                Ok(Ended {
                    verdict: run_result::decode(finished.end, &finished.serial),
                    serial: finished.serial,
                    diagnostics,
                    elapsed: finished.elapsed,
                    command: boot.shell_command(),
                    work_dir: None,
                })
            }
            Launch::Bochs(boot) => {
                let finished = bochs::run(boot, on_serial)?;
                Ok(Ended {
                    verdict: finished.verdict,
                    serial: finished.serial,
                    diagnostics: finished.diagnostics,
                    elapsed: finished.elapsed,
                    command: finished.command,
                    work_dir: Some(finished.work_dir),
                })
            }
        }
    }
}
