//! The ELF header and [`Elf::parse`].

use core::fmt;

use crate::error::ElfError;
use crate::program::{self, ProgramHeaders};
use crate::read::{Record, len_u64, table_at};

/// Size of the ELF64 file header (`Elf64_Ehdr`) in bytes.
pub const EHDR_SIZE: usize = 64;
/// Size of one ELF64 program header (`Elf64_Phdr`) in bytes.
pub const PHDR_SIZE: usize = 56;
/// Size of one ELF64 section header (`Elf64_Shdr`) in bytes.
pub const SHDR_SIZE: usize = 64;
/// The most program headers [`Elf::parse`] accepts. Real executables have a
/// dozen at most; the limit bounds the work done on untrusted input.
pub const MAX_PROGRAM_HEADERS: u16 = 128;

/// The four bytes every ELF file starts with.
pub const ELF_MAGIC: [u8; 4] = [0x7f, b'E', b'L', b'F'];
/// `EI_CLASS` value for 64-bit objects.
pub const ELFCLASS64: u8 = 2;
/// `EI_DATA` value for little-endian (two's complement) objects.
pub const ELFDATA2LSB: u8 = 1;
/// The only ELF version (`EI_VERSION` and `e_version`).
pub const EV_CURRENT: u8 = 1;
/// `e_machine` value for AMD x86-64.
pub const EM_X86_64: u16 = 62;

/// `e_type`: no file type.
pub const ET_NONE: u16 = 0;
/// `e_type`: relocatable object file.
pub const ET_REL: u16 = 1;
/// `e_type`: executable file (loaded at fixed addresses).
pub const ET_EXEC: u16 = 2;
/// `e_type`: shared object, including position-independent executables.
pub const ET_DYN: u16 = 3;
/// `e_type`: core dump.
pub const ET_CORE: u16 = 4;

/// The kind of object file (`e_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ElfKind {
    /// `ET_REL`: a relocatable object file.
    Relocatable,
    /// `ET_EXEC`: an executable loaded at fixed addresses.
    Executable,
    /// `ET_DYN`: a shared object or a position-independent executable.
    SharedObject,
    /// `ET_CORE`: a core dump.
    Core,
    /// Any other value (including `ET_NONE`).
    Other(u16),
}

impl ElfKind {
    /// The raw `e_type` value.
    pub const fn raw(self) -> u16 {
        match self {
            Self::Relocatable => ET_REL,
            Self::Executable => ET_EXEC,
            Self::SharedObject => ET_DYN,
            Self::Core => ET_CORE,
            Self::Other(raw) => raw,
        }
    }

    /// The conventional name of the `e_type` value, e.g. `"ET_DYN"`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Relocatable => "ET_REL",
            Self::Executable => "ET_EXEC",
            Self::SharedObject => "ET_DYN",
            Self::Core => "ET_CORE",
            Self::Other(ET_NONE) => "ET_NONE",
            Self::Other(_) => "an unknown type",
        }
    }
}

impl From<u16> for ElfKind {
    fn from(raw: u16) -> Self {
        match raw {
            ET_REL => Self::Relocatable,
            ET_EXEC => Self::Executable,
            ET_DYN => Self::SharedObject,
            ET_CORE => Self::Core,
            other => Self::Other(other),
        }
    }
}

/// The fields of the ELF header that the accessors need.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Header {
    /// `e_type`.
    pub(crate) kind: u16,
    /// `e_entry`.
    pub(crate) entry: u64,
    /// `e_shoff`.
    pub(crate) shoff: u64,
    /// `e_shentsize`.
    pub(crate) shentsize: u16,
    /// `e_shnum`.
    pub(crate) shnum: u16,
    /// `e_shstrndx`.
    pub(crate) shstrndx: u16,
}

/// A parsed ELF64 little-endian x86-64 file.
///
/// [`Elf::parse`] has validated the ELF header and every program header, so
/// the accessors for them cannot fail. Section headers and the symbol table
/// are validated when they are first asked for ([`Elf::sections`],
/// [`Elf::symbols`]), because loading an executable does not need them.
#[derive(Clone, Copy)]
pub struct Elf<'a> {
    /// The whole file.
    pub(crate) bytes: &'a [u8],
    /// The parsed ELF header.
    pub(crate) header: Header,
    /// The program header table, entry by entry (validated).
    pub(crate) phdrs: &'a [[u8; PHDR_SIZE]],
}

impl<'a> Elf<'a> {
    /// Parses and validates the ELF header and program header table.
    ///
    /// Checks, in order: the file holds a 64-byte header; the magic; class
    /// ELF64; little-endian; `EI_VERSION` and `e_version` are 1; `e_machine`
    /// is x86-64; `e_ehsize` is 64; if there are program headers,
    /// `e_phentsize` is 56, there are at most [`MAX_PROGRAM_HEADERS`] and the
    /// table lies inside the file; then every program header (see
    /// [`ProgramHeader`](crate::ProgramHeader) for what is checked).
    pub fn parse(bytes: &'a [u8]) -> Result<Elf<'a>, ElfError> {
        let Some(raw) = bytes.first_chunk::<EHDR_SIZE>() else {
            return Err(ElfError::TooShort { len: bytes.len() });
        };
        let ehdr = Record::new(raw);

        let magic = [ehdr.u8::<0>(), ehdr.u8::<1>(), ehdr.u8::<2>(), ehdr.u8::<3>()];
        if magic != ELF_MAGIC {
            return Err(ElfError::BadMagic { found: magic });
        }
        let class = ehdr.u8::<4>();
        if class != ELFCLASS64 {
            return Err(ElfError::UnsupportedClass { class });
        }
        let encoding = ehdr.u8::<5>();
        if encoding != ELFDATA2LSB {
            return Err(ElfError::UnsupportedEncoding { encoding });
        }
        let ident_version = ehdr.u8::<6>();
        if ident_version != EV_CURRENT {
            return Err(ElfError::BadIdentVersion { version: ident_version });
        }
        let version = ehdr.u32::<20>();
        if version != u32::from(EV_CURRENT) {
            return Err(ElfError::BadVersion { version });
        }
        let machine = ehdr.u16::<18>();
        if machine != EM_X86_64 {
            return Err(ElfError::WrongMachine { machine });
        }
        let ehsize = ehdr.u16::<52>();
        if usize::from(ehsize) != EHDR_SIZE {
            return Err(ElfError::BadHeaderSize { size: ehsize });
        }

        let header = Header {
            kind: ehdr.u16::<16>(),
            entry: ehdr.u64::<24>(),
            shoff: ehdr.u64::<40>(),
            shentsize: ehdr.u16::<58>(),
            shnum: ehdr.u16::<60>(),
            shstrndx: ehdr.u16::<62>(),
        };

        let phoff = ehdr.u64::<32>();
        let phentsize = ehdr.u16::<54>();
        let phnum = ehdr.u16::<56>();
        let phdrs =
            if phnum == 0 {
                &[]
            } else {
                if usize::from(phentsize) != PHDR_SIZE {
                    return Err(ElfError::BadProgramHeaderSize { size: phentsize });
                }
                if phnum > MAX_PROGRAM_HEADERS {
                    return Err(ElfError::TooManyProgramHeaders { count: phnum });
                }
                table_at::<PHDR_SIZE>(bytes, phoff, u64::from(phnum)).ok_or(
                    ElfError::ProgramHeaderTableOutOfBounds { offset: phoff, count: phnum, file_len: bytes.len() },
                )?
            };

        for (index, raw) in phdrs.iter().enumerate() {
            program::validate(index, &program::ProgramHeader::from_raw(raw), bytes)?;
        }

        Ok(Elf { bytes, header, phdrs })
    }

    /// The whole file.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The kind of object file (`e_type`).
    pub fn kind(&self) -> ElfKind {
        ElfKind::from(self.header.kind)
    }

    /// The entry point address (`e_entry`).
    pub fn entry(&self) -> u64 {
        self.header.entry
    }

    /// All program headers, in table order.
    pub fn program_headers(&self) -> ProgramHeaders<'a> {
        ProgramHeaders::new(self.phdrs)
    }
}

impl fmt::Debug for Elf<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Elf")
            .field("len", &len_u64(self.bytes.len()))
            .field("kind", &self.kind())
            .field("entry", &format_args!("{:#x}", self.header.entry))
            .field("program_headers", &self.phdrs.len())
            .field("section_headers", &self.header.shnum)
            .finish()
    }
}
