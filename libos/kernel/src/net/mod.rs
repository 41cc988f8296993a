//! Networking: TCP/IP (smoltcp) over the first virtio-net card, and the
//! apps' sockets.
//!
//! - [`stack`]: the interface, its address (DHCP or `net.ip=`), the poll
//!   thread driven by the card's interrupts and smoltcp's timers.
//! - [`socket`]: the table of the apps' sockets and their non-blocking
//!   operations, with Linux's semantics.

pub mod socket;
pub mod stack;

use libos_kcore::boot_options::BootOptions;

use crate::drivers::virtio::net;

/// How long the boot waits for a DHCP lease before it starts the app
/// (QEMU's user network answers within milliseconds).
const DHCP_WAIT_MS: u64 = 3000;

/// Starts the network on the first virtio-net card, if there is one, and
/// prints the address line of the boot report.
pub fn init(options: &BootOptions<'_>) {
    let Some(nic) = net::devices().first().copied() else { return };
    let opts = stack::Options { ip: options.net_ip, gw: options.net_gw, dns: options.net_dns };
    match stack::start(nic, &opts, DHCP_WAIT_MS) {
        Some(setup) => crate::println!("  net      {} {}", nic.name(), stack::Describe(&setup)),
        None => crate::println!("  net      {}: no memory for the network thread", nic.name()),
    }
}

/// Where `SIGPIPE` will be raised: a write to a connection that can no
/// longer send returns `EPIPE`, and Linux also sends the thread `SIGPIPE`
/// unless the call had `MSG_NOSIGNAL`. This kernel has no signals yet, so
/// every call behaves as with `MSG_NOSIGNAL` (the app sees `EPIPE` and
/// lives). When signals land, raise `SIGPIPE` here when `flags` lacks
/// `MSG_NOSIGNAL`.
pub fn sigpipe(flags: i32) {
    let _ = flags;
}
