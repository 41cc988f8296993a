//! The virtio-blk disk that `cargo xtask test` attaches to QEMU boots:
//! its size, data written and read back through the interrupt path,
//! several threads' requests in flight at once, and errors instead of
//! panics for requests outside the disk. Under Bochs (no virtio) the
//! tests are skipped; under QEMU a missing disk fails them.

use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicUsize, Ordering};

use libos_abi::errno::Errno;
use libos_abi::run::TEST_DISK_BYTES;
use libos_macros::kernel_test;

use entry_asm::layout::PAGE_SIZE;
use libos_kcore::block_io::Segment;

use crate::drivers::block::{BlockDevice, SECTOR_SIZE};
use crate::drivers::virtio::blk::VirtioBlk;
use crate::mm::{frame, phys};
use crate::percpu;
use crate::sched::wait::WaitQueue;
use crate::testing::skip;
use crate::{println, sched, time};

/// The disk, or a skip (not under QEMU) or a failure (under QEMU).
pub fn test_disk() -> &'static VirtioBlk {
    match crate::drivers::virtio::blk::devices().first() {
        Some(d) => d,
        None if !crate::boot::info().loader_name.starts_with("qemu") => skip("no virtio disk (not under QEMU)"),
        None => panic!("no virtio-blk disk, although the test runner attaches one to every QEMU boot"),
    }
}

/// Bytes that depend on the sector, the offset in it and a seed.
fn pattern(lba: u64, len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| ((lba + (i / SECTOR_SIZE) as u64) as u8).wrapping_mul(31) ^ (i as u8) ^ seed).collect()
}

#[kernel_test]
fn the_disk_has_the_image_size_and_is_writable() {
    let d = test_disk();
    assert_eq!(d.block_count(), TEST_DISK_BYTES / SECTOR_SIZE as u64, "sectors of {TEST_DISK_BYTES} bytes");
    assert!(!d.is_read_only());
    assert_eq!(d.block_size(), SECTOR_SIZE);
    // The generic registry holds the same disk.
    let all = crate::drivers::block::devices();
    let first = crate::drivers::block::first().expect("a registered disk");
    assert_eq!(all.len(), crate::drivers::virtio::blk::devices().len());
    assert_eq!(first.name(), d.name());
    assert_eq!(first.block_count(), d.block_count());
}

#[kernel_test]
fn written_sectors_read_back_after_a_flush() {
    let d = test_disk();
    let irqs_before = d.interrupts();
    // One sector, 4 KiB at an odd place in the heap, 1 MiB.
    for (lba, len, seed) in [(0u64, SECTOR_SIZE, 1u8), (7, 4096, 2), (100, 1 << 20, 3)] {
        let data = pattern(lba, len, seed);
        // An unaligned buffer: it starts 100 bytes into a heap block.
        let mut backing = vec![0u8; len + 100];
        backing[100..].copy_from_slice(&data);
        d.write_blocks(lba, &backing[100..]).expect("write");
        d.flush().expect("flush");
        let mut back = vec![0u8; len + 3];
        d.read_blocks(lba, &mut back[3..]).expect("read");
        assert!(back[3..] == data[..], "{len} bytes at sector {lba} read back differ");
    }
    assert!(d.interrupts() > irqs_before, "no completion interrupt arrived");
}

#[kernel_test]
fn a_transfer_from_the_stack_and_a_static_works() {
    let d = test_disk();
    static mut STATIC_BUF: [u8; 2048] = [0; 2048];
    let mut on_stack = [0x5Au8; 1024];
    d.write_blocks(40, &on_stack).expect("write from the stack");
    on_stack.fill(0);
    // SAFETY: only this test touches the static, and it runs alone.
    let buf = unsafe { &mut *core::ptr::addr_of_mut!(STATIC_BUF) };
    d.read_blocks(40, &mut buf[..1024]).expect("read into a static");
    assert!(buf[..1024].iter().all(|&b| b == 0x5A));
}

/// Frames taken one in two (so no two are adjacent), freed when dropped.
struct ScatteredFrames(Vec<u64>);

impl ScatteredFrames {
    fn new(n: usize) -> ScatteredFrames {
        let mut keep = Vec::new();
        let mut gaps = Vec::new();
        while keep.len() < n {
            keep.push(frame::alloc().expect("a frame"));
            gaps.push(frame::alloc().expect("a frame"));
        }
        gaps.into_iter().for_each(frame::free);
        ScatteredFrames(keep)
    }
    fn segments(&self) -> Vec<Segment> {
        self.0.iter().map(|&f| Segment { phys: f, len: PAGE_SIZE as u32 }).collect()
    }
    fn page(&self, i: usize) -> &[u8] {
        // SAFETY: the frame is ours (allocated above, freed on drop) and
        // reached through the direct map; no device writes it while `self`
        // is borrowed (the transfers take the frames' addresses only while
        // the test holds no page slice).
        unsafe { core::slice::from_raw_parts(phys::to_virt(self.0[i]), PAGE_SIZE as usize) }
    }
    fn page_mut(&mut self, i: usize) -> &mut [u8] {
        // SAFETY: as in `page`; `&mut self` makes this the only slice.
        unsafe { core::slice::from_raw_parts_mut(phys::to_virt(self.0[i]), PAGE_SIZE as usize) }
    }
}

impl Drop for ScatteredFrames {
    fn drop(&mut self) {
        self.0.iter().copied().for_each(frame::free);
    }
}

#[kernel_test]
fn a_scattered_transfer_becomes_several_requests_in_flight_together() {
    let d = test_disk();
    // More pages than one request may carry.
    let pages = d.max_segments() + 20;
    let (mut src, mut dst) = (ScatteredFrames::new(pages), ScatteredFrames::new(pages));
    for i in 0..pages {
        src.page_mut(i).copy_from_slice(&pattern(i as u64 * 8, PAGE_SIZE as usize, 5));
        dst.page_mut(i).fill(0);
    }
    let lba = 8192;
    let requests = d.requests_sent();
    d.reset_max_in_flight();
    // SAFETY: the frames are this test's until the ScatteredFrames drop.
    unsafe { d.write_phys(lba, &src.segments()) }.expect("write");
    assert!(d.requests_sent() - requests >= 2, "{} pages went as one request", pages);
    // SAFETY: as above.
    unsafe { d.read_phys(lba, &dst.segments()) }.expect("read");
    for i in 0..pages {
        assert!(dst.page(i) == src.page(i), "page {i} of {pages} read back differs");
    }
    // The driver pushes every request that fits before it waits, and two
    // of the largest fit the queue together.
    assert!(d.max_in_flight() >= 2, "the requests of one transfer went one at a time");
}

#[kernel_test]
fn requests_outside_the_disk_fail_with_errors() {
    let d = test_disk();
    let n = d.block_count();
    let mut buf = vec![0u8; 2 * SECTOR_SIZE];
    assert_eq!(d.read_blocks(n - 1, &mut buf), Err(Errno::EIO), "a read running past the end");
    assert_eq!(d.read_blocks(n, &mut buf[..SECTOR_SIZE]), Err(Errno::EIO), "a read at the end");
    assert_eq!(d.write_blocks(u64::MAX, &buf), Err(Errno::EIO), "a sector number that overflows");
    assert_eq!(d.read_blocks(0, &mut buf[..100]), Err(Errno::EINVAL), "a partial sector");
    // A user address is not kernel memory the driver can give the device.
    // SAFETY: the slice is never read or written by the CPU: the driver
    // looks its pages up in the kernel's page tables, finds none, and fails.
    let user = unsafe { core::slice::from_raw_parts(0x1000_0000 as *const u8, SECTOR_SIZE) };
    assert_eq!(d.write_blocks(0, user), Err(Errno::EFAULT), "a buffer that is not kernel memory");
    // The last sector itself is fine, and the disk still works.
    d.read_blocks(n - 1, &mut buf[..SECTOR_SIZE]).expect("the last sector");
    d.read_blocks(0, &mut buf).expect("the first sectors");
}

/// Runs `f` on a new kernel thread pinned to `cpu`.
fn spawn_on(cpu: usize, f: impl FnOnce() + Send + 'static) {
    extern "C" fn entry(arg: u64) -> ! {
        // SAFETY: `arg` is the box leaked below, taken back exactly once.
        let f = unsafe { Box::from_raw(arg as *mut Box<dyn FnOnce() + Send>) };
        f();
        sched::exit_current()
    }
    let boxed: Box<Box<dyn FnOnce() + Send>> = Box::new(Box::new(f));
    let arg = Box::into_raw(boxed) as u64;
    let task = sched::Task::new_kernel(entry, arg, cpu, false).expect("memory for a test thread");
    sched::spawn(Arc::new(task));
}

#[kernel_test]
fn several_threads_have_requests_in_flight_at_once() {
    const THREADS: usize = 4;
    const ROUNDS: u64 = 4;
    // On one CPU two threads' requests overlap only when the device has
    // not finished the first when the second thread runs: a race with
    // QEMU's I/O thread that the first rounds may lose. The threads go on
    // (in the same regions) until requests have overlapped, up to this.
    const MAX_ROUNDS: u64 = 64;
    const CHUNK: usize = 64 * 1024;
    let d = test_disk();
    static FINISHED: AtomicUsize = AtomicUsize::new(0);
    static FAILED: AtomicUsize = AtomicUsize::new(0);
    static DONE: WaitQueue = WaitQueue::new();
    FINISHED.store(0, Ordering::SeqCst);
    FAILED.store(0, Ordering::SeqCst);
    let cpus = percpu::cpu_count();
    let (irqs, requests) = (d.interrupts(), d.requests_sent());
    // Each transfer here is one request: only requests of different
    // threads can overlap.
    d.reset_max_in_flight();
    for t in 0..THREADS {
        spawn_on(t % cpus, move || {
            let d = test_disk();
            let sectors = (CHUNK / SECTOR_SIZE) as u64;
            for round in 0..MAX_ROUNDS {
                if round >= ROUNDS && d.max_in_flight() >= 2 {
                    break;
                }
                // Each thread its own regions: 64 KiB each, ROUNDS of them.
                let lba = 2048 + (t as u64 * ROUNDS + round % ROUNDS) * sectors;
                let data = pattern(lba, CHUNK, t as u8 ^ round as u8);
                let mut back = vec![0u8; CHUNK];
                let ok = d.write_blocks(lba, &data).is_ok() && d.read_blocks(lba, &mut back).is_ok() && back == data;
                if !ok {
                    FAILED.fetch_add(1, Ordering::SeqCst);
                }
            }
            FINISHED.fetch_add(1, Ordering::SeqCst);
            DONE.wake_all();
        });
    }
    DONE.wait_until(|| FINISHED.load(Ordering::SeqCst) == THREADS);
    assert_eq!(FAILED.load(Ordering::SeqCst), 0, "rounds whose data did not read back");
    assert!(d.max_in_flight() >= 2, "requests never overlapped (at most {} in flight)", d.max_in_flight());
    println!(
        "[virtio-blk] {THREADS} threads on {cpus} CPUs: {} requests, {} interrupts, at most {} in flight",
        d.requests_sent() - requests,
        d.interrupts() - irqs,
        d.max_in_flight()
    );
}

/// Sectors per second, completion interrupts and device requests for
/// sequential transfers of `chunk` bytes over `total` bytes.
fn measure(d: &VirtioBlk, chunk: usize, total: usize, write: bool) -> (u64, u64, u64) {
    let mut buf = pattern(0, chunk, 9);
    let (irqs, reqs) = (d.interrupts(), d.requests_sent());
    let start = time::monotonic_ns();
    let base = 4096u64;
    for i in 0..(total / chunk) as u64 {
        let lba = base + i * (chunk / SECTOR_SIZE) as u64;
        if write {
            d.write_blocks(lba, &buf).expect("write");
        } else {
            d.read_blocks(lba, &mut buf).expect("read");
        }
    }
    let ns = (time::monotonic_ns() - start).max(1);
    let sectors = (total / SECTOR_SIZE) as u64;
    (sectors * 1_000_000_000 / ns, d.interrupts() - irqs, d.requests_sent() - reqs)
}

#[kernel_test]
fn sequential_throughput_and_interrupts_per_request() {
    let d = test_disk();
    let total = 4 << 20;
    for chunk in [4096usize, 1 << 20] {
        for write in [true, false] {
            let (rate, irqs, requests) = measure(d, chunk, total, write);
            println!(
                "[virtio-blk] {} KiB sequential {}: {rate} sectors/s, {irqs} interrupts for {requests} requests",
                chunk / 1024,
                if write { "writes" } else { "reads" },
            );
            // One completion interrupt per request at most (never a storm),
            // and some (the completions are not polled for).
            assert!(requests >= (total / chunk) as u64, "{requests} requests for {} transfers", total / chunk);
            assert!(irqs >= 1 && irqs <= requests, "{irqs} interrupts for {requests} requests");
        }
    }
}
