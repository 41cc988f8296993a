//! The bootable image: the kernel ELF loaded flat, then the app payload.
//!
//! The layout is the contract of `libos_abi::image`:
//!
//! - byte 0 of the file is physical address `base = min(p_paddr)` of the
//!   kernel's `PT_LOAD` segments;
//! - each segment's file bytes go to `p_paddr - base`, zero-filled up to
//!   `p_memsz` (the kernel's `.bss` and its boot page tables are zeros in the
//!   file, so the loader needs no bss handling);
//! - the kernel part ends at `max(p_paddr + p_memsz)`, which must be the ELF
//!   symbol `__image_phys_end` and page aligned;
//! - with an app, the payload follows there: a [`PayloadHeader`], zeros up to
//!   its `app_offset`, the app's ELF file;
//! - the file is padded to a page multiple, and the multiboot header's
//!   `load_end_addr` and `bss_end_addr` are patched to `base + file length`.
//!
//! [`build`] is a pure function of the two ELF files and the app's name:
//! the same inputs give the same bytes.

use anyhow::{Context, Result, bail, ensure};
use libos_abi::image::PayloadHeader;
use libos_elf::Elf;

/// Page size: the kernel part's end and the file's length are multiples.
pub const PAGE_SIZE: u64 = 4096;
/// Multiboot v1 header magic.
pub const MULTIBOOT_MAGIC: u32 = 0x1BAD_B002;
/// Multiboot flag 16: the header's address fields are valid (load flat).
pub const MULTIBOOT_AOUT_KLUDGE: u32 = 1 << 16;
/// The multiboot header must lie in the first this many bytes.
pub const MULTIBOOT_SEARCH_LIMIT: usize = 8192;
/// The symbol that marks the end of the kernel part (physical address).
pub const IMAGE_END_SYMBOL: &str = "__image_phys_end";
/// The multiboot address fields are 32-bit: the whole image must lie below.
const ADDRESS_LIMIT: u64 = 1 << 32;
/// Apps must end below this virtual address (see `build::app_rustflags`).
const APP_ADDRESS_LIMIT: u64 = 1 << 31;

/// The app to append to the kernel.
#[derive(Clone, Copy, Debug)]
pub struct AppInput<'a> {
    /// The app's name (recorded in the payload header).
    pub name: &'a str,
    /// The app's ELF file.
    pub elf: &'a [u8],
}

/// A finished image and where its parts lie.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Image {
    /// The file's bytes.
    pub bytes: Vec<u8>,
    /// Physical address of byte 0 (the multiboot `load_addr`).
    pub base: u64,
    /// Size of the kernel part (`__image_phys_end - base`).
    pub kernel_size: u64,
    /// The app payload, if there is one.
    pub app: Option<AppPart>,
    /// File offset of the multiboot header.
    pub multiboot_offset: usize,
    /// The multiboot entry address.
    pub entry: u32,
}

/// Where the app payload lies in an [`Image`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppPart {
    /// The app's name.
    pub name: String,
    /// File offset of the payload header (= `kernel_size`).
    pub payload_offset: u64,
    /// File offset of the app's ELF bytes.
    pub elf_offset: u64,
    /// Size of the app's ELF file.
    pub elf_size: u64,
}

impl Image {
    /// One line per part, for the size report of `cargo xtask build`.
    pub fn size_report(&self) -> String {
        let total = self.bytes.len() as u64;
        let mut text = format!(
            "image size {} ({total} bytes), loaded at {:#x}..{:#x}\n  kernel   {:>10} bytes at file offset 0 (multiboot header at {:#x}, entry {:#x})",
            human_size(total),
            self.base,
            self.base + total,
            self.kernel_size,
            self.multiboot_offset,
            self.entry,
        );
        match &self.app {
            Some(app) => {
                let payload_end = app.elf_offset + app.elf_size;
                text.push_str(&format!(
                    "\n  app      {:>10} bytes at file offset {:#x} ('{}': payload header {} bytes, ELF {} bytes)\n  padding  {:>10} bytes",
                    payload_end - app.payload_offset,
                    app.payload_offset,
                    app.name,
                    app.elf_offset - app.payload_offset,
                    app.elf_size,
                    total - payload_end,
                ));
            }
            None => text.push_str("\n  app      none"),
        }
        text
    }
}

/// `1.2 MiB`, `520.0 KiB`, `900 B`.
pub fn human_size(bytes: u64) -> String {
    const KIB: f64 = 1024.0;
    let b = bytes as f64;
    if b >= KIB * KIB {
        format!("{:.1} MiB", b / (KIB * KIB))
    } else if b >= KIB {
        format!("{:.1} KiB", b / KIB)
    } else {
        format!("{bytes} B")
    }
}

/// Builds the image from the kernel's ELF file and, optionally, an app.
pub fn build(kernel_elf: &[u8], app: Option<AppInput<'_>>) -> Result<Image> {
    let kernel = Elf::parse(kernel_elf).map_err(|e| anyhow::anyhow!("{e}"))?;
    let segments: Vec<_> = kernel.load_segments().collect();
    ensure!(!segments.is_empty(), "the kernel ELF has no PT_LOAD segment");

    let base = segments.iter().map(|s| s.header.paddr).min().expect("not empty");
    let mut end = base;
    for s in &segments {
        let h = &s.header;
        let seg_end = h
            .paddr
            .checked_add(h.mem_size)
            .with_context(|| format!("kernel segment at physical {:#x} wraps around", h.paddr))?;
        ensure!(
            s.data.len() as u64 == h.file_size && h.file_size <= h.mem_size,
            "kernel segment at physical {:#x}: file size {:#x}, memory size {:#x}, {:#x} bytes in the file",
            h.paddr,
            h.file_size,
            h.mem_size,
            s.data.len()
        );
        end = end.max(seg_end);
    }
    ensure!(end <= ADDRESS_LIMIT, "the kernel ends at physical {end:#x}, above 4 GiB: multiboot cannot load it");
    ensure!(
        base % PAGE_SIZE == 0 && end % PAGE_SIZE == 0,
        "the kernel's physical range {base:#x}..{end:#x} is not page aligned"
    );
    let symbol = kernel
        .symbol(IMAGE_END_SYMBOL)
        .map_err(|e| anyhow::anyhow!("reading the kernel's symbol table: {e}"))?
        .with_context(|| format!("the kernel ELF has no symbol `{IMAGE_END_SYMBOL}`"))?;
    ensure!(
        symbol.value == end,
        "`{IMAGE_END_SYMBOL}` is {:#x} but the kernel's PT_LOAD segments end at {end:#x}: \
         the linker script and the segments disagree",
        symbol.value
    );

    // The kernel part: each segment at its physical offset, zeros elsewhere.
    let kernel_size = end - base;
    let mut bytes = vec![0u8; kernel_size as usize];
    let mut placed: Vec<(u64, u64)> = Vec::new();
    for s in &segments {
        let start = s.header.paddr - base;
        let stop = start + s.header.mem_size;
        if let Some((a, b)) = placed.iter().find(|(a, b)| start < *b && *a < stop) {
            bail!(
                "kernel segments overlap in physical memory: {:#x}..{:#x} and {:#x}..{:#x}",
                base + a,
                base + b,
                base + start,
                base + stop
            );
        }
        placed.push((start, stop));
        bytes[start as usize..start as usize + s.data.len()].copy_from_slice(s.data);
    }

    // The payload.
    let app_part = match app {
        None => None,
        Some(app) => {
            let elf = Elf::parse(app.elf)
                .map_err(|e| anyhow::anyhow!("the app `{}` is not a valid ELF file: {e}", app.name))?;
            // Apps use the small code model, and the target's prebuilt
            // `core` and `alloc` the `kernel` one, whose 32-bit sign-extended
            // addresses reach only the lowest 2 GiB.
            let app_end = elf.load_segments().map(|s| s.header.vaddr + s.header.mem_size).max().unwrap_or(0);
            ensure!(
                app_end <= APP_ADDRESS_LIMIT,
                "the app `{}` ends at {app_end:#x}, above 2 GiB: the code models cannot address that",
                app.name
            );
            let header = PayloadHeader::new(app.name, app.elf.len() as u64);
            let payload_offset = bytes.len() as u64;
            bytes.extend_from_slice(&header.to_bytes());
            let elf_offset = payload_offset + header.app_offset;
            bytes.resize(elf_offset as usize, 0);
            bytes.extend_from_slice(app.elf);
            Some(AppPart { name: app.name.to_string(), payload_offset, elf_offset, elf_size: app.elf.len() as u64 })
        }
    };
    let padded = (bytes.len() as u64).next_multiple_of(PAGE_SIZE);
    bytes.resize(padded as usize, 0);
    let load_end = base + padded;
    ensure!(
        load_end <= ADDRESS_LIMIT,
        "the image would end at physical {load_end:#x}, above 4 GiB: multiboot cannot load it"
    );

    // The multiboot header.
    let offset = find_multiboot_header(&bytes).context(
        "no multiboot header (magic 0x1BADB002, valid checksum, flag bit 16) in the first 8 KiB \
         of the kernel image",
    )?;
    let word = |i: usize| read_u32(&bytes, offset + 4 * i);
    let (header_addr, load_addr, entry) = (word(3), word(4), word(7));
    ensure!(
        u64::from(load_addr) == base,
        "multiboot load_addr is {load_addr:#x} but the kernel's lowest physical address is {base:#x}"
    );
    ensure!(
        u64::from(header_addr.wrapping_sub(load_addr)) == offset as u64,
        "multiboot header_addr - load_addr = {:#x}, but the header lies at file offset {offset:#x}",
        header_addr.wrapping_sub(load_addr)
    );
    ensure!(
        (base..end).contains(&u64::from(entry)),
        "multiboot entry_addr {entry:#x} is outside the kernel's range {base:#x}..{end:#x}"
    );
    write_u32(&mut bytes, offset + 4 * 5, load_end as u32);
    write_u32(&mut bytes, offset + 4 * 6, load_end as u32);

    Ok(Image { bytes, base, kernel_size, app: app_part, multiboot_offset: offset, entry })
}

/// File offset of the first 4-byte-aligned multiboot header in the first
/// 8 KiB with a valid checksum and flag bit 16.
pub fn find_multiboot_header(bytes: &[u8]) -> Option<usize> {
    let limit = bytes.len().min(MULTIBOOT_SEARCH_LIMIT);
    (0..limit.saturating_sub(31)).step_by(4).find(|&at| {
        let magic = read_u32(bytes, at);
        let flags = read_u32(bytes, at + 4);
        let checksum = read_u32(bytes, at + 8);
        magic == MULTIBOOT_MAGIC
            && magic.wrapping_add(flags).wrapping_add(checksum) == 0
            && flags & MULTIBOOT_AOUT_KLUDGE != 0
    })
}

fn read_u32(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"))
}

fn write_u32(bytes: &mut [u8], at: usize, value: u32) {
    bytes[at..at + 4].copy_from_slice(&value.to_le_bytes());
}

#[cfg(test)]
pub(crate) mod tests {
    use std::path::Path;

    use super::*;

    /// A loadable segment of a synthetic ELF.
    pub(crate) struct Seg {
        pub vaddr: u64,
        pub paddr: u64,
        pub data: Vec<u8>,
        pub mem_size: u64,
        pub flags: u32,
    }

    /// Writes a small but well-formed ELF64 x86-64 executable: the given
    /// PT_LOAD segments (each at a page-aligned file offset), a symbol table
    /// with `symbols`, and the section header string table.
    pub(crate) fn synthetic_elf(segs: &[Seg], symbols: &[(&str, u64)], entry: u64) -> Vec<u8> {
        let phoff = 64u64;
        let mut file = vec![0u8; 4096];
        let mut seg_offsets = Vec::new();
        for s in segs {
            let off = (file.len() as u64).next_multiple_of(4096);
            file.resize(off as usize, 0);
            seg_offsets.push(off);
            file.extend_from_slice(&s.data);
        }
        // .strtab and .symtab.
        let mut strtab = vec![0u8];
        let mut symtab = vec![0u8; 24];
        for (name, value) in symbols {
            let name_off = strtab.len() as u32;
            strtab.extend_from_slice(name.as_bytes());
            strtab.push(0);
            let mut sym = [0u8; 24];
            sym[0..4].copy_from_slice(&name_off.to_le_bytes());
            sym[4] = 0x10; // STB_GLOBAL, STT_NOTYPE
            sym[6..8].copy_from_slice(&0xfff1u16.to_le_bytes()); // SHN_ABS
            sym[8..16].copy_from_slice(&value.to_le_bytes());
            symtab.extend_from_slice(&sym);
        }
        let shstrtab = b"\0.symtab\0.strtab\0.shstrtab\0".to_vec();
        let place = |file: &mut Vec<u8>, data: &[u8]| {
            let off = (file.len() as u64).next_multiple_of(8);
            file.resize(off as usize, 0);
            file.extend_from_slice(data);
            off
        };
        let symtab_off = place(&mut file, &symtab);
        let strtab_off = place(&mut file, &strtab);
        let shstrtab_off = place(&mut file, &shstrtab);
        let shoff = (file.len() as u64).next_multiple_of(8);
        file.resize(shoff as usize, 0);
        // Section headers: null, .symtab (1), .strtab (2), .shstrtab (3).
        let shdr = |name: u32, kind: u32, off: u64, size: u64, link: u32, info: u32, entsize: u64| {
            let mut h = [0u8; 64];
            h[0..4].copy_from_slice(&name.to_le_bytes());
            h[4..8].copy_from_slice(&kind.to_le_bytes());
            h[24..32].copy_from_slice(&off.to_le_bytes());
            h[32..40].copy_from_slice(&size.to_le_bytes());
            h[40..44].copy_from_slice(&link.to_le_bytes());
            h[44..48].copy_from_slice(&info.to_le_bytes());
            h[48..56].copy_from_slice(&1u64.to_le_bytes());
            h[56..64].copy_from_slice(&entsize.to_le_bytes());
            h
        };
        file.extend_from_slice(&[0u8; 64]);
        file.extend_from_slice(&shdr(1, 2, symtab_off, symtab.len() as u64, 2, 1, 24));
        file.extend_from_slice(&shdr(9, 3, strtab_off, strtab.len() as u64, 0, 0, 0));
        file.extend_from_slice(&shdr(17, 3, shstrtab_off, shstrtab.len() as u64, 0, 0, 0));
        // ELF header.
        let h = &mut file[0..64];
        h[0..4].copy_from_slice(b"\x7fELF");
        h[4] = 2; // ELFCLASS64
        h[5] = 1; // little-endian
        h[6] = 1; // EV_CURRENT
        h[16..18].copy_from_slice(&2u16.to_le_bytes()); // ET_EXEC
        h[18..20].copy_from_slice(&62u16.to_le_bytes()); // EM_X86_64
        h[20..24].copy_from_slice(&1u32.to_le_bytes());
        h[24..32].copy_from_slice(&entry.to_le_bytes());
        h[32..40].copy_from_slice(&phoff.to_le_bytes());
        h[40..48].copy_from_slice(&shoff.to_le_bytes());
        h[52..54].copy_from_slice(&64u16.to_le_bytes());
        h[54..56].copy_from_slice(&56u16.to_le_bytes());
        h[56..58].copy_from_slice(&(segs.len() as u16).to_le_bytes());
        h[58..60].copy_from_slice(&64u16.to_le_bytes());
        h[60..62].copy_from_slice(&4u16.to_le_bytes());
        h[62..64].copy_from_slice(&3u16.to_le_bytes());
        for (i, (s, off)) in segs.iter().zip(&seg_offsets).enumerate() {
            let p = &mut file[64 + 56 * i..64 + 56 * (i + 1)];
            p[0..4].copy_from_slice(&1u32.to_le_bytes()); // PT_LOAD
            p[4..8].copy_from_slice(&s.flags.to_le_bytes());
            p[8..16].copy_from_slice(&off.to_le_bytes());
            p[16..24].copy_from_slice(&s.vaddr.to_le_bytes());
            p[24..32].copy_from_slice(&s.paddr.to_le_bytes());
            p[32..40].copy_from_slice(&(s.data.len() as u64).to_le_bytes());
            p[40..48].copy_from_slice(&s.mem_size.to_le_bytes());
            p[48..56].copy_from_slice(&4096u64.to_le_bytes());
        }
        file
    }

    const BASE: u64 = 0x10_0000;
    const VIRT: u64 = 0xffff_ffff_8000_0000;

    /// A multiboot header as entry-asm writes it, at physical `at`.
    fn multiboot_header(at: u32, flags: u32) -> Vec<u8> {
        let words = [
            MULTIBOOT_MAGIC,
            flags,
            0u32.wrapping_sub(MULTIBOOT_MAGIC.wrapping_add(flags)),
            at,
            BASE as u32,
            0x10_3000,
            0x10_3000,
            BASE as u32 + 0x20,
        ];
        words.iter().flat_map(|w| w.to_le_bytes()).collect()
    }

    /// The boot segment: 8 bytes of other data, the header at offset 8,
    /// code bytes, then a NOBITS tail (page tables).
    fn boot_segment(header: Vec<u8>) -> Seg {
        let mut data = vec![0xAA; 8];
        data.extend_from_slice(&header);
        data.extend_from_slice(&[0x90; 100]);
        Seg { vaddr: BASE, paddr: BASE, data, mem_size: 0x2000, flags: 7 }
    }

    /// A kernel: boot segment (0x100000..0x102000) and a higher-half data
    /// segment (0x102000..0x103000) with .data bytes then .bss.
    fn kernel_elf(header: Vec<u8>, image_end: u64) -> Vec<u8> {
        let data_seg =
            Seg { vaddr: VIRT + 0x10_2000, paddr: 0x10_2000, data: vec![0x55; 16], mem_size: 0x1000, flags: 6 };
        synthetic_elf(
            &[boot_segment(header), data_seg],
            &[("__image_phys_end", image_end), ("kernel_main", VIRT + 0x10_2000)],
            BASE + 0x20,
        )
    }

    fn good_kernel() -> Vec<u8> {
        kernel_elf(multiboot_header(BASE as u32 + 8, 0x1_0003), 0x10_3000)
    }

    fn app_elf() -> Vec<u8> {
        let seg = Seg { vaddr: 0x40_0000, paddr: 0x40_0000, data: vec![0xC3; 300], mem_size: 300, flags: 5 };
        synthetic_elf(&[seg], &[("_start", 0x40_0000)], 0x40_0000)
    }

    fn word(image: &Image, index: usize) -> u32 {
        read_u32(&image.bytes, image.multiboot_offset + 4 * index)
    }

    #[test]
    fn kernel_alone() {
        let image = build(&good_kernel(), None).unwrap();
        assert_eq!(image.base, BASE);
        assert_eq!(image.kernel_size, 0x3000);
        assert_eq!(image.bytes.len(), 0x3000);
        assert_eq!(image.multiboot_offset, 8);
        assert_eq!(image.entry, BASE as u32 + 0x20);
        assert_eq!(&image.bytes[..8], &[0xAA; 8]);
        // Code after the header, then the boot segment's zero-filled tail.
        assert_eq!(&image.bytes[40..140], &[0x90; 100]);
        assert!(image.bytes[140..0x2000].iter().all(|&b| b == 0));
        // The data segment at its physical offset, then .bss zeros.
        assert_eq!(&image.bytes[0x2000..0x2010], &[0x55; 16]);
        assert!(image.bytes[0x2010..].iter().all(|&b| b == 0));
        // load_end_addr and bss_end_addr cover the file.
        assert_eq!(word(&image, 5), 0x10_3000);
        assert_eq!(word(&image, 6), 0x10_3000);
        assert!(image.size_report().contains("app      none"));
    }

    #[test]
    fn kernel_and_app() {
        let app = app_elf();
        let image = build(&good_kernel(), Some(AppInput { name: "hello", elf: &app })).unwrap();
        let part = image.app.clone().unwrap();
        assert_eq!(part.payload_offset, 0x3000);
        assert_eq!(part.elf_size, app.len() as u64);
        let header = PayloadHeader::parse(&image.bytes[0x3000..]).unwrap().unwrap();
        assert_eq!(header.name(), "hello");
        assert_eq!(header.app_size, app.len() as u64);
        assert_eq!(part.elf_offset, 0x3000 + header.app_offset);
        let start = part.elf_offset as usize;
        assert_eq!(&image.bytes[start..start + app.len()], &app[..]);
        // Zeros between the header and the ELF, and after the ELF.
        assert!(image.bytes[0x3000 + PayloadHeader::SIZE..start].iter().all(|&b| b == 0));
        assert!(image.bytes[start + app.len()..].iter().all(|&b| b == 0));
        assert_eq!(image.bytes.len() % 4096, 0);
        assert_eq!(image.bytes.len() as u64, (start + app.len()).next_multiple_of(4096) as u64);
        let end = BASE as u32 + image.bytes.len() as u32;
        assert_eq!(word(&image, 5), end);
        assert_eq!(word(&image, 6), end);
        let report = image.size_report();
        assert!(report.contains("'hello'"), "{report}");
    }

    #[test]
    fn same_inputs_same_bytes() {
        let app = app_elf();
        let a = build(&good_kernel(), Some(AppInput { name: "x", elf: &app })).unwrap();
        let b = build(&good_kernel(), Some(AppInput { name: "x", elf: &app })).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn image_end_symbol_must_match_the_segments() {
        let elf = kernel_elf(multiboot_header(BASE as u32 + 8, 0x1_0003), 0x10_4000);
        let err = build(&elf, None).unwrap_err().to_string();
        assert!(err.contains("__image_phys_end"), "{err}");
        let no_symbol = synthetic_elf(&[boot_segment(multiboot_header(BASE as u32 + 8, 0x1_0003))], &[], BASE + 0x20);
        let err = build(&no_symbol, None).unwrap_err().to_string();
        assert!(err.contains("no symbol `__image_phys_end`"), "{err}");
    }

    #[test]
    fn multiboot_header_must_be_valid() {
        // Without flag 16 the header does not count.
        let elf = kernel_elf(multiboot_header(BASE as u32 + 8, 0x3), 0x10_3000);
        let err = build(&elf, None).unwrap_err().to_string();
        assert!(err.contains("no multiboot header"), "{err}");
        // A bad checksum does not count either.
        let mut header = multiboot_header(BASE as u32 + 8, 0x1_0003);
        header[8] ^= 1;
        let err = build(&kernel_elf(header, 0x10_3000), None).unwrap_err().to_string();
        assert!(err.contains("no multiboot header"), "{err}");
        // header_addr must agree with the header's place in the file.
        let elf = kernel_elf(multiboot_header(BASE as u32 + 16, 0x1_0003), 0x10_3000);
        let err = build(&elf, None).unwrap_err().to_string();
        assert!(err.contains("header_addr"), "{err}");
    }

    #[test]
    fn first_valid_header_wins() {
        let mut bytes = vec![0u8; 64];
        // A magic without a checksum at 0, a valid header at 12.
        bytes[0..4].copy_from_slice(&MULTIBOOT_MAGIC.to_le_bytes());
        let header = multiboot_header(0, 0x1_0000);
        bytes[12..44].copy_from_slice(&header);
        assert_eq!(find_multiboot_header(&bytes), Some(12));
        // Not 4-byte aligned: not found.
        let mut shifted = vec![0u8; 64];
        shifted[2..34].copy_from_slice(&header);
        assert_eq!(find_multiboot_header(&shifted), None);
        // Beyond 8 KiB: not found.
        let mut far = vec![0u8; 9000];
        far[8192..8224].copy_from_slice(&header);
        assert_eq!(find_multiboot_header(&far), None);
    }

    #[test]
    fn overlapping_segments_are_rejected() {
        let header = multiboot_header(BASE as u32 + 8, 0x1_0003);
        let overlapping =
            Seg { vaddr: VIRT + 0x10_1000, paddr: 0x10_1000, data: vec![1; 16], mem_size: 0x2000, flags: 6 };
        let elf = synthetic_elf(&[boot_segment(header), overlapping], &[("__image_phys_end", 0x10_3000)], BASE + 0x20);
        let err = build(&elf, None).unwrap_err().to_string();
        assert!(err.contains("overlap"), "{err}");
    }

    #[test]
    fn unaligned_end_is_rejected() {
        let header = multiboot_header(BASE as u32 + 8, 0x1_0003);
        let mut seg = boot_segment(header);
        seg.mem_size = 0x1800;
        let elf = synthetic_elf(&[seg], &[("__image_phys_end", 0x10_1800)], BASE + 0x20);
        let err = build(&elf, None).unwrap_err().to_string();
        assert!(err.contains("not page aligned"), "{err}");
    }

    #[test]
    fn bad_app_is_rejected() {
        let err = build(&good_kernel(), Some(AppInput { name: "bad", elf: b"not an elf" })).unwrap_err().to_string();
        assert!(err.contains("`bad` is not a valid ELF"), "{err}");
    }

    /// The real kernel, when a previous `cargo xtask build` left one.
    #[test]
    fn real_kernel_if_built() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let path = root.join("target/images/kernel.elf");
        let Ok(elf) = std::fs::read(&path) else {
            eprintln!("skipped: {} not built", path.display());
            return;
        };
        let image = build(&elf, Some(AppInput { name: "fake", elf: &app_elf() })).unwrap();
        assert_eq!(image.base, 0x10_0000);
        assert_eq!(image.bytes.len() % 4096, 0);
        assert_eq!(word(&image, 5) as usize, 0x10_0000 + image.bytes.len());
        let header = PayloadHeader::parse(&image.bytes[image.kernel_size as usize..]);
        assert_eq!(header.unwrap().unwrap().name(), "fake");
    }
}
