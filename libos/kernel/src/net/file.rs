//! A socket as an open file: the [`FileObject`] a socket descriptor refers
//! to, and the blocking versions of the socket operations.
//!
//! Each operation tries the non-blocking one of [`super::socket`] with the
//! stack's lock held; `EAGAIN` from it means "not now": a blocking socket
//! then waits on its entry's wait queue ([`wait_event`]), which the stack
//! wakes whenever the socket's readiness changes (data, room, a
//! connection, an end), `shutdown` wakes, and a kill interrupts (`EINTR`).
//! The wait's check runs the operation itself, so a wake-up that finds the
//! socket ready completes the call at once. `SO_RCVTIMEO`/`SO_SNDTIMEO`
//! bound the wait (`EAGAIN`, as Linux).
//!
//! The last close of the description ([`Drop`]) closes the socket: FIN
//! for a connection (RST if unread data is left), RST for connections a
//! listener never accepted. An app's exit closes its descriptor table, so
//! its connections end the same way.

use alloc::sync::Arc;

use libos_abi::errno::Errno;
use libos_abi::fs_types::Stat;
use libos_abi::net_types::SocketAddress;

use super::socket::{Id, Protocol, Received};
use super::stack::{self, Stack};
use crate::fs::file::FileObject;
use crate::sched::wait::{WaitQueue, WaitResult, wait_event};
use crate::time;

/// `S_IFSOCK`.
const S_IFSOCK: u32 = 0o140000;

/// A socket.
pub struct SocketFile {
    id: Id,
    queue: Arc<WaitQueue>,
    protocol: Protocol,
    family: u16,
    /// The app it is charged to (`Resource::Sockets`).
    usage: Option<Arc<crate::process::Process>>,
}

impl SocketFile {
    /// A new socket of `family` and `protocol`, charged to `owner` (whose
    /// limit gives `ENFILE`).
    pub fn new(
        family: u16,
        protocol: Protocol,
        owner: Option<Arc<crate::process::Process>>,
    ) -> Result<SocketFile, Errno> {
        if let Some(p) = &owner {
            p.usage.try_charge(libos_kcore::limits::Resource::Sockets).map_err(|_| Errno::ENFILE)?;
        }
        let created = stack::with(|s| s.socket_create(family, protocol)).unwrap_or(Err(Errno::EAFNOSUPPORT));
        match created {
            Ok((id, queue)) => Ok(SocketFile { id, queue, protocol, family, usage: owner }),
            Err(e) => {
                if let Some(p) = &owner {
                    p.usage.release(libos_kcore::limits::Resource::Sockets);
                }
                Err(e)
            }
        }
    }

    /// A socket for a connection `accept` took.
    fn accepted(&self, id: Id, queue: Arc<WaitQueue>) -> Result<SocketFile, Errno> {
        if let Some(p) = &self.usage
            && p.usage.try_charge(libos_kcore::limits::Resource::Sockets).is_err()
        {
            stack::with(|s| s.socket_close(id));
            return Err(Errno::ENFILE);
        }
        Ok(SocketFile { id, queue, protocol: self.protocol, family: self.family, usage: self.usage.clone() })
    }

    /// Its protocol.
    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    /// Its family.
    pub fn family(&self) -> u16 {
        self.family
    }

    /// Runs `op` on the stack: `ENETDOWN` if the network is gone.
    pub fn with<R>(&self, op: impl FnOnce(&mut Stack, Id) -> Result<R, Errno>) -> Result<R, Errno> {
        stack::with(|s| op(s, self.id)).unwrap_or(Err(Errno::ENETDOWN))
    }

    /// Runs `op` until it gives something other than `EAGAIN`, waiting on
    /// the socket's queue between tries; `nonblock`: once. `timeout_ns`: 0
    /// for none, else `EAGAIN` after that long.
    fn blocking<R>(
        &self,
        nonblock: bool,
        timeout_ns: u64,
        mut op: impl FnMut(&mut Stack, Id) -> Result<R, Errno>,
    ) -> Result<R, Errno> {
        match self.with(&mut op) {
            Err(Errno::EAGAIN) if !nonblock => {}
            other => return other,
        }
        let deadline = (timeout_ns != 0).then(|| time::deadline_after(timeout_ns));
        let mut out = None;
        let r = wait_event(&[&self.queue], deadline, || match self.with(&mut op) {
            Err(Errno::EAGAIN) => false,
            other => {
                out = Some(other);
                true
            }
        });
        match r {
            Ok(WaitResult::Ready) => out.unwrap_or(Err(Errno::EAGAIN)),
            Ok(WaitResult::TimedOut) => Err(Errno::EAGAIN),
            Ok(WaitResult::Interrupted) => Err(Errno::EINTR),
            Err(e) => Err(e),
        }
    }

    fn timeouts(&self) -> (u64, u64) {
        self.with(|s, id| s.options(id)).map(|o| (o.rcvtimeo_ns, o.sndtimeo_ns)).unwrap_or((0, 0))
    }

    /// `connect`.
    pub fn connect(&self, to: &SocketAddress, nonblock: bool) -> Result<(), Errno> {
        let started = self.with(|s, id| s.connect(id, to))?;
        if !started {
            return Ok(());
        }
        if nonblock {
            return Err(Errno::EINPROGRESS);
        }
        // Linux's connect waits up to SO_SNDTIMEO.
        let (_, snd) = self.timeouts();
        match self.blocking(false, snd, |s, id| s.connect_result(id)) {
            // A timeout of SO_SNDTIMEO leaves the handshake going.
            Err(Errno::EAGAIN) => Err(Errno::EINPROGRESS),
            other => other,
        }
    }

    /// `accept4`: the new socket and its peer.
    pub fn accept(&self, nonblock: bool) -> Result<(SocketFile, SocketAddress), Errno> {
        let (rcv, _) = self.timeouts();
        let (id, queue, peer) = self.blocking(nonblock, rcv, |s, id| {
            if s.is_shut_rd(id) {
                return Err(Errno::EINVAL);
            }
            s.accept(id)
        })?;
        Ok((self.accepted(id, queue)?, peer))
    }

    /// `sendto`/`write`: all of `data` when blocking on a stream (short
    /// only if an error or a timeout comes after some was sent).
    pub fn send(&self, data: &[u8], to: Option<&SocketAddress>, nonblock: bool, flags: i32) -> Result<usize, Errno> {
        let (_, snd) = self.timeouts();
        let mut done = 0;
        loop {
            let r = self.blocking(nonblock, snd, |s, id| s.send(id, &data[done..], to));
            match r {
                Ok(n) => done += n,
                Err(e) if done > 0 => {
                    let _ = e;
                    return Ok(done);
                }
                Err(Errno::EPIPE) => {
                    super::sigpipe(flags);
                    return Err(Errno::EPIPE);
                }
                Err(e) => return Err(e),
            }
            if done >= data.len() || nonblock || self.protocol == Protocol::Udp {
                return Ok(done);
            }
        }
    }

    /// `recvfrom`/`read`. `wait_all`: a stream fills `buf` unless the
    /// connection ends first.
    pub fn recv(&self, buf: &mut [u8], peek: bool, wait_all: bool, nonblock: bool) -> Result<Received, Errno> {
        let (rcv, _) = self.timeouts();
        let mut got = self.blocking(nonblock, rcv, |s, id| s.recv(id, buf, peek))?;
        if wait_all && !peek && self.protocol == Protocol::Tcp {
            while got.len < buf.len() {
                let (head, tail) = buf.split_at_mut(got.len);
                let _ = head;
                match self.blocking(nonblock, rcv, |s, id| s.recv(id, tail, false)) {
                    Ok(r) if r.len > 0 => got.len += r.len,
                    _ => break,
                }
            }
            got.full_len = got.len;
        }
        Ok(got)
    }

    /// `shutdown`.
    pub fn shutdown(&self, read: bool, write: bool) -> Result<(), Errno> {
        self.with(|s, id| s.shutdown(id, read, write))
    }
}

impl FileObject for SocketFile {
    fn read(&self, _pos: &mut u64, buf: &mut [u8], flags: i32) -> Result<usize, Errno> {
        let nonblock = flags & libos_abi::fs_types::O_NONBLOCK != 0;
        self.recv(buf, false, false, nonblock).map(|r| r.len)
    }

    fn write(&self, _pos: &mut u64, buf: &[u8], flags: i32) -> Result<usize, Errno> {
        let nonblock = flags & libos_abi::fs_types::O_NONBLOCK != 0;
        self.send(buf, None, nonblock, 0)
    }

    fn stat(&self) -> Result<Stat, Errno> {
        Ok(Stat { st_mode: S_IFSOCK | 0o777, st_nlink: 1, st_blksize: 4096, st_ino: self.id, ..Stat::default() })
    }

    fn ioctl(&self, cmd: u32, arg: u64) -> Result<i64, Errno> {
        match cmd {
            libos_abi::net_types::FIONREAD => {
                let n = self.with(|s, id| s.bytes_waiting(id))?;
                crate::mm::user_access::write_user(arg, &(n.min(i32::MAX as usize) as i32))?;
                Ok(0)
            }
            _ => Err(Errno::ENOTTY),
        }
    }

    fn poll(&self) -> u32 {
        stack::with(|s| s.readiness(self.id)).unwrap_or(super::socket::mask::HUP | super::socket::mask::ERR)
    }

    fn wait_queue(&self) -> Option<&WaitQueue> {
        Some(&self.queue)
    }

    fn as_socket(&self) -> Option<&SocketFile> {
        Some(self)
    }
}

impl Drop for SocketFile {
    fn drop(&mut self) {
        stack::with(|s| s.socket_close(self.id));
        if let Some(p) = &self.usage {
            p.usage.release(libos_kcore::limits::Resource::Sockets);
        }
    }
}
