//! Where a benchmark run was taken: the git commit, the emulators' versions,
//! the host CPU and its load, and the time (UTC). Runs are only comparable
//! when these match, so every JSON file carries them.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use libos_kcore::time::CalendarTime;
use serde::{Deserialize, Serialize};

/// The circumstances of a run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Environment {
    /// `git rev-parse HEAD`, with `-dirty` when `git status --porcelain`
    /// lists anything; `unknown` outside a git checkout.
    pub commit: String,
    /// The first line of `qemu-system-x86_64 --version`.
    pub qemu: String,
    /// The Debian package version of Bochs, if it is installed.
    pub bochs: Option<String>,
    /// The host CPU's model name (`/proc/cpuinfo`).
    pub host_cpu: String,
    /// The CPUs this process may use.
    pub host_cores: usize,
    /// `/proc/loadavg`'s three load averages when the run started: other
    /// work on the host makes the timings noisier.
    pub load_average: Option<String>,
}

impl Environment {
    /// Collects the environment; `qemu_version` is QEMU's version line.
    pub fn collect(root: &Path, qemu_version: String) -> Environment {
        Environment {
            commit: git_commit(root).unwrap_or_else(|| "unknown".to_string()),
            qemu: qemu_version,
            bochs: command_output("dpkg-query", &["-W", "-f", "${Version}", "bochs"], root).filter(|v| !v.is_empty()),
            host_cpu: std::fs::read_to_string("/proc/cpuinfo")
                .ok()
                .and_then(|text| cpu_model(&text))
                .unwrap_or_else(|| "unknown".to_string()),
            host_cores: host_cores(),
            load_average: std::fs::read_to_string("/proc/loadavg").ok().and_then(|text| load_average(&text)),
        }
    }
}

/// The CPUs this process may use (at least 1).
pub fn host_cores() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

/// The trimmed standard output of a command that succeeded.
fn command_output(program: &str, args: &[&str], dir: &Path) -> Option<String> {
    let out = Command::new(program).args(args).current_dir(dir).stdin(Stdio::null()).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn git_commit(root: &Path) -> Option<String> {
    let commit = command_output("git", &["rev-parse", "HEAD"], root)?;
    let dirty = command_output("git", &["status", "--porcelain"], root).is_some_and(|s| !s.is_empty());
    Some(if dirty { format!("{commit}-dirty") } else { commit })
}

/// The first `model name` of `/proc/cpuinfo`.
pub fn cpu_model(cpuinfo: &str) -> Option<String> {
    cpuinfo.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        (key.trim() == "model name").then(|| value.trim().to_string())
    })
}

/// The three load averages of `/proc/loadavg`.
pub fn load_average(loadavg: &str) -> Option<String> {
    let words: Vec<&str> = loadavg.split_whitespace().take(3).collect();
    (words.len() == 3).then(|| words.join(" "))
}

/// A moment as UTC calendar fields (the kernel's own calendar code).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Utc(pub CalendarTime);

impl Utc {
    /// Now.
    pub fn now() -> Utc {
        let secs = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        Utc::from_unix(secs as i64)
    }

    /// The calendar fields of a Unix time.
    pub fn from_unix(secs: i64) -> Utc {
        Utc(CalendarTime::from_unix(secs))
    }

    /// `2025-01-02T03:04:05Z`.
    pub fn iso8601(&self) -> String {
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            self.0.year, self.0.month, self.0.day, self.0.hour, self.0.minute, self.0.second
        )
    }

    /// `20250102T030405Z`, for file names.
    pub fn compact(&self) -> String {
        self.iso8601().replace(['-', ':'], "")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_calendar() {
        assert_eq!(Utc::from_unix(0).iso8601(), "1970-01-01T00:00:00Z");
        assert_eq!(Utc::from_unix(951_782_400).iso8601(), "2000-02-29T00:00:00Z");
        assert_eq!(Utc::from_unix(1_735_787_045).iso8601(), "2025-01-02T03:04:05Z");
        assert_eq!(Utc::from_unix(1_735_787_045).compact(), "20250102T030405Z");
        assert_eq!(Utc::from_unix(4_107_542_399).iso8601(), "2100-02-28T23:59:59Z");
        assert_eq!(Utc::from_unix(-1).iso8601(), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn host_facts() {
        let cpuinfo = "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13\nprocessor\t: 1\n\
                       model name\t: other\n";
        assert_eq!(cpu_model(cpuinfo).as_deref(), Some("AMD EPYC 7B13"));
        assert_eq!(cpu_model("flags: x\n"), None);
        assert_eq!(load_average("7.52 3.54 2.30 3/321 22640\n").as_deref(), Some("7.52 3.54 2.30"));
        assert_eq!(load_average(""), None);
        assert!(host_cores() >= 1);
    }
}
