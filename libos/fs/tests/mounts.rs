//! Lookup across mount points, read-only mounts, cross-mount calls, and
//! `getdents64` records.

mod common;

use libos_abi::errno::Errno;
use libos_abi::fs_types::{AT_REMOVEDIR, DT_DIR, DT_REG, O_CREAT, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY, ST_RDONLY};
use libos_fs::filesystem::{FileSystem, SetAttr};
use libos_fs::mount::{Location, MountTable};
use libos_fs::path::Lookup;
use libos_fs::vfs;

use common::{Locked, caller, ramfs, table};

/// `/` with `/tmp` (writable) and `/ro` (read-only, holding `/ro/file`)
/// mounted on it.
fn mounted() -> (MountTable<Locked>, Location, Location) {
    let mut t = table();
    let root = caller(&t, t.root());
    let tmp_point = vfs::mkdir(&t, &root, b"/tmp", 0o1777).unwrap();
    let ro_point = vfs::mkdir(&t, &root, b"/ro", 0o755).unwrap();
    // Something under the mount point, hidden by the mount.
    vfs::open(&t, &root, b"/tmp/hidden", O_WRONLY | O_CREAT, 0o644).map(|o| vfs::close(&t, o.at)).unwrap().unwrap();
    let tmp = t.mount(tmp_point, Locked::new(ramfs(1 << 20)), false, 2).unwrap();
    let mut ro_fs = ramfs(1 << 20);
    let root_ino = ro_fs.root();
    let f = ro_fs.create(root_ino, b"file", 0o644, 0, 0).unwrap();
    ro_fs.write(f, 0, b"data").unwrap();
    ro_fs.mkdir(root_ino, b"dir", 0o755, 0, 0).unwrap();
    let ro = t.mount(ro_point, Locked::new(ro_fs), true, 3).unwrap();
    let tmp_root = Location { mount: tmp, ino: t.get(tmp).unwrap().root };
    let ro_root = Location { mount: ro, ino: t.get(ro).unwrap().root };
    (t, tmp_root, ro_root)
}

#[test]
fn lookup_enters_mounts_and_dotdot_leaves_them() {
    let (t, tmp, ro) = mounted();
    let mut l = Lookup::new(&t, t.root());
    assert_eq!(l.resolve(t.root(), b"/tmp", true), Ok(tmp));
    assert_eq!(l.resolve(t.root(), b"/tmp/", true), Ok(tmp));
    assert_eq!(l.resolve(t.root(), b"/tmp/hidden", true), Err(Errno::ENOENT));
    assert_eq!(l.resolve(t.root(), b"/tmp/..", true), Ok(t.root()));
    assert_eq!(l.resolve(tmp, b"../ro/dir/../file", true).map(|a| a.mount), Ok(ro.mount));
    assert_eq!(l.resolve(ro, b"dir/../..", true), Ok(t.root()));
    assert_eq!(l.resolve(ro, b"../../../..", true), Ok(t.root()));
    // A symbolic link across mounts.
    let root = caller(&t, t.root());
    vfs::symlink(&t, &root, b"/ro/file", b"/tmp/to-ro").unwrap();
    let file = l.resolve(t.root(), b"/tmp/to-ro", true).unwrap();
    assert_eq!(file.mount, ro.mount);
    let (attr, dev) = vfs::stat(&t, &root, b"/tmp/to-ro", true).unwrap();
    assert_eq!((attr.size, dev), (4, 3));
    let (attr, dev) = vfs::stat(&t, &root, b"/tmp/to-ro", false).unwrap();
    assert_eq!((attr.size, dev), (8, 2));
}

#[test]
fn a_read_only_mount_gives_erofs_for_every_change() {
    let (t, _, ro) = mounted();
    let root = caller(&t, t.root());
    let in_ro = caller(&t, ro);
    assert_eq!(vfs::open(&t, &root, b"/ro/file", O_WRONLY, 0).err(), Some(Errno::EROFS));
    assert_eq!(vfs::open(&t, &root, b"/ro/file", O_RDWR, 0).err(), Some(Errno::EROFS));
    assert_eq!(vfs::open(&t, &root, b"/ro/file", O_RDONLY | O_TRUNC, 0).err(), Some(Errno::EROFS));
    assert_eq!(vfs::open(&t, &root, b"/ro/new", O_WRONLY | O_CREAT, 0o644).err(), Some(Errno::EROFS));
    // O_CREAT of an existing file for reading is allowed (Linux
    // `open_last_lookups` only needs write access to create).
    let o = vfs::open(&t, &root, b"/ro/file", O_RDONLY | O_CREAT, 0o644).unwrap();
    vfs::close(&t, o.at).unwrap();
    assert_eq!(vfs::mkdir(&t, &in_ro, b"new", 0o755).err(), Some(Errno::EROFS));
    // EEXIST comes before EROFS for mkdir (`filename_create`).
    assert_eq!(vfs::mkdir(&t, &in_ro, b"dir", 0o755).err(), Some(Errno::EEXIST));
    assert_eq!(vfs::unlink(&t, &in_ro, b"file", 0), Err(Errno::EROFS));
    assert_eq!(vfs::unlink(&t, &in_ro, b"nothere", 0), Err(Errno::EROFS));
    assert_eq!(vfs::unlink(&t, &in_ro, b"dir", AT_REMOVEDIR), Err(Errno::EROFS));
    assert_eq!(vfs::rename(&t, &in_ro, b"file", ro, b"other", 0), Err(Errno::EROFS));
    assert_eq!(vfs::link(&t, &in_ro, b"file", ro, b"other", 0), Err(Errno::EROFS));
    assert_eq!(vfs::symlink(&t, &in_ro, b"x", b"other").err(), Some(Errno::EROFS));
    assert_eq!(vfs::truncate(&t, &in_ro, b"file", 0), Err(Errno::EROFS));
    assert_eq!(
        vfs::setattr(&t, &in_ro, b"file", true, &SetAttr { mode: Some(0), ..Default::default() }).err(),
        Some(Errno::EROFS)
    );
    let (_, flags) = vfs::statfs(&t, ro).unwrap();
    assert_eq!(flags, ST_RDONLY);
    // Nothing changed.
    let (attr, _) = vfs::stat(&t, &root, b"/ro/file", true).unwrap();
    assert_eq!((attr.size, attr.mode & 0o777), (4, 0o644));
}

#[test]
fn calls_across_mounts_give_exdev_and_mount_points_are_busy() {
    let (t, tmp, _) = mounted();
    let root = caller(&t, t.root());
    let o = vfs::open(&t, &root, b"/tmp/f", O_WRONLY | O_CREAT, 0o644).unwrap();
    vfs::close(&t, o.at).unwrap();
    assert_eq!(vfs::rename(&t, &root, b"/tmp/f", t.root(), b"/f", 0), Err(Errno::EXDEV));
    assert_eq!(vfs::link(&t, &root, b"/tmp/f", t.root(), b"/f", 0), Err(Errno::EXDEV));
    assert_eq!(vfs::unlink(&t, &root, b"/tmp", AT_REMOVEDIR), Err(Errno::EBUSY));
    assert_eq!(vfs::rename(&t, &root, b"/tmp", t.root(), b"/tmp2", 0), Err(Errno::EBUSY));
    let o = vfs::open(&t, &root, b"/x", O_WRONLY | O_CREAT, 0o644).unwrap();
    vfs::close(&t, o.at).unwrap();
    vfs::mkdir(&t, &root, b"/d", 0o755).unwrap();
    assert_eq!(vfs::rename(&t, &root, b"/d", t.root(), b"/tmp", 0), Err(Errno::EBUSY));
    // Within /tmp, relative to its root.
    vfs::rename(&t, &caller(&t, tmp), b"f", tmp, b"g", 0).unwrap();
    assert!(vfs::stat(&t, &root, b"/tmp/g", true).is_ok());
}

#[test]
fn getdents64_packs_records_and_resumes() {
    let (t, tmp, _) = mounted();
    let who = caller(&t, tmp);
    for i in 0..20 {
        let o = vfs::open(&t, &who, format!("file-{i:02}").as_bytes(), O_WRONLY | O_CREAT, 0o644).unwrap();
        vfs::close(&t, o.at).unwrap();
    }
    vfs::mkdir(&t, &who, b"sub", 0o755).unwrap();
    let mut names = vec![];
    let mut cursor = 0;
    loop {
        let mut buf = [0u8; 100];
        let (n, next) = vfs::getdents64(&t, tmp, cursor, &mut buf).unwrap();
        if n == 0 {
            break;
        }
        let mut off = 0;
        while off < n {
            let reclen = u16::from_ne_bytes([buf[off + 16], buf[off + 17]]) as usize;
            let d_type = buf[off + 18];
            let name = &buf[off + 19..off + reclen];
            let name = std::str::from_utf8(&name[..name.iter().position(|&c| c == 0).unwrap()]).unwrap().to_string();
            assert_eq!(reclen % 8, 0);
            let expect = if name == "sub" || name.starts_with('.') { DT_DIR } else { DT_REG };
            assert_eq!(d_type, expect, "{name}");
            names.push(name);
            off += reclen;
        }
        cursor = next;
    }
    assert_eq!(names.len(), 23);
    assert_eq!(&names[..2], &[".", ".."]);
    // A removed directory that is still open lists nothing.
    let gone = vfs::mkdir(&t, &who, b"gone", 0o755).unwrap();
    t.with(gone.mount, |fs| fs.pin(gone.ino)).unwrap();
    vfs::unlink(&t, &who, b"gone", libos_abi::fs_types::AT_REMOVEDIR).unwrap();
    assert_eq!(vfs::getdents64(&t, gone, 0, &mut [0u8; 100]), Err(Errno::ENOENT));
    vfs::close(&t, gone).unwrap();
    let mut tiny = [0u8; 20];
    assert_eq!(vfs::getdents64(&t, tmp, 0, &mut tiny), Err(Errno::EINVAL));
    let file = Lookup::new(&t, t.root()).resolve(tmp, b"file-00", true).unwrap();
    assert_eq!(vfs::getdents64(&t, file, 0, &mut [0u8; 100]), Err(Errno::ENOTDIR));
}

#[test]
fn unmount_refuses_the_root_and_busy_mounts() {
    let (mut t, tmp, _) = mounted();
    let root = caller(&t, t.root());
    vfs::mkdir(&t, &root, b"/tmp/inner", 0o755).unwrap();
    let inner = Lookup::new(&t, t.root()).resolve(t.root(), b"/tmp/inner", true).unwrap();
    let m = t.mount(inner, Locked::new(ramfs(1 << 16)), false, 9).unwrap();
    assert_eq!(t.mount(inner, Locked::new(ramfs(1 << 16)), false, 9).err(), Some(Errno::EBUSY));
    let file = vfs::open(&t, &root, b"/tmp/f", O_WRONLY | O_CREAT, 0o644).unwrap().at;
    assert_eq!(t.mount(file, Locked::new(ramfs(1 << 16)), false, 9).err(), Some(Errno::ENOTDIR));
    assert_eq!(t.unmount(0).err(), Some(Errno::EINVAL));
    assert_eq!(t.unmount(tmp.mount).err(), Some(Errno::EBUSY));
    t.unmount(m).unwrap();
    t.unmount(tmp.mount).unwrap();
    assert_eq!(Lookup::new(&t, t.root()).resolve(t.root(), b"/tmp/hidden", true).map(|_| ()), Ok(()));
}

#[test]
fn chown_sets_owner_and_clears_set_id_bits_of_files() {
    let (t, tmp, ro) = mounted();
    let who = caller(&t, tmp);
    let f = vfs::open(&t, &who, b"f", O_WRONLY | O_CREAT, 0o644).unwrap().at;
    t.with_writable(f.mount, |fs| fs.setattr(f.ino, &SetAttr { mode: Some(0o6755), ..SetAttr::default() })).unwrap();
    let attr = vfs::chown_at(&t, f, Some(7), None).unwrap();
    assert_eq!((attr.uid, attr.gid), (7, 0));
    // Set-user-ID goes, set-group-ID with group execute too.
    assert_eq!(attr.mode & 0o7777, 0o755);
    // Set-group-ID without group execute (mandatory locking) stays; -1 for
    // both changes no id.
    t.with_writable(f.mount, |fs| fs.setattr(f.ino, &SetAttr { mode: Some(0o2644), ..SetAttr::default() })).unwrap();
    let attr = vfs::chown_at(&t, f, None, None).unwrap();
    assert_eq!((attr.uid, attr.gid, attr.mode & 0o7777), (7, 0, 0o2644));
    let attr = vfs::chown_at(&t, f, None, Some(9)).unwrap();
    assert_eq!((attr.uid, attr.gid), (7, 9));
    assert_eq!(vfs::stat_at(&t, f).unwrap().0.gid, 9);
    vfs::close(&t, f).unwrap();
    // A directory keeps its set-id bits.
    let d = vfs::mkdir(&t, &who, b"d", 0o755).unwrap();
    t.with_writable(d.mount, |fs| fs.setattr(d.ino, &SetAttr { mode: Some(0o6775), ..SetAttr::default() })).unwrap();
    assert_eq!(vfs::chown_at(&t, d, Some(1), Some(1)).unwrap().mode & 0o7777, 0o6775);
    // A read-only mount refuses.
    assert_eq!(vfs::chown_at(&t, ro, Some(1), None), Err(Errno::EROFS));
}
