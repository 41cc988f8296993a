//! How many device reads and writes ext2's calls cost (the device is a
//! virtio disk in the kernel, where each is a request): prints the figures
//! and bounds them, so an accidental blow-up fails.

mod common;

use std::process::Command;
use std::time::Instant;

use libos_abi::errno::Errno;
use libos_fs::block_device::{BlockDevice, MemDisk};
use libos_fs::ext2::Ext2;
use libos_fs::filesystem::FileSystem;

use common::{clock, run_tool, temp_dir};

/// A disk that counts requests and bytes.
struct CountingDisk {
    disk: MemDisk,
    reads: u64,
    writes: u64,
    bytes_written: u64,
}

impl BlockDevice for CountingDisk {
    fn sector_size(&self) -> usize {
        self.disk.sector_size()
    }
    fn sector_count(&self) -> u64 {
        self.disk.sector_count()
    }
    fn read_sectors(&mut self, sector: u64, buf: &mut [u8]) -> Result<(), Errno> {
        self.reads += 1;
        self.disk.read_sectors(sector, buf)
    }
    fn write_sectors(&mut self, sector: u64, buf: &[u8]) -> Result<(), Errno> {
        self.writes += 1;
        self.bytes_written += buf.len() as u64;
        self.disk.write_sectors(sector, buf)
    }
    fn flush(&mut self) -> Result<(), Errno> {
        Ok(())
    }
}

#[test]
fn requests_per_megabyte_stay_bounded() {
    let dir = temp_dir("ext2-io");
    let img = dir.join("io.img");
    assert!(run_tool(Command::new("mkfs.ext2").args(["-q", "-F", "-b", "4096"]).arg(&img).arg("64M")).status.success());
    let disk = CountingDisk { disk: MemDisk::new(std::fs::read(&img).unwrap()), reads: 0, writes: 0, bytes_written: 0 };
    let mut fs = Ext2::mount(disk, clock(), false).unwrap();
    let root = fs.root();
    let f = fs.create(root, b"big", 0o644, 0, 0).unwrap();
    let mib = 16u64;
    let chunk = vec![0x5au8; 1 << 20];
    let (r0, w0) = (fs.device().reads, fs.device().writes);
    let start = Instant::now();
    for i in 0..mib {
        assert_eq!(fs.write(f, i << 20, &chunk).unwrap(), chunk.len());
    }
    let took = start.elapsed();
    let (r1, w1, bytes) = (fs.device().reads, fs.device().writes, fs.device().bytes_written);
    let mut buf = vec![0u8; 1 << 20];
    let start = Instant::now();
    for i in 0..mib {
        assert_eq!(fs.read(f, i << 20, &mut buf).unwrap(), buf.len());
    }
    let read_took = start.elapsed();
    let r2 = fs.device().reads;
    println!(
        "write {mib} MiB in 1 MiB calls: {} reads, {} writes ({} bytes) = {:.0} reads and {:.0} writes per MiB, {took:?}\n\
         read  {mib} MiB in 1 MiB calls: {} reads = {:.0} per MiB, {read_took:?}",
        r1 - r0,
        w1 - w0,
        bytes,
        (r1 - r0) as f64 / mib as f64,
        (w1 - w0) as f64 / mib as f64,
        r2 - r1,
        (r2 - r1) as f64 / mib as f64,
    );
    // Whole blocks move in runs of up to 1 MiB; metadata comes from the
    // cache; a new run costs one bitmap, one descriptor and one indirect
    // block write, and the inode.
    assert!(r1 - r0 <= 2 * mib, "{} reads to write {mib} MiB", r1 - r0);
    assert!(w1 - w0 <= 8 * mib, "{} writes to write {mib} MiB", w1 - w0);
    assert!(bytes < (mib << 20) * 11 / 10, "{bytes} bytes written for {mib} MiB");
    assert!(r2 - r1 <= 2 * mib, "{} reads to read {mib} MiB", r2 - r1);
    let _ = std::fs::remove_dir_all(&dir);
}
