//! Section headers and their names.

use core::fmt;
use core::iter::FusedIterator;
use core::ops::Range;

use crate::Elf;
use crate::error::{ElfError, NameRef};
use crate::header::SHDR_SIZE;
use crate::read::{Record, name_at, slice_at, table_at};

/// `sh_type`: unused section header.
pub const SHT_NULL: u32 = 0;
/// `sh_type`: bytes whose meaning is up to the program (code, data).
pub const SHT_PROGBITS: u32 = 1;
/// `sh_type`: the symbol table.
pub const SHT_SYMTAB: u32 = 2;
/// `sh_type`: a string table.
pub const SHT_STRTAB: u32 = 3;
/// `sh_type`: relocations with explicit addends.
pub const SHT_RELA: u32 = 4;
/// `sh_type`: symbol hash table.
pub const SHT_HASH: u32 = 5;
/// `sh_type`: dynamic linking information.
pub const SHT_DYNAMIC: u32 = 6;
/// `sh_type`: notes.
pub const SHT_NOTE: u32 = 7;
/// `sh_type`: occupies no space in the file (e.g. `.bss`).
pub const SHT_NOBITS: u32 = 8;
/// `sh_type`: relocations without addends.
pub const SHT_REL: u32 = 9;
/// `sh_type`: the dynamic linking symbol table.
pub const SHT_DYNSYM: u32 = 11;
/// `sh_type`: array of initialisation function pointers.
pub const SHT_INIT_ARRAY: u32 = 14;
/// `sh_type`: array of termination function pointers.
pub const SHT_FINI_ARRAY: u32 = 15;
/// `sh_type`: array of pre-initialisation function pointers.
pub const SHT_PREINIT_ARRAY: u32 = 16;

/// `sh_flags`: writable at run time.
pub const SHF_WRITE: u64 = 0x1;
/// `sh_flags`: occupies memory at run time.
pub const SHF_ALLOC: u64 = 0x2;
/// `sh_flags`: holds executable instructions.
pub const SHF_EXECINSTR: u64 = 0x4;
/// `sh_flags`: holds thread-local storage.
pub const SHF_TLS: u64 = 0x400;

/// Section index: undefined (also `e_shstrndx` when there is no section name
/// table).
pub const SHN_UNDEF: u16 = 0;
/// Section index: the symbol has an absolute value.
pub const SHN_ABS: u16 = 0xfff1;
/// Section index: a common symbol (not yet allocated).
pub const SHN_COMMON: u16 = 0xfff2;

/// One section (`Elf64_Shdr`) with its name and bytes.
///
/// Everything [`Elf::sections`] returns has been checked: the name is valid
/// UTF-8 inside the section name string table and, unless the section is
/// [`SHT_NOBITS`], the data range lies inside the file.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Section<'a> {
    /// The name, from the section name string table (`""` if the file has
    /// none).
    pub name: &'a str,
    /// `sh_type` ([`SHT_PROGBITS`], [`SHT_SYMTAB`], ...).
    pub kind: u32,
    /// `sh_flags` ([`SHF_ALLOC`], ...).
    pub flags: u64,
    /// `sh_addr`: the address in memory, if the section is allocated.
    pub addr: u64,
    /// `sh_offset`: where the bytes start in the file.
    pub offset: u64,
    /// `sh_size`: the size in bytes (in memory for [`SHT_NOBITS`]).
    pub size: u64,
    /// The `size` bytes at `offset`, or `None` for [`SHT_NOBITS`].
    pub data: Option<&'a [u8]>,
}

impl fmt::Debug for Section<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Section")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("flags", &format_args!("{:#x}", self.flags))
            .field("addr", &format_args!("{:#x}", self.addr))
            .field("offset", &format_args!("{:#x}", self.offset))
            .field("size", &format_args!("{:#x}", self.size))
            .field("data_len", &self.data.map(<[u8]>::len))
            .finish()
    }
}

/// All fields of one section header, undecoded.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RawSection {
    /// `sh_name`.
    pub(crate) name: u32,
    /// `sh_type`.
    pub(crate) kind: u32,
    /// `sh_flags`.
    pub(crate) flags: u64,
    /// `sh_addr`.
    pub(crate) addr: u64,
    /// `sh_offset`.
    pub(crate) offset: u64,
    /// `sh_size`.
    pub(crate) size: u64,
    /// `sh_link`.
    pub(crate) link: u32,
    /// `sh_entsize`.
    pub(crate) entry_size: u64,
}

impl RawSection {
    /// Decodes one 64-byte table entry.
    fn from_raw(raw: &[u8; SHDR_SIZE]) -> Self {
        let r = Record::new(raw);
        Self {
            name: r.u32::<0>(),
            kind: r.u32::<4>(),
            flags: r.u64::<8>(),
            addr: r.u64::<16>(),
            offset: r.u64::<24>(),
            size: r.u64::<32>(),
            link: r.u32::<40>(),
            entry_size: r.u64::<56>(),
        }
    }
}

/// The section header table, with its header-level checks done: entry size,
/// bounds, and the section name string table.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SectionTable<'a> {
    /// The whole file.
    bytes: &'a [u8],
    /// The table entries.
    entries: &'a [[u8; SHDR_SIZE]],
    /// The section name string table, `None` if `e_shstrndx` is `SHN_UNDEF`.
    names: Option<&'a [u8]>,
}

impl<'a> SectionTable<'a> {
    /// Number of sections.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// The header of section `index`, undecoded.
    pub(crate) fn raw(&self, index: usize) -> Option<RawSection> {
        self.entries.get(index).map(RawSection::from_raw)
    }

    /// The bytes of the section `raw` (number `index`), checked to lie
    /// inside the file.
    pub(crate) fn data(&self, index: usize, raw: &RawSection) -> Result<&'a [u8], ElfError> {
        slice_at(self.bytes, raw.offset, raw.size).ok_or(ElfError::SectionOutOfBounds {
            index,
            offset: raw.offset,
            size: raw.size,
            file_len: self.bytes.len(),
        })
    }

    /// The bytes of section `index`, which must be a string table.
    pub(crate) fn string_table(&self, index: usize) -> Result<&'a [u8], ElfError> {
        // Callers check `index` first and report their own error; this is
        // only reached with an index that is out of range if they do not.
        let Some(raw) = self.raw(index) else {
            return Err(ElfError::NotAStringTable { index, kind: SHT_NULL });
        };
        if raw.kind != SHT_STRTAB {
            return Err(ElfError::NotAStringTable { index, kind: raw.kind });
        }
        self.data(index, &raw)
    }

    /// Section `index`, fully checked.
    fn section(&self, index: usize, raw: &RawSection) -> Result<Section<'a>, ElfError> {
        let data = if raw.kind == SHT_NOBITS { None } else { Some(self.data(index, raw)?) };
        Ok(Section {
            name: name_at(self.names, raw.name, NameRef::Section(index))?,
            kind: raw.kind,
            flags: raw.flags,
            addr: raw.addr,
            offset: raw.offset,
            size: raw.size,
            data,
        })
    }
}

/// Iterator over all sections of a file, in table order (see
/// [`Elf::sections`]).
#[derive(Clone, Debug)]
pub struct Sections<'a> {
    /// The (fully validated) table.
    table: SectionTable<'a>,
    /// The indices not yet returned.
    indices: Range<usize>,
}

impl<'a> Iterator for Sections<'a> {
    type Item = Section<'a>;

    fn next(&mut self) -> Option<Section<'a>> {
        let index = self.indices.next()?;
        let raw = self.table.raw(index)?;
        // `Elf::sections` checked every section before creating this
        // iterator, so this is always `Some`.
        self.table.section(index, &raw).ok()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.indices.size_hint()
    }
}

impl ExactSizeIterator for Sections<'_> {}

impl FusedIterator for Sections<'_> {}

impl<'a> Elf<'a> {
    /// The section header table after its header-level checks (the
    /// individual sections are not checked yet).
    pub(crate) fn section_table(&self) -> Result<SectionTable<'a>, ElfError> {
        let header = self.header;
        let bytes = self.bytes;
        if header.shnum == 0 {
            return Ok(SectionTable { bytes, entries: &[], names: None });
        }
        if usize::from(header.shentsize) != SHDR_SIZE {
            return Err(ElfError::BadSectionHeaderSize { size: header.shentsize });
        }
        let entries = table_at::<SHDR_SIZE>(bytes, header.shoff, u64::from(header.shnum)).ok_or(
            ElfError::SectionHeaderTableOutOfBounds {
                offset: header.shoff,
                count: header.shnum,
                file_len: bytes.len(),
            },
        )?;
        let mut table = SectionTable { bytes, entries, names: None };
        if header.shstrndx != SHN_UNDEF {
            let index = usize::from(header.shstrndx);
            if index >= table.len() {
                return Err(ElfError::BadSectionNameTableIndex { index: header.shstrndx, count: header.shnum });
            }
            table.names = Some(table.string_table(index)?);
        }
        Ok(table)
    }

    /// All sections, in table order, after checking the whole section
    /// header table.
    ///
    /// Checks: if `e_shnum > 0`, `e_shentsize` is 64, the table lies inside
    /// the file, `e_shstrndx` is `SHN_UNDEF` or names a [`SHT_STRTAB`]
    /// section whose bytes lie inside the file; then for every section, its
    /// name lies inside that string table, is NUL-terminated and valid UTF-8
    /// (without a name table every `sh_name` must be 0, the empty name), and
    /// its bytes lie inside the file unless it is [`SHT_NOBITS`].
    ///
    /// The iterator is empty if `e_shnum` is 0. Extended section numbering
    /// (more than 65279 sections, `e_shnum == 0` with the count in section
    /// 0) is not supported: such a file has no sections here.
    pub fn sections(&self) -> Result<Sections<'a>, ElfError> {
        let table = self.section_table()?;
        for index in 0..table.len() {
            if let Some(raw) = table.raw(index) {
                table.section(index, &raw)?;
            }
        }
        Ok(Sections { table, indices: 0..table.len() })
    }

    /// The first section called `name`, if any (after checking the whole
    /// table, like [`Elf::sections`]).
    pub fn section_by_name(&self, name: &str) -> Result<Option<Section<'a>>, ElfError> {
        Ok(self.sections()?.find(|section| section.name == name))
    }

    /// Section number `index` (as in [`Symbol::section_index`](crate::Symbol)),
    /// if the table has one (after checking the whole table, like
    /// [`Elf::sections`]).
    pub fn section_by_index(&self, index: usize) -> Result<Option<Section<'a>>, ElfError> {
        Ok(self.sections()?.nth(index))
    }
}
