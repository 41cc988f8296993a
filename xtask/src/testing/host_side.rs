//! The host side of the network tests: while an app's tests run, the
//! xtask connects to the ports it forwards to the guest (QEMU user
//! networking, `hostfwd`) and plays the client, judging what comes back.
//!
//! A guest test asks for a host action by printing a line on its console,
//! `net-host: ACTION GUESTPORT [ARGS]`, once it listens on GUESTPORT; the
//! runner starts the action on a thread against the host port forwarded to
//! GUESTPORT. Each action gives one result line, `<app>::host::<ACTION>`,
//! besides the guest's own (the guest judges its side). Actions:
//!
//! - `echo PORT N BYTES`: N connections at once, each sends BYTES
//!   pseudo-random bytes (an 8-byte seed first, so the guest can check
//!   them) and must read the same bytes back; hashes compared.
//! - `bulk PORT BYTES`: one connection sends BYTES, then reads BYTES the
//!   guest sends back generated from the same seed, and the guest's
//!   8-byte hash of what it received.
//! - `udp PORT MAX`: datagrams of sizes 1..=MAX (steps), each must come
//!   back equal.
//! - `reset PORT`: connects, sends 1000 bytes, then resets the connection
//!   (SO_LINGER 0) mid-transfer.
//! - `flood PORT N`: opens N connections the guest does not accept, holds
//!   them, drops them, then a new client must get `PONG` for `PING`.
//! - `datagrams PORT`: sends `still here` to the UDP port every 200 ms
//!   for 10 s (the guest may take any of them).
//! - `exit PORT`: connects and expects the connection to end (EOF or
//!   reset) when the guest app exits without closing it.
//! - `serve PORT N BYTES`: the host is the server: it listens on a free
//!   port of its own, connects to PORT and sends that port number (2
//!   bytes, little-endian), then takes N connections from the guest (to
//!   10.0.2.2, QEMU's address of the host), each an 8-byte seed then
//!   BYTES of the seed's stream, which it checks and echoes back.

use std::collections::hash_map::DefaultHasher;
use std::hash::Hasher;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, UdpSocket};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use libos_abi::test_data::{self, FNV_START, Stream};

use crate::emulator::network::{Forward, Network};
use crate::testing::serial_protocol::TestResult;

/// The console marker of a request.
const MARKER: &str = "net-host: ";

/// The guest ports the network test apps use; each gets a host port.
pub const GUEST_PORTS: &[u16] = &[7, 8, 9, 10, 11, 12];

/// The suites whose boots have a host side: the libos app and the static
/// Linux programs on `std::net` and tokio.
pub const APPS: &[&str] = &[
    crate::testing::plan::NET_TESTS_APP,
    crate::build::linux_programs::NET_STD,
    crate::build::linux_programs::NET_TOKIO,
];

/// The environment variable that asks for the network tests at the
/// issue's full scale (`LIBOS_NET_FULL_SCALE=1 cargo xtask test net`): the
/// guests get `env=NET_FULL_SCALE=1` (200 echo connections of 1 MiB, a
/// 256 MiB transfer) and `udp` sends every size.
pub const FULL_SCALE_ENV: &str = "LIBOS_NET_FULL_SCALE";

/// Whether [`FULL_SCALE_ENV`] is set to 1.
pub fn full_scale() -> bool {
    std::env::var_os(FULL_SCALE_ENV).is_some_and(|v| v == "1")
}

/// How long one action may take.
const ACTION_TIMEOUT: Duration = Duration::from_secs(120);

/// The network of a boot of `app`, if its tests have a host side: every
/// port of [`GUEST_PORTS`] forwarded from a free host port.
pub fn network_for(app: &str) -> std::io::Result<Option<Network>> {
    if !APPS.contains(&app) {
        return Ok(None);
    }
    let mut forwards = Vec::new();
    for &guest in GUEST_PORTS {
        forwards.push(Forward { host: crate::emulator::network::free_port()?, guest });
    }
    Ok(Some(Network { forwards }))
}

/// The host side of one boot.
pub struct HostSide {
    app: String,
    network: Network,
    partial: Vec<u8>,
    running: Vec<(String, JoinHandle<Result<(), String>>)>,
}

impl HostSide {
    /// For a boot of `app` with `network`.
    pub fn new(app: &str, network: Network) -> HostSide {
        HostSide { app: app.replace('-', "_"), network, partial: Vec::new(), running: Vec::new() }
    }

    /// Console output: starts the actions it asks for.
    pub fn feed(&mut self, chunk: &[u8]) {
        self.partial.extend_from_slice(chunk);
        while let Some(i) = self.partial.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.partial.drain(..=i).collect();
            let line = String::from_utf8_lossy(&line);
            if let Some(at) = line.find(MARKER) {
                self.start(line[at + MARKER.len()..].trim());
            }
        }
    }

    fn start(&mut self, request: &str) {
        let words: Vec<&str> = request.split_whitespace().collect();
        let name = format!("{}::host::{}", self.app, words.first().copied().unwrap_or("?"));
        let nums: Vec<u64> = words.iter().skip(1).filter_map(|w| w.parse().ok()).collect();
        let port = nums.first().and_then(|&g| self.network.host_port(g as u16));
        let Some(port) = port else {
            let msg = format!("no host port for `{request}`");
            self.running.push((name, std::thread::spawn(move || Err(msg))));
            return;
        };
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let action = words[0].to_string();
        let args = nums[1..].to_vec();
        let handle = std::thread::spawn(move || run(&action, addr, &args));
        self.running.push((name, handle));
    }

    /// Waits for the actions (their own timeouts bound this) and gives
    /// their results.
    pub fn finish(self) -> Vec<TestResult> {
        self.running
            .into_iter()
            .map(|(name, h)| match h.join() {
                Ok(Ok(())) => TestResult::ok(name),
                Ok(Err(why)) => TestResult::failed(name, why),
                Err(_) => TestResult::failed(name, "the host side panicked"),
            })
            .collect()
    }
}

fn run(action: &str, addr: SocketAddr, args: &[u64]) -> Result<(), String> {
    let arg = |i: usize| args.get(i).copied().ok_or_else(|| format!("{action}: missing argument {i}"));
    match action {
        "echo" => echo(addr, arg(0)? as usize, arg(1)? as usize),
        "bulk" => bulk(addr, arg(0)? as usize),
        "udp" => udp(addr, arg(0)? as usize),
        "reset" => reset(addr),
        "flood" => flood(addr, arg(0)? as usize),
        "exit" => exit(addr),
        "datagrams" => datagrams(addr),
        "serve" => serve(addr, arg(0)? as usize, arg(1)? as usize),
        "collect" => collect(addr, arg(0)? as usize),
        other => Err(format!("unknown host action `{other}`")),
    }
}

fn connect(addr: SocketAddr) -> Result<TcpStream, String> {
    let s = TcpStream::connect_timeout(&addr, Duration::from_secs(20)).map_err(|e| format!("connect {addr}: {e}"))?;
    s.set_read_timeout(Some(ACTION_TIMEOUT)).map_err(|e| e.to_string())?;
    s.set_write_timeout(Some(ACTION_TIMEOUT)).map_err(|e| e.to_string())?;
    Ok(s)
}

/// One echo client: seed, BYTES of data out while reading them back.
fn echo_one(addr: SocketAddr, seed: u64, bytes: usize, start: &std::sync::Barrier) -> Result<(), String> {
    let s = connect(addr);
    start.wait();
    let mut s = s?;
    // The host's port is the peer port the guest sees (QEMU's user network
    // keeps it): the lines of the kernel's `net.dump=` name it too.
    let name = format!("connection {seed} (host port {})", s.local_addr().map_or(0, |a| a.port()));
    s.write_all(&seed.to_le_bytes()).map_err(|e| format!("{name}: {e}"))?;
    let reader = s.try_clone().map_err(|e| e.to_string())?;
    let back = std::thread::spawn(move || -> Result<u64, String> {
        let mut r = reader;
        let mut h = DefaultHasher::new();
        let mut buf = vec![0u8; 16384];
        let mut got = 0;
        while got < bytes {
            let n = r.read(&mut buf[..(bytes - got).min(16384)]).map_err(|e| format!("read after {got}: {e}"))?;
            if n == 0 {
                return Err(format!("EOF after {got} of {bytes} bytes"));
            }
            h.write(&buf[..n]);
            got += n;
        }
        Ok(h.finish())
    });
    let mut stream = Stream::new(seed);
    let mut h = DefaultHasher::new();
    let mut buf = vec![0u8; 16384];
    let mut sent = 0;
    while sent < bytes {
        let n = (bytes - sent).min(buf.len());
        stream.fill(&mut buf[..n]);
        h.write(&buf[..n]);
        s.write_all(&buf[..n]).map_err(|e| format!("{name}: write after {sent}: {e}"))?;
        sent += n;
    }
    let got = back.join().map_err(|_| "reader panicked".to_string())?.map_err(|e| format!("{name}: {e}"))?;
    if got != h.finish() {
        return Err(format!("{name}: the echo differs from what was sent"));
    }
    Ok(())
}

fn echo(addr: SocketAddr, n: usize, bytes: usize) -> Result<(), String> {
    let started = Instant::now();
    // The connections are made one after the other, 20 ms apart, then
    // all transfer at once: QEMU's user network takes a forwarded port's
    // connections from a host listening socket with a tiny backlog, and a
    // burst of connects there is reset before it reaches the guest (seen:
    // 27 of 32 SYNs arrived, the guest sent no RST).
    let start = std::sync::Arc::new(std::sync::Barrier::new(n));
    let clients: Vec<_> = (0..n)
        .map(|i| {
            std::thread::sleep(Duration::from_millis(20));
            let start = start.clone();
            std::thread::spawn(move || echo_one(addr, i as u64 + 1, bytes, &start))
        })
        .collect();
    let mut errors = Vec::new();
    for c in clients {
        if let Err(e) = c.join().unwrap_or_else(|_| Err("client panicked".into())) {
            errors.push(e);
        }
    }
    if let Some(e) = errors.first() {
        return Err(format!("{} of {n} connections failed; first: {e}", errors.len()));
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "    [host] echo: {n} x {bytes} bytes in {secs:.1} s ({:.1} MB/s each way)",
        (n * bytes) as f64 / secs / 1e6
    );
    Ok(())
}

fn bulk(addr: SocketAddr, bytes: usize) -> Result<(), String> {
    let started = Instant::now();
    let mut s = connect(addr)?;
    let seed = 0x5eed_u64;
    let mut stream = Stream::new(seed);
    let mut h = DefaultHasher::new();
    let mut buf = vec![0u8; 65536];
    let mut sent = 0;
    while sent < bytes {
        let n = (bytes - sent).min(buf.len());
        stream.fill(&mut buf[..n]);
        h.write(&buf[..n]);
        s.write_all(&buf[..n]).map_err(|e| format!("write after {sent}: {e}"))?;
        sent += n;
    }
    s.shutdown(Shutdown::Write).map_err(|e| e.to_string())?;
    let up = started.elapsed().as_secs_f64();
    // The guest's hash of what it got, then the same stream back.
    let mut theirs = [0u8; 8];
    s.read_exact(&mut theirs).map_err(|e| format!("reading the guest's hash: {e}"))?;
    let mut stream = Stream::new(seed);
    let mut want = vec![0u8; 65536];
    let mut got = 0;
    let t1 = Instant::now();
    while got < bytes {
        let n = (bytes - got).min(buf.len());
        s.read_exact(&mut buf[..n]).map_err(|e| format!("read after {got}: {e}"))?;
        stream.fill(&mut want[..n]);
        if buf[..n] != want[..n] {
            return Err(format!("the guest's data differs in bytes {got}..{}", got + n));
        }
        got += n;
    }
    let down = t1.elapsed().as_secs_f64();
    let guest_hash = u64::from_le_bytes(theirs);
    let ours = fnv(bytes, seed);
    if guest_hash != ours {
        return Err(format!("the guest hashed {guest_hash:#x}, the host sent {ours:#x}"));
    }
    println!(
        "    [host] bulk: {bytes} bytes host to guest {:.1} MB/s, guest to host {:.1} MB/s",
        bytes as f64 / up / 1e6,
        bytes as f64 / down / 1e6
    );
    Ok(())
}

/// FNV-1a of the first `bytes` bytes of `Stream::new(seed)` (what the guest computes).
fn fnv(bytes: usize, seed: u64) -> u64 {
    let mut stream = Stream::new(seed);
    let mut buf = vec![0u8; 65536];
    let mut h = FNV_START;
    let mut done = 0;
    while done < bytes {
        let n = (bytes - done).min(buf.len());
        stream.fill(&mut buf[..n]);
        h = test_data::fnv(h, &buf[..n]);
        done += n;
    }
    h
}

fn udp(addr: SocketAddr, max: usize) -> Result<(), String> {
    let s = UdpSocket::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_millis(500))).map_err(|e| e.to_string())?;
    let sizes = udp_sizes(max, full_scale());
    let mut stream = Stream::new(99);
    let mut buf = vec![0u8; 65536];
    for &size in &sizes {
        let mut out = vec![0u8; size];
        stream.fill(&mut out);
        // Datagrams may be lost: a few tries each. The echo of an earlier,
        // smaller datagram that was resent may still come in late: skipped.
        let mut ok = false;
        'tries: for _ in 0..5 {
            s.send_to(&out, addr).map_err(|e| format!("send {size}: {e}"))?;
            loop {
                match s.recv_from(&mut buf) {
                    Ok((n, _)) if buf[..n] == out[..] => {
                        ok = true;
                        break 'tries;
                    }
                    Ok((n, _)) if n < size => continue,
                    Ok((n, _)) => return Err(format!("sent {size} bytes, got back {n} different ones")),
                    Err(_) => continue 'tries,
                }
            }
        }
        if !ok {
            return Err(format!("no echo of a {size}-byte datagram in 5 tries"));
        }
    }
    // Tell the guest we are done.
    s.send_to(b"", addr).map_err(|e| e.to_string())?;
    Ok(())
}

/// The datagram sizes of `udp MAX`: 1..=16, then every 997th size (every
/// size with `full`), and the edges: one frame's payload (1472) and one
/// more, two fragments' and one more, 8192, and MAX and one less.
fn udp_sizes(max: usize, full: bool) -> Vec<usize> {
    let mut sizes: Vec<usize> = (1..=16.min(max)).collect();
    sizes.extend((17..=max).step_by(if full { 1 } else { 997 }));
    sizes.extend([1472, 1473, 2952, 2953, 8192, max - 1, max].into_iter().filter(|&s| s <= max));
    sizes.sort_unstable();
    sizes.dedup();
    sizes
}

fn reset(addr: SocketAddr) -> Result<(), String> {
    let mut s = connect(addr)?;
    s.write_all(&[7u8; 1000]).map_err(|e| e.to_string())?;
    std::thread::sleep(Duration::from_millis(300));
    // SO_LINGER 0: close sends RST.
    let l = libc::linger { l_onoff: 1, l_linger: 0 };
    // SAFETY: a valid socket and a `struct linger` of the size given.
    let r = unsafe {
        libc::setsockopt(
            std::os::fd::AsRawFd::as_raw_fd(&s),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            &l as *const libc::linger as *const libc::c_void,
            std::mem::size_of::<libc::linger>() as u32,
        )
    };
    if r != 0 {
        return Err("setsockopt(SO_LINGER)".into());
    }
    drop(s);
    Ok(())
}

fn flood(addr: SocketAddr, n: usize) -> Result<(), String> {
    // QEMU's user network listens with a backlog of one and accepts once
    // per main-loop turn: one connection after another took 70 s for 200
    // (SYNs dropped and resent), and the guest meanwhile waited on each held
    // connection in turn. FLOOD_THREADS connect at once.
    const FLOOD_THREADS: usize = 16;
    let started = Instant::now();
    let held: Vec<TcpStream> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..FLOOD_THREADS)
            .map(|t| {
                scope.spawn(move || {
                    let mine = n / FLOOD_THREADS + usize::from(t < n % FLOOD_THREADS);
                    (0..mine)
                        .filter_map(|_| TcpStream::connect_timeout(&addr, Duration::from_secs(5)).ok())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers.into_iter().flat_map(|w| w.join().unwrap_or_default()).collect()
    });
    println!("    [host] flood: {} of {n} connections opened in {:.1} s", held.len(), started.elapsed().as_secs_f64());
    std::thread::sleep(Duration::from_secs(1));
    drop(held);
    std::thread::sleep(Duration::from_millis(500));
    // The next client must be served.
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut last = String::new();
    while Instant::now() < deadline {
        match connect(addr).and_then(|mut s| {
            // The guest may first work through connections of the flood
            // still in its backlog (each until it reads their end): wait
            // for the answer as long as the whole check may take. Giving
            // up on a connection the guest then serves would leave the
            // next try to find the listener gone (a flake seen once).
            let left = deadline.saturating_duration_since(Instant::now()).max(Duration::from_secs(1));
            s.set_read_timeout(Some(left)).map_err(|e| e.to_string())?;
            s.write_all(b"PING").map_err(|e| e.to_string())?;
            let mut b = [0u8; 4];
            s.read_exact(&mut b).map_err(|e| e.to_string())?;
            if &b == b"PONG" { Ok(()) } else { Err(format!("got {b:?}")) }
        }) {
            Ok(()) => return Ok(()),
            Err(e) => last = e,
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Err(format!("after {n} connections the next client was not served: {last}"))
}

/// Sends one byte (the seed), then reads until the guest's end: exactly
/// BYTES of the seed's stream, then end of file (not a reset, not a
/// connection cut short by the machine powering off). It reads at most
/// COLLECT_CHUNK per COLLECT_PAUSE (8 MiB/s) through a small receive
/// buffer: QEMU's user network passes what the guest sends into its own
/// host socket, whose send buffer grows to a few MiB, so the guest
/// program sends more than that (16 MiB) and its last data is still in
/// the guest when it exits.
fn collect(addr: SocketAddr, bytes: usize) -> Result<(), String> {
    const SEED: u8 = 0x5a;
    const COLLECT_CHUNK: usize = 64 * 1024;
    const COLLECT_PAUSE: Duration = Duration::from_millis(8);
    let mut s = connect_with_receive_buffer(addr, COLLECT_CHUNK as libc::c_int)?;
    s.write_all(&[SEED]).map_err(|e| e.to_string())?;
    let mut expected = vec![0u8; bytes];
    Stream::new(u64::from(SEED)).fill(&mut expected);
    let mut got = Vec::with_capacity(bytes);
    let mut buf = vec![0u8; COLLECT_CHUNK];
    loop {
        std::thread::sleep(COLLECT_PAUSE);
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) => return Err(format!("after {} of {bytes} bytes: {e}", got.len())),
        }
    }
    if got.len() != bytes {
        return Err(format!("the connection ended after {} of {bytes} bytes", got.len()));
    }
    match got.iter().zip(&expected).position(|(a, b)| a != b) {
        Some(i) => Err(format!("byte {i} of {bytes} differs from the stream")),
        None => Ok(()),
    }
}

/// A connection whose receive buffer is `bytes` (Linux doubles it), set
/// before the handshake so that the window offered is small from the
/// start and never grows: what the host has not read stays on the way.
fn connect_with_receive_buffer(addr: SocketAddr, bytes: libc::c_int) -> Result<TcpStream, String> {
    use std::os::fd::{AsRawFd, FromRawFd};
    let SocketAddr::V4(v4) = addr else { return Err(format!("{addr}: not IPv4")) };
    // SAFETY: socket(2) takes no pointers.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(format!("socket: {}", std::io::Error::last_os_error()));
    }
    // SAFETY: `fd` is a new socket nothing else owns; the stream closes it.
    let s = unsafe { TcpStream::from_raw_fd(fd) };
    // SAFETY: a valid socket and a `c_int` of the size given.
    let r = unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            &bytes as *const libc::c_int as *const libc::c_void,
            std::mem::size_of::<libc::c_int>() as u32,
        )
    };
    if r != 0 {
        return Err(format!("setsockopt(SO_RCVBUF): {}", std::io::Error::last_os_error()));
    }
    let sin = libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: v4.port().to_be(),
        sin_addr: libc::in_addr { s_addr: u32::from(*v4.ip()).to_be() },
        sin_zero: [0; 8],
    };
    // SAFETY: `sin` is a `sockaddr_in` of the length given, read during the call.
    let r = unsafe {
        libc::connect(
            s.as_raw_fd(),
            &sin as *const libc::sockaddr_in as *const libc::sockaddr,
            std::mem::size_of::<libc::sockaddr_in>() as u32,
        )
    };
    if r != 0 {
        return Err(format!("connect {addr}: {}", std::io::Error::last_os_error()));
    }
    s.set_read_timeout(Some(ACTION_TIMEOUT)).map_err(|e| e.to_string())?;
    s.set_write_timeout(Some(ACTION_TIMEOUT)).map_err(|e| e.to_string())?;
    Ok(s)
}

fn datagrams(addr: SocketAddr) -> Result<(), String> {
    let s = UdpSocket::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    for _ in 0..50 {
        s.send_to(b"still here", addr).map_err(|e| e.to_string())?;
        std::thread::sleep(Duration::from_millis(200));
    }
    Ok(())
}

fn exit(addr: SocketAddr) -> Result<(), String> {
    let mut s = connect(addr)?;
    s.write_all(b"x").map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(60))).map_err(|e| e.to_string())?;
    let mut b = [0u8; 64];
    loop {
        match s.read(&mut b) {
            Ok(0) => return Ok(()),
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return Ok(()),
            Err(e) => return Err(format!("the connection did not end when the app exited: {e}")),
        }
    }
}

/// One connection from the guest: its seed, then BYTES of its stream,
/// checked and echoed back as they come.
fn serve_one(mut s: TcpStream, bytes: usize) -> Result<(), String> {
    s.set_read_timeout(Some(ACTION_TIMEOUT)).map_err(|e| e.to_string())?;
    s.set_write_timeout(Some(ACTION_TIMEOUT)).map_err(|e| e.to_string())?;
    let mut seed = [0u8; 8];
    s.read_exact(&mut seed).map_err(|e| format!("reading the seed: {e}"))?;
    let mut want = Stream::new(u64::from_le_bytes(seed));
    let (mut buf, mut expect) = (vec![0u8; 16384], vec![0u8; 16384]);
    let mut done = 0;
    while done < bytes {
        let n = s.read(&mut buf[..(bytes - done).min(16384)]).map_err(|e| format!("read after {done}: {e}"))?;
        if n == 0 {
            return Err(format!("EOF after {done} of {bytes} bytes"));
        }
        want.fill(&mut expect[..n]);
        if buf[..n] != expect[..n] {
            return Err(format!("bytes {done}..{} differ from the seed's stream", done + n));
        }
        s.write_all(&buf[..n]).map_err(|e| format!("write after {done}: {e}"))?;
        done += n;
    }
    Ok(())
}

fn serve(addr: SocketAddr, n: usize, bytes: usize) -> Result<(), String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| format!("bind: {e}"))?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    let mut control = connect(addr)?;
    control.write_all(&port.to_le_bytes()).map_err(|e| format!("sending the port: {e}"))?;
    // Accept until N came or the deadline passed.
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    let deadline = Instant::now() + ACTION_TIMEOUT;
    let mut servers = Vec::new();
    while servers.len() < n {
        match listener.accept() {
            Ok((s, _)) => {
                s.set_nonblocking(false).map_err(|e| e.to_string())?;
                servers.push(std::thread::spawn(move || serve_one(s, bytes)));
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if Instant::now() > deadline {
                    return Err(format!("only {} of {n} connections came", servers.len()));
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => return Err(format!("accept: {e}")),
        }
    }
    let mut errors = Vec::new();
    for s in servers {
        if let Err(e) = s.join().unwrap_or_else(|_| Err("server thread panicked".into())) {
            errors.push(e);
        }
    }
    drop(control);
    match errors.first() {
        Some(e) => Err(format!("{} of {n} connections failed; first: {e}", errors.len())),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_start_actions_and_unknown_ports_fail() {
        let mut h = HostSide::new("net-tests", Network { forwards: vec![] });
        h.feed(b"noise\nnet-host: echo 7 1 1\n");
        let r = h.finish();
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].name, "net_tests::host::echo");
        assert!(r[0].is_failure());
    }

    #[test]
    fn udp_sizes_sample_the_range_and_its_edges() {
        let s = udp_sizes(65507, false);
        for size in [1, 16, 1472, 1473, 2952, 2953, 8192, 65506, 65507] {
            assert!(s.contains(&size), "{size}");
        }
        assert!(s.len() < 100 && s.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(udp_sizes(1472, false).last(), Some(&1472));
        assert_eq!(udp_sizes(65507, true).len(), 65507);
    }

    #[test]
    fn the_stream_is_deterministic() {
        let (mut a, mut b) = (Stream::new(5), Stream::new(5));
        let (mut x, mut y) = ([0u8; 100], [0u8; 100]);
        a.fill(&mut x);
        b.fill(&mut y);
        assert_eq!(x, y);
        assert_ne!(x, [0u8; 100]);
    }
}
