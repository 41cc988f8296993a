//! The file workload (`bench_workload::files`, the bench app's and the
//! Linux guest's `files` mode): `open`+`fstat`+`close` of one file, and a
//! file written then read back in 4 KiB and 1 MiB calls, in `/tmp` (a RAM
//! file system under both kernels: our ramfs, Linux's initramfs). Each
//! kernel boots twice, with the same memory: under `-icount` for
//! instructions per call, under plain TCG for throughput (one run: the
//! copy dominates and varies little).
//!
//! The disk rows (`bench_workload::files::run_disk`, the `files-disk`
//! mode): the same file written (then `fsync`ed, inside the time) and read
//! back in 4 KiB and 1 MiB calls on an ext2 disk (a fresh `mkfs.ext2`
//! image on virtio-blk, the same kind under both kernels: ours' driver and
//! ext2, Linux's `virtio_blk` and ext4 driver), with Linux's page cache
//! dropped before the reading (ours keeps no data cache).

use anyhow::{Result, ensure};
use serde::{Deserialize, Serialize};

use super::lines::{self, FileTiming};
use super::linux::{Guest, LinuxReport};
use super::{Bench, Part, QEMU_TIMEOUT, app_cmdline};
use crate::emulator::Launch;

/// Memory of every boot of the file workload: room for the file in a RAM
/// file system beside each kernel (Linux's initramfs is a tmpfs limited
/// to half the memory).
pub const FILES_MEM: &str = "256M";
/// Our RAM file systems' limit for it (`fs.ram=`): above the file.
const FS_RAM: &str = "fs.ram=160M";

/// One figure of the file workload, for one kernel.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FileFigure {
    /// `open_fstat_close`, `write` or `read`.
    pub op: String,
    /// Bytes per call (0 for `open_fstat_close`).
    pub chunk: u64,
    /// Bytes moved (`write`, `read`) or rounds (`open_fstat_close`).
    pub count: u64,
    /// Instructions per call (per round of three calls for
    /// `open_fstat_close`), under `-icount`.
    pub instructions: f64,
    /// Nanoseconds per call (per round), under plain TCG.
    pub tcg_ns: f64,
    /// MiB/s under plain TCG (0 for `open_fstat_close`).
    pub tcg_mib_per_s: f64,
}

impl FileFigure {
    /// The label of its row.
    pub fn describe(&self) -> String {
        match (self.op.as_str(), self.chunk) {
            ("open_fstat_close", _) => "open+fstat+close".to_string(),
            ("disk_write", chunk) => format!("disk: write+fsync in {}", Self::size(chunk)),
            ("disk_read", chunk) => format!("disk: read in {}", Self::size(chunk)),
            (op, chunk) if chunk >= 1 << 20 => format!("{op} in {} MiB calls", chunk >> 20),
            (op, chunk) => format!("{op} in {} KiB calls", chunk >> 10),
        }
    }

    fn size(chunk: u64) -> String {
        if chunk >= 1 << 20 { format!("{} MiB calls", chunk >> 20) } else { format!("{} KiB calls", chunk >> 10) }
    }
}

/// A fresh ext2 disk for a disk run (the file and room for ext2's
/// metadata), as QEMU arguments.
fn fresh_disk(path: &std::path::Path, mib: u64) -> Result<Vec<String>> {
    let _ = std::fs::remove_file(path);
    crate::build::disk::format_new(path, (mib * 2 + 16) << 20)?;
    Ok(crate::build::disk::qemu_args(path))
}

/// Calls (rounds) a timing covers.
fn calls(t: &FileTiming) -> u64 {
    if t.chunk == 0 { t.count } else { t.count.div_ceil(t.chunk) }
}

/// The figures of an `-icount` run and a plain TCG run of the same
/// workload (the same lines in the same order).
pub fn figures(icount: &[FileTiming], tcg: &[FileTiming]) -> Result<Vec<FileFigure>> {
    ensure!(icount.len() == tcg.len(), "the -icount and TCG runs printed different file figures");
    icount
        .iter()
        .zip(tcg)
        .map(|(i, t)| {
            ensure!(
                (&i.op, i.chunk, i.count) == (&t.op, t.chunk, t.count),
                "the -icount and TCG runs measured different things ({} / {})",
                i.op,
                t.op
            );
            let secs = t.ns.max(1) as f64 / 1e9;
            Ok(FileFigure {
                op: i.op.clone(),
                chunk: i.chunk,
                count: i.count,
                instructions: i.tsc as f64 / calls(i) as f64,
                tcg_ns: t.ns as f64 / calls(t) as f64,
                tcg_mib_per_s: if t.chunk == 0 { 0.0 } else { t.count as f64 / (1 << 20) as f64 / secs },
            })
        })
        .collect()
}

/// The workload's arguments: rounds of open+fstat+close and the file's
/// MiB (smaller with `--quick`).
fn args(bench_quick: bool) -> String {
    if bench_quick { "files 1000 8".to_string() } else { "files 10000 64".to_string() }
}

/// The disk runs' MiB (smaller with `--quick`).
fn disk_mib(bench_quick: bool) -> u64 {
    if bench_quick { 4 } else { 64 }
}

impl Bench {
    /// Our side: the bench app's `files` mode, under `-icount` and plain TCG.
    pub(super) fn files(&self) -> Result<Vec<FileFigure>> {
        let cmdline = app_cmdline(FS_RAM, &args(self.plan.quick));
        let mut runs = Vec::new();
        for icount in [true, false] {
            let launch = self.qemu_launch(&self.images.bench, cmdline.clone(), 1, FILES_MEM, icount, QEMU_TIMEOUT);
            let what = format!("QEMU {}: files", if icount { "-icount" } else { "TCG" });
            let ended = self.boot(&launch, &what)?;
            runs.push(self.decode(&what, &ended, lines::files_run)?);
        }
        let mut all = figures(&runs[0], &runs[1])?;
        // The disk: a fresh image for each boot.
        let mib = disk_mib(self.plan.quick);
        let cmdline = app_cmdline("fs.disk=/data", &format!("files-disk {mib}"));
        let disk = self.layout.state_dir().join("disks").join("bench-disk.img");
        let mut runs = Vec::new();
        for icount in [true, false] {
            let Launch::Qemu(mut boot) =
                self.qemu_launch(&self.images.bench, cmdline.clone(), 1, FILES_MEM, icount, QEMU_TIMEOUT)
            else {
                unreachable!("qemu_launch makes QEMU launches");
            };
            boot.devices = fresh_disk(&disk, mib)?;
            let what = format!("QEMU {}: files on the disk", if icount { "-icount" } else { "TCG" });
            let ended = self.boot(&Launch::Qemu(boot), &what)?;
            runs.push(self.decode(&what, &ended, lines::files_run)?);
        }
        let _ = std::fs::remove_file(&disk);
        all.extend(figures(&runs[0], &runs[1])?);
        Ok(all)
    }
}

/// The Linux guest's side (a workload of `linux::WORKLOADS`): the same
/// mode of `/init`, pti on (Linux's default), under `-icount` and TCG.
pub fn linux(guest: &Guest<'_>, linux: &mut LinuxReport) -> Result<()> {
    if !guest.plan().runs(Part::Files) {
        return Ok(());
    }
    let args = args(guest.plan().quick);
    let mut runs = Vec::new();
    for icount in [true, false] {
        let serial = guest.boot_with_memory(true, icount, FILES_MEM, &args, "files")?;
        runs.push(Guest::decode("files", &serial, lines::files_run)?);
    }
    linux.files = figures(&runs[0], &runs[1])?;
    // The disk, the same kind of fresh image as ours. It needs the
    // kernel's virtio modules: when they do not load, the disk rows have
    // no Linux column and the bench goes on.
    let mib = disk_mib(guest.plan().quick);
    let disk = guest.state_dir().join("disks").join("bench-disk-linux.img");
    let disk_runs = || -> Result<Vec<FileFigure>> {
        let mut runs = Vec::new();
        for icount in [true, false] {
            let args = format!("files-disk {mib}");
            let devices = fresh_disk(&disk, mib)?;
            let serial = guest.boot_with_devices(true, icount, FILES_MEM, &args, "files on the disk", devices)?;
            runs.push(Guest::decode("files on the disk", &serial, lines::files_run)?);
        }
        figures(&runs[0], &runs[1])
    };
    match disk_runs() {
        Ok(disk_figures) => linux.files.extend(disk_figures),
        Err(e) => eprintln!("bench: note: the Linux guest's disk rows are left out: {e:#}"),
    }
    let _ = std::fs::remove_file(&disk);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timing(op: &str, chunk: u64, count: u64, tsc: u64, ns: u64) -> FileTiming {
        FileTiming { op: op.to_string(), chunk, count, tsc, ns }
    }

    #[test]
    fn figures_per_call_and_throughput() {
        let icount = [timing("open_fstat_close", 0, 1000, 900_000, 1), timing("read", 4096, 8 << 20, 2048 * 3000, 1)];
        let tcg = [timing("open_fstat_close", 0, 1000, 5, 2_000_000), timing("read", 4096, 8 << 20, 5, 500_000_000)];
        let f = figures(&icount, &tcg).unwrap();
        assert_eq!((f[0].instructions, f[0].tcg_ns, f[0].tcg_mib_per_s), (900.0, 2000.0, 0.0));
        assert_eq!((f[1].instructions, f[1].tcg_mib_per_s), (3000.0, 16.0));
        assert_eq!(f[1].describe(), "read in 4 KiB calls");
        assert!(figures(&icount, &tcg[..1]).is_err());
        let other = [tcg[0].clone(), timing("write", 4096, 8 << 20, 5, 5)];
        assert!(figures(&icount, &other).is_err());
    }

    #[test]
    fn the_shared_writer_and_the_parser_agree() {
        let line = bench_workload::line::FileOp { op: "write", chunk: 1 << 20, count: 64 << 20, tsc: 7, ns: 9 };
        let run = lines::files_run(&format!("noise\n{line}\n")).unwrap();
        assert_eq!(run, [timing("write", 1 << 20, 64 << 20, 7, 9)]);
        assert!(lines::files_run("[bench] config kpti=1 pcid=0\n").is_err());
    }
}
