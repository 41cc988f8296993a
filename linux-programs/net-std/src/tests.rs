//! The tests (the host's half of each is in the xtask's `host_side.rs`).

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream, UdpSocket};
use std::os::fd::AsRawFd;
use std::thread;
use std::time::{Duration, Instant};

use crate::{Stream, Test, ask_host, sys};

/// Every test, in registration order.
pub const ALL: &[Test] = &[
    Test { name: "net_std::echo_server_takes_incoming_on_several_threads", run: echo_server_on_several_threads },
    Test { name: "net_std::echo_client_to_a_host_server", run: echo_client_to_a_host_server },
    Test { name: "net_std::udp_datagrams_come_back", run: udp_datagrams_come_back },
    Test { name: "net_std::connecting_to_a_closed_port_is_refused", run: connecting_to_a_closed_port_is_refused },
    Test { name: "net_std::a_read_timeout_is_wouldblock_after_the_time", run: a_read_timeout_is_wouldblock },
    Test { name: "net_std::nonblocking_calls_are_wouldblock", run: nonblocking_calls_are_wouldblock },
    Test { name: "net_std::a_reset_peer_is_epipe_with_sigpipe_ignored", run: epipe_with_sigpipe_ignored },
    Test { name: "net_std::msg_nosignal_is_epipe_without_a_signal", run: msg_nosignal_is_epipe_without_a_signal },
    Test { name: "net_std::a_blocked_sigpipe_stays_pending", run: a_blocked_sigpipe_stays_pending },
    Test { name: "net_std::a_pipe_without_reader_is_epipe", run: a_pipe_without_reader_is_epipe },
];

/// Connections of the echo tests, their threads, and bytes per connection.
const ECHO_CONNECTIONS: usize = 8;
const ECHO_THREADS: usize = 4;
const ECHO_BYTES: usize = 64 * 1024;
/// The largest UDP datagram the host sends (the IPv4 maximum: larger than
/// a frame's 1472 bytes travels in IP fragments both ways).
const UDP_MAX: usize = 65507;

/// Echoes one host connection, checking the bytes against the host's
/// stream.
fn echo_one(mut s: TcpStream) {
    let mut seed = [0u8; 8];
    s.read_exact(&mut seed).expect("reading the seed");
    let mut want = Stream::new(u64::from_le_bytes(seed));
    let (mut buf, mut expect) = (vec![0u8; 16384], vec![0u8; 16384]);
    let mut done = 0;
    while done < ECHO_BYTES {
        let n = s.read(&mut buf).unwrap_or_else(|e| panic!("read after {done}: {e}"));
        assert_ne!(n, 0, "EOF after {done} bytes");
        want.fill(&mut expect[..n]);
        assert!(buf[..n] == expect[..n], "bytes {done}..{} differ from the host's stream", done + n);
        s.write_all(&buf[..n]).unwrap_or_else(|e| panic!("write after {done}: {e}"));
        done += n;
    }
}

fn echo_server_on_several_threads() {
    let listener = TcpListener::bind("0.0.0.0:7").unwrap();
    ask_host(&format!("echo 7 {ECHO_CONNECTIONS} {ECHO_BYTES}"));
    // Every thread takes its share from `incoming` on a clone of the
    // listener (one socket, several threads blocked in accept).
    let workers: Vec<_> = (0..ECHO_THREADS)
        .map(|_| {
            let l = listener.try_clone().unwrap();
            thread::spawn(move || {
                let streams: Vec<TcpStream> =
                    l.incoming().take(ECHO_CONNECTIONS / ECHO_THREADS).map(|s| s.expect("accept")).collect();
                let echoes: Vec<_> = streams.into_iter().map(|s| thread::spawn(move || echo_one(s))).collect();
                echoes.into_iter().map(|e| e.join().is_ok()).filter(|ok| !ok).count()
            })
        })
        .collect();
    let failed: usize = workers.into_iter().map(|w| w.join().unwrap()).sum();
    assert_eq!(failed, 0, "{failed} of {ECHO_CONNECTIONS} connections failed");
}

fn echo_client_to_a_host_server() {
    let listener = TcpListener::bind("0.0.0.0:8").unwrap();
    ask_host(&format!("serve 8 {ECHO_CONNECTIONS} {ECHO_BYTES}"));
    let (mut control, _) = listener.accept().unwrap();
    let mut port = [0u8; 2];
    control.read_exact(&mut port).unwrap();
    // 10.0.2.2 is the host under QEMU's user network.
    let server = format!("10.0.2.2:{}", u16::from_le_bytes(port));
    // The host sends nothing more on the control connection: a TCP read
    // timeout ends in WouldBlock (EAGAIN) after the time.
    control.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    let start = Instant::now();
    assert_eq!(control.read(&mut [0u8; 1]).unwrap_err().kind(), ErrorKind::WouldBlock);
    assert!(start.elapsed() >= Duration::from_millis(200));
    let clients: Vec<_> = (0..ECHO_CONNECTIONS as u64)
        .map(|i| {
            let server = server.clone();
            thread::spawn(move || {
                let mut s = TcpStream::connect(&server).unwrap_or_else(|e| panic!("connect {server}: {e}"));
                s.set_nodelay(true).unwrap();
                let seed = 1000 + i;
                s.write_all(&seed.to_le_bytes()).unwrap();
                let mut stream = Stream::new(seed);
                let (mut out, mut back) = (vec![0u8; 4096], vec![0u8; 4096]);
                for _ in 0..ECHO_BYTES / out.len() {
                    stream.fill(&mut out);
                    s.write_all(&out).unwrap();
                    s.read_exact(&mut back).unwrap();
                    assert!(out == back, "connection {i}: the echo differs");
                }
                s.shutdown(Shutdown::Both).unwrap();
            })
        })
        .collect();
    let failed = clients.into_iter().map(|c| c.join().is_ok()).filter(|ok| !ok).count();
    assert_eq!(failed, 0, "{failed} of {ECHO_CONNECTIONS} connections failed");
}

fn udp_datagrams_come_back() {
    let sock = UdpSocket::bind("0.0.0.0:9").unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    ask_host(&format!("udp 9 {UDP_MAX}"));
    let mut buf = vec![0u8; 65536];
    let (mut echoed, mut largest) = (0, 0);
    loop {
        let (n, from) = sock.recv_from(&mut buf).expect("the host's datagrams stopped");
        if n == 0 {
            break;
        }
        assert_eq!(sock.send_to(&buf[..n], from).unwrap(), n);
        echoed += 1;
        largest = largest.max(n);
    }
    assert!(echoed >= 16 + 60, "only {echoed} datagrams");
    assert_eq!(largest, UDP_MAX);
    // One byte more does not fit an IPv4 packet.
    let e = sock.send_to(&vec![0u8; UDP_MAX + 1], "10.0.2.2:9").unwrap_err();
    assert_eq!(e.raw_os_error(), Some(90), "{e:?}"); // EMSGSIZE
}

fn connecting_to_a_closed_port_is_refused() {
    // Nothing listens on the host's port 1: QEMU's NAT answers with RST.
    let e = TcpStream::connect("10.0.2.2:1").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ConnectionRefused, "{e:?}");
}

fn a_read_timeout_is_wouldblock() {
    let timeout = Duration::from_millis(300);
    let udp = UdpSocket::bind("0.0.0.0:0").unwrap();
    udp.set_read_timeout(Some(timeout)).unwrap();
    assert_eq!(udp.read_timeout().unwrap(), Some(timeout));
    let start = Instant::now();
    let e = udp.recv_from(&mut [0u8; 16]).unwrap_err();
    let took = start.elapsed();
    // std reports EAGAIN as WouldBlock (Linux's answer to SO_RCVTIMEO).
    assert_eq!(e.kind(), ErrorKind::WouldBlock, "{e:?}");
    assert!(took >= timeout && took < Duration::from_secs(10), "took {took:?}");
    udp.set_write_timeout(Some(Duration::from_secs(2))).unwrap();
    assert_eq!(udp.write_timeout().unwrap(), Some(Duration::from_secs(2)));
    // A zero timeout is refused, as std documents.
    assert_eq!(udp.set_read_timeout(Some(Duration::ZERO)).unwrap_err().kind(), ErrorKind::InvalidInput);
}

fn nonblocking_calls_are_wouldblock() {
    let listener = TcpListener::bind("0.0.0.0:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let start = Instant::now();
    assert_eq!(listener.accept().unwrap_err().kind(), ErrorKind::WouldBlock);
    let udp = UdpSocket::bind("0.0.0.0:0").unwrap();
    udp.set_nonblocking(true).unwrap();
    assert_eq!(udp.recv_from(&mut [0u8; 16]).unwrap_err().kind(), ErrorKind::WouldBlock);
    assert!(start.elapsed() < Duration::from_secs(2), "a non-blocking call waited");
    // Back to blocking: the timeout applies again.
    udp.set_nonblocking(false).unwrap();
    udp.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
    let start = Instant::now();
    assert_eq!(udp.recv_from(&mut [0u8; 16]).unwrap_err().kind(), ErrorKind::WouldBlock);
    assert!(start.elapsed() >= Duration::from_millis(100));
}

/// A connection the host reset (the `reset` action on `port`), once the
/// reset has arrived.
fn a_reset_connection(port: u16) -> TcpStream {
    let listener = TcpListener::bind(("0.0.0.0", port)).unwrap();
    ask_host(&format!("reset {port}"));
    let (mut s, _) = listener.accept().unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut buf = [0u8; 4096];
    let mut got = 0;
    let err = loop {
        match s.read(&mut buf) {
            Ok(0) => panic!("EOF after {got} bytes: a reset must be ECONNRESET"),
            Ok(n) => got += n,
            Err(e) => break e,
        }
    };
    assert_eq!(err.kind(), ErrorKind::ConnectionReset, "{err:?} after {got} bytes");
    s
}

/// Writes to `s` with `write(2)` (`raw`) or std's `write` (`send` with
/// `MSG_NOSIGNAL`) until an error: it must be EPIPE (Linux reports the
/// reset itself once, as ECONNRESET, if no read took it before).
fn write_until_epipe(s: &mut TcpStream, raw: bool) {
    for _ in 0..10 {
        let r = if raw { sys::write_fd(s.as_raw_fd(), b"late") } else { s.write(b"late") };
        match r {
            Err(e) if e.kind() == ErrorKind::BrokenPipe => return,
            Err(e) if e.kind() == ErrorKind::ConnectionReset => {}
            Err(e) => panic!("write after the reset: {e:?}, not EPIPE"),
            Ok(_) => {}
        }
    }
    panic!("writes after the reset kept succeeding");
}

fn epipe_with_sigpipe_ignored() {
    // std's runtime set SIGPIPE to SIG_IGN before `main`: `write(2)` gives
    // EPIPE and the signal is dropped; std's own write never raises it.
    let mut s = a_reset_connection(10);
    write_until_epipe(&mut s, true);
    write_until_epipe(&mut s, false);
    assert!(!sys::pending(sys::SIGPIPE));
}

fn msg_nosignal_is_epipe_without_a_signal() {
    sys::set_disposition(sys::SIGPIPE, sys::SIG_DFL);
    let mut s = a_reset_connection(11);
    let e = sys::send_flags(s.as_raw_fd(), b"late", sys::MSG_NOSIGNAL).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BrokenPipe, "{e:?}");
    // std's write is `send` with MSG_NOSIGNAL too.
    write_until_epipe(&mut s, false);
    // Still alive: the default action would have killed us.
    sys::set_disposition(sys::SIGPIPE, sys::SIG_IGN);
}

fn a_blocked_sigpipe_stays_pending() {
    sys::set_disposition(sys::SIGPIPE, sys::SIG_DFL);
    sys::block(sys::SIGPIPE, true);
    let mut s = a_reset_connection(12);
    assert!(!sys::pending(sys::SIGPIPE));
    write_until_epipe(&mut s, true);
    assert!(sys::pending(sys::SIGPIPE), "EPIPE without a pending SIGPIPE");
    // Ignoring a pending signal discards it; then unblocking is harmless.
    sys::set_disposition(sys::SIGPIPE, sys::SIG_IGN);
    assert!(!sys::pending(sys::SIGPIPE));
    sys::block(sys::SIGPIPE, false);
}

fn a_pipe_without_reader_is_epipe() {
    // SIGPIPE is ignored (std's runtime): EPIPE, and nothing pending.
    let (reader, mut writer) = std::io::pipe().unwrap();
    drop(reader);
    let e = writer.write(b"x").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BrokenPipe, "{e:?}");
    // Blocked with the default action: EPIPE, and SIGPIPE pending.
    sys::set_disposition(sys::SIGPIPE, sys::SIG_DFL);
    sys::block(sys::SIGPIPE, true);
    assert!(!sys::pending(sys::SIGPIPE));
    let e = writer.write(b"x").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BrokenPipe, "{e:?}");
    assert!(sys::pending(sys::SIGPIPE), "EPIPE without a pending SIGPIPE");
    sys::set_disposition(sys::SIGPIPE, sys::SIG_IGN);
    sys::block(sys::SIGPIPE, false);
}

/// `sigpipe-tcp`: the default action on a write to a reset connection.
pub fn dies_of_sigpipe_on_a_reset_connection() {
    sys::set_disposition(sys::SIGPIPE, sys::SIG_DFL);
    let s = a_reset_connection(12);
    for _ in 0..10 {
        let _ = sys::write_fd(s.as_raw_fd(), b"late");
    }
    println!("net-std: still alive after writing to a reset connection");
}

/// The bytes `answer-and-exit` sends (the host's `collect` expects as many).
pub const ANSWER_BYTES: usize = 16 * 1024 * 1024;

/// `answer-and-exit`: waits for the host's one byte, sends
/// [`ANSWER_BYTES`] of the stream seeded with that byte, and exits at
/// once with the connection open: when the last `write` returns, up to a
/// send buffer of data is still in the kernel, as on Linux, and must reach
/// the host before the machine powers off (the host reads slowly, so it
/// is still there when the program ends).
pub fn answer_and_exit() -> std::process::ExitCode {
    let listener = TcpListener::bind(("0.0.0.0", 11)).unwrap();
    ask_host(&format!("collect 11 {ANSWER_BYTES}"));
    let (mut s, _) = listener.accept().unwrap();
    let mut seed = [0u8; 1];
    s.read_exact(&mut seed).unwrap();
    let mut data = vec![0u8; ANSWER_BYTES];
    Stream::new(u64::from(seed[0])).fill(&mut data);
    s.write_all(&data).unwrap();
    println!("net-std: sent {ANSWER_BYTES} bytes; exiting");
    std::process::exit(0)
}

/// `sigpipe-pipe`: the default action on a write to a pipe without reader.
pub fn dies_of_sigpipe_on_a_pipe_without_reader() {
    sys::set_disposition(sys::SIGPIPE, sys::SIG_DFL);
    let (reader, mut writer) = std::io::pipe().unwrap();
    drop(reader);
    let r = writer.write(b"x");
    println!("net-std: still alive after writing to a pipe without reader: {r:?}");
}
