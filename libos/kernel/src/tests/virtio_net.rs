//! The virtio-net device that `cargo xtask test` attaches to QEMU boots,
//! on QEMU's user-mode network (the gateway 10.0.2.2 answers ARP): a frame
//! out, its reply in through the receive interrupt, and more frames than
//! transmit slots (reclaim). Skipped under Bochs; a missing device fails
//! under QEMU.

use libos_macros::kernel_test;

use crate::drivers::virtio::net::{self, VirtioNet};
use crate::testing::skip;
use crate::time;

/// Our address on QEMU's user network (what its DHCP server would give).
const GUEST_IP: [u8; 4] = [10, 0, 2, 15];
/// QEMU's user-network gateway.
const GATEWAY_IP: [u8; 4] = [10, 0, 2, 2];

fn test_nic() -> &'static VirtioNet {
    match net::devices().first() {
        Some(n) => n,
        None if !crate::boot::info().loader_name.starts_with("qemu") => {
            skip("no virtio network device (not under QEMU)")
        }
        None => panic!("no virtio-net device, although the test runner attaches one to every QEMU boot"),
    }
}

/// An ARP request (RFC 826) from `mac`/`GUEST_IP` for `target`.
fn arp_request(mac: [u8; 6], target: [u8; 4]) -> [u8; 42] {
    let mut f = [0u8; 42];
    f[0..6].fill(0xFF);
    f[6..12].copy_from_slice(&mac);
    f[12..14].copy_from_slice(&[0x08, 0x06]); // ARP
    f[14..22].copy_from_slice(&[0, 1, 0x08, 0x00, 6, 4, 0, 1]); // Ethernet, IPv4, request
    f[22..28].copy_from_slice(&mac);
    f[28..32].copy_from_slice(&GUEST_IP);
    f[38..42].copy_from_slice(&target);
    f
}

/// Whether `frame` is an ARP reply from `from` to `mac`, and the sender's MAC.
fn arp_reply_from(frame: &[u8], mac: [u8; 6], from: [u8; 4]) -> Option<[u8; 6]> {
    let ok = frame.len() >= 42
        && frame[0..6] == mac
        && frame[12..14] == [0x08, 0x06]
        && frame[20..22] == [0, 2]
        && frame[28..32] == from
        && frame[32..38] == mac;
    ok.then(|| frame[22..28].try_into().expect("6 bytes"))
}

fn send(nic: &VirtioNet, frame: &[u8]) {
    let slot = match nic.transmit() {
        Some(s) => s,
        None => {
            assert!(nic.wait_for_transmit_slot(Some(time::deadline_after(5_000_000_000))), "no transmit slot in 5 s");
            nic.transmit().expect("a slot after waiting for one")
        }
    };
    slot.send(frame.len(), |buf| buf.copy_from_slice(frame));
}

/// Waits up to `ms` for an ARP reply from the gateway, dropping other
/// frames; returns the gateway's MAC.
fn await_gateway_reply(nic: &VirtioNet, ms: u64) -> Option<[u8; 6]> {
    let deadline = time::deadline_after(ms * 1_000_000);
    loop {
        while let Some(frame) = nic.receive() {
            if let Some(m) = arp_reply_from(frame.data(), nic.mac(), GATEWAY_IP) {
                return Some(m);
            }
        }
        if !nic.wait_for_frame(Some(deadline)) {
            return None;
        }
    }
}

#[kernel_test]
fn the_network_device_has_a_mac_and_its_link_is_up() {
    let nic = test_nic();
    let mac = nic.mac();
    assert_ne!(mac, [0; 6]);
    assert_eq!(mac[0] & 1, 0, "a multicast MAC {mac:02x?}");
    assert!(nic.link_up());
}

#[kernel_test]
fn the_gateway_answers_an_arp_request_through_the_receive_interrupt() {
    let nic = test_nic();
    while nic.receive().is_some() {}
    let rx_vector = nic.vectors()[1].vector;
    let irqs = crate::drivers::irq::count(rx_vector);
    let (received, sent) = nic.frame_counts();
    let mut gateway = None;
    for _ in 0..3 {
        send(nic, &arp_request(nic.mac(), GATEWAY_IP));
        gateway = await_gateway_reply(nic, 2000);
        if gateway.is_some() {
            break;
        }
    }
    let gateway = gateway.expect("no ARP reply from 10.0.2.2 in 3 tries");
    assert_eq!(gateway[0] & 1, 0, "the gateway's MAC {gateway:02x?} is multicast");
    // The interrupt may go to another CPU, which may not have counted it
    // yet when this one found the frame in the ring: give it a second.
    let deadline = time::deadline_after(1_000_000_000);
    while crate::drivers::irq::count(rx_vector) == irqs && time::rdtsc() < deadline {
        let _ = crate::sched::sleep::sleep_ns(1_000_000);
    }
    assert!(crate::drivers::irq::count(rx_vector) > irqs, "the reply came without a receive interrupt");
    let (received2, sent2) = nic.frame_counts();
    assert!(received2 > received && sent2 > sent);
}

#[kernel_test]
fn more_frames_than_transmit_slots_go_out_and_come_back() {
    let nic = test_nic();
    while nic.receive().is_some() {}
    // 300 requests through 128 transmit slots: the slots must be reclaimed.
    // The gateway answers each; the receive ring (128 buffers) overflows
    // while nobody reads it, and QEMU drops what does not fit.
    let (received, sent) = nic.frame_counts();
    let [_, rx_vector, tx_vector] = nic.vectors();
    let irqs = |v: crate::drivers::irq::DeviceVector| crate::drivers::irq::count(v.vector);
    let (rx_irqs, tx_irqs) = (irqs(rx_vector), irqs(tx_vector));
    for _ in 0..300 {
        send(nic, &arp_request(nic.mac(), GATEWAY_IP));
    }
    assert_eq!(nic.frame_counts().1 - sent, 300);
    let mut replies = 0;
    let deadline = time::deadline_after(3_000_000_000);
    while replies < 100 {
        while let Some(frame) = nic.receive() {
            replies += usize::from(arp_reply_from(frame.data(), nic.mac(), GATEWAY_IP).is_some());
        }
        if replies >= 100 || !nic.wait_for_frame(Some(deadline)) {
            break;
        }
    }
    assert!(replies >= 100, "only {replies} replies to 300 requests");
    crate::println!(
        "[virtio-net] 300 frames sent, {} received: {} receive and {} transmit interrupts",
        nic.frame_counts().0 - received,
        irqs(rx_vector) - rx_irqs,
        irqs(tx_vector) - tx_irqs
    );
    // Every receive buffer went back: the ring still delivers.
    send(nic, &arp_request(nic.mac(), GATEWAY_IP));
    assert!(await_gateway_reply(nic, 3000).is_some(), "no reply after the burst");
}

#[kernel_test]
fn smoltcp_gets_an_address_by_dhcp_through_the_device() {
    use alloc::vec;
    use smoltcp::iface::{Config, Interface, SocketSet};
    use smoltcp::socket::dhcpv4;
    use smoltcp::time::{Duration, Instant};
    use smoltcp::wire::{EthernetAddress, HardwareAddress, IpCidr, Ipv4Address, Ipv4Cidr};

    use crate::drivers::virtio::net_phy::NetPhy;

    // The interface holds smoltcp's two 64 KiB fragmentation buffers,
    // built on the stack: more than a kernel test's (see net/stack.rs).
    let built = crate::arch::x86_64::stack_switch::run_on_heap_stack(1024 * 1024, || {
        let nic = test_nic();
        while nic.receive().is_some() {}
        let now = || Instant::from_micros((time::monotonic_ns() / 1000) as i64);
        let mut phy = NetPhy::new(nic);
        let mut config = Config::new(HardwareAddress::Ethernet(EthernetAddress(nic.mac())));
        config.random_seed = crate::random::next_u64();
        let mut iface = Interface::new(config, &mut phy, now());
        let mut sockets = SocketSet::new(vec![]);
        let dhcp = sockets.add(dhcpv4::Socket::new());
        let give_up = now() + Duration::from_secs(10);
        let lease = loop {
            iface.poll(now(), &mut phy, &mut sockets);
            if let Some(dhcpv4::Event::Configured(c)) = sockets.get_mut::<dhcpv4::Socket>(dhcp).poll() {
                break c;
            }
            let t = now();
            assert!(t < give_up, "no DHCP lease from QEMU's user network in 10 s");
            let wait = iface.poll_delay(t, &sockets).unwrap_or(Duration::from_secs(1)).min(give_up - t);
            nic.wait_for_activity(false, Some(time::deadline_after(wait.total_micros() * 1000)));
        };
        assert_eq!(lease.address, Ipv4Cidr::new(Ipv4Address::new(10, 0, 2, 15), 24));
        assert_eq!(lease.router, Some(Ipv4Address::new(10, 0, 2, 2)));
        iface.update_ip_addrs(|a| a.push(IpCidr::Ipv4(lease.address)).expect("room for an address"));
    });
    assert!(built.is_some(), "no heap for the build stack");
}
