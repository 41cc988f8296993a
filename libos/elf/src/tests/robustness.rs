//! Truncated and randomly corrupted files never panic, and every accessor
//! keeps its promises on whatever it accepts.

use std::format;
use std::vec;
use std::vec::Vec;

use super::builder::*;
use crate::*;

/// A tiny deterministic PRNG (xorshift64).
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A number in `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// What `exercise` saw, to check the fuzzers reach every level.
#[derive(Default, Debug)]
struct Outcome {
    parsed: bool,
    sections_ok: bool,
    symbols_ok: bool,
    loadable: bool,
}

/// Runs every accessor on `bytes` and checks the promises they make.
fn exercise(bytes: &[u8]) -> Outcome {
    let mut outcome = Outcome::default();
    let elf = match Elf::parse(bytes) {
        Ok(elf) => elf,
        Err(error) => {
            assert!(!format!("{error}").is_empty());
            return outcome;
        }
    };
    outcome.parsed = true;
    assert!(bytes.len() >= EHDR_SIZE);
    let _ = format!("{elf:?}");

    let headers = elf.program_headers();
    let count = headers.len();
    assert!(count <= usize::from(MAX_PROGRAM_HEADERS));
    assert_eq!(headers.count(), count);
    for header in elf.program_headers() {
        let end = header.offset.checked_add(header.file_size).unwrap();
        assert!(end <= bytes.len() as u64);
        assert!(header.mem_end().is_some());
        if header.is_load() {
            assert!(header.file_size <= header.mem_size);
            if header.align > 1 {
                assert!(header.align.is_power_of_two());
                assert_eq!(header.vaddr % header.align, header.offset % header.align);
            }
        }
    }
    let loads = elf.program_headers().filter(ProgramHeader::is_load).count();
    assert_eq!(elf.load_segments().count(), loads);
    for segment in elf.load_segments() {
        let start = segment.header.offset as usize;
        assert_eq!(segment.data.len() as u64, segment.header.file_size);
        assert_eq!(segment.data, &bytes[start..start + segment.data.len()]);
    }

    match elf.sections() {
        Ok(sections) => {
            outcome.sections_ok = true;
            let len = sections.len();
            let mut seen = 0;
            for section in sections {
                seen += 1;
                match section.data {
                    None => assert_eq!(section.kind, SHT_NOBITS),
                    Some(data) => assert_eq!(data.len() as u64, section.size),
                }
                let found = elf.section_by_name(section.name).unwrap().unwrap();
                assert_eq!(found.name, section.name);
            }
            assert_eq!(seen, len);
        }
        Err(error) => {
            assert_eq!(elf.section_by_name(".text"), Err(error));
            assert_eq!(elf.symbols().err(), Some(error));
            let _ = format!("{error}");
        }
    }

    match elf.symbols() {
        Ok(symbols) => {
            outcome.symbols_ok = true;
            let len = symbols.len();
            assert_eq!(symbols.count(), len);
            if let Some(first) = elf.symbols().unwrap().nth(1) {
                assert_eq!(elf.symbol(first.name).unwrap().unwrap().name, first.name);
            }
        }
        Err(error) => {
            assert_eq!(elf.symbol("_start"), Err(error));
            let _ = format!("{error}");
        }
    }

    match elf.check_loadable(&POLICY) {
        Ok(()) => {
            outcome.loadable = true;
            assert!(matches!(elf.kind(), ElfKind::Executable | ElfKind::SharedObject));
            let bias = elf.load_bias(&POLICY);
            let mut previous_end = 0;
            let mut entry_found = false;
            for segment in elf.load_segments() {
                let header = segment.header;
                assert!(header.mem_size > 0);
                assert!(header.vaddr + bias >= POLICY.user_start);
                let end = header.mem_end().unwrap() + bias;
                assert!(end <= POLICY.user_end);
                assert!(((header.vaddr + bias) & !0xfff) >= previous_end);
                previous_end = (end + 0xfff) & !0xfff;
                assert!(!(header.flags.writable() && header.flags.executable()));
                if header.flags.executable() && (header.vaddr..header.vaddr + header.file_size).contains(&elf.entry()) {
                    entry_found = true;
                }
            }
            assert!(entry_found);
            assert!(elf.program_headers().all(|h| h.kind != PT_INTERP));
        }
        Err(error) => {
            let _ = format!("{error}");
        }
    }
    outcome
}

#[test]
fn exercise_accepts_the_sample() {
    let outcome = exercise(&sample().build().bytes);
    assert!(outcome.parsed && outcome.sections_ok && outcome.symbols_ok && outcome.loadable);
}

#[test]
fn truncation_at_every_length() {
    let built = sample().build();
    let bytes = &built.bytes;
    let elf = Elf::parse(bytes).unwrap();
    let table_end = EHDR_SIZE + elf.program_headers().len() * PHDR_SIZE;
    let segments_end = elf.program_headers().map(|h| (h.offset + h.file_size) as usize).max().unwrap();
    let required = table_end.max(segments_end);
    assert!(required < built.shoff);

    for len in 0..=bytes.len() {
        let truncated = &bytes[..len];
        let result = Elf::parse(truncated);
        if len < EHDR_SIZE {
            assert_eq!(result.unwrap_err(), ElfError::TooShort { len });
        } else if len < table_end {
            assert!(matches!(result.unwrap_err(), ElfError::ProgramHeaderTableOutOfBounds { .. }));
        } else if len < required {
            assert!(matches!(result.unwrap_err(), ElfError::SegmentOutOfBounds { .. }));
        } else {
            let elf = result.unwrap();
            // The section header table is the last thing in the file, so
            // any truncation loses it.
            if len < bytes.len() {
                let error = elf.sections().unwrap_err();
                assert!(matches!(error, ElfError::SectionHeaderTableOutOfBounds { .. }));
                assert_eq!(elf.symbols().unwrap_err(), error);
                // Loading does not need sections.
                assert_eq!(elf.check_loadable(&POLICY), Ok(()));
            } else {
                assert_eq!(elf.sections().unwrap().len(), built.shnum);
            }
        }
        exercise(truncated);
    }
}

#[test]
fn truncation_of_section_contents() {
    // Move the section header table to the front (right after the program
    // headers) so that truncation cuts the section contents instead.
    let built = sample().build();
    let table_size = built.shnum * SHDR_SIZE;
    let shstrtab = Elf::parse(&built.bytes).unwrap().section_by_name(".shstrtab").unwrap().unwrap();
    let contents_end = (shstrtab.offset + shstrtab.size) as usize;
    let mut bytes = built.bytes[..contents_end].to_vec();
    let table: Vec<u8> = built.bytes[built.shoff..].to_vec();
    assert_eq!(table.len(), table_size);
    assert!(contents_end <= built.shoff);
    let gap_start = EHDR_SIZE + 4 * PHDR_SIZE;
    assert!(bytes[gap_start..gap_start + table_size].iter().all(|&b| b == 0));
    bytes[gap_start..gap_start + table_size].copy_from_slice(&table);
    put_u64(&mut bytes, eh::SHOFF, gap_start as u64);
    let elf = Elf::parse(&bytes).unwrap();
    assert_eq!(elf.sections().unwrap().len(), built.shnum);
    assert_eq!(elf.symbols().unwrap().len(), 5);

    let mut sections_ok = 0;
    for len in 0..=bytes.len() {
        let outcome = exercise(&bytes[..len]);
        sections_ok += usize::from(outcome.sections_ok);
        if outcome.sections_ok {
            // Every section's bytes must then be present: .shstrtab is last.
            assert_eq!(len, bytes.len());
        }
    }
    assert_eq!(sections_ok, 1);
}

/// Applies one random corruption to `bytes`.
fn corrupt(rng: &mut XorShift, bytes: &mut [u8], built: &Built) {
    let headers_end = EHDR_SIZE + 4 * PHDR_SIZE;
    let len = bytes.len();
    let at = match rng.below(4) {
        0 => rng.below(len),
        1 => rng.below(headers_end),
        2 => built.shoff + rng.below(len - built.shoff),
        _ => built.symtab_offset + rng.below(built.shoff - built.symtab_offset),
    };
    match rng.below(4) {
        0 => bytes[at] ^= 1 << rng.below(8),
        1 => bytes[at] = rng.next() as u8,
        2 => bytes[at] = [0, 0xff, 0x7f, 0x80][rng.below(4)],
        _ => {
            // An interesting 64-bit value at the 8-aligned position.
            let at = at & !7;
            if at + 8 <= len {
                let values = [0, 1, u64::MAX, u64::MAX - 1, 1 << 63, len as u64, len as u64 - 1, 0x1000, rng.next()];
                let value = values[rng.below(values.len())];
                put_u64(bytes, at, value);
            }
        }
    }
}

#[test]
fn random_corruption_never_panics() {
    let built = sample().build();
    let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
    let mut totals = [0usize; 4];
    for _ in 0..20_000 {
        let mut bytes = built.bytes.clone();
        for _ in 0..=rng.below(4) {
            corrupt(&mut rng, &mut bytes, &built);
        }
        let outcome = exercise(&bytes);
        totals[0] += usize::from(outcome.parsed);
        totals[1] += usize::from(outcome.sections_ok);
        totals[2] += usize::from(outcome.symbols_ok);
        totals[3] += usize::from(outcome.loadable);
    }
    // The corruptions exercise every level: some files fail each check,
    // some get through all of them.
    for total in totals {
        assert!(total > 100 && total < 20_000, "{totals:?}");
    }
}

#[test]
fn random_headers_never_panic() {
    // Short files of random bytes, usually with a valid identification so
    // that the header and table checks get exercised.
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let mut parsed = 0;
    for _ in 0..20_000 {
        let len = rng.below(EHDR_SIZE + 3 * PHDR_SIZE + 64);
        let mut bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        if len >= EHDR_SIZE && rng.below(8) != 0 {
            bytes[..4].copy_from_slice(&ELF_MAGIC);
            bytes[eh::IDENT_CLASS] = ELFCLASS64;
            bytes[eh::IDENT_DATA] = ELFDATA2LSB;
            bytes[eh::IDENT_VERSION] = EV_CURRENT;
            put_u32(&mut bytes, eh::VERSION, 1);
            put_u16(&mut bytes, eh::MACHINE, EM_X86_64);
            put_u16(&mut bytes, eh::EHSIZE, EHDR_SIZE as u16);
            put_u16(&mut bytes, eh::PHENTSIZE, PHDR_SIZE as u16);
            put_u16(&mut bytes, eh::PHNUM, rng.below(4) as u16);
            put_u64(&mut bytes, eh::PHOFF, rng.below(len) as u64);
            put_u16(&mut bytes, eh::SHENTSIZE, SHDR_SIZE as u16);
            put_u16(&mut bytes, eh::SHNUM, rng.below(3) as u16);
            put_u64(&mut bytes, eh::SHOFF, rng.below(len) as u64);
            put_u16(&mut bytes, eh::SHSTRNDX, rng.below(3) as u16);
        }
        parsed += usize::from(exercise(&bytes).parsed);
    }
    assert!(parsed > 100, "{parsed}");
}

#[test]
fn all_zero_and_all_ones_files() {
    for len in [0, 1, 63, 64, 65, 4096] {
        for byte in [0x00, 0xff] {
            assert!(!exercise(&vec![byte; len]).parsed);
        }
    }
}
