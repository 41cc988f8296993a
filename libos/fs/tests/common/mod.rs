//! What the integration tests share: a clock, a lock, a mount table over a
//! RAM file system, and helpers.
#![allow(dead_code)]

use std::ops::DerefMut;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use libos_abi::abi_types::Timespec;
use libos_fs::filesystem::{Clock, FileSystem};
use libos_fs::mount::{FsLock, Location, MountTable};
use libos_fs::ramfs::RamFs;
use libos_fs::vfs::Caller;

/// A clock that ticks one second per reading, from `start`.
pub struct Ticking(pub AtomicI64);

impl Clock for Ticking {
    fn now(&self) -> Timespec {
        Timespec::new(self.0.fetch_add(1, Ordering::Relaxed), 0)
    }
}

pub fn clock() -> Arc<Ticking> {
    Arc::new(Ticking(AtomicI64::new(1_000_000)))
}

/// A file system behind a std mutex, as the kernel puts one behind its lock.
pub struct Locked(pub Mutex<Box<dyn FileSystem>>);

impl Locked {
    pub fn new(fs: impl FileSystem + 'static) -> Locked {
        Locked(Mutex::new(Box::new(fs)))
    }
}

impl FsLock for Locked {
    type Fs = Box<dyn FileSystem>;
    fn lock(&self) -> impl DerefMut<Target = Box<dyn FileSystem>> + '_ {
        self.0.lock().unwrap()
    }
}

pub fn ramfs(limit: u64) -> RamFs {
    RamFs::new(limit, clock()).unwrap()
}

/// A table with an empty RAM file system at `/`.
pub fn table() -> MountTable<Locked> {
    MountTable::new(Locked::new(ramfs(64 << 20)), false, 1)
}

/// A caller at `base` with the table's root.
pub fn caller(t: &MountTable<Locked>, base: Location) -> Caller {
    Caller { root: t.root(), base, uid: 0, gid: 0 }
}

/// Runs a host tool; panics with a clear message when it is missing
/// (`cargo xtask test` installs the Debian packages the tests need).
pub fn run_tool(cmd: &mut std::process::Command) -> std::process::Output {
    let name = cmd.get_program().to_string_lossy().into_owned();
    cmd.output().unwrap_or_else(|e| {
        panic!("cannot run `{name}` ({e}): install the Debian packages cpio, e2fsprogs (cargo xtask test does)")
    })
}

/// A fresh temporary directory for one test.
pub fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("libos-fs-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Packs `dir` with GNU `cpio -o -H newc` (as `find . | cpio`, names
/// starting with `./`).
pub fn gnu_cpio(dir: &std::path::Path) -> Vec<u8> {
    use std::process::{Command, Stdio};
    let find = Command::new("find").arg(".").current_dir(dir).stdout(Stdio::piped()).output().expect("find");
    let mut child = Command::new("cpio")
        .args(["-o", "-H", "newc", "--quiet"])
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run `cpio` ({e}): install the Debian package cpio (cargo xtask test does)"));
    use std::io::Write;
    let mut stdin = child.stdin.take().unwrap();
    let list = find.stdout.clone();
    let writer = std::thread::spawn(move || stdin.write_all(&list).unwrap());
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(out.status.success(), "cpio failed");
    out.stdout
}
