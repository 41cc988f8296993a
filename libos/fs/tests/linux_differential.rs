//! Path lookup and the name-level calls against the host's Linux: the same
//! tree is built in a host temporary directory and in our RAM file system,
//! each operation runs on a fresh copy of both, and the outcomes (success
//! or the errno) and the resulting trees must be the same.

mod common;

use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use libos_abi::errno::Errno;
use libos_abi::fs_types::{
    AT_REMOVEDIR, O_ACCMODE, O_CREAT, O_DIRECTORY, O_EXCL, O_NOFOLLOW, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY,
};
use libos_fs::filesystem::{FileSystem, FileType};
use libos_fs::mount::{Location, MountTable};
use libos_fs::path::Lookup;
use libos_fs::vfs::{self, Caller};

use common::{Locked, caller, table};

/// The tree, under `d`: (path, kind, content or target).
const TREE: &[(&str, char, &str)] = &[
    ("f", 'f', "hello"),
    ("sub", 'd', ""),
    ("sub/g", 'f', "gee"),
    ("sub/deeper", 'd', ""),
    ("empty", 'd', ""),
    ("ln", 'l', "f"),
    ("todir", 'l', "sub"),
    ("tofile", 'l', "f"),
    ("dangling", 'l', "nothere"),
    ("dangling2", 'l', "nodir/x"),
    ("loop1", 'l', "loop2"),
    ("loop2", 'l', "loop1"),
    ("up", 'l', "sub/.."),
    ("self", 'l', "."),
];

#[derive(Clone, Debug)]
enum Op {
    Open(&'static str, i32),
    Mkdir(&'static str),
    Unlink(&'static str),
    Rmdir(&'static str),
    Rename(&'static str, &'static str),
    Link(&'static str, &'static str),
    Symlink(&'static str, &'static str),
    Readlink(&'static str),
    Stat(&'static str),
    Lstat(&'static str),
    OpenOwned(String, i32),
}

fn ops() -> Vec<Op> {
    use Op::*;
    let mut v = vec![];
    for p in [
        "f",
        "f/",
        "f/.",
        "f/..",
        "ln",
        "ln/",
        "dangling",
        "dangling2",
        "loop1",
        "sub",
        "sub/",
        "sub/.",
        "sub/..",
        "todir/g",
        "todir/",
        "todir/..",
        "tofile/x",
        "tofile/",
        "f/x",
        "nothere",
        "sub/../f",
        "sub/./g",
        "./././f",
        "sub//g",
        "sub///",
        ".",
        "..",
        "self/self/f",
        "up/f",
        "up/sub/g",
        "sub/deeper/../../f",
        "nothere/",
        "nothere/x",
    ] {
        v.push(Open(p, O_RDONLY));
        v.push(Stat(p));
        v.push(Lstat(p));
    }
    for p in ["f", "ln", "todir", "todir/", "sub", "dangling", "loop1", "self"] {
        v.push(Open(p, O_RDONLY | O_NOFOLLOW));
        v.push(Open(p, O_RDONLY | O_DIRECTORY));
    }
    for p in ["sub", "todir", "f", "."] {
        v.push(Open(p, O_WRONLY));
        v.push(Open(p, O_RDWR));
    }
    // Access mode 3: opened for neither reading nor writing, checked as a
    // write (EISDIR for a folder).
    for p in ["f", "ln", "sub", "todir", ".", "missing", "dangling"] {
        v.push(Open(p, O_ACCMODE));
    }
    for p in [
        "new",
        "new/",
        "sub/new",
        "nodir/new",
        "f/new",
        "f",
        "ln",
        "dangling",
        "dangling2",
        "sub",
        "sub/",
        "todir",
        "loop1",
        ".",
        "tofile/",
    ] {
        v.push(Open(p, O_WRONLY | O_CREAT));
        v.push(Open(p, O_WRONLY | O_CREAT | O_EXCL));
        v.push(Open(p, O_RDONLY | O_CREAT | O_NOFOLLOW));
        v.push(Open(p, O_RDWR | O_CREAT | O_TRUNC));
    }
    for p in [
        "newd",
        "newd/",
        "newd//",
        "sub",
        "ln",
        "dangling",
        "f/x",
        ".",
        "..",
        "nodir/x",
        "sub/newd",
        "todir/newd",
        "tofile/x",
        "loop1/x",
        "sub/../newd",
        "/",
    ] {
        v.push(Mkdir(p));
    }
    for p in [
        "f", "f/", "sub", "sub/", "nothere", "ln", "ln/", "todir", "todir/", "dangling", ".", "..", "sub/g", "sub/g/",
        "empty", "tofile/", "self/f",
    ] {
        v.push(Unlink(p));
        v.push(Rmdir(p));
    }
    v.push(Rmdir("empty/."));
    v.push(Rmdir("empty/.."));
    v.push(Rmdir("empty/"));
    v.push(Rmdir("empty//"));
    v.push(Rmdir("sub/deeper"));
    for (a, b) in [
        ("f", "sub"),
        ("sub", "f"),
        ("sub", "empty"),
        ("empty", "sub"),
        ("sub", "sub/x"),
        ("sub", "sub/deeper/x"),
        ("f", "f"),
        ("f", "ln"),
        ("f", "nodir/x"),
        ("f/", "x"),
        ("f", "x/"),
        ("sub/", "x/"),
        ("sub", "x/"),
        (".", "x"),
        ("f", "."),
        ("f", ".."),
        ("..", "x"),
        ("ln", "newname"),
        ("todir", "newname"),
        ("todir/", "newname"),
        ("nothere", "x"),
        ("sub/g", "g2"),
        ("empty", "sub/deeper"),
        ("sub/deeper", "empty"),
        ("f", "empty"),
        ("empty", "f"),
        ("f", "sub/g"),
        ("sub", "todir"),
        ("dangling", "f"),
    ] {
        v.push(Rename(a, b));
    }
    for (a, b) in [
        ("sub", "x"),
        ("f", "f2"),
        ("f", "ln"),
        ("dangling", "x"),
        ("f", "x/"),
        ("f/", "x"),
        ("ln", "x"),
        ("nothere", "x"),
        ("f", "sub/f"),
        ("f", "nodir/x"),
        ("f", "."),
    ] {
        v.push(Link(a, b));
    }
    for (target, p) in [("f", "x"), ("f", "f"), ("f", "x/"), ("whatever", "sub/s"), ("x", "dangling"), ("x", ".")] {
        v.push(Symlink(target, p));
    }
    for p in ["f", "ln", "ln/", "todir", "todir/", "dangling", "nothere", "sub", "loop1", "loop1/"] {
        v.push(Readlink(p));
    }
    // Lengths: a component of 255 and 256 bytes, a path of 4095 and more.
    v.push(OpenOwned("x".repeat(255), O_RDONLY));
    v.push(OpenOwned("x".repeat(256), O_RDONLY));
    v.push(OpenOwned("x".repeat(255), O_WRONLY | O_CREAT));
    v.push(OpenOwned("x".repeat(256), O_WRONLY | O_CREAT));
    v.push(OpenOwned(format!("sub/{}/x", "y".repeat(300)), O_RDONLY));
    v.push(OpenOwned("./".repeat(2100) + "f", O_RDONLY));
    v
}

/// Host: builds the tree under `dir/d`.
fn host_tree(dir: &Path) -> PathBuf {
    let d = dir.join("d");
    fs::create_dir(&d).unwrap();
    for &(p, kind, data) in TREE {
        let path = d.join(p);
        match kind {
            'f' => fs::write(&path, data).unwrap(),
            'd' => fs::create_dir(&path).unwrap(),
            _ => std::os::unix::fs::symlink(data, &path).unwrap(),
        }
    }
    d
}

/// Ours: builds the tree under `/d`; returns the table and `/d`.
fn our_tree() -> (MountTable<Locked>, Location) {
    let t = table();
    let root = caller(&t, t.root());
    let d = vfs::mkdir(&t, &root, b"/d", 0o755).unwrap();
    let who = caller(&t, d);
    for &(p, kind, data) in TREE {
        match kind {
            'f' => {
                let o = vfs::open(&t, &who, p.as_bytes(), O_WRONLY | O_CREAT, 0o644).unwrap();
                t.with(o.at.mount, |fs| fs.write(o.at.ino, 0, data.as_bytes())).unwrap();
                vfs::close(&t, o.at).unwrap();
            }
            'd' => {
                vfs::mkdir(&t, &who, p.as_bytes(), 0o755).unwrap();
            }
            _ => {
                vfs::symlink(&t, &who, data.as_bytes(), p.as_bytes()).unwrap();
            }
        }
    }
    (t, d)
}

fn host_path(d: &Path, p: &str) -> PathBuf {
    let mut bytes = d.as_os_str().as_bytes().to_vec();
    bytes.push(b'/');
    bytes.extend_from_slice(p.as_bytes());
    PathBuf::from(OsStr::from_bytes(&bytes))
}

fn errno_of(e: std::io::Error) -> i32 {
    e.raw_os_error().expect("an OS error")
}

fn host_run(d: &Path, op: &Op) -> Result<String, i32> {
    let p = |s: &str| host_path(d, s);
    let r = match op {
        Op::Open(path, flags) => host_open(&p(path), *flags),
        Op::OpenOwned(path, flags) => host_open(&p(path), *flags),
        Op::Mkdir(path) => fs::create_dir(p(path)).map(|_| String::new()),
        Op::Unlink(path) => fs::remove_file(p(path)).map(|_| String::new()),
        Op::Rmdir(path) => fs::remove_dir(p(path)).map(|_| String::new()),
        Op::Rename(a, b) => fs::rename(p(a), p(b)).map(|_| String::new()),
        Op::Link(a, b) => fs::hard_link(p(a), p(b)).map(|_| String::new()),
        Op::Symlink(target, path) => std::os::unix::fs::symlink(target, p(path)).map(|_| String::new()),
        Op::Readlink(path) => fs::read_link(p(path)).map(|t| t.to_string_lossy().into_owned()),
        Op::Stat(path) => fs::metadata(p(path)).map(|m| kind_of_mode(m.mode()).to_string()),
        Op::Lstat(path) => fs::symlink_metadata(p(path)).map(|m| kind_of_mode(m.mode()).to_string()),
    };
    r.map_err(errno_of)
}

fn host_open(path: &Path, flags: i32) -> std::io::Result<String> {
    if flags & O_ACCMODE == O_ACCMODE {
        // std's OpenOptions cannot ask for access mode 3: open(2) itself.
        unsafe extern "C" {
            fn open(path: *const std::ffi::c_char, flags: i32, ...) -> i32;
        }
        let c = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
        // SAFETY: `c` is a NUL-terminated path that outlives the call.
        let fd = unsafe { open(c.as_ptr(), flags, 0o644) };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: `fd` was just opened and is owned by nothing else.
        let f = unsafe { <fs::File as std::os::fd::FromRawFd>::from_raw_fd(fd) };
        return Ok(kind_of_mode(f.metadata()?.mode()).to_string());
    }
    let mut o = fs::OpenOptions::new();
    match flags & 3 {
        O_RDONLY => o.read(true),
        O_WRONLY => o.write(true),
        _ => o.read(true).write(true),
    };
    o.custom_flags(flags & !3).mode(0o644);
    let f = o.open(path)?;
    Ok(kind_of_mode(f.metadata()?.mode()).to_string())
}

fn kind_of_mode(mode: u32) -> char {
    match mode & 0o170000 {
        0o100000 => 'f',
        0o040000 => 'd',
        0o120000 => 'l',
        _ => '?',
    }
}

fn kind_char(k: FileType) -> char {
    match k {
        FileType::Regular => 'f',
        FileType::Directory => 'd',
        FileType::Symlink => 'l',
        FileType::Other => '?',
    }
}

fn our_run(t: &MountTable<Locked>, d: Location, op: &Op) -> Result<String, i32> {
    let who = caller(t, d);
    let kind = |at: Location| -> String {
        kind_char(t.with(at.mount, |fs| fs.getattr(at.ino)).unwrap().file_type()).to_string()
    };
    let r: Result<String, Errno> = match op {
        Op::Open(path, flags) => our_open(t, &who, path.as_bytes(), *flags),
        Op::OpenOwned(path, flags) => our_open(t, &who, path.as_bytes(), *flags),
        Op::Mkdir(path) => vfs::mkdir(t, &who, path.as_bytes(), 0o777).map(|_| String::new()),
        Op::Unlink(path) => vfs::unlink(t, &who, path.as_bytes(), 0).map(|_| String::new()),
        Op::Rmdir(path) => vfs::unlink(t, &who, path.as_bytes(), AT_REMOVEDIR).map(|_| String::new()),
        Op::Rename(a, b) => vfs::rename(t, &who, a.as_bytes(), d, b.as_bytes(), 0).map(|_| String::new()),
        Op::Link(a, b) => vfs::link(t, &who, a.as_bytes(), d, b.as_bytes(), 0).map(|_| String::new()),
        Op::Symlink(target, path) => vfs::symlink(t, &who, target.as_bytes(), path.as_bytes()).map(|_| String::new()),
        Op::Readlink(path) => vfs::readlink(t, &who, path.as_bytes()).map(|v| String::from_utf8(v).unwrap()),
        Op::Stat(path) => Lookup::new(t, who.root).resolve(d, path.as_bytes(), true).map(kind),
        Op::Lstat(path) => Lookup::new(t, who.root).resolve(d, path.as_bytes(), false).map(kind),
    };
    r.map_err(|e| e as i32)
}

fn our_open(t: &MountTable<Locked>, who: &Caller, path: &[u8], flags: i32) -> Result<String, Errno> {
    let o = vfs::open(t, who, path, flags, 0o644)?;
    let k = kind_char(o.kind).to_string();
    vfs::close(t, o.at)?;
    Ok(k)
}

/// Host: the tree under `d`, sorted: path, kind, nlink of files, contents
/// or target.
fn host_listing(d: &Path) -> Vec<String> {
    let mut out = vec![];
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        for e in fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let path = e.path();
            let rel = path.strip_prefix(base).unwrap().to_string_lossy().into_owned();
            let m = fs::symlink_metadata(&path).unwrap();
            let k = kind_of_mode(m.mode());
            let extra = match k {
                'f' => format!("{} {:?}", m.nlink(), fs::read(&path).unwrap()),
                'l' => fs::read_link(&path).unwrap().to_string_lossy().into_owned(),
                _ => String::new(),
            };
            out.push(format!("{rel} {k} {extra}"));
            if k == 'd' {
                walk(base, &path, out);
            }
        }
    }
    walk(d, d, &mut out);
    out.sort();
    out
}

fn our_listing(t: &MountTable<Locked>, d: Location) -> Vec<String> {
    let mut out = vec![];
    fn walk(t: &MountTable<Locked>, prefix: &str, dir: Location, out: &mut Vec<String>) {
        let mut entries = vec![];
        t.with(dir.mount, |fs| {
            fs.readdir(dir.ino, 0, &mut |e| {
                if e.name != b"." && e.name != b".." {
                    entries.push((String::from_utf8(e.name.to_vec()).unwrap(), e.ino));
                }
                true
            })
        })
        .unwrap();
        for (name, ino) in entries {
            let rel = if prefix.is_empty() { name.clone() } else { format!("{prefix}/{name}") };
            let at = Location { mount: dir.mount, ino };
            let a = t.with(at.mount, |fs| fs.getattr(ino)).unwrap();
            let k = kind_char(a.file_type());
            let extra = match k {
                'f' => {
                    let mut buf = vec![0; a.size as usize];
                    t.with(at.mount, |fs| fs.read(ino, 0, &mut buf)).unwrap();
                    format!("{} {:?}", a.nlink, buf)
                }
                'l' => String::from_utf8(t.with(at.mount, |fs| fs.readlink(ino)).unwrap()).unwrap(),
                _ => String::new(),
            };
            out.push(format!("{rel} {k} {extra}"));
            if k == 'd' {
                walk(t, &rel, at, out);
            }
        }
    }
    walk(t, "", d, &mut out);
    out.sort();
    out
}

#[test]
fn every_operation_matches_the_hosts_linux() {
    let tmp = std::env::temp_dir().join(format!("libos-fs-diff-{}", std::process::id()));
    let _ = fs::remove_dir_all(&tmp);
    fs::create_dir_all(&tmp).unwrap();
    let mut mismatches = vec![];
    let ops = ops();
    for (i, op) in ops.iter().enumerate() {
        let dir = tmp.join(i.to_string());
        fs::create_dir(&dir).unwrap();
        let hd = host_tree(&dir);
        let (t, d) = our_tree();
        let host = host_run(&hd, op);
        let ours = our_run(&t, d, op);
        if host != ours {
            mismatches.push(format!("{op:?}: linux {host:?}, ours {ours:?}"));
            continue;
        }
        let (hl, ol) = (host_listing(&hd), our_listing(&t, d));
        if hl != ol {
            mismatches.push(format!("{op:?}: trees differ:\n  linux {hl:?}\n  ours  {ol:?}"));
        }
        fs::remove_dir_all(&dir).unwrap();
    }
    let _ = fs::remove_dir_all(&tmp);
    assert!(mismatches.is_empty(), "{} of {} differ:\n{}", mismatches.len(), ops.len(), mismatches.join("\n"));
    assert!(ops.len() > 250);
}

#[test]
fn forty_links_resolve_and_the_forty_first_is_eloop() {
    let t = table();
    let root = caller(&t, t.root());
    let f = vfs::open(&t, &root, b"/target", O_WRONLY | O_CREAT, 0o644).unwrap();
    vfs::close(&t, f.at).unwrap();
    vfs::symlink(&t, &root, b"/target", b"/l0").unwrap();
    for i in 1..=40 {
        vfs::symlink(&t, &root, format!("l{}", i - 1).as_bytes(), format!("/l{i}").as_bytes()).unwrap();
    }
    // /l39 is 40 links deep, /l40 41.
    let mut lookup = Lookup::new(&t, t.root());
    assert_eq!(lookup.resolve(t.root(), b"/l39", true), Ok(f.at));
    assert_eq!(lookup.links_followed(), 40);
    assert_eq!(Lookup::new(&t, t.root()).resolve(t.root(), b"/l40", true), Err(Errno::ELOOP));
    // The same limit on the host.
    let tmp = std::env::temp_dir().join(format!("libos-fs-loop-{}", std::process::id()));
    let _ = fs::remove_dir_all(&tmp);
    fs::create_dir_all(&tmp).unwrap();
    fs::write(tmp.join("target"), "").unwrap();
    std::os::unix::fs::symlink("target", tmp.join("l0")).unwrap();
    for i in 1..=40 {
        std::os::unix::fs::symlink(format!("l{}", i - 1), tmp.join(format!("l{i}"))).unwrap();
    }
    assert!(fs::metadata(tmp.join("l39")).is_ok());
    assert_eq!(fs::metadata(tmp.join("l40")).map_err(errno_of).err(), Some(Errno::ELOOP as i32));
    let _ = fs::remove_dir_all(&tmp);
}

#[test]
fn dotdot_never_leaves_the_root_and_absolute_links_start_there() {
    let t = table();
    let root = caller(&t, t.root());
    let a = vfs::mkdir(&t, &root, b"/a", 0o755).unwrap();
    vfs::mkdir(&t, &root, b"/a/b", 0o755).unwrap();
    vfs::symlink(&t, &root, b"/a", b"/a/b/abs").unwrap();
    let mut l = Lookup::new(&t, t.root());
    assert_eq!(l.resolve(t.root(), b"/../../..", true), Ok(t.root()));
    assert_eq!(l.resolve(t.root(), b"../../a/../../a", true), Ok(a));
    assert_eq!(l.resolve(a, b"b/abs/b/abs", true), Ok(a));
    // A process whose root is /a sees /a as / and absolute links inside it.
    let mut chrooted = Lookup::new(&t, a);
    assert_eq!(chrooted.resolve(a, b"../../..", true), Ok(a));
    let b_dir = chrooted.resolve(a, b"/b", true).unwrap();
    assert_eq!(chrooted.resolve(b_dir, b"abs", true), Err(Errno::ENOENT), "/a inside the chroot is /a/a");
    // Empty paths and long paths.
    assert_eq!(Lookup::new(&t, t.root()).resolve(a, b"", true), Err(Errno::ENOENT));
    let long = "/".repeat(4095);
    assert_eq!(Lookup::new(&t, t.root()).resolve(a, long.as_bytes(), true), Ok(t.root()));
    let too_long = "/".repeat(4096);
    assert_eq!(Lookup::new(&t, t.root()).resolve(a, too_long.as_bytes(), true), Err(Errno::ENAMETOOLONG));
}
