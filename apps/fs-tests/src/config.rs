//! The root file system from `--files`: what the folder holds, read
//! through `libos::fs` and the io traits; writable over the archive.

use libos::fs;
use libos::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use libos::prelude::*;

const APP_CONF: &str = "name = fs-tests\nport = 8080\ngreeting = hello from --files\n";

#[libos::test]
fn the_config_from_files_reads_back() {
    assert_eq!(fs::read_to_string("/etc/app.conf").unwrap(), APP_CONF);
    let lines: Vec<String> =
        BufReader::new(fs::File::open("/etc/app.conf").unwrap()).lines().map(|l| l.unwrap()).collect();
    assert_eq!(lines, ["name = fs-tests", "port = 8080", "greeting = hello from --files"]);
    assert_eq!(fs::read("/etc/nested/deeper/leaf.txt").unwrap(), b"three levels down\n");
}

#[libos::test]
fn symlinks_and_modes_come_from_the_folder() {
    assert_eq!(fs::read_link("/etc/app.link").unwrap(), "app.conf");
    assert_eq!(fs::read_to_string("/etc/app.link").unwrap(), APP_CONF);
    assert_eq!(fs::read_to_string("/bin/etc-dir/app.conf").unwrap(), APP_CONF);
    assert!(fs::symlink_metadata("/etc/app.link").unwrap().is_symlink());
    assert_eq!(fs::metadata("/bin/tool.sh").unwrap().permissions().mode(), 0o755);
    assert_eq!(fs::metadata("/etc/app.conf").unwrap().permissions().mode(), 0o644);
    assert_eq!(fs::metadata("/etc/app.conf").unwrap().len(), APP_CONF.len() as u64);
    assert!(fs::metadata("/etc/nested").unwrap().is_dir());
}

#[libos::test]
fn read_dir_lists_the_folder() {
    let mut names: Vec<String> = fs::read_dir("/etc").unwrap().map(|e| e.unwrap().file_name()).collect();
    names.sort();
    assert_eq!(names, ["app.conf", "app.link", "nested"]);
    let mut root: Vec<String> = fs::read_dir("/").unwrap().map(|e| e.unwrap().file_name()).collect();
    root.sort();
    for want in ["bin", "etc", "tmp"] {
        assert!(root.iter().any(|n| n == want), "{want} in / ({root:?})");
    }
}

#[libos::test]
fn the_root_is_writable_over_the_archive() {
    // A file of the archive, changed in the middle (copy on write), and
    // restored: the rest of it stays.
    let mut f = fs::OpenOptions::new().read(true).write(true).open("/etc/app.conf").unwrap();
    f.seek(SeekFrom::Start(7)).unwrap();
    f.write_all(b"FS-TESTS").unwrap();
    drop(f);
    let changed = fs::read_to_string("/etc/app.conf").unwrap();
    assert_eq!(&changed[..22], "name = FS-TESTS\nport =");
    assert_eq!(&changed[15..], &APP_CONF[15..]);
    fs::write("/etc/app.conf", APP_CONF).unwrap();
    // New files and folders in the root.
    fs::create_dir_all("/var/lib/app").unwrap();
    fs::write("/var/lib/app/state", b"1").unwrap();
    let mut s = String::new();
    fs::File::open("/var/lib/app/state").unwrap().read_to_string(&mut s).unwrap();
    assert_eq!(s, "1");
    fs::remove_dir_all("/var").unwrap();
    assert!(!fs::exists("/var").unwrap());
}

#[libos::test]
fn copy_rename_and_buffered_writes() {
    let dir = crate::util::fresh_dir("/tmp/copy");
    let copied = fs::copy("/etc/app.conf", format!("{dir}/a.conf")).unwrap();
    assert_eq!(copied, APP_CONF.len() as u64);
    fs::rename(format!("{dir}/a.conf"), format!("{dir}/b.conf")).unwrap();
    assert_eq!(fs::read_to_string(format!("{dir}/b.conf")).unwrap(), APP_CONF);
    {
        let mut w = libos::io::BufWriter::new(fs::File::create(format!("{dir}/big")).unwrap());
        for i in 0..1000 {
            writeln!(w, "line {i}").unwrap();
        }
    }
    let text = fs::read_to_string(format!("{dir}/big")).unwrap();
    assert_eq!(text.lines().count(), 1000);
    assert_eq!(text.lines().nth(999), Some("line 999"));
    assert_eq!(
        fs::rename(format!("{dir}/b.conf"), "/etc/b.conf").unwrap_err().kind(),
        libos::io::ErrorKind::CrossesDevices
    );
}
