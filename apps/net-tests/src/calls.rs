//! The socket calls' errors and their hostile uses: refused connections,
//! bad addresses and lengths to every call, sockets until `EMFILE`,
//! options, and blocked calls that `shutdown` wakes or that outlive a
//! `close` by another thread.

use alloc::vec::Vec;

use libos::__private::abi::fs_types::Iovec;
use libos::__private::abi::net_types::*;
use libos::Errno;
use libos::io::ErrorKind;
use libos::net::{TcpListener, TcpStream, UdpSocket};

use crate::ask_host;
use libos::sys;
use libos::thread;
use libos::time::{Duration, Instant};

/// A kernel address: never app memory.
const KERNEL_ADDR: usize = 0xffff_8000_0000_0000;

fn tcp() -> i32 {
    sys::socket(AF_INET as i32, SOCK_STREAM, 0).unwrap()
}

fn udp() -> i32 {
    sys::socket(AF_INET as i32, SOCK_DGRAM, 0).unwrap()
}

fn sockaddr(ip: [u8; 4], port: u16) -> ([u8; 28], u32) {
    let (b, n) = SocketAddress::V4 { addr: ip, port }.encode();
    (b, n as u32)
}

#[libos::test]
fn connecting_to_a_closed_port_is_refused() {
    // Nothing listens on the host's port 1: QEMU's NAT answers with RST.
    let e = TcpStream::connect("10.0.2.2:1").unwrap_err();
    assert_eq!(e.errno(), Some(Errno::ECONNREFUSED), "{e:?}");
}

#[libos::test]
fn a_nonblocking_connect_is_einprogress_then_so_error_tells() {
    let fd = sys::socket(AF_INET as i32, SOCK_STREAM | SOCK_NONBLOCK, 0).unwrap();
    let (a, n) = sockaddr([10, 0, 2, 2], 1);
    // SAFETY: `a` is readable for `n` bytes.
    assert_eq!(unsafe { sys::connect(fd, a.as_ptr(), n) }, Err(Errno::EINPROGRESS));
    // A second connect while the first is pending is EALREADY; if QEMU's
    // RST already came back, Linux's `__inet_stream_connect` reports the
    // socket's error instead (and consumes it), so both answers are right.
    // SAFETY: as above.
    match unsafe { sys::connect(fd, a.as_ptr(), n) } {
        Err(Errno::EALREADY) => {}
        Err(Errno::ECONNREFUSED) => {
            sys::close(fd).unwrap();
            return;
        }
        other => panic!("second connect: {other:?}"),
    }
    let start = Instant::now();
    let err = loop {
        let mut v = [0u8; 4];
        let mut len = 4u32;
        // SAFETY: `v` and `len` are writable.
        unsafe { sys::getsockopt(fd, SOL_SOCKET, SO_ERROR, v.as_mut_ptr(), &mut len) }.unwrap();
        let e = i32::from_ne_bytes(v);
        if e != 0 {
            break e;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "the connect never ended");
        thread::sleep(Duration::from_millis(10));
    };
    assert_eq!(err, Errno::ECONNREFUSED as i32);
    sys::close(fd).unwrap();
}

/// Every call that takes an address: a null or kernel pointer is EFAULT,
/// a length under 2 or over 128 (or short for its family) EINVAL, a
/// family other than IPv4/IPv6 EAFNOSUPPORT.
#[libos::test]
fn bad_addresses_and_lengths_to_every_call() {
    let (good, n) = sockaddr([0, 0, 0, 0], 0);
    let mut unix = good;
    unix[0] = AF_UNIX as u8;
    /// One of the calls taking an address, with `p`/`l` as the address
    /// argument (the kernel checks the pointer).
    fn call(name: &str, fd: i32, p: *const u8, l: u32) -> Result<(), Errno> {
        // SAFETY: bad pointers are the point: the kernel must refuse them
        // without touching our memory other than through `p..p + l`.
        unsafe {
            match name {
                "bind" => sys::bind(fd, p, l),
                "connect" => sys::connect(fd, p, l),
                _ => sys::sendto(fd, b"x".as_ptr(), 1, 0, p, l).map(|_| ()),
            }
        }
    }
    type Maker = fn() -> i32;
    let calls: [(&str, Maker); 3] = [("bind", tcp), ("connect", tcp), ("sendto", udp)];
    for (name, make) in calls {
        let fd = make();
        let call = |fd, p, l| call(name, fd, p, l);
        {
            // A null address to sendto is no address (Linux): an
            // unconnected socket has nowhere to send.
            let null = if name == "sendto" { Errno::EDESTADDRREQ } else { Errno::EFAULT };
            assert_eq!(call(fd, core::ptr::null(), n), Err(null), "{name} null");
            assert_eq!(call(fd, KERNEL_ADDR as *const u8, n), Err(Errno::EFAULT), "{name} kernel pointer");
            assert_eq!(call(fd, good.as_ptr(), 0), Err(Errno::EINVAL), "{name} length 0");
            assert_eq!(call(fd, good.as_ptr(), 1), Err(Errno::EINVAL), "{name} length 1");
            assert_eq!(call(fd, good.as_ptr(), 15), Err(Errno::EINVAL), "{name} length 15");
            assert_eq!(call(fd, good.as_ptr(), 129), Err(Errno::EINVAL), "{name} length 129");
            assert_eq!(call(fd, good.as_ptr(), u32::MAX), Err(Errno::EINVAL), "{name} length -1");
            assert_eq!(call(fd, unix.as_ptr(), n), Err(Errno::EAFNOSUPPORT), "{name} AF_UNIX");
        }
        sys::close(fd).unwrap();
    }
    // The calls that write an address: a bad length pointer is EFAULT, a
    // negative length EINVAL, a bad address buffer EFAULT.
    let l = TcpListener::bind("0.0.0.0:2001").unwrap();
    let fd = l.as_raw_fd();
    let mut buf = [0u8; 128];
    let mut neg = -1i32 as u32;
    let mut len = 128u32;
    // SAFETY: bad pointers are the point.
    unsafe {
        assert_eq!(sys::getsockname(fd, buf.as_mut_ptr(), KERNEL_ADDR as *mut u32), Err(Errno::EFAULT));
        assert_eq!(sys::getsockname(fd, buf.as_mut_ptr(), &mut neg), Err(Errno::EINVAL));
        assert_eq!(sys::getsockname(fd, KERNEL_ADDR as *mut u8, &mut len), Err(Errno::EFAULT));
        assert_eq!(sys::accept4(fd, buf.as_mut_ptr(), KERNEL_ADDR as *mut u32, SOCK_NONBLOCK), Err(Errno::EFAULT));
        assert_eq!(sys::accept4(fd, buf.as_mut_ptr(), &mut len, 0x1234), Err(Errno::EINVAL));
        let u = udp();
        let (a, n) = sockaddr([0, 0, 0, 0], 2002);
        sys::bind(u, a.as_ptr(), n).unwrap();
        assert_eq!(
            sys::recvfrom(u, buf.as_mut_ptr(), 1, MSG_DONTWAIT, buf.as_mut_ptr(), KERNEL_ADDR as *mut u32),
            Err(Errno::EFAULT)
        );
        assert_eq!(sys::recvfrom(u, buf.as_mut_ptr(), 1, MSG_DONTWAIT, buf.as_mut_ptr(), &mut neg), Err(Errno::EINVAL));
        assert_eq!(sys::sendmsg(u, KERNEL_ADDR as *const MsgHdr, 0), Err(Errno::EFAULT));
        assert_eq!(sys::recvmsg(u, core::ptr::null_mut(), 0), Err(Errno::EFAULT));
        let iov = Iovec { iov_base: KERNEL_ADDR as u64, iov_len: 16 };
        let mut m = MsgHdr {
            msg_name: 0,
            msg_namelen: 0,
            pad0: 0,
            msg_iov: &iov as *const Iovec as u64,
            msg_iovlen: 1,
            msg_control: 0,
            msg_controllen: 0,
            msg_flags: 0,
            pad1: 0,
        };
        assert_eq!(sys::recvmsg(u, &mut m, MSG_DONTWAIT), Err(Errno::EFAULT));
        m.msg_iovlen = 1 << 20;
        assert_eq!(sys::sendmsg(u, &m, 0), Err(Errno::EMSGSIZE));
        // Options: a bad value or length pointer, a short length.
        let mut v = [0u8; 4];
        assert_eq!(
            sys::getsockopt(u, SOL_SOCKET, SO_TYPE, v.as_mut_ptr(), KERNEL_ADDR as *mut u32),
            Err(Errno::EFAULT)
        );
        let mut four = 4u32;
        assert_eq!(sys::getsockopt(u, SOL_SOCKET, SO_TYPE, KERNEL_ADDR as *mut u8, &mut four), Err(Errno::EFAULT));
        assert_eq!(sys::setsockopt(u, SOL_SOCKET, SO_REUSEADDR, v.as_ptr(), 2), Err(Errno::EINVAL));
        assert_eq!(sys::setsockopt(u, SOL_SOCKET, SO_REUSEADDR, KERNEL_ADDR as *const u8, 4), Err(Errno::EFAULT));
        assert_eq!(sys::setsockopt(u, SOL_SOCKET, 9999, v.as_ptr(), 4), Err(Errno::ENOPROTOOPT));
        // Data pointers.
        assert_eq!(sys::sendto(u, KERNEL_ADDR as *const u8, 10, 0, a.as_ptr(), n), Err(Errno::EFAULT));
        sys::close(u).unwrap();
    }
}

#[libos::test]
fn the_calls_refuse_what_linux_refuses() {
    assert_eq!(sys::socket(AF_UNIX as i32, SOCK_STREAM, 0), Err(Errno::EAFNOSUPPORT));
    assert_eq!(sys::socket(AF_INET as i32, 0xf, 0), Err(Errno::EINVAL));
    assert_eq!(sys::socket(AF_INET as i32, SOCK_STREAM, IPPROTO_UDP), Err(Errno::EPROTONOSUPPORT));
    assert_eq!(sys::socket(AF_INET as i32, SOCK_STREAM | 0x100, 0), Err(Errno::EINVAL));
    let u = udp();
    assert_eq!(sys::listen(u, 1), Err(Errno::EOPNOTSUPP));
    let t = tcp();
    let mut b = [0u8; 8];
    // SAFETY: `b` is writable.
    assert_eq!(unsafe { sys::read(t, b.as_mut_ptr(), 8) }, Err(Errno::ENOTCONN));
    let mut len = 28u32;
    let mut addr = [0u8; 28];
    // SAFETY: the buffers are writable.
    assert_eq!(unsafe { sys::getpeername(t, addr.as_mut_ptr(), &mut len) }, Err(Errno::ENOTCONN));
    assert_eq!(sys::shutdown(t, SHUT_WR), Err(Errno::ENOTCONN));
    assert_eq!(sys::shutdown(t, 7), Err(Errno::EINVAL));
    // A file descriptor that is not a socket; one that is not open.
    assert_eq!(sys::listen(1, 1), Err(Errno::ENOTSOCK));
    assert_eq!(sys::listen(999, 1), Err(Errno::EBADF));
    // An IPv4 socket refuses an IPv6 address.
    let (v6, n6) = SocketAddress::V6 { addr: [0; 16], port: 1, flowinfo: 0, scope_id: 0 }.encode();
    // SAFETY: `v6` is readable.
    assert_eq!(unsafe { sys::bind(t, v6.as_ptr(), n6 as u32) }, Err(Errno::EAFNOSUPPORT));
    sys::close(t).unwrap();
    sys::close(u).unwrap();
}

#[libos::test]
fn a_port_in_use_is_eaddrinuse_unless_both_reuse_it() {
    let a = TcpListener::bind("0.0.0.0:2100").unwrap();
    let e = TcpListener::bind("0.0.0.0:2100").unwrap_err();
    assert_eq!(e.errno(), Some(Errno::EADDRINUSE));
    drop(a);
    // Closed: free again.
    let _b = TcpListener::bind("0.0.0.0:2100").unwrap();
    // Two UDP sockets with SO_REUSEPORT share a port.
    let (addr, n) = sockaddr([0, 0, 0, 0], 2101);
    let one = 1i32.to_ne_bytes();
    let fds: Vec<i32> = (0..2)
        .map(|_| {
            let fd = udp();
            // SAFETY: readable buffers.
            unsafe {
                sys::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, one.as_ptr(), 4).unwrap();
                sys::bind(fd, addr.as_ptr(), n).unwrap();
            }
            fd
        })
        .collect();
    let fd = udp();
    // SAFETY: readable buffers.
    assert_eq!(unsafe { sys::bind(fd, addr.as_ptr(), n) }, Err(Errno::EADDRINUSE));
    for f in fds.into_iter().chain([fd]) {
        sys::close(f).unwrap();
    }
    // An address that is not ours.
    let e = UdpSocket::bind("10.9.9.9:0").unwrap_err();
    assert_eq!(e.errno(), Some(Errno::EADDRNOTAVAIL));
}

#[libos::test]
fn sockets_until_emfile_then_all_close() {
    let mut fds = Vec::new();
    let err = loop {
        match sys::socket(AF_INET as i32, SOCK_STREAM, 0) {
            Ok(fd) => fds.push(fd),
            Err(e) => break e,
        }
        assert!(fds.len() <= 100_000, "no limit");
    };
    assert_eq!(err, Errno::EMFILE, "after {} sockets", fds.len());
    assert!(fds.len() > 1000, "only {} sockets", fds.len());
    for fd in fds {
        sys::close(fd).unwrap();
    }
    // Everything is back.
    let again = tcp();
    sys::close(again).unwrap();
}

#[libos::test]
fn options_read_back_as_set() {
    let s = UdpSocket::bind("0.0.0.0:0").unwrap();
    let port = s.local_addr().unwrap().port();
    assert!(port >= 32768, "ephemeral port {port}");
    s.set_read_timeout(Some(Duration::from_millis(250))).unwrap();
    let started = Instant::now();
    let mut b = [0u8; 4];
    let e = s.recv_from(&mut b).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::WouldBlock);
    assert!(started.elapsed() >= Duration::from_millis(250));
    s.set_nonblocking(true).unwrap();
    assert_eq!(s.recv_from(&mut b).unwrap_err().kind(), ErrorKind::WouldBlock);
    let fd = s.as_raw_fd();
    let get = |level, name| {
        let mut v = [0u8; 4];
        let mut len = 4u32;
        // SAFETY: writable buffers.
        unsafe { sys::getsockopt(fd, level, name, v.as_mut_ptr(), &mut len) }.unwrap();
        i32::from_ne_bytes(v)
    };
    assert_eq!(get(SOL_SOCKET, SO_TYPE), SOCK_DGRAM);
    assert_eq!(get(SOL_SOCKET, SO_DOMAIN), AF_INET as i32);
    let big = 100_000i32.to_ne_bytes();
    // SAFETY: readable.
    unsafe { sys::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, big.as_ptr(), 4) }.unwrap();
    assert_eq!(get(SOL_SOCKET, SO_RCVBUF), 100_000);
    let t = TcpStream::connect("10.0.2.2:1").unwrap_err();
    assert_eq!(t.kind(), ErrorKind::ConnectionRefused);
}

#[libos::test]
fn shutdown_wakes_a_blocked_accept() {
    let l = TcpListener::bind("0.0.0.0:2200").unwrap();
    let fd = l.as_raw_fd();
    let waiter = thread::spawn(move || {
        let started = Instant::now();
        let r = l.accept().map(|_| ());
        (r, started.elapsed())
    });
    thread::sleep(Duration::from_millis(200));
    sys::shutdown(fd, SHUT_RD).unwrap();
    let (r, took) = waiter.join().unwrap();
    assert_eq!(r.unwrap_err().errno(), Some(Errno::EINVAL));
    assert!(took >= Duration::from_millis(150), "accept returned before the shutdown");
}

/// `close` by another thread does not end a blocked call (as on Linux: the
/// call holds the socket); a datagram that then arrives (the host sends
/// them) still reaches it, and the descriptor is gone for everyone else.
#[libos::test]
fn closing_a_socket_another_thread_blocks_on() {
    let s = UdpSocket::bind("0.0.0.0:12").unwrap();
    let fd = s.as_raw_fd();
    let waiter = thread::spawn(move || {
        let mut b = [0u8; 16];
        let r = s.recv_from(&mut b).map(|(n, _)| b[..n].to_vec());
        // Its descriptor was closed by the other thread: do not close it again.
        core::mem::forget(s);
        r
    });
    thread::sleep(Duration::from_millis(200));
    sys::close(fd).unwrap();
    assert_eq!(sys::close(fd), Err(Errno::EBADF));
    ask_host("datagrams 12");
    assert_eq!(waiter.join().unwrap().unwrap(), b"still here");
}
