//! The RAM file system through its `FileSystem` interface: files, holes,
//! links, directories, rename, readdir cursors, the byte limit, pins.

mod common;

use libos_abi::errno::Errno;
use libos_abi::fs_types::{RENAME_EXCHANGE, RENAME_NOREPLACE, S_IFDIR, S_IFLNK, S_IFREG};
use libos_fs::filesystem::{FileSystem, SetAttr, SetTime};
use libos_fs::ramfs::{CHUNK, ENTRY_COST, NODE_COST, RamFs};

use common::ramfs;

fn names(fs: &mut RamFs, dir: u64) -> Vec<String> {
    let mut out = Vec::new();
    fs.readdir(dir, 0, &mut |e| {
        out.push(String::from_utf8(e.name.to_vec()).unwrap());
        true
    })
    .unwrap();
    out
}

#[test]
fn files_read_back_with_holes_as_zeros() {
    let mut fs = ramfs(1 << 20);
    let root = fs.root();
    let f = fs.create(root, b"f", 0o644, 1, 2).unwrap();
    assert_eq!(fs.write(f, 0, b"hello").unwrap(), 5);
    assert_eq!(fs.write(f, 3 * CHUNK as u64 + 10, b"far").unwrap(), 3);
    let attr = fs.getattr(f).unwrap();
    assert_eq!(attr.size, 3 * CHUNK as u64 + 13);
    assert_eq!(attr.mode, S_IFREG | 0o644);
    assert_eq!((attr.uid, attr.gid, attr.nlink), (1, 2, 1));
    // Two chunks held: the hole in between takes nothing.
    assert_eq!(attr.blocks, 2 * CHUNK as u64 / 512);
    let mut buf = vec![0xaau8; attr.size as usize + 100];
    assert_eq!(fs.read(f, 0, &mut buf).unwrap(), attr.size as usize);
    assert_eq!(&buf[..5], b"hello");
    assert!(buf[5..3 * CHUNK + 10].iter().all(|&b| b == 0));
    assert_eq!(&buf[3 * CHUNK + 10..3 * CHUNK + 13], b"far");
    assert_eq!(fs.read(f, attr.size, &mut buf).unwrap(), 0);
    assert_eq!(fs.read(f, u64::MAX, &mut buf).unwrap(), 0);
}

#[test]
fn truncate_shrinks_then_grows_with_zeros() {
    let mut fs = ramfs(1 << 20);
    let root = fs.root();
    let f = fs.create(root, b"f", 0o644, 0, 0).unwrap();
    fs.write(f, 0, &[7u8; 3 * CHUNK]).unwrap();
    let used = fs.used_bytes();
    fs.truncate(f, 100).unwrap();
    assert_eq!(fs.used_bytes(), used - 2 * CHUNK as u64);
    fs.truncate(f, 2 * CHUNK as u64).unwrap();
    let mut buf = vec![0xaau8; 2 * CHUNK];
    assert_eq!(fs.read(f, 0, &mut buf).unwrap(), 2 * CHUNK);
    assert!(buf[..100].iter().all(|&b| b == 7));
    assert!(buf[100..].iter().all(|&b| b == 0), "old bytes came back after truncate");
    assert_eq!(fs.truncate(root, 0), Err(Errno::EISDIR));
}

#[test]
fn hard_links_share_data_and_count() {
    let mut fs = ramfs(1 << 20);
    let root = fs.root();
    let f = fs.create(root, b"a", 0o600, 0, 0).unwrap();
    fs.link(f, root, b"b").unwrap();
    assert_eq!(fs.getattr(f).unwrap().nlink, 2);
    assert_eq!(fs.link(f, root, b"b"), Err(Errno::EEXIST));
    assert_eq!(fs.link(root, root, b"c"), Err(Errno::EPERM));
    let b = fs.lookup(root, b"b").unwrap();
    fs.write(b, 0, b"shared").unwrap();
    fs.unlink(root, b"a").unwrap();
    let mut buf = [0u8; 6];
    fs.read(b, 0, &mut buf).unwrap();
    assert_eq!(&buf, b"shared");
    assert_eq!(fs.getattr(f).unwrap().nlink, 1);
    fs.unlink(root, b"b").unwrap();
    assert_eq!(fs.getattr(f), Err(Errno::ENOENT));
}

#[test]
fn directories_count_links_and_refuse_wrong_removals() {
    let mut fs = ramfs(1 << 20);
    let root = fs.root();
    let d = fs.mkdir(root, b"d", 0o755, 0, 0).unwrap();
    assert_eq!(fs.getattr(root).unwrap().nlink, 3);
    assert_eq!(fs.getattr(d).unwrap().nlink, 2);
    assert_eq!(fs.getattr(d).unwrap().mode, S_IFDIR | 0o755);
    fs.mkdir(d, b"e", 0o700, 0, 0).unwrap();
    assert_eq!(fs.getattr(d).unwrap().nlink, 3);
    assert_eq!(fs.lookup(d, b"..").unwrap(), root);
    assert_eq!(fs.lookup(root, b"..").unwrap(), root);
    assert_eq!(fs.rmdir(root, b"d"), Err(Errno::ENOTEMPTY));
    assert_eq!(fs.unlink(root, b"d"), Err(Errno::EISDIR));
    fs.create(d, b"file", 0o644, 0, 0).unwrap();
    assert_eq!(fs.rmdir(d, b"file"), Err(Errno::ENOTDIR));
    assert_eq!(fs.create(d, b"file", 0o644, 0, 0), Err(Errno::EEXIST));
    assert_eq!(fs.lookup(d, &[b'x'; 256]), Err(Errno::ENAMETOOLONG));
    assert_eq!(fs.create(d, &[b'x'; 256], 0o644, 0, 0), Err(Errno::ENAMETOOLONG));
    fs.create(d, &[b'x'; 255], 0o644, 0, 0).unwrap();
    let f = fs.lookup(d, b"file").unwrap();
    assert_eq!(fs.lookup(f, b"x"), Err(Errno::ENOTDIR));
    fs.rmdir(d, b"e").unwrap();
    assert_eq!(fs.getattr(d).unwrap().nlink, 2);
}

#[test]
fn a_removed_directory_stays_while_pinned_and_takes_no_entries() {
    let mut fs = ramfs(1 << 20);
    let root = fs.root();
    let d = fs.mkdir(root, b"d", 0o755, 0, 0).unwrap();
    fs.pin(d).unwrap();
    fs.rmdir(root, b"d").unwrap();
    assert_eq!(fs.getattr(d).unwrap().nlink, 0);
    assert_eq!(fs.create(d, b"x", 0o644, 0, 0), Err(Errno::ENOENT));
    fs.unpin(d).unwrap();
    assert_eq!(fs.getattr(d), Err(Errno::ENOENT));
    assert_eq!(fs.recount_bytes(), fs.used_bytes());
}

#[test]
fn an_unlinked_open_file_keeps_its_data_until_unpinned() {
    let mut fs = ramfs(1 << 20);
    let root = fs.root();
    let before = fs.used_bytes();
    let f = fs.create(root, b"f", 0o644, 0, 0).unwrap();
    fs.write(f, 0, b"still here").unwrap();
    fs.pin(f).unwrap();
    fs.unlink(root, b"f").unwrap();
    let mut buf = [0u8; 10];
    assert_eq!(fs.read(f, 0, &mut buf).unwrap(), 10);
    assert_eq!(&buf, b"still here");
    assert_eq!(fs.link(f, root, b"again"), Err(Errno::ENOENT));
    fs.unpin(f).unwrap();
    assert_eq!(fs.read(f, 0, &mut buf), Err(Errno::ENOENT));
    assert_eq!(fs.used_bytes(), before);
    assert_eq!(fs.unpin(f), Err(Errno::ENOENT));
}

#[test]
fn symlinks_keep_their_target() {
    let mut fs = ramfs(1 << 20);
    let root = fs.root();
    let l = fs.symlink(root, b"l", b"../some/where", 0, 0).unwrap();
    let attr = fs.getattr(l).unwrap();
    assert_eq!(attr.mode, S_IFLNK | 0o777);
    assert_eq!(attr.size, 13);
    assert_eq!(fs.readlink(l).unwrap(), b"../some/where");
    assert_eq!(fs.readlink(root), Err(Errno::EINVAL));
    assert_eq!(fs.symlink(root, b"e", b"", 0, 0), Err(Errno::ENOENT));
    assert_eq!(fs.symlink(root, b"long", &[b'a'; 4096], 0, 0), Err(Errno::ENAMETOOLONG));
    let mut buf = [0u8; 4];
    assert_eq!(fs.read(l, 0, &mut buf), Err(Errno::EINVAL));
    assert_eq!(fs.read(root, 0, &mut buf), Err(Errno::EISDIR));
}

#[test]
fn rename_follows_linux_rules() {
    let mut fs = ramfs(1 << 20);
    let root = fs.root();
    let a = fs.mkdir(root, b"a", 0o755, 0, 0).unwrap();
    let b = fs.mkdir(root, b"b", 0o755, 0, 0).unwrap();
    let f = fs.create(a, b"f", 0o644, 0, 0).unwrap();
    let g = fs.create(b, b"g", 0o644, 0, 0).unwrap();
    // File over file: the target's link goes.
    fs.rename(a, b"f", b, b"g", 0).unwrap();
    assert_eq!(fs.lookup(b, b"g").unwrap(), f);
    assert_eq!(fs.getattr(g), Err(Errno::ENOENT));
    assert_eq!(fs.lookup(a, b"f"), Err(Errno::ENOENT));
    // Directory into a sibling: link counts move.
    let sub = fs.mkdir(a, b"sub", 0o755, 0, 0).unwrap();
    assert_eq!(fs.getattr(a).unwrap().nlink, 3);
    fs.rename(a, b"sub", b, b"sub", 0).unwrap();
    assert_eq!(fs.getattr(a).unwrap().nlink, 2);
    assert_eq!(fs.getattr(b).unwrap().nlink, 3);
    assert_eq!(fs.lookup(sub, b"..").unwrap(), b);
    // Into itself.
    assert_eq!(fs.rename(root, b"b", sub, b"x", 0), Err(Errno::EINVAL));
    assert_eq!(fs.rename(root, b"b", b, b"x", 0), Err(Errno::EINVAL));
    // Type mismatches and non-empty targets.
    assert_eq!(fs.rename(b, b"g", root, b"a", 0), Err(Errno::EISDIR));
    assert_eq!(fs.rename(root, b"a", b, b"g", 0), Err(Errno::ENOTDIR));
    assert_eq!(fs.rename(root, b"a", root, b"b", 0), Err(Errno::ENOTEMPTY));
    // A directory replaces an empty one.
    fs.rename(b, b"sub", root, b"a", 0).unwrap();
    assert_eq!(fs.lookup(root, b"a").unwrap(), sub);
    assert_eq!(fs.getattr(a), Err(Errno::ENOENT));
    assert_eq!(fs.getattr(root).unwrap().nlink, 4);
    assert_eq!(fs.getattr(b).unwrap().nlink, 2);
    // NOREPLACE and EXCHANGE.
    assert_eq!(fs.rename(b, b"g", root, b"a", RENAME_NOREPLACE), Err(Errno::EEXIST));
    fs.rename(b, b"g", root, b"a", RENAME_EXCHANGE).unwrap();
    assert_eq!(fs.lookup(root, b"a").unwrap(), f);
    assert_eq!(fs.lookup(b, b"g").unwrap(), sub);
    assert_eq!(fs.lookup(sub, b"..").unwrap(), b);
    assert_eq!(fs.getattr(b).unwrap().nlink, 3);
    assert_eq!(fs.getattr(root).unwrap().nlink, 3);
    assert_eq!(fs.rename(b, b"g", root, b"nothing", RENAME_EXCHANGE), Err(Errno::ENOENT));
    assert_eq!(fs.rename(b, b"g", root, b"a", RENAME_EXCHANGE | RENAME_NOREPLACE), Err(Errno::EINVAL));
    assert_eq!(fs.rename(b, b"g", root, b"a", 1 << 7), Err(Errno::EINVAL));
    // Two names of one file: nothing happens.
    fs.link(f, root, b"f2").unwrap();
    fs.rename(root, b"a", root, b"f2", 0).unwrap();
    assert_eq!(fs.lookup(root, b"a").unwrap(), f);
    assert_eq!(fs.getattr(f).unwrap().nlink, 2);
    assert_eq!(fs.recount_bytes(), fs.used_bytes());
}

#[test]
fn readdir_cursor_resumes_and_survives_changes() {
    let mut fs = ramfs(1 << 20);
    let root = fs.root();
    for i in 0..10 {
        fs.create(root, format!("f{i}").as_bytes(), 0o644, 0, 0).unwrap();
    }
    // Read three at a time.
    let mut seen = Vec::new();
    let mut cursor = 0;
    loop {
        let mut n = 0;
        let next = fs
            .readdir(root, cursor, &mut |e| {
                if n == 3 {
                    return false;
                }
                n += 1;
                seen.push(String::from_utf8(e.name.to_vec()).unwrap());
                true
            })
            .unwrap();
        if n == 0 {
            break;
        }
        cursor = next;
        if seen.len() == 6 {
            // Remove one already seen and one not yet seen: the rest come
            // once each.
            fs.unlink(root, b"f0").unwrap();
            fs.unlink(root, b"f7").unwrap();
        }
    }
    let expected: Vec<String> =
        [".", ".."].iter().map(|s| s.to_string()).chain((0..10).filter(|&i| i != 7).map(|i| format!("f{i}"))).collect();
    assert_eq!(seen, expected);
    assert_eq!(names(&mut fs, root).len(), 2 + 8);
}

#[test]
fn times_follow_changes() {
    let mut fs = ramfs(1 << 20);
    let root = fs.root();
    let f = fs.create(root, b"f", 0o644, 0, 0).unwrap();
    let t0 = fs.getattr(f).unwrap();
    fs.write(f, 0, b"x").unwrap();
    let t1 = fs.getattr(f).unwrap();
    assert!(t1.mtime > t0.mtime && t1.ctime > t0.ctime);
    assert_eq!(t1.atime, t0.atime);
    let dir_before = fs.getattr(root).unwrap().mtime;
    fs.create(root, b"g", 0o644, 0, 0).unwrap();
    assert!(fs.getattr(root).unwrap().mtime > dir_before);
    let when = libos_abi::abi_types::Timespec::new(42, 7);
    let a = fs
        .setattr(f, &SetAttr { mode: Some(0o4711 | S_IFDIR), atime: Some(SetTime::At(when)), ..Default::default() })
        .unwrap();
    assert_eq!(a.mode, S_IFREG | 0o4711, "chmod must not change the type");
    assert_eq!(a.atime, when);
    assert_eq!(a.mtime, t1.mtime);
    assert!(a.ctime > t1.ctime);
}

#[test]
fn the_limit_gives_enospc_to_the_writer_only() {
    let limit = 64 * 1024;
    let mut fs = ramfs(limit);
    let root = fs.root();
    let keep = fs.create(root, b"keep", 0o644, 0, 0).unwrap();
    fs.write(keep, 0, &[1u8; 5000]).unwrap();
    let big = fs.create(root, b"big", 0o644, 0, 0).unwrap();
    // A write that does not fit writes what fits.
    let n = fs.write(big, 0, &vec![2u8; 100 * 1024]).unwrap();
    assert!(n > 0 && n < 100 * 1024 && n.is_multiple_of(CHUNK), "short write of {n}");
    assert!(fs.used_bytes() <= limit);
    assert_eq!(fs.write(big, n as u64, &[2u8; 10]), Err(Errno::ENOSPC));
    // Creating fails without leaving anything behind once even an inode
    // does not fit; names already there still work.
    let mut made = 0;
    loop {
        match fs.create(root, format!("e{made}").as_bytes(), 0o644, 0, 0) {
            Ok(_) => made += 1,
            Err(e) => {
                assert_eq!(e, Errno::ENOSPC);
                break;
            }
        }
    }
    assert!(fs.used_bytes() + NODE_COST + ENTRY_COST + 8 > limit);
    assert_eq!(fs.mkdir(root, b"d", 0o755, 0, 0), Err(Errno::ENOSPC));
    assert_eq!(fs.symlink(root, b"s", b"t", 0, 0), Err(Errno::ENOSPC));
    assert_eq!(fs.recount_bytes(), fs.used_bytes());
    let mut buf = [0u8; 5000];
    fs.read(keep, 0, &mut buf).unwrap();
    assert!(buf.iter().all(|&b| b == 1), "an earlier file changed");
    // Overwriting held chunks needs no new space.
    assert_eq!(fs.write(keep, 0, &[3u8; 100]).unwrap(), 100);
    // Freeing space makes room again.
    fs.unlink(root, b"big").unwrap();
    assert_eq!(fs.write(keep, 5000, &[4u8; 4096]).unwrap(), 4096);
    let st = fs.statfs().unwrap();
    assert_eq!(st.blocks, limit / CHUNK as u64);
    assert!(st.blocks_free < st.blocks);
    assert_eq!(fs.recount_bytes(), fs.used_bytes());
}

#[test]
fn huge_offsets_are_refused() {
    let mut fs = ramfs(1 << 20);
    let root = fs.root();
    let f = fs.create(root, b"f", 0o644, 0, 0).unwrap();
    assert_eq!(fs.write(f, i64::MAX as u64, b"x"), Err(Errno::EFBIG));
    assert_eq!(fs.write(f, u64::MAX, b"x"), Err(Errno::EINVAL));
    assert_eq!(fs.truncate(f, u64::MAX), Err(Errno::EFBIG));
    // A sparse file at the largest size takes no space.
    fs.truncate(f, i64::MAX as u64).unwrap();
    let mut buf = [9u8; 8];
    assert_eq!(fs.read(f, i64::MAX as u64 - 4, &mut buf).unwrap(), 4);
    assert_eq!(&buf[..4], &[0; 4]);
}

#[test]
fn allocate_holds_chunks_grows_the_file_and_is_all_or_nothing() {
    let mut fs = ramfs(16 * CHUNK as u64 + 4 * NODE_COST);
    let root = fs.root();
    let f = fs.create(root, b"f", 0o644, 0, 0).unwrap();
    fs.write(f, 0, b"head").unwrap();
    let used = fs.used_bytes();
    fs.allocate(f, 0, 3 * CHUNK as u64, false).unwrap();
    let attr = fs.getattr(f).unwrap();
    assert_eq!(attr.size, 3 * CHUNK as u64);
    // The written chunk was held already: two more.
    assert_eq!(fs.used_bytes(), used + 2 * CHUNK as u64);
    assert_eq!(attr.blocks, 3 * CHUNK as u64 / 512);
    let mut buf = vec![0xaau8; 8];
    fs.read(f, 0, &mut buf).unwrap();
    assert_eq!(&buf[..4], b"head");
    assert!(buf[4..].iter().all(|&b| b == 0));
    // Past the end with keep_size: held, the size stays.
    fs.allocate(f, 5 * CHUNK as u64, 10, true).unwrap();
    assert_eq!(fs.getattr(f).unwrap().size, 3 * CHUNK as u64);
    assert_eq!(fs.used_bytes(), used + 3 * CHUNK as u64);
    assert_eq!(fs.recount_bytes(), fs.used_bytes());
    // More than is free: ENOSPC and nothing taken.
    let before = fs.used_bytes();
    assert_eq!(fs.allocate(f, 0, 64 * CHUNK as u64, false), Err(Errno::ENOSPC));
    assert_eq!(fs.used_bytes(), before);
    assert_eq!(fs.getattr(f).unwrap().size, 3 * CHUNK as u64);
    assert_eq!(fs.allocate(f, u64::MAX - 5, 10, false), Err(Errno::EFBIG));
    // Then every byte fits without ENOSPC (chunk 5 is held already).
    let room = (fs.limit_bytes() - fs.used_bytes()) / CHUNK as u64;
    fs.allocate(f, 3 * CHUNK as u64, (room + 1) * CHUNK as u64, false).unwrap();
    assert!(fs.limit_bytes() - fs.used_bytes() < CHUNK as u64);
    assert_eq!(fs.allocate(f, 100 * CHUNK as u64, 1, false), Err(Errno::ENOSPC));
    // Truncation gives the chunks back.
    fs.truncate(f, 0).unwrap();
    assert_eq!(fs.recount_bytes(), fs.used_bytes());
    assert_eq!(fs.allocate(root, 0, 1, false), Err(Errno::EISDIR));
}
