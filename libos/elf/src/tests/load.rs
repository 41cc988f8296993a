//! `Elf::check_loadable`.

use std::vec;
use std::vec::Vec;

use super::builder::*;
use crate::*;

/// A static executable with just these segments, entry at `TEXT`.
fn exec(segments: Vec<Seg>) -> Vec<u8> {
    ElfBuilder::new(ET_EXEC, TEXT, segments).build().bytes
}

/// Text at `TEXT`, read-write data at `vaddr` with the given sizes.
fn text_and(vaddr: u64, file_size: usize, mem_size: u64, flags: u32) -> Vec<u8> {
    exec(vec![Seg::load(R | X, TEXT, 0x80, 0x80), Seg::load(flags, vaddr, file_size, mem_size)])
}

fn check(bytes: &[u8], policy: &LoadPolicy) -> Result<(), ElfError> {
    Elf::parse(bytes).unwrap().check_loadable(policy)
}

#[test]
fn sample_is_loadable() {
    check(&sample().build().bytes, &POLICY).unwrap();
    // Also without sections, and with a minimal single text segment.
    let mut builder = sample();
    builder.sections.clear();
    builder.symbols = None;
    check(&builder.build().bytes, &POLICY).unwrap();
    check(&exec(vec![Seg::load(R | X, TEXT, 0x80, 0x80)]), &POLICY).unwrap();
}

#[test]
fn bad_policy() {
    let bytes = sample().build().bytes;
    for (user_start, user_end, page_size) in [
        (0x1000, 0x8000_0000_0000, 0),
        (0x1000, 0x8000_0000_0000, 3000),
        (0x1000, 0x1000, 0x1000),
        (0x2000, 0x1000, 0x1000),
    ] {
        let policy = LoadPolicy { user_start, user_end, page_size, max_segments: 16, dyn_base: 0 };
        let expected = ElfError::BadLoadPolicy { user_start, user_end, page_size };
        assert_eq!(check(&bytes, &policy), Err(expected));
    }
}

#[test]
fn must_be_et_exec_or_et_dyn() {
    for kind in [ET_NONE, ET_REL, ET_CORE, 0xfe00] {
        let mut builder = sample();
        builder.kind = kind;
        let error = check(&builder.build().bytes, &POLICY).unwrap_err();
        assert_eq!(error, ElfError::NotExecutable { kind });
        assert!(std::format!("{error}").starts_with("not a static executable"));
    }
}

#[test]
fn no_interpreter_or_dynamic_section() {
    let mut builder = sample();
    let mut interp = Seg::empty(PT_INTERP, R);
    interp.data = b"/lib64/ld-linux-x86-64.so.2\0".to_vec();
    interp.align = 1;
    builder.segments.insert(1, interp);
    let error = check(&builder.build().bytes, &POLICY).unwrap_err();
    assert_eq!(error, ElfError::HasInterpreter { index: 1 });
    assert!(std::format!("{error}").starts_with("not a static executable"));
    let bytes = builder.build().bytes;
    assert_eq!(Elf::parse(&bytes).unwrap().interpreter(), Some(&b"/lib64/ld-linux-x86-64.so.2"[..]));
    assert_eq!(Elf::parse(&sample().build().bytes).unwrap().interpreter(), None);

    // A PT_DYNAMIC alone (a static PIE relocates itself with it) is fine.
    let mut builder = sample();
    builder.segments.push(Seg::empty(PT_DYNAMIC, R | W));
    check(&builder.build().bytes, &POLICY).unwrap();
}

/// A static PIE: the sample moved to address 0, as a linker makes it.
fn static_pie() -> ElfBuilder {
    let mut builder = sample();
    builder.kind = ET_DYN;
    builder.sections.clear();
    builder.symbols = None;
    for seg in &mut builder.segments {
        if seg.kind == PT_LOAD {
            seg.vaddr -= RODATA;
        }
    }
    builder.entry = TEXT - RODATA;
    builder
}

#[test]
fn static_pie_goes_to_the_policy_base() {
    let bytes = static_pie().build().bytes;
    let elf = Elf::parse(&bytes).unwrap();
    elf.check_loadable(&POLICY).unwrap();
    assert_eq!(elf.load_bias(&POLICY), DYN_BASE);
    // A PIE linked at a non-zero address moves by the difference.
    let bytes = ElfBuilder { kind: ET_DYN, ..sample() }.build().bytes;
    let elf = Elf::parse(&bytes).unwrap();
    elf.check_loadable(&POLICY).unwrap();
    assert_eq!(elf.load_bias(&POLICY), DYN_BASE - RODATA);
    // An ET_EXEC stays where it is linked.
    assert_eq!(Elf::parse(&sample().build().bytes).unwrap().load_bias(&POLICY), 0);
}

#[test]
fn static_pie_must_fit_at_the_base() {
    let bytes = static_pie().build().bytes;
    // The base leaves no room for the segments below the end of user space.
    let policy = LoadPolicy { dyn_base: 0x7fff_ffff_e000, ..POLICY };
    assert!(matches!(check(&bytes, &policy), Err(ElfError::SegmentOutsideUserRange { .. })));
    // Near the top of the address space the biased end overflows.
    let policy = LoadPolicy { user_end: u64::MAX, dyn_base: !0xfff, ..POLICY };
    assert!(matches!(check(&bytes, &policy), Err(ElfError::SegmentOutsideUserRange { .. })));
    // Below the user range.
    let policy = LoadPolicy { dyn_base: 0x1000, ..POLICY };
    assert!(matches!(check(&bytes, &policy), Err(ElfError::SegmentOutsideUserRange { .. })));
    // An unaligned base is a bad policy.
    let policy = LoadPolicy { dyn_base: DYN_BASE + 8, ..POLICY };
    assert!(matches!(check(&bytes, &policy), Err(ElfError::BadLoadPolicy { .. })));
}

#[test]
fn tls_relro_and_stack_headers() {
    // PT_TLS inside the data segment's file part, PT_GNU_RELRO over its
    // start: accepted, and the template is found.
    let mut builder = sample();
    let mut tls = Seg::empty(PT_TLS, R);
    tls.vaddr = DATA;
    tls.data = vec![0; 0x10];
    tls.mem_size = 0x40;
    tls.align = 8;
    builder.segments.push(tls);
    let mut relro = Seg::empty(PT_GNU_RELRO, R);
    relro.vaddr = DATA;
    relro.data = vec![0; 0x10];
    relro.align = 1;
    builder.segments.push(relro);
    let built = builder.build();
    let elf = Elf::parse(&built.bytes).unwrap();
    elf.check_loadable(&POLICY).unwrap();
    let template = elf.tls().unwrap();
    assert_eq!((template.vaddr, template.file_size, template.mem_size), (DATA, 0x10, 0x40));

    // A template outside every loadable segment is refused.
    let mut builder = sample();
    let mut tls = Seg::empty(PT_TLS, R);
    tls.vaddr = 0x70_0000;
    tls.data = vec![0; 0x10];
    tls.mem_size = 0x10;
    builder.segments.push(tls);
    let error = check(&builder.build().bytes, &POLICY).unwrap_err();
    assert_eq!(error, ElfError::TlsOutsideLoad { index: 4, vaddr: 0x70_0000, file_size: 0x10 });

    // An executable stack is refused (W^X), a non-executable one accepted.
    let mut builder = sample();
    builder.segments[3] = Seg::empty(PT_GNU_STACK, R | W | X);
    assert_eq!(check(&builder.build().bytes, &POLICY), Err(ElfError::WritableAndExecutable { index: 3 }));
}

#[test]
fn writable_and_executable_rejected() {
    let bytes = text_and(DATA, 0x20, 0x100, R | W | X);
    assert_eq!(check(&bytes, &POLICY), Err(ElfError::WritableAndExecutable { index: 1 }));
    let bytes = exec(vec![Seg::load(W | X, TEXT, 0x80, 0x80)]);
    assert_eq!(check(&bytes, &POLICY), Err(ElfError::WritableAndExecutable { index: 0 }));
    // An executable stack is rejected too.
    let mut builder = sample();
    builder.segments[3].flags = R | W | X;
    let bytes = builder.build().bytes;
    assert_eq!(check(&bytes, &POLICY), Err(ElfError::WritableAndExecutable { index: 3 }));
}

#[test]
fn needs_load_segments() {
    let bytes = exec(vec![Seg::empty(PT_GNU_STACK, R | W)]);
    assert_eq!(check(&bytes, &POLICY), Err(ElfError::NoLoadSegments));
    let bytes = exec(vec![]);
    assert_eq!(check(&bytes, &POLICY), Err(ElfError::NoLoadSegments));
}

#[test]
fn too_many_load_segments() {
    let bytes = sample().build().bytes;
    let policy = LoadPolicy { max_segments: 2, ..POLICY };
    assert_eq!(check(&bytes, &policy), Err(ElfError::TooManyLoadSegments { count: 3, max: 2 }));
    let policy = LoadPolicy { max_segments: 3, ..POLICY };
    assert_eq!(check(&bytes, &policy), Ok(()));
}

#[test]
fn empty_load_segment_rejected() {
    let bytes = text_and(DATA, 0, 0, R | W);
    assert_eq!(check(&bytes, &POLICY), Err(ElfError::EmptySegment { index: 1 }));
}

#[test]
fn segments_outside_user_range() {
    let outside = |index, vaddr, mem_size, policy: &LoadPolicy| ElfError::SegmentOutsideUserRange {
        index,
        vaddr,
        mem_size,
        user_start: policy.user_start,
        user_end: policy.user_end,
    };
    let policy = LoadPolicy { user_start: 0x40_0000, user_end: 0x50_0000, ..POLICY };
    // Below the start.
    let bytes = exec(vec![Seg::load(R, 0x3f_f000, 0x10, 0x10), Seg::load(R | X, TEXT, 0x80, 0x80)]);
    assert_eq!(check(&bytes, &policy), Err(outside(0, 0x3f_f000, 0x10, &policy)));
    // Starting in the page below the start.
    let bytes = exec(vec![Seg::load(R, 0x3f_fff0, 0x20, 0x20), Seg::load(R | X, TEXT, 0x80, 0x80)]);
    assert_eq!(check(&bytes, &policy), Err(outside(0, 0x3f_fff0, 0x20, &policy)));
    // Running past the end (by bss).
    let bytes = text_and(0x4f_f000, 0x10, 0x1001, R | W);
    assert_eq!(check(&bytes, &policy), Err(outside(1, 0x4f_f000, 0x1001, &policy)));
    // Ending in the last page, not page-aligned: its page still fits.
    let bytes = text_and(0x4f_f000, 0x10, 0xff0, R | W);
    assert_eq!(check(&bytes, &policy), Ok(()));
    // Ending exactly at the end.
    let bytes = text_and(0x4f_f000, 0x10, 0x1000, R | W);
    assert_eq!(check(&bytes, &policy), Ok(()));
    // Entirely above.
    let bytes = text_and(0x60_0000, 0x10, 0x10, R | W);
    assert_eq!(check(&bytes, &policy), Err(outside(1, 0x60_0000, 0x10, &policy)));
    // A huge bss.
    let bytes = text_and(DATA, 0x10, 1 << 62, R | W);
    assert_eq!(check(&bytes, &policy), Err(outside(1, DATA, 1 << 62, &policy)));
}

#[test]
fn user_range_at_the_top_of_the_address_space() {
    // The end of the segment fits in a u64 but rounding it up to a page
    // does not.
    let policy = LoadPolicy { user_start: 0x1000, user_end: u64::MAX, ..POLICY };
    let mut top = Seg::load(R, u64::MAX - 0xfff, 0x10, 0x10);
    top.align = 0;
    let bytes = exec(vec![Seg::load(R | X, TEXT, 0x80, 0x80), top]);
    let expected = ElfError::SegmentOutsideUserRange {
        index: 1,
        vaddr: u64::MAX - 0xfff,
        mem_size: 0x10,
        user_start: 0x1000,
        user_end: u64::MAX,
    };
    assert_eq!(check(&bytes, &policy), Err(expected));
    // The page below the last one is fine.
    let bytes = text_and(u64::MAX - 0x1fff, 0x10, 0x1000, R);
    assert_eq!(check(&bytes, &policy), Ok(()));
}

#[test]
fn segments_must_be_sorted() {
    let bytes = exec(vec![Seg::load(R | X, TEXT, 0x80, 0x80), Seg::load(R, RODATA, 0x10, 0x10)]);
    let expected = ElfError::SegmentsNotSorted { previous: 0, previous_vaddr: TEXT, index: 1, vaddr: RODATA };
    assert_eq!(check(&bytes, &POLICY), Err(expected));
}

#[test]
fn segments_must_not_overlap_or_share_a_page() {
    let share = |page| Err(ElfError::SegmentsSharePage { first: 0, second: 1, page });
    // Overlapping bytes.
    let bytes = text_and(TEXT + 0x40, 0x10, 0x10, R);
    assert_eq!(check(&bytes, &POLICY), share(TEXT));
    // Same start.
    let bytes = text_and(TEXT, 0x10, 0x10, R);
    assert_eq!(check(&bytes, &POLICY), share(TEXT));
    // Disjoint bytes in the same page.
    let bytes = text_and(TEXT + 0x800, 0x10, 0x10, R | W);
    assert_eq!(check(&bytes, &POLICY), share(TEXT));
    // The first segment's bss runs into the second's page.
    let bytes = exec(vec![Seg::load(R | X, TEXT, 0x80, 0x1001), Seg::load(R, TEXT + 0x1800, 0x10, 0x10)]);
    assert_eq!(check(&bytes, &POLICY), share(TEXT + 0x1000));
    // Back to back on a page boundary is fine.
    let bytes = exec(vec![Seg::load(R | X, TEXT, 0x80, 0x1000), Seg::load(R, TEXT + 0x1000, 0x10, 0x10)]);
    assert_eq!(check(&bytes, &POLICY), Ok(()));
    // With a gap of unmapped pages too.
    let bytes = text_and(TEXT + 0x10_0000, 0x10, 0x10, R);
    assert_eq!(check(&bytes, &POLICY), Ok(()));
    // Only neighbouring segments are compared, but sorting makes that enough:
    // the third overlaps the first and is below the second.
    let bytes = exec(vec![
        Seg::load(R | X, TEXT, 0x80, 0x80),
        Seg::load(R, TEXT + 0x2000, 0x10, 0x10),
        Seg::load(R, TEXT + 0x10, 0x10, 0x10),
    ]);
    assert!(matches!(check(&bytes, &POLICY), Err(ElfError::SegmentsNotSorted { index: 2, .. })));
}

#[test]
fn entry_must_be_in_an_executable_segment() {
    let with_entry = |entry| {
        let mut builder = sample();
        builder.entry = entry;
        builder.build().bytes
    };
    let not_exec = |entry| Err(ElfError::EntryNotExecutable { entry });
    // In read-only data, in writable data, in bss, outside every segment.
    for entry in [RODATA, RODATA + 0x10, DATA, DATA + 0x100, 0, TEXT - 1, u64::MAX] {
        assert_eq!(check(&with_entry(entry), &POLICY), not_exec(entry), "entry {entry:#x}");
    }
    // Past the end of the text bytes.
    assert_eq!(check(&with_entry(TEXT + 0x80), &POLICY), not_exec(TEXT + 0x80));
    // Anywhere in the text bytes is fine.
    for entry in [TEXT, TEXT + 1, TEXT + 0x7f] {
        assert_eq!(check(&with_entry(entry), &POLICY), Ok(()));
    }
    // In the zero-filled tail of an executable segment: rejected.
    let mut builder = ElfBuilder::new(ET_EXEC, TEXT + 0x90, vec![Seg::load(R | X, TEXT, 0x80, 0x100)]);
    assert_eq!(check(&builder.build().bytes, &POLICY), not_exec(TEXT + 0x90));
    builder.entry = TEXT + 0x7f;
    assert_eq!(check(&builder.build().bytes, &POLICY), Ok(()));
}

#[test]
fn checks_come_in_a_documented_order() {
    // W^X is found before the page overlap between the same segments.
    let bytes = text_and(TEXT, 0x10, 0x10, R | W | X);
    assert_eq!(check(&bytes, &POLICY), Err(ElfError::WritableAndExecutable { index: 1 }));
    // The type is checked before anything about segments.
    let mut builder = ElfBuilder::new(ET_REL, 0, vec![]);
    assert_eq!(check(&builder.build().bytes, &POLICY), Err(ElfError::NotExecutable { kind: ET_REL }));
    builder.kind = ET_EXEC;
    assert_eq!(check(&builder.build().bytes, &POLICY), Err(ElfError::NoLoadSegments));
}
