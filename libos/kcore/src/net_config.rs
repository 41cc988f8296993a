//! The network options of the kernel command line: `net.ip=A.B.C.D/N`
//! (a static address and prefix length; without it the kernel asks DHCP),
//! `net.gw=A.B.C.D` (the default router) and `net.dns=A.B.C.D` (the name
//! server written to `/etc/resolv.conf`).

/// An IPv4 address and prefix length (`10.0.2.15/24`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv4Cidr {
    /// The address.
    pub address: [u8; 4],
    /// The prefix length, 0..=32.
    pub prefix: u8,
}

/// Parses a dotted-quad IPv4 address (`10.0.2.2`): four decimal numbers
/// 0..=255, no leading `+`, no empty parts.
pub fn parse_ipv4(text: &str) -> Option<[u8; 4]> {
    let mut out = [0u8; 4];
    let mut parts = text.split('.');
    for byte in out.iter_mut() {
        let p = parts.next()?;
        if p.is_empty() || p.len() > 3 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        *byte = p.parse().ok()?;
    }
    parts.next().is_none().then_some(out)
}

/// Parses `A.B.C.D/N` (`N` 0..=32); a bare address means `/24`, the size
/// of QEMU's user network.
pub fn parse_ipv4_cidr(text: &str) -> Option<Ipv4Cidr> {
    let (addr, prefix) = match text.split_once('/') {
        Some((a, p)) => {
            if p.is_empty() || p.len() > 2 || !p.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            (a, p.parse::<u8>().ok().filter(|&n| n <= 32)?)
        }
        None => (text, 24),
    };
    Some(Ipv4Cidr { address: parse_ipv4(addr)?, prefix })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        assert_eq!(parse_ipv4("10.0.2.15"), Some([10, 0, 2, 15]));
        assert_eq!(parse_ipv4("255.255.255.255"), Some([255; 4]));
        for bad in
            ["", "10.0.2", "10.0.2.15.1", "10..2.15", "256.0.0.1", "1.2.3.+4", "a.b.c.d", "1.2.3.4 ", "0001.2.3.4"]
        {
            assert_eq!(parse_ipv4(bad), None, "{bad}");
        }
    }

    #[test]
    fn prefixes() {
        assert_eq!(parse_ipv4_cidr("10.0.2.15/24"), Some(Ipv4Cidr { address: [10, 0, 2, 15], prefix: 24 }));
        assert_eq!(parse_ipv4_cidr("192.168.1.2/32"), Some(Ipv4Cidr { address: [192, 168, 1, 2], prefix: 32 }));
        assert_eq!(parse_ipv4_cidr("10.0.2.15"), Some(Ipv4Cidr { address: [10, 0, 2, 15], prefix: 24 }));
        for bad in ["10.0.2.15/33", "10.0.2.15/", "10.0.2.15/-1", "10.0.2.15/100", "/24", "x/24"] {
            assert_eq!(parse_ipv4_cidr(bad), None, "{bad}");
        }
    }
}
