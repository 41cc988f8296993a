//! A small assembler of ELF files for the tests, plus helpers to patch
//! fields of the result.

use std::string::String;
use std::vec;
use std::vec::Vec;

use crate::*;

/// Byte offsets of the ELF header fields.
pub mod eh {
    pub const IDENT_CLASS: usize = 4;
    pub const IDENT_DATA: usize = 5;
    pub const IDENT_VERSION: usize = 6;
    pub const TYPE: usize = 16;
    pub const MACHINE: usize = 18;
    pub const VERSION: usize = 20;
    pub const ENTRY: usize = 24;
    pub const PHOFF: usize = 32;
    pub const SHOFF: usize = 40;
    pub const EHSIZE: usize = 52;
    pub const PHENTSIZE: usize = 54;
    pub const PHNUM: usize = 56;
    pub const SHENTSIZE: usize = 58;
    pub const SHNUM: usize = 60;
    pub const SHSTRNDX: usize = 62;
}

/// Byte offsets of the program header fields.
pub mod ph {
    pub const TYPE: usize = 0;
    pub const FLAGS: usize = 4;
    pub const OFFSET: usize = 8;
    pub const VADDR: usize = 16;
    pub const FILESZ: usize = 32;
    pub const MEMSZ: usize = 40;
    pub const ALIGN: usize = 48;
}

/// Byte offsets of the section header fields.
pub mod sh {
    pub const NAME: usize = 0;
    pub const OFFSET: usize = 24;
    pub const SIZE: usize = 32;
    pub const LINK: usize = 40;
    pub const ENTSIZE: usize = 56;
}

pub const R: u32 = 4;
pub const W: u32 = 2;
pub const X: u32 = 1;

pub fn put_u16(bytes: &mut [u8], at: usize, value: u16) {
    bytes[at..at + 2].copy_from_slice(&value.to_le_bytes());
}

pub fn put_u32(bytes: &mut [u8], at: usize, value: u32) {
    bytes[at..at + 4].copy_from_slice(&value.to_le_bytes());
}

pub fn put_u64(bytes: &mut [u8], at: usize, value: u64) {
    bytes[at..at + 8].copy_from_slice(&value.to_le_bytes());
}

/// One program header and the bytes it covers.
#[derive(Clone, Debug)]
pub struct Seg {
    pub kind: u32,
    pub flags: u32,
    pub vaddr: u64,
    pub data: Vec<u8>,
    pub mem_size: u64,
    pub align: u64,
}

impl Seg {
    /// A `PT_LOAD` segment with `file_size` bytes of a recognisable pattern,
    /// page-aligned.
    pub fn load(flags: u32, vaddr: u64, file_size: usize, mem_size: u64) -> Seg {
        let seed = (vaddr >> 12) as u8;
        Seg {
            kind: PT_LOAD,
            flags,
            vaddr,
            data: (0..file_size).map(|i| seed.wrapping_add(i as u8)).collect(),
            mem_size,
            align: 0x1000,
        }
    }

    /// A segment without bytes in the file (e.g. `PT_GNU_STACK`).
    pub fn empty(kind: u32, flags: u32) -> Seg {
        Seg { kind, flags, vaddr: 0, data: Vec::new(), mem_size: 0, align: 16 }
    }
}

/// Where a section's bytes come from.
#[derive(Clone, Debug)]
pub enum SecData {
    /// `len` bytes starting `start` bytes into segment `segment`.
    InSegment { segment: usize, start: u64, len: u64 },
    /// Its own bytes, placed after the segments.
    Bytes(Vec<u8>),
    /// `SHT_NOBITS` of this size.
    NoBits(u64),
}

/// One section (besides the null section, `.symtab`, `.strtab` and
/// `.shstrtab`, which the builder adds).
#[derive(Clone, Debug)]
pub struct Sec {
    pub name: String,
    pub kind: u32,
    pub flags: u64,
    pub addr: u64,
    pub data: SecData,
}

impl Sec {
    pub fn new(name: &str, kind: u32, flags: u64, addr: u64, data: SecData) -> Sec {
        Sec { name: name.into(), kind, flags, addr, data }
    }
}

/// One symbol (the builder adds the null symbol).
#[derive(Clone, Debug)]
pub struct Sym {
    pub name: String,
    pub value: u64,
    pub size: u64,
    pub info: u8,
    pub shndx: u16,
}

impl Sym {
    pub fn new(name: &str, value: u64, size: u64, info: u8, shndx: u16) -> Sym {
        Sym { name: name.into(), value, size, info, shndx }
    }
}

/// Describes a file to assemble.
#[derive(Clone, Debug)]
pub struct ElfBuilder {
    pub kind: u16,
    pub entry: u64,
    pub segments: Vec<Seg>,
    /// Sections; none at all (not even the null section) if this is empty
    /// and `symbols` is `None`.
    pub sections: Vec<Sec>,
    /// Symbols for a `.symtab`; `None` for no symbol table.
    pub symbols: Option<Vec<Sym>>,
}

/// An assembled file and where its parts are.
#[derive(Clone, Debug)]
pub struct Built {
    pub bytes: Vec<u8>,
    /// File offset of each segment's bytes.
    pub seg_offsets: Vec<u64>,
    /// Offset of the section header table (0 if none).
    pub shoff: usize,
    /// Number of sections, including the null one.
    pub shnum: usize,
    /// Index of `.symtab`, `.strtab` and `.shstrtab`.
    pub symtab: Option<usize>,
    pub strtab: Option<usize>,
    pub shstrtab: Option<usize>,
    /// File offset of the symbol table's bytes.
    pub symtab_offset: usize,
}

impl Built {
    /// File offset of field `field` of program header `index`.
    pub fn ph(&self, index: usize, field: usize) -> usize {
        EHDR_SIZE + index * PHDR_SIZE + field
    }

    /// File offset of field `field` of section header `index`.
    pub fn sh(&self, index: usize, field: usize) -> usize {
        self.shoff + index * SHDR_SIZE + field
    }

    /// File offset of field `field` of symbol `index` (0 is the null symbol).
    pub fn sym(&self, index: usize, field: usize) -> usize {
        self.symtab_offset + index * SYM_SIZE + field
    }

    /// Index of the section called `name`.
    pub fn section_index(&self, name: &str) -> usize {
        Elf::parse(&self.bytes).unwrap().sections().unwrap().position(|s| s.name == name).unwrap()
    }
}

/// Appends zeros to `bytes` up to a multiple of `align`.
fn pad_to(bytes: &mut Vec<u8>, align: usize) {
    while !bytes.len().is_multiple_of(align) {
        bytes.push(0);
    }
}

/// Appends `name` and a NUL to the string table `table`, returning its
/// offset.
fn add_name(table: &mut Vec<u8>, name: &str) -> u32 {
    if name.is_empty() {
        return 0;
    }
    let offset = table.len() as u32;
    table.extend_from_slice(name.as_bytes());
    table.push(0);
    offset
}

#[derive(Clone, Copy, Default)]
struct Shdr {
    name: u32,
    kind: u32,
    flags: u64,
    addr: u64,
    offset: u64,
    size: u64,
    link: u32,
    info: u32,
    align: u64,
    entsize: u64,
}

impl ElfBuilder {
    /// A file with just a header and these segments.
    pub fn new(kind: u16, entry: u64, segments: Vec<Seg>) -> ElfBuilder {
        ElfBuilder { kind, entry, segments, sections: Vec::new(), symbols: None }
    }

    pub fn build(&self) -> Built {
        let phnum = self.segments.len();
        let mut bytes = vec![0u8; EHDR_SIZE + phnum * PHDR_SIZE];

        // Segment bytes, each at an offset congruent to its address.
        let mut seg_offsets = Vec::new();
        for seg in &self.segments {
            let offset = if seg.data.is_empty() && seg.kind != PT_LOAD {
                0
            } else {
                let cursor = bytes.len() as u64;
                let align = seg.align.max(1);
                let offset = cursor + (seg.vaddr.wrapping_sub(cursor) % align);
                bytes.resize(offset as usize, 0);
                bytes.extend_from_slice(&seg.data);
                offset
            };
            seg_offsets.push(offset);
        }
        for (index, (seg, &offset)) in self.segments.iter().zip(&seg_offsets).enumerate() {
            let at = EHDR_SIZE + index * PHDR_SIZE;
            put_u32(&mut bytes, at + ph::TYPE, seg.kind);
            put_u32(&mut bytes, at + ph::FLAGS, seg.flags);
            put_u64(&mut bytes, at + ph::OFFSET, offset);
            put_u64(&mut bytes, at + ph::VADDR, seg.vaddr);
            put_u64(&mut bytes, at + 24, seg.vaddr);
            put_u64(&mut bytes, at + ph::FILESZ, seg.data.len() as u64);
            put_u64(&mut bytes, at + ph::MEMSZ, seg.mem_size);
            put_u64(&mut bytes, at + ph::ALIGN, seg.align);
        }

        let mut built = Built {
            bytes: Vec::new(),
            seg_offsets,
            shoff: 0,
            shnum: 0,
            symtab: None,
            strtab: None,
            shstrtab: None,
            symtab_offset: 0,
        };

        let mut shdrs: Vec<Shdr> = Vec::new();
        if !self.sections.is_empty() || self.symbols.is_some() {
            let mut shstrtab = vec![0u8];
            shdrs.push(Shdr::default());
            for sec in &self.sections {
                let name = add_name(&mut shstrtab, &sec.name);
                let (offset, size) = match &sec.data {
                    SecData::InSegment { segment, start, len } => (built.seg_offsets[*segment] + start, *len),
                    SecData::Bytes(data) => {
                        pad_to(&mut bytes, 8);
                        let offset = bytes.len() as u64;
                        bytes.extend_from_slice(data);
                        (offset, data.len() as u64)
                    }
                    SecData::NoBits(size) => (bytes.len() as u64, *size),
                };
                shdrs.push(Shdr {
                    name,
                    kind: sec.kind,
                    flags: sec.flags,
                    addr: sec.addr,
                    offset,
                    size,
                    align: 1,
                    ..Shdr::default()
                });
            }
            if let Some(symbols) = &self.symbols {
                let mut strtab = vec![0u8];
                pad_to(&mut bytes, 8);
                let symtab_offset = bytes.len();
                bytes.extend_from_slice(&[0u8; SYM_SIZE]);
                let mut first_global = None;
                for (index, sym) in symbols.iter().enumerate() {
                    if sym.info >> 4 != STB_LOCAL && first_global.is_none() {
                        first_global = Some(index + 1);
                    }
                    let mut entry = [0u8; SYM_SIZE];
                    put_u32(&mut entry, 0, add_name(&mut strtab, &sym.name));
                    entry[4] = sym.info;
                    put_u16(&mut entry, 6, sym.shndx);
                    put_u64(&mut entry, 8, sym.value);
                    put_u64(&mut entry, 16, sym.size);
                    bytes.extend_from_slice(&entry);
                }
                let symtab_size = bytes.len() - symtab_offset;
                let strtab_offset = bytes.len();
                bytes.extend_from_slice(&strtab);

                let symtab_index = shdrs.len();
                built.symtab = Some(symtab_index);
                built.strtab = Some(symtab_index + 1);
                built.symtab_offset = symtab_offset;
                shdrs.push(Shdr {
                    name: add_name(&mut shstrtab, ".symtab"),
                    kind: SHT_SYMTAB,
                    offset: symtab_offset as u64,
                    size: symtab_size as u64,
                    link: (symtab_index + 1) as u32,
                    info: first_global.unwrap_or(symbols.len() + 1) as u32,
                    align: 8,
                    entsize: SYM_SIZE as u64,
                    ..Shdr::default()
                });
                shdrs.push(Shdr {
                    name: add_name(&mut shstrtab, ".strtab"),
                    kind: SHT_STRTAB,
                    offset: strtab_offset as u64,
                    size: strtab.len() as u64,
                    align: 1,
                    ..Shdr::default()
                });
            }
            built.shstrtab = Some(shdrs.len());
            let name = add_name(&mut shstrtab, ".shstrtab");
            let shstrtab_offset = bytes.len();
            bytes.extend_from_slice(&shstrtab);
            shdrs.push(Shdr {
                name,
                kind: SHT_STRTAB,
                offset: shstrtab_offset as u64,
                size: shstrtab.len() as u64,
                align: 1,
                ..Shdr::default()
            });

            pad_to(&mut bytes, 8);
            built.shoff = bytes.len();
            built.shnum = shdrs.len();
            for shdr in &shdrs {
                let mut entry = [0u8; SHDR_SIZE];
                put_u32(&mut entry, 0, shdr.name);
                put_u32(&mut entry, 4, shdr.kind);
                put_u64(&mut entry, 8, shdr.flags);
                put_u64(&mut entry, 16, shdr.addr);
                put_u64(&mut entry, 24, shdr.offset);
                put_u64(&mut entry, 32, shdr.size);
                put_u32(&mut entry, 40, shdr.link);
                put_u32(&mut entry, 44, shdr.info);
                put_u64(&mut entry, 48, shdr.align);
                put_u64(&mut entry, 56, shdr.entsize);
                bytes.extend_from_slice(&entry);
            }
        }

        // The ELF header.
        bytes[..4].copy_from_slice(&ELF_MAGIC);
        bytes[eh::IDENT_CLASS] = ELFCLASS64;
        bytes[eh::IDENT_DATA] = ELFDATA2LSB;
        bytes[eh::IDENT_VERSION] = EV_CURRENT;
        put_u16(&mut bytes, eh::TYPE, self.kind);
        put_u16(&mut bytes, eh::MACHINE, EM_X86_64);
        put_u32(&mut bytes, eh::VERSION, 1);
        put_u64(&mut bytes, eh::ENTRY, self.entry);
        put_u64(&mut bytes, eh::PHOFF, if phnum > 0 { EHDR_SIZE as u64 } else { 0 });
        put_u64(&mut bytes, eh::SHOFF, built.shoff as u64);
        put_u16(&mut bytes, eh::EHSIZE, EHDR_SIZE as u16);
        put_u16(&mut bytes, eh::PHENTSIZE, PHDR_SIZE as u16);
        put_u16(&mut bytes, eh::PHNUM, phnum as u16);
        put_u16(&mut bytes, eh::SHENTSIZE, SHDR_SIZE as u16);
        put_u16(&mut bytes, eh::SHNUM, built.shnum as u16);
        put_u16(&mut bytes, eh::SHSTRNDX, built.shstrtab.unwrap_or(0) as u16);

        built.bytes = bytes;
        built
    }
}

pub const TEXT: u64 = 0x40_1000;
pub const RODATA: u64 = 0x40_0000;
pub const DATA: u64 = 0x40_2000;

/// Where the load tests place a position-independent executable.
pub const DYN_BASE: u64 = 0x5555_5555_4000;

/// The policy the load tests use: user space from 64 KiB to 128 TiB.
pub const POLICY: LoadPolicy = LoadPolicy {
    user_start: 0x1_0000,
    user_end: 0x8000_0000_0000,
    page_size: 0x1000,
    max_segments: 16,
    dyn_base: DYN_BASE,
};

/// A typical static executable: read-only data, text, data + bss, a
/// non-executable stack; sections and a symbol table.
pub fn sample() -> ElfBuilder {
    let info = |binding: u8, kind: u8| (binding << 4) | kind;
    ElfBuilder {
        kind: ET_EXEC,
        entry: TEXT,
        segments: vec![
            Seg::load(R, RODATA, 0x100, 0x100),
            Seg::load(R | X, TEXT, 0x80, 0x80),
            Seg::load(R | W, DATA, 0x20, 0x3000),
            Seg::empty(PT_GNU_STACK, R | W),
        ],
        sections: vec![
            Sec::new(
                ".rodata",
                SHT_PROGBITS,
                SHF_ALLOC,
                RODATA,
                SecData::InSegment { segment: 0, start: 0, len: 0x100 },
            ),
            Sec::new(
                ".text",
                SHT_PROGBITS,
                SHF_ALLOC | SHF_EXECINSTR,
                TEXT,
                SecData::InSegment { segment: 1, start: 0, len: 0x80 },
            ),
            Sec::new(
                ".data",
                SHT_PROGBITS,
                SHF_ALLOC | SHF_WRITE,
                DATA,
                SecData::InSegment { segment: 2, start: 0, len: 0x20 },
            ),
            Sec::new(".bss", SHT_NOBITS, SHF_ALLOC | SHF_WRITE, DATA + 0x20, SecData::NoBits(0x2fe0)),
            Sec::new(".comment", SHT_PROGBITS, 0, 0, SecData::Bytes(b"built by hand\0".to_vec())),
        ],
        symbols: Some(vec![
            Sym::new("helper", TEXT + 0x40, 0x40, info(STB_LOCAL, STT_FUNC), 2),
            Sym::new("_start", TEXT, 0x40, info(STB_GLOBAL, STT_FUNC), 2),
            Sym::new("COUNTER", DATA, 8, info(STB_GLOBAL, STT_OBJECT), 3),
            Sym::new("__bss_end", DATA + 0x3000, 0, info(STB_WEAK, STT_NOTYPE), SHN_ABS),
        ]),
    }
}
