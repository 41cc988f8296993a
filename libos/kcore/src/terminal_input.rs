//! How a read takes typed bytes from the console's input ring: as a
//! terminal in canonical mode gives them (Linux's `drivers/tty/n_tty.c`
//! with the default `termios`): `icrnl` turns a carriage return into a
//! newline, and `VEOF` (Ctrl-D) ends a read without being returned.

use heapless::Deque;

/// The end-of-file character (`VEOF`, Ctrl-D, in a terminal's default
/// `c_cc`).
pub const EOF_CHAR: u8 = 0x04;

/// What [`take`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Taken {
    /// Nothing was waiting.
    Nothing,
    /// This many bytes (at least one).
    Bytes(usize),
    /// End of file: an [`EOF_CHAR`] at the start of the read (`read`
    /// returns 0).
    EndOfFile,
}

/// Takes up to `buf.len()` bytes from `ring`. A carriage return becomes a
/// newline. [`EOF_CHAR`] ends the read and is never returned: after other
/// bytes of the same line it ends that line (the bytes come back, the
/// character is dropped, as `n_tty` pushes a line without its EOF); first
/// in a read it is end of file (the read returns 0). Unlike `n_tty`, one
/// read may return several lines, so an EOF right after a newline is left
/// for the next read, which `n_tty` would start there too.
pub fn take<const N: usize>(ring: &mut Deque<u8, N>, buf: &mut [u8]) -> Taken {
    let mut n = 0;
    while n < buf.len() {
        match ring.front().copied() {
            Some(EOF_CHAR) => {
                if n == 0 {
                    ring.pop_front();
                    return Taken::EndOfFile;
                }
                if buf[n - 1] != b'\n' {
                    // It ends this read's line.
                    ring.pop_front();
                }
                break;
            }
            Some(b) => {
                ring.pop_front();
                buf[n] = if b == b'\r' { b'\n' } else { b };
                n += 1;
            }
            None => break,
        }
    }
    if n == 0 { Taken::Nothing } else { Taken::Bytes(n) }
}

#[cfg(test)]
mod tests {
    use std::vec;
    use std::vec::Vec;

    use super::*;

    fn ring(bytes: &[u8]) -> Deque<u8, 64> {
        let mut r = Deque::new();
        for &b in bytes {
            r.push_back(b).unwrap();
        }
        r
    }

    /// Reads with a buffer of `size` until the ring is empty.
    fn reads(bytes: &[u8], size: usize) -> Vec<Option<Vec<u8>>> {
        let mut r = ring(bytes);
        let mut out = Vec::new();
        let mut buf = vec![0u8; size];
        loop {
            match take(&mut r, &mut buf) {
                Taken::Nothing => return out,
                Taken::Bytes(n) => out.push(Some(buf[..n].to_vec())),
                Taken::EndOfFile => out.push(None),
            }
        }
    }

    #[test]
    fn carriage_returns_become_newlines() {
        assert_eq!(reads(b"a\rb\n", 16), vec![Some(b"a\nb\n".to_vec())]);
    }

    #[test]
    fn eof_after_a_newline_is_end_of_file_on_the_next_read() {
        assert_eq!(reads(b"abc\n\x04", 16), vec![Some(b"abc\n".to_vec()), None]);
    }

    #[test]
    fn eof_inside_a_line_ends_the_line_and_is_dropped() {
        assert_eq!(reads(b"abc\x04", 16), vec![Some(b"abc".to_vec())]);
        assert_eq!(reads(b"abc\x04\x04", 16), vec![Some(b"abc".to_vec()), None]);
        assert_eq!(reads(b"ab\x04cd\n\x04", 16), vec![Some(b"ab".to_vec()), Some(b"cd\n".to_vec()), None]);
    }

    #[test]
    fn eof_alone_is_end_of_file() {
        assert_eq!(reads(b"\x04", 16), vec![None]);
        assert_eq!(reads(b"\x04\x04", 16), vec![None, None]);
    }

    #[test]
    fn a_full_buffer_leaves_the_rest() {
        assert_eq!(reads(b"abcdef\x04", 4), vec![Some(b"abcd".to_vec()), Some(b"ef".to_vec())]);
        // The line filled the buffer exactly: its EOF reads as end of
        // file next (n_tty's next read finds the line's end with nothing
        // before it).
        assert_eq!(reads(b"abcd\x04", 4), vec![Some(b"abcd".to_vec()), None]);
    }

    #[test]
    fn an_empty_ring_gives_nothing() {
        assert_eq!(reads(b"", 4), vec![]);
    }
}
