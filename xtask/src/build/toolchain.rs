//! The Rust toolchain that builds the kernel and the apps.
//!
//! The framework pins its toolchain in `rust-toolchain.toml`. Inside the
//! framework's checkout rustup applies the pin by itself, and the cargo
//! that runs the xtask (`$CARGO`) is the pinned one. An app outside the
//! checkout has no such file (and needs none): there the builds of both
//! halves run as `rustup run <channel> cargo ...` with the framework's
//! channel, so that the app is compiled by the same Rust as the kernel and
//! as the framework's own tests, whatever the user's default toolchain is.

use std::ffi::OsString;
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, Result, ensure};

use crate::install;

/// The file that pins the framework's toolchain.
pub const TOOLCHAIN_FILE: &str = "rust-toolchain.toml";

/// Which toolchain runs cargo and rustc.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Toolchain {
    /// The one that runs us: `$CARGO` (inside the framework's checkout,
    /// rustup has applied its pin already).
    Invoking,
    /// This rustup channel (the framework's pin), through `rustup run`.
    Pinned(String),
}

impl Toolchain {
    /// The framework's pinned toolchain, for builds run from outside its
    /// checkout: [`Toolchain::Pinned`] with the channel of its
    /// `rust-toolchain.toml` when there is one and rustup is installed,
    /// else [`Toolchain::Invoking`].
    pub fn of_framework(root: &Path) -> Toolchain {
        let channel = std::fs::read_to_string(root.join(TOOLCHAIN_FILE)).ok().and_then(|text| channel(&text));
        match channel {
            Some(channel) if install::find_in_path("rustup").is_some() => Toolchain::Pinned(channel),
            _ => Toolchain::Invoking,
        }
    }

    /// A `cargo` command run by this toolchain.
    pub fn cargo(&self) -> Command {
        self.tool("cargo", cargo())
    }

    /// A `rustc` command run by this toolchain.
    pub fn rustc(&self) -> Command {
        self.tool("rustc", std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into()))
    }

    fn tool(&self, name: &str, invoking: OsString) -> Command {
        match self {
            Toolchain::Invoking => Command::new(invoking),
            Toolchain::Pinned(channel) => {
                let mut cmd = Command::new("rustup");
                cmd.args(["run", channel, name]);
                cmd
            }
        }
    }

    /// `rustup target add` for this toolchain, as words (for messages) and
    /// as a command.
    pub fn rustup_target_add(&self, targets: &[&str]) -> (String, Command) {
        let mut cmd = Command::new("rustup");
        cmd.args(["target", "add"]);
        let mut words = "rustup target add".to_string();
        if let Toolchain::Pinned(channel) = self {
            cmd.args(["--toolchain", channel]);
            words.push_str(&format!(" --toolchain {channel}"));
        }
        cmd.args(targets);
        words.push_str(&format!(" {}", targets.join(" ")));
        (words, cmd)
    }

    /// Makes sure a pinned toolchain is installed: when `rustup run` cannot
    /// find it, runs `rustup toolchain install <channel> --profile minimal`
    /// (saying so first). Nothing to do for [`Toolchain::Invoking`].
    pub fn ensure_installed(&self) -> Result<()> {
        static CHECKED: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
        let Toolchain::Pinned(channel) = self else {
            return Ok(());
        };
        let mut checked = CHECKED.lock().unwrap_or_else(|e| e.into_inner());
        if checked.contains(channel) {
            return Ok(());
        }
        let present = self
            .rustc()
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !present {
            let words = format!("rustup toolchain install {channel} --profile minimal");
            eprintln!("xtask: the framework's toolchain {channel} is not installed; running `{words}`");
            let status = Command::new("rustup")
                .args(["toolchain", "install", channel, "--profile", "minimal"])
                .status()
                .context("running rustup")?;
            ensure!(status.success(), "`{words}` failed (see its output above)");
        }
        checked.push(channel.clone());
        Ok(())
    }
}

/// The cargo that runs us (`$CARGO`), so nested builds use the same toolchain.
pub fn cargo() -> OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

/// The `channel` of the `[toolchain]` table of a `rust-toolchain.toml` (a
/// line-level read, enough for the framework's file).
pub fn channel(text: &str) -> Option<String> {
    let mut in_toolchain = false;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_toolchain = line == "[toolchain]";
            continue;
        }
        if let Some((key, value)) = line.split_once('=')
            && in_toolchain
            && key.trim() == "channel"
        {
            return Some(value.trim().strip_prefix('"')?.split('"').next()?.to_string());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels() {
        let text = "[toolchain]\nchannel = \"1.95.0\"\ncomponents = [\"rustfmt\"]\n";
        assert_eq!(channel(text).as_deref(), Some("1.95.0"));
        assert_eq!(channel("[other]\nchannel = \"x\"\n"), None);
        let ours = std::fs::read_to_string(crate::build::workspace_root().join(TOOLCHAIN_FILE)).unwrap();
        assert!(channel(&ours).is_some_and(|c| c.starts_with("1.")), "{ours}");
    }

    #[test]
    fn pinned_commands_go_through_rustup() {
        let pinned = Toolchain::Pinned("1.95.0".into());
        let cmd = pinned.cargo();
        assert_eq!(cmd.get_program(), "rustup");
        assert_eq!(cmd.get_args().collect::<Vec<_>>(), ["run", "1.95.0", "cargo"]);
        let (words, cmd) = pinned.rustup_target_add(&["x86_64-unknown-none"]);
        assert_eq!(words, "rustup target add --toolchain 1.95.0 x86_64-unknown-none");
        assert_eq!(cmd.get_args().count(), 5);
        let (words, _) = Toolchain::Invoking.rustup_target_add(&["a", "b"]);
        assert_eq!(words, "rustup target add a b");
    }
}
