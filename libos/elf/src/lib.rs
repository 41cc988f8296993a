//! A careful reader of ELF64 little-endian x86-64 files.
//!
//! `no_std`, no allocation, no dependencies. It serves two users:
//!
//! - the kernel, which loads an app's executable into a fresh user address
//!   space. That file is untrusted input: a malformed file must give a clear
//!   [`ElfError`], never a panic, an out-of-bounds read or an arithmetic
//!   overflow;
//! - the host build tool (xtask), which turns the kernel ELF into a flat
//!   image and looks up sections and symbols.
//!
//! # What is checked, and when
//!
//! [`Elf::parse`] validates the ELF header (magic, ELFCLASS64, little-endian,
//! version 1, `EM_X86_64`, 64-byte header) and the whole program header table:
//! the table lies inside the file and holds at most [`MAX_PROGRAM_HEADERS`]
//! 56-byte entries; every segment's file range lies inside the file; its
//! memory range does not wrap around; a `PT_LOAD` segment has
//! `p_filesz <= p_memsz` and a power-of-two alignment that its address and
//! file offset agree on. After that, [`Elf::program_headers`] and
//! [`Elf::load_segments`] cannot fail, and every [`Segment::data`] is exactly
//! the segment's bytes in the file.
//!
//! Section headers are not needed to load an executable, so they are checked
//! only when asked for: [`Elf::sections`], [`Elf::section_by_name`],
//! [`Elf::symbols`] and [`Elf::symbol`] check the whole section header table
//! (entry size, bounds, the name string table, every name and every
//! section's bytes) and, for symbols, the symbol table and its string table.
//! Names are handed out as `&str`, so they must be NUL-terminated UTF-8.
//!
//! [`Elf::check_loadable`] adds what the kernel needs before mapping a file
//! with a [`LoadPolicy`]: a static `ET_EXEC` executable with no interpreter
//! and no dynamic section, a bounded number of non-empty `PT_LOAD` segments
//! inside the user range, sorted and never sharing a page (each page gets the
//! permissions of one segment), no writable and executable segment (W^X),
//! and an entry point inside an executable segment.
//!
//! # How bytes are read
//!
//! Ranges taken from the file are computed with checked arithmetic and
//! looked up with `slice::get`; fixed-size records (headers, table entries)
//! are read through a helper whose field offsets are checked against the
//! record size at compile time. There is no `unsafe` code.
//!
//! # Example
//!
//! ```
//! use libos_elf::{Elf, ElfError};
//!
//! fn entry_of(file: &[u8]) -> Result<u64, ElfError> {
//!     let elf = Elf::parse(file)?;
//!     for segment in elf.load_segments() {
//!         let _ = (segment.header.vaddr, segment.header.flags, segment.data);
//!     }
//!     Ok(elf.entry())
//! }
//!
//! assert_eq!(entry_of(b"\x7fELF"), Err(ElfError::TooShort { len: 4 }));
//! ```
#![no_std]
#![forbid(unsafe_code)]

mod error;
mod header;
mod load;
mod program;
mod read;
mod section;
mod symbol;

// Tests run on the host, with `std` (which the crate itself never uses).
#[cfg(test)]
extern crate std;

#[cfg(test)]
mod tests;

pub use error::{ElfError, NameRef};
pub use header::{
    EHDR_SIZE, ELF_MAGIC, ELFCLASS64, ELFDATA2LSB, EM_X86_64, ET_CORE, ET_DYN, ET_EXEC, ET_NONE, ET_REL, EV_CURRENT,
    Elf, ElfKind, MAX_PROGRAM_HEADERS, PHDR_SIZE, SHDR_SIZE,
};
pub use load::LoadPolicy;
pub use program::{
    PT_DYNAMIC, PT_GNU_EH_FRAME, PT_GNU_RELRO, PT_GNU_STACK, PT_INTERP, PT_LOAD, PT_NOTE, PT_NULL, PT_PHDR, PT_SHLIB,
    PT_TLS, ProgramHeader, ProgramHeaders, Segment, SegmentFlags,
};
pub use section::{
    SHF_ALLOC, SHF_EXECINSTR, SHF_TLS, SHF_WRITE, SHN_ABS, SHN_COMMON, SHN_UNDEF, SHT_DYNAMIC, SHT_DYNSYM,
    SHT_FINI_ARRAY, SHT_HASH, SHT_INIT_ARRAY, SHT_NOBITS, SHT_NOTE, SHT_NULL, SHT_PREINIT_ARRAY, SHT_PROGBITS, SHT_REL,
    SHT_RELA, SHT_STRTAB, SHT_SYMTAB, Section, Sections,
};
pub use symbol::{
    STB_GLOBAL, STB_LOCAL, STB_WEAK, STT_FILE, STT_FUNC, STT_NOTYPE, STT_OBJECT, STT_SECTION, STT_TLS, SYM_SIZE,
    Symbol, Symbols,
};
