//! smoltcp's `phy::Device` over a [`VirtioNet`]: the shape the network
//! stack drives the card through. `receive` hands out a received frame
//! (its buffer goes back to the device when smoltcp has read it) with a
//! transmit token for a reply; `transmit` hands out a free transmit slot.
//!
//! The stack's thread polls the interface, then sleeps in
//! [`VirtioNet::wait_for_activity`] until a frame arrives or the
//! interface's next timer (`Interface::poll_delay`) is due.

use smoltcp::phy::{self, DeviceCapabilities, Medium};
use smoltcp::time::Instant;

use super::net::{MAX_FRAME, RxFrame, TxBuffer, VirtioNet};

/// A virtio network card as smoltcp sees it.
pub struct NetPhy {
    nic: &'static VirtioNet,
}

impl NetPhy {
    /// The device for `nic`.
    pub fn new(nic: &'static VirtioNet) -> NetPhy {
        NetPhy { nic }
    }
}

/// A received frame.
pub struct PhyRx<'a>(RxFrame<'a>);

/// A transmit slot, taken when the token is made (`transmit`) or when it
/// is used (the reply token of `receive`).
pub struct PhyTx<'a> {
    nic: &'a VirtioNet,
    slot: Option<TxBuffer<'a>>,
}

impl phy::Device for NetPhy {
    type RxToken<'a> = PhyRx<'a>;
    type TxToken<'a> = PhyTx<'a>;

    fn receive(&mut self, _now: Instant) -> Option<(PhyRx<'_>, PhyTx<'_>)> {
        let frame = self.nic.receive()?;
        Some((PhyRx(frame), PhyTx { nic: self.nic, slot: None }))
    }

    fn transmit(&mut self, _now: Instant) -> Option<PhyTx<'_>> {
        let slot = self.nic.transmit()?;
        Some(PhyTx { nic: self.nic, slot: Some(slot) })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        // For Ethernet, smoltcp's MTU counts the 14-byte header.
        caps.max_transmission_unit = MAX_FRAME;
        caps
    }
}

impl phy::RxToken for PhyRx<'_> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(self.0.data())
    }
}

impl phy::TxToken for PhyTx<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let slot = match self.slot {
            Some(s) => s,
            // A reply: wait for a slot (the device hands them back as it
            // sends; a transmit interrupt wakes us).
            None => loop {
                if let Some(s) = self.nic.transmit() {
                    break s;
                }
                self.nic.wait_for_transmit_slot(None);
            },
        };
        slot.send(len, f)
    }
}
