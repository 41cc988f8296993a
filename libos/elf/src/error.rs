//! Everything that can be wrong with a file, one variant per problem.

use core::fmt;

use crate::header::{EHDR_SIZE, ElfKind, MAX_PROGRAM_HEADERS, PHDR_SIZE, SHDR_SIZE};
use crate::symbol::SYM_SIZE;

/// Whose name a string-table lookup was for (used in [`ElfError`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameRef {
    /// The name of the section header at this index.
    Section(usize),
    /// The name of the symbol at this index of the symbol table.
    Symbol(usize),
}

impl fmt::Display for NameRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Section(index) => write!(f, "section {index}"),
            Self::Symbol(index) => write!(f, "symbol {index}"),
        }
    }
}

/// Why a file was rejected.
///
/// Indices (`index`, `first`, ...) are positions in the program header table,
/// the section header table or the symbol table, counted from 0. Offsets and
/// sizes are the values found in the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ElfError {
    // --- ELF header -------------------------------------------------------
    /// The file is shorter than the 64-byte ELF header.
    TooShort {
        /// Length of the file in bytes.
        len: usize,
    },
    /// The file does not start with `\x7fELF`.
    BadMagic {
        /// The first four bytes of the file.
        found: [u8; 4],
    },
    /// `EI_CLASS` is not `ELFCLASS64`.
    UnsupportedClass {
        /// The `EI_CLASS` byte.
        class: u8,
    },
    /// `EI_DATA` is not `ELFDATA2LSB` (little-endian).
    UnsupportedEncoding {
        /// The `EI_DATA` byte.
        encoding: u8,
    },
    /// `EI_VERSION` is not `EV_CURRENT` (1).
    BadIdentVersion {
        /// The `EI_VERSION` byte.
        version: u8,
    },
    /// `e_version` is not `EV_CURRENT` (1).
    BadVersion {
        /// The `e_version` field.
        version: u32,
    },
    /// `e_machine` is not `EM_X86_64`.
    WrongMachine {
        /// The `e_machine` field.
        machine: u16,
    },
    /// `e_ehsize` is not 64.
    BadHeaderSize {
        /// The `e_ehsize` field.
        size: u16,
    },

    // --- Program headers --------------------------------------------------
    /// `e_phentsize` is not 56 although the file has program headers.
    BadProgramHeaderSize {
        /// The `e_phentsize` field.
        size: u16,
    },
    /// `e_phnum` is above [`MAX_PROGRAM_HEADERS`].
    TooManyProgramHeaders {
        /// The `e_phnum` field.
        count: u16,
    },
    /// The program header table does not lie inside the file.
    ProgramHeaderTableOutOfBounds {
        /// The `e_phoff` field.
        offset: u64,
        /// The `e_phnum` field.
        count: u16,
        /// Length of the file in bytes.
        file_len: usize,
    },
    /// A `PT_LOAD` segment has `p_filesz > p_memsz`.
    SegmentFileSizeTooLarge {
        /// Index of the program header.
        index: usize,
        /// The `p_filesz` field.
        file_size: u64,
        /// The `p_memsz` field.
        mem_size: u64,
    },
    /// A segment's file range `p_offset + p_filesz` does not lie inside the
    /// file (or overflows).
    SegmentOutOfBounds {
        /// Index of the program header.
        index: usize,
        /// The `p_offset` field.
        offset: u64,
        /// The `p_filesz` field.
        size: u64,
        /// Length of the file in bytes.
        file_len: usize,
    },
    /// A segment's `p_vaddr + p_memsz` overflows a `u64`.
    SegmentAddressOverflow {
        /// Index of the program header.
        index: usize,
        /// The `p_vaddr` field.
        vaddr: u64,
        /// The `p_memsz` field.
        mem_size: u64,
    },
    /// A `PT_LOAD` segment's `p_align` is above 1 but not a power of two.
    BadSegmentAlignment {
        /// Index of the program header.
        index: usize,
        /// The `p_align` field.
        align: u64,
    },
    /// A `PT_LOAD` segment has `p_vaddr % p_align != p_offset % p_align`.
    MisalignedSegment {
        /// Index of the program header.
        index: usize,
        /// The `p_vaddr` field.
        vaddr: u64,
        /// The `p_offset` field.
        offset: u64,
        /// The `p_align` field.
        align: u64,
    },

    // --- Section headers --------------------------------------------------
    /// `e_shentsize` is not 64 although the file has section headers.
    BadSectionHeaderSize {
        /// The `e_shentsize` field.
        size: u16,
    },
    /// The section header table does not lie inside the file.
    SectionHeaderTableOutOfBounds {
        /// The `e_shoff` field.
        offset: u64,
        /// The `e_shnum` field.
        count: u16,
        /// Length of the file in bytes.
        file_len: usize,
    },
    /// `e_shstrndx` does not name a section.
    BadSectionNameTableIndex {
        /// The `e_shstrndx` field.
        index: u16,
        /// The `e_shnum` field.
        count: u16,
    },
    /// A section used as a string table is not of type `SHT_STRTAB`.
    NotAStringTable {
        /// Index of the section.
        index: usize,
        /// Its `sh_type`.
        kind: u32,
    },
    /// A section's data `sh_offset + sh_size` does not lie inside the file
    /// (or overflows).
    SectionOutOfBounds {
        /// Index of the section header.
        index: usize,
        /// The `sh_offset` field.
        offset: u64,
        /// The `sh_size` field.
        size: u64,
        /// Length of the file in bytes.
        file_len: usize,
    },
    /// A name's offset lies outside its string table.
    NameOutOfBounds {
        /// Whose name it is.
        of: NameRef,
        /// The offset into the string table.
        offset: u32,
        /// Size of the string table in bytes.
        table_size: usize,
    },
    /// A name runs to the end of its string table without a NUL.
    UnterminatedName {
        /// Whose name it is.
        of: NameRef,
        /// The offset into the string table.
        offset: u32,
    },
    /// A name is not valid UTF-8.
    NameNotUtf8 {
        /// Whose name it is.
        of: NameRef,
        /// The offset into the string table.
        offset: u32,
    },

    // --- Symbol table -----------------------------------------------------
    /// The symbol table's `sh_entsize` is not 24.
    BadSymbolEntrySize {
        /// Index of the symbol table section.
        index: usize,
        /// Its `sh_entsize`.
        entry_size: u64,
    },
    /// The symbol table's size is not a multiple of 24.
    SymbolTableSizeMismatch {
        /// Index of the symbol table section.
        index: usize,
        /// Its `sh_size`.
        size: u64,
    },
    /// The symbol table's `sh_link` does not name a section.
    BadStringTableLink {
        /// Index of the symbol table section.
        index: usize,
        /// Its `sh_link`.
        link: u32,
        /// The `e_shnum` field.
        count: u16,
    },

    // --- Loadability (`Elf::check_loadable`) ------------------------------
    /// The [`LoadPolicy`](crate::LoadPolicy) itself is unusable: `page_size`
    /// is not a power of two or `user_start >= user_end`.
    BadLoadPolicy {
        /// The policy's `user_start`.
        user_start: u64,
        /// The policy's `user_end`.
        user_end: u64,
        /// The policy's `page_size`.
        page_size: u64,
    },
    /// The file is not a static executable (`e_type` is not `ET_EXEC`).
    NotExecutable {
        /// The `e_type` field.
        kind: u16,
    },
    /// The file asks for a program interpreter (`PT_INTERP`).
    HasInterpreter {
        /// Index of the `PT_INTERP` program header.
        index: usize,
    },
    /// The thread-local storage template (`PT_TLS`) does not lie in the
    /// file part of a `PT_LOAD` segment, or its memory size is smaller than
    /// its file size.
    TlsOutsideLoad {
        /// Index of the `PT_TLS` program header.
        index: usize,
        /// Its `p_vaddr`.
        vaddr: u64,
        /// Its `p_filesz`.
        file_size: u64,
    },
    /// The file has no `PT_LOAD` segment.
    NoLoadSegments,
    /// The file has more `PT_LOAD` segments than the policy allows.
    TooManyLoadSegments {
        /// Number of `PT_LOAD` segments.
        count: usize,
        /// The policy's `max_segments`.
        max: usize,
    },
    /// A `PT_LOAD` segment occupies no memory (`p_memsz == 0`).
    EmptySegment {
        /// Index of the program header.
        index: usize,
    },
    /// A `PT_LOAD` segment's pages do not lie inside the user range.
    SegmentOutsideUserRange {
        /// Index of the program header.
        index: usize,
        /// The `p_vaddr` field.
        vaddr: u64,
        /// The `p_memsz` field.
        mem_size: u64,
        /// The policy's `user_start`.
        user_start: u64,
        /// The policy's `user_end`.
        user_end: u64,
    },
    /// A segment is both writable and executable.
    WritableAndExecutable {
        /// Index of the program header.
        index: usize,
    },
    /// A `PT_LOAD` segment starts below the one before it.
    SegmentsNotSorted {
        /// Index of the earlier program header.
        previous: usize,
        /// Its `p_vaddr`.
        previous_vaddr: u64,
        /// Index of the later program header.
        index: usize,
        /// Its `p_vaddr`.
        vaddr: u64,
    },
    /// Two `PT_LOAD` segments overlap or share a page.
    SegmentsSharePage {
        /// Index of the earlier program header.
        first: usize,
        /// Index of the later program header.
        second: usize,
        /// Address of the first page the later segment touches, which the
        /// earlier one touches too.
        page: u64,
    },
    /// The entry point does not lie in the file-backed part of an executable
    /// `PT_LOAD` segment.
    EntryNotExecutable {
        /// The `e_entry` field.
        entry: u64,
    },
}

impl fmt::Display for ElfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::TooShort { len } => {
                write!(f, "file is {len} bytes long, shorter than the {EHDR_SIZE}-byte ELF header")
            }
            Self::BadMagic { found } => write!(
                f,
                "not an ELF file: starts with {:02x} {:02x} {:02x} {:02x}, expected 7f 45 4c 46 (\"\\x7fELF\")",
                found[0], found[1], found[2], found[3]
            ),
            Self::UnsupportedClass { class } => {
                write!(f, "unsupported ELF class {class} (1 is 32-bit, 2 is 64-bit): only ELFCLASS64 is supported")
            }
            Self::UnsupportedEncoding { encoding } => write!(
                f,
                "unsupported data encoding {encoding} (1 is little-endian, 2 is big-endian): only little-endian is supported"
            ),
            Self::BadIdentVersion { version } => {
                write!(f, "unsupported EI_VERSION {version}: expected 1 (EV_CURRENT)")
            }
            Self::BadVersion { version } => {
                write!(f, "unsupported e_version {version}: expected 1 (EV_CURRENT)")
            }
            Self::WrongMachine { machine } => write!(f, "wrong machine {machine}: expected x86_64 (EM_X86_64 = 62)"),
            Self::BadHeaderSize { size } => {
                write!(f, "ELF header size (e_ehsize) is {size} bytes, expected {EHDR_SIZE}")
            }
            Self::BadProgramHeaderSize { size } => {
                write!(f, "program header size (e_phentsize) is {size} bytes, expected {PHDR_SIZE}")
            }
            Self::TooManyProgramHeaders { count } => {
                write!(f, "{count} program headers: at most {MAX_PROGRAM_HEADERS} are accepted")
            }
            Self::ProgramHeaderTableOutOfBounds { offset, count, file_len } => write!(
                f,
                "program header table at {offset:#x} ({count} entries of {PHDR_SIZE} bytes) lies beyond the end of the file ({file_len:#x} bytes)"
            ),
            Self::SegmentFileSizeTooLarge { index, file_size, mem_size } => {
                write!(f, "program header {index}: file size {file_size:#x} is larger than memory size {mem_size:#x}")
            }
            Self::SegmentOutOfBounds { index, offset, size, file_len } => write!(
                f,
                "program header {index}: file range {offset:#x}+{size:#x} lies beyond the end of the file ({file_len:#x} bytes)"
            ),
            Self::SegmentAddressOverflow { index, vaddr, mem_size } => write!(
                f,
                "program header {index}: memory range {vaddr:#x}+{mem_size:#x} wraps around the end of the address space"
            ),
            Self::BadSegmentAlignment { index, align } => {
                write!(f, "program header {index}: alignment {align:#x} is not a power of two")
            }
            Self::MisalignedSegment { index, vaddr, offset, align } => write!(
                f,
                "program header {index}: address {vaddr:#x} and file offset {offset:#x} are not congruent modulo the alignment {align:#x}"
            ),
            Self::BadSectionHeaderSize { size } => {
                write!(f, "section header size (e_shentsize) is {size} bytes, expected {SHDR_SIZE}")
            }
            Self::SectionHeaderTableOutOfBounds { offset, count, file_len } => write!(
                f,
                "section header table at {offset:#x} ({count} entries of {SHDR_SIZE} bytes) lies beyond the end of the file ({file_len:#x} bytes)"
            ),
            Self::BadSectionNameTableIndex { index, count } => write!(
                f,
                "section name string table index (e_shstrndx) {index} is out of range: the file has {count} sections"
            ),
            Self::NotAStringTable { index, kind } => {
                write!(f, "section {index} is used as a string table but its type is {kind}, not SHT_STRTAB (3)")
            }
            Self::SectionOutOfBounds { index, offset, size, file_len } => write!(
                f,
                "section {index}: file range {offset:#x}+{size:#x} lies beyond the end of the file ({file_len:#x} bytes)"
            ),
            Self::NameOutOfBounds { of, offset, table_size } => {
                write!(f, "{of}: name offset {offset:#x} lies outside its string table ({table_size:#x} bytes)")
            }
            Self::UnterminatedName { of, offset } => {
                write!(f, "{of}: name at string table offset {offset:#x} is not terminated by a NUL byte")
            }
            Self::NameNotUtf8 { of, offset } => {
                write!(f, "{of}: name at string table offset {offset:#x} is not valid UTF-8")
            }
            Self::BadSymbolEntrySize { index, entry_size } => {
                write!(f, "symbol table (section {index}): entry size {entry_size} bytes, expected {SYM_SIZE}")
            }
            Self::SymbolTableSizeMismatch { index, size } => write!(
                f,
                "symbol table (section {index}): size {size:#x} is not a multiple of the {SYM_SIZE}-byte entry size"
            ),
            Self::BadStringTableLink { index, link, count } => write!(
                f,
                "symbol table (section {index}): linked string table {link} is out of range: the file has {count} sections"
            ),
            Self::BadLoadPolicy { user_start, user_end, page_size } => write!(
                f,
                "invalid load policy: user range {user_start:#x}..{user_end:#x}, page size {page_size:#x} (the range must be non-empty, the page size a power of two and the ET_DYN base page-aligned)"
            ),
            Self::NotExecutable { kind } => write!(
                f,
                "not a static executable: ELF type is {} ({kind}), expected ET_EXEC (2) or ET_DYN (3)",
                ElfKind::from(kind).name()
            ),
            Self::HasInterpreter { index } => write!(
                f,
                "not a static executable: dynamically linked, program header {index} requests a program interpreter (PT_INTERP)"
            ),
            Self::TlsOutsideLoad { index, vaddr, file_size } => write!(
                f,
                "program header {index} (PT_TLS, {file_size:#x} bytes at {vaddr:#x}) does not lie in a loadable segment's file part"
            ),
            Self::NoLoadSegments => f.write_str("the file has no loadable (PT_LOAD) segment"),
            Self::TooManyLoadSegments { count, max } => {
                write!(f, "the file has {count} loadable (PT_LOAD) segments: at most {max} are accepted")
            }
            Self::EmptySegment { index } => {
                write!(f, "program header {index}: loadable segment has a memory size of 0")
            }
            Self::SegmentOutsideUserRange { index, vaddr, mem_size, user_start, user_end } => write!(
                f,
                "program header {index}: memory range {vaddr:#x}+{mem_size:#x} (rounded out to pages) lies outside the user range {user_start:#x}..{user_end:#x}"
            ),
            Self::WritableAndExecutable { index } => {
                write!(f, "program header {index}: segment is both writable and executable")
            }
            Self::SegmentsNotSorted { previous, previous_vaddr, index, vaddr } => write!(
                f,
                "program header {index}: loadable segment at {vaddr:#x} comes after program header {previous} at {previous_vaddr:#x}: loadable segments must be sorted by address"
            ),
            Self::SegmentsSharePage { first, second, page } => write!(
                f,
                "program headers {first} and {second}: loadable segments overlap or share the page at {page:#x}"
            ),
            Self::EntryNotExecutable { entry } => write!(
                f,
                "entry point {entry:#x} does not lie in the file-backed part of an executable loadable segment"
            ),
        }
    }
}

impl core::error::Error for ElfError {}
