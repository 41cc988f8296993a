//! ext2 against Linux's own tools: images `mkfs.ext2 -d` fills from a host
//! folder read back equal to the folder; what we write, `e2fsck -fn`
//! accepts and `debugfs` reads back; random operations give the same tree
//! as the RAM file system (itself checked against Linux's calls).

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;

use libos_abi::errno::Errno;
use libos_abi::fs_types::{EXT2_SUPER_MAGIC, RENAME_EXCHANGE};
use libos_fs::block_device::MemDisk;
use libos_fs::ext2::Ext2;
use libos_fs::filesystem::{FileSystem, FileType, Ino};

use common::{clock, ramfs, run_tool, temp_dir};

/// `mkfs.ext2` with `extra` options on a new image of `size`; returns its
/// bytes.
pub fn mkfs(dir: &Path, name: &str, extra: &[&str], size: &str) -> Vec<u8> {
    let img = dir.join(name);
    let out = run_tool(Command::new("mkfs.ext2").args(["-q", "-F"]).args(extra).arg(&img).arg(size));
    assert!(out.status.success(), "mkfs.ext2: {}", String::from_utf8_lossy(&out.stderr));
    fs::read(&img).unwrap()
}

/// `e2fsck -fn` on an image: (exit code, output).
pub fn fsck(dir: &Path, image: &[u8]) -> (i32, String) {
    let img = dir.join("check.img");
    fs::write(&img, image).unwrap();
    let out = run_tool(Command::new("e2fsck").args(["-f", "-n"]).arg(&img));
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

fn debugfs(dir: &Path, image: &[u8], request: &str) -> Vec<u8> {
    let img = dir.join("debugfs.img");
    fs::write(&img, image).unwrap();
    let out = run_tool(Command::new("debugfs").arg("-R").arg(request).arg(&img));
    assert!(out.status.success());
    out.stdout
}

type Tree = BTreeMap<String, (char, u32, u64, Vec<u8>)>;

/// A tree through the FileSystem interface: path → (kind, permission bits,
/// nlink of non-directories, contents or target).
fn tree_of(fs: &mut dyn FileSystem) -> Tree {
    let mut out = BTreeMap::new();
    fn walk(fs: &mut dyn FileSystem, prefix: &str, dir: Ino, out: &mut Tree) {
        let mut entries = vec![];
        fs.readdir(dir, 0, &mut |e| {
            if e.name != b"." && e.name != b".." && e.name != b"lost+found" {
                entries.push((String::from_utf8(e.name.to_vec()).unwrap(), e.ino));
            }
            true
        })
        .unwrap();
        for (name, ino) in entries {
            let path = if prefix.is_empty() { name } else { format!("{prefix}/{name}") };
            let a = fs.getattr(ino).unwrap();
            let (kind, data) = match a.file_type() {
                FileType::Regular => {
                    let mut buf = vec![0; a.size as usize];
                    assert_eq!(fs.read(ino, 0, &mut buf).unwrap(), buf.len());
                    ('f', buf)
                }
                FileType::Symlink => ('l', fs.readlink(ino).unwrap()),
                FileType::Directory => ('d', vec![]),
                FileType::Other => ('?', vec![]),
            };
            let nlink = if kind == 'd' { 0 } else { u64::from(a.nlink) };
            out.insert(path.clone(), (kind, a.mode & 0o7777, nlink, data));
            if kind == 'd' {
                walk(fs, &path, ino, out);
            }
        }
    }
    let root = fs.root();
    walk(fs, "", root, &mut out);
    out
}

/// A host folder as a tree.
fn tree_of_host(dir: &Path) -> Tree {
    let mut out = BTreeMap::new();
    fn walk(base: &Path, dir: &Path, out: &mut Tree) {
        for e in fs::read_dir(dir).unwrap() {
            let path = e.unwrap().path();
            let rel = path.strip_prefix(base).unwrap().to_string_lossy().into_owned();
            if rel == "lost+found" {
                continue;
            }
            let m = fs::symlink_metadata(&path).unwrap();
            let (kind, data) = if m.is_file() {
                ('f', fs::read(&path).unwrap())
            } else if m.file_type().is_symlink() {
                ('l', fs::read_link(&path).unwrap().into_os_string().into_encoded_bytes())
            } else {
                ('d', vec![])
            };
            let nlink = if kind == 'd' { 0 } else { m.nlink() };
            out.insert(rel, (kind, m.mode() & 0o7777, nlink, data));
            if kind == 'd' {
                walk(base, &path, out);
            }
        }
    }
    walk(dir, dir, &mut out);
    out
}

fn sample_folder(dir: &Path) {
    fs::create_dir_all(dir.join("etc/deep/er/still")).unwrap();
    fs::write(dir.join("etc/hostname"), "disk\n").unwrap();
    fs::write(dir.join("empty"), "").unwrap();
    // Past the direct blocks and the single indirect block with 1 KiB
    // blocks: double indirect.
    let big: Vec<u8> = (0..700_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8).collect();
    fs::write(dir.join("etc/deep/big.bin"), &big).unwrap();
    fs::set_permissions(dir.join("etc/hostname"), fs::Permissions::from_mode(0o600)).unwrap();
    std::os::unix::fs::symlink("etc/hostname", dir.join("fast-link")).unwrap();
    std::os::unix::fs::symlink("x".repeat(200), dir.join("slow-link")).unwrap();
    for i in 0..120 {
        fs::write(dir.join("etc/deep").join(format!("many-{i:03}-{}", "n".repeat(40))), format!("{i}")).unwrap();
    }
    fs::write(dir.join("hard"), "linked").unwrap();
    fs::hard_link(dir.join("hard"), dir.join("etc/hard2")).unwrap();
}

#[test]
fn images_mkfs_fills_read_back_as_the_folder() {
    let dir = temp_dir("ext2-read");
    let src = dir.join("src");
    fs::create_dir(&src).unwrap();
    sample_folder(&src);
    let host = tree_of_host(&src);
    for (block, rev) in [("1024", "1"), ("4096", "1"), ("2048", "1"), ("1024", "0")] {
        let src_arg = src.to_str().unwrap();
        let mut args = vec!["-b", block, "-r", rev, "-d", src_arg];
        if rev == "0" {
            args.extend(["-O", "none"]);
        }
        let image = mkfs(&dir, "read.img", &args, "16M");
        let mut fs = Ext2::mount(MemDisk::new(image), clock(), true).unwrap();
        assert_eq!(fs.block_size().to_string(), block);
        assert!(!fs.is_writable());
        let ours = tree_of(&mut fs);
        assert_eq!(ours.keys().collect::<Vec<_>>(), host.keys().collect::<Vec<_>>(), "block {block} rev {rev}");
        for (path, h) in &host {
            assert_eq!(Some(h), ours.get(path), "{path}, block {block} rev {rev}");
        }
        let st = fs.statfs().unwrap();
        assert_eq!(st.magic, EXT2_SUPER_MAGIC);
        assert!(st.blocks_free < st.blocks);
        // Read-only: every change is refused.
        let root = fs.root();
        assert_eq!(fs.create(root, b"x", 0o644, 0, 0), Err(Errno::EROFS));
        assert_eq!(fs.unlink(root, b"empty"), Err(Errno::EROFS));
    }
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn what_we_write_e2fsck_accepts_and_debugfs_reads() {
    let dir = temp_dir("ext2-write");
    for block in ["1024", "4096"] {
        let image = mkfs(&dir, "write.img", &["-b", block], "16M");
        let mut fs = Ext2::mount(MemDisk::new(image), clock(), false).unwrap();
        let root = fs.root();
        let etc = fs.mkdir(root, b"etc", 0o755, 0, 0).unwrap();
        let conf = fs.create(etc, b"app.conf", 0o640, 1000, 1000).unwrap();
        fs.write(conf, 0, b"port = 8080\n").unwrap();
        let big = fs.create(root, b"big.bin", 0o644, 0, 0).unwrap();
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        for (i, chunk) in data.chunks(65536).enumerate() {
            assert_eq!(fs.write(big, i as u64 * 65536, chunk).unwrap(), chunk.len());
        }
        let sparse = fs.create(root, b"sparse", 0o644, 0, 0).unwrap();
        fs.write(sparse, 5_000_000, b"end").unwrap();
        fs.symlink(root, b"fast", b"etc/app.conf", 0, 0).unwrap();
        fs.symlink(root, b"slow", "d/".repeat(100).as_bytes(), 0, 0).unwrap();
        fs.link(conf, root, b"conf-link").unwrap();
        for i in 0..300 {
            let f = fs.create(etc, format!("file-{i:04}-{}", "z".repeat(30)).as_bytes(), 0o644, 0, 0).unwrap();
            fs.write(f, 0, format!("{i}").as_bytes()).unwrap();
        }
        for i in (0..300).step_by(3) {
            fs.unlink(etc, format!("file-{i:04}-{}", "z".repeat(30)).as_bytes()).unwrap();
        }
        let sub = fs.mkdir(etc, b"sub", 0o700, 0, 0).unwrap();
        fs.rename(root, b"conf-link", sub, b"moved", 0).unwrap();
        fs.rename(etc, b"sub", root, b"top", 0).unwrap();
        let t1 = fs.create(root, b"trunc", 0o644, 0, 0).unwrap();
        fs.write(t1, 0, &vec![9u8; 100_000]).unwrap();
        fs.truncate(t1, 1500).unwrap();
        fs.sync().unwrap();
        let image = fs.unmount().unwrap().data;
        let (code, text) = fsck(&dir, &image);
        assert_eq!(code, 0, "e2fsck -fn, block {block}:\n{text}");
        // debugfs reads our files.
        assert_eq!(debugfs(&dir, &image, "cat /etc/app.conf"), b"port = 8080\n");
        assert_eq!(debugfs(&dir, &image, "cat /top/moved"), b"port = 8080\n");
        assert_eq!(debugfs(&dir, &image, "cat /big.bin"), data);
        assert_eq!(debugfs(&dir, &image, "cat /trunc"), vec![9u8; 1500]);
        let stat = String::from_utf8(debugfs(&dir, &image, "stat /etc/app.conf")).unwrap();
        assert!(stat.contains("Links: 2"), "{stat}");
        assert!(stat.contains("User:  1000"), "{stat}");
        assert!(stat.contains("Mode:  0640"), "{stat}");
        let link = String::from_utf8(debugfs(&dir, &image, "stat /slow")).unwrap();
        assert!(link.contains("Type: symlink"), "{link}");
        // A loop-free check of the whole tree: rdump, then compare with
        // what we read ourselves.
        let out = dir.join(format!("dump-{block}"));
        fs::create_dir_all(&out).unwrap();
        debugfs(&dir, &image, &format!("rdump / {}", out.display()));
        let mut again = Ext2::mount(MemDisk::new(image), clock(), true).unwrap();
        let ours = tree_of(&mut again);
        let host = tree_of_host(&out);
        assert_eq!(ours.len(), host.len());
        for (path, (kind, _, _, data)) in &ours {
            let (hkind, _, _, hdata) = host.get(path).unwrap_or_else(|| panic!("{path} missing from rdump"));
            assert_eq!((kind, data), (hkind, hdata), "{path}");
        }
    }
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn a_full_disk_gives_enospc_and_keeps_earlier_files() {
    let dir = temp_dir("ext2-full");
    let image = mkfs(&dir, "full.img", &["-b", "1024", "-N", "64"], "1M");
    let mut fs = Ext2::mount(MemDisk::new(image), clock(), false).unwrap();
    let root = fs.root();
    let keep = fs.create(root, b"keep", 0o644, 0, 0).unwrap();
    fs.write(keep, 0, &[7u8; 10_000]).unwrap();
    let big = fs.create(root, b"big", 0o644, 0, 0).unwrap();
    let mut off = 0u64;
    loop {
        match fs.write(big, off, &[1u8; 8192]) {
            Ok(n) => off += n as u64,
            Err(e) => {
                assert_eq!(e, Errno::ENOSPC);
                break;
            }
        }
    }
    assert!(off > 500_000, "only {off} bytes fit");
    assert_eq!(fs.statfs().unwrap().blocks_free, 0);
    // Inodes run out too.
    let mut n = 0;
    while fs.create(root, format!("e{n}").as_bytes(), 0o644, 0, 0).is_ok() {
        n += 1;
    }
    let mut buf = vec![0u8; 10_000];
    fs.read(keep, 0, &mut buf).unwrap();
    assert!(buf.iter().all(|&b| b == 7));
    fs.unlink(root, b"big").unwrap();
    fs.sync().unwrap();
    let image = fs.unmount().unwrap().data;
    let (code, text) = fsck(&dir, &image);
    assert_eq!(code, 0, "{text}");
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn allocate_and_chown_on_ext2_are_what_linux_reads() {
    let dir = temp_dir("ext2-allocate");
    let image = mkfs(&dir, "alloc.img", &["-b", "1024", "-N", "64"], "1M");
    let mut fs = Ext2::mount(MemDisk::new(image), clock(), false).unwrap();
    let root = fs.root();
    let f = fs.create(root, b"f", 0o644, 0, 0).unwrap();
    fs.write(f, 0, b"data").unwrap();
    fs.allocate(f, 2, 100_000, false).unwrap();
    let attr = fs.getattr(f).unwrap();
    assert_eq!(attr.size, 100_002);
    // Every block is held (blocks in 512-byte units, with indirect blocks).
    assert!(attr.blocks >= 100_002 / 512, "{} blocks", attr.blocks);
    let mut buf = vec![0xaau8; 8];
    fs.read(f, 0, &mut buf).unwrap();
    assert_eq!(&buf, b"data\0\0\0\0");
    assert_eq!(fs.allocate(f, 0, 10, true), Err(Errno::EOPNOTSUPP));
    // More than the disk holds: ENOSPC, and the size is as before.
    assert_eq!(fs.allocate(f, 0, 10 << 20, false), Err(Errno::ENOSPC));
    assert_eq!(fs.getattr(f).unwrap().size, 100_002);
    let set = libos_fs::filesystem::SetAttr { uid: Some(1234), gid: Some(567), ..Default::default() };
    fs.setattr(f, &set).unwrap();
    fs.sync().unwrap();
    let image = fs.unmount().unwrap().data;
    let (code, text) = fsck(&dir, &image);
    assert_eq!(code, 0, "{text}");
    let stat = String::from_utf8_lossy(&debugfs(&dir, &image, "stat /f")).into_owned();
    assert!(stat.contains("User:  1234") && stat.contains("Group:   567"), "{stat}");
    assert!(stat.contains("Size: 100002"), "{stat}");
    let _ = fs::remove_dir_all(&dir);
}

/// The same random operations on ext2 and on the RAM file system leave the
/// same tree; e2fsck accepts the image after each round.
#[test]
fn random_operations_match_the_ram_file_system() {
    let dir = temp_dir("ext2-model");
    let image = mkfs(&dir, "model.img", &["-b", "1024"], "8M");
    let mut disk_fs = Ext2::mount(MemDisk::new(image), clock(), false).unwrap();
    let mut model_fs = ramfs(64 << 20);
    let mut ok = BTreeMap::<u64, u32>::new();
    // Paths of directories (as inode pairs) to pick from.
    let mut dirs: Vec<(Ino, Ino)> = vec![(disk_fs.root(), model_fs.root())];
    let mut state = 0x0123_4567_89ab_cdefu64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for round in 0..4 {
        let disk: &mut dyn FileSystem = &mut disk_fs;
        let model: &mut dyn FileSystem = &mut model_fs;
        for _ in 0..400 {
            let (dd, md) = dirs[(next() as usize) % dirs.len()];
            let (dd2, md2) = dirs[(next() as usize) % dirs.len()];
            let name = format!("n{}", next() % 12).into_bytes();
            let name2 = format!("n{}", next() % 12).into_bytes();
            let op = next() % 10;
            let (a, b): (Result<u64, Errno>, Result<u64, Errno>) = match op {
                0 | 1 => {
                    (disk.create(dd, &name, 0o644, 0, 0).map(|_| 0), model.create(md, &name, 0o644, 0, 0).map(|_| 0))
                }
                2 => {
                    let r = (disk.mkdir(dd, &name, 0o755, 0, 0), model.mkdir(md, &name, 0o755, 0, 0));
                    if let (Ok(x), Ok(y)) = r {
                        dirs.push((x, y));
                    }
                    (r.0.map(|_| 0), r.1.map(|_| 0))
                }
                3 | 4 => {
                    let off = next() % 40_000;
                    let data = vec![(next() % 256) as u8; (next() % 20_000) as usize];
                    let w = |fs: &mut dyn FileSystem, d| {
                        let ino = fs.lookup(d, &name)?;
                        fs.write(ino, off, &data).map(|n| n as u64)
                    };
                    (w(disk, dd), w(model, md))
                }
                5 => {
                    let size = next() % 50_000;
                    let t = |fs: &mut dyn FileSystem, d| {
                        let ino = fs.lookup(d, &name)?;
                        fs.truncate(ino, size).map(|_| 0)
                    };
                    (t(disk, dd), t(model, md))
                }
                6 => {
                    let flags = if next() % 4 == 0 { RENAME_EXCHANGE } else { 0 };
                    (
                        disk.rename(dd, &name, dd2, &name2, flags).map(|_| 0),
                        model.rename(md, &name, md2, &name2, flags).map(|_| 0),
                    )
                }
                7 => {
                    let l = |fs: &mut dyn FileSystem, d, d2| {
                        let ino = fs.lookup(d, &name)?;
                        fs.link(ino, d2, &name2).map(|_| 0)
                    };
                    (l(disk, dd, dd2), l(model, md, md2))
                }
                8 => (disk.unlink(dd, &name).map(|_| 0), model.unlink(md, &name).map(|_| 0)),
                _ => {
                    let target = "t".repeat((next() % 120) as usize + 1);
                    (
                        disk.symlink(dd, &name, target.as_bytes(), 0, 0).map(|_| 0),
                        model.symlink(md, &name, target.as_bytes(), 0, 0).map(|_| 0),
                    )
                }
            };
            assert_eq!(a, b, "round {round}");
            if a.is_ok() {
                *ok.entry(op).or_default() += 1;
            }
            if next() % 20 == 0 {
                let (x, y) = (disk.rmdir(dd, &name), model.rmdir(md, &name));
                assert_eq!(x, y);
            }
            // Directories that went: forget them.
            dirs.retain(|&(d, _)| disk.getattr(d).is_ok_and(|a| a.nlink > 0));
        }
        assert_eq!(tree_of(disk), tree_of(model), "round {round}");
        disk.sync().unwrap();
        let (code, text) = fsck(&dir, &disk_fs.device().data);
        assert_eq!(code, 0, "round {round}:\n{text}");
    }
    println!("successful operations by kind: {ok:?}");
    for op in 0..10 {
        assert!(ok.get(&op).copied().unwrap_or(0) >= 5, "operation {op} rarely succeeded: {ok:?}");
    }
    let _ = fs::remove_dir_all(&dir);
}

/// Walks everything it can, ignoring errors (for corrupt images).
fn walk_tolerantly(fs: &mut dyn FileSystem, dir: Ino, depth: u32, budget: &mut u32) {
    if depth > 8 || *budget == 0 {
        return;
    }
    let mut entries = vec![];
    let _ = fs.readdir(dir, 0, &mut |e| {
        entries.push((e.name.to_vec(), e.ino));
        entries.len() < 200
    });
    for (name, ino) in entries {
        *budget = budget.saturating_sub(1);
        if *budget == 0 || name == b"." || name == b".." {
            continue;
        }
        let _ = fs.lookup(dir, &name);
        match fs.getattr(ino).map(|a| a.file_type()) {
            Ok(FileType::Directory) => walk_tolerantly(fs, ino, depth + 1, budget),
            Ok(FileType::Regular) => {
                let mut buf = vec![0u8; 64 * 1024];
                let _ = fs.read(ino, 0, &mut buf);
                let _ = fs.write(ino, 100, b"scribble");
                let _ = fs.truncate(ino, 10);
            }
            Ok(FileType::Symlink) => {
                let _ = fs.readlink(ino);
            }
            _ => {}
        }
        let _ = fs.rename(dir, &name, dir, b"renamed", 0);
        let _ = fs.unlink(dir, b"renamed");
        let _ = fs.rmdir(dir, b"renamed");
    }
    let _ = fs.create(dir, b"new-file", 0o644, 0, 0).and_then(|f| fs.write(f, 0, &[1u8; 5000]));
    let _ = fs.mkdir(dir, b"new-dir", 0o755, 0, 0);
}

/// Corrupt images (random bytes changed in the metadata: superblock, group
/// descriptors, bitmaps, inode tables, directories) mount or are refused,
/// and every call answers an error or a result: no panic, no endless loop.
#[test]
fn corrupt_images_never_panic() {
    let dir = temp_dir("ext2-fuzz");
    let src = dir.join("src");
    fs::create_dir(&src).unwrap();
    fs::create_dir_all(src.join("a/b")).unwrap();
    fs::write(src.join("a/file"), vec![3u8; 20_000]).unwrap();
    fs::write(src.join("small"), "x").unwrap();
    std::os::unix::fs::symlink("a/file", src.join("link")).unwrap();
    std::os::unix::fs::symlink("y".repeat(100), src.join("slow")).unwrap();
    let base = mkfs(&dir, "fuzz.img", &["-b", "1024", "-N", "32", "-d", src.to_str().unwrap()], "256K");
    // Where the metadata lives: the first 64 KiB (superblock, descriptors,
    // bitmaps, inode table) and the directories' blocks (from debugfs).
    let hot = 64 * 1024;
    let mut dir_blocks: Vec<usize> = vec![];
    for d in ["/", "/a", "/a/b"] {
        let out = String::from_utf8(debugfs(&dir, &base, &format!("blocks {d}"))).unwrap();
        dir_blocks.extend(out.split_whitespace().map(|b| b.parse::<usize>().unwrap()));
    }
    assert!(!dir_blocks.is_empty());
    let mut state = 0x51ab_7e11_dead_beefu64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let (mut mounted, mut refused) = (0, 0);
    for _ in 0..3000 {
        let mut image = base.clone();
        for _ in 0..1 + next() % 8 {
            // The superblock and descriptors (bytes 1024..3072), a directory
            // block, or anywhere in the metadata.
            let at = match next() % 3 {
                0 => 1024 + (next() as usize) % 2048,
                1 => dir_blocks[(next() as usize) % dir_blocks.len()] * 1024 + (next() as usize) % 1024,
                _ => 1024 + (next() as usize) % hot,
            };
            image[at] = match next() % 4 {
                0 => 0,
                1 => 0xff,
                _ => next() as u8,
            };
        }
        let read_only = next() % 3 == 0;
        match Ext2::mount(MemDisk::new(image), clock(), read_only) {
            Ok(mut fs) => {
                mounted += 1;
                let root = fs.root();
                let mut budget = 400;
                walk_tolerantly(&mut fs, root, 0, &mut budget);
                let _ = fs.statfs();
                let _ = fs.sync();
            }
            Err(_) => refused += 1,
        }
    }
    println!("{mounted} corrupt images mounted, {refused} refused");
    assert!(mounted > 1000 && refused > 0, "{mounted} mounted, {refused} refused");
    let _ = fs::remove_dir_all(&dir);
}
