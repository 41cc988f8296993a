//! Data with the host as the peer (see `host_side.rs` in the xtask for
//! the other half of each test).

use alloc::vec;
use alloc::vec::Vec;

use libos::io::{ErrorKind, Read, Write};
use libos::net::{TcpListener, UdpSocket};
use libos::prelude::*;
use libos::thread;
use libos::time::Duration;

use crate::{FNV_START, Stream, ask_host, fnv, full_scale};

/// Concurrent connections of the echo test, and bytes each way per
/// connection: the 200 x 1 MiB at full scale, else sampled for
/// TCG (see README).
fn echo_scale() -> (usize, usize) {
    if full_scale() { (200, 1024 * 1024) } else { (32, 128 * 1024) }
}

/// The single transfer, each way: 256 MiB at full scale.
fn bulk_bytes() -> usize {
    if full_scale() { 256 * 1024 * 1024 } else { 16 * 1024 * 1024 }
}

/// Echoes one connection, checking the bytes against the host's stream.
fn echo_one(mut s: libos::net::TcpStream, bytes: usize) -> Result<(), String> {
    let mut seed = [0u8; 8];
    s.read_exact(&mut seed).map_err(|e| format!("reading the seed: {e:?}"))?;
    let mut want = Stream::new(u64::from_le_bytes(seed));
    let mut buf = vec![0u8; 16384];
    let mut expect = vec![0u8; 16384];
    let mut done = 0;
    while done < bytes {
        let n = s.read(&mut buf).map_err(|e| format!("read after {done}: {e:?}"))?;
        if n == 0 {
            return Err(format!("EOF after {done} bytes"));
        }
        want.fill(&mut expect[..n]);
        if buf[..n] != expect[..n] {
            return Err(format!("bytes {done}..{} differ from the host's stream", done + n));
        }
        s.write_all(&buf[..n]).map_err(|e| format!("write after {done}: {e:?}"))?;
        done += n;
    }
    Ok(())
}

#[libos::test]
fn echo_serves_many_host_clients_at_once() {
    let (connections, bytes) = echo_scale();
    let listener = TcpListener::bind("0.0.0.0:7").unwrap();
    ask_host(&format!("echo 7 {connections} {bytes}"));
    let workers: Vec<_> = (0..connections)
        .map(|_| {
            let (s, peer) = listener.accept().unwrap();
            assert!(peer.ip().is_ipv4());
            thread::spawn(move || echo_one(s, bytes))
        })
        .collect();
    for (i, w) in workers.into_iter().enumerate() {
        if let Err(e) = w.join().unwrap() {
            panic!("connection {i}: {e}");
        }
    }
}

#[libos::test]
fn one_large_transfer_each_way() {
    let total = bulk_bytes();
    let listener = TcpListener::bind("0.0.0.0:8").unwrap();
    ask_host(&format!("bulk 8 {total}"));
    let (mut s, _) = listener.accept().unwrap();
    let mut want = Stream::new(0x5eed);
    let mut buf = vec![0u8; 65536];
    let mut expect = vec![0u8; 65536];
    let (mut got, mut h) = (0, FNV_START);
    loop {
        let n = s.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        want.fill(&mut expect[..n]);
        assert!(buf[..n] == expect[..n], "bytes {got}..{} differ", got + n);
        h = fnv(h, &buf[..n]);
        got += n;
    }
    assert_eq!(got, total);
    s.write_all(&h.to_le_bytes()).unwrap();
    let mut send = Stream::new(0x5eed);
    let mut sent = 0;
    while sent < total {
        let n = (total - sent).min(buf.len());
        send.fill(&mut buf[..n]);
        s.write_all(&buf[..n]).unwrap();
        sent += n;
    }
}

#[libos::test]
fn udp_datagrams_of_every_size_come_back() {
    let sock = UdpSocket::bind("0.0.0.0:9").unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    // Up to the IPv4 maximum: anything over 1472 bytes travels in IP
    // fragments both ways (the host samples the sizes, see host_side.rs).
    ask_host("udp 9 65507");
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
    assert_eq!(largest, 65507);
    // One byte more does not fit an IPv4 packet.
    let big = vec![0u8; 65508];
    let e = sock.send_to(&big, "10.0.2.2:9").unwrap_err();
    assert_eq!(e.errno(), Some(libos::Errno::EMSGSIZE));
}

#[libos::test]
fn a_reset_mid_transfer_is_econnreset() {
    let listener = TcpListener::bind("0.0.0.0:10").unwrap();
    ask_host("reset 10");
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
    // Writing to it now fails too, without a signal (MSG_NOSIGNAL).
    assert!(s.write(b"late").is_err());
}

#[libos::test]
fn a_connection_flood_leaves_the_next_client_served() {
    let listener = TcpListener::bind("0.0.0.0:11").unwrap();
    ask_host("flood 11 200");
    // Nobody accepts for a while: the backlog fills, the rest are refused.
    thread::sleep(Duration::from_secs(3));
    let start = libos::time::Instant::now();
    let mut stale = 0;
    loop {
        assert!(start.elapsed() < Duration::from_secs(120), "no PING came");
        let (mut s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut b = [0u8; 4];
        match s.read_exact(&mut b) {
            Ok(()) if &b == b"PING" => {
                s.write_all(b"PONG").unwrap();
                // The host closes once it has the answer: wait for that, so
                // the answer is not still in flight when the test (and
                // perhaps the boot) ends.
                s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
                assert_eq!(s.read(&mut b).unwrap(), 0, "the host sent more than PING");
                break;
            }
            // A flood connection the host already closed.
            Err(e) if e.kind() == ErrorKind::UnexpectedEof => stale += 1,
            // One it still holds (or some other end): say which.
            other => {
                stale += 1;
                println!("flood: connection {stale} (at {:?}) was not the client: {other:?}", start.elapsed());
            }
        }
    }
    println!("flood: the client was served after {stale} stale connections, at {:?}", start.elapsed());
}

#[libos::test]
fn exiting_with_a_connection_open_ends_it() {
    let listener = TcpListener::bind("0.0.0.0:12").unwrap();
    ask_host("exit 12");
    let (mut s, _) = listener.accept().unwrap();
    let mut b = [0u8; 1];
    s.read_exact(&mut b).unwrap();
    // The test's process ends with the connection open: its descriptors
    // close, and the host sees the end.
    core::mem::forget(s);
    core::mem::forget(listener);
}
