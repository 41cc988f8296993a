//! The initial stack of a new program, in the System V x86-64 layout.
//!
//! At the program's entry RSP points at `argc`, 16-byte aligned:
//!
//! ```text
//! rsp ->  argc
//!         argv[0] ... argv[argc-1], NULL
//!         envp[0] ... NULL
//!         auxv: (type, value) pairs ..., (AT_NULL, 0)
//!         padding
//!         16 random bytes (AT_RANDOM points here)
//!         the strings (argv, envp, AT_EXECFN)
//! top ->  (end of the stack region)
//! ```

use alloc::vec::Vec;

/// Auxiliary vector types.
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
    /// Program entry point.
    pub const ENTRY: u64 = 9;
    /// Clock ticks per second.
    pub const CLKTCK: u64 = 17;
    /// Secure mode (setuid): always 0.
    pub const SECURE: u64 = 23;
    /// Address of 16 random bytes.
    pub const RANDOM: u64 = 25;
    /// Address of the program's file name.
    pub const EXECFN: u64 = 31;
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
/// aligned). `auxv` are (type, value) pairs besides AT_RANDOM, AT_EXECFN
/// and AT_NULL, which are added.
pub fn build(top: u64, argv: &[&str], envp: &[&str], auxv: &[(u64, u64)], random: [u8; 16]) -> InitialStack {
    assert!(top.is_multiple_of(16));
    // Strings and random bytes go at the very top, growing down.
    let mut strings: Vec<u8> = Vec::new();
    let mut string_offsets = Vec::new(); // offset from the start of `strings`
    for s in argv.iter().chain(envp.iter()) {
        string_offsets.push(strings.len());
        strings.extend_from_slice(s.as_bytes());
        strings.push(0);
    }
    let execfn_offset = string_offsets.first().copied();
    let strings_start = top - strings.len() as u64;
    let random_at = (strings_start - 16) & !15;
    // Pointer area: argc, argv + NULL, envp + NULL, auxv pairs + AT_NULL.
    let mut aux: Vec<(u64, u64)> = auxv.to_vec();
    aux.push((at::RANDOM, random_at));
    if let Some(off) = execfn_offset {
        aux.push((at::EXECFN, strings_start + off as u64));
    }
    aux.push((at::NULL, 0));
    let words = 1 + argv.len() + 1 + envp.len() + 1 + aux.len() * 2;
    let rsp = (random_at - words as u64 * 8) & !15;
    let mut image = Vec::with_capacity((top - rsp) as usize);
    let mut push = |w: u64| image.extend_from_slice(&w.to_le_bytes());
    push(argv.len() as u64);
    for off in &string_offsets[..argv.len()] {
        push(strings_start + *off as u64);
    }
    push(0);
    for off in &string_offsets[argv.len()..] {
        push(strings_start + *off as u64);
    }
    push(0);
    for (t, v) in &aux {
        push(*t);
        push(*v);
    }
    image.resize((random_at - rsp) as usize, 0);
    image.extend_from_slice(&random);
    image.resize((strings_start - rsp) as usize, 0);
    image.extend_from_slice(&strings);
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

    #[test]
    fn sysv_layout() {
        let top = 0x7fff_ffff_0000;
        let s = build(top, &["hello", "a", "bb"], &["K=V"], &[(at::PAGESZ, 4096), (at::ENTRY, 0x40_1000)], [7; 16]);
        assert_eq!(s.rsp % 16, 0);
        assert_eq!(s.rsp + s.bytes.len() as u64, top);
        assert_eq!(word(&s, s.rsp), 3);
        assert_eq!(cstr(&s, word(&s, s.rsp + 8)), "hello");
        assert_eq!(cstr(&s, word(&s, s.rsp + 16)), "a");
        assert_eq!(cstr(&s, word(&s, s.rsp + 24)), "bb");
        assert_eq!(word(&s, s.rsp + 32), 0);
        assert_eq!(cstr(&s, word(&s, s.rsp + 40)), "K=V");
        assert_eq!(word(&s, s.rsp + 48), 0);
        let mut aux = s.rsp + 56;
        let mut found = alloc::vec::Vec::new();
        loop {
            let (t, v) = (word(&s, aux), word(&s, aux + 8));
            found.push((t, v));
            aux += 16;
            if t == at::NULL {
                break;
            }
        }
        assert_eq!(found[0], (at::PAGESZ, 4096));
        assert_eq!(found[1], (at::ENTRY, 0x40_1000));
        let random = found.iter().find(|(t, _)| *t == at::RANDOM).unwrap().1;
        assert_eq!(random % 16, 0);
        let off = (random - s.rsp) as usize;
        assert_eq!(&s.bytes[off..off + 16], &[7; 16]);
        let execfn = found.iter().find(|(t, _)| *t == at::EXECFN).unwrap().1;
        assert_eq!(cstr(&s, execfn), "hello");
    }

    #[test]
    fn empty_argv_and_envp() {
        let s = build(0x1000_0000, &[], &[], &[], [0; 16]);
        assert_eq!(word(&s, s.rsp), 0);
        assert_eq!(word(&s, s.rsp + 8), 0);
        assert_eq!(word(&s, s.rsp + 16), 0);
        assert_eq!(s.rsp % 16, 0);
    }
}
