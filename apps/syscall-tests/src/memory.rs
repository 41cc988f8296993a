//! brk, mmap, munmap and mprotect, and the heap on top of them.

use libos::__private::abi::abi_types::{
    MAP_ANONYMOUS, MAP_FIXED, MAP_FIXED_NOREPLACE, MAP_PRIVATE, MAP_SHARED, PROT_NONE, PROT_READ, PROT_WRITE,
};
use libos::Errno;
use libos::prelude::*;
use libos::sys;

const RW: i32 = PROT_READ | PROT_WRITE;
const ANON: i32 = MAP_PRIVATE | MAP_ANONYMOUS;

fn map(len: usize) -> usize {
    // SAFETY: a fresh anonymous mapping.
    unsafe { sys::mmap(0, len, RW, ANON, -1, 0) }.expect("mmap")
}

#[libos::test]
fn anonymous_memory_is_zeroed_and_usable() {
    let len = 64 * 4096 + 17;
    let addr = map(len);
    assert_eq!(addr % 4096, 0);
    // SAFETY: the mapping is ours, `len` bytes.
    let bytes = unsafe { core::slice::from_raw_parts_mut(addr as *mut u8, len) };
    assert!(bytes.iter().all(|&b| b == 0), "fresh memory is not zero");
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = (i % 251) as u8;
    }
    assert!(bytes.iter().enumerate().all(|(i, &b)| b == (i % 251) as u8));
    // SAFETY: unmapping our own mapping, not used afterwards.
    unsafe { sys::munmap(addr, len) }.unwrap();
}

#[libos::test]
fn mappings_do_not_overlap() {
    let mut maps: Vec<(usize, usize)> = (1..20).map(|i| (map(i * 4096), i * 4096)).collect();
    maps.sort();
    for w in maps.windows(2) {
        assert!(w[0].0 + w[0].1 <= w[1].0, "{:#x}+{:#x} overlaps {:#x}", w[0].0, w[0].1, w[1].0);
    }
}

#[libos::test]
fn bad_mmap_arguments() {
    // SAFETY: each call is refused before it maps anything.
    unsafe {
        assert_eq!(sys::mmap(0, 0, RW, ANON, -1, 0), Err(Errno::EINVAL));
        assert_eq!(sys::mmap(0, 4096, 0xFF, ANON, -1, 0), Err(Errno::EINVAL));
        assert_eq!(sys::mmap(0, 4096, RW, MAP_ANONYMOUS, -1, 0), Err(Errno::EINVAL));
        assert_eq!(sys::mmap(0, 4096, RW, MAP_SHARED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), Err(Errno::EINVAL));
        assert_eq!(sys::mmap(0, 4096, RW, MAP_PRIVATE, -1, 0), Err(Errno::EBADF));
        assert_eq!(sys::mmap(0, 1 << 50, RW, ANON, -1, 0), Err(Errno::ENOMEM));
        assert_eq!(sys::mmap(0, usize::MAX, RW, ANON, -1, 0), Err(Errno::ENOMEM));
        assert_eq!(sys::mmap(0x1001, 4096, RW, ANON | MAP_FIXED, -1, 0), Err(Errno::EINVAL));
        assert_eq!(sys::mmap(0xffff_8000_0000_0000, 4096, RW, ANON | MAP_FIXED, -1, 0), Err(Errno::ENOMEM));
        assert_eq!(sys::munmap(0x1001, 4096), Err(Errno::EINVAL));
        assert_eq!(sys::munmap(0x10_0000, 0), Err(Errno::EINVAL));
        assert_eq!(sys::mprotect(0x0000_2000_0000_0000, 4096, PROT_READ), Err(Errno::ENOMEM));
        assert_eq!(sys::mprotect(0x1001, 4096, PROT_READ), Err(Errno::EINVAL));
    }
}

#[libos::test]
fn fixed_mappings_replace_and_noreplace_refuses() {
    let addr = map(3 * 4096);
    // SAFETY: our mapping.
    unsafe { (addr as *mut u64).write(42) };
    // SAFETY: replacing our own mapping in place.
    unsafe {
        assert_eq!(sys::mmap(addr, 4096, RW, ANON | MAP_FIXED_NOREPLACE, -1, 0), Err(Errno::EEXIST));
        assert_eq!(sys::mmap(addr, 4096, RW, ANON | MAP_FIXED, -1, 0), Ok(addr));
        assert_eq!((addr as *const u64).read(), 0, "MAP_FIXED must give fresh memory");
    }
}

#[libos::test]
fn mprotect_read_only_keeps_contents() {
    let addr = map(4096);
    // SAFETY: our mapping.
    unsafe { (addr as *mut u64).write(7) };
    // SAFETY: our mapping; only read afterwards.
    unsafe { sys::mprotect(addr, 4096, PROT_READ) }.unwrap();
    // SAFETY: still mapped, readable.
    assert_eq!(unsafe { (addr as *const u64).read() }, 7);
}

#[libos::test]
fn brk_grows_and_shrinks() {
    // SAFETY: the test moves the break only above the heap's own use of it
    // and puts it back.
    unsafe {
        let start = sys::brk(0).unwrap();
        let grown = sys::brk(start + (1 << 20)).unwrap();
        assert_eq!(grown, start + (1 << 20));
        ((start + 4096) as *mut u64).write(99);
        assert_eq!(((start + 4096) as *const u64).read(), 99);
        assert_eq!(sys::brk(start).unwrap(), start);
        // An impossible break leaves it where it was.
        assert_eq!(sys::brk(0xffff_8000_0000_0000).unwrap(), start);
        assert_eq!(sys::brk(1).unwrap(), start);
    }
}

#[libos::test]
fn the_heap_handles_many_sizes() {
    let mut map = BTreeMap::new();
    for i in 0..5000u32 {
        map.insert(i, format!("value {i}"));
    }
    assert_eq!(map.get(&4242).map(String::as_str), Some("value 4242"));
    let big: Vec<u8> = vec![0xAB; 16 << 20];
    assert!(big.iter().all(|&b| b == 0xAB));
    let boxed: Vec<Box<[u64; 32]>> = (0..1000).map(|i| Box::new([i; 32])).collect();
    assert_eq!(boxed[999][31], 999);
}

/// Marks each page of `[addr, addr + pages * 4096)` with words derived
/// from `seed` and the page (two words a page, at both halves).
fn fill(addr: usize, pages: usize, seed: u64) {
    for p in 0..pages {
        for half in [0, 2048] {
            // SAFETY: the caller's mapping, writable.
            unsafe { ((addr + p * 4096 + half) as *mut u64).write_volatile(seed ^ (p as u64) << 8 ^ half as u64) };
        }
    }
}

/// Checks the marks of [`fill`] on pages `range` of the mapping at `addr`.
fn check(addr: usize, range: core::ops::Range<usize>, seed: u64, what: &str) {
    for p in range {
        for half in [0, 2048] {
            // SAFETY: the caller's mapping, readable.
            let got = unsafe { ((addr + p * 4096 + half) as *const u64).read_volatile() };
            assert_eq!(got, seed ^ (p as u64) << 8 ^ half as u64, "{what}: page {p} lost its contents");
        }
    }
}

/// Linux keeps a page's contents across any protection change, PROT_NONE
/// included (NONE then RW once read back zeros here).
#[libos::test]
fn mprotect_none_and_back_keeps_contents() {
    let addr = map(8 * 4096);
    fill(addr, 8, 0x5eed);
    // SAFETY: our mapping; not touched while it is PROT_NONE.
    unsafe {
        sys::mprotect(addr, 8 * 4096, PROT_NONE).unwrap();
        sys::mprotect(addr, 8 * 4096, PROT_READ).unwrap();
    }
    check(addr, 0..8, 0x5eed, "NONE then READ");
    // SAFETY: as above.
    unsafe {
        sys::mprotect(addr, 8 * 4096, PROT_NONE).unwrap();
        sys::mprotect(addr, 8 * 4096, RW).unwrap();
    }
    check(addr, 0..8, 0x5eed, "NONE then RW");
    fill(addr, 8, 0xbeef);
    check(addr, 0..8, 0xbeef, "written after RW");
    // SAFETY: our mapping.
    unsafe { sys::munmap(addr, 8 * 4096) }.unwrap();
}

/// An mprotect of part of a mapping splits it; every piece keeps its pages.
#[libos::test]
fn partial_mprotect_keeps_contents_of_every_piece() {
    let addr = map(16 * 4096);
    fill(addr, 16, 0x1234);
    // SAFETY: our mapping; the NONE pages are not touched until RW again.
    unsafe {
        sys::mprotect(addr + 3 * 4096, 2 * 4096, PROT_NONE).unwrap();
        sys::mprotect(addr + 9 * 4096, 4096, PROT_READ).unwrap();
        sys::mprotect(addr + 12 * 4096, 4 * 4096, PROT_NONE).unwrap();
    }
    check(addr, 0..3, 0x1234, "before the first NONE piece");
    check(addr, 5..12, 0x1234, "between the pieces");
    // SAFETY: as above.
    unsafe { sys::mprotect(addr, 16 * 4096, RW) }.unwrap();
    check(addr, 0..16, 0x1234, "after the pieces are RW again");
    // SAFETY: our mapping.
    unsafe { sys::munmap(addr, 16 * 4096) }.unwrap();
}

/// munmap of some pages, or of a neighbouring mapping, leaves the rest.
#[libos::test]
fn munmap_keeps_contents_of_the_rest_and_of_neighbours() {
    let addr = map(12 * 4096);
    fill(addr, 12, 0x77);
    // SAFETY: pages of our mapping, not used afterwards.
    unsafe { sys::munmap(addr + 4 * 4096, 4 * 4096) }.unwrap();
    check(addr, 0..4, 0x77, "below the hole");
    check(addr, 8..12, 0x77, "above the hole");
    // A neighbour placed right above, then unmapped.
    // SAFETY: a fresh mapping that replaces nothing.
    let next = unsafe { sys::mmap(addr + 12 * 4096, 4096, RW, ANON | MAP_FIXED_NOREPLACE, -1, 0) };
    if let Ok(next) = next {
        fill(next, 1, 0x99);
        // SAFETY: our mapping.
        unsafe { sys::munmap(next, 4096) }.unwrap();
    }
    check(addr, 8..12, 0x77, "after the neighbour went");
    // SAFETY: our mapping.
    unsafe { sys::munmap(addr, 12 * 4096) }.unwrap();
}

/// MAP_FIXED over part of a mapping gives fresh pages there only.
#[libos::test]
fn map_fixed_keeps_contents_around_it() {
    let addr = map(8 * 4096);
    fill(addr, 8, 0xf1);
    // SAFETY: replacing pages of our own mapping that nothing uses.
    let at = unsafe { sys::mmap(addr + 2 * 4096, 3 * 4096, RW, ANON | MAP_FIXED, -1, 0) }.unwrap();
    assert_eq!(at, addr + 2 * 4096);
    check(addr, 0..2, 0xf1, "below the fixed mapping");
    check(addr, 5..8, 0xf1, "above the fixed mapping");
    // SAFETY: the fresh pages, ours.
    let fresh = unsafe { core::slice::from_raw_parts(at as *const u8, 3 * 4096) };
    assert!(fresh.iter().all(|&b| b == 0), "MAP_FIXED must give fresh memory");
    // SAFETY: our mapping.
    unsafe { sys::munmap(addr, 8 * 4096) }.unwrap();
}

/// Shrinking and growing the break changes only the pages above the new
/// break: the ones below keep their contents; regrown ones are zero.
#[libos::test]
fn brk_shrink_and_grow_keep_the_pages_below() {
    // SAFETY: the test moves the break only above the heap's own use of it
    // and puts it back.
    unsafe {
        let start = sys::brk(0).unwrap().next_multiple_of(4096);
        assert_eq!(sys::brk(start + 16 * 4096).unwrap(), start + 16 * 4096);
        fill(start, 16, 0xb7);
        assert_eq!(sys::brk(start + 4 * 4096).unwrap(), start + 4 * 4096);
        check(start, 0..4, 0xb7, "below the shrunk break");
        assert_eq!(sys::brk(start + 16 * 4096).unwrap(), start + 16 * 4096);
        check(start, 0..4, 0xb7, "below the regrown break");
        let regrown = core::slice::from_raw_parts((start + 4 * 4096) as *const u8, 12 * 4096);
        assert!(regrown.iter().all(|&b| b == 0), "regrown break pages must be zero");
        assert_eq!(sys::brk(start).unwrap(), start);
    }
}

/// Numbers near 2^64 as hints, lengths and ranges get Linux's answers,
/// never an overflow in the kernel (a debug kernel panicked on
/// `mmap(2^64 - 1, ...)` once).
#[libos::test]
fn extreme_numbers_in_memory_calls() {
    let top = 0x7fff_ffff_f000usize;
    for hint in [usize::MAX, usize::MAX - 4095, usize::MAX - 4096, 1 << 63, top, top - 1, 0x7fff_ffff_e001] {
        // SAFETY: a fresh mapping; the hint is only a hint.
        let addr = unsafe { sys::mmap(hint, 4096, RW, ANON, -1, 0) }.expect("a hinted mmap");
        assert!(addr >= 0x1000 && addr + 4096 <= top, "hint {hint:#x} gave {addr:#x}");
        // SAFETY: our mapping.
        unsafe { sys::munmap(addr, 4096) }.unwrap();
    }
    // SAFETY: every call is refused before it changes anything.
    unsafe {
        assert_eq!(sys::mmap(usize::MAX - 4095, usize::MAX - 4095, RW, ANON, -1, 0), Err(Errno::ENOMEM));
        assert_eq!(sys::mmap(usize::MAX - 4095, 4096, RW, ANON | MAP_FIXED, -1, 0), Err(Errno::ENOMEM));
        assert_eq!(sys::mmap(top - 4096, 8192, RW, ANON | MAP_FIXED, -1, 0), Err(Errno::ENOMEM));
        assert_eq!(sys::munmap(usize::MAX - 4095, 4096), Err(Errno::EINVAL));
        assert_eq!(sys::munmap(0x1000, usize::MAX), Err(Errno::EINVAL));
        assert_eq!(sys::munmap(0x1000, usize::MAX - 4095), Err(Errno::EINVAL));
        assert_eq!(sys::mprotect(0x1000, usize::MAX, PROT_READ), Err(Errno::ENOMEM));
        assert_eq!(sys::mprotect(usize::MAX - 4095, 4096, PROT_READ), Err(Errno::ENOMEM));
        let brk = sys::brk(0).unwrap();
        assert_eq!(sys::brk(usize::MAX).unwrap(), brk);
        assert_eq!(sys::brk(top).unwrap(), brk);
    }
}

/// munmap and mprotect cost what is mapped, not the size of the range: a
/// 1 TiB and a 64 TiB mapping are made, touched, protected and unmapped in
/// well under the bound (a page-by-page walk took 26 s for 1 TiB).
#[libos::test]
fn huge_ranges_are_quick_to_protect_and_unmap() {
    const TIB: usize = 1 << 40;
    let started = libos::time::Instant::now();
    // SAFETY: fresh mappings (the 64 TiB one where nothing may be yet).
    unsafe {
        let small = sys::mmap(0, TIB, RW, ANON, -1, 0).expect("1 TiB of address space");
        let big = sys::mmap(16 * TIB, 64 * TIB, RW, ANON | MAP_FIXED_NOREPLACE, -1, 0).expect("64 TiB at 16 TiB");
        for (addr, len) in [(small, TIB), (big, 64 * TIB)] {
            let pages = [addr, addr + len / 2, addr + len - 4096];
            for &p in &pages {
                fill(p, 1, p as u64);
            }
            sys::mprotect(addr, len, PROT_NONE).unwrap();
            sys::mprotect(addr, len, PROT_READ).unwrap();
            for &p in &pages {
                check(p, 0..1, p as u64, "after NONE and READ over the whole range");
            }
            sys::munmap(addr, len).unwrap();
        }
        // Unmapping nothing over the whole range is quick as well.
        sys::munmap(16 * TIB, 64 * TIB).unwrap();
    }
    let took = started.elapsed();
    println!("1 TiB and 64 TiB mapped, protected twice and unmapped in {took:?}");
    assert!(took.as_secs() < 5, "huge munmap/mprotect took {took:?}");
}

/// The region limit is Linux's vm.max_map_count (65530); it stops growth
/// (a new mapping, an mprotect that splits) with ENOMEM, never removal: at
/// the limit a thread's stack is still freed, a munmap that splits works,
/// and everything can be unmapped.
#[libos::test]
fn the_region_limit_stops_growth_never_removal() {
    let go = libos::sync::Arc::new(core::sync::atomic::AtomicBool::new(false));
    let waiting = go.clone();
    let helper = libos::thread::spawn(move || {
        while !waiting.load(core::sync::atomic::Ordering::Acquire) {
            libos::thread::yield_now();
        }
    });
    // About 33 000 calls: minutes under Bochs with more than one CPU (it
    // emulates them in turn, and its clock counts instructions, so the app
    // cannot time itself); QEMU's runs and one-CPU Bochs runs do it.
    if libos::cpu::count() > 1 && !cpu_brand_is_qemu() {
        libos::testing::skip("65 530 regions take minutes under this emulator with several CPUs");
    }
    let pages = 70_000;
    let addr = map(pages * 4096);
    // Every other page read-only: two more regions each, until refused.
    let mut page = 1;
    loop {
        assert!(page < pages, "no region limit after {page} splits");
        // SAFETY: our mapping; the pages are only read afterwards.
        match unsafe { sys::mprotect(addr + page * 4096, 4096, PROT_READ) } {
            Ok(()) => page += 2,
            Err(Errno::ENOMEM) => break,
            Err(e) => panic!("mprotect: {e:?}"),
        }
    }
    assert!(page > 65_000, "the limit came after only {page} pages");
    // Fill up to the limit exactly with single pages.
    let mut extra = Vec::with_capacity(8);
    loop {
        // SAFETY: a fresh mapping.
        match unsafe { sys::mmap(0, 4096, RW, ANON, -1, 0) } {
            Ok(a) => extra.push(a),
            Err(Errno::ENOMEM) => break,
            Err(e) => panic!("mmap: {e:?}"),
        }
        assert!(extra.len() < 4, "mmap goes on past the limit");
    }
    // A split by mprotect is growth: refused.
    // SAFETY: as above.
    assert_eq!(unsafe { sys::mprotect(addr + (pages - 100) * 4096, 4096, PROT_READ) }, Err(Errno::ENOMEM));
    // Removal: a thread's stack, a split, everything.
    go.store(true, core::sync::atomic::Ordering::Release);
    helper.join().unwrap();
    // SAFETY: pages of our mapping, not used afterwards.
    unsafe {
        sys::munmap(addr + (pages - 50) * 4096, 4096).expect("a munmap that splits at the limit");
        sys::munmap(addr, pages * 4096).expect("munmap of everything at the limit");
        for a in extra {
            sys::munmap(a, 4096).unwrap();
        }
    }
    let again = map(4096);
    // SAFETY: our mapping.
    unsafe { sys::munmap(again, 4096) }.unwrap();
}

/// MAP_SHARED|MAP_ANONYMOUS is memory shared by the app's threads (there
/// is no fork, so it behaves as Linux's within one process).
#[libos::test]
fn shared_anonymous_memory_is_seen_by_every_thread() {
    // SAFETY: a fresh mapping.
    let addr = unsafe { sys::mmap(0, 4096, RW, MAP_SHARED | MAP_ANONYMOUS, -1, 0) }.expect("MAP_SHARED");
    // SAFETY: our mapping.
    unsafe { (addr as *mut u64).write_volatile(5) };
    let seen = libos::thread::spawn(move || {
        // SAFETY: the mapping lives until the join below.
        let v = unsafe { (addr as *const u64).read_volatile() };
        // SAFETY: as above.
        unsafe { (addr as *mut u64).add(1).write_volatile(v + 1) };
        v
    })
    .join()
    .unwrap();
    assert_eq!(seen, 5);
    // SAFETY: our mapping.
    assert_eq!(unsafe { (addr as *const u64).add(1).read_volatile() }, 6);
    // SAFETY: our mapping.
    unsafe { sys::munmap(addr, 4096) }.unwrap();
}

/// When user copies have taken every frame the app may have, the calls
/// that need kernel memory fail with ENOMEM (a region insert once panicked
/// the kernel: its heap could not grow), a thread cannot be made, and
/// everything works again once the memory is unmapped.
#[libos::test]
fn memory_calls_fail_cleanly_when_app_pages_took_all_memory() {
    use libos::__private::abi::abi_types::{CLOCK_MONOTONIC, Timespec};
    const SPAN: usize = 1 << 36;
    let addr = map(SPAN);
    // Allocated before memory runs out.
    let mut got = Vec::with_capacity(10_000);
    // One user copy per page (clock_gettime writes 16 bytes): each takes a
    // fresh frame in the kernel's copy, until that fails with EFAULT.
    let mut pages = 0;
    loop {
        assert!(pages * 4096 < SPAN, "memory never ran out");
        // SAFETY: a page of our mapping.
        match unsafe { sys::clock_gettime(CLOCK_MONOTONIC, (addr + pages * 4096) as *mut Timespec) } {
            Ok(()) => pages += 1,
            Err(Errno::EFAULT) => break,
            Err(e) => panic!("clock_gettime: {e:?}"),
        }
    }
    assert!(pages > 1000, "memory ran out after {pages} pages");
    // Growth needs kernel memory: refused, never a panic.
    let refused = (0..10_000).any(|_| {
        // SAFETY: a fresh mapping.
        match unsafe { sys::mmap(0, 4096, RW, ANON, -1, 0) } {
            Ok(a) => {
                got.push(a);
                false
            }
            Err(e) => {
                assert_eq!(e, Errno::ENOMEM);
                true
            }
        }
    });
    assert!(refused, "10000 mappings made with no memory left");
    // SAFETY: our mapping; the page is only read afterwards.
    let split = unsafe { sys::mprotect(addr + 4096, 4096, PROT_READ) };
    assert!(split == Err(Errno::ENOMEM) || split.is_ok());
    // SAFETY: moving the break up and back.
    unsafe {
        let brk = sys::brk(0).unwrap();
        let moved = sys::brk(brk + (1 << 20)).unwrap();
        assert!(moved == brk || moved == brk + (1 << 20));
        sys::brk(brk).unwrap();
    }
    // SAFETY: our mappings, not used afterwards.
    unsafe {
        sys::munmap(addr, SPAN).unwrap();
        for a in got {
            sys::munmap(a, 4096).unwrap();
        }
    }
    // All back: a mapping and a thread work again.
    let again = map(4096);
    // SAFETY: our mapping.
    unsafe { sys::munmap(again, 4096) }.unwrap();
    assert_eq!(libos::thread::spawn(|| 3).join().unwrap(), 3);
}

/// Whether CPUID's brand string names QEMU (TCG's CPUs do; Bochs's models
/// name the Intel part they emulate).
fn cpu_brand_is_qemu() -> bool {
    let mut brand = [0u8; 48];
    for (i, leaf) in (0x8000_0002u32..=0x8000_0004).enumerate() {
        let r = core::arch::x86_64::__cpuid(leaf);
        for (j, word) in [r.eax, r.ebx, r.ecx, r.edx].into_iter().enumerate() {
            brand[i * 16 + j * 4..][..4].copy_from_slice(&word.to_le_bytes());
        }
    }
    brand.windows(4).any(|w| w == b"QEMU")
}
