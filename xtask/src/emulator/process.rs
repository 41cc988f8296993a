//! Supervising emulator processes: they die with the xtask and are always
//! reaped.
//!
//! An emulator is started with `PR_SET_PDEATHSIG = SIGKILL` ([`die_with_parent`]),
//! so it dies when the thread that started it dies (the xtask killed by
//! Ctrl-C included). A [`ChildGuard`] kills (SIGKILL) and reaps it when a run
//! is abandoned, by an error or a panic.

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus};

use anyhow::{Context, Result};

/// Kills (SIGKILL) and reaps the child when dropped, unless it was reaped.
pub struct ChildGuard {
    /// The child.
    pub child: Child,
    /// Whether it was reaped (then dropping does nothing).
    pub reaped: bool,
}

impl ChildGuard {
    /// Guards a freshly spawned child.
    pub fn new(child: Child) -> ChildGuard {
        ChildGuard { child, reaped: false }
    }

    /// Kills the child (if it still runs) and reaps it.
    pub fn kill_and_reap(&mut self) -> Result<ExitStatus> {
        // kill() fails only if the process was already reaped, which
        // `reaped` rules out; an exited but unreaped child is fine.
        let _ = self.child.kill();
        let status = self.child.wait().context("waiting for the emulator after killing it")?;
        self.reaped = true;
        Ok(status)
    }

    /// The child's exit status if it has exited (it is then reaped).
    pub fn try_reap(&mut self) -> Result<Option<ExitStatus>> {
        let status = self.child.try_wait().context("waiting for the emulator")?;
        if status.is_some() {
            self.reaped = true;
        }
        Ok(status)
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if !self.reaped {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Makes the child get SIGKILL when the thread that spawned it dies.
pub fn die_with_parent(command: &mut Command) {
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: the closure runs in the child between fork and exec, and only
    // calls prctl and getppid, which are async-signal-safe, and builds an
    // io::Error from errno (no allocation for the `last_os_error` path).
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0, 0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The parent may have died before prctl: then nobody would kill us.
            if libc::getppid() != parent {
                libc::_exit(1);
            }
            Ok(())
        });
    }
}
