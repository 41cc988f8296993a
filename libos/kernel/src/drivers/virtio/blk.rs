//! virtio-blk (virtio 1.2, section 5.2): a disk as one request queue.
//!
//! A request is a chain: a 16-byte header the device reads (type, sector),
//! the data buffers, and a status byte the device writes. The header and
//! status live in a DMA page of the driver, one slot per head descriptor.
//! A caller's transfer becomes one or more requests (`block_io::split`),
//! all pushed before the caller sleeps; the completion interrupt marks
//! requests done and wakes the sleepers, each of which collects its own
//! (Linux: `drivers/block/virtio_blk.c`, version 6.1).

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

use libos_abi::errno::Errno;
use libos_kcore::block_io::{self, Limits, Segment};
use libos_kcore::pci::Address;

use super::queue::{Buffer, Virtqueue};
use super::transport::{Notifier, Transport, TransportError};
use crate::drivers::block::{BlockDevice, SECTOR_SIZE};
use crate::drivers::dma::{self, DmaRegion};
use crate::drivers::irq::{self, DeviceVector};
use crate::drivers::pci::Function;
use crate::sched::wait::WaitQueue;
use crate::sync::{InitCell, SpinLock};

/// Feature bits (virtio 1.2, 5.2.3).
mod feature {
    pub const SIZE_MAX: u64 = 1 << 1;
    pub const SEG_MAX: u64 = 1 << 2;
    pub const RO: u64 = 1 << 5;
    pub const BLK_SIZE: u64 = 1 << 6;
    pub const FLUSH: u64 = 1 << 9;
}

/// Offsets in `struct virtio_blk_config`.
mod config {
    pub const CAPACITY: u64 = 0;
    pub const SIZE_MAX: u64 = 8;
    pub const SEG_MAX: u64 = 12;
    pub const BLK_SIZE: u64 = 20;
}

/// Request types.
mod request {
    pub const IN: u32 = 0;
    pub const OUT: u32 = 1;
    pub const FLUSH: u32 = 4;
}

/// Status the device writes.
const STATUS_OK: u8 = 0;
/// Status before the device writes one (a device that never writes it fails the request).
const STATUS_UNSET: u8 = 0xFF;
/// Bytes of a request header.
const HEADER_SIZE: usize = 16;
/// The largest queue used (descriptors).
const MAX_QUEUE: u16 = 256;

/// What a queue and its per-request slots hold.
struct BlkQueue {
    vq: Virtqueue,
    /// Headers at `head * 16`, status bytes at `size * 16 + head`.
    slots: DmaRegion,
    /// Set by the interrupt when the request with this head is done.
    done: Vec<bool>,
    /// Requests pushed and not yet collected, and the most there ever were.
    in_flight: u16,
    max_in_flight: u16,
}

impl BlkQueue {
    fn header_phys(&self, head: u16) -> u64 {
        self.slots.phys() + (head as usize * HEADER_SIZE) as u64
    }

    fn status_offset(&self, head: u16) -> usize {
        self.vq.size() as usize * HEADER_SIZE + head as usize
    }

    /// Pushes one request; `None` if the queue is too full.
    fn push(&mut self, kind: u32, sector: u64, data: &[Segment]) -> Option<u16> {
        let need = data.len() + 2;
        if (self.vq.free() as usize) < need {
            return None;
        }
        // The head is the first free descriptor: fill its slots before pushing.
        let mut buffers: Vec<Buffer> = Vec::with_capacity(need);
        buffers.push(Buffer { phys: 0, len: HEADER_SIZE as u32, device_writes: false });
        let device_writes = kind == request::IN;
        buffers.extend(data.iter().map(|s| Buffer { phys: s.phys, len: s.len, device_writes }));
        buffers.push(Buffer { phys: 0, len: 1, device_writes: true });
        let head = self.vq.next_head();
        let header = self.header_phys(head);
        let status = self.slots.phys() + self.status_offset(head) as u64;
        buffers[0].phys = header;
        buffers[need - 1].phys = status;
        let h = self.slots.ptr(head as usize * HEADER_SIZE);
        // SAFETY: the slot of `head` is ours: its descriptor is free, so no
        // request in flight uses it. Header: type, reserved, sector (LE).
        unsafe {
            (h as *mut u32).write_volatile(kind.to_le());
            (h.add(4) as *mut u32).write_volatile(0);
            (h.add(8) as *mut u64).write_volatile(sector.to_le());
            self.slots.ptr(self.status_offset(head)).write_volatile(STATUS_UNSET);
        }
        let pushed = self.vq.push(&buffers).expect("checked the free count");
        debug_assert_eq!(pushed, head);
        self.done[head as usize] = false;
        self.in_flight += 1;
        self.max_in_flight = self.max_in_flight.max(self.in_flight);
        Some(head)
    }

    /// Takes back a finished request: its status.
    fn collect(&mut self, head: u16) -> u8 {
        self.done[head as usize] = false;
        self.in_flight -= 1;
        // SAFETY: the device has finished with the status byte (the request is done).
        let status = unsafe { self.slots.ptr(self.status_offset(head)).read_volatile() };
        self.vq.free_chain(head);
        status
    }
}

/// A virtio-blk disk.
pub struct VirtioBlk {
    name: heapless::String<8>,
    address: Address,
    transport: Transport,
    notifier: InitCell<Notifier>,
    queue: SpinLock<BlkQueue>,
    completions: WaitQueue,
    capacity: u64,
    read_only: bool,
    has_flush: bool,
    physical_block: u32,
    limits: Limits,
    vector: InitCell<DeviceVector>,
    requests: AtomicU64,
}

static DEVICES: SpinLock<Vec<&'static VirtioBlk>> = SpinLock::new(Vec::new());

/// Every virtio disk, in the order found (the same disks as
/// `block::devices`, with the virtio-specific accessors).
pub fn devices() -> Vec<&'static VirtioBlk> {
    DEVICES.lock().clone()
}

impl VirtioBlk {
    /// Brings up the virtio-blk device `function` as disk number `index`
    /// (`vda`, `vdb`, ...) and registers it.
    pub fn probe(function: &mut Function, index: usize) -> Result<&'static VirtioBlk, TransportError> {
        let t = Transport::new(function)?;
        let fail = |t: &Transport, e: TransportError| {
            t.fail();
            e
        };
        let features =
            t.negotiate(feature::SIZE_MAX | feature::SEG_MAX | feature::RO | feature::BLK_SIZE | feature::FLUSH)?;
        let (capacity, size_max, seg_max, blk_size) = t
            .read_device_config(|c| {
                let lo = c.read::<u32>(config::CAPACITY) as u64;
                let hi = c.read::<u32>(config::CAPACITY + 4) as u64;
                (
                    lo | hi << 32,
                    c.read::<u32>(config::SIZE_MAX),
                    c.read::<u32>(config::SEG_MAX),
                    c.read::<u32>(config::BLK_SIZE),
                )
            })
            .ok_or_else(|| fail(&t, TransportError::MissingStructure("device configuration")))?;
        let size = t.queue_size(0, MAX_QUEUE);
        if size < 4 {
            return Err(fail(&t, TransportError::Queue(0)));
        }
        let vq = Virtqueue::new(size).ok_or_else(|| fail(&t, TransportError::NoMemory))?;
        let slots = DmaRegion::new((size as usize * (HEADER_SIZE + 1)).div_ceil(4096) as u64)
            .ok_or_else(|| fail(&t, TransportError::NoMemory))?;
        // Without indirect descriptors a request takes its segments plus
        // two (header, status) of the ring's descriptors. A request as big
        // as the ring would keep every other request out until it is done
        // (QEMU offers seg_max = queue size - 2): so that two of the
        // largest requests are in flight together, each gets at most half.
        let ring_half = (size as usize / 2).saturating_sub(2).max(1);
        let max_segments =
            if features & feature::SEG_MAX != 0 && seg_max > 0 { (seg_max as usize).min(ring_half) } else { ring_half };
        let max_segment_len =
            if features & feature::SIZE_MAX != 0 && size_max >= SECTOR_SIZE as u32 { size_max } else { u32::MAX };
        let mut name = heapless::String::new();
        let _ = core::fmt::write(&mut name, format_args!("vd{}", (b'a' + (index % 26) as u8) as char));
        // The driver must be at a fixed address before the interrupt can
        // name it: leak it (disks stay for the life of the kernel).
        let dev: &'static VirtioBlk = Box::leak(Box::new(VirtioBlk {
            name,
            address: function.address,
            transport: t,
            notifier: InitCell::new(),
            queue: SpinLock::new(BlkQueue {
                vq,
                slots,
                done: alloc::vec![false; size as usize],
                in_flight: 0,
                max_in_flight: 0,
            }),
            completions: WaitQueue::new(),
            capacity,
            read_only: features & feature::RO != 0,
            has_flush: features & feature::FLUSH != 0,
            physical_block: if features & feature::BLK_SIZE != 0 { blk_size } else { SECTOR_SIZE as u32 },
            limits: Limits { max_segments, max_segment_len, block: SECTOR_SIZE as u32 },
            vector: InitCell::new(),
            requests: AtomicU64::new(0),
        }));
        let t = &dev.transport;
        let vector = irq::allocate(Self::interrupt, dev as *const VirtioBlk as usize, None)
            .ok_or_else(|| fail(t, TransportError::NoVector))?;
        dev.vector.set(vector);
        // Entry 0: configuration changes (the capacity; nothing to do, but
        // routed so that the device never falls back to INTx), entry 1: the
        // queue. With one entry only, both share it.
        let queue_entry = if t.msix_entries() > 1 { 1 } else { 0 };
        t.route_config_interrupt(0, vector).map_err(|e| fail(t, e))?;
        let notifier = {
            let q = dev.queue.lock();
            t.setup_queue(0, &q.vq, queue_entry, vector)
        };
        dev.notifier.set(notifier.map_err(|e| fail(t, e))?);
        t.driver_ok();
        crate::drivers::block::register(dev);
        DEVICES.lock().push(dev);
        Ok(dev)
    }

    /// The completion interrupt: marks finished requests, wakes the waiters.
    fn interrupt(arg: usize) {
        // SAFETY: `arg` is the address of a leaked (never freed) VirtioBlk,
        // set in `probe`.
        let dev = unsafe { &*(arg as *const VirtioBlk) };
        let mut any = false;
        {
            let mut q = dev.queue.lock();
            while let Some((head, _)) = q.vq.pop_used() {
                q.done[head as usize] = true;
                any = true;
            }
        }
        if any {
            dev.completions.wake_all();
        }
    }

    /// Its PCI address.
    pub fn address(&self) -> Address {
        self.address
    }

    /// The device's physical block size in bytes.
    pub fn physical_block_size(&self) -> u32 {
        self.physical_block
    }

    /// The interrupt vector and CPU its completions arrive on.
    pub fn vector(&self) -> DeviceVector {
        *self.vector.expect("set in probe")
    }

    /// Requests sent to the device so far (a transfer may take several).
    pub fn requests_sent(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// The most requests that were in flight at once so far (since the
    /// last [`VirtioBlk::reset_max_in_flight`]).
    pub fn max_in_flight(&self) -> u16 {
        self.queue.lock().max_in_flight
    }

    /// Starts counting [`VirtioBlk::max_in_flight`] again, from the
    /// requests in flight now (a test measures its own transfers).
    pub fn reset_max_in_flight(&self) {
        let mut q = self.queue.lock();
        q.max_in_flight = q.in_flight;
    }

    /// Completion interrupts taken so far.
    pub fn interrupts(&self) -> u64 {
        irq::count(self.vector().vector)
    }

    /// Runs `requests` (type, first sector, data), as many in flight at
    /// once as the queue takes, sleeping until all are done. `EIO` if the
    /// device failed any.
    fn run(&self, requests: &[(u32, u64, &[Segment])]) -> Result<(), Errno> {
        let mut next = 0;
        let mut in_flight: Vec<u16> = Vec::new();
        let mut failed = false;
        // Every request must fit the queue at all, or it would wait for ever.
        if requests.iter().any(|r| r.2.len() > self.limits.max_segments) {
            return Err(Errno::EINVAL);
        }
        while next < requests.len() || !in_flight.is_empty() {
            {
                let mut q = self.queue.lock();
                let mut pushed = 0;
                while let Some(&(kind, sector, data)) = requests.get(next) {
                    let Some(head) = q.push(kind, sector, data) else { break };
                    in_flight.push(head);
                    next += 1;
                    pushed += 1;
                }
                if pushed > 0 {
                    self.requests.fetch_add(pushed, Ordering::Relaxed);
                    if q.vq.needs_notify() {
                        self.transport.notify(*self.notifier.expect("set in probe"));
                    }
                }
            }
            let want = requests.get(next).map(|r| r.2.len() + 2);
            self.completions.wait_until(|| {
                let q = self.queue.lock();
                in_flight.iter().any(|&h| q.done[h as usize]) || want.is_some_and(|n| q.vq.free() as usize >= n)
            });
            let mut q = self.queue.lock();
            in_flight.retain(|&h| {
                if !q.done[h as usize] {
                    return true;
                }
                failed |= q.collect(h) != STATUS_OK;
                false
            });
        }
        if failed { Err(Errno::EIO) } else { Ok(()) }
    }

    /// Checks a transfer of `len` bytes at `lba` (`EINVAL`, `EIO`, `EROFS`).
    fn check(&self, kind: u32, lba: u64, len: u64) -> Result<(), Errno> {
        if !len.is_multiple_of(SECTOR_SIZE as u64) {
            return Err(Errno::EINVAL);
        }
        // As Linux's block layer: beyond the end is an I/O error.
        if lba.checked_add(len / SECTOR_SIZE as u64).is_none_or(|end| end > self.capacity) {
            return Err(Errno::EIO);
        }
        if kind == request::OUT && self.read_only {
            return Err(Errno::EROFS);
        }
        Ok(())
    }

    /// Moves the physical memory `segments` (in order) to or from the disk
    /// from block `lba` on, as device requests within the queue's limits.
    fn transfer_segments(&self, kind: u32, lba: u64, segments: &[Segment]) -> Result<(), Errno> {
        self.check(kind, lba, segments.iter().map(|s| s.len as u64).sum())?;
        let split = block_io::split(segments, self.limits).map_err(|_| Errno::EINVAL)?;
        let requests: Vec<(u32, u64, &[Segment])> =
            split.iter().map(|r| (kind, lba + r.offset / SECTOR_SIZE as u64, r.segments.as_slice())).collect();
        self.run(&requests)
    }

    fn transfer(&self, kind: u32, lba: u64, ptr: *const u8, len: usize) -> Result<(), Errno> {
        self.check(kind, lba, len as u64)?;
        if len == 0 {
            return Ok(());
        }
        self.transfer_segments(kind, lba, &dma::buffer_segments(ptr, len)?)
    }

    /// Reads blocks from `lba` on straight into physical memory (a page
    /// cache's frames, say): as [`BlockDevice::read_blocks`], the buffer
    /// given as physically contiguous pieces.
    ///
    /// # Safety
    /// The memory of `segments` must belong to the caller for the whole
    /// call (the device writes it), and nothing else may use it meanwhile.
    pub unsafe fn read_phys(&self, lba: u64, segments: &[Segment]) -> Result<(), Errno> {
        self.transfer_segments(request::IN, lba, segments)
    }

    /// Writes blocks from physical memory: as [`VirtioBlk::read_phys`].
    ///
    /// # Safety
    /// The memory of `segments` must stay allocated and unchanged for the
    /// whole call (the device reads it).
    pub unsafe fn write_phys(&self, lba: u64, segments: &[Segment]) -> Result<(), Errno> {
        self.transfer_segments(request::OUT, lba, segments)
    }

    /// The most data segments one request carries (`seg_max`, bounded so
    /// that two such requests fit the queue together).
    pub fn max_segments(&self) -> usize {
        self.limits.max_segments
    }
}

impl BlockDevice for VirtioBlk {
    fn name(&self) -> &str {
        &self.name
    }

    fn block_count(&self) -> u64 {
        self.capacity
    }

    fn is_read_only(&self) -> bool {
        self.read_only
    }

    fn read_blocks(&self, lba: u64, buf: &mut [u8]) -> Result<(), Errno> {
        // The exclusive borrow keeps the buffer ours while the device writes it.
        self.transfer(request::IN, lba, buf.as_mut_ptr(), buf.len())
    }

    fn write_blocks(&self, lba: u64, buf: &[u8]) -> Result<(), Errno> {
        self.transfer(request::OUT, lba, buf.as_ptr(), buf.len())
    }

    fn flush(&self) -> Result<(), Errno> {
        if !self.has_flush {
            // Without VIRTIO_BLK_F_FLUSH the device's cache is write-through
            // (virtio 1.2, 5.2.6.2).
            return Ok(());
        }
        self.run(&[(request::FLUSH, 0, &[])])
    }
}
