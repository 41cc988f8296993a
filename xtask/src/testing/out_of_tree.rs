//! A check that `cargo xtask test` runs after the boots (under QEMU): an
//! app made by `new` in a temporary directory outside the repository runs
//! and passes its test, through both spellings of the tool.
//!
//! 1. `new` writes the app (its `libos` by path: this checkout).
//! 2. `cargo xtask run --app-path DIR` (the xtask's own binary, run from
//!    the framework's root) exits with 0 and prints the app's greeting.
//! 3. `cargo libos run`, in the app's directory, with this binary as
//!    `cargo-libos` first in `PATH` (cargo finds it as a user would find an
//!    installed one), the same.
//! 4. `cargo libos test` there exits with 0, and its last line is
//!    `1 passed, 0 failed`.
//!
//! The app lives in `<temp>/libos-app-check-<hash of the checkout's path>`
//! (the same place on every run, so cargo's fingerprints stay valid), but
//! builds in this workspace's `target/user` (`CARGO_TARGET_DIR`), beside
//! the in-tree apps: the `libos` crates it shares with them are compiled
//! once. Its images go to `target/user/libos/`, and its kernel target
//! directory and its test build's target directory there are links to the
//! workspace's (see [`share_builds`]), so the check costs a few seconds
//! once the suite has built its kernels and the apps' test builds.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, ensure};

use super::runner::Totals;
use super::serial_protocol::TestResult;
use crate::build::app::OutsideApp;
use crate::build::{Flavor, Layout, cargo};
use crate::new_app::{self, LibosSource, NewApp};

/// The check's name in the results.
pub const NAME: &str = "app::out_of_tree_new_run_test";
/// The app's name.
const APP: &str = "outside-app";
/// What the app prints (the template's greeting).
const GREETING: &str = "Hello from outside-app!";
/// The line `cargo libos test` must end with: the template's one test.
const TEST_TOTALS: &str = "1 passed, 0 failed";

/// Runs the check unless `filter` leaves it out; prints its line and counts
/// it.
pub fn stage(layout: &Layout, filter: Option<&str>, verbose: bool, totals: &mut Totals) {
    if filter.is_some_and(|f| !NAME.contains(f)) {
        return;
    }
    println!("out-of-tree app: new, run --app-path, cargo libos run, cargo libos test");
    let started = Instant::now();
    let mut log = String::new();
    let result = match check(layout, &mut log) {
        Ok(()) => TestResult::ok(NAME),
        Err(e) => TestResult::failed(NAME, format!("{e:#}").replace('\n', " ")),
    };
    let failed = result.is_failure();
    println!("{} ({:.1} s)", result.line(""), started.elapsed().as_secs_f64());
    totals.add(&result);
    if failed || verbose {
        super::runner::print_indented(&log, if verbose { usize::MAX } else { 60 });
    }
}

/// The check's directory: outside the repository, one per checkout.
fn check_dir(root: &Path) -> PathBuf {
    // FNV-1a of the checkout's path: another checkout on this machine runs
    // its own check beside this one.
    let hash = root
        .to_string_lossy()
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3));
    std::env::temp_dir().join(format!("libos-app-check-{hash:016x}"))
}

fn check(layout: &Layout, log: &mut String) -> Result<()> {
    let root = layout.root.canonicalize().context("finding the checkout")?;
    let dir = check_dir(&root);
    ensure!(!dir.starts_with(&root), "the temporary directory {} is inside the repository", dir.display());
    if dir.exists() {
        std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    let app_dir = dir.join(APP);
    let bin_dir = dir.join("bin");
    std::fs::create_dir_all(&bin_dir).with_context(|| format!("creating {}", bin_dir.display()))?;
    let exe = std::env::current_exe().context("finding the xtask's binary")?;
    std::os::unix::fs::symlink(&exe, bin_dir.join("cargo-libos")).context("linking cargo-libos")?;
    new_app::create(&NewApp { name: APP.into(), dir: app_dir.clone(), libos: LibosSource::Path(root.clone()) })?;
    share_builds(layout)?;

    let path = std::env::join_paths(
        std::iter::once(bin_dir.clone()).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())),
    )?;
    let prepare = |mut cmd: Command, cwd: &Path| {
        cmd.current_dir(cwd).env("PATH", &path).env("CARGO_TARGET_DIR", layout.user_target_dir()).stdin(Stdio::null());
        cmd
    };
    let mut xtask_run = prepare(Command::new(&exe), &root);
    xtask_run.args(["run", "--app-path"]).arg(&app_dir);
    let libos = |word: &str| {
        let mut cmd = prepare(Command::new(cargo()), &app_dir);
        cmd.args(["libos", word]);
        cmd
    };
    let (mut libos_run, mut libos_test) = (libos("run"), libos("test"));

    let out = step(log, "cargo xtask run --app-path DIR", &mut xtask_run)?;
    ensure!(out.status.success(), "`cargo xtask run --app-path` exited with {}", out.status);
    ensure!(stdout(&out).contains(GREETING), "`cargo xtask run --app-path` did not print {GREETING:?}");
    let out = step(log, "cargo libos run", &mut libos_run)?;
    ensure!(out.status.success(), "`cargo libos run` exited with {}", out.status);
    ensure!(stdout(&out).contains(GREETING), "`cargo libos run` did not print {GREETING:?}");
    let out = step(log, "cargo libos test", &mut libos_test)?;
    ensure!(out.status.success(), "`cargo libos test` exited with {}", out.status);
    let text = stdout(&out);
    let last = text.lines().last().unwrap_or("");
    ensure!(last == TEST_TOTALS, "`cargo libos test` ended with {last:?}, not {TEST_TOTALS:?}");
    std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
    Ok(())
}

/// Points the app's kernel target directory at the workspace's own
/// (`<target>/user/libos/kernel` → `<target>/kernel`): it is the same
/// kernel source, toolchain and flags, so the app's build finds the
/// kernel built already instead of compiling it and its crates again. The
/// same for the target directory of the app's test build (with
/// `libos/testing`): `<target>/user/libos/user-testing` →
/// `<target>/user-testing`, where the in-tree apps' test builds are.
fn share_builds(layout: &Layout) -> Result<()> {
    let outside = Layout::outside(
        layout.root.clone(),
        layout.libos_dir.clone(),
        OutsideApp { name: APP.into(), manifest: PathBuf::new(), target_dir: layout.user_target_dir() },
    );
    let testing = Flavor::testing(false);
    link_dir(&outside.kernel_target_dir(), &layout.kernel_target_dir())?;
    link_dir(&outside.app_target_dir(testing), &layout.app_target_dir(testing))
}

/// Makes `link` a symbolic link to the directory `target` (created if
/// missing), replacing whatever `link` was.
fn link_dir(link: &Path, target: &Path) -> Result<()> {
    if std::fs::read_link(link).is_ok_and(|t| t == target) {
        return Ok(());
    }
    if link.is_dir() && !link.is_symlink() {
        std::fs::remove_dir_all(link).with_context(|| format!("removing {}", link.display()))?;
    } else if link.is_symlink() {
        std::fs::remove_file(link).with_context(|| format!("removing {}", link.display()))?;
    }
    if let Some(parent) = link.parent() {
        std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    std::fs::create_dir_all(target).with_context(|| format!("creating {}", target.display()))?;
    std::os::unix::fs::symlink(target, link).with_context(|| format!("linking {}", link.display()))
}

/// Runs one step, adding its command and output to the log.
fn step(log: &mut String, what: &str, cmd: &mut Command) -> Result<Output> {
    let started = Instant::now();
    let out = cmd.output().with_context(|| format!("running {what}"))?;
    log.push_str(&format!("$ {what} ({:.1} s, {})\n", started.elapsed().as_secs_f64(), out.status));
    log.push_str(&String::from_utf8_lossy(&out.stderr));
    log.push_str(&stdout(&out));
    Ok(out)
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_check_runs_outside_the_repository() {
        let root = crate::build::workspace_root().canonicalize().unwrap();
        let dir = check_dir(&root);
        assert!(!dir.starts_with(&root));
        assert_eq!(dir, check_dir(&root));
        assert_ne!(dir, check_dir(Path::new("/elsewhere")));
    }

    #[test]
    fn the_greeting_is_the_templates() {
        let dir = std::env::temp_dir().join(format!("xtask-greeting-{}", std::process::id()));
        let root = crate::build::workspace_root();
        new_app::create(&NewApp { name: APP.into(), dir: dir.clone(), libos: LibosSource::Path(root) }).unwrap();
        let main = std::fs::read_to_string(dir.join("src/main.rs")).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(main.contains(&format!("\"{}", GREETING.trim_end_matches('!'))), "{main}");
    }
}
