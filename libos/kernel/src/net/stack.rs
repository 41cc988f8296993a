//! The TCP/IP stack: one smoltcp `Interface` over the first virtio-net
//! card, its sockets, and the thread that polls it.
//!
//! # Locking
//!
//! Everything lives in one [`Stack`] behind one spinlock ([`with`]): the
//! interface, the card's `phy::Device`, smoltcp's socket set and the
//! table of the apps' sockets ([`super::socket::Table`]). Socket calls take
//! it, do their work on smoltcp's buffers (data crosses in kernel buffers:
//! no user copy ever happens with the lock held), and poll the interface
//! before letting go so that what they queued leaves at once.
//!
//! # Who polls, and when
//!
//! The poll thread ([`poll_thread`]) polls, then sleeps in
//! [`VirtioNet::wait_for_activity`] until the card's receive interrupt, a
//! free transmit slot (only when a received frame waits for one), or the
//! interface's next timer (`Interface::poll_delay`: retransmissions,
//! delayed ACKs, DHCP renewal). Idle, it sleeps without a deadline. A
//! socket call that polls and finds the interface's next timer earlier
//! than the one the thread sleeps for kicks it ([`VirtioNet::kick`]).
//!
//! After every poll, each app socket's readiness ([`super::socket`]) is
//! computed again; a socket whose readiness changed has its wait queue
//! woken (blocked calls, and later poll/epoll, wait there).

use alloc::boxed::Box;
use alloc::vec;
use core::sync::atomic::{AtomicU64, Ordering};

use smoltcp::iface::{Config, Interface, SocketHandle, SocketSet};
use smoltcp::socket::dhcpv4;
use smoltcp::time::Instant;
use smoltcp::wire::{EthernetAddress, HardwareAddress, IpCidr, Ipv4Address, Ipv4Cidr, Ipv6Address};

use crate::drivers::virtio::net::VirtioNet;
use crate::drivers::virtio::net_phy::NetPhy;
use crate::sched::wait::WaitQueue;
use crate::sync::{InitCell, SpinLock};
use crate::time;

use super::socket::Table;

/// How the interface got (or gets) its IPv4 address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddressSource {
    /// `net.ip=` on the command line.
    Static,
    /// DHCP.
    Dhcp,
}

/// The interface's IPv4 configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv4Setup {
    /// Address and prefix (none until DHCP answers).
    pub address: Option<Ipv4Cidr>,
    /// The default router.
    pub router: Option<Ipv4Address>,
    /// The name server.
    pub dns: Option<Ipv4Address>,
    /// Where they came from.
    pub source: AddressSource,
}

/// The stack.
pub struct Stack {
    /// smoltcp's interface.
    pub iface: Interface,
    /// The card.
    pub phy: NetPhy,
    /// smoltcp's sockets.
    pub sockets: SocketSet<'static>,
    /// The apps' sockets.
    pub table: Table,
    dhcp: Option<SocketHandle>,
    /// The IPv4 configuration.
    pub setup: Ipv4Setup,
}

/// Boxed: the interface holds smoltcp's two 64 KiB fragmentation buffers
/// (see [`start`]).
static STACK: InitCell<SpinLock<Box<Stack>>> = InitCell::new();

/// The heap stack [`start`] builds the interface on: `Interface::new`
/// returns its two 64 KiB fragmentation buffers by value (built in its
/// frame, moved into ours, then into the box), far more than the 64 KiB
/// boot stack.
const BUILD_STACK_BYTES: usize = 1024 * 1024;

/// While the boot waits for a DHCP lease: the TSC deadline of that wait
/// (0 once over; `u64::MAX` before it starts).
static BOOT_WAIT_DEADLINE: AtomicU64 = AtomicU64::new(u64::MAX);
/// The boot waits here for the lease.
static BOOT_WAIT: WaitQueue = WaitQueue::new();

/// The TSC deadline the poll thread sleeps until (`u64::MAX`: none).
static POLL_THREAD_DEADLINE: AtomicU64 = AtomicU64::new(u64::MAX);

/// Now, as smoltcp counts time.
pub fn now() -> Instant {
    Instant::from_micros((time::monotonic_ns() / 1000) as i64)
}

/// Runs `f` on the stack with its lock held; `None` when there is no network.
pub fn with<R>(f: impl FnOnce(&mut Stack) -> R) -> Option<R> {
    let stack = STACK.get()?;
    let mut s = stack.lock();
    Some(f(&mut s))
}

impl Stack {
    /// Polls the interface, then updates every socket's readiness. Returns
    /// the TSC deadline of the interface's next timer (`None`: no timer).
    pub fn poll(&mut self) -> Option<u64> {
        let t = now();
        self.iface.poll(t, &mut self.phy, &mut self.sockets);
        if let Some(h) = self.dhcp {
            self.dhcp_event(h);
        }
        self.table.update(&mut self.sockets);
        self.iface.poll_delay(now(), &self.sockets).map(|d| time::deadline_after(d.total_micros() * 1000))
    }

    /// Polls on a socket call's behalf, and kicks the poll thread if the
    /// interface now has a timer earlier than the thread's.
    pub fn poll_from_call(&mut self) {
        if let Some(deadline) = self.poll()
            && deadline < POLL_THREAD_DEADLINE.load(Ordering::Acquire)
        {
            self.phy.nic().kick();
        }
    }

    fn dhcp_event(&mut self, h: SocketHandle) {
        let event = match self.sockets.get_mut::<dhcpv4::Socket>(h).poll() {
            Some(dhcpv4::Event::Configured(c)) => Some(Some((c.address, c.router, c.dns_servers.first().copied()))),
            Some(dhcpv4::Event::Deconfigured) => Some(None),
            None => None,
        };
        match event {
            Some(Some((address, router, dns))) => {
                self.set_ipv4(Some(address), router);
                self.setup.dns = dns;
                // The boot report prints the first lease; later ones here.
                if BOOT_WAIT_DEADLINE.load(Ordering::Acquire) == 0 {
                    crate::println!("[net] {}", Describe(&self.setup));
                }
            }
            Some(None) => {
                // smoltcp reports this once at start too, with nothing to lose.
                if self.setup.address.is_some() {
                    crate::println!("[net] the DHCP lease is gone: no IPv4 address");
                }
                self.set_ipv4(None, None);
                self.setup.dns = None;
            }
            None => {}
        }
    }

    fn set_ipv4(&mut self, address: Option<Ipv4Cidr>, router: Option<Ipv4Address>) {
        self.iface.update_ip_addrs(|addrs| {
            addrs.retain(|a| !matches!(a, IpCidr::Ipv4(_)));
            if let Some(a) = address {
                let _ = addrs.push(IpCidr::Ipv4(a));
            }
        });
        match router {
            Some(r) => {
                let _ = self.iface.routes_mut().add_default_ipv4_route(r);
            }
            None => {
                self.iface.routes_mut().remove_default_ipv4_route();
            }
        }
        self.setup.address = address;
        self.setup.router = router;
    }
}

/// `10.0.2.15/24, router 10.0.2.2, DNS 10.0.2.3 (DHCP)`.
pub struct Describe<'a>(pub &'a Ipv4Setup);

impl core::fmt::Display for Describe<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let s = self.0;
        match s.address {
            Some(a) => write!(f, "address {a}")?,
            None => write!(f, "no address yet")?,
        }
        if let Some(r) = s.router {
            write!(f, ", router {r}")?;
        }
        if let Some(d) = s.dns {
            write!(f, ", DNS {d}")?;
        }
        write!(f, " ({})", if s.source == AddressSource::Dhcp { "DHCP" } else { "net.ip=" })
    }
}

/// The IPv6 link-local address of `mac` (RFC 4291 appendix A: EUI-64 with
/// the universal/local bit flipped).
fn link_local(mac: [u8; 6]) -> Ipv6Address {
    let m = mac;
    Ipv6Address::new(
        0xfe80,
        0,
        0,
        0,
        u16::from_be_bytes([m[0] ^ 2, m[1]]),
        u16::from_be_bytes([m[2], 0xff]),
        u16::from_be_bytes([0xfe, m[3]]),
        u16::from_be_bytes([m[4], m[5]]),
    )
}

/// What the command line asked for.
pub struct Options {
    /// `net.ip=`.
    pub ip: Option<libos_kcore::net_config::Ipv4Cidr>,
    /// `net.gw=`.
    pub gw: Option<[u8; 4]>,
    /// `net.dns=`.
    pub dns: Option<[u8; 4]>,
}

/// Starts the stack on `nic`: the interface, a static address or DHCP,
/// and the poll thread. Waits up to `dhcp_wait_ms` for a DHCP lease, so
/// that an app starts with an address. Returns the configuration so far.
pub fn start(nic: &'static VirtioNet, options: &Options, dhcp_wait_ms: u64) -> Option<Ipv4Setup> {
    let source = crate::arch::x86_64::stack_switch::run_on_heap_stack(BUILD_STACK_BYTES, || {
        let mut phy = NetPhy::new(nic);
        let mut config = Config::new(HardwareAddress::Ethernet(EthernetAddress(nic.mac())));
        config.random_seed = crate::random::next_u64();
        let mut iface = Interface::new(config, &mut phy, now());
        iface.update_ip_addrs(|a| {
            let _ = a.push(IpCidr::new(link_local(nic.mac()).into(), 64));
        });
        let mut sockets = SocketSet::new(vec![]);
        let source = if options.ip.is_some() { AddressSource::Static } else { AddressSource::Dhcp };
        let dhcp = (source == AddressSource::Dhcp).then(|| sockets.add(dhcpv4::Socket::new()));
        let mut stack = Stack {
            iface,
            phy,
            sockets,
            table: Table::new(),
            dhcp,
            setup: Ipv4Setup { address: None, router: None, dns: options.dns.map(Ipv4Address::from), source },
        };
        // Socket buffers may take a quarter of the memory free now; beyond
        // that sockets get ENOBUFS.
        stack.table.set_buffer_limit((crate::mm::frame::stats().free * libos_kcore::PAGE_SIZE / 4) as usize);
        if let Some(ip) = options.ip {
            stack.set_ipv4(
                Some(Ipv4Cidr::new(Ipv4Address::from(ip.address), ip.prefix)),
                options.gw.map(Ipv4Address::from),
            );
        }
        STACK.set(SpinLock::new(Box::new(stack)));
        source
    })?;
    let task = crate::sched::Task::new_kernel(poll_thread, 0, 0, false)?;
    crate::sched::spawn(alloc::sync::Arc::new(task));
    if source == AddressSource::Dhcp {
        // The poll thread wakes us when the lease comes or at the deadline
        // (a queue rather than a sleep: the boot context's timed sleeps
        // are not woken before the first app runs).
        BOOT_WAIT_DEADLINE.store(time::deadline_after(dhcp_wait_ms * 1_000_000), Ordering::Release);
        BOOT_WAIT.wait_until(|| BOOT_WAIT_DEADLINE.load(Ordering::Acquire) == 0);
    }
    with(|s| s.setup)
}

/// The poll thread (see the module documentation).
extern "C" fn poll_thread(_: u64) -> ! {
    let stack = STACK.expect("the stack starts before its thread");
    let nic = stack.lock().phy.nic();
    loop {
        let (deadline, starved) = {
            let mut s = stack.lock();
            let mut d = s.poll();
            #[cfg(feature = "testing")]
            if let Some(next) = super::dump::maybe_dump(&s) {
                d = Some(d.map_or(next, |d| d.min(next)));
            }
            let starved = s.phy.take_starved();
            let boot_wait = BOOT_WAIT_DEADLINE.load(Ordering::Acquire);
            if boot_wait != 0 && boot_wait != u64::MAX {
                if s.setup.address.is_some() || time::rdtsc() >= boot_wait {
                    BOOT_WAIT_DEADLINE.store(0, Ordering::Release);
                    BOOT_WAIT.wake_all();
                } else {
                    d = Some(d.map_or(boot_wait, |d| d.min(boot_wait)));
                }
            }
            POLL_THREAD_DEADLINE.store(d.unwrap_or(u64::MAX), Ordering::Release);
            (d, starved)
        };
        nic.wait_for_activity(starved, deadline);
    }
}
