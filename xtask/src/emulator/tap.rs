//! `--net tap`: the guest's virtio-net card on a tap device, in a network
//! namespace of its own that the xtask creates (`ip netns add`) and
//! deletes when done, so that the host's own network is never touched.
//! The namespace holds the tap device, `tap0`, with the host's side
//! [`HOST_ADDRESS`]; the guest is [`GUEST_ADDRESS`] (given on its command
//! line: there is no DHCP server). QEMU runs inside the namespace, and so
//! do the host's clients: a thread enters it with [`TapNetwork::enter`]
//! (`setns(2)` moves only the calling thread; a child process inherits
//! the thread's namespace).
//!
//! Packets then go through the host kernel's tap driver instead of QEMU's
//! user network (slirp), which copies every byte through socket calls of
//! its own: the benchmark's choice when the user network is the
//! bottleneck. Creating namespaces and tap devices needs root
//! (`CAP_SYS_ADMIN`, `CAP_NET_ADMIN`) and `ip` (iproute2).

use std::fs::File;
use std::os::fd::AsRawFd;
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail, ensure};

use crate::install::{find_in_path, running_as_root};

/// The host's address on the tap device.
pub const HOST_ADDRESS: &str = "10.0.3.1/24";
/// The guest's address.
pub const GUEST_ADDRESS: &str = "10.0.3.2/24";
/// The guest's address without its prefix.
pub const GUEST_IP: [u8; 4] = [10, 0, 3, 2];
/// The tap device's name inside the namespace.
pub const TAP: &str = "tap0";

/// Our kernel's command line words for the tap network.
pub fn kernel_words() -> String {
    format!("net.ip={GUEST_ADDRESS} net.gw={}", HOST_ADDRESS.split('/').next().unwrap_or(""))
}

/// A network namespace with a tap device, deleted on drop.
#[derive(Debug)]
pub struct TapNetwork {
    name: String,
}

impl TapNetwork {
    /// Creates the namespace and its tap device, up, with the host's
    /// address.
    pub fn create() -> Result<TapNetwork> {
        ensure!(running_as_root(), "--net tap needs root (it creates a network namespace and a tap device)");
        ensure!(find_in_path("ip").is_some(), "--net tap needs `ip` (Debian's iproute2)");
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("libos-xtask-{}-{n}", std::process::id());
        ip(&["netns", "add", &name])?;
        // From here on, Drop deletes the namespace (and the device in it).
        let net = TapNetwork { name };
        let ns = net.name.as_str();
        ip(&["-n", ns, "tuntap", "add", "dev", TAP, "mode", "tap"])?;
        ip(&["-n", ns, "addr", "add", HOST_ADDRESS, "dev", TAP])?;
        ip(&["-n", ns, "link", "set", TAP, "up"])?;
        ip(&["-n", ns, "link", "set", "lo", "up"])?;
        Ok(net)
    }

    /// The namespace's name (`ip netns exec NAME ...` reaches the guest).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// QEMU's arguments for a virtio-net card on the tap device (QEMU must
    /// run inside the namespace).
    pub fn qemu_args(&self) -> Vec<String> {
        [
            "-netdev",
            &format!("tap,id=net0,ifname={TAP},script=no,downscript=no"),
            "-device",
            "virtio-net-pci,netdev=net0",
        ]
        .map(str::to_string)
        .to_vec()
    }

    /// Moves the calling thread into the namespace until the guard drops.
    pub fn enter(&self) -> Result<Entered> {
        let back = File::open("/proc/thread-self/ns/net").context("opening this thread's network namespace")?;
        let path = format!("/run/netns/{}", self.name);
        let ns = File::open(&path).with_context(|| format!("opening {path}"))?;
        set_net_namespace(&ns).with_context(|| format!("entering the network namespace {}", self.name))?;
        Ok(Entered { back })
    }
}

impl Drop for TapNetwork {
    fn drop(&mut self) {
        if let Err(e) = ip(&["netns", "delete", &self.name]) {
            eprintln!("xtask: deleting the network namespace {}: {e:#}", self.name);
        }
    }
}

/// A thread inside a [`TapNetwork`]'s namespace; it goes back on drop.
#[derive(Debug)]
pub struct Entered {
    back: File,
}

impl Drop for Entered {
    fn drop(&mut self) {
        if let Err(e) = set_net_namespace(&self.back) {
            eprintln!("xtask: leaving the tap network's namespace: {e}");
        }
    }
}

/// `setns(fd, CLONE_NEWNET)` for the calling thread.
fn set_net_namespace(ns: &File) -> std::io::Result<()> {
    // SAFETY: setns takes a descriptor we own for the call and a flag; it
    // changes only this thread's network namespace.
    if unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Runs `ip ARGS`; an error carries its message.
fn ip(args: &[&str]) -> Result<()> {
    let out = Command::new("ip").args(args).stdin(Stdio::null()).output().context("running ip")?;
    if !out.status.success() {
        bail!("`ip {}` failed: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_guest_gets_its_address_on_the_command_line() {
        assert_eq!(kernel_words(), "net.ip=10.0.3.2/24 net.gw=10.0.3.1");
        assert!(GUEST_ADDRESS.starts_with(&GUEST_IP.map(|b| b.to_string()).join(".")));
    }

    /// As root: the namespace exists with its device while the value
    /// lives, a thread inside sees the device, and it is gone after.
    #[test]
    fn the_namespace_lives_as_long_as_the_value() {
        if !running_as_root() || find_in_path("ip").is_none() {
            eprintln!("skipped: needs root and ip");
            return;
        }
        let net = TapNetwork::create().unwrap();
        let listed = |name: &str| {
            let out = Command::new("ip").args(["netns", "list"]).output().unwrap();
            String::from_utf8_lossy(&out.stdout).lines().any(|l| l.split_whitespace().next() == Some(name))
        };
        let name = net.name().to_string();
        assert!(listed(&name));
        std::thread::scope(|s| {
            s.spawn(|| {
                let _inside = net.enter().unwrap();
                let devices = std::fs::read_to_string("/proc/thread-self/net/dev").unwrap();
                assert!(devices.contains("tap0:"), "{devices}");
            });
        });
        let outside = std::fs::read_to_string("/proc/thread-self/net/dev").unwrap();
        assert!(!outside.contains("tap0:"), "this thread stayed outside");
        drop(net);
        assert!(!listed(&name));
    }
}
