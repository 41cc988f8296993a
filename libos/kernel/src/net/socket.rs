//! The apps' sockets: a table of entries in the [`Stack`], each a TCP
//! socket (not yet connected, listening, or a connection) or a UDP socket
//! over smoltcp's sockets, with what Linux keeps beside them (the bound
//! address, options, the pending error, shutdowns) and the wait queue its
//! callers sleep on.
//!
//! Every operation here runs with the stack's lock held and never blocks:
//! it does what can be done now or answers `EAGAIN`; the blocking
//! versions (`super::file`) wait on the entry's queue for its readiness
//! ([`Stack::readiness`]) and try again. Semantics follow Linux's `net/ipv4/`
//! (`af_inet.c`, `tcp.c`, `udp.c`, `inet_connection_sock.c`, 6.1).
//!
//! # Listening and the backlog
//!
//! A smoltcp TCP socket accepts one connection and then is that
//! connection. A listening entry therefore holds a pool of smoltcp sockets
//! listening on its port: each SYN takes one; `accept` hands an
//! established one over to a new entry and puts a fresh listener in the
//! pool. The pool's size is the backlog (bounded by [`MAX_BACKLOG`]): once
//! every pooled socket holds a connection not yet accepted, further SYNs
//! find no listener and are answered with RST, so a flood of connections
//! costs a bounded amount of memory. A handshake that never completes
//! gives its socket back after [`SYN_RECEIVED_TIMEOUT_MS`].

use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;

use libos_abi::errno::Errno;
use libos_abi::net_types::{AF_INET, AF_INET6, SocketAddress};
use smoltcp::iface::{SocketHandle, SocketSet};
use smoltcp::socket::{tcp, udp};
use smoltcp::time::Duration;
use smoltcp::wire::{IpAddress, IpEndpoint, IpListenEndpoint, Ipv4Address, Ipv6Address};

use super::stack::Stack;
use crate::sched::wait::WaitQueue;

/// `poll` bits (`include/uapi/linux/eventpoll.h`).
pub mod mask {
    /// Data (or the end of it, or a connection to accept).
    pub const IN: u32 = 0x001;
    /// Room to write (or a connection completed).
    pub const OUT: u32 = 0x004;
    /// An error is pending.
    pub const ERR: u32 = 0x008;
    /// Hung up: both directions closed, or reset.
    pub const HUP: u32 = 0x010;
    /// The peer closed its side (`EPOLLRDHUP`).
    pub const RDHUP: u32 = 0x2000;
}

/// The longest listen backlog (pooled listening sockets per listener).
pub const MAX_BACKLOG: usize = 64;
/// Default socket buffer sizes (Linux's defaults are larger; under TCG
/// smaller buffers keep 200 connections in a few MiB).
pub const DEFAULT_BUFFER: usize = 64 * 1024;
/// Bounds for `SO_RCVBUF`/`SO_SNDBUF` (Linux doubles the value asked for
/// and bounds it by `rmem_max`; we take it as is, within these).
pub const MIN_BUFFER: usize = 2048;
/// See [`MIN_BUFFER`].
pub const MAX_BUFFER: usize = 1024 * 1024;
/// A handshake (SYN-RECEIVED) that takes longer than this gives its
/// pooled socket back (Linux retries the SYN-ACK 5 times, ~63 s).
pub const SYN_RECEIVED_TIMEOUT_MS: u64 = 10_000;
/// How long `connect` waits for an answer before `ETIMEDOUT`.
pub const CONNECT_TIMEOUT_MS: u64 = 75_000;
/// The largest UDP payload over IPv4 (65535 - 20 - 8): smoltcp fragments
/// what does not fit one frame and reassembles what comes in fragments.
pub const MAX_UDP_PAYLOAD_V4: usize = 65507;
/// Over IPv6, one Ethernet frame (1500 - 40 - 8): smoltcp is built without
/// IPv6 fragmentation.
pub const MAX_UDP_PAYLOAD_V6: usize = 1452;
/// Datagrams a UDP socket buffers each way.
const UDP_PACKETS: usize = 64;
/// Ephemeral ports (Linux's `ip_local_port_range` default is 32768-60999).
const EPHEMERAL: core::ops::RangeInclusive<u16> = 32768..=60999;

/// An entry's id (the socket object holds it).
pub type Id = u64;

/// The protocol of an entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// TCP (`SOCK_STREAM`).
    Tcp,
    /// UDP (`SOCK_DGRAM`).
    Udp,
}

/// What a TCP entry is now.
enum TcpState {
    /// Created, perhaps bound; no smoltcp socket yet.
    Idle,
    /// `listen`: pooled listening sockets and the backlog asked for.
    Listening { pool: Vec<SocketHandle>, backlog: usize },
    /// A connection (being made, or made, or ended).
    Stream { handle: SocketHandle, connecting: bool, connect_deadline: u64, we_closed: bool, reset_seen: bool },
}

enum Kind {
    Tcp(TcpState),
    Udp { handle: SocketHandle, peer: Option<IpEndpoint> },
}

/// Options an app sets (`setsockopt`).
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// `SO_REUSEADDR`.
    pub reuse_addr: bool,
    /// `SO_REUSEPORT`.
    pub reuse_port: bool,
    /// `SO_KEEPALIVE`.
    pub keepalive: bool,
    /// `TCP_NODELAY`.
    pub nodelay: bool,
    /// `SO_RCVBUF`.
    pub rcvbuf: usize,
    /// `SO_SNDBUF`.
    pub sndbuf: usize,
    /// `SO_RCVTIMEO` in ns (0: none).
    pub rcvtimeo_ns: u64,
    /// `SO_SNDTIMEO` in ns (0: none).
    pub sndtimeo_ns: u64,
    /// `IPV6_V6ONLY`.
    pub v6only: bool,
}

struct Entry {
    family: u16,
    kind: Kind,
    /// Where it is bound (`bind`, or implicitly by `connect`/`listen`/`sendto`).
    local: Option<IpListenEndpoint>,
    options: Options,
    /// `SO_ERROR`: a connection's asynchronous error, reported once.
    error: Option<Errno>,
    shut_rd: bool,
    shut_wr: bool,
    queue: Arc<WaitQueue>,
    last_mask: u32,
    /// A stream's receive and send queue lengths when last looked at (by
    /// the poll's update or the app's own read or write): data that came in
    /// or room that opened since wakes the queue even when the readiness
    /// mask stays the same, as Linux's `sk_data_ready`/`sk_write_space`
    /// wake on every arrival. Edge-triggered epoll needs those wakes: tokio
    /// takes a short read or write as "drained" and waits for the next edge.
    queued: (usize, usize),
}

/// A TCP stream's receive and send queue lengths (see `Entry::queued`).
fn queued_of(e: &Entry, sockets: &SocketSet<'static>) -> (usize, usize) {
    match &e.kind {
        Kind::Tcp(TcpState::Stream { handle, .. }) => {
            let s = sockets.get::<tcp::Socket>(*handle);
            (s.recv_queue(), s.send_queue())
        }
        _ => (0, 0),
    }
}

/// A datagram's source or a connection's peer, and how many bytes moved.
pub struct Received {
    /// Bytes copied into the caller's buffer.
    pub len: usize,
    /// The datagram's whole length (`MSG_TRUNC`).
    pub full_len: usize,
    /// Where it came from (UDP).
    pub from: Option<SocketAddress>,
}

/// The table of the apps' sockets.
pub struct Table {
    entries: BTreeMap<Id, Entry>,
    next_id: Id,
    /// Closed TCP connections smoltcp is still ending (FIN handshake,
    /// TIME-WAIT): removed from the socket set once closed.
    closing: Vec<SocketHandle>,
    next_port: u16,
    /// When each pooled socket entered SYN-RECEIVED (for the timeout).
    syn_since: BTreeMap<SocketHandle, u64>,
    /// Buffer bytes of each smoltcp socket the table made.
    charged: BTreeMap<SocketHandle, usize>,
    /// Their sum, and its bound (`ENOBUFS` beyond it, as Linux when socket
    /// memory runs out).
    buffer_bytes: usize,
    buffer_limit: usize,
}

fn endpoint_of(a: &SocketAddress) -> IpEndpoint {
    match *a {
        SocketAddress::V4 { addr, port } => IpEndpoint::new(IpAddress::Ipv4(Ipv4Address::from(addr)), port),
        SocketAddress::V6 { addr, port, .. } => {
            let v6 = Ipv6Address::from(addr);
            // A v4-mapped address (::ffff:a.b.c.d) is that IPv4 address.
            match v6.to_ipv4_mapped() {
                Some(v4) => IpEndpoint::new(IpAddress::Ipv4(v4), port),
                None => IpEndpoint::new(IpAddress::Ipv6(v6), port),
            }
        }
    }
}

/// The address an app sees for `e`, in the family of its socket.
fn address_of(family: u16, addr: Option<IpAddress>, port: u16) -> SocketAddress {
    match (family, addr) {
        (AF_INET6, Some(IpAddress::Ipv6(a))) => SocketAddress::V6 { addr: a.octets(), port, flowinfo: 0, scope_id: 0 },
        (AF_INET6, Some(IpAddress::Ipv4(a))) => {
            SocketAddress::V6 { addr: a.to_ipv6_mapped().octets(), port, flowinfo: 0, scope_id: 0 }
        }
        (AF_INET6, None) => SocketAddress::V6 { addr: [0; 16], port, flowinfo: 0, scope_id: 0 },
        (_, Some(IpAddress::Ipv4(a))) => SocketAddress::V4 { addr: a.octets(), port },
        _ => SocketAddress::V4 { addr: [0; 4], port },
    }
}

fn is_unspecified(a: &IpAddress) -> bool {
    match a {
        IpAddress::Ipv4(a) => a.is_unspecified(),
        IpAddress::Ipv6(a) => a.is_unspecified(),
    }
}

/// A zeroed buffer of `n` bytes, or `ENOBUFS` if the heap has no room.
fn buffer<T: Clone>(n: usize, fill: T) -> Result<Vec<T>, Errno> {
    let mut v = Vec::new();
    v.try_reserve_exact(n).map_err(|_| Errno::ENOBUFS)?;
    v.resize(n, fill);
    Ok(v)
}

fn apply_tcp_options(s: &mut tcp::Socket<'static>, options: &Options) {
    s.set_nagle_enabled(!options.nodelay);
    // Linux's keepalive: first probe after 2 hours (tcp_keepalive_time).
    s.set_keep_alive(options.keepalive.then(|| Duration::from_secs(7200)));
}

fn protocol_of(kind: &Kind) -> Protocol {
    match kind {
        Kind::Tcp(_) => Protocol::Tcp,
        Kind::Udp { .. } => Protocol::Udp,
    }
}

impl Default for Table {
    fn default() -> Self {
        Self::new()
    }
}

impl Table {
    /// An empty table.
    pub fn new() -> Table {
        Table {
            entries: BTreeMap::new(),
            next_id: 1,
            closing: Vec::new(),
            next_port: *EPHEMERAL.start(),
            syn_since: BTreeMap::new(),
            charged: BTreeMap::new(),
            buffer_bytes: 0,
            buffer_limit: usize::MAX,
        }
    }

    /// Bounds the bytes of all socket buffers together.
    pub fn set_buffer_limit(&mut self, bytes: usize) {
        self.buffer_limit = bytes;
    }

    fn charge(&mut self, bytes: usize) -> Result<(), Errno> {
        if self.buffer_bytes.saturating_add(bytes) > self.buffer_limit {
            return Err(Errno::ENOBUFS);
        }
        self.buffer_bytes += bytes;
        Ok(())
    }

    /// A TCP socket with the buffers `options` ask for, in `sockets`.
    fn add_tcp(
        &mut self,
        sockets: &mut SocketSet<'static>,
        options: &Options,
        setup: impl FnOnce(&mut tcp::Socket<'static>) -> Result<(), Errno>,
    ) -> Result<SocketHandle, Errno> {
        let bytes = options.rcvbuf + options.sndbuf;
        self.charge(bytes)?;
        let made = (|| {
            let mut s = tcp::Socket::new(
                tcp::SocketBuffer::new(buffer(options.rcvbuf, 0u8)?),
                tcp::SocketBuffer::new(buffer(options.sndbuf, 0u8)?),
            );
            apply_tcp_options(&mut s, options);
            setup(&mut s)?;
            Ok(s)
        })();
        match made {
            Ok(s) => {
                let h = sockets.add(s);
                self.charged.insert(h, bytes);
                Ok(h)
            }
            Err(e) => {
                self.buffer_bytes -= bytes;
                Err(e)
            }
        }
    }

    /// A UDP socket with the buffers `options` ask for.
    fn add_udp(&mut self, sockets: &mut SocketSet<'static>, options: &Options) -> Result<SocketHandle, Errno> {
        let bytes = options.rcvbuf + options.sndbuf;
        self.charge(bytes)?;
        let made = (|| {
            Ok(udp::Socket::new(
                udp::PacketBuffer::new(buffer(UDP_PACKETS, udp::PacketMetadata::EMPTY)?, buffer(options.rcvbuf, 0u8)?),
                udp::PacketBuffer::new(buffer(UDP_PACKETS, udp::PacketMetadata::EMPTY)?, buffer(options.sndbuf, 0u8)?),
            ))
        })();
        match made {
            Ok(s) => {
                let h = sockets.add(s);
                self.charged.insert(h, bytes);
                Ok(h)
            }
            Err(e) => {
                self.buffer_bytes -= bytes;
                Err(e)
            }
        }
    }

    /// Removes a smoltcp socket and gives its buffers' charge back.
    fn remove(&mut self, sockets: &mut SocketSet<'static>, h: SocketHandle) {
        sockets.remove(h);
        if let Some(bytes) = self.charged.remove(&h) {
            self.buffer_bytes -= bytes;
        }
    }

    /// After a poll: ends pooled handshakes that took too long, removes
    /// finished connections, and wakes every entry whose readiness changed.
    pub fn update(&mut self, sockets: &mut SocketSet<'static>) {
        let t = crate::time::monotonic_ns() / 1_000_000;
        let mut i = 0;
        while i < self.closing.len() {
            let h = self.closing[i];
            if sockets.get::<tcp::Socket>(h).state() == tcp::State::Closed {
                self.closing.swap_remove(i);
                self.remove(sockets, h);
            } else {
                i += 1;
            }
        }
        for e in self.entries.values_mut() {
            if let Kind::Tcp(TcpState::Listening { pool, .. }) = &e.kind {
                for &h in pool {
                    let s = sockets.get_mut::<tcp::Socket>(h);
                    if s.state() == tcp::State::SynReceived {
                        let since = *self.syn_since.entry(h).or_insert(t);
                        if t.saturating_sub(since) > SYN_RECEIVED_TIMEOUT_MS {
                            // Back to listening: abort sends an RST and closes it.
                            s.abort();
                            self.syn_since.remove(&h);
                        }
                    } else {
                        self.syn_since.remove(&h);
                    }
                    if s.state() == tcp::State::Closed {
                        let local = e.local.expect("a listener is bound");
                        let _ = s.listen(local);
                    }
                }
            }
            let m = readiness_of(e, sockets);
            let (rx, tx) = queued_of(e, sockets);
            let (seen_rx, seen_tx) = e.queued;
            e.queued = (rx, tx);
            if m != e.last_mask || rx > seen_rx || tx < seen_tx {
                e.last_mask = m;
                e.queue.wake_all();
            }
        }
    }

    /// Prints every TCP entry: a listener's pooled sockets' states, a
    /// stream's smoltcp state, queue lengths, readiness (the last one
    /// woken for, and now), tasks waiting on its queue and wakes so far
    /// (`net.dump=`, see [`super::dump`]). A stream whose data waits
    /// (`rx` > 0) with a task still waiting would be a lost wake-up; one
    /// with nothing received never got the peer's data.
    #[cfg(feature = "testing")]
    pub fn dump(&self, sockets: &SocketSet<'static>) {
        crate::println!("[net.dump] {} entries", self.entries.len());
        for (id, e) in &self.entries {
            match &e.kind {
                Kind::Tcp(TcpState::Listening { pool, .. }) => {
                    let (mut listen, mut syn, mut other) = (0, 0, 0);
                    for &h in pool {
                        match sockets.get::<tcp::Socket>(h).state() {
                            tcp::State::Listen => listen += 1,
                            tcp::State::SynReceived => syn += 1,
                            _ => other += 1,
                        }
                    }
                    crate::println!(
                        "[net.dump] listener {id} {:?}: mask {:#x} now {:#x} waiters {} pool {} listen {listen} syn-received {syn} acceptable/other {other}",
                        e.local,
                        e.last_mask,
                        readiness_of(e, sockets),
                        e.queue.waiter_count(),
                        pool.len()
                    );
                }
                Kind::Tcp(TcpState::Stream { handle, .. }) => {
                    let s = sockets.get::<tcp::Socket>(*handle);
                    crate::println!(
                        "[net.dump] stream {id} {} peer {:?}: rx {} tx {} mask {:#x} now {:#x} seen {:?} waiters {} wakes {}",
                        s.state(),
                        s.remote_endpoint(),
                        s.recv_queue(),
                        s.send_queue(),
                        e.last_mask,
                        readiness_of(e, sockets),
                        e.queued,
                        e.queue.waiter_count(),
                        e.queue.wake_count()
                    );
                }
                _ => {}
            }
        }
    }

    fn entry(&mut self, id: Id) -> Result<&mut Entry, Errno> {
        self.entries.get_mut(&id).ok_or(Errno::EBADF)
    }

    /// Whether `port` of `protocol` is taken for a bind of entry `id` to
    /// `addr` (Linux `inet_csk_bind_conflict`, simplified: the same port on
    /// the same or a wildcard address conflicts unless both sockets set
    /// `SO_REUSEPORT`, or both set `SO_REUSEADDR` and the other does not
    /// listen).
    fn port_conflict(&self, id: Id, protocol: Protocol, addr: Option<IpAddress>, port: u16, opts: &Options) -> bool {
        self.entries.iter().any(|(&other_id, other)| {
            let Some(l) = other.local else { return false };
            if other_id == id || protocol_of(&other.kind) != protocol || l.port != port {
                return false;
            }
            let overlap = match (addr, l.addr) {
                (Some(a), Some(b)) => a == b,
                _ => true,
            };
            if !overlap {
                return false;
            }
            if opts.reuse_port && other.options.reuse_port {
                return false;
            }
            let listening = matches!(other.kind, Kind::Tcp(TcpState::Listening { .. }));
            !(opts.reuse_addr && other.options.reuse_addr && !listening && protocol == Protocol::Tcp)
        })
    }

    fn ephemeral_port(&mut self, id: Id, protocol: Protocol, opts: &Options) -> Result<u16, Errno> {
        let span = (EPHEMERAL.end() - EPHEMERAL.start()) as u32 + 1;
        for _ in 0..span {
            let p = self.next_port;
            self.next_port = if p >= *EPHEMERAL.end() { *EPHEMERAL.start() } else { p + 1 };
            let mut o = *opts;
            o.reuse_port = false;
            o.reuse_addr = false;
            if !self.port_conflict(id, protocol, None, p, &o) {
                return Ok(p);
            }
        }
        Err(Errno::EADDRINUSE)
    }
}

fn readiness_of(e: &Entry, sockets: &SocketSet<'static>) -> u32 {
    let mut m = 0;
    if e.error.is_some() {
        m |= mask::ERR;
    }
    match &e.kind {
        Kind::Tcp(TcpState::Idle) => m |= mask::OUT | mask::HUP,
        Kind::Tcp(TcpState::Listening { pool, .. }) => {
            if pool.iter().any(|&h| is_acceptable(sockets.get::<tcp::Socket>(h))) {
                m |= mask::IN;
            }
        }
        Kind::Tcp(TcpState::Stream { handle, .. }) => {
            let s = sockets.get::<tcp::Socket>(*handle);
            use tcp::State::*;
            match s.state() {
                SynSent | SynReceived | Listen => {}
                Closed => m |= mask::IN | mask::RDHUP | mask::HUP | mask::OUT,
                st => {
                    if s.can_recv() || !s.may_recv() || e.shut_rd {
                        m |= mask::IN;
                    }
                    if !s.may_recv() || e.shut_rd {
                        m |= mask::RDHUP;
                    }
                    if s.can_send() || e.shut_wr || !matches!(st, Established | CloseWait) {
                        m |= mask::OUT;
                    }
                    if (e.shut_wr || !s.may_send()) && (!s.may_recv() || e.shut_rd) {
                        m |= mask::HUP;
                    }
                }
            }
        }
        Kind::Udp { handle, .. } => {
            let s = sockets.get::<udp::Socket>(*handle);
            if s.can_recv() {
                m |= mask::IN;
            }
            if s.can_send() {
                m |= mask::OUT;
            }
        }
    }
    m
}

/// A pooled socket holding a connection `accept` can take.
fn is_acceptable(s: &tcp::Socket) -> bool {
    !matches!(s.state(), tcp::State::Listen | tcp::State::SynReceived | tcp::State::Closed)
}

impl Stack {
    /// `socket`: a new entry; its id and wait queue.
    pub fn socket_create(&mut self, family: u16, protocol: Protocol) -> Result<(Id, Arc<WaitQueue>), Errno> {
        let t = &mut self.table;
        let options = Options {
            reuse_addr: false,
            reuse_port: false,
            keepalive: false,
            nodelay: false,
            rcvbuf: DEFAULT_BUFFER,
            sndbuf: DEFAULT_BUFFER,
            rcvtimeo_ns: 0,
            sndtimeo_ns: 0,
            v6only: false,
        };
        let kind = match protocol {
            Protocol::Tcp => Kind::Tcp(TcpState::Idle),
            Protocol::Udp => Kind::Udp { handle: t.add_udp(&mut self.sockets, &options)?, peer: None },
        };
        let id = t.next_id;
        t.next_id += 1;
        let queue = Arc::new(WaitQueue::new());
        let mut e = Entry {
            family,
            kind,
            local: None,
            options,
            error: None,
            shut_rd: false,
            shut_wr: false,
            queue: queue.clone(),
            last_mask: 0,
            queued: (0, 0),
        };
        e.last_mask = readiness_of(&e, &self.sockets);
        t.entries.insert(id, e);
        Ok((id, queue))
    }

    /// The last close of a socket: a connection sends FIN (RST if data the
    /// app never read is left, as Linux's `tcp_close`), a listener resets
    /// the connections nobody accepted.
    pub fn socket_close(&mut self, id: Id) {
        let Some(e) = self.table.entries.remove(&id) else { return };
        match e.kind {
            Kind::Tcp(TcpState::Idle) => {}
            Kind::Tcp(TcpState::Listening { pool, .. }) => {
                for h in pool {
                    self.table.syn_since.remove(&h);
                    let s = self.sockets.get_mut::<tcp::Socket>(h);
                    s.abort();
                    self.table.closing.push(h);
                }
            }
            Kind::Tcp(TcpState::Stream { handle, .. }) => {
                let s = self.sockets.get_mut::<tcp::Socket>(handle);
                if s.recv_queue() > 0 {
                    s.abort();
                } else {
                    s.close();
                }
                self.table.closing.push(handle);
            }
            Kind::Udp { handle, .. } => {
                self.table.remove(&mut self.sockets, handle);
            }
        }
        e.queue.wake_all();
        self.poll_from_call();
    }

    /// How many connections the app closed are not finished yet (after a
    /// poll): they still hold data or a FIN the peer has not acknowledged,
    /// or wait for the peer's FIN (`FIN-WAIT-2`: what the peer acknowledged
    /// may still sit in a buffer on its way, QEMU's user network's for
    /// one). `TIME-WAIT` and closed ones are finished.
    pub fn connections_not_finished(&mut self) -> usize {
        self.poll_from_call();
        let sockets = &self.sockets;
        self.table
            .closing
            .iter()
            .filter(|&&h| {
                matches!(
                    sockets.get::<tcp::Socket>(h).state(),
                    tcp::State::FinWait1 | tcp::State::FinWait2 | tcp::State::Closing | tcp::State::LastAck
                )
            })
            .count()
    }

    /// The entry's readiness ([`mask`] bits), as of now.
    pub fn readiness(&mut self, id: Id) -> u32 {
        match self.table.entries.get(&id) {
            Some(e) => readiness_of(e, &self.sockets),
            None => mask::HUP | mask::ERR,
        }
    }

    /// The entry's options.
    pub fn options(&mut self, id: Id) -> Result<Options, Errno> {
        Ok(self.table.entry(id)?.options)
    }

    /// Changes the entry's options (`setsockopt`): `f` edits a copy, which
    /// is checked and applied.
    pub fn set_options(&mut self, id: Id, f: impl FnOnce(&mut Options)) -> Result<(), Errno> {
        let e = self.table.entry(id)?;
        let mut o = e.options;
        f(&mut o);
        o.rcvbuf = o.rcvbuf.clamp(MIN_BUFFER, MAX_BUFFER);
        o.sndbuf = o.sndbuf.clamp(MIN_BUFFER, MAX_BUFFER);
        e.options = o;
        if let Kind::Tcp(TcpState::Stream { handle, .. }) = e.kind {
            apply_tcp_options(self.sockets.get_mut::<tcp::Socket>(handle), &o);
        }
        Ok(())
    }

    /// `SO_ERROR`: the pending error, cleared.
    pub fn take_error(&mut self, id: Id) -> Result<Option<Errno>, Errno> {
        self.stream_errors(id)?;
        Ok(self.table.entry(id)?.error.take())
    }

    /// `SO_ACCEPTCONN`.
    pub fn is_listening(&mut self, id: Id) -> Result<bool, Errno> {
        Ok(matches!(self.table.entry(id)?.kind, Kind::Tcp(TcpState::Listening { .. })))
    }

    /// `bind`.
    pub fn bind(&mut self, id: Id, addr: &SocketAddress) -> Result<(), Errno> {
        let ep = endpoint_of(addr);
        let e = self.table.entry(id)?;
        if e.family == AF_INET && addr.family() != AF_INET {
            return Err(Errno::EAFNOSUPPORT);
        }
        if e.local.is_some() {
            return Err(Errno::EINVAL);
        }
        let (protocol, opts) = (protocol_of(&e.kind), e.options);
        if !matches!(e.kind, Kind::Tcp(TcpState::Idle) | Kind::Udp { .. }) {
            return Err(Errno::EINVAL);
        }
        let addr = (!is_unspecified(&ep.addr)).then_some(ep.addr);
        if let Some(a) = addr
            && !self.iface.has_ip_addr(a)
            && !matches!(a, IpAddress::Ipv4(v4) if v4.is_loopback() || v4.is_broadcast())
        {
            return Err(Errno::EADDRNOTAVAIL);
        }
        let port = if ep.port == 0 {
            self.table.ephemeral_port(id, protocol, &opts)?
        } else {
            if self.table.port_conflict(id, protocol, addr, ep.port, &opts) {
                return Err(Errno::EADDRINUSE);
            }
            ep.port
        };
        let local = IpListenEndpoint { addr, port };
        let e = self.table.entry(id)?;
        if let Kind::Udp { handle, .. } = e.kind {
            self.sockets.get_mut::<udp::Socket>(handle).bind(local).map_err(|_| Errno::EINVAL)?;
        }
        self.table.entry(id)?.local = Some(local);
        Ok(())
    }

    /// Binds to an ephemeral port if the entry is not bound.
    fn autobind(&mut self, id: Id) -> Result<IpListenEndpoint, Errno> {
        let e = self.table.entry(id)?;
        if let Some(l) = e.local {
            return Ok(l);
        }
        let unspecified = match e.family {
            AF_INET6 => SocketAddress::V6 { addr: [0; 16], port: 0, flowinfo: 0, scope_id: 0 },
            _ => SocketAddress::V4 { addr: [0; 4], port: 0 },
        };
        self.bind(id, &unspecified)?;
        Ok(self.table.entry(id)?.local.expect("bound above"))
    }

    /// `listen`.
    pub fn listen(&mut self, id: Id, backlog: i32) -> Result<(), Errno> {
        let e = self.table.entry(id)?;
        let want = (backlog.max(1) as usize).min(MAX_BACKLOG);
        match &mut e.kind {
            Kind::Udp { .. } => return Err(Errno::EOPNOTSUPP),
            Kind::Tcp(TcpState::Stream { .. }) => return Err(Errno::EINVAL),
            Kind::Tcp(TcpState::Listening { pool, .. }) => {
                // A second listen changes the backlog (only growing it here).
                let (opts, local, have) = (e.options, e.local.expect("a listener is bound"), pool.len());
                let mut more = Vec::new();
                for _ in have..want {
                    match self.table.add_tcp(&mut self.sockets, &opts, |s| s.listen(local).map_err(|_| Errno::EINVAL)) {
                        Ok(h) => more.push(h),
                        // Fewer than asked: Linux also bounds the backlog silently.
                        Err(_) => break,
                    }
                }
                if let Kind::Tcp(TcpState::Listening { pool, backlog }) = &mut self.table.entry(id)?.kind {
                    pool.extend(more);
                    *backlog = want;
                }
                return Ok(());
            }
            Kind::Tcp(TcpState::Idle) => {}
        }
        let local = self.autobind(id)?;
        let opts = self.table.entry(id)?.options;
        let mut pool = Vec::new();
        if pool.try_reserve(want).is_err() {
            return Err(Errno::ENOBUFS);
        }
        for _ in 0..want {
            match self.table.add_tcp(&mut self.sockets, &opts, |s| s.listen(local).map_err(|_| Errno::EINVAL)) {
                Ok(h) => pool.push(h),
                Err(e) if pool.is_empty() => return Err(e),
                // A smaller backlog when socket memory is short.
                Err(_) => break,
            }
        }
        self.table.entry(id)?.kind = Kind::Tcp(TcpState::Listening { pool, backlog: want });
        self.poll_from_call();
        Ok(())
    }

    /// `accept` (non-blocking): a new entry for the first established
    /// connection, and the peer's address; `EAGAIN` if none.
    pub fn accept(&mut self, id: Id) -> Result<(Id, Arc<WaitQueue>, SocketAddress), Errno> {
        let e = self.table.entry(id)?;
        let (family, options, local) = (e.family, e.options, e.local);
        let Kind::Tcp(TcpState::Listening { pool, .. }) = &mut e.kind else {
            return Err(Errno::EINVAL);
        };
        let sockets = &mut self.sockets;
        let Some(i) = pool.iter().position(|&h| is_acceptable(sockets.get::<tcp::Socket>(h))) else {
            return Err(Errno::EAGAIN);
        };
        let handle = pool.swap_remove(i);
        self.table.syn_since.remove(&handle);
        // A fresh listener takes the accepted one's place in the pool (if
        // socket memory allows: else the backlog shrinks for now).
        let local = local.expect("a listener is bound");
        if let Ok(fresh) =
            self.table.add_tcp(&mut self.sockets, &options, |s| s.listen(local).map_err(|_| Errno::EINVAL))
            && let Kind::Tcp(TcpState::Listening { pool, .. }) = &mut self.table.entry(id)?.kind
        {
            pool.push(fresh);
        }
        let sockets = &mut self.sockets;
        let s = sockets.get_mut::<tcp::Socket>(handle);
        let peer = s.remote_endpoint().map(|r| address_of(family, Some(r.addr), r.port));
        let mine = s.local_endpoint().map(|l| IpListenEndpoint { addr: Some(l.addr), port: l.port });
        let t = &mut self.table;
        let new_id = t.next_id;
        t.next_id += 1;
        let queue = Arc::new(WaitQueue::new());
        let mut entry = Entry {
            family,
            kind: Kind::Tcp(TcpState::Stream {
                handle,
                connecting: false,
                connect_deadline: 0,
                we_closed: false,
                reset_seen: false,
            }),
            local: mine,
            options,
            error: None,
            shut_rd: false,
            shut_wr: false,
            queue: queue.clone(),
            last_mask: 0,
            queued: (0, 0),
        };
        entry.last_mask = readiness_of(&entry, &self.sockets);
        entry.queued = queued_of(&entry, &self.sockets);
        t.entries.insert(new_id, entry);
        self.poll_from_call();
        // A connection reset before accept still gives an entry, whose
        // first read reports it; its peer may be gone.
        let peer = peer.unwrap_or(address_of(family, None, 0));
        Ok((new_id, queue, peer))
    }

    /// Moves a finished connect's outcome into the entry: the error of a
    /// failed one (`SO_ERROR`), or a reset of an established connection.
    fn stream_errors(&mut self, id: Id) -> Result<(), Errno> {
        let e = self.table.entry(id)?;
        let Kind::Tcp(TcpState::Stream { handle, connecting, connect_deadline, we_closed, reset_seen }) = &mut e.kind
        else {
            return Ok(());
        };
        let s = self.sockets.get::<tcp::Socket>(*handle);
        let state = s.state();
        if *connecting {
            match state {
                tcp::State::SynSent | tcp::State::SynReceived => {}
                tcp::State::Closed => {
                    *connecting = false;
                    *reset_seen = true;
                    let late = crate::time::rdtsc() >= *connect_deadline;
                    e.error = Some(if late { Errno::ETIMEDOUT } else { Errno::ECONNREFUSED });
                }
                _ => *connecting = false,
            }
        } else if state == tcp::State::Closed && !*we_closed && !*reset_seen {
            // Closed without our FIN: a reset (or a retransmission timeout).
            *reset_seen = true;
            if !e.shut_wr {
                e.error = Some(Errno::ECONNRESET);
            }
        }
        Ok(())
    }

    /// `connect` (non-blocking part): starts the handshake (`Ok(true)`:
    /// started now, the caller waits or answers `EINPROGRESS`), or reports
    /// how an earlier one ended (`Ok(false)`: connected now).
    pub fn connect(&mut self, id: Id, to: &SocketAddress) -> Result<bool, Errno> {
        self.stream_errors(id)?;
        let remote = endpoint_of(to);
        let e = self.table.entry(id)?;
        if e.family == AF_INET && to.family() != AF_INET {
            return Err(Errno::EAFNOSUPPORT);
        }
        match &mut e.kind {
            Kind::Udp { handle, peer } => {
                let h = *handle;
                *peer = if is_unspecified(&remote.addr) { None } else { Some(remote) };
                let _ = h;
                self.autobind(id)?;
                return Ok(false);
            }
            Kind::Tcp(TcpState::Listening { .. }) => return Err(Errno::EINVAL),
            Kind::Tcp(TcpState::Stream { connecting, .. }) => {
                if *connecting {
                    return Err(Errno::EALREADY);
                }
                if let Some(err) = e.error.take() {
                    return Err(err);
                }
                return Err(Errno::EISCONN);
            }
            Kind::Tcp(TcpState::Idle) => {}
        }
        if remote.port == 0 || is_unspecified(&remote.addr) {
            return Err(Errno::ECONNREFUSED);
        }
        let local = self.autobind(id)?;
        let options = self.table.entry(id)?.options;
        let cx = self.iface.context();
        let handle = self.table.add_tcp(&mut self.sockets, &options, |s| {
            s.set_timeout(Some(Duration::from_millis(CONNECT_TIMEOUT_MS)));
            s.connect(cx, remote, local).map_err(|err| match err {
                tcp::ConnectError::Unaddressable => Errno::ENETUNREACH,
                tcp::ConnectError::InvalidState => Errno::EISCONN,
            })
        })?;
        let e = self.table.entry(id)?;
        e.kind = Kind::Tcp(TcpState::Stream {
            handle,
            connecting: true,
            connect_deadline: crate::time::deadline_after(CONNECT_TIMEOUT_MS * 1_000_000),
            we_closed: false,
            reset_seen: false,
        });
        self.poll_from_call();
        Ok(true)
    }

    /// After a blocking connect's wait: `Ok(())` if connected, its error
    /// if it failed, `EAGAIN` if still under way.
    pub fn connect_result(&mut self, id: Id) -> Result<(), Errno> {
        self.stream_errors(id)?;
        let e = self.table.entry(id)?;
        match &e.kind {
            Kind::Tcp(TcpState::Stream { connecting: true, .. }) => Err(Errno::EAGAIN),
            _ => match e.error.take() {
                Some(err) => Err(err),
                None => Ok(()),
            },
        }
    }

    /// `send`/`write` on a connection (or a UDP socket with a peer, or to
    /// `to`). `Ok(n)` bytes taken; `EAGAIN` when there is no room.
    pub fn send(&mut self, id: Id, data: &[u8], to: Option<&SocketAddress>) -> Result<usize, Errno> {
        self.stream_errors(id)?;
        let e = self.table.entry(id)?;
        let family = e.family;
        match &mut e.kind {
            Kind::Tcp(TcpState::Idle) | Kind::Tcp(TcpState::Listening { .. }) => Err(Errno::ENOTCONN),
            Kind::Tcp(TcpState::Stream { handle, connecting, .. }) => {
                if to.is_some() {
                    // Linux ignores the address on a connected stream socket.
                }
                if *connecting {
                    return Err(Errno::EAGAIN);
                }
                if let Some(err) = e.error.take() {
                    return Err(err);
                }
                let h = *handle;
                let s = self.sockets.get_mut::<tcp::Socket>(h);
                if e.shut_wr || !s.may_send() {
                    // The caller raises SIGPIPE (`super::sigpipe`).
                    return Err(Errno::EPIPE);
                }
                if data.is_empty() {
                    return Ok(0);
                }
                let n = s.send_slice(data).map_err(|_| Errno::EPIPE)?;
                e.queued.1 = s.send_queue();
                if n == 0 {
                    return Err(Errno::EAGAIN);
                }
                self.poll_from_call();
                Ok(n)
            }
            Kind::Udp { handle, peer } => {
                let dest = match to {
                    Some(a) => {
                        if family == AF_INET && a.family() != AF_INET {
                            return Err(Errno::EAFNOSUPPORT);
                        }
                        endpoint_of(a)
                    }
                    None => peer.ok_or(Errno::EDESTADDRREQ)?,
                };
                let h = *handle;
                let max = if matches!(dest.addr, IpAddress::Ipv4(_)) { MAX_UDP_PAYLOAD_V4 } else { MAX_UDP_PAYLOAD_V6 };
                if data.len() > max {
                    return Err(Errno::EMSGSIZE);
                }
                if dest.port == 0 {
                    return Err(Errno::EINVAL);
                }
                self.autobind(id)?;
                let s = self.sockets.get_mut::<udp::Socket>(h);
                if data.len() > s.payload_send_capacity() {
                    // It would never fit (SO_SNDBUF made small): an error
                    // rather than a wait for ever. Linux sends it anyway.
                    return Err(Errno::EMSGSIZE);
                }
                match s.send_slice(data, dest) {
                    Ok(()) => {}
                    Err(udp::SendError::BufferFull) => return Err(Errno::EAGAIN),
                    Err(udp::SendError::Unaddressable) => return Err(Errno::ENETUNREACH),
                }
                self.poll_from_call();
                Ok(data.len())
            }
        }
    }

    /// `recv`/`read`: into `buf`; `EAGAIN` when nothing waits. `peek`
    /// leaves the data (`MSG_PEEK`). A connection's end reads as 0.
    pub fn recv(&mut self, id: Id, buf: &mut [u8], peek: bool) -> Result<Received, Errno> {
        self.stream_errors(id)?;
        let e = self.table.entry(id)?;
        let family = e.family;
        match &mut e.kind {
            Kind::Tcp(TcpState::Idle) | Kind::Tcp(TcpState::Listening { .. }) => Err(Errno::ENOTCONN),
            Kind::Tcp(TcpState::Stream { handle, connecting, .. }) => {
                if *connecting {
                    return Err(Errno::EAGAIN);
                }
                let h = *handle;
                let s = self.sockets.get_mut::<tcp::Socket>(h);
                if s.can_recv() && !buf.is_empty() {
                    let n = if peek { s.peek_slice(buf) } else { s.recv_slice(buf) }.unwrap_or(0);
                    e.queued.0 = s.recv_queue();
                    if !peek {
                        // The window opened: tell the peer now.
                        self.poll_from_call();
                    }
                    return Ok(Received { len: n, full_len: n, from: None });
                }
                if let Some(err) = e.error.take() {
                    return Err(err);
                }
                if e.shut_rd || !s.may_recv() || buf.is_empty() {
                    return Ok(Received { len: 0, full_len: 0, from: None });
                }
                Err(Errno::EAGAIN)
            }
            Kind::Udp { handle, peer } => {
                let (h, peer) = (*handle, *peer);
                let s = self.sockets.get_mut::<udp::Socket>(h);
                loop {
                    let (data, meta) = match s.peek() {
                        Ok(x) => x,
                        Err(_) => {
                            return if e.shut_rd {
                                Ok(Received { len: 0, full_len: 0, from: None })
                            } else {
                                Err(Errno::EAGAIN)
                            };
                        }
                    };
                    // A connected UDP socket takes only its peer's datagrams.
                    if let Some(p) = peer
                        && meta.endpoint != p
                    {
                        let _ = s.recv();
                        continue;
                    }
                    let n = data.len().min(buf.len());
                    buf[..n].copy_from_slice(&data[..n]);
                    let full_len = data.len();
                    let from = address_of(family, Some(meta.endpoint.addr), meta.endpoint.port);
                    if !peek {
                        let _ = s.recv();
                    }
                    return Ok(Received { len: n, full_len, from: Some(from) });
                }
            }
        }
    }

    /// `shutdown`.
    pub fn shutdown(&mut self, id: Id, read: bool, write: bool) -> Result<(), Errno> {
        self.stream_errors(id)?;
        let e = self.table.entry(id)?;
        match &mut e.kind {
            Kind::Tcp(TcpState::Stream { handle, connecting: false, we_closed, .. }) => {
                let h = *handle;
                if write && !e.shut_wr {
                    e.shut_wr = true;
                    *we_closed = true;
                    self.sockets.get_mut::<tcp::Socket>(h).close();
                }
                if read {
                    e.shut_rd = true;
                }
            }
            Kind::Tcp(TcpState::Listening { .. }) if read => {
                // Linux: shutdown(SHUT_RD) of a listener stops it; blocked
                // accepts wake with EINVAL.
                e.shut_rd = true;
            }
            Kind::Udp { .. } => {
                e.shut_rd |= read;
                e.shut_wr |= write;
            }
            _ => return Err(Errno::ENOTCONN),
        }
        e.queue.wake_all();
        self.poll_from_call();
        Ok(())
    }

    /// Whether the entry was shut down for reading (a blocked `accept` or
    /// `recv` then returns).
    pub fn is_shut_rd(&mut self, id: Id) -> bool {
        self.table.entries.get(&id).is_none_or(|e| e.shut_rd)
    }

    /// `getsockname`.
    pub fn local_address(&mut self, id: Id) -> Result<SocketAddress, Errno> {
        let e = self.table.entry(id)?;
        if let Kind::Tcp(TcpState::Stream { handle, .. }) = e.kind
            && let Some(l) = self.sockets.get::<tcp::Socket>(handle).local_endpoint()
        {
            return Ok(address_of(e.family, Some(l.addr), l.port));
        }
        Ok(match e.local {
            Some(l) => address_of(e.family, l.addr, l.port),
            None => address_of(e.family, None, 0),
        })
    }

    /// `getpeername`.
    pub fn peer_address(&mut self, id: Id) -> Result<SocketAddress, Errno> {
        self.stream_errors(id)?;
        let e = self.table.entry(id)?;
        match e.kind {
            Kind::Tcp(TcpState::Stream { handle, connecting: false, .. }) => {
                let s = self.sockets.get::<tcp::Socket>(handle);
                match s.remote_endpoint() {
                    Some(r) if s.state() != tcp::State::Closed => Ok(address_of(e.family, Some(r.addr), r.port)),
                    _ => Err(Errno::ENOTCONN),
                }
            }
            Kind::Udp { peer: Some(p), .. } => Ok(address_of(e.family, Some(p.addr), p.port)),
            _ => Err(Errno::ENOTCONN),
        }
    }

    /// Bytes waiting to be read (`FIONREAD`).
    pub fn bytes_waiting(&mut self, id: Id) -> Result<usize, Errno> {
        let e = self.table.entry(id)?;
        Ok(match e.kind {
            Kind::Tcp(TcpState::Stream { handle, .. }) => self.sockets.get::<tcp::Socket>(handle).recv_queue(),
            Kind::Udp { handle, .. } => self.sockets.get_mut::<udp::Socket>(handle).peek().map_or(0, |(d, _)| d.len()),
            _ => 0,
        })
    }
}
