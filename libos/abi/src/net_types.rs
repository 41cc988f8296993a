//! The socket calls' structures and constants, with the Linux x86_64
//! layouts and values: `struct sockaddr_in`, `struct sockaddr_in6`,
//! `struct msghdr`, `struct linger`, the address families, socket types,
//! option levels and names, and the `MSG_*` and `SHUT_*` flags.
//!
//! Sources: `include/linux/socket.h` (`AF_*`, `MSG_*`, `struct msghdr`
//! as `struct user_msghdr`), `include/uapi/linux/in.h` (`struct
//! sockaddr_in`, `IPPROTO_*`), `include/uapi/linux/in6.h` (`struct
//! sockaddr_in6`), `include/uapi/asm-generic/socket.h` (`SO_*`),
//! `include/linux/net.h` (`SOCK_*`), `include/uapi/linux/tcp.h`
//! (`TCP_NODELAY`), `include/uapi/asm-generic/ioctls.h` (`FIONBIO`,
//! `FIONREAD`) (Linux 6.12). Sizes and offsets are checked at compile time
//! at the end of this file. Port and address fields are in network byte
//! order, as in C.

use core::mem::{offset_of, size_of};

/// `AF_UNSPEC`.
pub const AF_UNSPEC: u16 = 0;
/// `AF_UNIX`.
pub const AF_UNIX: u16 = 1;
/// `AF_INET`: IPv4.
pub const AF_INET: u16 = 2;
/// `AF_INET6`: IPv6.
pub const AF_INET6: u16 = 10;

/// `SOCK_STREAM`: TCP.
pub const SOCK_STREAM: i32 = 1;
/// `SOCK_DGRAM`: UDP.
pub const SOCK_DGRAM: i32 = 2;
/// `SOCK_RAW`.
pub const SOCK_RAW: i32 = 3;
/// The type bits of `socket`'s `type` argument.
pub const SOCK_TYPE_MASK: i32 = 0xf;
/// `SOCK_NONBLOCK` (`O_NONBLOCK`).
pub const SOCK_NONBLOCK: i32 = 0o4000;
/// `SOCK_CLOEXEC` (`O_CLOEXEC`).
pub const SOCK_CLOEXEC: i32 = 0o2000000;

/// `IPPROTO_IP`: the default protocol / the IP option level.
pub const IPPROTO_IP: i32 = 0;
/// `IPPROTO_TCP`.
pub const IPPROTO_TCP: i32 = 6;
/// `IPPROTO_UDP`.
pub const IPPROTO_UDP: i32 = 17;
/// `IPPROTO_IPV6`: the IPv6 option level.
pub const IPPROTO_IPV6: i32 = 41;

/// `SOL_SOCKET`: the socket-level option level.
pub const SOL_SOCKET: i32 = 1;
/// `SO_DEBUG`.
pub const SO_DEBUG: i32 = 1;
/// `SO_REUSEADDR`.
pub const SO_REUSEADDR: i32 = 2;
/// `SO_TYPE`.
pub const SO_TYPE: i32 = 3;
/// `SO_ERROR`: the pending error, cleared by reading it.
pub const SO_ERROR: i32 = 4;
/// `SO_BROADCAST`.
pub const SO_BROADCAST: i32 = 6;
/// `SO_SNDBUF`.
pub const SO_SNDBUF: i32 = 7;
/// `SO_RCVBUF`.
pub const SO_RCVBUF: i32 = 8;
/// `SO_KEEPALIVE`.
pub const SO_KEEPALIVE: i32 = 9;
/// `SO_LINGER`.
pub const SO_LINGER: i32 = 13;
/// `SO_REUSEPORT`.
pub const SO_REUSEPORT: i32 = 15;
/// `SO_RCVTIMEO` (`SO_RCVTIMEO_OLD`: a `struct timeval`).
pub const SO_RCVTIMEO: i32 = 20;
/// `SO_SNDTIMEO` (`SO_SNDTIMEO_OLD`).
pub const SO_SNDTIMEO: i32 = 21;
/// `SO_ACCEPTCONN`.
pub const SO_ACCEPTCONN: i32 = 30;
/// `SO_PROTOCOL`.
pub const SO_PROTOCOL: i32 = 38;
/// `SO_DOMAIN`.
pub const SO_DOMAIN: i32 = 39;
/// `TCP_NODELAY` (level `IPPROTO_TCP`).
pub const TCP_NODELAY: i32 = 1;
/// `IPV6_V6ONLY` (level `IPPROTO_IPV6`).
pub const IPV6_V6ONLY: i32 = 26;

/// `MSG_OOB`.
pub const MSG_OOB: i32 = 1;
/// `MSG_PEEK`: read without taking.
pub const MSG_PEEK: i32 = 2;
/// `MSG_DONTROUTE`.
pub const MSG_DONTROUTE: i32 = 4;
/// `MSG_TRUNC`: (recv) return the datagram's real length; (flags out) it was cut.
pub const MSG_TRUNC: i32 = 0x20;
/// `MSG_DONTWAIT`: this call does not block.
pub const MSG_DONTWAIT: i32 = 0x40;
/// `MSG_EOR`.
pub const MSG_EOR: i32 = 0x80;
/// `MSG_WAITALL`: wait for the whole buffer.
pub const MSG_WAITALL: i32 = 0x100;
/// `MSG_NOSIGNAL`: no `SIGPIPE` for `EPIPE`.
pub const MSG_NOSIGNAL: i32 = 0x4000;
/// `MSG_MORE`.
pub const MSG_MORE: i32 = 0x8000;
/// `MSG_CMSG_CLOEXEC`.
pub const MSG_CMSG_CLOEXEC: i32 = 0x4000_0000;

/// `SHUT_RD`.
pub const SHUT_RD: i32 = 0;
/// `SHUT_WR`.
pub const SHUT_WR: i32 = 1;
/// `SHUT_RDWR`.
pub const SHUT_RDWR: i32 = 2;

/// `SOMAXCONN`: the largest listen backlog (Linux 5.4 and later: 4096;
/// this kernel bounds it further, see the kernel's `net` module).
pub const SOMAXCONN: i32 = 4096;

/// `FIONBIO`: `ioctl` that sets or clears non-blocking mode.
pub const FIONBIO: u32 = 0x5421;
/// `FIOCLEX`: `ioctl` that sets `FD_CLOEXEC`.
pub const FIOCLEX: u32 = 0x5451;
/// `FIONCLEX`: `ioctl` that clears `FD_CLOEXEC`.
pub const FIONCLEX: u32 = 0x5450;
/// `FIONREAD`: `ioctl` that gives the bytes waiting to be read.
pub const FIONREAD: u32 = 0x541B;

/// `struct sockaddr_in`: an IPv4 address and port.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SockaddrIn {
    /// `AF_INET`.
    pub sin_family: u16,
    /// The port, big-endian.
    pub sin_port: u16,
    /// The address, as its four bytes in order.
    pub sin_addr: [u8; 4],
    /// Padding to the size of `struct sockaddr`.
    pub sin_zero: [u8; 8],
}

/// `struct sockaddr_in6`: an IPv6 address and port.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SockaddrIn6 {
    /// `AF_INET6`.
    pub sin6_family: u16,
    /// The port, big-endian.
    pub sin6_port: u16,
    /// Flow information, big-endian.
    pub sin6_flowinfo: u32,
    /// The address's 16 bytes.
    pub sin6_addr: [u8; 16],
    /// The scope (interface) id.
    pub sin6_scope_id: u32,
}

/// `struct sockaddr_storage`'s size: the most an address may take.
pub const SOCKADDR_STORAGE_SIZE: usize = 128;

/// `struct msghdr` (the user layout, `struct user_msghdr`).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct MsgHdr {
    /// The address (`sendmsg`: destination; `recvmsg`: filled with the source).
    pub msg_name: u64,
    /// Its length in bytes.
    pub msg_namelen: u32,
    /// Padding.
    pub pad0: u32,
    /// `struct iovec *`.
    pub msg_iov: u64,
    /// How many iovecs.
    pub msg_iovlen: u64,
    /// Ancillary data.
    pub msg_control: u64,
    /// Its length.
    pub msg_controllen: u64,
    /// `recvmsg`: flags out (`MSG_TRUNC`...).
    pub msg_flags: i32,
    /// Padding.
    pub pad1: u32,
}

/// `struct timeval` (`SO_RCVTIMEO`, `SO_SNDTIMEO`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Timeval {
    /// Seconds.
    pub tv_sec: i64,
    /// Microseconds, 0..1_000_000.
    pub tv_usec: i64,
}

/// `struct linger` (`SO_LINGER`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Linger {
    /// Whether lingering is on.
    pub l_onoff: i32,
    /// Seconds.
    pub l_linger: i32,
}

const _: () = {
    assert!(size_of::<SockaddrIn>() == 16);
    assert!(offset_of!(SockaddrIn, sin_family) == 0);
    assert!(offset_of!(SockaddrIn, sin_port) == 2);
    assert!(offset_of!(SockaddrIn, sin_addr) == 4);
    assert!(offset_of!(SockaddrIn, sin_zero) == 8);
    assert!(size_of::<SockaddrIn6>() == 28);
    assert!(offset_of!(SockaddrIn6, sin6_port) == 2);
    assert!(offset_of!(SockaddrIn6, sin6_flowinfo) == 4);
    assert!(offset_of!(SockaddrIn6, sin6_addr) == 8);
    assert!(offset_of!(SockaddrIn6, sin6_scope_id) == 24);
    assert!(size_of::<MsgHdr>() == 56);
    assert!(offset_of!(MsgHdr, msg_namelen) == 8);
    assert!(offset_of!(MsgHdr, msg_iov) == 16);
    assert!(offset_of!(MsgHdr, msg_iovlen) == 24);
    assert!(offset_of!(MsgHdr, msg_control) == 32);
    assert!(offset_of!(MsgHdr, msg_controllen) == 40);
    assert!(offset_of!(MsgHdr, msg_flags) == 48);
    assert!(size_of::<Timeval>() == 16);
    assert!(size_of::<Linger>() == 8);
};

/// A socket address as the kernel and `libos::net` handle it: family,
/// address bytes and port (host order), decoded from and encoded to the
/// C layouts above.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SocketAddress {
    /// IPv4.
    V4 {
        /// The address.
        addr: [u8; 4],
        /// The port.
        port: u16,
    },
    /// IPv6.
    V6 {
        /// The address.
        addr: [u8; 16],
        /// The port.
        port: u16,
        /// Flow information.
        flowinfo: u32,
        /// The scope id.
        scope_id: u32,
    },
}

/// Why a `sockaddr` could not be decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddressError {
    /// Too short for its family, or longer than `sockaddr_storage`
    /// (Linux: `EINVAL`).
    BadLength,
    /// A family this kernel has no sockets for (`EAFNOSUPPORT`).
    Family(u16),
}

impl SocketAddress {
    /// The port.
    pub fn port(&self) -> u16 {
        match *self {
            SocketAddress::V4 { port, .. } | SocketAddress::V6 { port, .. } => port,
        }
    }

    /// Its family (`AF_INET` or `AF_INET6`).
    pub fn family(&self) -> u16 {
        match self {
            SocketAddress::V4 { .. } => AF_INET,
            SocketAddress::V6 { .. } => AF_INET6,
        }
    }

    /// Decodes the `bytes` an app passed as a `sockaddr` (Linux
    /// `move_addr_to_kernel`, then `inet_bind`/`inet6_bind` length checks:
    /// an `AF_INET` address needs 16 bytes... Linux accepts 16 and more; an
    /// `AF_INET6` one 24 (without the scope id) or more).
    pub fn decode(bytes: &[u8]) -> Result<SocketAddress, AddressError> {
        if bytes.len() < 2 || bytes.len() > SOCKADDR_STORAGE_SIZE {
            return Err(AddressError::BadLength);
        }
        let family = u16::from_ne_bytes([bytes[0], bytes[1]]);
        let be16 = |i: usize| u16::from_be_bytes([bytes[i], bytes[i + 1]]);
        match family {
            AF_INET => {
                if bytes.len() < size_of::<SockaddrIn>() {
                    return Err(AddressError::BadLength);
                }
                Ok(SocketAddress::V4 { addr: bytes[4..8].try_into().expect("4 bytes"), port: be16(2) })
            }
            AF_INET6 => {
                // SIN6_LEN_RFC2133: the RFC 2133 layout without the scope id.
                if bytes.len() < 24 {
                    return Err(AddressError::BadLength);
                }
                let scope_id =
                    if bytes.len() >= 28 { u32::from_ne_bytes(bytes[24..28].try_into().expect("4 bytes")) } else { 0 };
                Ok(SocketAddress::V6 {
                    addr: bytes[8..24].try_into().expect("16 bytes"),
                    port: be16(2),
                    flowinfo: u32::from_be_bytes(bytes[4..8].try_into().expect("4 bytes")),
                    scope_id,
                })
            }
            other => Err(AddressError::Family(other)),
        }
    }

    /// The C layout: 16 bytes for IPv4, 28 for IPv6 (in a 28-byte buffer
    /// with the length that counts).
    pub fn encode(&self) -> ([u8; 28], usize) {
        let mut out = [0u8; 28];
        match *self {
            SocketAddress::V4 { addr, port } => {
                out[0..2].copy_from_slice(&AF_INET.to_ne_bytes());
                out[2..4].copy_from_slice(&port.to_be_bytes());
                out[4..8].copy_from_slice(&addr);
                (out, 16)
            }
            SocketAddress::V6 { addr, port, flowinfo, scope_id } => {
                out[0..2].copy_from_slice(&AF_INET6.to_ne_bytes());
                out[2..4].copy_from_slice(&port.to_be_bytes());
                out[4..8].copy_from_slice(&flowinfo.to_be_bytes());
                out[8..24].copy_from_slice(&addr);
                out[24..28].copy_from_slice(&scope_id.to_ne_bytes());
                (out, 28)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_round_trip() {
        let a = SocketAddress::V4 { addr: [10, 0, 2, 15], port: 8080 };
        let (bytes, len) = a.encode();
        assert_eq!(len, 16);
        assert_eq!(&bytes[..4], &[2, 0, 0x1f, 0x90]);
        assert_eq!(SocketAddress::decode(&bytes[..len]), Ok(a));
        // Longer is fine (a sockaddr_storage), shorter is not.
        assert_eq!(SocketAddress::decode(&bytes[..20]), Ok(a));
        assert_eq!(SocketAddress::decode(&bytes[..15]), Err(AddressError::BadLength));
    }

    #[test]
    fn ipv6_round_trip_and_the_rfc2133_length() {
        let a = SocketAddress::V6 { addr: [1; 16], port: 443, flowinfo: 7, scope_id: 3 };
        let (bytes, len) = a.encode();
        assert_eq!(len, 28);
        assert_eq!(SocketAddress::decode(&bytes[..len]), Ok(a));
        let short = SocketAddress::decode(&bytes[..24]).expect("24 bytes is RFC 2133's sockaddr_in6");
        assert_eq!(short, SocketAddress::V6 { addr: [1; 16], port: 443, flowinfo: 7, scope_id: 0 });
        assert_eq!(SocketAddress::decode(&bytes[..23]), Err(AddressError::BadLength));
    }

    #[test]
    fn bad_families_and_lengths() {
        assert_eq!(SocketAddress::decode(&[]), Err(AddressError::BadLength));
        assert_eq!(SocketAddress::decode(&[1]), Err(AddressError::BadLength));
        assert_eq!(SocketAddress::decode(&[1, 0, 0, 0]), Err(AddressError::Family(AF_UNIX)));
        assert_eq!(SocketAddress::decode(&[0u8; 129]), Err(AddressError::BadLength));
    }
}
