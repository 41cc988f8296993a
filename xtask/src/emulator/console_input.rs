//! Standard input for the app: bytes typed on the guest's console (COM1).
//!
//! The kernel's console reads as a terminal in canonical mode does
//! (`libos_kcore::terminal_input`): a carriage return becomes a newline and
//! Ctrl-D (`VEOF`) at the start of a read is end of file. So a text becomes
//! the app's standard input, followed by end of file, when it is typed
//! with one Ctrl-D after it, and a second one when it does not end with a
//! newline (the first then only ends its last line, as on a Linux
//! terminal). A text that holds a carriage return or a Ctrl-D itself does
//! not come through unchanged: terminal input is text.

/// Ctrl-D, the terminal's end-of-file character.
pub const EOF_CHAR: u8 = 0x04;

/// What to type for `text` to be read whole, then end of file.
pub fn typed(text: &[u8]) -> Vec<u8> {
    let mut out = text.to_vec();
    if !text.is_empty() && !text.ends_with(b"\n") {
        out.push(EOF_CHAR);
    }
    out.push(EOF_CHAR);
    out
}

/// Whether `text` reaches the app unchanged through the console.
pub fn passes_unchanged(text: &[u8]) -> bool {
    !text.iter().any(|&b| b == b'\r' || b == EOF_CHAR)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_gets_one_eof() {
        assert_eq!(typed(b"abc\n"), b"abc\n\x04");
    }

    #[test]
    fn an_unfinished_line_gets_two() {
        assert_eq!(typed(b"abc"), b"abc\x04\x04");
    }

    #[test]
    fn nothing_is_one_eof() {
        assert_eq!(typed(b""), b"\x04");
    }

    #[test]
    fn carriage_returns_and_eofs_do_not_pass() {
        assert!(passes_unchanged(b"hello\n"));
        assert!(!passes_unchanged(b"a\rb"));
        assert!(!passes_unchanged(b"a\x04b"));
    }
}
