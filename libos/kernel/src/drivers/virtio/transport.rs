//! The modern virtio-PCI transport (virtio 1.2, section 4.1): the device's
//! configuration structures, found through vendor-specific PCI
//! capabilities and mapped from its memory BARs, and its interrupts as
//! MSI-X messages (Linux: `drivers/virtio/virtio_pci_modern_dev.c`,
//! version 6.1).
//!
//! QEMU's virtio-pci devices on the `pc` machine are transitional: they
//! offer the legacy I/O-port interface in BAR 0 as well, which this
//! transport ignores.

use libos_kcore::pci::{ConfigSpace, cap_id, capabilities};

use super::queue::Virtqueue;
use crate::drivers::irq::DeviceVector;
use crate::drivers::mmio::MmioRegion;
use crate::drivers::pci::Function;
use crate::drivers::pci::msix::{Msix, MsixError};

/// `cfg_type` of a virtio PCI capability (virtio 1.2, 4.1.4).
mod cfg_type {
    pub const COMMON: u8 = 1;
    pub const NOTIFY: u8 = 2;
    pub const ISR: u8 = 3;
    pub const DEVICE: u8 = 4;
}

/// Offsets in `struct virtio_pci_cap`.
mod cap {
    pub const CFG_TYPE: u16 = 3;
    pub const BAR: u16 = 4;
    pub const OFFSET: u16 = 8;
    pub const LENGTH: u16 = 12;
    /// `struct virtio_pci_notify_cap`'s multiplier.
    pub const NOTIFY_OFF_MULTIPLIER: u16 = 16;
}

/// Offsets in `struct virtio_pci_common_cfg` (virtio 1.2, 4.1.4.3).
mod common {
    pub const DEVICE_FEATURE_SELECT: u64 = 0x00;
    pub const DEVICE_FEATURE: u64 = 0x04;
    pub const DRIVER_FEATURE_SELECT: u64 = 0x08;
    pub const DRIVER_FEATURE: u64 = 0x0C;
    pub const CONFIG_MSIX_VECTOR: u64 = 0x10;
    pub const NUM_QUEUES: u64 = 0x12;
    pub const DEVICE_STATUS: u64 = 0x14;
    pub const CONFIG_GENERATION: u64 = 0x15;
    pub const QUEUE_SELECT: u64 = 0x16;
    pub const QUEUE_SIZE: u64 = 0x18;
    pub const QUEUE_MSIX_VECTOR: u64 = 0x1A;
    pub const QUEUE_ENABLE: u64 = 0x1C;
    pub const QUEUE_NOTIFY_OFF: u64 = 0x1E;
    pub const QUEUE_DESC: u64 = 0x20;
    pub const QUEUE_DRIVER: u64 = 0x28;
    pub const QUEUE_DEVICE: u64 = 0x30;
    /// Bytes of the structure this driver uses.
    pub const LEN: u64 = 0x38;
}

/// Device status bits (virtio 1.2, 2.1).
pub mod status {
    /// The guest noticed the device.
    pub const ACKNOWLEDGE: u8 = 1;
    /// The guest has a driver for it.
    pub const DRIVER: u8 = 2;
    /// The driver is ready.
    pub const DRIVER_OK: u8 = 4;
    /// Feature negotiation is complete.
    pub const FEATURES_OK: u8 = 8;
    /// The driver gave up on the device.
    pub const FAILED: u8 = 128;
}

/// Feature bits every device type shares (virtio 1.2, 6).
pub mod feature {
    /// The device is a virtio 1.x (modern) device.
    pub const VERSION_1: u64 = 1 << 32;
}

/// `config_msix_vector` / `queue_msix_vector` value for "no vector".
const NO_VECTOR: u16 = 0xFFFF;

/// Why a device could not be brought up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransportError {
    /// A configuration structure is missing, or its BAR is unusable.
    MissingStructure(&'static str),
    /// MSI-X could not be set up.
    Msix(MsixError),
    /// No free interrupt vector.
    NoVector,
    /// The device refused the features (FEATURES_OK did not stick) or
    /// lacks one this driver needs.
    Features,
    /// The device has no such queue, or refused its setup.
    Queue(u16),
    /// Memory for the queues ran out.
    NoMemory,
}

impl core::fmt::Display for TransportError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            TransportError::MissingStructure(what) => write!(f, "no usable {what}"),
            TransportError::Msix(e) => write!(f, "MSI-X: {e:?}"),
            TransportError::NoVector => write!(f, "no free interrupt vector"),
            TransportError::Features => write!(f, "feature negotiation failed"),
            TransportError::Queue(q) => write!(f, "queue {q} refused"),
            TransportError::NoMemory => write!(f, "out of memory for its queues"),
        }
    }
}

/// Where to write to notify a queue.
#[derive(Clone, Copy, Debug)]
pub struct Notifier {
    offset: u64,
    queue: u16,
}

/// A virtio device reached through the modern PCI interface.
pub struct Transport {
    common: MmioRegion,
    notify: MmioRegion,
    notify_multiplier: u32,
    device: Option<MmioRegion>,
    msix: Msix,
}

impl Transport {
    /// Finds the configuration structures of `function`, maps them and
    /// enables MSI-X (every entry masked), and resets the device.
    pub fn new(function: &mut Function) -> Result<Transport, TransportError> {
        let mut found: [Option<(u8, u32, u32)>; 5] = [None; 5];
        let mut notify_multiplier = 0;
        let cfg = function.config;
        for c in capabilities(&cfg).filter(|c| c.id == cap_id::VENDOR) {
            let kind = cfg.read8(c.offset + cap::CFG_TYPE);
            let slot = match found.get_mut(kind as usize) {
                Some(slot) if slot.is_none() => slot,
                _ => continue,
            };
            let bar = cfg.read8(c.offset + cap::BAR);
            *slot = Some((bar, cfg.read32(c.offset + cap::OFFSET), cfg.read32(c.offset + cap::LENGTH)));
            if kind == cfg_type::NOTIFY {
                notify_multiplier = cfg.read32(c.offset + cap::NOTIFY_OFF_MULTIPLIER);
            }
        }
        let mut map = |kind: u8, name: &'static str| -> Result<MmioRegion, TransportError> {
            let (bar, offset, len) = found[kind as usize].ok_or(TransportError::MissingStructure(name))?;
            let region = function.map_bar(bar as usize).ok_or(TransportError::MissingStructure(name))?;
            region.sub(offset as u64, len as u64).ok_or(TransportError::MissingStructure(name))
        };
        let common = map(cfg_type::COMMON, "common configuration")?;
        let notify = map(cfg_type::NOTIFY, "notification area")?;
        map(cfg_type::ISR, "ISR status")?;
        let device = map(cfg_type::DEVICE, "device configuration").ok();
        if common.size() < common::LEN {
            return Err(TransportError::MissingStructure("common configuration"));
        }
        let msix = Msix::enable(function).map_err(TransportError::Msix)?;
        function.enable_bus_master();
        let t = Transport { common, notify, notify_multiplier, device, msix };
        t.reset();
        Ok(t)
    }

    /// Resets the device (writes 0, waits until it reads back 0).
    pub fn reset(&self) {
        self.common.write::<u8>(common::DEVICE_STATUS, 0);
        while self.common.read::<u8>(common::DEVICE_STATUS) != 0 {
            core::hint::spin_loop();
        }
    }

    /// The device status.
    pub fn status(&self) -> u8 {
        self.common.read(common::DEVICE_STATUS)
    }

    fn add_status(&self, bits: u8) {
        let s = self.status();
        self.common.write::<u8>(common::DEVICE_STATUS, s | bits);
    }

    /// Says the driver is here (ACKNOWLEDGE, DRIVER), accepts the features
    /// in `wanted` that the device offers plus VERSION_1 (required), and
    /// checks that the device agrees (FEATURES_OK). Returns the accepted set.
    pub fn negotiate(&self, wanted: u64) -> Result<u64, TransportError> {
        self.add_status(status::ACKNOWLEDGE);
        self.add_status(status::DRIVER);
        let mut offered = 0u64;
        for half in 0..2u32 {
            self.common.write::<u32>(common::DEVICE_FEATURE_SELECT, half);
            offered |= (self.common.read::<u32>(common::DEVICE_FEATURE) as u64) << (32 * half);
        }
        if offered & feature::VERSION_1 == 0 {
            self.fail();
            return Err(TransportError::Features);
        }
        let accepted = offered & (wanted | feature::VERSION_1);
        for half in 0..2u32 {
            self.common.write::<u32>(common::DRIVER_FEATURE_SELECT, half);
            self.common.write::<u32>(common::DRIVER_FEATURE, (accepted >> (32 * half)) as u32);
        }
        self.add_status(status::FEATURES_OK);
        if self.status() & status::FEATURES_OK == 0 {
            self.fail();
            return Err(TransportError::Features);
        }
        Ok(accepted)
    }

    /// Number of MSI-X table entries the device has.
    pub fn msix_entries(&self) -> u16 {
        self.msix.entries()
    }

    /// Routes configuration-change interrupts through MSI-X entry `entry`
    /// to `target`.
    pub fn route_config_interrupt(&self, entry: u16, target: DeviceVector) -> Result<(), TransportError> {
        self.msix.route(entry, target).map_err(TransportError::Msix)?;
        self.common.write::<u16>(common::CONFIG_MSIX_VECTOR, entry);
        if self.common.read::<u16>(common::CONFIG_MSIX_VECTOR) == NO_VECTOR {
            return Err(TransportError::NoVector);
        }
        Ok(())
    }

    /// The largest size queue `index` may have (0: no such queue).
    fn max_queue_size(&self, index: u16) -> u16 {
        if index >= self.common.read::<u16>(common::NUM_QUEUES) {
            return 0;
        }
        self.common.write::<u16>(common::QUEUE_SELECT, index);
        self.common.read(common::QUEUE_SIZE)
    }

    /// The size to give queue `index`: the largest power of two (split
    /// rings need one) that the device allows, at most `at_most`; 0 if
    /// there is no such queue.
    pub fn queue_size(&self, index: u16, at_most: u16) -> u16 {
        match self.max_queue_size(index).min(at_most) {
            0 => 0,
            n => 1 << n.ilog2(),
        }
    }

    /// Gives queue `index` the rings of `vq`, routes its interrupts through
    /// MSI-X entry `entry` to `target`, and enables it.
    pub fn setup_queue(
        &self,
        index: u16,
        vq: &Virtqueue,
        entry: u16,
        target: DeviceVector,
    ) -> Result<Notifier, TransportError> {
        self.msix.route(entry, target).map_err(TransportError::Msix)?;
        self.common.write::<u16>(common::QUEUE_SELECT, index);
        self.common.write::<u16>(common::QUEUE_SIZE, vq.size());
        self.common.write::<u16>(common::QUEUE_MSIX_VECTOR, entry);
        if self.common.read::<u16>(common::QUEUE_MSIX_VECTOR) == NO_VECTOR {
            return Err(TransportError::Queue(index));
        }
        let (desc, driver, device) = vq.ring_addresses();
        // 64-bit fields as two 32-bit writes, low half first (as Linux's
        // vp_iowrite64_twopart): virtio 1.2, 4.1.3.1.
        for (field, value) in
            [(common::QUEUE_DESC, desc), (common::QUEUE_DRIVER, driver), (common::QUEUE_DEVICE, device)]
        {
            self.common.write::<u32>(field, value as u32);
            self.common.write::<u32>(field + 4, (value >> 32) as u32);
        }
        let off = self.common.read::<u16>(common::QUEUE_NOTIFY_OFF) as u64 * self.notify_multiplier as u64;
        if off + 2 > self.notify.size() {
            return Err(TransportError::Queue(index));
        }
        self.common.write::<u16>(common::QUEUE_ENABLE, 1);
        Ok(Notifier { offset: off, queue: index })
    }

    /// Tells the device the driver is ready (DRIVER_OK): the queues go live.
    pub fn driver_ok(&self) {
        self.add_status(status::DRIVER_OK);
    }

    /// Tells the device the driver gave up on it.
    pub fn fail(&self) {
        self.add_status(status::FAILED);
    }

    /// Tells the device that queue `n` has new buffers.
    pub fn notify(&self, n: Notifier) {
        self.notify.write::<u16>(n.offset, n.queue);
    }

    /// Reads the device-specific configuration with `read`, again until
    /// the configuration generation is the same before and after (so a
    /// multi-field read is consistent; virtio 1.2, 4.1.4.3.1). `None`
    /// without a device configuration structure.
    pub fn read_device_config<T>(&self, read: impl Fn(&MmioRegion) -> T) -> Option<T> {
        let device = self.device.as_ref()?;
        loop {
            let before = self.common.read::<u8>(common::CONFIG_GENERATION);
            let value = read(device);
            if self.common.read::<u8>(common::CONFIG_GENERATION) == before {
                return Some(value);
            }
        }
    }
}
