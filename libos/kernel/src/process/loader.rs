//! Loading an app's ELF executable into a fresh address space.
//!
//! The file is checked first (`libos_elf`: a static ET_EXEC for x86-64,
//! every segment inside user space, W^X, no page shared by two segments,
//! the entry in an executable segment). Each PT_LOAD becomes a region with
//! the segment's own permissions (text R+X, rodata R, data/bss RW, all
//! user pages NX unless executable); its file bytes are copied in, the
//! rest is zero. Then the stack: a region under `STACK_TOP` with an
//! unmapped gap below, and the System V initial stack (argc, argv, envp,
//! auxv) at its top.

use libos_elf::{Elf, ElfError, LoadPolicy};
use libos_kcore::initial_stack::{self, at};
use libos_kcore::vm_regions::{Kind, Prot};

use entry_asm::layout::{PAGE_SIZE, USER_END, USER_MIN};

use crate::mm::address_space::AddressSpace;

/// Top of the main thread's stack (below the last user pages, 16-byte aligned).
pub const STACK_TOP: u64 = USER_END - 16 * PAGE_SIZE;
/// Size of the main thread's stack region (pages come on demand).
pub const STACK_SIZE: u64 = 8 << 20;
/// Most PT_LOAD segments accepted.
pub const MAX_SEGMENTS: usize = 16;

/// Why an app could not be loaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoadError {
    /// The ELF file is malformed or not loadable.
    Elf(ElfError),
    /// No memory for it.
    OutOfMemory,
    /// The arguments do not fit on the stack.
    ArgumentsTooLong,
}

impl core::fmt::Display for LoadError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            LoadError::Elf(e) => write!(f, "bad ELF file: {e}"),
            LoadError::OutOfMemory => write!(f, "out of memory"),
            LoadError::ArgumentsTooLong => write!(f, "arguments too long"),
        }
    }
}

/// Where the loaded program starts.
#[derive(Clone, Copy, Debug)]
pub struct LoadedImage {
    /// Entry point.
    pub entry: u64,
    /// Initial RSP (points at argc).
    pub stack_pointer: u64,
}

fn prot_of(flags: libos_elf::SegmentFlags) -> Prot {
    let mut p = Prot::NONE;
    if flags.readable() {
        p = Prot(p.0 | Prot::READ.0);
    }
    if flags.writable() {
        p = Prot(p.0 | Prot::WRITE.0);
    }
    if flags.executable() {
        p = Prot(p.0 | Prot::EXEC.0);
    }
    p
}

/// Loads `elf` into `space` and builds the initial stack for `argv`.
pub fn load(space: &AddressSpace, elf: &[u8], argv: &[&str], random: [u8; 16]) -> Result<LoadedImage, LoadError> {
    let file = Elf::parse(elf).map_err(LoadError::Elf)?;
    let policy = LoadPolicy {
        user_start: USER_MIN,
        user_end: STACK_TOP - STACK_SIZE - PAGE_SIZE,
        page_size: PAGE_SIZE,
        max_segments: MAX_SEGMENTS,
    };
    file.check_loadable(&policy).map_err(LoadError::Elf)?;

    let mut image_end = 0u64;
    let mut phdr_addr = None;
    let phoff = u64::from_le_bytes(elf[0x20..0x28].try_into().expect("header checked"));
    for seg in file.load_segments() {
        let h = seg.header;
        let start = h.vaddr & !(PAGE_SIZE - 1);
        let end = (h.vaddr + h.mem_size).next_multiple_of(PAGE_SIZE);
        let origin = start.wrapping_sub(h.offset & !(PAGE_SIZE - 1));
        space
            .add_region(start, end - start, prot_of(h.flags), Kind::Image { origin })
            .map_err(|_| LoadError::OutOfMemory)?;
        space.write_initial(h.vaddr, seg.data).map_err(|_| LoadError::OutOfMemory)?;
        image_end = image_end.max(end);
        if phoff >= h.offset && phoff < h.offset + h.file_size {
            phdr_addr = Some(h.vaddr + (phoff - h.offset));
        }
    }

    space.set_brk_start(image_end);
    space.add_region(STACK_TOP - STACK_SIZE, STACK_SIZE, Prot::RW, Kind::Stack).map_err(|_| LoadError::OutOfMemory)?;
    let phnum = file.program_headers().len() as u64;
    let mut auxv = heapless::Vec::<(u64, u64), 8>::new();
    let _ = auxv.push((at::PAGESZ, PAGE_SIZE));
    let _ = auxv.push((at::ENTRY, file.entry()));
    let _ = auxv.push((at::CLKTCK, 100));
    let _ = auxv.push((at::SECURE, 0));
    if let Some(p) = phdr_addr {
        let _ = auxv.push((at::PHDR, p));
        let _ = auxv.push((at::PHENT, libos_elf::PHDR_SIZE as u64));
        let _ = auxv.push((at::PHNUM, phnum));
    }
    let stack = initial_stack::build(STACK_TOP, argv, &[], &auxv, random);
    if stack.bytes.len() as u64 > STACK_SIZE / 4 {
        return Err(LoadError::ArgumentsTooLong);
    }
    space.write_initial(stack.rsp, &stack.bytes).map_err(|_| LoadError::OutOfMemory)?;
    Ok(LoadedImage { entry: file.entry(), stack_pointer: stack.rsp })
}
