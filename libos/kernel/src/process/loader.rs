//! Loading an app's ELF executable into a fresh address space, as Linux's
//! `load_elf_binary` (fs/binfmt_elf.c) does for a static program.
//!
//! The file is checked first (`libos_elf`: a static ET_EXEC, or a static
//! PIE (ET_DYN without PT_INTERP) placed at [`DYN_BASE`]; every segment
//! inside user space, W^X, no page shared by two segments, the entry in an
//! executable segment). A dynamically linked file is refused with the name
//! of the interpreter it wants. Each PT_LOAD becomes a region with the
//! segment's own permissions (text R+X, rodata R, data/bss RW, all user
//! pages NX unless executable); its file bytes are copied in, the rest is
//! zero. PT_TLS and PT_GNU_RELRO need nothing from the kernel (the C
//! library reads them through `AT_PHDR`; glibc makes the RELRO range
//! read-only with `mprotect`); PT_GNU_STACK must not ask for an executable
//! stack. Then the stack: a region under `STACK_TOP` with an unmapped gap
//! below, and the initial stack (argc, argv, envp, auxv) at its top, in the
//! layout and auxv order of Linux's `create_elf_tables`.

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
/// Where a static PIE's first page goes: Linux's `ELF_ET_DYN_BASE` on
/// x86-64 (two thirds of the 47-bit user space, arch/x86/include/asm/elf.h),
/// without randomisation.
pub const DYN_BASE: u64 = (USER_END / 3 * 2) & !(PAGE_SIZE - 1);
/// `AT_PLATFORM`'s string (Linux's `ELF_PLATFORM` on x86-64).
pub const PLATFORM: &str = "x86_64";
/// `AT_CLKTCK`: the tick rate of `times` (Linux's `USER_HZ`).
pub const CLOCK_TICKS: u64 = 100;
/// The ids every app runs with: it is the only user there is (`AT_UID`...,
/// `getuid`...).
pub const APP_ID: u64 = 0;

/// Why an app could not be loaded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LoadError {
    /// The ELF file is malformed or not loadable.
    Elf(ElfError),
    /// The program is dynamically linked: it wants this interpreter (its
    /// path, cut at 64 bytes).
    Dynamic(heapless::String<64>),
    /// No memory for it.
    OutOfMemory,
    /// The arguments do not fit on the stack.
    ArgumentsTooLong,
}

impl core::fmt::Display for LoadError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            LoadError::Elf(e) => write!(f, "bad ELF file: {e}"),
            LoadError::Dynamic(interpreter) => write!(
                f,
                "dynamically linked (it wants the interpreter {interpreter}): only static programs run here \
                 (link with -static, or build Rust for x86_64-unknown-linux-musl)"
            ),
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

/// What the program sees on its stack besides its ELF file.
#[derive(Clone, Copy, Debug)]
pub struct ProgramArgs<'a> {
    /// The arguments, `argv[0]` (the program's name) first.
    pub argv: &'a [&'a str],
    /// The environment, `KEY=VALUE` strings.
    pub envp: &'a [&'a str],
    /// 16 bytes from the kernel's random source (`AT_RANDOM`).
    pub random: [u8; 16],
}

/// `AT_HWCAP` on x86-64: CPUID.1:EDX (Linux's `ELF_HWCAP`,
/// `boot_cpu_data.x86_capability[CPUID_1_EDX]`).
fn hwcap() -> u64 {
    // CPUID leaf 1 exists on every x86-64 CPU.
    u64::from(core::arch::x86_64::__cpuid(1).edx)
}

/// `AT_MINSIGSTKSZ`: Linux's `get_sigframe_size()` (arch/x86/kernel/signal.c,
/// `init_sigframe_size`): the `rt_sigframe` (440 bytes on x86-64) plus
/// alignment padding (15), the user-format extended state with its
/// trailing magic (4 bytes when XSAVE is used) plus XSAVE alignment
/// padding (63), rounded up to 16.
fn min_signal_stack_size() -> u64 {
    const RT_SIGFRAME_SIZE: u64 = 440;
    const FRAME_PADDING: u64 = 15;
    const XSAVE_PADDING: u64 = 63;
    let layout = crate::arch::x86_64::xstate::layout();
    let magic2 = if layout.uses_xsave() { 4 } else { 0 };
    (RT_SIGFRAME_SIZE + FRAME_PADDING + layout.standard_size as u64 + magic2 + XSAVE_PADDING).next_multiple_of(16)
}

/// Loads `elf` into `space` and builds the initial stack for `args`.
pub fn load(space: &AddressSpace, elf: &[u8], args: &ProgramArgs<'_>) -> Result<LoadedImage, LoadError> {
    let file = Elf::parse(elf).map_err(LoadError::Elf)?;
    if let Some(interpreter) = file.interpreter() {
        let mut name = heapless::String::new();
        for c in core::str::from_utf8(interpreter).unwrap_or("(not UTF-8)").chars() {
            if name.push(c).is_err() {
                break;
            }
        }
        return Err(LoadError::Dynamic(name));
    }
    let policy = LoadPolicy {
        user_start: USER_MIN,
        user_end: STACK_TOP - STACK_SIZE - PAGE_SIZE,
        page_size: PAGE_SIZE,
        max_segments: MAX_SEGMENTS,
        dyn_base: DYN_BASE,
    };
    file.check_loadable(&policy).map_err(LoadError::Elf)?;
    // Checked: every biased segment lies in the user range.
    let bias = file.load_bias(&policy);

    let mut image_end = 0u64;
    let mut phdr_addr = None;
    // Where the headers would be if the first segment mapped the file from
    // its start: Linux's `load_addr + e_phoff` (before 5.18), for a file
    // whose headers no segment maps.
    let first = file.load_segments().next().map(|s| s.header);
    let unmapped_phdr = first.map_or(0, |h| h.vaddr.wrapping_sub(h.offset).wrapping_add(bias));
    let phoff = u64::from_le_bytes(elf[0x20..0x28].try_into().expect("header checked"));
    for seg in file.load_segments() {
        let h = seg.header;
        let vaddr = h.vaddr + bias;
        let start = vaddr & !(PAGE_SIZE - 1);
        let end = (vaddr + h.mem_size).next_multiple_of(PAGE_SIZE);
        let origin = start.wrapping_sub(h.offset & !(PAGE_SIZE - 1));
        space
            .add_region(start, end - start, prot_of(h.flags), Kind::Image { origin })
            .map_err(|_| LoadError::OutOfMemory)?;
        space.write_initial(vaddr, seg.data).map_err(|_| LoadError::OutOfMemory)?;
        image_end = image_end.max(end);
        if phoff >= h.offset && phoff - h.offset < h.file_size {
            phdr_addr = Some(vaddr + (phoff - h.offset));
        }
    }

    space.set_brk_start(image_end);
    space.add_region(STACK_TOP - STACK_SIZE, STACK_SIZE, Prot::RW, Kind::Stack).map_err(|_| LoadError::OutOfMemory)?;
    let phnum = file.program_headers().len() as u64;
    let entry = file.entry() + bias;
    let vdso = super::vdso::map_into(space).map_err(|_| LoadError::OutOfMemory)?;
    // Linux's order (create_elf_tables, ARCH_DLINFO first: AT_SYSINFO_EHDR
    // and AT_MINSIGSTKSZ). No rseq: no AT_RSEQ_*. With `vdso=off`, no
    // AT_SYSINFO_EHDR (the slice below starts after it).
    let auxv = [
        (at::SYSINFO_EHDR, vdso.unwrap_or(0)),
        (at::MINSIGSTKSZ, min_signal_stack_size()),
        (at::HWCAP, hwcap()),
        (at::PAGESZ, PAGE_SIZE),
        (at::CLKTCK, CLOCK_TICKS),
        (at::PHDR, phdr_addr.unwrap_or(unmapped_phdr.wrapping_add(phoff))),
        (at::PHENT, libos_elf::PHDR_SIZE as u64),
        (at::PHNUM, phnum),
        (at::BASE, 0),
        (at::FLAGS, 0),
        (at::ENTRY, entry),
        (at::UID, APP_ID),
        (at::EUID, APP_ID),
        (at::GID, APP_ID),
        (at::EGID, APP_ID),
        (at::SECURE, 0),
        (at::RANDOM, 0),
        // HWCAP2_RING3MWAIT and HWCAP2_FSGSBASE: this kernel enables
        // neither for ring 3.
        (at::HWCAP2, 0),
        (at::EXECFN, 0),
        (at::PLATFORM, 0),
    ];
    let execfn = args.argv.first().copied().unwrap_or("");
    let contents = initial_stack::StackContents {
        argv: args.argv,
        envp: args.envp,
        execfn,
        platform: PLATFORM,
        auxv: if vdso.is_some() { &auxv } else { &auxv[1..] },
        random: args.random,
    };
    let stack = initial_stack::build(STACK_TOP, &contents);
    if stack.bytes.len() as u64 > STACK_SIZE / 4 {
        return Err(LoadError::ArgumentsTooLong);
    }
    space.write_initial(stack.rsp, &stack.bytes).map_err(|_| LoadError::OutOfMemory)?;
    Ok(LoadedImage { entry, stack_pointer: stack.rsp })
}
