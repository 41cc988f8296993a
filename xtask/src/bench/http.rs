//! HTTP and bulk TCP (`cargo xtask bench`, part `http`): an HTTP/1.1
//! server in the guest under a load generator on the host, written here:
//! keep-alive `GET /` (a 30-byte answer) over 1, 16 and 64 connections,
//! a thread and a blocking socket each, then one large `GET /bytes/N`
//! (guest to host) and one large `POST /discard` (host to guest).
//!
//! The servers: `apps/http-server` (a libos app) and `linux-programs/
//! http-std` (the same program on Rust `std`, a static musl binary),
//! both on our kernel, KPTI on and off; the same `http-std` binary on the
//! Linux guest ([`linux`]), `pti=on` and `off`. Every boot has the same
//! machine (QEMU's user network, a virtio-net card, the host port
//! forwarded to the guest's port 80) and runs the whole load; the server
//! exits after the load's last request (`--requests N`), which ends the
//! run.
//!
//! Each configuration boots twice:
//! - under `-icount shift=0` for **instructions**: QEMU's own count of
//!   the instructions the guest executed (QMP `query-replay`, whose
//!   `icount` is the raw count, without the time a halted CPU skips), read
//!   before and after each measured phase: guest instructions per request
//!   (per KiB moved for the bulk phases), kernel, server and idle loop
//!   included. The guest's TSC cannot serve here: under `-icount` it also
//!   advances while the CPU waits for the network.
//! - under plain TCG for **rates**: requests per second and MB/s, timed on
//!   the host. QEMU's user network (slirp) copies every packet through
//!   the host's socket calls; it bounds the rates, which are the same
//!   machine for every column.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Barrier, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail, ensure};
use libos_abi::run::RunExit;
use serde::{Deserialize, Serialize};

use super::linux::{Extras, Guest, LinuxReport};
use super::report::{Figure, Report, Summary};
use super::{Bench, KPTI_OFF, KPTI_ON, MEM, Part, QEMU_TIMEOUT, TAIL_LINES, app_cmdline, serial_tail};
use crate::build::{Flavor, linux_programs};
use crate::commands::{ImageSpec, build_image};
use crate::emulator::network::{Forward, Network, free_port};
use crate::emulator::run_result::Verdict;
use crate::emulator::tap::{self, TapNetwork};
use crate::emulator::{Launch, Stream};

/// The libos app.
pub const APP: &str = "http-server";
/// The port the servers listen on in the guest.
pub const GUEST_PORT: u16 = 80;
/// What both servers print once they listen.
pub const LISTENING: &str = "listening on port";
/// The Linux guest's address on QEMU's user network (its DHCP's first).
pub const LINUX_ADDRESS: &str = "10.0.2.15/24";
/// How long the server may take to listen, from QEMU's start.
const READY_TIMEOUT: Duration = Duration::from_secs(120);
/// How long one socket call of the load generator may block.
const IO_TIMEOUT: Duration = Duration::from_secs(60);
/// The time between two connects: QEMU's user network resets a burst of
/// connects to a forwarded port before they reach the guest.
const CONNECT_GAP: Duration = Duration::from_millis(20);
/// Attempts of a phase's first connection (the guest's network may not be
/// up when the server says it listens: DHCP).
const CONNECT_ATTEMPTS: u32 = 100;
/// The host's read and write buffer.
const CHUNK: usize = 64 << 10;

/// What a phase does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Workload {
    /// Keep-alive `GET /` on every connection.
    Requests,
    /// One `GET /bytes/N`: guest to host.
    ToHost,
    /// One `POST /discard` with N bytes: host to guest.
    ToGuest,
}

/// One phase of the load.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Phase {
    /// What it does.
    pub workload: Workload,
    /// Connections, each opened (20 ms apart) and warmed with one `GET /`
    /// before the measurement.
    pub connections: u32,
    /// Requests per connection ([`Workload::Requests`]) or bytes.
    pub count: u64,
}

impl Phase {
    /// Requests the server answers in this phase, warm-up included.
    pub fn server_requests(&self) -> u64 {
        let measured = match self.workload {
            Workload::Requests => u64::from(self.connections) * self.count,
            Workload::ToHost | Workload::ToGuest => 1,
        };
        u64::from(self.connections) + measured
    }

    /// What instructions are counted per: requests, or KiB moved.
    pub fn units(&self) -> f64 {
        match self.workload {
            Workload::Requests => (u64::from(self.connections) * self.count) as f64,
            Workload::ToHost | Workload::ToGuest => self.count as f64 / 1024.0,
        }
    }
}

/// The load of one boot, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Load {
    /// The phases.
    pub phases: Vec<Phase>,
}

impl Load {
    /// The load of a run: 512 requests over 1, 16 and 64 connections and
    /// 16 MiB each way; `--quick`: 64 requests over 1 and 16 connections,
    /// 1 MiB each way.
    pub fn new(quick: bool) -> Load {
        let (requests, connections, bytes): (u64, &[u32], u64) =
            if quick { (64, &[1, 16], 1 << 20) } else { (512, &[1, 16, 64], 16 << 20) };
        let mut phases: Vec<Phase> = connections
            .iter()
            .map(|&c| Phase { workload: Workload::Requests, connections: c, count: requests / u64::from(c) })
            .collect();
        phases.push(Phase { workload: Workload::ToHost, connections: 1, count: bytes });
        phases.push(Phase { workload: Workload::ToGuest, connections: 1, count: bytes });
        Load { phases }
    }

    /// The requests the server answers in all: every phase's, then the
    /// last one, after which it exits (`--requests`).
    pub fn server_requests(&self) -> u64 {
        self.phases.iter().map(Phase::server_requests).sum::<u64>() + 1
    }
}

/// What one phase measured in one boot.
#[derive(Clone, Debug, PartialEq)]
pub struct Measured {
    /// The phase.
    pub phase: Phase,
    /// Wall time of its measured part on the host.
    pub secs: f64,
    /// Guest instructions it took (under `-icount`).
    pub instructions: Option<u64>,
}

/// One row: a phase under one kernel, server and KPTI setting.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct HttpFigure {
    /// `libos` or `linux`.
    pub kernel: String,
    /// `http-server` (the libos app) or `http-std`.
    pub server: String,
    /// KPTI (`pti=` under Linux).
    pub kpti: bool,
    /// `requests`, `to-host` or `to-guest`.
    pub workload: String,
    /// Connections.
    pub connections: u32,
    /// Requests measured, or bytes moved.
    pub count: u64,
    /// Guest instructions per request, or per KiB moved (`-icount`).
    pub instructions: f64,
    /// Requests per second, or MB/s (10^6 bytes), under plain TCG: the
    /// median of `--runs` boots.
    pub rate: f64,
    /// The lowest of those boots' rates.
    #[serde(default)]
    pub rate_min: f64,
    /// The highest.
    #[serde(default)]
    pub rate_max: f64,
    /// The guest's network: `user` (QEMU's, a forwarded port) or `tap`.
    #[serde(default)]
    pub network: String,
}

impl HttpFigure {
    /// The row's label.
    pub fn describe(&self) -> String {
        match self.workload.as_str() {
            "requests" => format!("GET / x{}, {} conn", self.count, self.connections),
            "to-host" => format!("guest->host {} MiB", self.count >> 20),
            "to-guest" => format!("host->guest {} MiB", self.count >> 20),
            other => other.to_string(),
        }
    }

    /// The flat figures' stem.
    fn id(&self) -> String {
        format!(
            "http/{}/{}/kpti-{}/{}-{}",
            self.kernel,
            self.server,
            if self.kpti { "on" } else { "off" },
            self.workload,
            self.connections
        )
    }

    /// The unit of [`HttpFigure::rate`].
    pub fn rate_unit(&self) -> &'static str {
        if self.workload == "requests" { "requests/s" } else { "MB/s" }
    }

    /// The unit of [`HttpFigure::instructions`].
    pub fn instructions_unit(&self) -> &'static str {
        if self.workload == "requests" { "instructions/request" } else { "instructions/KiB" }
    }
}

/// The figures of an `-icount` boot and plain TCG boots of the same load:
/// instructions from the first, each rate the median of the others.
pub fn figures(
    who: (&str, &str, bool),
    network: &str,
    icount: &[Measured],
    tcg: &[Vec<Measured>],
) -> Result<Vec<HttpFigure>> {
    ensure!(!tcg.is_empty(), "no plain TCG boot");
    ensure!(tcg.iter().all(|t| t.len() == icount.len()), "the -icount and TCG boots measured different phases");
    icount
        .iter()
        .enumerate()
        .map(|(k, i)| {
            let p = i.phase;
            ensure!(tcg.iter().all(|t| t[k].phase == p), "the -icount and TCG boots measured different phases");
            let instructions = i.instructions.context("the -icount boot counted no instructions")?;
            let rate = |t: &Measured| {
                let secs = t.secs.max(1e-9);
                match p.workload {
                    Workload::Requests => p.units() / secs,
                    Workload::ToHost | Workload::ToGuest => p.count as f64 / 1e6 / secs,
                }
            };
            let rates = Summary::of(tcg.iter().map(|t| rate(&t[k])).collect()).context("no plain TCG boot")?;
            Ok(HttpFigure {
                kernel: who.0.to_string(),
                server: who.1.to_string(),
                kpti: who.2,
                workload: serde_json::to_value(p.workload)?.as_str().unwrap_or_default().to_string(),
                connections: p.connections,
                count: match p.workload {
                    Workload::Requests => u64::from(p.connections) * p.count,
                    _ => p.count,
                },
                instructions: instructions as f64 / p.units(),
                rate: rates.median,
                rate_min: rates.min,
                rate_max: rates.max,
                network: network.to_string(),
            })
        })
        .collect()
}

/// The flat figures (`--compare`) of ours and the Linux guest's rows.
pub fn flat(report: &Report) -> Vec<Figure> {
    let linux = report.linux.as_ref().map(|l| l.http.as_slice()).unwrap_or_default();
    let mut out = Vec::new();
    for f in report.http.iter().chain(linux) {
        let stem = f.id();
        out.push(Figure {
            id: format!("{stem}/instructions"),
            unit: f.instructions_unit().into(),
            value: f.instructions,
        });
        out.push(Figure { id: format!("{stem}/rate"), unit: f.rate_unit().into(), value: f.rate });
    }
    out
}

/// The console section: ours beside the Linux guest's (which serves the
/// `http-std` rows) when it ran.
pub fn render(out: &mut String, report: &Report) {
    use std::fmt::Write as _;

    use super::table::{Table, number};
    if report.http.is_empty() {
        return;
    }
    let linux = report.linux.as_ref().map(|l| l.http.as_slice()).unwrap_or_default();
    let network = match report.http[0].network.as_str() {
        "tap" => "a tap device in a network namespace",
        _ => "QEMU's user network, a forwarded port",
    };
    let runs = report.config.runs;
    let _ = writeln!(
        out,
        "\n== HTTP/1.1 and bulk TCP over {network}: guest instructions under -icount (QEMU's count), rates under \
         plain TCG ({})",
        if runs > 1 { format!("median of {runs} runs, [min-max]") } else { "one run".to_string() }
    );
    let mut table = Table::new(
        &["workload", "server", "KPTI", "libos [instr]", "Linux [instr]", "x Linux", "libos [rate]", "Linux [rate]"],
        3,
    );
    for f in &report.http {
        let theirs = linux.iter().find(|l| {
            l.server == f.server && l.kpti == f.kpti && l.workload == f.workload && l.connections == f.connections
        });
        let unit = if f.workload == "requests" { "/s" } else { " MB/s" };
        let rate = |x: &HttpFigure| {
            let decimals = if x.workload == "requests" { 0 } else { 1 };
            if x.rate_max > x.rate_min {
                format!(
                    "{}{unit} [{}-{}]",
                    number(x.rate, decimals),
                    number(x.rate_min, decimals),
                    number(x.rate_max, decimals)
                )
            } else {
                format!("{}{unit}", number(x.rate, decimals))
            }
        };
        table.row(vec![
            f.describe(),
            f.server.clone(),
            if f.kpti { "on" } else { "off" }.to_string(),
            number(f.instructions, 0),
            theirs.map_or("-".to_string(), |l| number(l.instructions, 0)),
            theirs.map_or("-".to_string(), |l| number(f.instructions / l.instructions, 2)),
            rate(f),
            theirs.map_or("-".to_string(), rate),
        ]);
    }
    out.push_str(&table.render());
    let _ = writeln!(
        out,
        "instructions per request (GET /), per KiB moved (bulk); guest instructions, kernel and idle included"
    );
}

/// A client of QEMU's machine protocol (QMP) on a Unix socket.
struct Qmp {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
}

impl Qmp {
    /// Connects (QEMU made the socket at its start) and leaves the
    /// greeting's capabilities negotiation.
    fn connect(path: &Path) -> Result<Qmp> {
        let stream = UnixStream::connect(path).with_context(|| format!("connecting to QMP at {}", path.display()))?;
        stream.set_read_timeout(Some(IO_TIMEOUT))?;
        let mut qmp = Qmp { reader: BufReader::new(stream.try_clone()?), writer: stream };
        let mut greeting = String::new();
        qmp.reader.read_line(&mut greeting).context("reading QMP's greeting")?;
        ensure!(greeting.contains("\"QMP\""), "QMP's greeting is {greeting:?}");
        qmp.execute("qmp_capabilities")?;
        Ok(qmp)
    }

    /// Runs a command without arguments and returns its `return`.
    fn execute(&mut self, command: &str) -> Result<serde_json::Value> {
        writeln!(self.writer, "{{\"execute\": \"{command}\"}}").context("writing to QMP")?;
        loop {
            let mut line = String::new();
            ensure!(self.reader.read_line(&mut line).context("reading QMP")? > 0, "QMP closed during {command}");
            let value: serde_json::Value =
                serde_json::from_str(&line).with_context(|| format!("QMP answered {line:?}"))?;
            if let Some(r) = value.get("return") {
                return Ok(r.clone());
            }
            if let Some(e) = value.get("error") {
                bail!("QMP {command}: {e}");
            }
            // An event: not the answer.
        }
    }

    /// The instructions the guest has executed so far: `query-replay`'s
    /// `icount` is QEMU's raw instruction counter (`icount_get_raw`),
    /// without the bias that idle warps add to the virtual clock.
    fn instructions(&mut self) -> Result<u64> {
        let r = self.execute("query-replay")?;
        r.get("icount").and_then(serde_json::Value::as_u64).with_context(|| format!("query-replay answered {r}"))
    }
}

/// A keep-alive HTTP/1.1 connection of the load generator.
struct Conn {
    stream: TcpStream,
    /// Bytes read past the last response.
    pending: Vec<u8>,
    scratch: Vec<u8>,
}

impl Conn {
    fn connect(addr: SocketAddr) -> io::Result<Conn> {
        let stream = TcpStream::connect_timeout(&addr, IO_TIMEOUT)?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(IO_TIMEOUT))?;
        stream.set_write_timeout(Some(IO_TIMEOUT))?;
        Ok(Conn { stream, pending: Vec::new(), scratch: vec![0; CHUNK] })
    }

    /// A connection that has had one answer to `GET /`; the first of a
    /// phase tries again while the guest's network comes up.
    fn warmed(addr: SocketAddr, attempts: u32) -> Result<Conn> {
        let mut last = None;
        for _ in 0..attempts.max(1) {
            match Conn::connect(addr).and_then(|mut c| c.get("/").map(|_| c)) {
                Ok(c) => return Ok(c),
                Err(e) => last = Some(e),
            }
            thread::sleep(Duration::from_millis(100));
        }
        Err(anyhow!("no answer from {addr}: {}", last.map(|e| e.to_string()).unwrap_or_default()))
    }

    /// `GET path`; returns the body's length.
    fn get(&mut self, path: &str) -> io::Result<u64> {
        self.stream.write_all(format!("GET {path} HTTP/1.1\r\nhost: libos\r\n\r\n").as_bytes())?;
        self.response()
    }

    /// `POST path` with `bytes` of body; returns the answer's length.
    fn post(&mut self, path: &str, bytes: u64) -> io::Result<u64> {
        self.stream
            .write_all(format!("POST {path} HTTP/1.1\r\nhost: libos\r\ncontent-length: {bytes}\r\n\r\n").as_bytes())?;
        let body = vec![b'x'; CHUNK];
        let mut left = bytes;
        while left > 0 {
            let n = left.min(CHUNK as u64) as usize;
            self.stream.write_all(&body[..n])?;
            left -= n as u64;
        }
        self.response()
    }

    /// Reads one answer, which must be `200`; returns its body's length.
    fn response(&mut self) -> io::Result<u64> {
        let bad = |why: String| io::Error::new(io::ErrorKind::InvalidData, why);
        let head_end = loop {
            if let Some(i) = self.pending.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            let n = self.stream.read(&mut self.scratch)?;
            if n == 0 {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the server closed the connection"));
            }
            self.pending.extend_from_slice(&self.scratch[..n]);
        };
        let head = String::from_utf8_lossy(&self.pending[..head_end]).into_owned();
        let status = head.split(' ').nth(1).unwrap_or("");
        if status != "200" {
            return Err(bad(format!("answer {:?}", head.lines().next().unwrap_or(""))));
        }
        let length: u64 = head
            .lines()
            .find_map(|l| l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case("content-length")))
            .and_then(|(_, v)| v.trim().parse().ok())
            .ok_or_else(|| bad("an answer without content-length".into()))?;
        self.pending.drain(..head_end);
        let here = (length as usize).min(self.pending.len());
        self.pending.drain(..here);
        let mut left = length - here as u64;
        while left > 0 {
            let want = (left as usize).min(self.scratch.len());
            let n = self.stream.read(&mut self.scratch[..want])?;
            if n == 0 {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the server closed the connection mid-body"));
            }
            left -= n as u64;
        }
        Ok(length)
    }
}

/// Runs one phase: opens and warms its connections, then measures.
fn phase(addr: SocketAddr, p: Phase, qmp: &mut Qmp, icount: bool) -> Result<Measured> {
    let mut conns = Vec::new();
    for i in 0..p.connections {
        if i > 0 {
            thread::sleep(CONNECT_GAP);
        }
        conns.push(Conn::warmed(addr, if i == 0 { CONNECT_ATTEMPTS } else { 1 })?);
    }
    let count = |qmp: &mut Qmp| if icount { qmp.instructions().map(Some) } else { Ok(None) };
    let (secs, before, after) = match p.workload {
        Workload::Requests => {
            let start = Arc::new(Barrier::new(conns.len() + 1));
            let workers: Vec<_> = conns
                .into_iter()
                .map(|mut c| {
                    let start = start.clone();
                    thread::spawn(move || -> io::Result<()> {
                        start.wait();
                        for _ in 0..p.count {
                            c.get("/")?;
                        }
                        Ok(())
                    })
                })
                .collect();
            let before = count(qmp)?;
            start.wait();
            let t0 = Instant::now();
            for w in workers {
                w.join().map_err(|_| anyhow!("a load thread panicked"))?.context("a keep-alive GET")?;
            }
            let secs = t0.elapsed().as_secs_f64();
            (secs, before, count(qmp)?)
        }
        Workload::ToHost | Workload::ToGuest => {
            let c = &mut conns[0];
            let before = count(qmp)?;
            let t0 = Instant::now();
            if p.workload == Workload::ToHost {
                let got = c.get(&format!("/bytes/{}", p.count)).context("the bulk GET")?;
                ensure!(got == p.count, "GET /bytes/{} answered {got} bytes", p.count);
            } else {
                c.post("/discard", p.count).context("the bulk POST")?;
            }
            let secs = t0.elapsed().as_secs_f64();
            (secs, before, count(qmp)?)
        }
    };
    let instructions = before.zip(after).map(|(b, a)| a.saturating_sub(b));
    Ok(Measured { phase: p, secs, instructions })
}

/// The whole load, then the last request (`connection: close`), after
/// which the server exits.
///
/// With a tap network this runs inside its namespace; the connections'
/// sockets keep it when other threads use them.
fn load(addr: SocketAddr, load: &Load, qmp: &mut Qmp, icount: bool) -> Result<Vec<Measured>> {
    let mut out = Vec::new();
    for &p in &load.phases {
        out.push(
            phase(addr, p, qmp, icount)
                .with_context(|| format!("{:?} over {} connections", p.workload, p.connections))?,
        );
    }
    let mut last = Conn::connect(addr).context("the last request's connection")?;
    last.stream.write_all(b"GET / HTTP/1.1\r\nhost: libos\r\nconnection: close\r\n\r\n")?;
    // The server may be gone before its answer is read: no matter.
    let _ = last.response();
    Ok(out)
}

/// A QMP socket's path of this process's own.
fn qmp_socket() -> PathBuf {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    std::env::temp_dir().join(format!("libos-xtask-qmp-{}-{n}.sock", std::process::id()))
}

/// The network of a boot: on QEMU's user network, the guest's port 80
/// forwarded from a free host port; on the tap network, the guest's
/// address; and a QMP socket. Returns the devices and both.
fn machine(tap: Option<&TapNetwork>) -> Result<(Vec<String>, SocketAddr, PathBuf)> {
    let (mut devices, addr) = match tap {
        Some(tap) => (tap.qemu_args(), SocketAddr::from((tap::GUEST_IP, GUEST_PORT))),
        None => {
            let host = free_port().context("finding a free port")?;
            let network = Network { forwards: vec![Forward { host, guest: GUEST_PORT }] };
            (network.qemu_args(), SocketAddr::from(([127, 0, 0, 1], host)))
        }
    };
    let qmp = qmp_socket();
    let _ = std::fs::remove_file(&qmp);
    devices.extend(["-qmp".to_string(), format!("unix:{},server=on,wait=off", qmp.display())]);
    Ok((devices, addr, qmp))
}

/// The tap network of the run (`--net tap`), if it asks for one.
fn tap_network(bench: &Bench) -> Result<Option<Arc<TapNetwork>>> {
    if !bench.plan.tap {
        return Ok(None);
    }
    Ok(Some(Arc::new(TapNetwork::create().context("bench --net tap")?)))
}

/// Enters the tap network's namespace on this thread, if there is one.
fn enter(tap: Option<&Arc<TapNetwork>>) -> Result<Option<tap::Entered>> {
    tap.map(|t| t.enter()).transpose()
}

/// Boots with `boot` (given the console's consumer) while the load runs
/// on another thread once the server says it listens.
fn drive<T>(
    what: &str,
    spec: &Load,
    icount: bool,
    addr: SocketAddr,
    qmp: &Path,
    tap: Option<&Arc<TapNetwork>>,
    boot: impl FnOnce(&mut dyn FnMut(Stream, &[u8])) -> Result<T>,
) -> Result<(T, Vec<Measured>)> {
    let (ready_tx, ready_rx) = mpsc::channel::<()>();
    let (spec, qmp_path, tap_net) = (spec.clone(), qmp.to_path_buf(), tap.cloned());
    let generator = thread::spawn(move || -> Result<Vec<Measured>> {
        let _inside = enter(tap_net.as_ref())?;
        ready_rx.recv_timeout(READY_TIMEOUT).map_err(|_| anyhow!("the server never said `{LISTENING}`"))?;
        let mut qmp = Qmp::connect(&qmp_path)?;
        let result = load(addr, &spec, &mut qmp, icount);
        if result.is_err() {
            // End the boot now rather than at its timeout.
            let _ = qmp.execute("quit");
        }
        result
    });
    let mut seen = String::new();
    let mut ready = Some(ready_tx);
    // QEMU starts inside the tap network's namespace (this thread's).
    let inside = enter(tap)?;
    let booted = boot(&mut |stream, chunk| {
        if stream == Stream::Console && ready.is_some() {
            seen.push_str(&String::from_utf8_lossy(chunk));
            if seen.contains(LISTENING) {
                let _ = ready.take().map(|tx| tx.send(()));
            }
        }
    });
    drop(ready);
    drop(inside);
    let _ = std::fs::remove_file(qmp);
    let loaded = generator.join().map_err(|_| anyhow!("{what}: the load generator panicked"))?;
    match (booted, loaded) {
        (Ok(b), Ok(l)) => Ok((b, l)),
        (Err(e), Ok(_)) => Err(e),
        (Ok(_), Err(e)) => Err(e.context(format!("{what}: the load generator"))),
        (Err(boot), Err(load)) => Err(boot.context(format!("the load generator: {load:#}"))),
    }
}

/// The servers measured on our kernel, with the run's plan.
fn servers(quick: bool) -> &'static [&'static str] {
    if quick { &[APP] } else { &[APP, linux_programs::HTTP_STD] }
}

/// Our side: each server, KPTI on and off (on only with `--quick`), under
/// `-icount` and plain TCG.
pub(super) fn ours(bench: &Bench) -> Result<Vec<HttpFigure>> {
    let spec = Load::new(bench.plan.quick);
    let flavor = Flavor::plain(true);
    let tap = tap_network(bench)?;
    let network = if tap.is_some() { "tap" } else { "user" };
    let net_words = if tap.is_some() { tap::kernel_words() } else { String::new() };
    let mut out = Vec::new();
    for &server in servers(bench.plan.quick) {
        let image_path = bench.layout.image(Some(server), flavor);
        let elf =
            (server == linux_programs::HTTP_STD).then(|| linux_programs::build(&bench.layout, server)).transpose()?;
        build_image(&bench.layout, &ImageSpec { app: Some(server.to_string()), flavor, elf }, &image_path)?;
        let configs: &[&str] = if bench.plan.quick { &[KPTI_ON] } else { &[KPTI_ON, KPTI_OFF] };
        for &words in configs {
            let net_words = format!("{words} {net_words}");
            let cmdline = app_cmdline(net_words.trim(), &format!("{GUEST_PORT} --requests {}", spec.server_requests()));
            let mut runs = Vec::new();
            let n = bench.plan.runs;
            let boots = std::iter::once((true, 0)).chain((1..=n).map(|i| (false, i)));
            for (icount, i) in boots {
                let what = format!(
                    "QEMU {}, {}: {server}{}",
                    if icount { "-icount" } else { "TCG" },
                    if words.is_empty() { "defaults" } else { words },
                    if icount { String::new() } else { format!(", run {i}/{n}") }
                );
                let Launch::Qemu(mut boot) =
                    bench.qemu_launch(&image_path, cmdline.clone(), 1, MEM, icount, QEMU_TIMEOUT)
                else {
                    unreachable!("qemu_launch makes QEMU launches");
                };
                let (devices, addr, qmp) = machine(tap.as_deref())?;
                boot.devices = devices;
                let launch = Launch::Qemu(boot);
                // A failed run is the boot's error (with the serial tail),
                // whatever the load generator says.
                let (_, measured) = drive(&what, &spec, icount, addr, &qmp, tap.as_ref(), |on_output| {
                    let ended = launch.run(on_output).with_context(|| format!("{what}: running QEMU"))?;
                    eprintln!("bench: {what} ({:.2} s)", ended.elapsed.as_secs_f64());
                    if ended.verdict != Verdict::Exit(RunExit::Success) {
                        bail!(
                            "{what}: {}\n$ {}\n{}{}",
                            ended.verdict.describe(),
                            ended.command,
                            ended.diagnostics,
                            serial_tail(&ended.serial, TAIL_LINES)
                        );
                    }
                    Ok(())
                })?;
                runs.push(measured);
            }
            out.extend(figures(("libos", server, words != KPTI_OFF), network, &runs[0], &runs[1..])?);
        }
    }
    Ok(out)
}

/// The Linux guest's side (a workload of `linux::WORKLOADS`): the same
/// `http-std` binary as `/http-std` beside `/init` and the network
/// modules, `pti=on` and `off`, under `-icount` and TCG.
pub fn linux(guest: &Guest<'_>, report: &mut LinuxReport) -> Result<()> {
    if !guest.plan().runs(Part::Http) {
        return Ok(());
    }
    let bench = guest.bench();
    let root = &bench.layout.root;
    let modules = match super::linux::package::network_modules(root, guest.kernel()) {
        Ok(modules) => modules,
        Err(e) => {
            let note = format!("no HTTP column: the kernel's network modules cannot be had ({e:#})");
            eprintln!("bench: Linux: {note}");
            report.notes.push(note);
            return Ok(());
        }
    };
    let server = linux_programs::build(&bench.layout, linux_programs::HTTP_STD)?;
    let initrd = root.join("target/linux/initramfs-http.cpio");
    write_initramfs(guest.init(), &server, &modules, &initrd)?;
    let spec = Load::new(guest.plan().quick);
    let tap = tap_network(bench)?;
    let network = if tap.is_some() { "tap" } else { "user" };
    let address = if tap.is_some() { tap::GUEST_ADDRESS } else { LINUX_ADDRESS };
    let args = format!("http {} {address}", spec.server_requests());
    for pti in [true, false] {
        let mut runs = Vec::new();
        let n = guest.plan().runs;
        for (icount, i) in std::iter::once((true, 0)).chain((1..=n).map(|i| (false, i))) {
            let (devices, addr, qmp) = machine(tap.as_deref())?;
            let what = if icount { "http".to_string() } else { format!("http, run {i}/{n}") };
            let what = what.as_str();
            let (_, measured) = drive(what, &spec, icount, addr, &qmp, tap.as_ref(), |on_output| {
                guest.boot_with(pti, icount, MEM, &args, Extras { initrd: &initrd, devices }, on_output, what)
            })?;
            runs.push(measured);
        }
        report.http.extend(figures(("linux", linux_programs::HTTP_STD, pti), network, &runs[0], &runs[1..])?);
    }
    Ok(())
}

/// The Linux guest's initramfs for `http`: `/init`, `/http-std` and the
/// network modules under `/modules`, numbered in load order.
fn write_initramfs(init: &Path, server: &Path, modules: &[PathBuf], out: &Path) -> Result<()> {
    use crate::build::cpio::{Member, S_IFDIR, archive};
    let read = |p: &Path| std::fs::read(p).with_context(|| format!("reading {}", p.display()));
    let (init, server) = (read(init)?, read(server)?);
    let mods: Vec<(String, Vec<u8>)> = modules
        .iter()
        .map(|m| Ok((format!("modules/{}", m.file_name().unwrap_or_default().to_string_lossy()), read(m)?)))
        .collect::<Result<_>>()?;
    let mut members = vec![
        Member::file("init", 0o755, &init),
        Member::file("http-std", 0o755, &server),
        Member { name: b"modules", mode: S_IFDIR | 0o755, data: b"", mtime: 0 },
    ];
    members.extend(mods.iter().map(|(name, data)| Member::file(name, 0o644, data)));
    crate::build::write_atomically(out, &archive(&members)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_count_the_servers_requests() {
        let quick = Load::new(true);
        // 1 conn: 1 warm-up + 64; 16 conns: 16 + 16 x 4; bulk: 1 + 1 each;
        // the last request.
        assert_eq!(quick.server_requests(), 65 + 80 + 2 + 2 + 1);
        let full = Load::new(false);
        assert_eq!(full.phases.len(), 5);
        assert_eq!(full.phases[2], Phase { workload: Workload::Requests, connections: 64, count: 8 });
        assert_eq!(full.phases[3].units(), 16384.0);
    }

    fn measured(workload: Workload, connections: u32, count: u64, secs: f64, instructions: Option<u64>) -> Measured {
        Measured { phase: Phase { workload, connections, count }, secs, instructions }
    }

    #[test]
    fn figures_per_request_and_per_kib() {
        let icount = [
            measured(Workload::Requests, 16, 4, 9.0, Some(640_000)),
            measured(Workload::ToHost, 1, 1 << 20, 9.0, Some(2048)),
        ];
        let tcg = |secs: f64| {
            vec![measured(Workload::Requests, 16, 4, secs, None), measured(Workload::ToHost, 1, 1 << 20, 0.25, None)]
        };
        let f = figures(("libos", APP, true), "user", &icount, &[tcg(0.5), tcg(2.0), tcg(0.25)]).unwrap();
        assert_eq!((f[0].count, f[0].instructions, f[0].rate), (64, 10_000.0, 128.0));
        assert_eq!((f[0].rate_min, f[0].rate_max), (32.0, 256.0));
        assert_eq!(f[0].workload, "requests");
        assert_eq!((f[1].workload.as_str(), f[1].instructions, f[1].rate), ("to-host", 2.0, 4.194304));
        assert_eq!(f[1].describe(), "guest->host 1 MiB");
        assert_eq!(f[0].id(), "http/libos/http-server/kpti-on/requests-16");
        assert!(figures(("libos", APP, true), "user", &icount, &[tcg(1.0)[..1].to_vec()]).is_err());
        assert!(figures(("libos", APP, true), "user", &icount, &[]).is_err());
        assert!(
            figures(("libos", APP, true), "user", &tcg(1.0), &[tcg(1.0)]).is_err(),
            "no instructions without -icount"
        );
    }

    #[test]
    fn the_section_puts_linux_beside_the_same_server() {
        let mut report = crate::bench::report::tests::sample();
        let row = |kernel: &str, server: &str, instructions: f64, rate: f64| HttpFigure {
            kernel: kernel.into(),
            server: server.into(),
            kpti: true,
            workload: "requests".into(),
            connections: 16,
            count: 512,
            instructions,
            rate,
            rate_min: rate / 2.0,
            rate_max: rate,
            network: "user".into(),
        };
        report.http = vec![row("libos", APP, 60_000.0, 2000.0), row("libos", "http-std", 55_000.0, 3000.0)];
        report.linux =
            Some(LinuxReport { http: vec![row("linux", "http-std", 25_000.0, 1000.0)], ..LinuxReport::default() });
        let mut text = String::new();
        render(&mut text, &report);
        assert!(text.contains("over QEMU's user network, a forwarded port"), "{text}");
        let line =
            |server: &str| text.lines().find(|l| l.contains(server) && l.starts_with("GET /")).unwrap().to_string();
        let app = line("http-server");
        assert!(app.contains("60,000") && app.matches(" - ").count() >= 2, "no Linux column for the app: {app}");
        let std = line("http-std");
        assert!(std.contains("25,000") && std.contains(" 2.20 ") && std.contains("1,000/s [500-1,000]"), "{std}");
        let ids: Vec<String> = flat(&report).into_iter().map(|f| f.id).collect();
        assert!(ids.contains(&"http/linux/http-std/kpti-on/requests-16/rate".to_string()), "{ids:?}");
        assert_eq!(ids.len(), 6);
    }

    /// The load generator against `http-std` run on the host: the phases
    /// complete, and the server exits at the count the load says.
    #[test]
    fn the_load_runs_against_the_std_server() {
        let exe = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/debug/http-std");
        if !exe.is_file() {
            eprintln!("skipped: {} is not built (cargo build -p http-std)", exe.display());
            return;
        }
        let port = free_port().unwrap();
        let spec = Load::new(true);
        let mut child = std::process::Command::new(&exe)
            .args([port.to_string(), "--requests".into(), spec.server_requests().to_string()])
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let mut phases = Vec::new();
        let mut last = Err(anyhow!("not started"));
        for _ in 0..50 {
            // No QMP here: a phase runs without counting.
            if let Ok(mut c) = Conn::connect(addr) {
                assert_eq!(c.get("/").unwrap(), 30);
                last = Ok(());
                break;
            }
            thread::sleep(Duration::from_millis(50));
        }
        last.unwrap();
        // That request counts too: the server exits one request early.
        for p in &spec.phases[..] {
            let mut conns: Vec<Conn> = (0..p.connections).map(|_| Conn::connect(addr).unwrap()).collect();
            for c in &mut conns {
                c.get("/").unwrap();
            }
            match p.workload {
                Workload::Requests => {
                    conns.iter_mut().for_each(|c| (0..p.count).for_each(|_| assert_eq!(c.get("/").unwrap(), 30)))
                }
                Workload::ToHost => assert_eq!(conns[0].get(&format!("/bytes/{}", p.count)).unwrap(), p.count),
                Workload::ToGuest => assert_eq!(conns[0].post("/discard", p.count).unwrap(), 0),
            }
            phases.push(p.workload);
        }
        assert_eq!(phases.len(), spec.phases.len());
        let status = child.wait().unwrap();
        assert!(status.success(), "{status}");
    }
}
