//! TCP and UDP, shaped like `std::net`: [`TcpListener`], [`TcpStream`],
//! [`UdpSocket`], the address types (`core::net`'s, re-exported),
//! [`ToSocketAddrs`], [`Shutdown`], and [`lookup_host`] (`/etc/hosts`,
//! then a DNS query to the server `/etc/resolv.conf` names).
//!
//! ```ignore
//! use libos::io::{Read, Write};
//! use libos::net::TcpListener;
//!
//! let listener = TcpListener::bind("0.0.0.0:7")?;
//! for stream in listener.incoming() {
//!     let mut stream = stream?;
//!     let mut buf = [0; 4096];
//!     loop {
//!         let n = stream.read(&mut buf)?;
//!         if n == 0 { break; }
//!         stream.write_all(&buf[..n])?;
//!     }
//! }
//! ```
//!
//! Each type wraps a socket descriptor of the kernel's socket calls (Linux
//! numbers and semantics); dropping it closes the descriptor.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::time::Duration;

pub use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

use libos_abi::net_types::*;
use libos_abi::syscalls::user;

use crate::Errno;
use crate::io::{self, Error, ErrorKind, Read, Write};

/// Which directions `shutdown` closes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shutdown {
    /// Reading.
    Read,
    /// Writing (sends FIN).
    Write,
    /// Both.
    Both,
}

fn to_abi(a: &SocketAddr) -> SocketAddress {
    match a {
        SocketAddr::V4(v4) => SocketAddress::V4 { addr: v4.ip().octets(), port: v4.port() },
        SocketAddr::V6(v6) => SocketAddress::V6 {
            addr: v6.ip().octets(),
            port: v6.port(),
            flowinfo: v6.flowinfo(),
            scope_id: v6.scope_id(),
        },
    }
}

fn from_abi(a: &SocketAddress) -> SocketAddr {
    match *a {
        SocketAddress::V4 { addr, port } => SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::from(addr), port)),
        SocketAddress::V6 { addr, port, flowinfo, scope_id } => {
            SocketAddr::V6(SocketAddrV6::new(Ipv6Addr::from(addr), port, flowinfo, scope_id))
        }
    }
}

/// Something that names one or more socket addresses (as `std`'s trait).
pub trait ToSocketAddrs {
    /// The addresses, in order of preference.
    fn to_socket_addrs(&self) -> io::Result<vec::IntoIter<SocketAddr>>;
}

impl ToSocketAddrs for SocketAddr {
    fn to_socket_addrs(&self) -> io::Result<vec::IntoIter<SocketAddr>> {
        Ok(vec![*self].into_iter())
    }
}

impl ToSocketAddrs for SocketAddrV4 {
    fn to_socket_addrs(&self) -> io::Result<vec::IntoIter<SocketAddr>> {
        Ok(vec![SocketAddr::V4(*self)].into_iter())
    }
}

impl ToSocketAddrs for SocketAddrV6 {
    fn to_socket_addrs(&self) -> io::Result<vec::IntoIter<SocketAddr>> {
        Ok(vec![SocketAddr::V6(*self)].into_iter())
    }
}

macro_rules! ip_and_port {
    ($($ip:ty),*) => {$(
        impl ToSocketAddrs for ($ip, u16) {
            fn to_socket_addrs(&self) -> io::Result<vec::IntoIter<SocketAddr>> {
                Ok(vec![SocketAddr::new(self.0.into(), self.1)].into_iter())
            }
        }
    )*};
}

ip_and_port!(IpAddr, Ipv4Addr, Ipv6Addr);

impl ToSocketAddrs for (&str, u16) {
    fn to_socket_addrs(&self) -> io::Result<vec::IntoIter<SocketAddr>> {
        let addrs: Vec<SocketAddr> = lookup_host(self.0)?.into_iter().map(|ip| SocketAddr::new(ip, self.1)).collect();
        Ok(addrs.into_iter())
    }
}

impl ToSocketAddrs for str {
    /// `"10.0.2.2:80"`, `"[::1]:80"` or `"host:80"` (looked up).
    fn to_socket_addrs(&self) -> io::Result<vec::IntoIter<SocketAddr>> {
        if let Ok(a) = self.parse::<SocketAddr>() {
            return Ok(vec![a].into_iter());
        }
        let (host, port) = self.rsplit_once(':').ok_or(Error::new(ErrorKind::InvalidInput, "expected HOST:PORT"))?;
        let port: u16 = port.parse().map_err(|_| Error::new(ErrorKind::InvalidInput, "invalid port value"))?;
        (host, port).to_socket_addrs()
    }
}

impl ToSocketAddrs for String {
    fn to_socket_addrs(&self) -> io::Result<vec::IntoIter<SocketAddr>> {
        self.as_str().to_socket_addrs()
    }
}

impl<T: ToSocketAddrs + ?Sized> ToSocketAddrs for &T {
    fn to_socket_addrs(&self) -> io::Result<vec::IntoIter<SocketAddr>> {
        (**self).to_socket_addrs()
    }
}

/// Tries `f` on each address in turn; the last error if none works.
fn each_addr<T>(addr: impl ToSocketAddrs, mut f: impl FnMut(&SocketAddr) -> io::Result<T>) -> io::Result<T> {
    let mut last = Error::new(ErrorKind::InvalidInput, "could not resolve to any addresses");
    for a in addr.to_socket_addrs()? {
        match f(&a) {
            Ok(t) => return Ok(t),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// A socket descriptor, closed on drop.
#[derive(Debug)]
struct Socket(i32);

impl Socket {
    fn new(addr: &SocketAddr, kind: i32) -> io::Result<Socket> {
        let family = if addr.is_ipv4() { AF_INET } else { AF_INET6 };
        Ok(Socket(user::socket(family as i32, kind | SOCK_CLOEXEC, 0)?))
    }

    fn bind(&self, addr: &SocketAddr) -> io::Result<()> {
        let (bytes, len) = to_abi(addr).encode();
        // SAFETY: `bytes` is readable for `len` bytes.
        unsafe { user::bind(self.0, bytes.as_ptr(), len as u32) }?;
        Ok(())
    }

    fn connect(&self, addr: &SocketAddr) -> io::Result<()> {
        let (bytes, len) = to_abi(addr).encode();
        // SAFETY: as above.
        unsafe { user::connect(self.0, bytes.as_ptr(), len as u32) }?;
        Ok(())
    }

    fn name(&self, peer: bool) -> io::Result<SocketAddr> {
        let mut buf = [0u8; SOCKADDR_STORAGE_SIZE];
        let mut len = buf.len() as u32;
        // SAFETY: `buf` and `len` are writable and ours.
        unsafe {
            if peer {
                user::getpeername(self.0, buf.as_mut_ptr(), &mut len)
            } else {
                user::getsockname(self.0, buf.as_mut_ptr(), &mut len)
            }
        }?;
        decode(&buf, len)
    }

    fn setsockopt_raw(&self, level: i32, name: i32, value: &[u8]) -> io::Result<()> {
        // SAFETY: `value` is readable for its length.
        unsafe { user::setsockopt(self.0, level, name, value.as_ptr(), value.len() as u32) }?;
        Ok(())
    }

    fn setsockopt(&self, level: i32, name: i32, value: i32) -> io::Result<()> {
        self.setsockopt_raw(level, name, &value.to_ne_bytes())
    }

    fn getsockopt(&self, level: i32, name: i32) -> io::Result<i32> {
        let mut v = [0u8; 4];
        let mut len = 4u32;
        // SAFETY: `v` and `len` are writable.
        unsafe { user::getsockopt(self.0, level, name, v.as_mut_ptr(), &mut len) }?;
        Ok(i32::from_ne_bytes(v))
    }

    fn set_timeout(&self, name: i32, d: Option<Duration>) -> io::Result<()> {
        let tv = match d {
            Some(d) if d.is_zero() => {
                return Err(Error::new(ErrorKind::InvalidInput, "cannot set a 0 duration timeout"));
            }
            Some(d) => Timeval { tv_sec: d.as_secs() as i64, tv_usec: i64::from(d.subsec_micros()).max(1) },
            None => Timeval::default(),
        };
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&tv.tv_sec.to_ne_bytes());
        bytes[8..].copy_from_slice(&tv.tv_usec.to_ne_bytes());
        self.setsockopt_raw(SOL_SOCKET, name, &bytes)
    }

    fn timeout(&self, name: i32) -> io::Result<Option<Duration>> {
        let mut v = [0u8; 16];
        let mut len = 16u32;
        // SAFETY: `v` and `len` are writable.
        unsafe { user::getsockopt(self.0, SOL_SOCKET, name, v.as_mut_ptr(), &mut len) }?;
        let sec = i64::from_ne_bytes(v[..8].try_into().expect("8 bytes"));
        let usec = i64::from_ne_bytes(v[8..].try_into().expect("8 bytes"));
        Ok((sec != 0 || usec != 0).then(|| Duration::new(sec as u64, usec as u32 * 1000)))
    }

    fn set_nonblocking(&self, on: bool) -> io::Result<()> {
        let v: i32 = on.into();
        // FIONBIO reads an int at the address.
        user::ioctl(self.0, FIONBIO, &v as *const i32 as u64)?;
        Ok(())
    }

    fn take_error(&self) -> io::Result<Option<Error>> {
        let e = self.getsockopt(SOL_SOCKET, SO_ERROR)?;
        Ok(Errno::from_raw(e.into()).map(Error::from_errno))
    }

    fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        let how = match how {
            Shutdown::Read => SHUT_RD,
            Shutdown::Write => SHUT_WR,
            Shutdown::Both => SHUT_RDWR,
        };
        user::shutdown(self.0, how)?;
        Ok(())
    }

    fn recv_from(&self, buf: &mut [u8], flags: i32) -> io::Result<(usize, Option<SocketAddr>)> {
        let mut addr = [0u8; SOCKADDR_STORAGE_SIZE];
        let mut len = addr.len() as u32;
        // SAFETY: the buffers are writable and ours.
        let n = unsafe { user::recvfrom(self.0, buf.as_mut_ptr(), buf.len(), flags, addr.as_mut_ptr(), &mut len) }?;
        Ok((n, if len == 0 { None } else { decode(&addr, len).ok() }))
    }

    fn send_to(&self, buf: &[u8], to: Option<&SocketAddr>, flags: i32) -> io::Result<usize> {
        let n = match to {
            Some(a) => {
                let (bytes, len) = to_abi(a).encode();
                // SAFETY: the buffers are readable.
                unsafe { user::sendto(self.0, buf.as_ptr(), buf.len(), flags, bytes.as_ptr(), len as u32) }?
            }
            // SAFETY: as above; a null address.
            None => unsafe { user::sendto(self.0, buf.as_ptr(), buf.len(), flags, core::ptr::null(), 0) }?,
        };
        Ok(n)
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        let _ = user::close(self.0);
    }
}

fn decode(buf: &[u8], len: u32) -> io::Result<SocketAddr> {
    let len = (len as usize).min(buf.len());
    SocketAddress::decode(&buf[..len])
        .map(|a| from_abi(&a))
        .map_err(|_| Error::new(ErrorKind::InvalidData, "the kernel gave an address of an unknown family"))
}

/// A listening TCP socket.
#[derive(Debug)]
pub struct TcpListener(Socket);

impl TcpListener {
    /// Binds to `addr` (with `SO_REUSEADDR`, as std does) and listens with
    /// a backlog of 128 (the kernel bounds it to 64).
    pub fn bind(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
        each_addr(addr, |a| {
            let s = Socket::new(a, SOCK_STREAM)?;
            s.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)?;
            s.bind(a)?;
            user::listen(s.0, 128)?;
            Ok(TcpListener(s))
        })
    }

    /// The next connection, and its peer.
    pub fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let mut addr = [0u8; SOCKADDR_STORAGE_SIZE];
        let mut len = addr.len() as u32;
        // SAFETY: the address buffers are writable and ours.
        let fd = unsafe { user::accept4(self.0.0, addr.as_mut_ptr(), &mut len, SOCK_CLOEXEC) }?;
        let stream = TcpStream(Socket(fd));
        Ok((stream, decode(&addr, len)?))
    }

    /// Connections as they come, for ever.
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming(self)
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.name(false)
    }

    /// Non-blocking mode: `accept` answers `WouldBlock` when nobody waits.
    pub fn set_nonblocking(&self, on: bool) -> io::Result<()> {
        self.0.set_nonblocking(on)
    }

    /// `SO_ERROR`.
    pub fn take_error(&self) -> io::Result<Option<Error>> {
        self.0.take_error()
    }

    /// The descriptor.
    pub fn as_raw_fd(&self) -> i32 {
        self.0.0
    }
}

/// The iterator of [`TcpListener::incoming`].
#[derive(Debug)]
pub struct Incoming<'a>(&'a TcpListener);

impl Iterator for Incoming<'_> {
    type Item = io::Result<TcpStream>;

    fn next(&mut self) -> Option<io::Result<TcpStream>> {
        Some(self.0.accept().map(|(s, _)| s))
    }
}

/// A TCP connection.
#[derive(Debug)]
pub struct TcpStream(Socket);

impl TcpStream {
    /// Connects to `addr` (each address in turn), waiting for the handshake.
    pub fn connect(addr: impl ToSocketAddrs) -> io::Result<TcpStream> {
        each_addr(addr, |a| {
            let s = Socket::new(a, SOCK_STREAM)?;
            s.connect(a)?;
            Ok(TcpStream(s))
        })
    }

    /// Connects, giving up after `timeout` (`TimedOut`).
    pub fn connect_timeout(addr: &SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
        let s = Socket::new(addr, SOCK_STREAM)?;
        s.set_timeout(SO_SNDTIMEO, Some(timeout))?;
        match s.connect(addr) {
            Ok(()) => {}
            Err(e) if e.errno() == Some(Errno::EINPROGRESS) => {
                return Err(Error::new(ErrorKind::TimedOut, "connection timed out"));
            }
            Err(e) => return Err(e),
        }
        s.set_timeout(SO_SNDTIMEO, None)?;
        Ok(TcpStream(s))
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.0.name(true)
    }

    /// Our address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.name(false)
    }

    /// Closes reading, writing or both.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.0.shutdown(how)
    }

    /// `TCP_NODELAY`: segments leave at once (no Nagle).
    pub fn set_nodelay(&self, on: bool) -> io::Result<()> {
        self.0.setsockopt(IPPROTO_TCP, TCP_NODELAY, on.into())
    }

    /// Whether `TCP_NODELAY` is on.
    pub fn nodelay(&self) -> io::Result<bool> {
        Ok(self.0.getsockopt(IPPROTO_TCP, TCP_NODELAY)? != 0)
    }

    /// Reads give up after `d` (`WouldBlock`); `None`: never.
    pub fn set_read_timeout(&self, d: Option<Duration>) -> io::Result<()> {
        self.0.set_timeout(SO_RCVTIMEO, d)
    }

    /// Writes give up after `d`.
    pub fn set_write_timeout(&self, d: Option<Duration>) -> io::Result<()> {
        self.0.set_timeout(SO_SNDTIMEO, d)
    }

    /// The read timeout.
    pub fn read_timeout(&self) -> io::Result<Option<Duration>> {
        self.0.timeout(SO_RCVTIMEO)
    }

    /// The write timeout.
    pub fn write_timeout(&self) -> io::Result<Option<Duration>> {
        self.0.timeout(SO_SNDTIMEO)
    }

    /// Non-blocking mode.
    pub fn set_nonblocking(&self, on: bool) -> io::Result<()> {
        self.0.set_nonblocking(on)
    }

    /// Reads without taking (`MSG_PEEK`).
    pub fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        Ok(self.0.recv_from(buf, MSG_PEEK)?.0)
    }

    /// `SO_ERROR`.
    pub fn take_error(&self) -> io::Result<Option<Error>> {
        self.0.take_error()
    }

    /// The descriptor.
    pub fn as_raw_fd(&self) -> i32 {
        self.0.0
    }
}

impl Read for &TcpStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        Ok(self.0.recv_from(buf, 0)?.0)
    }
}

impl Write for &TcpStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.send_to(buf, None, MSG_NOSIGNAL)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Read for TcpStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&*self).read(buf)
    }
}

impl Write for TcpStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&*self).write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A UDP socket.
#[derive(Debug)]
pub struct UdpSocket(Socket);

impl UdpSocket {
    /// Binds to `addr`.
    pub fn bind(addr: impl ToSocketAddrs) -> io::Result<UdpSocket> {
        each_addr(addr, |a| {
            let s = Socket::new(a, SOCK_DGRAM)?;
            s.bind(a)?;
            Ok(UdpSocket(s))
        })
    }

    /// Sends a datagram to `addr` (its first address).
    pub fn send_to(&self, buf: &[u8], addr: impl ToSocketAddrs) -> io::Result<usize> {
        let a = addr
            .to_socket_addrs()?
            .next()
            .ok_or(Error::new(ErrorKind::InvalidInput, "no addresses to send data to"))?;
        self.0.send_to(buf, Some(&a), 0)
    }

    /// Receives a datagram and its source.
    pub fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        let (n, from) = self.0.recv_from(buf, 0)?;
        Ok((n, from.ok_or(Error::new(ErrorKind::InvalidData, "a datagram without a source"))?))
    }

    /// Looks at the next datagram without taking it.
    pub fn peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        let (n, from) = self.0.recv_from(buf, MSG_PEEK)?;
        Ok((n, from.ok_or(Error::new(ErrorKind::InvalidData, "a datagram without a source"))?))
    }

    /// Sets the peer: `send` goes there, `recv` takes only its datagrams.
    pub fn connect(&self, addr: impl ToSocketAddrs) -> io::Result<()> {
        each_addr(addr, |a| self.0.connect(a))
    }

    /// Sends to the peer.
    pub fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.0.send_to(buf, None, 0)
    }

    /// Receives from the peer.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        Ok(self.0.recv_from(buf, 0)?.0)
    }

    /// Our address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.name(false)
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.0.name(true)
    }

    /// Non-blocking mode.
    pub fn set_nonblocking(&self, on: bool) -> io::Result<()> {
        self.0.set_nonblocking(on)
    }

    /// Receives give up after `d` (`WouldBlock`).
    pub fn set_read_timeout(&self, d: Option<Duration>) -> io::Result<()> {
        self.0.set_timeout(SO_RCVTIMEO, d)
    }

    /// Sends give up after `d`.
    pub fn set_write_timeout(&self, d: Option<Duration>) -> io::Result<()> {
        self.0.set_timeout(SO_SNDTIMEO, d)
    }

    /// `SO_ERROR`.
    pub fn take_error(&self) -> io::Result<Option<Error>> {
        self.0.take_error()
    }

    /// The descriptor.
    pub fn as_raw_fd(&self) -> i32 {
        self.0.0
    }
}

/// The addresses of `host`: a literal address, a name in `/etc/hosts`
/// (`localhost` without one), or the `A` records a DNS query to the first
/// `nameserver` of `/etc/resolv.conf` returns.
pub fn lookup_host(host: &str) -> io::Result<Vec<IpAddr>> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(vec![ip]);
    }
    let not_found = || Error::new(ErrorKind::NotFound, "failed to look up the host");
    if let Ok(hosts) = crate::fs::read_to_string("/etc/hosts") {
        let found: Vec<IpAddr> = hosts
            .lines()
            .map(|l| l.split('#').next().unwrap_or(""))
            .filter_map(|l| {
                let mut words = l.split_whitespace();
                let ip = words.next()?.parse::<IpAddr>().ok()?;
                words.any(|w| w.eq_ignore_ascii_case(host)).then_some(ip)
            })
            .collect();
        if !found.is_empty() {
            return Ok(found);
        }
    }
    if host.eq_ignore_ascii_case("localhost") {
        return Ok(vec![IpAddr::V4(Ipv4Addr::LOCALHOST)]);
    }
    let server = crate::fs::read_to_string("/etc/resolv.conf")
        .ok()
        .and_then(|conf| {
            conf.lines().find_map(|l| {
                let mut w = l.split_whitespace();
                (w.next() == Some("nameserver")).then(|| w.next()?.parse::<IpAddr>().ok()).flatten()
            })
        })
        .ok_or_else(not_found)?;
    let found = dns::query_a(host, SocketAddr::new(server, 53))?;
    if found.is_empty() { Err(not_found()) } else { Ok(found) }
}

/// A minimal DNS client (RFC 1035): one `A` query over UDP.
mod dns {
    use super::*;

    /// The question for `name`, type A, class IN, with id `id`.
    pub fn question(name: &str, id: u16) -> io::Result<Vec<u8>> {
        let mut q = Vec::new();
        q.extend_from_slice(&id.to_be_bytes());
        q.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]); // RD; 1 question
        for label in name.trim_end_matches('.').split('.') {
            if label.is_empty() || label.len() > 63 {
                return Err(Error::new(ErrorKind::InvalidInput, "not a host name"));
            }
            q.push(label.len() as u8);
            q.extend_from_slice(label.as_bytes());
        }
        q.push(0);
        q.extend_from_slice(&[0, 1, 0, 1]);
        Ok(q)
    }

    /// Skips a (possibly compressed) name at `at`; the offset after it.
    fn skip_name(msg: &[u8], mut at: usize) -> Option<usize> {
        loop {
            let len = *msg.get(at)? as usize;
            if len & 0xC0 == 0xC0 {
                return Some(at + 2);
            }
            if len == 0 {
                return Some(at + 1);
            }
            at += 1 + len;
        }
    }

    /// The A records of an answer to question `id`.
    pub fn answers(msg: &[u8], id: u16) -> Option<Vec<IpAddr>> {
        if msg.len() < 12 || u16::from_be_bytes([msg[0], msg[1]]) != id || msg[2] & 0x80 == 0 {
            return None;
        }
        let qd = u16::from_be_bytes([msg[4], msg[5]]);
        let an = u16::from_be_bytes([msg[6], msg[7]]);
        let mut at = 12;
        for _ in 0..qd {
            at = skip_name(msg, at)? + 4;
        }
        let mut out = Vec::new();
        for _ in 0..an {
            at = skip_name(msg, at)?;
            let rr = msg.get(at..at + 10)?;
            let (kind, len) = (u16::from_be_bytes([rr[0], rr[1]]), u16::from_be_bytes([rr[8], rr[9]]) as usize);
            let data = msg.get(at + 10..at + 10 + len)?;
            if kind == 1 && len == 4 {
                out.push(IpAddr::V4(Ipv4Addr::new(data[0], data[1], data[2], data[3])));
            }
            at += 10 + len;
        }
        Some(out)
    }

    /// Asks `server` for `name`'s A records: 3 tries, 2 s each.
    pub fn query_a(name: &str, server: SocketAddr) -> io::Result<Vec<IpAddr>> {
        let sock = UdpSocket::bind(if server.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" })?;
        sock.set_read_timeout(Some(Duration::from_secs(2)))?;
        let mut id_bytes = [0u8; 2];
        crate::random::fill(&mut id_bytes);
        let id = u16::from_ne_bytes(id_bytes);
        let q = question(name, id)?;
        let mut buf = [0u8; 1500];
        for _ in 0..3 {
            sock.send_to(&q, server)?;
            loop {
                match sock.recv_from(&mut buf) {
                    Ok((n, from)) if from == server => {
                        if let Some(a) = answers(&buf[..n], id) {
                            return Ok(a);
                        }
                    }
                    Ok(_) => {}
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) => return Err(e),
                }
            }
        }
        Err(Error::new(ErrorKind::TimedOut, "no answer from the name server"))
    }
}
