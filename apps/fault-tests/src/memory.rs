//! Memory the app may not touch.

use libos::__private::abi::abi_types::{MAP_ANONYMOUS, MAP_PRIVATE, PROT_NONE, PROT_READ, PROT_WRITE};
use libos::debug;
use libos::sys;

use crate::{read_byte, write_byte};

/// Page-fault error code bit 0: the page was present (a protection fault).
const PF_PRESENT: u64 = 1;

#[libos::test(expect_fault = PF)]
fn reading_kernel_text_faults() {
    read_byte(0xffff_ffff_8010_0000);
}

#[libos::test(expect_fault = PF)]
fn writing_the_direct_map_faults() {
    write_byte(0xffff_8000_0010_0000, 1);
}

/// Under KPTI the kernel heap is not in the app's page table at all: the
/// fault must say "not present", not "protection violation".
#[libos::test(expect_fault = PF)]
fn the_kernel_heap_is_absent_not_protected() {
    let addr = debug::call(debug::KERNEL_HEAP_ADDRESS, 0, 0).unwrap();
    let kpti = debug::call(debug::ENTRY_FLAGS, 0, 0).unwrap() & 1 != 0;
    let value = if kpti { 0 } else { PF_PRESENT };
    debug::call(debug::EXPECT_ERROR_CODE, PF_PRESENT, value).unwrap();
    read_byte(addr);
}

#[libos::test(expect_fault = GP)]
fn non_canonical_addresses_fault() {
    read_byte(0x8000_0000_0000_0000);
}

#[libos::test(expect_fault = PF)]
fn null_is_not_mapped() {
    read_byte(0);
}

#[libos::test(expect_fault = PF)]
fn writing_rodata_faults() {
    static CONSTANT: u64 = 1;
    write_byte(&raw const CONSTANT as u64, 0);
}

#[libos::test(expect_fault = PF)]
fn executing_the_heap_faults() {
    let code = libos::prelude::Box::new([0xC3u8; 16]); // `ret`
    // SAFETY: deliberately wrong: the heap is not executable.
    let f: extern "C" fn() = unsafe { core::mem::transmute(code.as_ptr()) };
    f();
}

#[libos::test(expect_fault = PF)]
fn executing_the_stack_faults() {
    let code = [0xC3u8; 16];
    // SAFETY: deliberately wrong: the stack is not executable.
    let f: extern "C" fn() = unsafe { core::mem::transmute(code.as_ptr()) };
    f();
}

fn fresh_page() -> u64 {
    // SAFETY: a fresh anonymous page.
    unsafe { sys::mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) }.unwrap() as u64
}

#[libos::test(expect_fault = PF)]
fn touching_unmapped_memory_faults() {
    let page = fresh_page();
    write_byte(page, 1);
    // SAFETY: unmapping our own page; the test then touches it on purpose.
    unsafe { sys::munmap(page as usize, 4096) }.unwrap();
    read_byte(page);
}

#[libos::test(expect_fault = PF)]
fn writing_a_read_only_mapping_faults() {
    let page = fresh_page();
    // SAFETY: our own page.
    unsafe { sys::mprotect(page as usize, 4096, PROT_READ) }.unwrap();
    read_byte(page);
    write_byte(page, 1);
}

#[libos::test(expect_fault = PF)]
fn prot_none_faults() {
    let page = fresh_page();
    write_byte(page, 1);
    // SAFETY: our own page.
    unsafe { sys::mprotect(page as usize, 4096, PROT_NONE) }.unwrap();
    read_byte(page);
}

#[inline(never)]
#[allow(unconditional_recursion)]
fn recurse(depth: u64) -> u64 {
    let frame = [depth; 64];
    recurse(core::hint::black_box(frame[depth as usize % 64] + 1)) + frame[0]
}

#[libos::test(expect_fault = PF)]
fn stack_overflow_ends_the_app() {
    recurse(0);
}
