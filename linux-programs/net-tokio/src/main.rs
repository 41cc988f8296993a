//! tokio on the Linux ABI: a TCP echo server on the multi-threaded runtime
//! (its I/O driver is epoll, its workers are threads parked on futexes).
//! It listens on port 7, asks the test harness's host side for
//! `echo 7 N BYTES` (N connections at once, each an 8-byte seed then BYTES
//! of the seed's xorshift stream, read back and hashed by the host), checks
//! every byte against the seed's stream as it echoes it, and exits 0 after
//! printing `net-tokio: echoed N connections` when all were right.
//!
//! `cargo xtask test net_tokio` boots it with one CPU and with four.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Connections at once, and bytes each way per connection.
const CONNECTIONS: usize = 32;
const BYTES: usize = 64 * 1024;

/// The xorshift stream the host side generates test data with.
struct Stream(u64);

impl Stream {
    fn new(seed: u64) -> Stream {
        Stream(seed | 1)
    }

    fn fill(&mut self, buf: &mut [u8]) {
        for b in buf {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            *b = self.0 as u8;
        }
    }
}

/// Echoes one connection, checking it against the seed's stream.
async fn echo(mut s: TcpStream) -> Result<(), String> {
    let mut seed = [0u8; 8];
    s.read_exact(&mut seed).await.map_err(|e| format!("reading the seed: {e}"))?;
    let mut want = Stream::new(u64::from_le_bytes(seed));
    let (mut buf, mut expect) = (vec![0u8; 16384], vec![0u8; 16384]);
    let mut done = 0;
    while done < BYTES {
        let n = s.read(&mut buf).await.map_err(|e| format!("read after {done}: {e}"))?;
        if n == 0 {
            return Err(format!("EOF after {done} bytes"));
        }
        want.fill(&mut expect[..n]);
        if buf[..n] != expect[..n] {
            return Err(format!("bytes {done}..{} differ from the host's stream", done + n));
        }
        s.write_all(&buf[..n]).await.map_err(|e| format!("write after {done}: {e}"))?;
        done += n;
    }
    Ok(())
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> Result<(), String> {
    let listener = TcpListener::bind("0.0.0.0:7").await.map_err(|e| format!("bind: {e}"))?;
    println!("net-host: echo 7 {CONNECTIONS} {BYTES}");
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..CONNECTIONS {
        let accepted = tokio::time::timeout(Duration::from_secs(120), listener.accept()).await;
        let (s, _) = accepted.map_err(|_| "no connection in 120 s".to_string())?.map_err(|e| format!("accept: {e}"))?;
        tasks.spawn(echo(s));
    }
    let mut failed = 0;
    while let Some(r) = tasks.join_next().await {
        if let Err(e) = r.map_err(|e| e.to_string()).and_then(|r| r) {
            eprintln!("net-tokio: {e}");
            failed += 1;
        }
    }
    if failed > 0 {
        return Err(format!("{failed} of {CONNECTIONS} connections failed"));
    }
    println!("net-tokio: echoed {CONNECTIONS} connections");
    Ok(())
}
