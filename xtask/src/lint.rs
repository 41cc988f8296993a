//! `cargo xtask lint`: the formatting, clippy and documentation checks that
//! CI runs, in CI's order, stopping at the first failure.

use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::build::{
    APP_TARGET, BENCH_EMPTY_FEATURE, BENCH_FEATURE, BOOT_TESTS_FEATURE, KERNEL_PACKAGE, Layout, TARGET, cargo,
};
use crate::emulator::qemu::shell_quote;

/// One check: a title and a cargo command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// What it checks.
    pub title: String,
    /// cargo's arguments.
    pub args: Vec<String>,
    /// Extra environment variables.
    pub env: Vec<(String, String)>,
}

impl Step {
    fn new(title: &str, args: &[&str]) -> Step {
        Step { title: title.to_string(), args: args.iter().map(|a| a.to_string()).collect(), env: Vec::new() }
    }

    /// The command as a shell line, for the log.
    pub fn display(&self) -> String {
        let env: Vec<String> = self.env.iter().map(|(k, v)| format!("{k}={}", shell_quote(v))).collect();
        let mut words = env;
        words.push("cargo".into());
        words.extend(self.args.iter().cloned());
        words.join(" ")
    }
}

/// The steps, for a workspace with these apps.
pub fn steps(apps: &[String]) -> Vec<Step> {
    let mut bare_metal = vec!["clippy".to_string()];
    for package in [KERNEL_PACKAGE, "entry-asm"] {
        bare_metal.push("-p".into());
        bare_metal.push(package.into());
    }
    bare_metal.extend(["--target", TARGET, "--", "-D", "warnings"].map(String::from));
    // The runtime and the apps, for the apps' (hard-float) target.
    let mut user = vec!["clippy".to_string()];
    for package in ["libos".to_string()].into_iter().chain(apps.iter().cloned()) {
        user.push("-p".into());
        user.push(package);
    }
    user.extend(["--target", APP_TARGET, "--", "-D", "warnings"].map(String::from));
    let mut doc = Step::new("rustdoc of the host crates", &["doc", "--no-deps"]);
    doc.env.push(("RUSTDOCFLAGS".into(), "-D warnings".into()));
    // The crates an app author reads: the runtime, the ABI, the entry code
    // and the kernel, documented for the target they build for.
    let mut bare_metal_doc = Step::new(
        "rustdoc of the bare-metal crates",
        &["doc", "--no-deps", "-p", "libos", "-p", "entry-asm", "-p", KERNEL_PACKAGE, "--target", TARGET],
    );
    bare_metal_doc.env.push(("RUSTDOCFLAGS".into(), "-D warnings".into()));
    vec![
        Step::new("formatting", &["fmt", "--all", "--check"]),
        // The tokio test program is a workspace of its own (see its
        // Cargo.toml): formatted like the rest, not built here.
        Step::new(
            "formatting of linux-programs/net-tokio",
            &["fmt", "--manifest-path", "linux-programs/net-tokio/Cargo.toml", "--check"],
        ),
        // The workspace's default-members: the host crates, the xtask included.
        Step::new("clippy, host crates", &["clippy", "--all-targets", "--", "-D", "warnings"]),
        Step { title: "clippy, bare-metal crates".into(), args: bare_metal, env: Vec::new() },
        Step { title: "clippy, libos and the apps".into(), args: user, env: Vec::new() },
        // The test apps ask for `libos/testing`, which the step above unifies
        // for every crate: `libos` alone, as production apps get it.
        Step::new(
            "clippy, libos without its test hooks",
            &["clippy", "-p", "libos", "--target", APP_TARGET, "--", "-D", "warnings"],
        ),
        // The production kernel is in the step above; the test hooks come
        // with the boot tests.
        kernel_clippy("clippy, the kernel with its boot tests", BOOT_TESTS_FEATURE),
        kernel_clippy("clippy, the benchmark's kernel", BENCH_FEATURE),
        // The benchmark's empty image (`cargo xtask bench`) must keep building.
        kernel_clippy("clippy, the benchmark's empty kernel", BENCH_EMPTY_FEATURE),
        doc,
        bare_metal_doc,
    ]
}

/// clippy on the kernel built with a feature.
fn kernel_clippy(title: &str, feature: &str) -> Step {
    Step::new(
        title,
        &["clippy", "-p", KERNEL_PACKAGE, "--features", feature, "--target", TARGET, "--", "-D", "warnings"],
    )
}

/// Runs every step; fails at the first one that fails.
pub fn run() -> Result<()> {
    let layout = Layout::new();
    let apps = layout.apps()?;
    crate::install::ensure_rust_targets(&layout.toolchain, &layout.root, &[TARGET, APP_TARGET])?;
    let all = Instant::now();
    for step in steps(&apps) {
        println!("==> {}: {}", step.title, step.display());
        let started = Instant::now();
        let mut cmd = Command::new(cargo());
        cmd.current_dir(&layout.root).args(&step.args);
        for (k, v) in &step.env {
            cmd.env(k, v);
        }
        let status = cmd.status().with_context(|| format!("running {}", step.display()))?;
        let secs = started.elapsed().as_secs_f64();
        if !status.success() {
            bail!("{} failed after {secs:.1} s ({status}): {}", step.title, step.display());
        }
        println!("==> {}: ok ({secs:.1} s)", step.title);
    }
    println!("lint: all checks passed ({:.1} s)", all.elapsed().as_secs_f64());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_metal_clippy_covers_every_app() {
        let steps = steps(&["hello".to_string(), "echo".to_string()]);
        let bare = steps.iter().find(|s| s.title == "clippy, bare-metal crates").unwrap();
        assert_eq!(
            bare.display(),
            "cargo clippy -p libos-kernel -p entry-asm --target x86_64-unknown-none -- -D warnings"
        );
        let user = steps.iter().find(|s| s.title == "clippy, libos and the apps").unwrap();
        assert_eq!(
            user.display(),
            "cargo clippy -p libos -p hello -p echo --target x86_64-unknown-linux-musl -- -D warnings"
        );
        assert_eq!(steps[0].display(), "cargo fmt --all --check");
        let empty = steps.iter().find(|s| s.title == "clippy, the benchmark's empty kernel").unwrap();
        assert_eq!(
            empty.display(),
            "cargo clippy -p libos-kernel --features bench-empty --target x86_64-unknown-none -- -D warnings"
        );
        let doc = steps.iter().find(|s| s.title == "rustdoc of the host crates").unwrap();
        assert_eq!(doc.display(), "RUSTDOCFLAGS='-D warnings' cargo doc --no-deps");
    }
}
