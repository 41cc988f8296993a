//! The text of Linux's `/proc` files that the kernel serves, as Linux
//! formats it (host-tested): a `/proc/<pid>/maps` line
//! (`fs/proc/task_mmu.c`, `show_map_vma` and `show_vma_header_prefix`) and
//! the CPUID-derived fields of `/proc/cpuinfo`
//! (`arch/x86/kernel/cpu/proc.c`, `show_cpuinfo`; the flag names of
//! `arch/x86/include/asm/cpufeatures.h`).

use alloc::string::String;
use core::fmt::Write;

/// One mapping, as a `maps` line describes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MapsEntry<'a> {
    /// First address.
    pub start: u64,
    /// One past the last address.
    pub end: u64,
    /// Readable, writable, executable.
    pub read: bool,
    /// Writable.
    pub write: bool,
    /// Executable.
    pub exec: bool,
    /// `MAP_SHARED` (`s`) or private (`p`).
    pub shared: bool,
    /// The file offset of `start`, in bytes (`vm_pgoff << PAGE_SHIFT`).
    pub offset: u64,
    /// Device major and minor of the mapped file (0:0 when anonymous).
    pub dev: (u32, u32),
    /// Its inode number (0 when anonymous).
    pub ino: u64,
    /// Its path, `[heap]`, `[stack]`, or nothing.
    pub name: Option<&'a [u8]>,
}

/// The column a `maps` line's name starts after: `seq_setwidth(m, 25 +
/// sizeof(void *) * 6 - 1)` in `show_vma_header_prefix`.
const MAPS_NAME_COLUMN: usize = 25 + 8 * 6 - 1;

/// Appends `e`'s line (with its newline) to `out`, byte for byte as Linux
/// prints it: `start-end perms offset major:minor inode`, then, for a named
/// mapping, spaces up to column 72, one more space and the name; an
/// unnamed one ends with the space after the inode.
pub fn maps_line(out: &mut alloc::vec::Vec<u8>, e: &MapsEntry<'_>) {
    let begin = out.len();
    let mut s = String::new();
    let _ = write!(
        s,
        "{:08x}-{:08x} {}{}{}{} {:08x} {:02x}:{:02x} {} ",
        e.start,
        e.end,
        if e.read { 'r' } else { '-' },
        if e.write { 'w' } else { '-' },
        if e.exec { 'x' } else { '-' },
        if e.shared { 's' } else { 'p' },
        e.offset,
        e.dev.0,
        e.dev.1,
        e.ino
    );
    out.extend_from_slice(s.as_bytes());
    if let Some(name) = e.name {
        // `seq_pad(m, ' ')`: pad to the width (counted from the line's
        // start, the header's trailing space included), then one space.
        out.pop();
        while out.len() - begin < MAPS_NAME_COLUMN {
            out.push(b' ');
        }
        out.push(b' ');
        out.extend_from_slice(name);
    }
    out.push(b'\n');
}

/// Family, model and stepping from CPUID leaf 1's EAX, as Linux's
/// `x86_family`, `x86_model` and `x86_stepping` (`arch/x86/lib/cpu.c`):
/// the extended family is added when the family is 0xf, the extended model
/// when the family is 6 or more.
pub const fn family_model_stepping(eax: u32) -> (u32, u32, u32) {
    let mut family = (eax >> 8) & 0xf;
    if family == 0xf {
        family += (eax >> 20) & 0xff;
    }
    let mut model = (eax >> 4) & 0xf;
    if family >= 6 {
        model += ((eax >> 16) & 0xf) << 4;
    }
    (family, model, eax & 0xf)
}

/// The CPUID registers the `flags` line is made from, in Linux's
/// capability-word order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CpuidWords {
    /// Word 0: leaf 1 EDX.
    pub l1_edx: u32,
    /// Word 1: leaf 0x8000_0001 EDX.
    pub ext1_edx: u32,
    /// Word 4: leaf 1 ECX.
    pub l1_ecx: u32,
    /// Word 6: leaf 0x8000_0001 ECX.
    pub ext1_ecx: u32,
    /// Word 9: leaf 7 subleaf 0 EBX.
    pub l7_ebx: u32,
    /// Word 10: leaf 0xd subleaf 1 EAX.
    pub ld1_eax: u32,
    /// Word 16: leaf 7 subleaf 0 ECX.
    pub l7_ecx: u32,
    /// Word 18: leaf 7 subleaf 0 EDX.
    pub l7_edx: u32,
}

/// Linux's names of word 0's bits (`""` = not shown).
const WORD0: [&str; 32] = [
    "fpu", "vme", "de", "pse", "tsc", "msr", "pae", "mce", "cx8", "apic", "", "sep", "mtrr", "pge", "mca", "cmov",
    "pat", "pse36", "pn", "clflush", "", "dts", "acpi", "mmx", "fxsr", "sse", "sse2", "ss", "ht", "tm", "ia64", "pbe",
];
/// Word 1 (AMD-defined, leaf 0x8000_0001 EDX; the bits that copy word 0
/// are not shown twice).
const WORD1: [&str; 32] = [
    "", "", "", "", "", "", "", "", "", "", "", "syscall", "", "", "", "", "", "", "", "mp", "nx", "", "mmxext", "",
    "", "fxsr_opt", "pdpe1gb", "rdtscp", "", "lm", "3dnowext", "3dnow",
];
/// Word 4 (leaf 1 ECX; OSXSAVE is `""` in Linux).
const WORD4: [&str; 32] = [
    "pni",
    "pclmulqdq",
    "dtes64",
    "monitor",
    "ds_cpl",
    "vmx",
    "smx",
    "est",
    "tm2",
    "ssse3",
    "cid",
    "sdbg",
    "fma",
    "cx16",
    "xtpr",
    "pdcm",
    "",
    "pcid",
    "dca",
    "sse4_1",
    "sse4_2",
    "x2apic",
    "movbe",
    "popcnt",
    "tsc_deadline_timer",
    "aes",
    "xsave",
    "",
    "avx",
    "f16c",
    "rdrand",
    "hypervisor",
];
/// Word 6 (leaf 0x8000_0001 ECX).
const WORD6: [&str; 32] = [
    "lahf_lm",
    "cmp_legacy",
    "svm",
    "extapic",
    "cr8_legacy",
    "abm",
    "sse4a",
    "misalignsse",
    "3dnowprefetch",
    "osvw",
    "ibs",
    "xop",
    "skinit",
    "wdt",
    "",
    "lwp",
    "fma4",
    "tce",
    "",
    "nodeid_msr",
    "",
    "tbm",
    "topoext",
    "perfctr_core",
    "perfctr_nb",
    "",
    "bpext",
    "ptsc",
    "perfctr_llc",
    "mwaitx",
    "",
    "",
];
/// Word 9 (leaf 7 EBX).
const WORD9: [&str; 32] = [
    "fsgsbase",
    "tsc_adjust",
    "sgx",
    "bmi1",
    "hle",
    "avx2",
    "",
    "smep",
    "bmi2",
    "erms",
    "invpcid",
    "rtm",
    "cqm",
    "",
    "mpx",
    "rdt_a",
    "avx512f",
    "avx512dq",
    "rdseed",
    "adx",
    "smap",
    "avx512ifma",
    "",
    "clflushopt",
    "clwb",
    "intel_pt",
    "avx512pf",
    "avx512er",
    "avx512cd",
    "sha_ni",
    "avx512bw",
    "avx512vl",
];
/// Word 10 (leaf 0xd subleaf 1 EAX).
const WORD10: [&str; 32] = [
    "xsaveopt", "xsavec", "xgetbv1", "xsaves", "xfd", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "",
    "", "", "", "", "", "", "", "", "", "", "",
];
/// Word 16 (leaf 7 ECX).
const WORD16: [&str; 32] = [
    "",
    "avx512vbmi",
    "umip",
    "pku",
    "ospke",
    "waitpkg",
    "avx512_vbmi2",
    "",
    "gfni",
    "vaes",
    "vpclmulqdq",
    "avx512_vnni",
    "avx512_bitalg",
    "tme",
    "avx512_vpopcntdq",
    "",
    "la57",
    "",
    "",
    "",
    "",
    "",
    "rdpid",
    "",
    "bus_lock_detect",
    "cldemote",
    "",
    "movdiri",
    "movdir64b",
    "enqcmd",
    "sgx_lc",
    "",
];
/// Word 18 (leaf 7 EDX).
const WORD18: [&str; 32] = [
    "",
    "",
    "avx512_4vnniw",
    "avx512_4fmaps",
    "fsrm",
    "",
    "",
    "",
    "avx512_vp2intersect",
    "",
    "md_clear",
    "",
    "",
    "",
    "serialize",
    "",
    "tsxldtrk",
    "",
    "pconfig",
    "arch_lbr",
    "ibt",
    "",
    "amx_bf16",
    "avx512_fp16",
    "amx_tile",
    "amx_int8",
    "",
    "",
    "flush_l1d",
    "arch_capabilities",
    "",
    "spec_ctrl_ssbd",
];

/// Appends the names of the set bits, each after a space, in Linux's
/// order (word by word, bit by bit), as `show_cpuinfo`'s `flags` line.
/// Linux's synthetic words (3, 7, 8, ...: `constant_tsc`, `nopl`, ...) come
/// from its own probing, not from CPUID, and are not produced.
pub fn cpu_flags(out: &mut String, w: &CpuidWords) {
    let words: [(&[&str; 32], u32); 8] = [
        (&WORD0, w.l1_edx),
        (&WORD1, w.ext1_edx),
        (&WORD4, w.l1_ecx),
        (&WORD6, w.ext1_ecx),
        (&WORD9, w.l7_ebx),
        (&WORD10, w.ld1_eax),
        (&WORD16, w.l7_ecx),
        (&WORD18, w.l7_edx),
    ];
    for (names, bits) in words {
        for (bit, name) in names.iter().enumerate() {
            if bits & (1 << bit) != 0 && !name.is_empty() {
                out.push(' ');
                out.push_str(name);
            }
        }
    }
}

/// The 48-byte brand string of leaves 0x8000_0002..4, as Linux's
/// `get_model_name` keeps it: up to the first NUL, surrounding blanks
/// trimmed.
pub fn model_name(raw: &[u8; 48]) -> &str {
    let len = raw.iter().position(|&c| c == 0).unwrap_or(48);
    core::str::from_utf8(&raw[..len]).unwrap_or("").trim()
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn line(e: &MapsEntry<'_>) -> String {
        let mut v = Vec::new();
        maps_line(&mut v, e);
        String::from_utf8(v).unwrap()
    }

    const ANON: MapsEntry<'static> = MapsEntry {
        start: 0x7f12_3456_7000,
        end: 0x7f12_3456_9000,
        read: true,
        write: true,
        exec: false,
        shared: false,
        offset: 0,
        dev: (0, 0),
        ino: 0,
        name: None,
    };

    #[test]
    fn maps_lines_match_linux_byte_for_byte() {
        // Lines copied from a Linux 6.1 `cat /proc/self/maps`.
        assert_eq!(line(&ANON), "7f1234567000-7f1234569000 rw-p 00000000 00:00 0 \n");
        let exe = MapsEntry {
            start: 0x55d4_f3a0_0000,
            end: 0x55d4_f3a0_2000,
            read: true,
            write: false,
            exec: false,
            shared: false,
            offset: 0,
            dev: (0xfe, 1),
            ino: 1_315_092,
            name: Some(b"/usr/bin/cat"),
        };
        assert_eq!(
            line(&exe),
            "55d4f3a00000-55d4f3a02000 r--p 00000000 fe:01 1315092                    /usr/bin/cat\n"
        );
        let heap = MapsEntry { start: 0x55d4_f4c3_1000, end: 0x55d4_f4c5_2000, name: Some(b"[heap]"), ..ANON };
        assert_eq!(line(&heap), "55d4f4c31000-55d4f4c52000 rw-p 00000000 00:00 0                          [heap]\n");
        // Short addresses are padded to 8 digits; the name still starts at column 73.
        let low = MapsEntry { start: 0x40_0000, end: 0x40_1000, exec: true, offset: 0x1000, name: Some(b"/a"), ..ANON };
        let l = line(&low);
        assert_eq!(l, "00400000-00401000 rwxp 00001000 00:00 0                                  /a\n");
        assert_eq!(l.find("/a"), Some(MAPS_NAME_COLUMN + 1));
    }

    #[test]
    fn family_model_stepping_as_linux() {
        // Coffee Lake (0x000906ea): family 6, model 158, stepping 10.
        assert_eq!(family_model_stepping(0x0009_06ea), (6, 158, 10));
        // Skylake-SP: 0x00050654 is family 6, model 85, stepping 4.
        assert_eq!(family_model_stepping(0x0005_0654), (6, 85, 4));
        // AMD Zen 2 (0x00830f10): family 0xf + 8 = 23, model 0x31, stepping 0.
        assert_eq!(family_model_stepping(0x0083_0f10), (23, 49, 0));
        // Family 5 ignores the extended model.
        assert_eq!(family_model_stepping(0x0001_0543), (5, 4, 3));
    }

    #[test]
    fn flags_in_linux_order_without_hidden_bits() {
        let mut s = String::new();
        let w = CpuidWords {
            l1_edx: 1 | (1 << 10) | (1 << 26),
            ext1_edx: 1 << 29,
            l1_ecx: 1 | (1 << 27) | (1 << 31),
            l7_ebx: (1 << 7) | (1 << 20),
            ..Default::default()
        };
        cpu_flags(&mut s, &w);
        assert_eq!(s, " fpu sse2 lm pni hypervisor smep smap");
    }

    #[test]
    fn model_name_trimmed_at_nul() {
        let mut raw = [0u8; 48];
        raw[..30].copy_from_slice(b"  QEMU Virtual CPU version 2.5");
        assert_eq!(model_name(&raw), "QEMU Virtual CPU version 2.5");
        let full = [b'x'; 48];
        assert_eq!(model_name(&full).len(), 48);
    }
}
