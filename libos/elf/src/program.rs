//! Program headers and segments.

use core::fmt;
use core::iter::FusedIterator;
use core::ops::BitOr;

use crate::Elf;
use crate::error::ElfError;
use crate::header::PHDR_SIZE;
use crate::read::{Record, slice_at};

/// `p_type`: unused entry.
pub const PT_NULL: u32 = 0;
/// `p_type`: loadable segment.
pub const PT_LOAD: u32 = 1;
/// `p_type`: dynamic linking information.
pub const PT_DYNAMIC: u32 = 2;
/// `p_type`: path of the program interpreter (dynamic loader).
pub const PT_INTERP: u32 = 3;
/// `p_type`: auxiliary information (notes).
pub const PT_NOTE: u32 = 4;
/// `p_type`: reserved.
pub const PT_SHLIB: u32 = 5;
/// `p_type`: the program header table itself.
pub const PT_PHDR: u32 = 6;
/// `p_type`: thread-local storage template.
pub const PT_TLS: u32 = 7;
/// `p_type` (GNU): exception handling frame header.
pub const PT_GNU_EH_FRAME: u32 = 0x6474_e550;
/// `p_type` (GNU): stack permissions (its flags say whether the stack is
/// executable).
pub const PT_GNU_STACK: u32 = 0x6474_e551;
/// `p_type` (GNU): made read-only after relocation.
pub const PT_GNU_RELRO: u32 = 0x6474_e552;

/// Segment permissions (`p_flags`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SegmentFlags(pub u32);

impl SegmentFlags {
    /// `PF_X`: executable.
    pub const EXECUTE: Self = Self(1);
    /// `PF_W`: writable.
    pub const WRITE: Self = Self(2);
    /// `PF_R`: readable.
    pub const READ: Self = Self(4);

    /// The raw `p_flags` value.
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// Whether every flag set in `other` is set in `self`.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether `PF_R` is set.
    pub const fn readable(self) -> bool {
        self.contains(Self::READ)
    }

    /// Whether `PF_W` is set.
    pub const fn writable(self) -> bool {
        self.contains(Self::WRITE)
    }

    /// Whether `PF_X` is set.
    pub const fn executable(self) -> bool {
        self.contains(Self::EXECUTE)
    }
}

impl BitOr for SegmentFlags {
    type Output = Self;

    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

/// Prints the permissions like `readelf` does, e.g. `R-X`, followed by any
/// other bits in hex.
impl fmt::Display for SegmentFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = if self.readable() { 'R' } else { '-' };
        let w = if self.writable() { 'W' } else { '-' };
        let x = if self.executable() { 'X' } else { '-' };
        write!(f, "{r}{w}{x}")?;
        let rest = self.0 & !0b111;
        if rest != 0 {
            write!(f, " {rest:#x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for SegmentFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SegmentFlags({self})")
    }
}

/// One program header (`Elf64_Phdr`).
///
/// For a file returned by [`Elf::parse`] every program header satisfies:
/// - the file range `offset..offset + file_size` lies inside the file;
/// - `vaddr + mem_size` does not overflow a `u64`;
/// - for `PT_LOAD`: `file_size <= mem_size`, and if `align > 1`, `align` is a
///   power of two and `vaddr % align == offset % align`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProgramHeader {
    /// `p_type`: the segment type ([`PT_LOAD`], [`PT_NOTE`], ...).
    pub kind: u32,
    /// `p_flags`: the permissions.
    pub flags: SegmentFlags,
    /// `p_offset`: where the segment's bytes start in the file.
    pub offset: u64,
    /// `p_vaddr`: the virtual address the segment is mapped at.
    pub vaddr: u64,
    /// `p_paddr`: the physical address (unused on x86-64 user code).
    pub paddr: u64,
    /// `p_filesz`: how many bytes come from the file.
    pub file_size: u64,
    /// `p_memsz`: the size in memory; the bytes past `file_size` are zero.
    pub mem_size: u64,
    /// `p_align`: the alignment of `vaddr` and `offset`.
    pub align: u64,
}

impl ProgramHeader {
    /// Decodes one 56-byte table entry.
    pub(crate) fn from_raw(raw: &[u8; PHDR_SIZE]) -> Self {
        let r = Record::new(raw);
        Self {
            kind: r.u32::<0>(),
            flags: SegmentFlags(r.u32::<4>()),
            offset: r.u64::<8>(),
            vaddr: r.u64::<16>(),
            paddr: r.u64::<24>(),
            file_size: r.u64::<32>(),
            mem_size: r.u64::<40>(),
            align: r.u64::<48>(),
        }
    }

    /// Whether this is a loadable segment (`PT_LOAD`).
    pub const fn is_load(&self) -> bool {
        self.kind == PT_LOAD
    }

    /// The end of the segment in memory, `vaddr + mem_size`, or `None` if it
    /// overflows (never for a header from [`Elf::program_headers`]).
    pub const fn mem_end(&self) -> Option<u64> {
        self.vaddr.checked_add(self.mem_size)
    }
}

/// Checks one program header against the file (see [`ProgramHeader`]).
pub(crate) fn validate(index: usize, ph: &ProgramHeader, bytes: &[u8]) -> Result<(), ElfError> {
    let load = ph.kind == PT_LOAD;
    if load && ph.file_size > ph.mem_size {
        return Err(ElfError::SegmentFileSizeTooLarge { index, file_size: ph.file_size, mem_size: ph.mem_size });
    }
    if slice_at(bytes, ph.offset, ph.file_size).is_none() {
        return Err(ElfError::SegmentOutOfBounds {
            index,
            offset: ph.offset,
            size: ph.file_size,
            file_len: bytes.len(),
        });
    }
    if ph.mem_end().is_none() {
        return Err(ElfError::SegmentAddressOverflow { index, vaddr: ph.vaddr, mem_size: ph.mem_size });
    }
    if load && ph.align > 1 {
        if !ph.align.is_power_of_two() {
            return Err(ElfError::BadSegmentAlignment { index, align: ph.align });
        }
        let mask = ph.align - 1;
        if ph.vaddr & mask != ph.offset & mask {
            return Err(ElfError::MisalignedSegment { index, vaddr: ph.vaddr, offset: ph.offset, align: ph.align });
        }
    }
    Ok(())
}

/// A loadable (`PT_LOAD`) segment: its header and its bytes in the file.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Segment<'a> {
    /// The program header.
    pub header: ProgramHeader,
    /// The `header.file_size` bytes at `header.offset` in the file. The
    /// remaining `mem_size - file_size` bytes of the segment are zero.
    pub data: &'a [u8],
}

impl fmt::Debug for Segment<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Segment").field("header", &self.header).field("data_len", &self.data.len()).finish()
    }
}

/// Iterator over all program headers of a file, in table order (see
/// [`Elf::program_headers`]).
#[derive(Clone, Debug)]
pub struct ProgramHeaders<'a> {
    /// The entries not yet returned.
    entries: core::slice::Iter<'a, [u8; PHDR_SIZE]>,
}

impl<'a> ProgramHeaders<'a> {
    /// Iterates over the (validated) table entries `entries`.
    pub(crate) fn new(entries: &'a [[u8; PHDR_SIZE]]) -> Self {
        Self { entries: entries.iter() }
    }
}

impl Iterator for ProgramHeaders<'_> {
    type Item = ProgramHeader;

    fn next(&mut self) -> Option<ProgramHeader> {
        self.entries.next().map(ProgramHeader::from_raw)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.entries.size_hint()
    }
}

impl DoubleEndedIterator for ProgramHeaders<'_> {
    fn next_back(&mut self) -> Option<ProgramHeader> {
        self.entries.next_back().map(ProgramHeader::from_raw)
    }
}

impl ExactSizeIterator for ProgramHeaders<'_> {}

impl FusedIterator for ProgramHeaders<'_> {}

impl<'a> Elf<'a> {
    /// The loadable (`PT_LOAD`) segments with their file bytes, in file
    /// order.
    ///
    /// The iterator borrows the file's bytes, not this `Elf`.
    pub fn load_segments(&self) -> impl Iterator<Item = Segment<'a>> + use<'a> {
        let bytes = self.bytes;
        self.program_headers().filter(ProgramHeader::is_load).filter_map(move |header| {
            // `parse` checked every file range, so this never skips one.
            let data = slice_at(bytes, header.offset, header.file_size)?;
            Some(Segment { header, data })
        })
    }
}
