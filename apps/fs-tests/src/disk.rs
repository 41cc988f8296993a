//! The ext2 disk at `/data`: writes, fsync, the file calls there, and the
//! modes of the xtask's multi-boot test (see `main`).

use libos::fs;
use libos::io::Write;
use libos::prelude::*;

use crate::util::fs_types::*;
use crate::util::{c, fresh_dir, pattern, require_disk, sys};

/// The files `persist-write` leaves: (name, id, size).
const PERSISTED: [(&str, u64, usize); 3] = [("small", 1, 100), ("medium", 2, 70_000), ("large", 3, 3 << 20)];

#[libos::test]
fn the_disk_is_ext2_and_takes_files() {
    require_disk();
    let mut st = Statfs::default();
    // SAFETY: NUL-terminated path, writable buffer.
    unsafe { sys::statfs(c("/data").as_ptr(), &mut st) }.unwrap();
    assert_eq!(st.f_type, EXT2_SUPER_MAGIC);
    let d = fresh_dir("/data/basic");
    let mut f = fs::File::create(format!("{d}/f")).unwrap();
    f.write_all(&pattern(5, 200_000)).unwrap();
    f.sync_all().unwrap();
    drop(f);
    assert!(fs::read(format!("{d}/f")).unwrap() == pattern(5, 200_000));
    fs::symlink("f", format!("{d}/l")).unwrap();
    assert_eq!(fs::read_link(format!("{d}/l")).unwrap(), "f");
    fs::create_dir_all(format!("{d}/a/b/c")).unwrap();
    fs::rename(format!("{d}/f"), format!("{d}/a/b/c/g")).unwrap();
    assert_eq!(fs::metadata(format!("{d}/a/b/c/g")).unwrap().len(), 200_000);
    fs::remove_dir_all(&d).unwrap();
    assert!(!fs::exists(&d).unwrap());
}

/// The app's name as its configuration in the `--files` root says
/// (`/etc/app.conf`, `name = ...`).
fn configured_name() -> Option<String> {
    let text = fs::read_to_string("/etc/app.conf").ok()?;
    let line = text.lines().find_map(|l| l.strip_prefix("name"))?;
    Some(line.trim_start().strip_prefix('=')?.trim().to_string())
}

/// `-- persist-write`: the files, fsync'd, then a clean exit; the file
/// `owner` holds the name read from the configuration.
pub fn persist_write() -> i32 {
    let d = "/data/persist";
    let Some(name) = configured_name() else {
        libos::println!("fs-tests: no name in /etc/app.conf (booted without --files?)");
        return 1;
    };
    if fs::exists(d).unwrap_or(false) {
        fs::remove_dir_all(d).unwrap();
    }
    fs::create_dir_all(d).unwrap();
    let mut f = fs::File::create(format!("{d}/owner")).unwrap();
    f.write_all(name.as_bytes()).unwrap();
    f.sync_all().unwrap();
    for (name, id, size) in PERSISTED {
        let mut f = fs::File::create(format!("{d}/{name}")).unwrap();
        f.write_all(&pattern(id, size)).unwrap();
        f.sync_all().unwrap();
    }
    fs::symlink("small", format!("{d}/link")).unwrap();
    // Last, a file with no fsync: only the kernel's sync at a clean exit
    // leaves the image consistent and marked clean after it.
    fs::write(format!("{d}/unsynced"), pattern(4, 50_000)).unwrap();
    libos::println!("fs-tests: persist-write done");
    0
}

/// `-- persist-check`: the files of `persist-write`, byte for byte.
pub fn persist_check() -> i32 {
    let d = "/data/persist";
    for (name, id, size) in PERSISTED {
        match fs::read(format!("{d}/{name}")) {
            Ok(data) if data == pattern(id, size) => {}
            Ok(data) => {
                libos::println!("fs-tests: {d}/{name} differs ({} bytes)", data.len());
                return 1;
            }
            Err(e) => {
                libos::println!("fs-tests: {d}/{name}: {e}");
                return 1;
            }
        }
    }
    if fs::read(format!("{d}/unsynced")).ok() != Some(pattern(4, 50_000)) {
        libos::println!("fs-tests: {d}/unsynced is not what was written");
        return 1;
    }
    let name = configured_name();
    if name.is_none() || fs::read_to_string(format!("{d}/owner")).ok() != name {
        libos::println!("fs-tests: {d}/owner is not the name in /etc/app.conf ({name:?})");
        return 1;
    }
    if fs::read_link(format!("{d}/link")).ok().as_deref() != Some("small") {
        libos::println!("fs-tests: {d}/link is not the link");
        return 1;
    }
    libos::println!("fs-tests: persist-check ok");
    0
}

/// `-- churn`: writes, renames and removes files until killed.
pub fn churn() -> i32 {
    let d = "/data/churn-forever";
    let _ = fs::create_dir_all(d);
    libos::println!("fs-tests: churning until killed");
    for i in 0u64.. {
        let path = format!("{d}/f{}", i % 50);
        let _ = fs::write(&path, pattern(i, 4096 + (i as usize % 13) * 3000));
        let _ = fs::rename(&path, format!("{d}/g{}", i % 37));
        if i % 5 == 0 {
            let _ = fs::remove_file(format!("{d}/g{}", (i / 5) % 37));
        }
    }
    0
}
