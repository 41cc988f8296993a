//! Device drivers: PCI, virtio transport, disks and network cards.
//!
//! [`init`] runs once at boot, after the local APICs of all CPUs are up
//! (device interrupts go to them as MSI-X messages): it enumerates PCI,
//! brings up every virtio-blk and virtio-net device, and keeps a line per
//! device for the boot report. Under an emulator without virtio (Bochs)
//! it simply finds none. Each device interrupt has a vector of the
//! kernel's device range (`trap::irq::request_device_vector`, through
//! [`irq::allocate`], which also picks the CPU it goes to).
//!
//! What the rest of the kernel uses:
//!
//! - Disks: [`block::devices`] / [`block::first`] give
//!   `&'static dyn` [`block::BlockDevice`]s (`read_blocks`, `write_blocks`,
//!   `flush`, `block_count`, `is_read_only`; 512-byte blocks; errors as
//!   `Errno`). [`virtio::blk::devices`] gives the same disks with extras
//!   (`read_phys`/`write_phys` for frames, counters).
//! - Network cards: [`virtio::net::devices`] gives `&'static`
//!   [`virtio::net::VirtioNet`]s (`mac`, `link_up`, `receive`, `transmit`,
//!   `wait_for_frame`, `wait_for_activity`); [`virtio::net_phy::NetPhy`]
//!   is smoltcp's `phy::Device` over one.
//!
//! Every call that waits for a device sleeps on a wait queue until the
//! device's interrupt: call them from a task (a kernel thread, or a
//! syscall on an app thread's behalf), never from an interrupt handler or
//! with a spinlock held.

pub mod block;
pub mod dma;
pub mod irq;
pub mod mmio;
pub mod pci;
pub mod virtio;

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use crate::sync::SpinLock;
use virtio::{DeviceType, Probed};

static REPORT: SpinLock<Vec<String>> = SpinLock::new(Vec::new());

/// Finds and brings up the devices.
pub fn init() {
    let mut functions = pci::enumerate();
    let mut lines = Vec::new();
    let (mut disks, mut nics) = (0, 0);
    let count = functions.len();
    for f in functions.iter_mut() {
        let probed = match virtio::device_type(f) {
            Some(DeviceType::Block) => {
                let r = virtio::blk::VirtioBlk::probe(f, disks);
                disks += 1;
                match r {
                    Ok(d) => Probed::Block(d),
                    Err(e) => Probed::Failed(f.address, "virtio-blk", format!("{e}")),
                }
            }
            Some(DeviceType::Net) => {
                let r = virtio::net::VirtioNet::probe(f, nics);
                nics += 1;
                match r {
                    Ok(n) => Probed::Net(n),
                    Err(e) => Probed::Failed(f.address, "virtio-net", format!("{e}")),
                }
            }
            Some(DeviceType::Other(t)) => Probed::Unsupported(f.address, t),
            None => continue,
        };
        lines.push(describe(&probed));
    }
    lines.insert(0, format!("pci      {count} functions; {} virtio", lines.len()));
    *REPORT.lock() = lines;
}

fn describe(p: &Probed) -> String {
    use block::BlockDevice;
    match p {
        Probed::Block(d) => {
            let bytes = d.block_count() * block::SECTOR_SIZE as u64;
            format!(
                "disk     {} virtio-blk at {}: {} sectors ({}.{} MiB){}{}; IRQ vector {:#x} on CPU {}",
                d.name(),
                d.address(),
                d.block_count(),
                bytes >> 20,
                ((bytes % (1 << 20)) * 10) >> 20,
                if d.is_read_only() { ", read-only" } else { "" },
                match d.physical_block_size() {
                    512 => String::new(),
                    b => format!(", {b}-byte physical blocks"),
                },
                d.vector().vector,
                d.vector().cpu
            )
        }
        Probed::Net(n) => {
            let m = n.mac();
            format!(
                "net      {} virtio-net at {}: MAC {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}, link {}; IRQ vectors {:#x}-{:#x} on CPU {}",
                n.name(),
                n.address(),
                m[0],
                m[1],
                m[2],
                m[3],
                m[4],
                m[5],
                if n.link_up() { "up" } else { "down" },
                n.vectors()[0].vector,
                n.vectors()[2].vector,
                n.vectors()[0].cpu
            )
        }
        Probed::Unsupported(a, t) => format!("virtio   {a}: device type {t}, no driver"),
        Probed::Failed(a, what, why) => format!("warning  {what} at {a} not usable: {why}"),
    }
}

/// The boot report's lines about devices.
pub fn report_lines() -> Vec<String> {
    REPORT.lock().clone()
}
