//! brk, mmap, munmap and mprotect, and the heap on top of them.

use libos::__private::abi::abi_types::{
    MAP_ANONYMOUS, MAP_FIXED, MAP_FIXED_NOREPLACE, MAP_PRIVATE, MAP_SHARED, PROT_READ, PROT_WRITE,
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
