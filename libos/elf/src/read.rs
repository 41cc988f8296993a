//! Bounds-checked little-endian reads.
//!
//! Every byte this crate takes from the file goes through one of these
//! helpers. Variable ranges (offsets and sizes that come from the file) are
//! computed with checked arithmetic and looked up with `get`, so a bad value
//! becomes `None` instead of a panic. Fields inside a fixed-size record (a
//! header, a table entry) are read at offsets that are compile-time constants,
//! checked against the record size when the crate is compiled.

use crate::error::{ElfError, NameRef};

/// A fixed-size record (a header or a table entry) whose fields are read at
/// constant offsets.
#[derive(Clone, Copy)]
pub(crate) struct Record<'a, const LEN: usize>(&'a [u8; LEN]);

impl<'a, const LEN: usize> Record<'a, LEN> {
    /// Wraps the `LEN` bytes of one record.
    pub(crate) const fn new(bytes: &'a [u8; LEN]) -> Self {
        Self(bytes)
    }

    /// The `N` bytes at offset `OFF`.
    fn field<const OFF: usize, const N: usize>(self) -> [u8; N] {
        // A field that does not fit in the record is a bug in this crate, and
        // this assertion turns it into a compile-time error.
        const {
            assert!(OFF <= LEN && N <= LEN - OFF, "field lies outside its record");
        };
        // The assertion above makes the `None` arm unreachable; it is there so
        // that no path through this function can panic.
        self.0.get(OFF..).and_then(<[u8]>::first_chunk::<N>).copied().unwrap_or([0; N])
    }

    /// The byte at offset `OFF`.
    pub(crate) fn u8<const OFF: usize>(self) -> u8 {
        u8::from_le_bytes(self.field::<OFF, 1>())
    }

    /// The little-endian `u16` at offset `OFF`.
    pub(crate) fn u16<const OFF: usize>(self) -> u16 {
        u16::from_le_bytes(self.field::<OFF, 2>())
    }

    /// The little-endian `u32` at offset `OFF`.
    pub(crate) fn u32<const OFF: usize>(self) -> u32 {
        u32::from_le_bytes(self.field::<OFF, 4>())
    }

    /// The little-endian `u64` at offset `OFF`.
    pub(crate) fn u64<const OFF: usize>(self) -> u64 {
        u64::from_le_bytes(self.field::<OFF, 8>())
    }
}

/// A length as a `u64` (lossless on every target Rust supports).
pub(crate) fn len_u64(len: usize) -> u64 {
    u64::try_from(len).unwrap_or(u64::MAX)
}

/// The `size` bytes at `offset` in `bytes`, or `None` if the range overflows
/// or does not lie entirely inside `bytes`.
pub(crate) fn slice_at(bytes: &[u8], offset: u64, size: u64) -> Option<&[u8]> {
    let end = offset.checked_add(size)?;
    let start = usize::try_from(offset).ok()?;
    let end = usize::try_from(end).ok()?;
    bytes.get(start..end)
}

/// A table of `count` records of `N` bytes each starting at `offset`, or
/// `None` if it overflows or does not lie entirely inside `bytes`.
pub(crate) fn table_at<const N: usize>(bytes: &[u8], offset: u64, count: u64) -> Option<&[[u8; N]]> {
    let size = count.checked_mul(len_u64(N))?;
    let (records, rest) = slice_at(bytes, offset, size)?.as_chunks::<N>();
    rest.is_empty().then_some(records)
}

/// The NUL-terminated UTF-8 string at `offset` in the string table `table`.
///
/// `table` is `None` when the file has no string table for these names; then
/// only offset 0 (the empty name) is accepted.
pub(crate) fn name_at(table: Option<&[u8]>, offset: u32, of: NameRef) -> Result<&str, ElfError> {
    let table = match table {
        Some(table) => table,
        None if offset == 0 => return Ok(""),
        None => &[],
    };
    let start = usize::try_from(offset).ok();
    let tail = start.and_then(|start| table.get(start..)).filter(|tail| !tail.is_empty());
    let Some(tail) = tail else {
        return Err(ElfError::NameOutOfBounds { of, offset, table_size: table.len() });
    };
    let Some(nul) = tail.iter().position(|&byte| byte == 0) else {
        return Err(ElfError::UnterminatedName { of, offset });
    };
    let name = tail.get(..nul).unwrap_or_default();
    core::str::from_utf8(name).map_err(|_| ElfError::NameNotUtf8 { of, offset })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_reads_little_endian_fields() {
        let bytes = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
        let record = Record::new(&bytes);
        assert_eq!(record.u8::<0>(), 1);
        assert_eq!(record.u16::<1>(), 0x0302);
        assert_eq!(record.u32::<2>(), 0x0605_0403);
        assert_eq!(record.u64::<2>(), 0x0a09_0807_0605_0403);
    }

    #[test]
    fn slice_at_checks_bounds_and_overflow() {
        let bytes = [0u8; 16];
        assert_eq!(slice_at(&bytes, 0, 16).map(<[u8]>::len), Some(16));
        assert_eq!(slice_at(&bytes, 16, 0).map(<[u8]>::len), Some(0));
        assert!(slice_at(&bytes, 17, 0).is_none());
        assert!(slice_at(&bytes, 8, 9).is_none());
        assert!(slice_at(&bytes, u64::MAX, 1).is_none());
        assert!(slice_at(&bytes, 1, u64::MAX).is_none());
        assert!(slice_at(&bytes, u64::MAX, 0).is_none());
    }

    #[test]
    fn table_at_checks_bounds_and_overflow() {
        let bytes = [0u8; 16];
        assert_eq!(table_at::<4>(&bytes, 0, 4).map(<[_]>::len), Some(4));
        assert_eq!(table_at::<4>(&bytes, 4, 3).map(<[_]>::len), Some(3));
        assert!(table_at::<4>(&bytes, 4, 4).is_none());
        assert!(table_at::<4>(&bytes, 0, u64::MAX).is_none());
        assert!(table_at::<4>(&bytes, u64::MAX, 1).is_none());
    }

    #[test]
    fn name_at_validates_names() {
        let table = b"\0abc\0d\xffe\0xyz";
        let of = NameRef::Section(3);
        assert_eq!(name_at(Some(table), 0, of), Ok(""));
        assert_eq!(name_at(Some(table), 1, of), Ok("abc"));
        assert_eq!(name_at(Some(table), 3, of), Ok("c"));
        assert_eq!(name_at(Some(table), 6, of), Err(ElfError::NameNotUtf8 { of, offset: 6 }));
        assert_eq!(name_at(Some(table), 10, of), Err(ElfError::UnterminatedName { of, offset: 10 }));
        for offset in [12, 13] {
            let out = ElfError::NameOutOfBounds { of, offset, table_size: 12 };
            assert_eq!(name_at(Some(table), offset, of), Err(out));
        }
        assert!(name_at(Some(table), u32::MAX, of).is_err());
        assert_eq!(name_at(None, 0, of), Ok(""));
        let out = ElfError::NameOutOfBounds { of, offset: 1, table_size: 0 };
        assert_eq!(name_at(None, 1, of), Err(out));
    }
}
