//! The HTTP/1.1 server of `apps/http-server`, written on Rust `std`
//! (`std::net`, a thread per connection) and built as a static
//! `x86_64-unknown-linux-musl` program: `cargo xtask bench` runs this one
//! binary unmodified on our kernel (`--elf`) and on the Linux guest, so
//! that both kernels serve the same program.
//!
//! `GET /` answers a greeting, `GET /bytes/N` N bytes (`abc...z` repeated,
//! streamed), `POST /discard` reads its body and answers nothing, anything
//! else 404; keep-alive unless the client says `connection: close` (or
//! speaks HTTP/1.0). Arguments: the port (default 80) and `--requests N` to
//! exit after N requests (the benchmark ends its runs with it). At most
//! [`MAX_THREADS`] connections are served at once; beyond that a
//! connection waits in the backlog.

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, OnceLock};
use std::thread;

/// Most connections served at once.
const MAX_THREADS: usize = 64;
/// The largest request head read.
const MAX_HEAD: usize = 8192;
/// The largest `/bytes/N`.
const MAX_BYTES: usize = 1 << 30;
/// Room for a small answer's body beside its header.
const SMALL_BODY: usize = 64;
/// Bytes of the `/bytes/N` pattern written per call: a multiple of 26, so
/// that the pattern runs on across calls.
const PATTERN_CHUNK: usize = 26 * 2520;
/// Stack of a connection's thread (std's default is 2 MiB).
const THREAD_STACK: usize = 64 << 10;

static SERVED: AtomicU64 = AtomicU64::new(0);
static LIMIT: AtomicU64 = AtomicU64::new(u64::MAX);
static ACTIVE: AtomicUsize = AtomicUsize::new(0);
static SLOT: (Mutex<()>, Condvar) = (Mutex::new(()), Condvar::new());

/// What an answer carries.
#[derive(Clone, Copy)]
enum Content {
    /// These bytes.
    Bytes(&'static [u8]),
    /// `n` bytes of the pattern `abc...zabc...`.
    Pattern(usize),
}

/// [`PATTERN_CHUNK`] bytes of the pattern, made once.
fn pattern() -> &'static [u8] {
    static PATTERN: OnceLock<Vec<u8>> = OnceLock::new();
    PATTERN.get_or_init(|| (0..PATTERN_CHUNK).map(|i| b'a' + (i % 26) as u8).collect())
}

fn main() {
    let mut port = 80u16;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--requests" => {
                LIMIT.store(args.next().and_then(|n| n.parse().ok()).unwrap_or(u64::MAX), Ordering::Relaxed)
            }
            p => port = p.parse().unwrap_or(80),
        }
    }
    let listener = match TcpListener::bind(("0.0.0.0", port)) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("http-std: cannot listen on port {port}: {e}");
            std::process::exit(1);
        }
    };
    println!("http-std: listening on port {port}");
    loop {
        {
            let mut g = SLOT.0.lock().unwrap();
            while ACTIVE.load(Ordering::Acquire) >= MAX_THREADS {
                g = SLOT.1.wait(g).unwrap();
            }
        }
        let stream = match listener.accept() {
            Ok((s, _)) => s,
            Err(e) => {
                eprintln!("http-std: accept: {e}");
                continue;
            }
        };
        ACTIVE.fetch_add(1, Ordering::AcqRel);
        let spawned = thread::Builder::new().stack_size(THREAD_STACK).spawn(move || {
            let _ = serve(stream);
            ACTIVE.fetch_sub(1, Ordering::AcqRel);
            SLOT.1.notify_one();
        });
        if let Err(e) = spawned {
            eprintln!("http-std: spawning a thread: {e}");
            ACTIVE.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

/// Serves the requests of one connection until it closes.
fn serve(mut s: TcpStream) -> io::Result<()> {
    s.set_nodelay(true)?;
    let mut buf = Vec::with_capacity(MAX_HEAD);
    loop {
        // Read up to the end of a request head.
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            if buf.len() >= MAX_HEAD {
                s.write_all(
                    b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                )?;
                return Ok(());
            }
            let mut chunk = [0u8; 2048];
            let n = s.read(&mut chunk)?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        let mut lines = head.split("\r\n");
        let mut request = lines.next().unwrap_or("").split(' ');
        let (method, path, version) =
            (request.next().unwrap_or(""), request.next().unwrap_or(""), request.next().unwrap_or(""));
        let mut close = version == "HTTP/1.0";
        let mut body = 0usize;
        for l in lines {
            if let Some((k, v)) = l.split_once(':') {
                let v = v.trim();
                if k.eq_ignore_ascii_case("connection") {
                    close = v.eq_ignore_ascii_case("close") || (close && !v.eq_ignore_ascii_case("keep-alive"));
                } else if k.eq_ignore_ascii_case("content-length") {
                    body = v.parse().unwrap_or(0);
                }
            }
        }
        // Skip a request body without keeping it (a bulk upload may be
        // large).
        let kept = body.min(buf.len() - head_end);
        buf.drain(..head_end + kept);
        let mut left = body - kept;
        while left > 0 {
            let mut chunk = [0u8; 2048];
            let n = s.read(&mut chunk[..left.min(2048)])?;
            if n == 0 {
                return Ok(());
            }
            left -= n;
        }
        let (status, content) = match (method, path) {
            ("GET" | "HEAD", "/") => ("200 OK", Content::Bytes(b"Hello from a libos unikernel!\n")),
            ("POST", "/discard") => ("200 OK", Content::Bytes(b"")),
            ("GET" | "HEAD", p) if p.starts_with("/bytes/") => match p[7..].parse::<usize>() {
                Ok(n) if n <= MAX_BYTES => ("200 OK", Content::Pattern(n)),
                _ => ("400 Bad Request", Content::Bytes(b"bad size\n")),
            },
            ("GET" | "HEAD", _) => ("404 Not Found", Content::Bytes(b"not found\n")),
            _ => ("405 Method Not Allowed", Content::Bytes(b"method not allowed\n")),
        };
        let len = match content {
            Content::Bytes(b) => b.len(),
            Content::Pattern(n) => n,
        };
        let header = format!(
            "HTTP/1.1 {status}\r\ncontent-type: text/plain\r\ncontent-length: {len}\r\nserver: libos\r\n{}\r\n",
            if close { "connection: close\r\n" } else { "" }
        );
        // A small answer goes out in one write with its header.
        let mut out = Vec::with_capacity(header.len() + SMALL_BODY);
        out.extend_from_slice(header.as_bytes());
        if method != "HEAD" {
            match content {
                Content::Bytes(b) => {
                    out.extend_from_slice(b);
                    s.write_all(&out)?;
                }
                Content::Pattern(n) => {
                    s.write_all(&out)?;
                    let pattern = pattern();
                    let mut left = n;
                    while left > 0 {
                        let k = left.min(pattern.len());
                        s.write_all(&pattern[..k])?;
                        left -= k;
                    }
                }
            }
        } else {
            s.write_all(&out)?;
        }
        let served = SERVED.fetch_add(1, Ordering::AcqRel) + 1;
        if served >= LIMIT.load(Ordering::Relaxed) {
            println!("http-std: served {served} requests");
            std::process::exit(0);
        }
        if close {
            return Ok(());
        }
    }
}
