//! Several threads creating, writing, renaming, linking and removing files
//! in one directory of a RAM file system behind one lock (as the kernel
//! holds a mount), then a consistency check: every name resolves, link
//! counts equal the names, the space counted equals the space held, and
//! removing everything gives all the space back.

mod common;

use std::collections::HashMap;
use std::ops::DerefMut;
use std::sync::{Arc, Mutex};

use libos_abi::errno::Errno;
use libos_abi::fs_types::{O_CREAT, O_RDWR, O_TRUNC, RENAME_EXCHANGE, RENAME_NOREPLACE};
use libos_fs::block_device::MemDisk;
use libos_fs::ext2::Ext2;
use libos_fs::filesystem::{FileSystem, FileType};
use libos_fs::mount::{FsLock, Location, MountTable};
use libos_fs::ramfs::RamFs;
use libos_fs::vfs::{self, Caller};

use common::clock;

/// A file system behind a std mutex, the type kept so the test can look
/// inside afterwards.
struct Locked<F>(Mutex<F>);

impl<F: FileSystem> FsLock for Locked<F> {
    type Fs = F;
    fn lock(&self) -> impl DerefMut<Target = F> + '_ {
        self.0.lock().unwrap()
    }
}

/// Runs the workers on `fs`; returns the table, `/shared` and the totals.
fn run_threads<F: FileSystem + 'static>(fs: F) -> (Arc<MountTable<Locked<F>>>, Location) {
    let t = Arc::new(MountTable::new(Locked(Mutex::new(fs)), false, 1));
    let root = t.root();
    let who = Caller { root, base: root, uid: 0, gid: 0 };
    let dir = vfs::mkdir(&t, &who, b"/shared", 0o755).unwrap();
    let in_dir = Caller { base: dir, ..who };
    let handles: Vec<_> = (0..THREADS)
        .map(|i| {
            let t = Arc::clone(&t);
            std::thread::spawn(move || worker(&t, in_dir, dir, 0x9e37_79b9 + i as u64 * 7919))
        })
        .collect();
    let mut totals: HashMap<&'static str, usize> = HashMap::new();
    for h in handles {
        for (k, v) in h.join().unwrap() {
            *totals.entry(k).or_default() += v;
        }
    }
    println!("{totals:?}");
    for op in ["write", "rename", "rename2", "link", "unlink", "mkdir", "refused", "enospc"] {
        assert!(totals.get(op).copied().unwrap_or(0) > 0, "no successful {op}: {totals:?}");
    }
    (t, dir)
}

/// Every name in `dir` resolves, link counts equal the names, `..` is
/// right; then removes everything. Returns the number of inodes seen.
fn check_and_empty(fs: &mut dyn FileSystem, root: u64, dir: u64) -> usize {
    let mut names: HashMap<u64, u32> = HashMap::new();
    let mut entries = vec![];
    fs.readdir(dir, 0, &mut |e| {
        if e.name != b"." && e.name != b".." {
            entries.push((e.name.to_vec(), e.ino));
        }
        true
    })
    .unwrap();
    let mut subdirs = 0;
    for (name, ino) in &entries {
        assert_eq!(fs.lookup(dir, name).unwrap(), *ino);
        let a = fs.getattr(*ino).unwrap();
        if a.file_type() == FileType::Directory {
            subdirs += 1;
            assert_eq!(a.nlink, 2);
            assert_eq!(fs.lookup(*ino, b"..").unwrap(), dir);
        } else {
            *names.entry(*ino).or_default() += 1;
        }
    }
    for (ino, n) in &names {
        assert_eq!(fs.getattr(*ino).unwrap().nlink, *n, "inode {ino}");
    }
    assert_eq!(fs.getattr(dir).unwrap().nlink, 2 + subdirs);
    for (name, ino) in entries {
        if fs.getattr(ino).unwrap().file_type() == FileType::Directory {
            fs.rmdir(dir, &name).unwrap();
        } else {
            fs.unlink(dir, &name).unwrap();
        }
    }
    fs.rmdir(root, b"shared").unwrap();
    subdirs as usize + names.len()
}

const THREADS: usize = 4;
const OPS: usize = 3000;
const NAMES: u64 = 24;

fn worker<H: FsLock>(t: &MountTable<H>, who: Caller, dir: Location, seed: u64) -> HashMap<&'static str, usize> {
    let mut state = seed;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut counts: HashMap<&'static str, usize> = HashMap::new();
    for _ in 0..OPS {
        let a = format!("n{}", next() % NAMES);
        let b = format!("n{}", next() % NAMES);
        let (what, r) = match next() % 7 {
            0 | 1 => {
                let r = vfs::open(
                    t,
                    &who,
                    a.as_bytes(),
                    O_RDWR | O_CREAT | if next() % 3 == 0 { O_TRUNC } else { 0 },
                    0o644,
                )
                .and_then(|o| {
                    // Write at a random offset, then read it back under
                    // the same lock hold... across holds, another thread
                    // may have changed it, so only the result is checked.
                    let data = vec![(next() % 251) as u8; (next() % 9000) as usize];
                    let off = next() % 20_000;
                    let r = t.with(o.at.mount, |fs| fs.write(o.at.ino, off, &data));
                    vfs::close(t, o.at)?;
                    r.map(|_| ())
                });
                ("write", r)
            }
            2 => ("rename", vfs::rename(t, &who, a.as_bytes(), dir, b.as_bytes(), 0)),
            3 => (
                "rename2",
                vfs::rename(
                    t,
                    &who,
                    a.as_bytes(),
                    dir,
                    b.as_bytes(),
                    if next() % 2 == 0 { RENAME_EXCHANGE } else { RENAME_NOREPLACE },
                ),
            ),
            4 => ("link", vfs::link(t, &who, a.as_bytes(), dir, b.as_bytes(), 0)),
            5 => ("unlink", vfs::unlink(t, &who, a.as_bytes(), 0)),
            _ => (
                "mkdir",
                vfs::mkdir(t, &who, a.as_bytes(), 0o755).map(|_| ()).or_else(|e| {
                    if e == Errno::EEXIST {
                        vfs::unlink(t, &who, a.as_bytes(), libos_abi::fs_types::AT_REMOVEDIR)
                    } else {
                        Err(e)
                    }
                }),
            ),
        };
        match r {
            Ok(()) => *counts.entry(what).or_default() += 1,
            // The errors the races and the limit may give.
            Err(Errno::ENOSPC) => *counts.entry("enospc").or_default() += 1,
            Err(Errno::ENOENT | Errno::EEXIST | Errno::EISDIR | Errno::ENOTDIR | Errno::ENOTEMPTY | Errno::EPERM) => {
                *counts.entry("refused").or_default() += 1
            }
            Err(e) => panic!("{what} {a} {b}: unexpected {e:?}"),
        }
    }
    counts
}

#[test]
fn threads_in_one_directory_of_the_ram_file_system_leave_it_consistent() {
    // A limit small enough that ENOSPC happens too.
    let fs = RamFs::new(96 * 1024, clock()).unwrap();
    let baseline = fs.used_bytes();
    let (t, dir) = run_threads(fs);
    let mut fs = t.get(0).unwrap().fs.0.lock().unwrap();
    assert_eq!(fs.recount_bytes(), fs.used_bytes());
    let root = fs.root();
    let seen = check_and_empty(&mut *fs, root, dir.ino);
    assert!(seen > 0);
    assert_eq!(fs.used_bytes(), baseline, "space leaked");
    assert_eq!(fs.inode_count(), 1);
}

#[test]
fn threads_in_one_directory_of_ext2_leave_it_consistent() {
    let tmp = common::temp_dir("ext2-threads");
    let img = tmp.join("t.img");
    let out = common::run_tool(
        std::process::Command::new("mkfs.ext2").args(["-q", "-F", "-b", "1024"]).arg(&img).arg("200K"),
    );
    assert!(out.status.success());
    let mut fs = Ext2::mount(MemDisk::new(std::fs::read(&img).unwrap()), clock(), false).unwrap();
    let before = fs.statfs().unwrap();
    let (t, dir) = run_threads(fs);
    let mut fs = t.get(0).unwrap().fs.0.lock().unwrap();
    fs.sync().unwrap();
    std::fs::write(&img, &fs.device().data).unwrap();
    let out = common::run_tool(std::process::Command::new("e2fsck").args(["-f", "-n"]).arg(&img));
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    let root = fs.root();
    let seen = check_and_empty(&mut *fs, root, dir.ino);
    assert!(seen > 0);
    let after = fs.statfs().unwrap();
    assert_eq!((after.blocks_free, after.files_free), (before.blocks_free, before.files_free), "space leaked");
    fs.sync().unwrap();
    std::fs::write(&img, &fs.device().data).unwrap();
    let out = common::run_tool(std::process::Command::new("e2fsck").args(["-f", "-n"]).arg(&img));
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    let _ = std::fs::remove_dir_all(&tmp);
}
