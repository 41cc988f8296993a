//! smoltcp's `phy::Device` over a [`VirtioNet`]: the shape the network
//! stack drives the card through. `receive` hands out a received frame
//! (its buffer goes back to the device when smoltcp has read it) with a
//! transmit token for a reply; `transmit` hands out a free transmit slot.
//!
//! Neither ever waits: the stack polls with its lock held (interrupts
//! off), so a token owns its transmit slot from the start, and `receive`
//! leaves frames in the ring while no transmit slot is free (the poll
//! thread then waits for one, see [`VirtioNet::wait_for_activity`]).
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
    /// Set when `receive` found a frame but no transmit slot for a reply.
    starved: bool,
}

impl NetPhy {
    /// The device for `nic`.
    pub fn new(nic: &'static VirtioNet) -> NetPhy {
        NetPhy { nic, starved: false }
    }

    /// The card.
    pub fn nic(&self) -> &'static VirtioNet {
        self.nic
    }

    /// Whether a received frame waited for a transmit slot since the last
    /// call (the poll loop then asks for transmit interrupts).
    pub fn take_starved(&mut self) -> bool {
        core::mem::take(&mut self.starved)
    }
}

/// A received frame.
pub struct PhyRx<'a>(RxFrame<'a>);

/// A transmit slot.
pub struct PhyTx<'a>(TxBuffer<'a>);

impl phy::Device for NetPhy {
    type RxToken<'a> = PhyRx<'a>;
    type TxToken<'a> = PhyTx<'a>;

    fn receive(&mut self, _now: Instant) -> Option<(PhyRx<'_>, PhyTx<'_>)> {
        // The slot first: a frame taken without one could not be answered.
        let Some(slot) = self.nic.transmit() else {
            self.starved |= self.nic.frame_waiting();
            return None;
        };
        let frame = self.nic.receive()?;
        Some((PhyRx(frame), PhyTx(slot)))
    }

    fn transmit(&mut self, _now: Instant) -> Option<PhyTx<'_>> {
        let slot = self.nic.transmit()?;
        Some(PhyTx(slot))
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
        self.0.send(len, f)
    }
}
