//! The cpio reader and the RAM file system built from archives that GNU
//! `cpio -o -H newc` wrote: every file, directory, symbolic link, mode,
//! time and hard link of the host folder comes through.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;

use libos_abi::errno::Errno;
use libos_fs::cpio::{self, Reader};
use libos_fs::filesystem::{FileSystem, FileType};
use libos_fs::mount::MountTable;
use libos_fs::ramfs::RamFs;

use common::{Locked, clock, gnu_cpio, run_tool, temp_dir};

/// A folder with one of everything.
fn sample_folder(dir: &Path) {
    fs::create_dir_all(dir.join("etc/ssl/certs")).unwrap();
    fs::create_dir_all(dir.join("empty")).unwrap();
    fs::write(dir.join("etc/hostname"), "unikernel\n").unwrap();
    fs::write(dir.join("etc/empty-file"), "").unwrap();
    let big: Vec<u8> = (0..300_001u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    fs::write(dir.join("etc/ssl/certs/big.bin"), &big).unwrap();
    fs::write(dir.join("with space é"), "utf-8 name").unwrap();
    fs::write(dir.join("x".repeat(255)), "longest name").unwrap();
    fs::set_permissions(dir.join("etc/hostname"), fs::Permissions::from_mode(0o640)).unwrap();
    fs::write(dir.join("run.sh"), "#!/bin/sh\n").unwrap();
    fs::set_permissions(dir.join("run.sh"), fs::Permissions::from_mode(0o4755)).unwrap();
    fs::set_permissions(dir.join("empty"), fs::Permissions::from_mode(0o1777)).unwrap();
    std::os::unix::fs::symlink("etc/hostname", dir.join("relative-link")).unwrap();
    std::os::unix::fs::symlink("/etc/ssl", dir.join("absolute-link")).unwrap();
    std::os::unix::fs::symlink("nowhere", dir.join("dangling")).unwrap();
    fs::write(dir.join("hard1"), "linked").unwrap();
    fs::hard_link(dir.join("hard1"), dir.join("etc/hard2")).unwrap();
    fs::hard_link(dir.join("hard1"), dir.join("empty/hard3")).unwrap();
    // Fixed times, to compare.
    for (p, t) in [("etc/hostname", "200001021530"), ("etc", "199912312359"), ("run.sh", "203801190314")] {
        assert!(run_tool(Command::new("touch").args(["-h", "-m", "-t", t]).arg(dir.join(p))).status.success());
    }
}

/// The host's view of the folder: path → (mode, size, mtime, nlink,
/// contents or target).
fn host_view(dir: &Path) -> BTreeMap<String, (u32, u64, i64, u64, Vec<u8>)> {
    let mut out = BTreeMap::new();
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, (u32, u64, i64, u64, Vec<u8>)>) {
        for e in fs::read_dir(dir).unwrap() {
            let path = e.unwrap().path();
            let rel = path.strip_prefix(base).unwrap().to_string_lossy().into_owned();
            let m = fs::symlink_metadata(&path).unwrap();
            let data = if m.is_file() {
                fs::read(&path).unwrap()
            } else if m.file_type().is_symlink() {
                fs::read_link(&path).unwrap().into_os_string().into_encoded_bytes()
            } else {
                vec![]
            };
            let size = if m.is_dir() { 0 } else { m.size() };
            let nlink = if m.is_dir() { 0 } else { m.nlink() };
            out.insert(rel, (m.mode(), size, m.mtime(), nlink, data));
            if m.is_dir() {
                walk(base, &path, out);
            }
        }
    }
    walk(dir, dir, &mut out);
    out
}

fn our_view(fs: RamFs) -> BTreeMap<String, (u32, u64, i64, u64, Vec<u8>)> {
    let t = MountTable::new(Locked::new(fs), true, 1);
    let mut out = BTreeMap::new();
    fn walk(t: &MountTable<Locked>, prefix: &str, dir: u64, out: &mut BTreeMap<String, (u32, u64, i64, u64, Vec<u8>)>) {
        let mut entries = vec![];
        t.with(0, |fs| {
            fs.readdir(dir, 0, &mut |e| {
                if e.name != b"." && e.name != b".." {
                    entries.push((String::from_utf8(e.name.to_vec()).unwrap(), e.ino));
                }
                true
            })
        })
        .unwrap();
        for (name, ino) in entries {
            let rel = if prefix.is_empty() { name.clone() } else { format!("{prefix}/{name}") };
            let a = t.with(0, |fs| fs.getattr(ino)).unwrap();
            let data = match a.file_type() {
                FileType::Regular => {
                    let mut buf = vec![0; a.size as usize];
                    assert_eq!(t.with(0, |fs| fs.read(ino, 0, &mut buf)).unwrap(), buf.len());
                    buf
                }
                FileType::Symlink => t.with(0, |fs| fs.readlink(ino)).unwrap(),
                _ => vec![],
            };
            let is_dir = a.file_type() == FileType::Directory;
            let size = if is_dir { 0 } else { a.size };
            let nlink = if is_dir { 0 } else { u64::from(a.nlink) };
            out.insert(rel.clone(), (a.mode, size, a.mtime.tv_sec, nlink, data));
            if is_dir {
                walk(t, &rel, ino, out);
            }
        }
    }
    let root = t.root().ino;
    walk(&t, "", root, &mut out);
    out
}

#[test]
fn a_gnu_archive_reads_back_as_the_folder() {
    let dir = temp_dir("cpio-gnu");
    let src = dir.join("src");
    fs::create_dir(&src).unwrap();
    sample_folder(&src);
    let archive = gnu_cpio(&src);
    // The raw members: names as find gave them, the trailer consumed.
    let entries: Vec<cpio::Entry> = Reader::new(&archive).collect::<Result<_, _>>().unwrap();
    // GNU cpio 2.13 drops the leading "./" and writes upper-case hex.
    assert!(entries.iter().any(|e| e.name == b"etc/hostname"));
    assert!(archive.starts_with(b"070701") && archive[6..110].iter().all(|c| !c.is_ascii_lowercase()));
    assert!(entries.iter().any(|e| e.name == b"."));
    let links: Vec<_> = entries.iter().filter(|e| e.nlink == 3 && e.mode & 0o170000 == 0o100000).collect();
    assert_eq!(links.len(), 3, "three names of the hard-linked file");
    assert_eq!(links.iter().filter(|e| !e.data.is_empty()).count(), 1, "GNU cpio stores the data once");
    let host = host_view(&src);
    // Copy-on-write over the archive, and unpacked.
    let leaked: &'static [u8] = Box::leak(archive.clone().into_boxed_slice());
    let cow = our_view(RamFs::from_cpio(leaked, 64 << 20, clock()).unwrap());
    let copied = our_view(RamFs::from_cpio_copied(&archive, 64 << 20, clock()).unwrap());
    assert_eq!(host.keys().collect::<Vec<_>>(), cow.keys().collect::<Vec<_>>());
    for (path, h) in &host {
        assert_eq!(Some(h), cow.get(path), "{path} (copy-on-write)");
        assert_eq!(Some(h), copied.get(path), "{path} (copied)");
    }
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn hard_links_and_copy_on_write_stay_separate_from_the_archive() {
    let dir = temp_dir("cpio-cow");
    let src = dir.join("src");
    fs::create_dir(&src).unwrap();
    sample_folder(&src);
    let archive: &'static [u8] = Box::leak(gnu_cpio(&src).into_boxed_slice());
    let before = archive.to_vec();
    let mut fs = RamFs::from_cpio(archive, 64 << 20, clock()).unwrap();
    let used_at_start = fs.used_bytes();
    let root = fs.root();
    let h1 = fs.lookup(root, b"hard1").unwrap();
    let etc = fs.lookup(root, b"etc").unwrap();
    let h2 = fs.lookup(etc, b"hard2").unwrap();
    assert_eq!(h1, h2);
    assert_eq!(fs.getattr(h1).unwrap().nlink, 3);
    // Writing one chunk of the big file copies that chunk only.
    let ssl = fs.lookup(etc, b"ssl").unwrap();
    let certs = fs.lookup(ssl, b"certs").unwrap();
    let big = fs.lookup(certs, b"big.bin").unwrap();
    fs.write(big, 5000, b"CHANGED").unwrap();
    assert_eq!(fs.used_bytes(), used_at_start + 4096);
    let mut buf = [0u8; 7];
    fs.read(big, 5000, &mut buf).unwrap();
    assert_eq!(&buf, b"CHANGED");
    fs.truncate(big, 10).unwrap();
    fs.truncate(big, 300_001).unwrap();
    let mut tail = vec![1u8; 300_001];
    fs.read(big, 0, &mut tail).unwrap();
    assert!(tail[10..].iter().all(|&b| b == 0), "truncate let archive bytes back in");
    assert_eq!(archive, &before[..], "the archive was written to");
    assert_eq!(fs.recount_bytes(), fs.used_bytes());
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn mutated_gnu_archives_fail_cleanly_or_load() {
    let dir = temp_dir("cpio-fuzz");
    let src = dir.join("src");
    fs::create_dir(&src).unwrap();
    sample_folder(&src);
    // A smaller big file keeps the loop fast.
    fs::write(src.join("etc/ssl/certs/big.bin"), vec![5u8; 3000]).unwrap();
    let base = gnu_cpio(&src);
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let (mut ok, mut failed) = (0, 0);
    for round in 0..3000 {
        let mut a = base.clone();
        for _ in 0..1 + next() % 3 {
            // Hit the headers often: they are where the parsing is.
            let i = if next() % 2 == 0 {
                let headers: Vec<usize> = Reader::new(&base).flatten().map(|e| e.offset).collect();
                headers[(next() as usize) % headers.len()] + (next() as usize) % 110
            } else {
                (next() as usize) % a.len()
            };
            a[i] = b"0123456789abcdef\0/."[(next() % 19) as usize];
        }
        if round % 5 == 0 {
            let len = (next() as usize) % a.len();
            a.truncate(len);
        }
        match RamFs::from_cpio_copied(&a, 1 << 20, clock()) {
            Ok(fs) => {
                assert_eq!(fs.recount_bytes(), fs.used_bytes());
                ok += 1;
            }
            Err(_) => failed += 1,
        }
    }
    assert!(ok > 0 && failed > 0, "{ok} loaded, {failed} refused");
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn a_full_limit_refuses_the_archive() {
    let dir = temp_dir("cpio-full");
    let src = dir.join("src");
    fs::create_dir(&src).unwrap();
    sample_folder(&src);
    let archive = gnu_cpio(&src);
    let err = RamFs::from_cpio_copied(&archive, 100_000, clock()).err().unwrap();
    assert!(matches!(err, libos_fs::ramfs::CpioLoadError::Entry { errno: Errno::ENOSPC, .. }), "{err:?}");
    let _ = fs::remove_dir_all(&dir);
}
