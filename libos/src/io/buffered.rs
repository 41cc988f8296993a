//! `BufReader` and `BufWriter`, shaped like `std::io`'s: fewer, larger
//! calls underneath.

use alloc::vec;
use alloc::vec::Vec;

use super::error::Result;
use super::traits::{BufRead, Read, Seek, SeekFrom, Write};

/// The buffer size by default (std's: 8 KiB).
const DEFAULT_BUF_SIZE: usize = 8 * 1024;

/// A reader with a buffer.
pub struct BufReader<R> {
    inner: R,
    buf: Vec<u8>,
    pos: usize,
    filled: usize,
}

impl<R: Read> BufReader<R> {
    /// With the default buffer (8 KiB).
    pub fn new(inner: R) -> BufReader<R> {
        BufReader::with_capacity(DEFAULT_BUF_SIZE, inner)
    }

    /// With a buffer of `capacity` bytes.
    pub fn with_capacity(capacity: usize, inner: R) -> BufReader<R> {
        BufReader { inner, buf: vec![0; capacity.max(1)], pos: 0, filled: 0 }
    }

    /// The reader underneath.
    pub fn get_ref(&self) -> &R {
        &self.inner
    }

    /// The reader underneath (what is buffered is lost).
    pub fn into_inner(self) -> R {
        self.inner
    }

    /// What is buffered.
    pub fn buffer(&self) -> &[u8] {
        &self.buf[self.pos..self.filled]
    }
}

impl<R: Read> Read for BufReader<R> {
    fn read(&mut self, out: &mut [u8]) -> Result<usize> {
        // A large read with nothing buffered bypasses the buffer.
        if self.pos == self.filled && out.len() >= self.buf.len() {
            return self.inner.read(out);
        }
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: Read> BufRead for BufReader<R> {
    fn fill_buf(&mut self) -> Result<&[u8]> {
        if self.pos == self.filled {
            self.filled = self.inner.read(&mut self.buf)?;
            self.pos = 0;
        }
        Ok(&self.buf[self.pos..self.filled])
    }

    fn consume(&mut self, amt: usize) {
        self.pos = (self.pos + amt).min(self.filled);
    }
}

impl<R: Read + Seek> Seek for BufReader<R> {
    /// Seeks the reader underneath (`Current` counts from the caller's
    /// position, not the buffer's end) and drops the buffer.
    fn seek(&mut self, pos: SeekFrom) -> Result<u64> {
        let pos = match pos {
            SeekFrom::Current(n) => SeekFrom::Current(n - (self.filled - self.pos) as i64),
            other => other,
        };
        self.pos = 0;
        self.filled = 0;
        self.inner.seek(pos)
    }
}

/// A writer with a buffer; flushed when dropped (errors then are lost:
/// call [`Write::flush`] to see them).
pub struct BufWriter<W: Write> {
    inner: Option<W>,
    buf: Vec<u8>,
}

impl<W: Write> BufWriter<W> {
    /// With the default buffer (8 KiB).
    pub fn new(inner: W) -> BufWriter<W> {
        BufWriter::with_capacity(DEFAULT_BUF_SIZE, inner)
    }

    /// With a buffer of `capacity` bytes.
    pub fn with_capacity(capacity: usize, inner: W) -> BufWriter<W> {
        BufWriter { inner: Some(inner), buf: Vec::with_capacity(capacity.max(1)) }
    }

    /// The writer underneath.
    pub fn get_ref(&self) -> &W {
        self.inner.as_ref().expect("BufWriter used after into_inner")
    }

    fn flush_buf(&mut self) -> Result<()> {
        let inner = self.inner.as_mut().expect("BufWriter used after into_inner");
        let mut written = 0;
        let result = loop {
            if written == self.buf.len() {
                break Ok(());
            }
            match inner.write(&self.buf[written..]) {
                Ok(0) => {
                    break Err(super::Error::new(super::ErrorKind::WriteZero, "failed to write the buffered data"));
                }
                Ok(n) => written += n,
                Err(e) if e.kind() == super::ErrorKind::Interrupted => {}
                Err(e) => break Err(e),
            }
        };
        self.buf.drain(..written);
        result
    }

    /// Flushes and returns the writer underneath.
    pub fn into_inner(mut self) -> Result<W> {
        self.flush_buf()?;
        Ok(self.inner.take().expect("BufWriter used after into_inner"))
    }
}

impl<W: Write> Write for BufWriter<W> {
    fn write(&mut self, data: &[u8]) -> Result<usize> {
        if self.buf.len() + data.len() > self.buf.capacity() {
            self.flush_buf()?;
        }
        if data.len() >= self.buf.capacity() {
            return self.inner.as_mut().expect("BufWriter used after into_inner").write(data);
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> Result<()> {
        self.flush_buf()?;
        self.inner.as_mut().expect("BufWriter used after into_inner").flush()
    }
}

impl<W: Write + Seek> Seek for BufWriter<W> {
    /// Flushes, then seeks the writer underneath.
    fn seek(&mut self, pos: SeekFrom) -> Result<u64> {
        self.flush_buf()?;
        self.inner.as_mut().expect("BufWriter used after into_inner").seek(pos)
    }
}

impl<W: Write> Drop for BufWriter<W> {
    fn drop(&mut self) {
        if self.inner.is_some() {
            let _ = self.flush_buf();
        }
    }
}
