//! The guest's network card and QEMU's side of it: `--net user` (QEMU's
//! user-mode network, slirp: the guest is 10.0.2.15 behind a NAT whose
//! gateway 10.0.2.2 is the host, DHCP and DNS included) with
//! `--forward HOSTPORT:GUESTPORT` (host TCP and UDP ports forwarded to the
//! guest), or no card.
//!
//! A tap device in a network namespace of the xtask's (`--net tap`, root
//! only) is [`super::tap`].

use std::fmt;
use std::str::FromStr;

/// A forwarded port: connections (TCP) or datagrams (UDP) to
/// `127.0.0.1:host` reach the guest's `guest` port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Forward {
    /// The host's port (on 127.0.0.1).
    pub host: u16,
    /// The guest's port.
    pub guest: u16,
}

impl FromStr for Forward {
    type Err = String;

    /// `HOSTPORT:GUESTPORT`, both 1..=65535.
    fn from_str(s: &str) -> Result<Forward, String> {
        let (h, g) = s.split_once(':').ok_or_else(|| format!("expected HOSTPORT:GUESTPORT, got `{s}`"))?;
        let port = |p: &str| match p.parse::<u16>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(format!("`{p}` is not a port (1..65535)")),
        };
        Ok(Forward { host: port(h)?, guest: port(g)? })
    }
}

impl fmt::Display for Forward {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.host, self.guest)
    }
}

/// How the guest is networked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Network {
    /// Ports forwarded from the host (TCP and UDP each).
    pub forwards: Vec<Forward>,
}

impl Network {
    /// QEMU's arguments for a virtio-net card on the user-mode network
    /// with the forwards.
    pub fn qemu_args(&self) -> Vec<String> {
        let mut netdev = "user,id=net0".to_string();
        for f in &self.forwards {
            for proto in ["tcp", "udp"] {
                netdev.push_str(&format!(",hostfwd={proto}:127.0.0.1:{}-:{}", f.host, f.guest));
            }
        }
        ["-netdev", &netdev, "-device", "virtio-net-pci,netdev=net0"].map(str::to_string).to_vec()
    }

    /// The network that [`Network::qemu_args`] gave `args` (`None` if they
    /// attach no user-mode network card).
    pub fn from_qemu_args(args: &[String]) -> Option<Network> {
        let netdev = args.iter().find(|a| a.starts_with("user,id=net0"))?;
        let mut forwards = Vec::new();
        for part in netdev.split(',') {
            // hostfwd=tcp:127.0.0.1:HOST-:GUEST (each port twice, TCP and UDP).
            let Some(rule) = part.strip_prefix("hostfwd=tcp:127.0.0.1:") else { continue };
            let (host, guest) = rule.split_once("-:")?;
            forwards.push(Forward { host: host.parse().ok()?, guest: guest.parse().ok()? });
        }
        Some(Network { forwards })
    }

    /// The host port forwarded to `guest`, if any.
    pub fn host_port(&self, guest: u16) -> Option<u16> {
        self.forwards.iter().find(|f| f.guest == guest).map(|f| f.host)
    }
}

/// Where [`free_port`] looks: below Linux's default ephemeral range
/// (`net.ipv4.ip_local_port_range`, 32768-60999), so that no socket bound
/// to port 0 (the host side's own, or another program's) can be given the
/// port between our check and QEMU's bind: that race made QEMU fail with
/// "Could not set up host forwarding rule" when boots ran side by side.
const FREE_PORTS: core::ops::Range<u16> = 20000..32768;

/// A TCP and UDP port on 127.0.0.1 that is free now, from [`FREE_PORTS`].
/// Successive calls in one process never return the same port (they walk
/// the range from a start that differs between processes), so the ports
/// of one boot, and of boots side by side, differ.
pub fn free_port() -> std::io::Result<u16> {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(u32::MAX);
    let span = u32::from(FREE_PORTS.end - FREE_PORTS.start);
    let _ = NEXT.compare_exchange(
        u32::MAX,
        std::process::id().wrapping_mul(2654435761) % span,
        Ordering::Relaxed,
        Ordering::Relaxed,
    );
    for _ in 0..span {
        let i = NEXT.fetch_add(1, Ordering::Relaxed) % span;
        let port = FREE_PORTS.start + i as u16;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok()
            && std::net::UdpSocket::bind(("127.0.0.1", port)).is_ok()
        {
            return Ok(port);
        }
    }
    Err(std::io::Error::new(std::io::ErrorKind::AddrInUse, "no free port in 20000..32768"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_ports_differ_and_avoid_the_ephemeral_range() {
        let ports: Vec<u16> = (0..50).map(|_| free_port().unwrap()).collect();
        for (i, p) in ports.iter().enumerate() {
            assert!(FREE_PORTS.contains(p), "{p}");
            assert!(!ports[..i].contains(p), "{p} given twice");
        }
    }

    #[test]
    fn forwards_parse() {
        assert_eq!("8080:80".parse::<Forward>(), Ok(Forward { host: 8080, guest: 80 }));
        for bad in ["8080", "0:80", "8080:0", "a:80", "70000:80", ":80"] {
            assert!(bad.parse::<Forward>().is_err(), "{bad}");
        }
    }

    #[test]
    fn qemu_arguments() {
        let n = Network { forwards: vec![Forward { host: 8080, guest: 80 }] };
        assert_eq!(
            n.qemu_args(),
            [
                "-netdev",
                "user,id=net0,hostfwd=tcp:127.0.0.1:8080-:80,hostfwd=udp:127.0.0.1:8080-:80",
                "-device",
                "virtio-net-pci,netdev=net0"
            ]
        );
        assert_eq!(n.host_port(80), Some(8080));
        assert_eq!(Network::from_qemu_args(&n.qemu_args()), Some(n.clone()));
        assert_eq!(n.host_port(81), None);
    }
}
