//! The symbol table (`.symtab`).

use core::iter::FusedIterator;

use crate::Elf;
use crate::error::{ElfError, NameRef};
use crate::read::{Record, len_u64, name_at};
use crate::section::{SHN_UNDEF, SHT_SYMTAB};

/// Size of one ELF64 symbol table entry (`Elf64_Sym`) in bytes.
pub const SYM_SIZE: usize = 24;

/// Symbol binding (`st_info >> 4`): local to the object file.
pub const STB_LOCAL: u8 = 0;
/// Symbol binding: visible to all object files.
pub const STB_GLOBAL: u8 = 1;
/// Symbol binding: global, with lower precedence.
pub const STB_WEAK: u8 = 2;

/// Symbol type (`st_info & 0xf`): unspecified.
pub const STT_NOTYPE: u8 = 0;
/// Symbol type: a data object (variable, array).
pub const STT_OBJECT: u8 = 1;
/// Symbol type: a function or other code.
pub const STT_FUNC: u8 = 2;
/// Symbol type: a section.
pub const STT_SECTION: u8 = 3;
/// Symbol type: the source file.
pub const STT_FILE: u8 = 4;
/// Symbol type: a thread-local storage entity.
pub const STT_TLS: u8 = 6;

/// One symbol table entry (`Elf64_Sym`) with its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Symbol<'a> {
    /// The name, from the symbol table's string table (`""` for none).
    pub name: &'a str,
    /// `st_value`: the address (in an executable).
    pub value: u64,
    /// `st_size`: the size in bytes, 0 if unknown.
    pub size: u64,
    /// `st_info`: binding (high nibble) and type (low nibble).
    pub info: u8,
    /// `st_shndx`: the section the symbol is defined in, or a special index
    /// ([`SHN_UNDEF`], [`SHN_ABS`](crate::SHN_ABS), ...).
    pub section_index: u16,
}

impl Symbol<'_> {
    /// The binding ([`STB_LOCAL`], [`STB_GLOBAL`], [`STB_WEAK`], ...).
    pub const fn binding(&self) -> u8 {
        self.info >> 4
    }

    /// The type ([`STT_FUNC`], [`STT_OBJECT`], ...).
    pub const fn symbol_type(&self) -> u8 {
        self.info & 0xf
    }

    /// Whether the symbol is undefined (`st_shndx == SHN_UNDEF`).
    pub const fn is_undefined(&self) -> bool {
        self.section_index == SHN_UNDEF
    }
}

/// Decodes one 24-byte symbol table entry whose name lies in `names`.
fn symbol<'a>(index: usize, raw: &[u8; SYM_SIZE], names: &'a [u8]) -> Result<Symbol<'a>, ElfError> {
    let r = Record::new(raw);
    Ok(Symbol {
        name: name_at(Some(names), r.u32::<0>(), NameRef::Symbol(index))?,
        info: r.u8::<4>(),
        section_index: r.u16::<6>(),
        value: r.u64::<8>(),
        size: r.u64::<16>(),
    })
}

/// Iterator over the entries of the symbol table, in table order (see
/// [`Elf::symbols`]). The first entry of a symbol table is the null symbol.
#[derive(Clone, Debug)]
pub struct Symbols<'a> {
    /// The entries not yet returned (all validated), with their indices.
    entries: core::iter::Enumerate<core::slice::Iter<'a, [u8; SYM_SIZE]>>,
    /// The linked string table.
    names: &'a [u8],
}

impl<'a> Iterator for Symbols<'a> {
    type Item = Symbol<'a>;

    fn next(&mut self) -> Option<Symbol<'a>> {
        let (index, raw) = self.entries.next()?;
        // `Elf::symbols` checked every entry before creating this iterator,
        // so this is always `Some`.
        symbol(index, raw, self.names).ok()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.entries.size_hint()
    }
}

impl ExactSizeIterator for Symbols<'_> {}

impl FusedIterator for Symbols<'_> {}

impl<'a> Elf<'a> {
    /// The entries of the symbol table (the first [`SHT_SYMTAB`] section),
    /// with names from its linked string table; an empty iterator if the
    /// file has no symbol table (e.g. it was stripped).
    ///
    /// Checks the whole section header table (like [`Elf::sections`]), then:
    /// the symbol table's `sh_entsize` is 24 and its size a multiple of 24;
    /// its `sh_link` names a [`SHT_STRTAB`](crate::SHT_STRTAB) section; every
    /// symbol's name lies inside that string table, is NUL-terminated and
    /// valid UTF-8.
    pub fn symbols(&self) -> Result<Symbols<'a>, ElfError> {
        // Validate every section, so the data ranges used below are known to
        // be good and a bad table is reported the same way as by `sections`.
        self.sections()?;
        let table = self.section_table()?;
        let found = (0..table.len())
            .filter_map(|index| Some((index, table.raw(index)?)))
            .find(|(_, raw)| raw.kind == SHT_SYMTAB);
        let Some((index, raw)) = found else {
            return Ok(Symbols { entries: [].iter().enumerate(), names: &[] });
        };
        if raw.entry_size != len_u64(SYM_SIZE) {
            return Err(ElfError::BadSymbolEntrySize { index, entry_size: raw.entry_size });
        }
        let (entries, rest) = table.data(index, &raw)?.as_chunks::<SYM_SIZE>();
        if !rest.is_empty() {
            return Err(ElfError::SymbolTableSizeMismatch { index, size: raw.size });
        }
        let link = usize::try_from(raw.link).ok().filter(|&link| link < table.len());
        let Some(link) = link else {
            return Err(ElfError::BadStringTableLink { index, link: raw.link, count: self.header.shnum });
        };
        let names = table.string_table(link)?;
        for (index, raw) in entries.iter().enumerate() {
            symbol(index, raw, names)?;
        }
        Ok(Symbols { entries: entries.iter().enumerate(), names })
    }

    /// The first symbol called `name` in the symbol table, if any (after
    /// checking the table, like [`Elf::symbols`]).
    pub fn symbol(&self, name: &str) -> Result<Option<Symbol<'a>>, ElfError> {
        Ok(self.symbols()?.find(|symbol| symbol.name == name))
    }
}
