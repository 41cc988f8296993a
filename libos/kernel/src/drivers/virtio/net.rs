//! virtio-net (virtio 1.2, section 5.1): Ethernet frames through a receive
//! queue (buffers the driver posts, the device fills) and a transmit queue
//! (frames the driver fills, the device sends and hands back). Linux:
//! `drivers/net/virtio_net.c`, version 6.1.
//!
//! Every buffer is a 2 KiB slot of a DMA region: the 12-byte
//! `virtio_net_hdr` (no offloads are negotiated, so it is all zeros on
//! transmit and ignored on receive), then up to 1514 bytes of frame.
//! Receive buffers are all posted at start and posted again as soon as the
//! stack has read them; sent frames are reclaimed when a transmit slot is
//! wanted, and transmit interrupts are asked for only while a sender waits
//! for a slot. A receive interrupt wakes whoever waits for frames.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use libos_kcore::pci::Address;

use super::queue::{Buffer, Virtqueue};
use super::transport::{Notifier, Transport, TransportError};
use crate::drivers::dma::DmaRegion;
use crate::drivers::irq::{self, DeviceVector};
use crate::drivers::pci::Function;
use crate::sched::wait::WaitQueue;
use crate::sync::{InitCell, SpinLock};

/// Feature bits (virtio 1.2, 5.1.3).
mod feature {
    pub const MAC: u64 = 1 << 5;
    pub const STATUS: u64 = 1 << 16;
}

/// Offsets in `struct virtio_net_config`.
mod config {
    pub const MAC: u64 = 0;
    pub const STATUS: u64 = 6;
    /// `status` bit: the link is up.
    pub const LINK_UP: u16 = 1;
}

const RX_QUEUE: u16 = 0;
const TX_QUEUE: u16 = 1;
/// `struct virtio_net_hdr` with `num_buffers`, as modern devices always use.
const HEADER_LEN: usize = 12;
/// Bytes per buffer slot.
const SLOT: usize = 2048;
/// The largest Ethernet frame (without the frame check sequence) this
/// driver sends or receives: 14 bytes of header and a 1500-byte payload.
pub const MAX_FRAME: usize = 1514;
/// The most buffers per queue.
const MAX_BUFFERS: u16 = 128;

struct RxQueue {
    vq: Virtqueue,
    slot_of_head: Vec<u16>,
}

struct TxQueue {
    vq: Virtqueue,
    slot_of_head: Vec<u16>,
    free: Vec<u16>,
}

impl TxQueue {
    /// Takes back the slots of frames the device has sent.
    fn reclaim(&mut self) {
        while let Some((head, _)) = self.vq.pop_used() {
            self.vq.free_chain(head);
            self.free.push(self.slot_of_head[head as usize]);
        }
    }
}

/// A virtio-net device.
pub struct VirtioNet {
    name: heapless::String<8>,
    address: Address,
    transport: Transport,
    mac: [u8; 6],
    has_status: bool,
    rx_buffers: DmaRegion,
    tx_buffers: DmaRegion,
    rx: SpinLock<RxQueue>,
    tx: SpinLock<TxQueue>,
    notifiers: InitCell<[Notifier; 2]>,
    vectors: InitCell<[DeviceVector; 3]>,
    /// Woken by receive, transmit and configuration interrupts.
    events: WaitQueue,
    link_up: AtomicBool,
    /// Set by [`VirtioNet::kick`]: ends the current (or next)
    /// [`VirtioNet::wait_for_activity`] early.
    kicked: AtomicBool,
    received: AtomicU64,
    sent: AtomicU64,
}

static DEVICES: SpinLock<Vec<&'static VirtioNet>> = SpinLock::new(Vec::new());

/// Every network device, in the order found.
pub fn devices() -> Vec<&'static VirtioNet> {
    DEVICES.lock().clone()
}

impl VirtioNet {
    /// Brings up the virtio-net device `function` as `eth<index>` and
    /// registers it.
    pub fn probe(function: &mut Function, index: usize) -> Result<&'static VirtioNet, TransportError> {
        let t = Transport::new(function)?;
        let fail = |t: &Transport, e: TransportError| {
            t.fail();
            e
        };
        let features = t.negotiate(feature::MAC | feature::STATUS)?;
        let (mac, status) = t
            .read_device_config(|c| {
                let mac: [u8; 6] = core::array::from_fn(|i| c.read::<u8>(config::MAC + i as u64));
                (mac, c.read::<u16>(config::STATUS))
            })
            .ok_or_else(|| fail(&t, TransportError::MissingStructure("device configuration")))?;
        // Without VIRTIO_NET_F_MAC the driver picks an address: a locally
        // administered one.
        let mac = if features & feature::MAC != 0 { mac } else { [0x02, 0, 0, 0, 0, index as u8 + 1] };
        let has_status = features & feature::STATUS != 0;
        let mut queues = [(0u16, None), (0, None)];
        for (q, slot) in [RX_QUEUE, TX_QUEUE].into_iter().zip(queues.iter_mut()) {
            let size = t.queue_size(q, 256);
            if size < 2 {
                return Err(fail(&t, TransportError::Queue(q)));
            }
            *slot =
                (size.min(MAX_BUFFERS), Some(Virtqueue::new(size).ok_or_else(|| fail(&t, TransportError::NoMemory))?));
        }
        let [(rx_count, Some(rx_vq)), (tx_count, Some(mut tx_vq))] = queues else { unreachable!() };
        let pages = |n: u16| (n as usize * SLOT).div_ceil(4096) as u64;
        let rx_buffers = DmaRegion::new(pages(rx_count)).ok_or_else(|| fail(&t, TransportError::NoMemory))?;
        let tx_buffers = DmaRegion::new(pages(tx_count)).ok_or_else(|| fail(&t, TransportError::NoMemory))?;
        tx_vq.set_interrupts(false);
        let rx_size = rx_vq.size() as usize;
        let tx_size = tx_vq.size() as usize;
        let mut name = heapless::String::new();
        let _ = core::fmt::write(&mut name, format_args!("eth{index}"));
        let dev: &'static VirtioNet = Box::leak(Box::new(VirtioNet {
            name,
            address: function.address,
            transport: t,
            mac,
            has_status,
            rx_buffers,
            tx_buffers,
            rx: SpinLock::new(RxQueue { vq: rx_vq, slot_of_head: alloc::vec![0; rx_size] }),
            tx: SpinLock::new(TxQueue {
                vq: tx_vq,
                slot_of_head: alloc::vec![0; tx_size],
                free: (0..tx_count).rev().collect(),
            }),
            notifiers: InitCell::new(),
            vectors: InitCell::new(),
            events: WaitQueue::new(),
            link_up: AtomicBool::new(!has_status || status & config::LINK_UP != 0),
            kicked: AtomicBool::new(false),
            received: AtomicU64::new(0),
            sent: AtomicU64::new(0),
        }));
        let t = &dev.transport;
        let arg = dev as *const VirtioNet as usize;
        // Three vectors on one CPU: configuration (link changes), receive,
        // transmit (MSI-X entries 0, 1, 2; QEMU gives a one-pair device 3+).
        let config_vector =
            irq::allocate(Self::config_interrupt, arg, None).ok_or_else(|| fail(t, TransportError::NoVector))?;
        let cpu = Some(config_vector.cpu);
        let rx_vector =
            irq::allocate(Self::queue_interrupt, arg, cpu).ok_or_else(|| fail(t, TransportError::NoVector))?;
        let tx_vector =
            irq::allocate(Self::queue_interrupt, arg, cpu).ok_or_else(|| fail(t, TransportError::NoVector))?;
        dev.vectors.set([config_vector, rx_vector, tx_vector]);
        if t.msix_entries() < 3 {
            return Err(fail(t, TransportError::Msix(crate::drivers::pci::msix::MsixError::NoSuchEntry)));
        }
        t.route_config_interrupt(0, config_vector).map_err(|e| fail(t, e))?;
        let notifiers = {
            let rx = dev.rx.lock();
            let tx = dev.tx.lock();
            [t.setup_queue(RX_QUEUE, &rx.vq, 1, rx_vector), t.setup_queue(TX_QUEUE, &tx.vq, 2, tx_vector)]
        };
        let [rx_n, tx_n] = notifiers;
        dev.notifiers.set([rx_n.map_err(|e| fail(t, e))?, tx_n.map_err(|e| fail(t, e))?]);
        {
            let mut rx = dev.rx.lock();
            for slot in 0..rx_count {
                dev.post_locked(&mut rx, slot);
            }
        }
        t.driver_ok();
        t.notify(dev.notifiers.expect("set above")[0]);
        DEVICES.lock().push(dev);
        Ok(dev)
    }

    fn from_arg(arg: usize) -> &'static VirtioNet {
        // SAFETY: `arg` is the address of a leaked (never freed) VirtioNet,
        // set in `probe`.
        unsafe { &*(arg as *const VirtioNet) }
    }

    /// A receive or transmit interrupt: wake whoever waits.
    fn queue_interrupt(arg: usize) {
        Self::from_arg(arg).events.wake_all();
    }

    /// A configuration change: the link status may have changed.
    fn config_interrupt(arg: usize) {
        let dev = Self::from_arg(arg);
        if dev.has_status {
            let status = dev.transport.read_device_config(|c| c.read::<u16>(config::STATUS)).unwrap_or(0);
            dev.link_up.store(status & config::LINK_UP != 0, Ordering::Release);
        }
        dev.events.wake_all();
    }

    /// Posts receive slot `slot` (with the receive queue locked).
    fn post_locked(&self, rx: &mut RxQueue, slot: u16) {
        let phys = self.rx_buffers.phys() + (slot as usize * SLOT) as u64;
        let head = rx
            .vq
            .push(&[Buffer { phys, len: SLOT as u32, device_writes: true }])
            .expect("a receive queue has a descriptor for each slot");
        rx.slot_of_head[head as usize] = slot;
    }

    /// Its name (`eth0`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its PCI address.
    pub fn address(&self) -> Address {
        self.address
    }

    /// Its MAC address.
    pub fn mac(&self) -> [u8; 6] {
        self.mac
    }

    /// Whether the link is up (always, for a device without VIRTIO_NET_F_STATUS).
    pub fn link_up(&self) -> bool {
        self.link_up.load(Ordering::Acquire)
    }

    /// The vectors of its configuration, receive and transmit interrupts.
    pub fn vectors(&self) -> [DeviceVector; 3] {
        *self.vectors.expect("set in probe")
    }

    /// Frames received and sent so far.
    pub fn frame_counts(&self) -> (u64, u64) {
        (self.received.load(Ordering::Relaxed), self.sent.load(Ordering::Relaxed))
    }

    /// The next received frame, if one is waiting. Its buffer goes back to
    /// the device when the [`RxFrame`] is dropped.
    pub fn receive(&self) -> Option<RxFrame<'_>> {
        let mut rx = self.rx.lock();
        let (head, written) = rx.vq.pop_used()?;
        let slot = rx.slot_of_head[head as usize];
        rx.vq.free_chain(head);
        drop(rx);
        self.received.fetch_add(1, Ordering::Relaxed);
        let len = (written as usize).saturating_sub(HEADER_LEN).min(SLOT - HEADER_LEN);
        Some(RxFrame { net: self, slot, len })
    }

    /// A free transmit slot, if one is free now (sent frames are reclaimed first).
    pub fn transmit(&self) -> Option<TxBuffer<'_>> {
        let mut tx = self.tx.lock();
        tx.reclaim();
        let slot = tx.free.pop()?;
        Some(TxBuffer { net: self, slot: Some(slot) })
    }

    /// Whether a received frame waits.
    pub fn frame_waiting(&self) -> bool {
        self.rx.lock().vq.has_used()
    }

    /// Sleeps until a frame has arrived (true) or the TSC reaches
    /// `deadline` (false). Returns at once if one waits.
    pub fn wait_for_frame(&self, deadline: Option<u64>) -> bool {
        self.events.wait_until_deadline(deadline, || self.frame_waiting())
    }

    /// Sleeps until a transmit slot is free (true) or the TSC reaches
    /// `deadline` (false); transmit interrupts are on only meanwhile.
    pub fn wait_for_transmit_slot(&self, deadline: Option<u64>) -> bool {
        self.tx.lock().vq.set_interrupts(true);
        let ok = self.events.wait_until_deadline(deadline, || {
            let mut tx = self.tx.lock();
            tx.reclaim();
            !tx.free.is_empty()
        });
        self.tx.lock().vq.set_interrupts(false);
        ok
    }

    /// Ends the current (or next) [`VirtioNet::wait_for_activity`] at once:
    /// the network stack has work that cannot wait for the device (a new
    /// timer earlier than the one its poll thread sleeps for).
    pub fn kick(&self) {
        self.kicked.store(true, Ordering::Release);
        self.events.wake_all();
    }

    /// Sleeps until a frame arrives, a transmit slot frees up if
    /// `want_transmit`, the link changes, [`VirtioNet::kick`] is called, or
    /// the TSC reaches `deadline` (the network stack's poll loop waits here
    /// between polls).
    pub fn wait_for_activity(&self, want_transmit: bool, deadline: Option<u64>) {
        if want_transmit {
            self.tx.lock().vq.set_interrupts(true);
        }
        let link = self.link_up();
        self.events.wait_until_deadline(deadline, || {
            self.kicked.swap(false, Ordering::AcqRel)
                || self.frame_waiting()
                || self.link_up() != link
                || (want_transmit && {
                    let mut tx = self.tx.lock();
                    tx.reclaim();
                    !tx.free.is_empty()
                })
        });
        if want_transmit {
            self.tx.lock().vq.set_interrupts(false);
        }
    }
}

/// A received frame (without the virtio header).
pub struct RxFrame<'a> {
    net: &'a VirtioNet,
    slot: u16,
    len: usize,
}

impl RxFrame<'_> {
    /// The frame's bytes, from the destination MAC on.
    pub fn data(&self) -> &[u8] {
        // SAFETY: the slot is ours (popped from the used ring, not posted
        // again until drop), and the device has finished writing it.
        unsafe {
            core::slice::from_raw_parts(self.net.rx_buffers.ptr(self.slot as usize * SLOT + HEADER_LEN), self.len)
        }
    }
}

impl Drop for RxFrame<'_> {
    fn drop(&mut self) {
        let mut rx = self.net.rx.lock();
        self.net.post_locked(&mut rx, self.slot);
        if rx.vq.needs_notify() {
            self.net.transport.notify(self.net.notifiers.expect("set in probe")[0]);
        }
    }
}

/// A transmit slot: fill it and send it, or drop it unused.
pub struct TxBuffer<'a> {
    net: &'a VirtioNet,
    slot: Option<u16>,
}

impl TxBuffer<'_> {
    /// Sends a frame of `len` bytes (at most [`MAX_FRAME`]; longer is cut
    /// to that) that `fill` writes, and returns what `fill` returns.
    pub fn send<R>(mut self, len: usize, fill: impl FnOnce(&mut [u8]) -> R) -> R {
        let net = self.net;
        let slot = self.slot.take().expect("a TxBuffer holds its slot until sent");
        let len = len.min(MAX_FRAME);
        let base = slot as usize * SLOT;
        // SAFETY: the slot is ours (taken from the free list; the device has
        // handed it back or never had it) and SLOT bytes long.
        let buf = unsafe { core::slice::from_raw_parts_mut(net.tx_buffers.ptr(base), HEADER_LEN + len) };
        buf[..HEADER_LEN].fill(0);
        let r = fill(&mut buf[HEADER_LEN..]);
        let phys = net.tx_buffers.phys() + base as u64;
        let mut tx = net.tx.lock();
        let head = tx
            .vq
            .push(&[Buffer { phys, len: (HEADER_LEN + len) as u32, device_writes: false }])
            .expect("a transmit queue has a descriptor for each slot");
        tx.slot_of_head[head as usize] = slot;
        if tx.vq.needs_notify() {
            net.transport.notify(net.notifiers.expect("set in probe")[1]);
        }
        drop(tx);
        net.sent.fetch_add(1, Ordering::Relaxed);
        r
    }
}

impl Drop for TxBuffer<'_> {
    fn drop(&mut self) {
        if let Some(slot) = self.slot.take() {
            self.net.tx.lock().free.push(slot);
        }
    }
}
