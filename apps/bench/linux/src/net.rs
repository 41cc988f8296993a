//! The guest's network for the `http` mode: Debian's cloud kernel builds
//! virtio-net and virtio's PCI transport as modules, so `/init` loads
//! them (the xtask puts them in the initramfs, numbered in load order,
//! under `/modules`, loaded by [`crate::modules::load_all`]), then gives `eth0` its address and brings it up
//! with the ioctls `ip`/`ifconfig` use (`net/ipv4/devinet.c`,
//! `devinet_ioctl`: `SIOCSIFADDR`, `SIOCSIFNETMASK`; `net/core/dev_ioctl.c`:
//! `SIOCSIFFLAGS`). No route is added: the host reaches the guest from the
//! interface's own subnet (QEMU's user network forwards from 10.0.2.2).

use std::ffi::CString;
use std::net::Ipv4Addr;

/// The interface virtio-net's first card gets (no udev renames it).
pub const INTERFACE: &str = "eth0";

/// `a.b.c.d/prefix`.
pub fn parse_cidr(text: &str) -> Result<(Ipv4Addr, u8), String> {
    let (ip, prefix) = text.split_once('/').ok_or_else(|| format!("{text:?}: expected a.b.c.d/prefix"))?;
    let ip: Ipv4Addr = ip.parse().map_err(|_| format!("{ip:?} is not an IPv4 address"))?;
    let prefix: u8 = prefix.parse().ok().filter(|p| *p <= 32).ok_or_else(|| format!("{prefix:?} is not a prefix"))?;
    Ok((ip, prefix))
}

/// The netmask of a prefix length.
pub fn netmask(prefix: u8) -> Ipv4Addr {
    Ipv4Addr::from(if prefix == 0 { 0 } else { u32::MAX << (32 - u32::from(prefix)) })
}

/// A `sockaddr_in` of `ip`, port 0, as the ioctls take it.
fn sockaddr(ip: Ipv4Addr) -> libc::sockaddr {
    let sin = libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: 0,
        sin_addr: libc::in_addr { s_addr: u32::from(ip).to_be() },
        sin_zero: [0; 8],
    };
    // SAFETY: sockaddr_in and sockaddr have the same size (16 bytes) and
    // both are plain data.
    unsafe { std::mem::transmute::<libc::sockaddr_in, libc::sockaddr>(sin) }
}

/// An `ifreq` for `name`.
fn ifreq(name: &str) -> Result<libc::ifreq, String> {
    let c = CString::new(name).map_err(|_| "interface name with a NUL".to_string())?;
    // SAFETY: ifreq is plain data; all zeroes is a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    let bytes = c.as_bytes_with_nul();
    if bytes.len() > req.ifr_name.len() {
        return Err(format!("interface name {name:?} is too long"));
    }
    for (d, s) in req.ifr_name.iter_mut().zip(bytes) {
        *d = *s as libc::c_char;
    }
    Ok(req)
}

/// Gives [`INTERFACE`] (and `lo`) an address and brings it up.
pub fn configure(ip: Ipv4Addr, prefix: u8) -> Result<(), String> {
    // SAFETY: socket(2) takes no pointers.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(format!("socket: {}", std::io::Error::last_os_error()));
    }
    let ioctl = |req: libc::c_ulong, ifr: &mut libc::ifreq, what: &str| -> Result<(), String> {
        // SAFETY: `ifr` is a valid, writable ifreq for the call.
        // The request's C type differs between libcs (musl: int).
        if unsafe { libc::ioctl(fd, req as libc::Ioctl, ifr as *mut libc::ifreq) } != 0 {
            return Err(format!("{what}: {}", std::io::Error::last_os_error()));
        }
        Ok(())
    };
    let up = |name: &str| -> Result<(), String> {
        let mut req = ifreq(name)?;
        ioctl(libc::SIOCGIFFLAGS, &mut req, "SIOCGIFFLAGS")?;
        // SAFETY: SIOCGIFFLAGS filled the flags member of the union.
        unsafe { req.ifr_ifru.ifru_flags |= (libc::IFF_UP | libc::IFF_RUNNING) as libc::c_short };
        ioctl(libc::SIOCSIFFLAGS, &mut req, "SIOCSIFFLAGS")
    };
    let result = (|| {
        let mut req = ifreq(INTERFACE)?;
        req.ifr_ifru.ifru_addr = sockaddr(ip);
        ioctl(libc::SIOCSIFADDR, &mut req, "SIOCSIFADDR")?;
        let mut req = ifreq(INTERFACE)?;
        req.ifr_ifru.ifru_netmask = sockaddr(netmask(prefix));
        ioctl(libc::SIOCSIFNETMASK, &mut req, "SIOCSIFNETMASK")?;
        up(INTERFACE)?;
        up("lo")
    })();
    // SAFETY: `fd` is ours and closed once.
    unsafe { libc::close(fd) };
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_and_masks() {
        assert_eq!(parse_cidr("10.0.2.15/24"), Ok((Ipv4Addr::new(10, 0, 2, 15), 24)));
        for bad in ["10.0.2.15", "10.0.2/24", "10.0.2.15/33", "x/8"] {
            assert!(parse_cidr(bad).is_err(), "{bad}");
        }
        assert_eq!(netmask(24), Ipv4Addr::new(255, 255, 255, 0));
        assert_eq!(netmask(0), Ipv4Addr::new(0, 0, 0, 0));
        assert_eq!(netmask(32), Ipv4Addr::new(255, 255, 255, 255));
    }
}
