//! Ring-3 tests of the file calls and `libos::fs`, run by `cargo xtask
//! test fs_tests`: the image boots with `--files apps/fs-tests/files`,
//! `fs.ram=8M` and a fresh ext2 disk at `/data` (QEMU; under Bochs, which
//! has no virtio, the disk tests report themselves ignored).
//!
//! `main` has the modes of the xtask's multi-boot disk test:
//! `persist-write` reads its name from `/etc/app.conf` (the `--files`
//! root), writes files to `/data/persist`, `fsync`s and exits;
//! `persist-check` checks them on the next boot; `churn` writes until the
//! xtask kills the run (a crash in the middle of writing); `measure`
//! prints rough costs (see `measure.rs`).
#![no_std]
#![no_main]

mod calls;
mod config;
mod descriptors;
mod disk;
mod hostile;
mod mapping;
mod measure;
mod pipes;
mod procfs;
mod record_locks;
mod space;
mod stress;
mod util;

#[libos::main]
fn main() -> i32 {
    let mode = libos::env::args().nth(1).unwrap_or("");
    match mode {
        "persist-write" => disk::persist_write(),
        "persist-check" => disk::persist_check(),
        "churn" => disk::churn(),
        "measure" => measure::run(),
        _ => {
            libos::println!("fs-tests: run with `cargo xtask test fs_tests`");
            0
        }
    }
}
