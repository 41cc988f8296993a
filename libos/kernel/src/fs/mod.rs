//! Files for apps: the mounted file systems, open files and the
//! per-process tables behind Linux's file calls (the handlers are in
//! `syscalls/descriptors.rs` and `syscalls/files.rs`).
//!
//! - The mounts ([`init`]): `/` is a RAM file system, copy-on-write over
//!   the cpio archive the boot loader gave as a module (`cargo xtask run
//!   --files DIR`; empty without one); `/tmp` another RAM file system; each
//!   limited to `fs.ram=SIZE` bytes (default [`DEFAULT_RAM_LIMIT`]);
//!   `/proc` ([`procfs`]); `/dev` the memory devices `null`, `zero` and
//!   `full` (`libos_fs::devfs`). With `fs.disk=PATH`, the first virtio disk's ext2 file system is mounted at
//!   PATH (made in `/` if missing). The name-level logic (lookup, mounts,
//!   Linux's errors) is the host-tested `libos_fs`; each mounted file system
//!   is behind a sleeping [`Mutex`] (its calls may wait for the disk).
//! - [`file`](mod@file): open file descriptions over a [`file::FileObject`] trait;
//!   [`fd_table`]: a process's descriptors; [`inode_file`]: a file on a
//!   mount; [`pipe`]; [`console_file`]: fds 0, 1, 2; [`epoll`] instances
//!   and [`eventfd`]s, and [`wait_set`], what `poll`/`select`/`epoll_wait`
//!   sleep in; [`record_lock`]: POSIX record locks (`fcntl` `F_SETLK`...).
//! - [`ProcessFiles`]: what a process has (descriptors, current
//!   directory, umask).

pub mod console_file;
pub mod disk;
pub mod epoll;
pub mod eventfd;
pub mod fd_table;
pub mod file;
pub mod flock;
pub mod inode_file;
pub mod pipe;
pub mod procfs;
pub mod record_lock;
pub mod user_path;
pub mod wait;
pub mod wait_set;

use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::ops::DerefMut;
use core::sync::atomic::{AtomicU32, Ordering};

use libos_abi::abi_types::Timespec;
use libos_abi::errno::Errno;
use libos_fs::filesystem::{Clock, FileSystem, FileType};
use libos_fs::mount::{FsLock, Location, MountTable};
use libos_fs::path::{Last, Lookup};
use libos_fs::ramfs::{RamFs, parse_size};

use crate::sync::{InitCell, Mutex, SpinLock};

/// The RAM file systems' limit without `fs.ram=`: 64 MiB each.
pub const DEFAULT_RAM_LIMIT: u64 = 64 << 20;

/// A mounted file system behind its sleeping lock.
pub struct FsMutex(Mutex<Box<dyn FileSystem>>);

impl FsLock for FsMutex {
    type Fs = Box<dyn FileSystem>;

    fn lock(&self) -> impl DerefMut<Target = Box<dyn FileSystem>> + '_ {
        self.0.lock()
    }
}

/// The mount table.
pub type Mounts = MountTable<FsMutex>;

static MOUNTS: InitCell<Mounts> = InitCell::new();

/// The mounts ([`init`] ran at boot).
pub fn mounts() -> &'static Mounts {
    MOUNTS.expect("file systems")
}

/// The kernel's wall clock, for time stamps.
struct WallClock;

impl Clock for WallClock {
    fn now(&self) -> Timespec {
        let ns = crate::time::realtime_ns();
        Timespec { tv_sec: (ns / 1_000_000_000) as i64, tv_nsec: (ns % 1_000_000_000) as i64 }
    }
}

/// Device numbers `stat` shows: RAM file systems on major 0 (anonymous,
/// as Linux's tmpfs), the disk as virtio's `vda` (254:0).
const DEV_ROOT: u64 = 1;
const DEV_TMP: u64 = 2;
const DEV_DISK: u64 = 254 << 8;
/// `/proc`'s (anonymous, as Linux's).
const DEV_PROC: u64 = 3;
/// `/dev`'s (anonymous, as Linux's devtmpfs).
const DEV_DEV: u64 = 4;

/// More mounts than [`init`] ever makes.
const MAX_MOUNTS: usize = 8;

/// What [`init`] mounted, for the boot report.
pub struct Mounted {
    /// Lines describing each mount.
    pub lines: Vec<alloc::string::String>,
}

/// Mounts `/`, `/tmp` and the disk (see the module doc). `archive` is the
/// root image (the boot module), if any. Problems are reported and leave
/// the mount out, never stop the boot.
pub fn init(archive: Option<&'static [u8]>, ram: Option<&str>, disk_at: Option<&str>) -> Mounted {
    use alloc::format;
    let mut lines = Vec::new();
    let limit = match ram.map(|r| (r, parse_size(r))) {
        None => DEFAULT_RAM_LIMIT,
        Some((_, Some(n))) => n,
        Some((text, None)) => {
            lines.push(format!("fs.ram={text} is not a size; using {} MiB", DEFAULT_RAM_LIMIT >> 20));
            DEFAULT_RAM_LIMIT
        }
    };
    let clock: Arc<dyn Clock> = Arc::new(WallClock);
    let root = match archive.map(|a| RamFs::from_cpio(a, limit, clock.clone())) {
        Some(Ok(fs)) => {
            lines.push(format!(
                "/        ramfs over the {}-byte boot archive, limit {} KiB",
                archive.map_or(0, |a| a.len()),
                limit >> 10
            ));
            fs
        }
        other => {
            if let Some(Err(e)) = other {
                lines.push(format!("/        the boot archive is unusable ({e:?}): an empty ramfs instead"));
            } else {
                lines.push(format!("/        ramfs (no --files archive), limit {} KiB", limit >> 10));
            }
            RamFs::new(limit, clock.clone()).expect("an empty RAM file system fits its limit")
        }
    };
    let mut table = MountTable::new(FsMutex(Mutex::new(Box::new(root))), false, DEV_ROOT);
    match RamFs::new(limit, clock.clone()).and_then(|tmp| mount_at(&mut table, b"/tmp", Box::new(tmp), DEV_TMP)) {
        Ok(()) => lines.push(format!("/tmp     ramfs, limit {} KiB", limit >> 10)),
        Err(e) => lines.push(format!("/tmp     not mounted: {e:?}")),
    }
    match mount_proc(&mut table, &*clock) {
        Ok(()) => lines.push("/proc    procfs (self, <pid>/exe, maps, status, cpuinfo, meminfo), read-only".into()),
        Err(e) => lines.push(format!("/proc    not mounted: {e:?}")),
    }
    match mount_at(&mut table, b"/dev", Box::new(libos_fs::devfs::DevFs::new(clock.now())), DEV_DEV) {
        Ok(()) => lines.push("/dev     null, zero, full".into()),
        Err(e) => lines.push(format!("/dev     not mounted: {e:?}")),
    }
    if let Some(path) = disk_at {
        match crate::drivers::block::first() {
            None => lines.push(format!("{path}: fs.disk given but there is no disk")),
            Some(dev) => {
                let read_only = dev.is_read_only();
                match libos_fs::ext2::Ext2::mount(disk::Disk(dev), clock.clone(), read_only) {
                    Err(e) => {
                        lines.push(format!("{path}: the disk {} has no usable ext2 file system ({e:?})", dev.name()))
                    }
                    Ok(fs) => match mount_at(&mut table, path.as_bytes(), Box::new(fs), DEV_DISK) {
                        Ok(()) => lines.push(format!(
                            "{path:<8} ext2 on {} ({} MiB){}",
                            dev.name(),
                            (dev.block_count() * dev.block_size() as u64) >> 20,
                            if read_only { ", read-only" } else { "" }
                        )),
                        Err(e) => lines.push(format!("{path}: cannot mount the disk there ({e:?})")),
                    },
                }
            }
        }
    }
    MOUNTS.set(table);
    Mounted { lines }
}

/// Mounts `/proc` read-only (see [`procfs`]).
fn mount_proc(table: &mut Mounts, clock: &dyn Clock) -> Result<(), Errno> {
    let at = mount_point(table, b"/proc")?;
    let fs = Box::new(procfs::ProcFs::new(clock.now()));
    let id = table.mount(at, FsMutex(Mutex::new(fs)), true, DEV_PROC)?;
    procfs::set_mount(id);
    Ok(())
}

/// The directory at the absolute `path`, made if missing.
fn mount_point(table: &mut Mounts, path: &[u8]) -> Result<Location, Errno> {
    let root = table.root();
    let parent = Lookup::new(table, root).parent(root, path)?;
    let Last::Name(name) = parent.last else { return Err(Errno::EBUSY) };
    let dir = parent.dir;
    let ino = match table.with(dir.mount, |fs| fs.lookup(dir.ino, &name)) {
        Ok(ino) => ino,
        Err(Errno::ENOENT) => table.with(dir.mount, |fs| fs.mkdir(dir.ino, &name, 0o755, 0, 0))?,
        Err(e) => return Err(e),
    };
    Ok(table.enter(Location { mount: dir.mount, ino }))
}

/// Mounts `fs` at the absolute `path`, making the directory if missing.
fn mount_at(table: &mut Mounts, path: &[u8], fs: Box<dyn FileSystem>, dev: u64) -> Result<(), Errno> {
    let at = mount_point(table, path)?;
    table.mount(at, FsMutex(Mutex::new(fs)), false, dev)?;
    Ok(())
}

/// Writes every mounted file system to stable storage (`sync`; a clean
/// exit). Returns the first error.
pub fn sync_all() -> Result<(), Errno> {
    let Some(table) = MOUNTS.get() else { return Ok(()) };
    let mut first = Ok(());
    for id in 0..MAX_MOUNTS {
        if table.get(id).is_ok()
            && let Err(e) = table.with(id, |fs| fs.sync())
            && first.is_ok()
        {
            first = Err(e);
        }
    }
    first
}

/// A process's files: its descriptors, current directory and umask.
pub struct ProcessFiles {
    /// The descriptor table.
    pub fds: fd_table::FdTable,
    cwd: SpinLock<Location>,
    umask: AtomicU32,
}

impl ProcessFiles {
    /// A new process's: the console as 0 (read) and 1, 2 (write), `/` as
    /// its current directory, umask 022.
    pub fn new() -> ProcessFiles {
        let files = ProcessFiles {
            fds: fd_table::FdTable::new(),
            cwd: SpinLock::new(MOUNTS.get().map_or(Location { mount: 0, ino: 0 }, |t| t.root())),
            umask: AtomicU32::new(0o022),
        };
        // Standard input reads the console; standard output and error (one
        // description) write it: as a shell's `< /dev/console > /dev/console
        // 2>&1` would set them up, so a read of 1 or 2 is EBADF (not a read
        // that waits for typing, as on a terminal opened O_RDWR).
        let input = Arc::new(file::OpenFile::new(Box::new(console_file::Console), libos_abi::fs_types::O_RDONLY));
        let output = Arc::new(file::OpenFile::new(Box::new(console_file::Console), libos_abi::fs_types::O_WRONLY));
        // Cannot fail: the table is empty.
        let _ = files.fds.install(input, false, 0);
        let _ = files.fds.install(output.clone(), false, 1);
        let _ = files.fds.install(output, false, 2);
        files
    }

    /// A copy for a child process (`fork`): the same descriptions under
    /// the same numbers, the same current directory and umask.
    pub fn duplicate(&self) -> Result<ProcessFiles, Errno> {
        Ok(ProcessFiles {
            fds: self.fds.duplicate()?,
            cwd: SpinLock::new(self.cwd()),
            umask: AtomicU32::new(self.umask()),
        })
    }

    /// The current directory.
    pub fn cwd(&self) -> Location {
        *self.cwd.lock()
    }

    /// Changes the current directory (a directory: the caller checked).
    pub fn set_cwd(&self, at: Location) {
        *self.cwd.lock() = at;
    }

    /// The umask.
    pub fn umask(&self) -> u32 {
        self.umask.load(Ordering::Relaxed)
    }

    /// Sets the umask; returns the old one.
    pub fn swap_umask(&self, mask: u32) -> u32 {
        self.umask.swap(mask & 0o777, Ordering::Relaxed)
    }

    /// Closes every descriptor (the process ended). Call from a task that
    /// may sleep: the last close of a file may wait for its file system.
    pub fn close_all(&self) {
        drop(self.fds.take_all());
    }
}

impl Default for ProcessFiles {
    fn default() -> Self {
        Self::new()
    }
}

/// The absolute path of the directory `at` (`getcwd`): walks `..` up to
/// the root and finds each directory's name in its parent. `ENOENT` for a
/// removed directory.
pub fn path_of(table: &Mounts, at: Location) -> Result<Vec<u8>, Errno> {
    let root = table.root();
    let lookup = Lookup::new(table, root);
    let mut names: Vec<Vec<u8>> = Vec::new();
    let mut here = at;
    for _ in 0..4096 {
        if here == root {
            break;
        }
        let attr = table.with(here.mount, |fs| fs.getattr(here.ino))?;
        if attr.file_type() == FileType::Directory && attr.nlink == 0 {
            return Err(Errno::ENOENT);
        }
        let parent = lookup.dotdot(here)?;
        // The name under which `here` appears in `parent`: at a mount's
        // root, the covered directory's name.
        let want = match table.get(here.mount)?.covers {
            Some(covered) if table.get(here.mount)?.root == here.ino => covered,
            _ => here,
        };
        let mut found = None;
        let mut cursor = 0;
        loop {
            let mut batch: Vec<(u64, Vec<u8>)> = Vec::new();
            cursor = table.with(parent.mount, |fs| {
                fs.readdir(parent.ino, cursor, &mut |e| {
                    if e.name != b"." && e.name != b".." {
                        batch.push((e.ino, e.name.to_vec()));
                    }
                    batch.len() < 64
                })
            })?;
            if batch.is_empty() {
                break;
            }
            for (ino, name) in batch {
                if parent.mount == want.mount && ino == want.ino {
                    found = Some(name);
                    break;
                }
            }
            if found.is_some() {
                break;
            }
        }
        names.push(found.ok_or(Errno::ENOENT)?);
        here = parent;
    }
    let mut path = Vec::new();
    for name in names.iter().rev() {
        path.push(b'/');
        path.extend_from_slice(name);
    }
    if path.is_empty() {
        path.push(b'/');
    }
    Ok(path)
}
