//! Networking: TCP/IP (smoltcp) over the first virtio-net card, and the
//! apps' sockets.
//!
//! - [`stack`]: the interface, its address (DHCP or `net.ip=`), the poll
//!   thread driven by the card's interrupts and smoltcp's timers.
//! - [`socket`]: the table of the apps' sockets and their non-blocking
//!   operations, with Linux's semantics.

#[cfg(feature = "testing")]
pub mod dump;
pub mod file;
pub mod socket;
pub mod stack;

use libos_kcore::boot_options::BootOptions;

use crate::drivers::virtio::net;

/// How long the boot waits for a DHCP lease before it starts the app
/// (QEMU's user network answers within milliseconds).
const DHCP_WAIT_MS: u64 = 3000;

/// How long, once the app has ended, the machine waits for the
/// connections it closed to finish.
const FINISH_SENDING_MS: u64 = 5000;

/// Called when the app has ended, before the machine powers off. On Linux
/// a socket outlives the process that closed it: the kernel keeps sending
/// what was written and then ends the connection (`tcp_close` in
/// net/ipv4/tcp.c), so a server that answers and exits is heard. Here the
/// run would end with the machine, so this waits until every connection
/// the app closed has delivered its data and FIN and heard the peer's FIN
/// (the peer has everything, not just an acknowledgement of it), for at
/// most [`FINISH_SENDING_MS`], and says so if some did not.
pub fn finish_sending() {
    let start = crate::time::monotonic_ns();
    loop {
        let Some(left) = stack::with(|s| s.connections_not_finished()) else { return };
        if left == 0 {
            return;
        }
        if crate::time::monotonic_ns() - start >= FINISH_SENDING_MS * 1_000_000 {
            crate::println!(
                "[libos] net: {left} connection(s) the app closed not finished by the peer after {} s; powering off",
                FINISH_SENDING_MS / 1000
            );
            return;
        }
        if crate::sched::sleep::sleep_ns(10_000_000).is_err() {
            return;
        }
    }
}

/// Starts the network on the first virtio-net card, if there is one, and
/// prints the address line of the boot report.
pub fn init(options: &BootOptions<'_>) {
    let Some(nic) = net::devices().first().copied() else { return };
    let opts = stack::Options { ip: options.net_ip, gw: options.net_gw, dns: options.net_dns };
    #[cfg(feature = "testing")]
    dump::set_interval(options.net_dump_secs);
    match stack::start(nic, &opts, DHCP_WAIT_MS) {
        Some(setup) => {
            crate::println!("  net      {} {}", nic.name(), stack::Describe(&setup));
            if let Err(e) = write_config_files(&setup) {
                crate::println!("  net      /etc/resolv.conf and /etc/hosts not written: {e}");
            }
        }
        None => crate::println!("  net      {}: no memory for the network thread", nic.name()),
    }
}

/// Writes `/etc/resolv.conf` (the name server: DHCP's or `net.dns=`) and
/// `/etc/hosts` (`localhost`, and `libos` for our address) into the root
/// file system, as a resolver (`getaddrinfo`, `libos::net::lookup_host`)
/// reads them. A file the root image already has is left as it is.
fn write_config_files(setup: &stack::Ipv4Setup) -> Result<(), libos_abi::errno::Errno> {
    use alloc::format;
    use libos_abi::errno::Errno;
    let table = crate::fs::mounts();
    let root = table.root();
    let etc = match table.with(root.mount, |fs| fs.lookup(root.ino, b"etc")) {
        Ok(ino) => ino,
        Err(Errno::ENOENT) => table.with_writable(root.mount, |fs| fs.mkdir(root.ino, b"etc", 0o755, 0, 0))?,
        Err(e) => return Err(e),
    };
    let mut hosts = alloc::string::String::from("127.0.0.1\tlocalhost\n::1\tlocalhost\n");
    if let Some(a) = setup.address {
        hosts.push_str(&format!("{}\tlibos\n", a.address()));
    }
    let resolv = match setup.dns {
        Some(d) => format!("nameserver {d}\n"),
        None => alloc::string::String::new(),
    };
    for (name, text) in [(&b"resolv.conf"[..], resolv), (&b"hosts"[..], hosts)] {
        match table.with(root.mount, |fs| fs.lookup(etc, name)) {
            Ok(_) => continue,
            Err(Errno::ENOENT) => {}
            Err(e) => return Err(e),
        }
        table.with_writable(root.mount, |fs| {
            let ino = fs.create(etc, name, 0o644, 0, 0)?;
            fs.write(ino, 0, text.as_bytes()).map(|_| ())
        })?;
    }
    Ok(())
}

/// A write to a connection that can no longer send returns `EPIPE`, and
/// Linux also sends the thread `SIGPIPE` (`sk_stream_error` in
/// net/core/stream.c) unless the call had `MSG_NOSIGNAL` (`write`,
/// `writev` and `send` without it do raise it).
pub fn sigpipe(flags: i32) {
    if flags & libos_abi::net_types::MSG_NOSIGNAL == 0 {
        crate::signal::raise_sigpipe();
    }
}
