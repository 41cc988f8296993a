//! virtio devices on PCI: the transport, split virtqueues, and the block
//! and network drivers.

pub mod blk;
pub mod net;
pub mod net_phy;
pub mod queue;
pub mod transport;

use libos_kcore::pci::Address;

use crate::drivers::pci::Function;

/// The PCI vendor id of virtio devices.
pub const VENDOR: u16 = 0x1AF4;

/// virtio device types (virtio 1.2, section 5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceType {
    /// A network card (1).
    Net,
    /// A disk (2).
    Block,
    /// Any other type.
    Other(u16),
}

/// The device type of a virtio PCI function: modern ids are 0x1040 +
/// type; transitional ids 0x1000..0x103F carry the type in the subsystem
/// id (virtio 1.2, 4.1.2.1).
pub fn device_type(function: &Function) -> Option<DeviceType> {
    if function.vendor != VENDOR {
        return None;
    }
    let kind = match function.device {
        0x1000..=0x103F => function.subsystem,
        0x1040..=0x107F => function.device - 0x1040,
        _ => return None,
    };
    Some(match kind {
        1 => DeviceType::Net,
        2 => DeviceType::Block,
        other => DeviceType::Other(other),
    })
}

/// What probing a function gave.
pub enum Probed {
    /// A disk.
    Block(&'static blk::VirtioBlk),
    /// A network device.
    Net(&'static net::VirtioNet),
    /// A virtio device of a type without a driver here.
    Unsupported(Address, u16),
    /// A device whose bring-up failed, and why.
    Failed(Address, &'static str, alloc::string::String),
}
