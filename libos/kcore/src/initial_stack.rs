//! The initial stack of a new program, as Linux builds it
//! (`create_elf_tables` in fs/binfmt_elf.c, the strings by
//! `do_execveat_common` in fs/exec.c).
//!
//! At the program's entry RSP points at `argc`, 16-byte aligned:
//!
//! ```text
//! rsp ->  argc
//!         argv[0] ... argv[argc-1], NULL
//!         envp[0] ... NULL
//!         auxv: (type, value) pairs ..., (AT_NULL, 0)
//!         padding (to 16 bytes)
//!         16 random bytes (AT_RANDOM points here)
//!         the platform string "x86_64" (AT_PLATFORM)
//!         padding (to 16 bytes)
//!         argv strings, then envp strings
//!         the file name (AT_EXECFN)
//! top ->  8 zero bytes, then the end of the stack region
//! ```
//!
//! Linux copies the file name first, then the environment, then the
//! arguments, each below the last, so they lie in that order from the top
//! down; it keeps the top word of the stack free (`bprm->p` starts at
//! `vm_end - sizeof(void *)`).

use alloc::vec::Vec;

/// Auxiliary vector types (include/uapi/linux/auxvec.h,
/// arch/x86/include/uapi/asm/auxvec.h).
pub mod at {
    /// End of the vector.
    pub const NULL: u64 = 0;
    /// Address of the program headers.
    pub const PHDR: u64 = 3;
    /// Size of one program header.
    pub const PHENT: u64 = 4;
    /// Number of program headers.
    pub const PHNUM: u64 = 5;
    /// Page size.
    pub const PAGESZ: u64 = 6;
    /// Base address of the interpreter (0: none).
    pub const BASE: u64 = 7;
    /// Flags (0).
    pub const FLAGS: u64 = 8;
    /// Program entry point.
    pub const ENTRY: u64 = 9;
    /// Real user id.
    pub const UID: u64 = 11;
    /// Effective user id.
    pub const EUID: u64 = 12;
    /// Real group id.
    pub const GID: u64 = 13;
    /// Effective group id.
    pub const EGID: u64 = 14;
    /// Address of the platform string.
    pub const PLATFORM: u64 = 15;
    /// CPU capabilities (x86: CPUID.1:EDX).
    pub const HWCAP: u64 = 16;
    /// Clock ticks per second.
    pub const CLKTCK: u64 = 17;
    /// Secure mode (setuid): always 0.
    pub const SECURE: u64 = 23;
    /// Address of 16 random bytes.
    pub const RANDOM: u64 = 25;
    /// More CPU capabilities (x86: `HWCAP2_*`).
    pub const HWCAP2: u64 = 26;
    /// Address of the program's file name.
    pub const EXECFN: u64 = 31;
    /// Address of the vDSO's ELF header.
    pub const SYSINFO_EHDR: u64 = 33;
    /// The smallest signal stack the kernel's signal frames fit on.
    pub const MINSIGSTKSZ: u64 = 51;
}

/// What goes on a new program's stack.
#[derive(Clone, Copy, Debug)]
pub struct StackContents<'a> {
    /// The arguments, `argv[0]` first.
    pub argv: &'a [&'a str],
    /// The environment, `KEY=VALUE` strings.
    pub envp: &'a [&'a str],
    /// The program's file name (`AT_EXECFN` points at a copy).
    pub execfn: &'a str,
    /// The platform string (`AT_PLATFORM` points at a copy).
    pub platform: &'a str,
    /// The auxiliary vector in order, without `AT_NULL` (which is added).
    /// The values of entries of type `AT_RANDOM`, `AT_EXECFN` and
    /// `AT_PLATFORM` are replaced by the addresses of what they point at.
    pub auxv: &'a [(u64, u64)],
    /// The 16 bytes `AT_RANDOM` points at.
    pub random: [u8; 16],
}

/// The built stack: `bytes` go at `[top - bytes.len(), top)`, and the
/// program starts with RSP = `rsp`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InitialStack {
    /// Contents of the top of the stack.
    pub bytes: Vec<u8>,
    /// The entry RSP (points at argc).
    pub rsp: u64,
}

/// Builds the stack for a program whose stack ends at `top` (16-byte
/// aligned). A string holding a NUL byte ends there (as a C string would).
pub fn build(top: u64, contents: &StackContents<'_>) -> InitialStack {
    assert!(top.is_multiple_of(16));
    let c_str = |s: &str| {
        let bytes = s.as_bytes();
        let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
        let mut v = Vec::from(&bytes[..end]);
        v.push(0);
        v
    };
    // The strings area, from low to high addresses: argv, envp, execfn;
    // then the free top word.
    let mut strings: Vec<u8> = Vec::new();
    let mut offsets = Vec::with_capacity(contents.argv.len() + contents.envp.len());
    for s in contents.argv.iter().chain(contents.envp.iter()) {
        offsets.push(strings.len() as u64);
        strings.extend_from_slice(&c_str(s));
    }
    let execfn_offset = strings.len() as u64;
    strings.extend_from_slice(&c_str(contents.execfn));
    let strings_start = top - 8 - strings.len() as u64;

    // Linux aligns here (arch_align_stack, without its randomisation), then
    // copies the platform string and the random bytes below.
    let platform = c_str(contents.platform);
    let platform_at = (strings_start & !15) - platform.len() as u64;
    let random_at = platform_at - 16;

    let mut aux: Vec<(u64, u64)> = contents
        .auxv
        .iter()
        .map(|&(kind, value)| match kind {
            at::RANDOM => (kind, random_at),
            at::EXECFN => (kind, strings_start + execfn_offset),
            at::PLATFORM => (kind, platform_at),
            _ => (kind, value),
        })
        .collect();
    aux.push((at::NULL, 0));
    let words = 1 + contents.argv.len() + 1 + contents.envp.len() + 1 + aux.len() * 2;
    let rsp = (random_at - words as u64 * 8) & !15;

    let mut image = Vec::with_capacity((top - rsp) as usize);
    let mut push = |w: u64| image.extend_from_slice(&w.to_le_bytes());
    push(contents.argv.len() as u64);
    let (argv_offsets, envp_offsets) = offsets.split_at(contents.argv.len());
    for off in argv_offsets {
        push(strings_start + off);
    }
    push(0);
    for off in envp_offsets {
        push(strings_start + off);
    }
    push(0);
    for (t, v) in &aux {
        push(*t);
        push(*v);
    }
    image.resize((random_at - rsp) as usize, 0);
    image.extend_from_slice(&contents.random);
    image.extend_from_slice(&platform);
    image.resize((strings_start - rsp) as usize, 0);
    image.extend_from_slice(&strings);
    image.extend_from_slice(&[0; 8]);
    debug_assert_eq!(rsp + image.len() as u64, top);
    InitialStack { bytes: image, rsp }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(s: &InitialStack, addr: u64) -> u64 {
        let off = (addr - s.rsp) as usize;
        u64::from_le_bytes(s.bytes[off..off + 8].try_into().unwrap())
    }

    fn cstr(s: &InitialStack, addr: u64) -> &str {
        let off = (addr - s.rsp) as usize;
        let end = s.bytes[off..].iter().position(|&b| b == 0).unwrap();
        core::str::from_utf8(&s.bytes[off..off + end]).unwrap()
    }

    fn auxv(s: &InitialStack, mut at: u64) -> alloc::vec::Vec<(u64, u64)> {
        let mut found = alloc::vec::Vec::new();
        loop {
            let (t, v) = (word(s, at), word(s, at + 8));
            found.push((t, v));
            at += 16;
            if t == at::NULL {
                return found;
            }
        }
    }

    const AUXV: [(u64, u64); 6] =
        [(at::PAGESZ, 4096), (at::ENTRY, 0x40_1000), (at::RANDOM, 0), (at::EXECFN, 0), (at::PLATFORM, 0), (at::UID, 0)];

    #[test]
    fn sysv_layout() {
        let top = 0x7fff_ffff_0000;
        let contents = StackContents {
            argv: &["hello", "a", "bb"],
            envp: &["K=V"],
            execfn: "/hello",
            platform: "x86_64",
            auxv: &AUXV,
            random: [7; 16],
        };
        let s = build(top, &contents);
        assert_eq!(s.rsp % 16, 0);
        assert_eq!(s.rsp + s.bytes.len() as u64, top);
        assert_eq!(word(&s, s.rsp), 3);
        assert_eq!(cstr(&s, word(&s, s.rsp + 8)), "hello");
        assert_eq!(cstr(&s, word(&s, s.rsp + 16)), "a");
        assert_eq!(cstr(&s, word(&s, s.rsp + 24)), "bb");
        assert_eq!(word(&s, s.rsp + 32), 0);
        assert_eq!(cstr(&s, word(&s, s.rsp + 40)), "K=V");
        assert_eq!(word(&s, s.rsp + 48), 0);
        let found = auxv(&s, s.rsp + 56);
        // In the given order, AT_NULL last.
        assert_eq!(found.iter().map(|e| e.0).collect::<Vec<_>>(), [6, 9, 25, 31, 15, 11, 0]);
        assert_eq!(found[0], (at::PAGESZ, 4096));
        assert_eq!(found[1], (at::ENTRY, 0x40_1000));
        assert_eq!(found[5], (at::UID, 0));
        let random = found[2].1;
        let off = (random - s.rsp) as usize;
        assert_eq!(&s.bytes[off..off + 16], &[7; 16]);
        assert_eq!(cstr(&s, found[3].1), "/hello");
        assert_eq!(cstr(&s, found[4].1), "x86_64");
        // Linux's order from the top: a free word, the file name, envp and
        // argv strings; below them the platform and the random bytes.
        assert_eq!(word(&s, top - 8), 0);
        assert_eq!(found[3].1, top - 8 - "/hello\0".len() as u64);
        assert!(word(&s, s.rsp + 40) > word(&s, s.rsp + 24));
        assert!(found[4].1 < word(&s, s.rsp + 8));
        assert_eq!(random + 16, found[4].1);
    }

    #[test]
    fn empty_argv_and_envp() {
        let contents = StackContents { argv: &[], envp: &[], execfn: "", platform: "", auxv: &[], random: [0; 16] };
        let s = build(0x1000_0000, &contents);
        assert_eq!(word(&s, s.rsp), 0);
        assert_eq!(word(&s, s.rsp + 8), 0);
        assert_eq!(word(&s, s.rsp + 16), 0);
        assert_eq!(word(&s, s.rsp + 24), at::NULL);
        assert_eq!(s.rsp % 16, 0);
    }

    #[test]
    fn strings_end_at_a_nul() {
        let contents =
            StackContents { argv: &["a\0b"], envp: &[], execfn: "x", platform: "", auxv: &[], random: [0; 16] };
        let s = build(0x1000_0000, &contents);
        assert_eq!(cstr(&s, word(&s, s.rsp + 8)), "a");
    }

    #[test]
    fn alignment_holds_for_every_string_length() {
        for n in 0..40 {
            let arg = "x".repeat(n);
            let argv = [arg.as_str()];
            let contents = StackContents {
                argv: &argv,
                envp: &["A=1"],
                execfn: &arg,
                platform: "x86_64",
                auxv: &AUXV,
                random: [1; 16],
            };
            let s = build(0x2000_0000, &contents);
            assert_eq!(s.rsp % 16, 0, "{n}");
            assert_eq!(cstr(&s, word(&s, s.rsp + 8)), arg);
            assert_eq!(cstr(&s, word(&s, s.rsp + 24)), "A=1");
        }
    }
}
