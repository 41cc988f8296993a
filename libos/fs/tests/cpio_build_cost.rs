//! What building the root file system from a 10 MB archive costs, copy-on-
//! write over the archive against unpacked: bytes allocated (a counting
//! allocator) and time. Prints the figures; checks that copy-on-write
//! allocates a small fraction of the archive and of what unpacking takes.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::fs;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use libos_fs::ramfs::RamFs;

use common::{clock, gnu_cpio, temp_dir};

struct Counting;

static ALLOCATED: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator, only counting.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATED.fetch_add(layout.size(), Ordering::Relaxed);
        // SAFETY: the caller's contract, passed on.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract, passed on.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn copy_on_write_is_cheaper_than_unpacking() {
    let dir = temp_dir("cpio-cost");
    let src = dir.join("src");
    let mut total = 0usize;
    let mut seed = 0x1234_5678_9abc_def1u64;
    for d in 0..50 {
        let sub = src.join(format!("dir{d:02}"));
        fs::create_dir_all(&sub).unwrap();
        for f in 0..50 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = 1 + (seed % 8000) as usize;
            total += len;
            fs::write(sub.join(format!("file{f:02}.txt")), vec![(f + d) as u8; len]).unwrap();
        }
    }
    let archive = gnu_cpio(&src);
    let _ = fs::remove_dir_all(&dir);
    let leaked: &'static [u8] = Box::leak(archive.clone().into_boxed_slice());

    let measure = |f: &dyn Fn() -> RamFs| {
        let before = ALLOCATED.load(Ordering::Relaxed);
        let start = Instant::now();
        let fs = f();
        let took = start.elapsed();
        (ALLOCATED.load(Ordering::Relaxed) - before, took, fs.used_bytes(), fs.inode_count())
    };
    // Warm up once each, then measure.
    measure(&|| RamFs::from_cpio(leaked, 1 << 30, clock()).unwrap());
    let (cow_bytes, cow_time, cow_used, files) = measure(&|| RamFs::from_cpio(leaked, 1 << 30, clock()).unwrap());
    measure(&|| RamFs::from_cpio_copied(&archive, 1 << 30, clock()).unwrap());
    let (copy_bytes, copy_time, copy_used, _) =
        measure(&|| RamFs::from_cpio_copied(&archive, 1 << 30, clock()).unwrap());
    println!(
        "archive {} bytes ({total} bytes of data in {files} inodes)\n\
         copy-on-write: {cow_bytes} bytes allocated, {cow_used} counted, {cow_time:?}\n\
         unpacked:      {copy_bytes} bytes allocated, {copy_used} counted, {copy_time:?}",
        archive.len()
    );
    assert!(archive.len() > 10_000_000, "the archive should be about 10 MB");
    assert!(cow_bytes * 5 < archive.len(), "copy-on-write allocated {cow_bytes}");
    assert!(cow_bytes * 10 < copy_bytes, "copy-on-write {cow_bytes}, unpacked {copy_bytes}");
    assert!(copy_bytes > total, "unpacking must hold every byte");
}
