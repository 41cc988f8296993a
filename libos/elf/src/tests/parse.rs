//! `Elf::parse`: the round trip and every header / program header error.

use std::string::{String, ToString};
use std::vec;
use std::vec::Vec;

use super::builder::*;
use crate::*;

fn sample_bytes() -> Vec<u8> {
    sample().build().bytes
}

/// Parses `bytes` and returns the error, failing the test if it parses.
fn parse_err(bytes: &[u8]) -> ElfError {
    match Elf::parse(bytes) {
        Ok(elf) => panic!("expected an error, parsed {elf:?}"),
        Err(error) => error,
    }
}

#[test]
fn valid_executable_round_trips() {
    let builder = sample();
    let built = builder.build();
    let elf = Elf::parse(&built.bytes).unwrap();

    assert_eq!(elf.bytes().len(), built.bytes.len());
    assert_eq!(elf.kind(), ElfKind::Executable);
    assert_eq!(elf.entry(), TEXT);

    let headers = elf.program_headers();
    assert_eq!(headers.len(), 4);
    let headers: Vec<ProgramHeader> = headers.collect();
    assert_eq!(headers[3].kind, PT_GNU_STACK);
    assert_eq!(headers[3].flags, SegmentFlags::READ | SegmentFlags::WRITE);
    assert_eq!(elf.program_headers().next_back(), Some(headers[3]));

    let segments: Vec<Segment<'_>> = elf.load_segments().collect();
    assert_eq!(segments.len(), 3);
    for (i, segment) in segments.iter().enumerate() {
        let seg = &builder.segments[i];
        assert_eq!(segment.header, headers[i]);
        assert_eq!(segment.header.kind, PT_LOAD);
        assert_eq!(segment.header.vaddr, seg.vaddr);
        assert_eq!(segment.header.paddr, seg.vaddr);
        assert_eq!(segment.header.offset, built.seg_offsets[i]);
        assert_eq!(segment.header.file_size, seg.data.len() as u64);
        assert_eq!(segment.header.mem_size, seg.mem_size);
        assert_eq!(segment.header.align, 0x1000);
        assert_eq!(segment.header.flags.bits(), seg.flags);
        assert_eq!(segment.data, &seg.data[..]);
    }
    let text = segments[1].header.flags;
    assert!(text.readable() && !text.writable() && text.executable());
    let data = segments[2].header.flags;
    assert!(data.readable() && data.writable() && !data.executable());

    let names: Vec<&str> = elf.sections().unwrap().map(|s| s.name).collect();
    assert_eq!(names, ["", ".rodata", ".text", ".data", ".bss", ".comment", ".symtab", ".strtab", ".shstrtab"]);
    assert_eq!(elf.sections().unwrap().len(), 9);

    let text = elf.section_by_name(".text").unwrap().unwrap();
    assert_eq!(text.kind, SHT_PROGBITS);
    assert_eq!(text.flags, SHF_ALLOC | SHF_EXECINSTR);
    assert_eq!(text.addr, TEXT);
    assert_eq!(text.size, 0x80);
    assert_eq!(text.data, Some(segments[1].data));
    let bss = elf.section_by_name(".bss").unwrap().unwrap();
    assert_eq!((bss.kind, bss.addr, bss.size, bss.data), (SHT_NOBITS, DATA + 0x20, 0x2fe0, None));
    let comment = elf.section_by_name(".comment").unwrap().unwrap();
    assert_eq!(comment.data, Some(&b"built by hand\0"[..]));
    assert_eq!(elf.section_by_name(".nope").unwrap(), None);
    assert_eq!(elf.section_by_index(2).unwrap(), Some(text));
    assert_eq!(elf.section_by_index(9).unwrap(), None);

    let symbols: Vec<Symbol<'_>> = elf.symbols().unwrap().collect();
    assert_eq!(elf.symbols().unwrap().len(), 5);
    assert_eq!(symbols[0].name, "");
    assert_eq!(symbols[0].section_index, SHN_UNDEF);
    assert!(symbols[0].is_undefined());
    let start = elf.symbol("_start").unwrap().unwrap();
    assert_eq!(start, symbols[2]);
    assert_eq!((start.value, start.size, start.section_index), (TEXT, 0x40, 2));
    assert_eq!((start.binding(), start.symbol_type()), (STB_GLOBAL, STT_FUNC));
    assert_eq!(elf.section_by_index(usize::from(start.section_index)).unwrap(), Some(text));
    let helper = elf.symbol("helper").unwrap().unwrap();
    assert_eq!((helper.binding(), helper.symbol_type()), (STB_LOCAL, STT_FUNC));
    let counter = elf.symbol("COUNTER").unwrap().unwrap();
    assert_eq!((counter.value, counter.size, counter.symbol_type()), (DATA, 8, STT_OBJECT));
    let end = elf.symbol("__bss_end").unwrap().unwrap();
    assert_eq!((end.binding(), end.section_index), (STB_WEAK, SHN_ABS));
    assert_eq!(elf.symbol("missing").unwrap(), None);
    assert_eq!(elf.symbol("_star").unwrap(), None);

    elf.check_loadable(&POLICY).unwrap();
}

#[test]
fn iterators_outlive_the_elf_value() {
    let bytes = sample().build().bytes;
    let segments = Elf::parse(&bytes).unwrap().load_segments();
    assert_eq!(segments.count(), 3);
    let headers = Elf::parse(&bytes).unwrap().program_headers();
    assert_eq!(headers.len(), 4);
    let sections = Elf::parse(&bytes).unwrap().sections().unwrap();
    assert_eq!(sections.len(), 9);
    let symbols = Elf::parse(&bytes).unwrap().symbols().unwrap();
    assert_eq!(symbols.len(), 5);
    let start = Elf::parse(&bytes).unwrap().symbol("_start").unwrap().unwrap();
    assert_eq!(start.name, "_start");
}

#[test]
fn file_without_sections_or_program_headers() {
    let built = ElfBuilder::new(ET_REL, 0, vec![]).build();
    assert_eq!(built.bytes.len(), EHDR_SIZE);
    let elf = Elf::parse(&built.bytes).unwrap();
    assert_eq!(elf.kind(), ElfKind::Relocatable);
    assert_eq!(elf.program_headers().len(), 0);
    assert_eq!(elf.load_segments().count(), 0);
    assert_eq!(elf.sections().unwrap().len(), 0);
    assert_eq!(elf.section_by_name("").unwrap(), None);
    assert_eq!(elf.symbols().unwrap().len(), 0);
    assert_eq!(elf.symbol("_start").unwrap(), None);
}

#[test]
fn no_program_headers_ignores_phoff_and_phentsize() {
    let mut bytes = ElfBuilder::new(ET_EXEC, 0, vec![]).build().bytes;
    put_u64(&mut bytes, eh::PHOFF, u64::MAX);
    put_u16(&mut bytes, eh::PHENTSIZE, 0);
    assert_eq!(Elf::parse(&bytes).unwrap().program_headers().len(), 0);
}

#[test]
fn elf_kinds() {
    for (raw, kind) in [
        (ET_NONE, ElfKind::Other(0)),
        (ET_REL, ElfKind::Relocatable),
        (ET_EXEC, ElfKind::Executable),
        (ET_DYN, ElfKind::SharedObject),
        (ET_CORE, ElfKind::Core),
        (0xfe00, ElfKind::Other(0xfe00)),
    ] {
        let mut bytes = sample_bytes();
        put_u16(&mut bytes, eh::TYPE, raw);
        let elf = Elf::parse(&bytes).unwrap();
        assert_eq!(elf.kind(), kind);
        assert_eq!(kind.raw(), raw);
        assert_eq!(ElfKind::from(raw), kind);
    }
    assert_eq!(ElfKind::SharedObject.name(), "ET_DYN");
}

#[test]
fn too_short() {
    let bytes = sample_bytes();
    for len in [0, 1, 4, 16, 63] {
        assert_eq!(parse_err(&bytes[..len]), ElfError::TooShort { len });
    }
    assert!(Elf::parse(&bytes[..64]).is_err());
}

#[test]
fn bad_magic() {
    for at in 0..4 {
        let mut bytes = sample_bytes();
        bytes[at] ^= 0x20;
        let mut found = [0x7f, b'E', b'L', b'F'];
        found[at] ^= 0x20;
        assert_eq!(parse_err(&bytes), ElfError::BadMagic { found });
    }
}

#[test]
fn not_elfclass64() {
    for class in [0, 1, 3] {
        let mut bytes = sample_bytes();
        bytes[eh::IDENT_CLASS] = class;
        assert_eq!(parse_err(&bytes), ElfError::UnsupportedClass { class });
    }
}

#[test]
fn not_little_endian() {
    for encoding in [0, 2, 9] {
        let mut bytes = sample_bytes();
        bytes[eh::IDENT_DATA] = encoding;
        assert_eq!(parse_err(&bytes), ElfError::UnsupportedEncoding { encoding });
    }
}

#[test]
fn bad_ident_version() {
    for version in [0, 2, 255] {
        let mut bytes = sample_bytes();
        bytes[eh::IDENT_VERSION] = version;
        assert_eq!(parse_err(&bytes), ElfError::BadIdentVersion { version });
    }
}

#[test]
fn bad_e_version() {
    for version in [0, 2, u32::MAX] {
        let mut bytes = sample_bytes();
        put_u32(&mut bytes, eh::VERSION, version);
        assert_eq!(parse_err(&bytes), ElfError::BadVersion { version });
    }
}

#[test]
fn wrong_machine() {
    for machine in [0, 3, 40, 183, 243] {
        let mut bytes = sample_bytes();
        put_u16(&mut bytes, eh::MACHINE, machine);
        assert_eq!(parse_err(&bytes), ElfError::WrongMachine { machine });
    }
}

#[test]
fn bad_header_size() {
    for size in [0, 52, 63, 65, 0xffff] {
        let mut bytes = sample_bytes();
        put_u16(&mut bytes, eh::EHSIZE, size);
        assert_eq!(parse_err(&bytes), ElfError::BadHeaderSize { size });
    }
}

#[test]
fn bad_program_header_size() {
    for size in [0, 32, 55, 57, 64] {
        let mut bytes = sample_bytes();
        put_u16(&mut bytes, eh::PHENTSIZE, size);
        assert_eq!(parse_err(&bytes), ElfError::BadProgramHeaderSize { size });
    }
}

#[test]
fn program_header_count_limit() {
    // 128 (null) program headers are fine...
    let segments = vec![Seg::empty(PT_NULL, 0); 128];
    let built = ElfBuilder::new(ET_EXEC, 0, segments).build();
    let elf = Elf::parse(&built.bytes).unwrap();
    assert_eq!(elf.program_headers().len(), 128);
    assert_eq!(elf.load_segments().count(), 0);

    // ... 129 are not, whether or not the table fits in the file.
    let segments = vec![Seg::empty(PT_NULL, 0); 129];
    let built = ElfBuilder::new(ET_EXEC, 0, segments).build();
    assert_eq!(parse_err(&built.bytes), ElfError::TooManyProgramHeaders { count: 129 });
    for count in [129, 1000, u16::MAX] {
        let mut bytes = sample_bytes();
        put_u16(&mut bytes, eh::PHNUM, count);
        assert_eq!(parse_err(&bytes), ElfError::TooManyProgramHeaders { count });
    }
}

#[test]
fn program_header_table_out_of_bounds() {
    let bytes = sample_bytes();
    let file_len = bytes.len();
    let table_size = (4 * PHDR_SIZE) as u64;
    for offset in [
        file_len as u64 - table_size + 1,
        file_len as u64,
        file_len as u64 + 1,
        u64::MAX - 100,
        u64::MAX - table_size + 1,
        u64::MAX,
        1 << 63,
    ] {
        let mut bytes = bytes.clone();
        put_u64(&mut bytes, eh::PHOFF, offset);
        let expected = ElfError::ProgramHeaderTableOutOfBounds { offset, count: 4, file_len };
        assert_eq!(parse_err(&bytes), expected, "e_phoff {offset:#x}");
    }
    // A table ending exactly at the end of the file is fine.
    let mut bytes = bytes.clone();
    let copy: Vec<u8> = bytes[EHDR_SIZE..EHDR_SIZE + 4 * PHDR_SIZE].to_vec();
    bytes.extend_from_slice(&copy);
    let phoff = (bytes.len() - 4 * PHDR_SIZE) as u64;
    put_u64(&mut bytes, eh::PHOFF, phoff);
    assert_eq!(Elf::parse(&bytes).unwrap().program_headers().len(), 4);
}

#[test]
fn load_file_size_above_mem_size() {
    let built = sample().build();
    let mut bytes = built.bytes.clone();
    put_u64(&mut bytes, built.ph(1, ph::MEMSZ), 0x7f);
    let expected = ElfError::SegmentFileSizeTooLarge { index: 1, file_size: 0x80, mem_size: 0x7f };
    assert_eq!(parse_err(&bytes), expected);

    // Only PT_LOAD segments have to respect it.
    let mut bytes = built.bytes.clone();
    put_u32(&mut bytes, built.ph(1, ph::TYPE), PT_NOTE);
    put_u64(&mut bytes, built.ph(1, ph::MEMSZ), 0);
    let elf = Elf::parse(&bytes).unwrap();
    assert_eq!(elf.load_segments().count(), 2);
}

#[test]
fn segment_file_range_out_of_bounds() {
    let built = sample().build();
    let file_len = built.bytes.len();
    let text_offset = built.seg_offsets[1];
    let cases = [
        // (p_offset, p_filesz)
        (u64::MAX, 0x80),
        (u64::MAX, 0),
        (file_len as u64 + 1, 0),
        (file_len as u64 - 0x7f, 0x80),
        (text_offset, u64::MAX),
        (text_offset, file_len as u64),
        (1 << 63, 1 << 63),
    ];
    for (offset, size) in cases {
        let mut bytes = built.bytes.clone();
        put_u64(&mut bytes, built.ph(1, ph::OFFSET), offset);
        put_u64(&mut bytes, built.ph(1, ph::FILESZ), size);
        put_u64(&mut bytes, built.ph(1, ph::MEMSZ), size.max(0x80));
        put_u64(&mut bytes, built.ph(1, ph::ALIGN), 0);
        let expected = ElfError::SegmentOutOfBounds { index: 1, offset, size, file_len };
        assert_eq!(parse_err(&bytes), expected, "{offset:#x}+{size:#x}");
    }

    // Non-PT_LOAD segments are checked too.
    let mut bytes = built.bytes.clone();
    put_u64(&mut bytes, built.ph(3, ph::OFFSET), u64::MAX);
    assert!(matches!(parse_err(&bytes), ElfError::SegmentOutOfBounds { index: 3, .. }));

    // A segment ending exactly at the end of the file is fine, and so is an
    // empty one right after it.
    let mut bytes = built.bytes.clone();
    put_u64(&mut bytes, built.ph(3, ph::OFFSET), file_len as u64 - 8);
    put_u64(&mut bytes, built.ph(3, ph::FILESZ), 8);
    assert!(Elf::parse(&bytes).is_ok());
    put_u64(&mut bytes, built.ph(3, ph::OFFSET), file_len as u64);
    put_u64(&mut bytes, built.ph(3, ph::FILESZ), 0);
    assert!(Elf::parse(&bytes).is_ok());
}

#[test]
fn segment_address_overflow() {
    let built = sample().build();
    let cases = [
        // (p_vaddr, p_memsz)
        (u64::MAX, 0x80),
        (u64::MAX - 0x7e, 0x80),
        (0x1000, u64::MAX),
        (1 << 63, 1 << 63),
    ];
    for (vaddr, mem_size) in cases {
        let mut bytes = built.bytes.clone();
        put_u64(&mut bytes, built.ph(1, ph::VADDR), vaddr);
        put_u64(&mut bytes, built.ph(1, ph::MEMSZ), mem_size);
        put_u64(&mut bytes, built.ph(1, ph::ALIGN), 0);
        let expected = ElfError::SegmentAddressOverflow { index: 1, vaddr, mem_size };
        assert_eq!(parse_err(&bytes), expected, "{vaddr:#x}+{mem_size:#x}");
    }
    // Ending exactly at the top of the address space does not overflow.
    let mut bytes = built.bytes.clone();
    put_u64(&mut bytes, built.ph(1, ph::VADDR), u64::MAX - 0x80);
    put_u64(&mut bytes, built.ph(1, ph::ALIGN), 0);
    assert!(Elf::parse(&bytes).is_ok());
}

#[test]
fn bad_alignment() {
    let built = sample().build();
    for align in [3, 0x1001, 0x3000, u64::MAX] {
        let mut bytes = built.bytes.clone();
        put_u64(&mut bytes, built.ph(2, ph::ALIGN), align);
        assert_eq!(parse_err(&bytes), ElfError::BadSegmentAlignment { index: 2, align });
    }
    // Alignments 0 and 1 mean "no constraint", and non-PT_LOAD segments
    // are not checked.
    for align in [0, 1] {
        let mut bytes = built.bytes.clone();
        put_u64(&mut bytes, built.ph(2, ph::ALIGN), align);
        put_u64(&mut bytes, built.ph(2, ph::VADDR), DATA + 3);
        assert!(Elf::parse(&bytes).is_ok());
    }
    let mut bytes = built.bytes.clone();
    put_u64(&mut bytes, built.ph(3, ph::ALIGN), 3);
    assert!(Elf::parse(&bytes).is_ok());
}

#[test]
fn misaligned_segment() {
    let built = sample().build();
    let mut bytes = built.bytes.clone();
    put_u64(&mut bytes, built.ph(2, ph::VADDR), DATA + 0x10);
    let expected =
        ElfError::MisalignedSegment { index: 2, vaddr: DATA + 0x10, offset: built.seg_offsets[2], align: 0x1000 };
    assert_eq!(parse_err(&bytes), expected);

    // Congruent but not aligned is fine (vaddr and offset both + 0x10).
    let mut bytes = built.bytes.clone();
    put_u64(&mut bytes, built.ph(2, ph::VADDR), DATA + 0x10);
    put_u64(&mut bytes, built.ph(2, ph::OFFSET), built.seg_offsets[2] + 0x10);
    put_u64(&mut bytes, built.ph(2, ph::FILESZ), 0x10);
    assert!(Elf::parse(&bytes).is_ok());
}

#[test]
fn program_headers_are_checked_in_order() {
    // With two bad headers, the first one is reported.
    let built = sample().build();
    let mut bytes = built.bytes.clone();
    put_u64(&mut bytes, built.ph(2, ph::OFFSET), u64::MAX);
    put_u64(&mut bytes, built.ph(0, ph::VADDR), u64::MAX);
    assert!(matches!(parse_err(&bytes), ElfError::SegmentAddressOverflow { index: 0, .. }));
}

#[test]
fn segment_flags() {
    let rx = SegmentFlags::READ | SegmentFlags::EXECUTE;
    assert_eq!(rx.bits(), 5);
    assert!(rx.readable() && rx.executable() && !rx.writable());
    assert!(rx.contains(SegmentFlags::READ));
    assert!(!rx.contains(SegmentFlags::READ | SegmentFlags::WRITE));
    assert_eq!(rx.to_string(), "R-X");
    assert_eq!(SegmentFlags(0).to_string(), "---");
    assert_eq!(SegmentFlags(0xf000_0006).to_string(), "RW- 0xf0000000");
    assert_eq!(std::format!("{:?}", SegmentFlags(2)), "SegmentFlags(-W-)");
}

#[test]
fn error_messages() {
    let example = ElfError::SegmentOutOfBounds { index: 2, offset: 0x1000, size: 0x5000, file_len: 0x3000 };
    assert_eq!(
        example.to_string(),
        "program header 2: file range 0x1000+0x5000 lies beyond the end of the file (0x3000 bytes)"
    );
    let not_static = ElfError::NotExecutable { kind: ET_REL };
    assert_eq!(
        not_static.to_string(),
        "not a static executable: ELF type is ET_REL (1), expected ET_EXEC (2) or ET_DYN (3)"
    );
    assert_eq!(
        ElfError::BadMagic { found: *b"MZ\x90\0" }.to_string(),
        "not an ELF file: starts with 4d 5a 90 00, expected 7f 45 4c 46 (\"\\x7fELF\")"
    );
    assert_eq!(
        ElfError::NameNotUtf8 { of: NameRef::Symbol(7), offset: 0x20 }.to_string(),
        "symbol 7: name at string table offset 0x20 is not valid UTF-8"
    );

    // Every variant has a distinct, non-empty message.
    let of = NameRef::Section(1);
    let all = [
        ElfError::TooShort { len: 1 },
        ElfError::BadMagic { found: [0; 4] },
        ElfError::UnsupportedClass { class: 1 },
        ElfError::UnsupportedEncoding { encoding: 2 },
        ElfError::BadIdentVersion { version: 0 },
        ElfError::BadVersion { version: 0 },
        ElfError::WrongMachine { machine: 3 },
        ElfError::BadHeaderSize { size: 52 },
        ElfError::BadProgramHeaderSize { size: 32 },
        ElfError::TooManyProgramHeaders { count: 200 },
        ElfError::ProgramHeaderTableOutOfBounds { offset: 1, count: 2, file_len: 3 },
        ElfError::SegmentFileSizeTooLarge { index: 0, file_size: 2, mem_size: 1 },
        example,
        ElfError::SegmentAddressOverflow { index: 0, vaddr: 1, mem_size: 2 },
        ElfError::BadSegmentAlignment { index: 0, align: 3 },
        ElfError::MisalignedSegment { index: 0, vaddr: 1, offset: 2, align: 4 },
        ElfError::BadSectionHeaderSize { size: 40 },
        ElfError::SectionHeaderTableOutOfBounds { offset: 1, count: 2, file_len: 3 },
        ElfError::BadSectionNameTableIndex { index: 5, count: 3 },
        ElfError::NotAStringTable { index: 1, kind: 1 },
        ElfError::SectionOutOfBounds { index: 1, offset: 2, size: 3, file_len: 4 },
        ElfError::NameOutOfBounds { of, offset: 9, table_size: 4 },
        ElfError::UnterminatedName { of, offset: 1 },
        ElfError::NameNotUtf8 { of, offset: 1 },
        ElfError::BadSymbolEntrySize { index: 1, entry_size: 16 },
        ElfError::SymbolTableSizeMismatch { index: 1, size: 25 },
        ElfError::BadStringTableLink { index: 1, link: 9, count: 3 },
        ElfError::BadLoadPolicy { user_start: 0, user_end: 0, page_size: 3 },
        not_static,
        ElfError::HasInterpreter { index: 1 },
        ElfError::TlsOutsideLoad { index: 1, vaddr: 2, file_size: 3 },
        ElfError::NoLoadSegments,
        ElfError::TooManyLoadSegments { count: 3, max: 2 },
        ElfError::EmptySegment { index: 1 },
        ElfError::SegmentOutsideUserRange { index: 1, vaddr: 0, mem_size: 1, user_start: 0x1000, user_end: 0x2000 },
        ElfError::WritableAndExecutable { index: 1 },
        ElfError::SegmentsNotSorted { previous: 0, previous_vaddr: 0x2000, index: 1, vaddr: 0x1000 },
        ElfError::SegmentsSharePage { first: 0, second: 1, page: 0x1000 },
        ElfError::EntryNotExecutable { entry: 0 },
    ];
    let messages: Vec<String> = all.iter().map(ToString::to_string).collect();
    for (i, message) in messages.iter().enumerate() {
        assert!(!message.is_empty());
        assert!(!message.ends_with('.') && !message.ends_with('\n'), "{message}");
        assert!(!messages[..i].contains(message), "duplicate message {message}");
    }
    // `ElfError` is a `core::error::Error`.
    let _: &dyn core::error::Error = &all[0];
}
