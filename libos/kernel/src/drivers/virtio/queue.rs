//! The split virtqueue (virtio 1.2, section 2.7): a descriptor table, the
//! available ring (driver to device) and the used ring (device to driver),
//! in memory both sides share (Linux: `drivers/virtio/virtio_ring.c`,
//! version 6.1).
//!
//! A request is a chain of descriptors; its head's index names it until
//! the device hands it back through the used ring. Free descriptors form
//! a list through their `next` fields. The queue does no locking: its
//! owner keeps it behind a lock.
//!
//! Ordering on x86: the device's DMA snoops the caches, and x86 keeps
//! stores in order and loads in order, so what must be ordered is the
//! compiler's code (Release and Acquire fences, which emit no
//! instruction) and, before deciding whether to notify, our store of the
//! available index against our load of the device's flags (a full fence,
//! as Linux's `virtio_mb`).

use alloc::vec::Vec;
use core::sync::atomic::{Ordering, fence};

use crate::drivers::dma::DmaRegion;

/// Descriptor flags.
mod desc_flags {
    /// The chain continues at `next`.
    pub const NEXT: u16 = 1;
    /// The device writes this buffer (else it reads it).
    pub const WRITE: u16 = 2;
}

/// `avail.flags`: the driver does not want interrupts for this queue.
const AVAIL_F_NO_INTERRUPT: u16 = 1;
/// `used.flags`: the device does not want notifications.
const USED_F_NO_NOTIFY: u16 = 1;

/// Bytes of a descriptor: address (8), length (4), flags (2), next (2).
const DESC_SIZE: usize = 16;

/// One buffer of a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Buffer {
    /// Physical address.
    pub phys: u64,
    /// Length in bytes.
    pub len: u32,
    /// The device writes it (else it reads it).
    pub device_writes: bool,
}

/// A split virtqueue of `size` descriptors.
pub struct Virtqueue {
    size: u16,
    mem: DmaRegion,
    avail_offset: usize,
    used_offset: usize,
    free_head: u16,
    free_count: u16,
    /// Our copy of `avail.idx` (the device only reads it).
    next_avail: u16,
    /// The next used-ring entry to look at.
    last_used: u16,
    /// Descriptors in each in-flight chain, by head (to free them).
    chain_len: Vec<u16>,
}

impl Virtqueue {
    /// A queue of `size` descriptors (a power of two, at most 32768), all
    /// free; `None` if memory is short.
    pub fn new(size: u16) -> Option<Virtqueue> {
        assert!(size.is_power_of_two() && size <= 32768, "virtqueue size {size}");
        let n = size as usize;
        let avail_offset = DESC_SIZE * n;
        // The used ring is page-aligned (the legacy layout; modern devices
        // need only 4-byte alignment).
        let used_offset = (avail_offset + 6 + 2 * n).next_multiple_of(4096);
        let bytes = used_offset + 6 + 8 * n;
        let mem = DmaRegion::new(bytes.div_ceil(4096) as u64)?;
        let q = Virtqueue {
            size,
            mem,
            avail_offset,
            used_offset,
            free_head: 0,
            free_count: size,
            next_avail: 0,
            last_used: 0,
            chain_len: alloc::vec![0; n],
        };
        for i in 0..size {
            q.write_desc(i, 0, 0, 0, i.wrapping_add(1));
        }
        Some(q)
    }

    /// Its number of descriptors.
    pub fn size(&self) -> u16 {
        self.size
    }

    /// Free descriptors.
    pub fn free(&self) -> u16 {
        self.free_count
    }

    /// The head the next [`Virtqueue::push`] will use (if it succeeds).
    pub fn next_head(&self) -> u16 {
        self.free_head
    }

    /// Physical addresses of the descriptor table, the available ring and
    /// the used ring.
    pub fn ring_addresses(&self) -> (u64, u64, u64) {
        let p = self.mem.phys();
        (p, p + self.avail_offset as u64, p + self.used_offset as u64)
    }

    fn ptr<T>(&self, offset: usize) -> *mut T {
        self.mem.ptr(offset) as *mut T
    }

    fn write_desc(&self, i: u16, addr: u64, len: u32, flags: u16, next: u16) {
        let base = DESC_SIZE * i as usize;
        // SAFETY: descriptor `i < size` lies in the table at the start of
        // our DMA region; the device only reads descriptors.
        unsafe {
            self.ptr::<u64>(base).write_volatile(addr);
            self.ptr::<u32>(base + 8).write_volatile(len);
            self.ptr::<u16>(base + 12).write_volatile(flags);
            self.ptr::<u16>(base + 14).write_volatile(next);
        }
    }

    fn desc_flags_next(&self, i: u16) -> (u16, u16) {
        let base = DESC_SIZE * i as usize;
        // SAFETY: as in `write_desc`.
        unsafe { (self.ptr::<u16>(base + 12).read_volatile(), self.ptr::<u16>(base + 14).read_volatile()) }
    }

    /// Puts a request of `buffers` (read-only ones first, as virtio
    /// requires of the device's view) on the available ring. Returns its
    /// head, or `None` if there are not enough free descriptors (or none
    /// are given). The device learns of it only when notified.
    pub fn push(&mut self, buffers: &[Buffer]) -> Option<u16> {
        let n = buffers.len();
        if n == 0 || n > self.free_count as usize {
            return None;
        }
        let head = self.free_head;
        let mut i = head;
        for (k, b) in buffers.iter().enumerate() {
            let (_, next_free) = self.desc_flags_next(i);
            let mut flags = if b.device_writes { desc_flags::WRITE } else { 0 };
            if k + 1 < n {
                flags |= desc_flags::NEXT;
            }
            self.write_desc(i, b.phys, b.len, flags, next_free);
            if k + 1 < n {
                i = next_free;
            } else {
                self.free_head = next_free;
            }
        }
        self.free_count -= n as u16;
        self.chain_len[head as usize] = n as u16;
        let slot = self.avail_offset + 4 + 2 * (self.next_avail % self.size) as usize;
        // SAFETY: the ring entry lies in the available ring of our region.
        unsafe { self.ptr::<u16>(slot).write_volatile(head) };
        self.next_avail = self.next_avail.wrapping_add(1);
        // The descriptors and the ring entry before the index that
        // publishes them.
        fence(Ordering::Release);
        // SAFETY: `avail.idx`, in our region.
        unsafe { self.ptr::<u16>(self.avail_offset + 2).write_volatile(self.next_avail) };
        Some(head)
    }

    /// Whether the device wants a notification for what was pushed (it
    /// may say it does not while it is processing the ring anyway).
    pub fn needs_notify(&self) -> bool {
        // Our store of avail.idx before our load of used.flags: a full
        // fence, or we may miss a device that just went to sleep.
        fence(Ordering::SeqCst);
        // SAFETY: `used.flags`, in our region (the device writes it).
        unsafe { self.ptr::<u16>(self.used_offset).read_volatile() & USED_F_NO_NOTIFY == 0 }
    }

    /// Asks the device for interrupts on completions, or not (a hint the
    /// device may ignore).
    pub fn set_interrupts(&mut self, on: bool) {
        let flags = if on { 0 } else { AVAIL_F_NO_INTERRUPT };
        // SAFETY: `avail.flags`, in our region.
        unsafe { self.ptr::<u16>(self.avail_offset).write_volatile(flags) };
        fence(Ordering::SeqCst);
    }

    /// Whether the device has handed back a request not yet popped.
    pub fn has_used(&self) -> bool {
        // SAFETY: `used.idx`, in our region.
        let idx = unsafe { self.ptr::<u16>(self.used_offset + 2).read_volatile() };
        idx != self.last_used
    }

    /// The next request the device handed back: its head and the number
    /// of bytes the device wrote. Its descriptors stay allocated until
    /// [`Virtqueue::free_chain`] (so the head keeps naming the request).
    pub fn pop_used(&mut self) -> Option<(u16, u32)> {
        if !self.has_used() {
            return None;
        }
        // The entry after the index that published it.
        fence(Ordering::Acquire);
        let entry = self.used_offset + 4 + 8 * (self.last_used % self.size) as usize;
        // SAFETY: the used-ring entry lies in our region.
        let (id, len) = unsafe { (self.ptr::<u32>(entry).read_volatile(), self.ptr::<u32>(entry + 4).read_volatile()) };
        self.last_used = self.last_used.wrapping_add(1);
        if id >= self.size as u32 || self.chain_len[id as usize] == 0 {
            // A device bug; the entry is ignored rather than corrupting the free list.
            crate::println!("[libos] virtio: the device returned descriptor {id}, which is not in flight");
            return self.pop_used();
        }
        Some((id as u16, len))
    }

    /// Returns the descriptors of the request with head `head` (popped
    /// from the used ring) to the free list.
    pub fn free_chain(&mut self, head: u16) {
        let n = core::mem::take(&mut self.chain_len[head as usize]);
        assert!(n > 0, "virtqueue: freeing descriptor {head}, which is not in flight");
        let mut last = head;
        for _ in 1..n {
            last = self.desc_flags_next(last).1;
        }
        self.write_desc(last, 0, 0, 0, self.free_head);
        self.free_head = head;
        self.free_count += n;
    }
}
