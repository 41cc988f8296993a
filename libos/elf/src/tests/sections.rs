//! Section headers, names and the symbol table.

use std::vec;
use std::vec::Vec;

use super::builder::*;
use crate::*;

/// Runs every section and symbol accessor on `bytes` (which must parse) and
/// checks they all report `expected`.
fn assert_all_fail(bytes: &[u8], expected: ElfError) {
    let elf = Elf::parse(bytes).unwrap();
    assert_eq!(elf.sections().err(), Some(expected));
    assert_eq!(elf.section_by_name(".text").err(), Some(expected));
    assert_eq!(elf.section_by_index(0).err(), Some(expected));
    assert_eq!(elf.symbols().err(), Some(expected));
    assert_eq!(elf.symbol("_start").err(), Some(expected));
    // The program headers are unaffected.
    assert_eq!(elf.load_segments().count(), 3);
}

/// Checks that sections are fine but the symbol accessors report `expected`.
fn assert_symbols_fail(bytes: &[u8], expected: ElfError) {
    let elf = Elf::parse(bytes).unwrap();
    assert!(elf.sections().is_ok());
    assert!(elf.section_by_name(".text").unwrap().is_some());
    assert_eq!(elf.symbols().err(), Some(expected));
    assert_eq!(elf.symbol("_start").err(), Some(expected));
}

#[test]
fn sample_section_layout() {
    let built = sample().build();
    assert_eq!(built.shnum, 9);
    assert_eq!(built.symtab, Some(6));
    assert_eq!(built.strtab, Some(7));
    assert_eq!(built.shstrtab, Some(8));
    assert_eq!(built.section_index(".comment"), 5);
}

#[test]
fn no_sections_means_empty_iterators() {
    let mut builder = sample();
    builder.sections.clear();
    builder.symbols = None;
    let mut bytes = builder.build().bytes;
    // e_shoff and e_shentsize are ignored when e_shnum is 0.
    put_u64(&mut bytes, eh::SHOFF, u64::MAX);
    put_u16(&mut bytes, eh::SHENTSIZE, 0);
    let elf = Elf::parse(&bytes).unwrap();
    assert_eq!(elf.sections().unwrap().count(), 0);
    assert_eq!(elf.section_by_name(".text").unwrap(), None);
    assert_eq!(elf.symbols().unwrap().count(), 0);
    assert_eq!(elf.symbol("_start").unwrap(), None);
}

#[test]
fn sections_without_symbol_table() {
    let mut builder = sample();
    builder.symbols = None;
    let built = builder.build();
    let elf = Elf::parse(&built.bytes).unwrap();
    assert_eq!(elf.sections().unwrap().len(), 7);
    assert!(elf.section_by_name(".symtab").unwrap().is_none());
    assert_eq!(elf.symbols().unwrap().len(), 0);
    assert_eq!(elf.symbol("_start").unwrap(), None);
}

#[test]
fn bad_section_header_size() {
    for size in [0, 40, 63, 65] {
        let mut bytes = sample().build().bytes;
        put_u16(&mut bytes, eh::SHENTSIZE, size);
        assert_all_fail(&bytes, ElfError::BadSectionHeaderSize { size });
    }
}

#[test]
fn section_header_table_out_of_bounds() {
    let built = sample().build();
    let file_len = built.bytes.len();
    for offset in [built.shoff as u64 + 1, file_len as u64, u64::MAX, u64::MAX - 64 * 9 + 1, 1 << 63] {
        let mut bytes = built.bytes.clone();
        put_u64(&mut bytes, eh::SHOFF, offset);
        let expected = ElfError::SectionHeaderTableOutOfBounds { offset, count: 9, file_len };
        assert_all_fail(&bytes, expected);
    }
    // Too many entries for the file.
    let mut bytes = built.bytes.clone();
    put_u16(&mut bytes, eh::SHNUM, u16::MAX);
    let expected = ElfError::SectionHeaderTableOutOfBounds { offset: built.shoff as u64, count: u16::MAX, file_len };
    assert_all_fail(&bytes, expected);
}

#[test]
fn bad_section_name_table_index() {
    for index in [9, 100, 0xff00, 0xffff] {
        let mut bytes = sample().build().bytes;
        put_u16(&mut bytes, eh::SHSTRNDX, index);
        assert_all_fail(&bytes, ElfError::BadSectionNameTableIndex { index, count: 9 });
    }
}

#[test]
fn section_name_table_must_be_a_string_table() {
    let mut bytes = sample().build().bytes;
    put_u16(&mut bytes, eh::SHSTRNDX, 2);
    assert_all_fail(&bytes, ElfError::NotAStringTable { index: 2, kind: SHT_PROGBITS });
}

#[test]
fn section_name_table_out_of_bounds() {
    let built = sample().build();
    let mut bytes = built.bytes.clone();
    put_u64(&mut bytes, built.sh(8, sh::SIZE), u64::MAX);
    assert!(matches!(Elf::parse(&bytes).unwrap().sections(), Err(ElfError::SectionOutOfBounds { index: 8, .. })));
}

#[test]
fn no_section_name_table() {
    let built = sample().build();
    let mut bytes = built.bytes.clone();
    put_u16(&mut bytes, eh::SHSTRNDX, SHN_UNDEF);
    // With names pointing nowhere, the first named section is reported.
    let expected = ElfError::NameOutOfBounds { of: NameRef::Section(1), offset: 1, table_size: 0 };
    assert_all_fail(&bytes, expected);
    // With every sh_name 0, all names are empty.
    for index in 0..built.shnum {
        put_u32(&mut bytes, built.sh(index, sh::NAME), 0);
    }
    let elf = Elf::parse(&bytes).unwrap();
    assert!(elf.sections().unwrap().all(|s| s.name.is_empty()));
    assert_eq!(elf.section_by_name(".text").unwrap(), None);
    assert_eq!(elf.symbol("_start").unwrap().unwrap().value, TEXT);
}

#[test]
fn section_name_out_of_bounds() {
    let built = sample().build();
    for offset in [u32::MAX, 1 << 31, 1000] {
        let mut bytes = built.bytes.clone();
        put_u32(&mut bytes, built.sh(3, sh::NAME), offset);
        let table_size = Elf::parse(&built.bytes).unwrap().section_by_name(".shstrtab").unwrap().unwrap().size as usize;
        let expected = ElfError::NameOutOfBounds { of: NameRef::Section(3), offset, table_size };
        assert_all_fail(&bytes, expected);
    }
}

#[test]
fn section_name_unterminated() {
    // Shrink .shstrtab by its final NUL: the last name (".shstrtab" itself)
    // is no longer terminated.
    let built = sample().build();
    let mut bytes = built.bytes.clone();
    let elf = Elf::parse(&built.bytes).unwrap();
    let shstrtab = elf.section_by_name(".shstrtab").unwrap().unwrap();
    let offset = shstrtab.data.unwrap().len() as u32 - 10;
    put_u64(&mut bytes, built.sh(8, sh::SIZE), shstrtab.size - 1);
    let expected = ElfError::UnterminatedName { of: NameRef::Section(8), offset };
    assert_all_fail(&bytes, expected);
}

#[test]
fn section_name_not_utf8() {
    let built = sample().build();
    let elf = Elf::parse(&built.bytes).unwrap();
    let shstrtab = elf.section_by_name(".shstrtab").unwrap().unwrap();
    let mut bytes = built.bytes.clone();
    // ".text" is the second name: offset 9 in the table (after "\0.rodata\0").
    assert_eq!(&shstrtab.data.unwrap()[9..14], b".text");
    bytes[shstrtab.offset as usize + 10] = 0xc3;
    let expected = ElfError::NameNotUtf8 { of: NameRef::Section(2), offset: 9 };
    assert_all_fail(&bytes, expected);
}

#[test]
fn section_data_out_of_bounds() {
    let built = sample().build();
    let file_len = built.bytes.len();
    for (offset, size) in [(u64::MAX, 1), (u64::MAX, 0), (0, u64::MAX), (file_len as u64, 1)] {
        let mut bytes = built.bytes.clone();
        put_u64(&mut bytes, built.sh(5, sh::OFFSET), offset);
        put_u64(&mut bytes, built.sh(5, sh::SIZE), size);
        let expected = ElfError::SectionOutOfBounds { index: 5, offset, size, file_len };
        assert_all_fail(&bytes, expected);
    }
    // SHT_NOBITS sections have no bytes in the file, so any range is fine.
    let mut bytes = built.bytes.clone();
    put_u64(&mut bytes, built.sh(4, sh::OFFSET), u64::MAX);
    put_u64(&mut bytes, built.sh(4, sh::SIZE), u64::MAX);
    let elf = Elf::parse(&bytes).unwrap();
    let bss = elf.section_by_name(".bss").unwrap().unwrap();
    assert_eq!((bss.size, bss.data), (u64::MAX, None));
}

#[test]
fn bad_symbol_entry_size() {
    let built = sample().build();
    for entry_size in [0, 16, 23, 25, 48] {
        let mut bytes = built.bytes.clone();
        put_u64(&mut bytes, built.sh(6, sh::ENTSIZE), entry_size);
        assert_symbols_fail(&bytes, ElfError::BadSymbolEntrySize { index: 6, entry_size });
    }
}

#[test]
fn symbol_table_size_not_a_multiple() {
    let built = sample().build();
    let size = (5 * SYM_SIZE) as u64;
    for size in [size - 1, size + 1, 1] {
        let mut bytes = built.bytes.clone();
        put_u64(&mut bytes, built.sh(6, sh::SIZE), size);
        assert_symbols_fail(&bytes, ElfError::SymbolTableSizeMismatch { index: 6, size });
    }
    // A shorter but whole table is fine.
    let mut bytes = built.bytes.clone();
    put_u64(&mut bytes, built.sh(6, sh::SIZE), 2 * SYM_SIZE as u64);
    let elf = Elf::parse(&bytes).unwrap();
    assert_eq!(elf.symbols().unwrap().len(), 2);
    assert_eq!(elf.symbol("_start").unwrap(), None);
}

#[test]
fn bad_string_table_link() {
    let built = sample().build();
    for link in [9, 1000, u32::MAX] {
        let mut bytes = built.bytes.clone();
        put_u32(&mut bytes, built.sh(6, sh::LINK), link);
        let expected = ElfError::BadStringTableLink { index: 6, link, count: 9 };
        assert_symbols_fail(&bytes, expected);
    }
    // Linked to something that is not a string table.
    let mut bytes = built.bytes.clone();
    put_u32(&mut bytes, built.sh(6, sh::LINK), 2);
    let expected = ElfError::NotAStringTable { index: 2, kind: SHT_PROGBITS };
    assert_symbols_fail(&bytes, expected);
    // Linked to the section name table instead: valid, names come from it.
    let mut bytes = built.bytes.clone();
    put_u32(&mut bytes, built.sh(6, sh::LINK), 8);
    let elf = Elf::parse(&bytes).unwrap();
    assert_eq!(elf.symbols().unwrap().len(), 5);
}

#[test]
fn bad_symbol_names() {
    let built = sample().build();
    let strtab_size = {
        let elf = Elf::parse(&built.bytes).unwrap();
        elf.section_by_name(".strtab").unwrap().unwrap().size as usize
    };
    for offset in [strtab_size as u32, u32::MAX] {
        let mut bytes = built.bytes.clone();
        put_u32(&mut bytes, built.sym(3, 0), offset);
        let expected = ElfError::NameOutOfBounds { of: NameRef::Symbol(3), offset, table_size: strtab_size };
        assert_symbols_fail(&bytes, expected);
    }

    // Remove the final NUL of .strtab: the last name is unterminated.
    let mut bytes = built.bytes.clone();
    put_u64(&mut bytes, built.sh(7, sh::SIZE), strtab_size as u64 - 1);
    let last_name = (strtab_size - "__bss_end\0".len()) as u32;
    let expected = ElfError::UnterminatedName { of: NameRef::Symbol(4), offset: last_name };
    assert_symbols_fail(&bytes, expected);

    // Corrupt the first name, "helper" at offset 1.
    let strtab_offset = built.symtab_offset + 5 * SYM_SIZE;
    assert_eq!(&built.bytes[strtab_offset + 1..strtab_offset + 7], b"helper");
    let mut bytes = built.bytes.clone();
    bytes[strtab_offset + 2] = 0x80;
    let expected = ElfError::NameNotUtf8 { of: NameRef::Symbol(1), offset: 1 };
    assert_symbols_fail(&bytes, expected);
}

#[test]
fn first_symbol_table_and_first_matching_symbol_win() {
    let mut builder = sample();
    let info = (STB_LOCAL << 4) | STT_FUNC;
    builder.symbols.as_mut().unwrap().push(Sym::new("_start", 0x1234, 0, info, 2));
    let built = builder.build();
    let elf = Elf::parse(&built.bytes).unwrap();
    assert_eq!(elf.symbol("_start").unwrap().unwrap().value, TEXT);
    let all: Vec<u64> = elf.symbols().unwrap().filter(|s| s.name == "_start").map(|s| s.value).collect();
    assert_eq!(all, vec![TEXT, 0x1234]);
}

#[test]
fn sections_with_duplicate_names() {
    let mut builder = sample();
    builder.sections.push(Sec::new(".text", SHT_NOBITS, 0, 0, SecData::NoBits(8)));
    let built = builder.build();
    let elf = Elf::parse(&built.bytes).unwrap();
    let text = elf.section_by_name(".text").unwrap().unwrap();
    assert_eq!(text.kind, SHT_PROGBITS);
    assert_eq!(elf.sections().unwrap().filter(|s| s.name == ".text").count(), 2);
}
