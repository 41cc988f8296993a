//! Rust `std::fs` as an unmodified static Linux program
//! (`x86_64-unknown-linux-musl`, an ordinary `fn main`): what a service
//! does with files. `cargo xtask test` boots it with `--files
//! linux-programs/std-files/files` and an ext2 `--disk` at `/data` (see
//! `xtask/src/testing/disk_persistence.rs`):
//!
//! - `write`: reads its configuration from the root (`/etc/current.conf`,
//!   a symbolic link to `std-files.conf`, and templates in a subfolder),
//!   works in `/tmp` (write, read, append, seek, rename, copy, metadata,
//!   `read_dir`, remove), then writes its records to the disk, `fsync`s
//!   them and exits;
//! - `check` (the next boot): reads the configuration again and the
//!   records back, byte for byte.
//!
//! Each step prints one line; a failed check panics (exit status 101)
//! naming what differed. The last line says `std-files: write ok` or
//! `std-files: check ok`.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// The configuration file, through its link.
const CONFIG: &str = "/etc/current.conf";
/// The templates' folder.
const TEMPLATES: &str = "/srv/templates";

/// What `/etc/std-files.conf` says (`key = value` lines).
struct Config {
    name: String,
    data_dir: String,
    records: usize,
    greeting: String,
}

fn read_config() -> Config {
    // The link and its target, as the folder on the host has them.
    let link = fs::symlink_metadata(CONFIG).expect("lstat the config link");
    assert!(link.file_type().is_symlink(), "{CONFIG} is a symbolic link");
    assert_eq!(fs::read_link(CONFIG).expect("readlink").to_str(), Some("std-files.conf"));
    let target = fs::metadata(CONFIG).expect("stat the config");
    assert!(target.is_file());
    assert_eq!(target.permissions().mode() & 0o777, 0o644);
    let mut map = BTreeMap::new();
    for line in BufReader::new(File::open(CONFIG).expect("open the config")).lines() {
        let line = line.expect("read a config line");
        if let Some((k, v)) = line.split_once('=') {
            map.insert(k.trim().to_string(), v.trim().to_string());
        }
    }
    assert_eq!(target.len() as usize, fs::read_to_string(CONFIG).unwrap().len());
    let get = |k: &str| map.get(k).unwrap_or_else(|| panic!("{CONFIG} has no {k}")).clone();
    let config = Config {
        name: get("name"),
        data_dir: get("data_dir"),
        records: get("records").parse().expect("records is a number"),
        greeting: get("greeting"),
    };
    println!("std-files: config {CONFIG}: name {}, {} records to {}", config.name, config.records, config.data_dir);
    config
}

/// The templates, by file name, from `read_dir` of the subfolder.
fn read_templates() -> BTreeMap<String, String> {
    let mut templates = BTreeMap::new();
    for entry in fs::read_dir(TEMPLATES).expect("read_dir the templates") {
        let entry = entry.expect("a directory entry");
        assert!(entry.file_type().unwrap().is_file());
        let name = entry.file_name().into_string().expect("a UTF-8 name");
        templates.insert(name, fs::read_to_string(entry.path()).expect("read a template"));
    }
    let names: Vec<&str> = templates.keys().map(String::as_str).collect();
    assert_eq!(names, ["page.html", "record.txt"], "the templates folder");
    println!("std-files: templates {names:?}");
    templates
}

/// What the records file holds: one rendered line per record, then the
/// rendered page.
fn records(config: &Config, templates: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    for n in 0..config.records {
        out += &templates["record.txt"].replace("{n}", &n.to_string()).replace("{name}", &config.name);
    }
    out + &templates["page.html"]
        .replace("{greeting}", &config.greeting)
        .replace("{records}", &config.records.to_string())
}

/// Scratch work in `/tmp`: the calls a program makes on its files.
fn work_in_tmp(text: &str) {
    let dir = Path::new("/tmp/std-files");
    if dir.exists() {
        fs::remove_dir_all(dir).unwrap();
    }
    fs::create_dir_all(dir.join("a/b")).unwrap();
    let first = dir.join("a/b/first.txt");
    fs::write(&first, text).unwrap();
    assert_eq!(fs::read_to_string(&first).unwrap(), text);
    // Append, seek, read a part.
    let mut f = OpenOptions::new().append(true).open(&first).unwrap();
    f.write_all(b"appended\n").unwrap();
    drop(f);
    let mut f = File::open(&first).unwrap();
    f.seek(SeekFrom::End(-9)).unwrap();
    let mut tail = String::new();
    f.read_to_string(&mut tail).unwrap();
    assert_eq!(tail, "appended\n");
    let meta = fs::metadata(&first).unwrap();
    assert_eq!(meta.len(), text.len() as u64 + 9);
    assert!(meta.is_file() && !meta.is_dir());
    assert!(meta.modified().unwrap() > std::time::UNIX_EPOCH);
    // Rename, copy, permissions.
    let renamed = dir.join("a/renamed.txt");
    fs::rename(&first, &renamed).unwrap();
    assert!(!first.exists());
    let copy = dir.join("copy.txt");
    assert_eq!(fs::copy(&renamed, &copy).unwrap(), meta.len());
    fs::set_permissions(&copy, fs::Permissions::from_mode(0o600)).unwrap();
    assert_eq!(fs::metadata(&copy).unwrap().permissions().mode() & 0o777, 0o600);
    // read_dir sees what is there.
    let mut names: Vec<String> =
        fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    names.sort();
    assert_eq!(names, ["a", "copy.txt"]);
    // Errors as Linux gives them.
    assert_eq!(fs::read(dir.join("missing")).unwrap_err().kind(), std::io::ErrorKind::NotFound);
    assert_eq!(fs::remove_dir(dir.join("a")).unwrap_err().raw_os_error(), Some(39), "ENOTEMPTY");
    // Remove everything.
    fs::remove_file(&copy).unwrap();
    fs::remove_dir_all(dir).unwrap();
    assert!(!dir.exists());
    println!("std-files: /tmp: write, append, seek, metadata, rename, copy, chmod, read_dir, remove: ok");
}

fn records_path(config: &Config) -> String {
    format!("{}/records.txt", config.data_dir)
}

fn write(config: &Config, expected: &str) {
    fs::create_dir_all(&config.data_dir).unwrap();
    let path = records_path(config);
    let mut f = File::create(&path).unwrap();
    f.write_all(expected.as_bytes()).unwrap();
    f.sync_all().unwrap();
    drop(f);
    // The directory entry too (as a careful Linux program does).
    File::open(&config.data_dir).unwrap().sync_all().unwrap();
    assert_eq!(fs::read_to_string(&path).unwrap(), expected);
    println!("std-files: wrote and fsynced {path} ({} bytes)", expected.len());
}

fn check(config: &Config, expected: &str) {
    let path = records_path(config);
    let got = fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    assert!(got == expected, "{path} holds {} bytes, not the {} written", got.len(), expected.len());
    assert_eq!(fs::metadata(&path).unwrap().len(), expected.len() as u64);
    println!("std-files: read back {path} ({} bytes)", got.len());
}

fn main() {
    let mode = std::env::args().nth(1).unwrap_or_default();
    let config = read_config();
    let templates = read_templates();
    let expected = records(&config, &templates);
    match mode.as_str() {
        "write" => {
            work_in_tmp(&expected);
            write(&config, &expected);
        }
        "check" => check(&config, &expected),
        other => {
            eprintln!("std-files: the mode is `write` or `check`, not {other:?}");
            std::process::exit(2);
        }
    }
    println!("std-files: {mode} ok");
}
