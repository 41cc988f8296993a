//! A full RAM file system (`fs.ram=8M`): the writer gets ENOSPC, and
//! nothing else breaks.

use libos::fs;
use libos::io::{ErrorKind, Write};
use libos::prelude::*;

use crate::util::{fresh_dir, pattern};

#[libos::test]
fn filling_tmp_gives_enospc_and_earlier_files_stay_intact() {
    let d = fresh_dir("/tmp/fill");
    let size = 128 * 1024;
    let mut written = Vec::new();
    let short = loop {
        let id = written.len() as u64;
        let path = format!("{d}/f{id}");
        let mut f = match fs::File::create(&path) {
            Ok(f) => f,
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::StorageFull);
                break 0;
            }
        };
        let data = pattern(id, size);
        match f.write_all(&data) {
            Ok(()) => written.push(id),
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::StorageFull, "{e}");
                break fs::metadata(&path).unwrap().len();
            }
        }
        assert!(written.len() < 1000, "fs.ram=8M should fill well before 128 MiB");
    };
    assert!(written.len() >= 8, "only {} files fit", written.len());
    libos::println!("fs-tests: /tmp full after {} files of 128 KiB (+{short} bytes)", written.len());
    // Every earlier file is intact; the root file system is untouched.
    for &id in &written {
        assert!(fs::read(format!("{d}/f{id}")).unwrap() == pattern(id, size), "file {id} intact");
    }
    assert!(fs::read_to_string("/etc/app.conf").unwrap().starts_with("name = fs-tests"));
    // Creating more fails cleanly; removing files gives the space back.
    assert!(fs::create_dir(format!("{d}/more")).is_err() || fs::remove_dir(format!("{d}/more")).is_ok());
    for &id in &written {
        fs::remove_file(format!("{d}/f{id}")).unwrap();
    }
    let _ = fs::remove_file(format!("{d}/f{}", written.len()));
    fs::write(format!("{d}/after"), pattern(99, size)).unwrap();
    assert!(fs::read(format!("{d}/after")).unwrap() == pattern(99, size));
    fs::remove_dir_all(&d).unwrap();
}
