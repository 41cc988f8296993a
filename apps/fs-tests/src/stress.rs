//! Many threads creating, writing, renaming and removing files in one
//! folder, then a check that the folder holds exactly what they left.

use libos::fs;
use libos::prelude::*;
use libos::thread;

use crate::util::{fresh_dir, pattern, require_disk};

/// Each thread makes `ROUNDS` files: writes one under a temporary name,
/// renames it to its final name, and removes every third.
const ROUNDS: u64 = 60;

fn churn_in(dir: &str) {
    let threads = (libos::cpu::count() * 2).max(4) as u64;
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let dir = dir.to_string();
            thread::spawn(move || {
                for k in 0..ROUNDS {
                    let id = t * 1000 + k;
                    let tmp = format!("{dir}/tmp-{id}");
                    fs::write(&tmp, pattern(id, 1000 + (id as usize % 7) * 700)).unwrap();
                    fs::rename(&tmp, format!("{dir}/file-{id}")).unwrap();
                    if k % 3 == 0 {
                        fs::remove_file(format!("{dir}/file-{id}")).unwrap();
                    }
                    // Readers race the writers: every listing is sane.
                    if k % 10 == 0 {
                        for e in fs::read_dir(&dir).unwrap() {
                            let name = e.unwrap().file_name();
                            assert!(name.starts_with("tmp-") || name.starts_with("file-"), "{name}");
                        }
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let mut names: Vec<String> = fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    names.sort();
    let mut expected: Vec<String> = (0..threads)
        .flat_map(|t| (0..ROUNDS).filter(|k| k % 3 != 0).map(move |k| format!("file-{}", t * 1000 + k)))
        .collect();
    expected.sort();
    assert_eq!(names, expected, "the folder holds exactly the surviving files");
    for name in &names {
        let id: u64 = name["file-".len()..].parse().unwrap();
        let data = fs::read(format!("{dir}/{name}")).unwrap();
        assert!(data == pattern(id, 1000 + (id as usize % 7) * 700), "{name} holds its own bytes");
    }
}

#[libos::test]
fn threads_churning_one_ram_folder_leave_it_consistent() {
    let d = fresh_dir("/tmp/churn");
    churn_in(&d);
    fs::remove_dir_all(&d).unwrap();
}

#[libos::test]
fn threads_churning_one_disk_folder_leave_it_consistent() {
    require_disk();
    let d = fresh_dir("/data/churn");
    churn_in(&d);
    fs::remove_dir_all(&d).unwrap();
}
