//! Page permissions of the kernel's own address space.

use alloc::boxed::Box;

use entry_asm::hw::vector;
use entry_asm::layout::DIRECT_MAP_BASE;
use entry_asm::symbol_address;
use libos_macros::kernel_test;

use crate::arch::x86_64::paging::Flags;
use crate::mm::{kernel_space, phys};
use crate::testing::recovery::{Outcome, run_guarded};

/// Page-fault error-code bits.
const PF_PRESENT: u64 = 1;
const PF_WRITE: u64 = 2;
const PF_FETCH: u64 = 16;

/// Reads a byte with a plain `mov`, whatever the address (no Rust-level
/// assumptions about it: a fault is what these tests want).
pub(crate) fn probe_read(addr: u64) -> u8 {
    let v: u8;
    // SAFETY: a one-byte load; a fault on it is recovered by the test harness.
    unsafe { core::arch::asm!("mov {v}, byte ptr [{a}]", a = in(reg) addr, v = out(reg_byte) v, options(nostack)) };
    v
}

/// Writes a byte with a plain `mov`, whatever the address.
pub(crate) fn probe_write(addr: u64, value: u8) {
    // SAFETY: a one-byte store the test expects to fault (or to hit memory
    // the test owns); a fault is recovered by the test harness.
    unsafe { core::arch::asm!("mov byte ptr [{a}], {v}", a = in(reg) addr, v = in(reg_byte) value, options(nostack)) };
}

/// Runs `f`, which must page-fault at `addr` with exactly the `want` bits
/// among present/write/fetch.
fn expect_page_fault(addr: u64, want: u64, f: impl FnOnce()) {
    match run_guarded(f) {
        Outcome::Faulted(fault) => {
            assert_eq!(fault.vector, vector::PF, "expected a page fault, got {fault}");
            assert_eq!(fault.cr2, addr, "fault at the wrong address: {fault}");
            let got = fault.error_code & (PF_PRESENT | PF_WRITE | PF_FETCH);
            assert_eq!(got, want, "wrong page-fault kind: {fault}");
        }
        other => panic!("expected a page fault at {addr:#x}, got {other:?}"),
    }
}

#[inline(never)]
fn some_kernel_function() -> u32 {
    core::hint::black_box(7)
}

#[kernel_test]
fn writing_kernel_text_faults() {
    let text = some_kernel_function as *const () as u64;
    let t = kernel_space::translate(text).expect("kernel text is mapped");
    assert!(!t.flags.contains(Flags::WRITABLE) && !t.flags.contains(Flags::NO_EXECUTE));
    expect_page_fault(text, PF_PRESENT | PF_WRITE, || probe_write(text, 0xCC));
    assert_eq!(some_kernel_function(), 7);
}

#[kernel_test(expect_fault = PF)]
fn writing_rodata_faults() {
    static CONSTANT: u64 = 42;
    probe_write(core::ptr::addr_of!(CONSTANT) as u64, 0);
}

#[kernel_test]
fn executing_the_heap_faults() {
    let code: Box<[u8; 16]> = Box::new([0xC3; 16]); // `ret`
    let addr = code.as_ptr() as u64;
    assert!(kernel_space::translate(addr).unwrap().flags.contains(Flags::NO_EXECUTE));
    // SAFETY: deliberately wrong: the heap is NX, the call must fault at
    // its first instruction and be recovered.
    let f: extern "C" fn() = unsafe { core::mem::transmute(code.as_ptr()) };
    expect_page_fault(addr, PF_PRESENT | PF_FETCH, || f());
}

#[kernel_test]
fn executing_the_stack_and_data_faults() {
    static mut DATA: [u8; 16] = [0xC3; 16];
    let data = core::ptr::addr_of_mut!(DATA) as u64;
    // SAFETY: deliberately wrong, as above (.data is NX).
    let f: extern "C" fn() = unsafe { core::mem::transmute(data) };
    expect_page_fault(data, PF_PRESENT | PF_FETCH, || f());
    let on_stack = [0xC3u8; 16];
    let addr = on_stack.as_ptr() as u64;
    // SAFETY: deliberately wrong: kernel stacks are NX.
    let g: extern "C" fn() = unsafe { core::mem::transmute(on_stack.as_ptr()) };
    expect_page_fault(addr, PF_PRESENT | PF_FETCH, || g());
}

#[kernel_test]
fn direct_map_is_nx_and_text_alias_read_only() {
    let text_phys = phys::image_to_phys(some_kernel_function as *const () as u64);
    let alias = DIRECT_MAP_BASE + text_phys;
    let t = kernel_space::translate(alias).expect("the image is in the direct map");
    assert!(t.flags.contains(Flags::NO_EXECUTE));
    expect_page_fault(alias, PF_PRESENT | PF_WRITE, || probe_write(alias, 0));
    let heap_page = Box::new(0u64);
    let heap_alias = DIRECT_MAP_BASE + kernel_space::translate(&*heap_page as *const u64 as u64).unwrap().phys;
    assert!(kernel_space::translate(heap_alias).unwrap().flags.contains(Flags::NO_EXECUTE));
}

#[kernel_test]
fn boot_stack_guard_page_is_unmapped() {
    let guard = symbol_address!(__boot_stack_guard);
    assert!(kernel_space::translate(guard).is_none());
    assert!(kernel_space::translate(symbol_address!(__boot_stack_bottom)).is_some());
    expect_page_fault(guard + 8, PF_WRITE, || probe_write(guard + 8, 1));
}

#[kernel_test]
fn null_and_user_addresses_fault() {
    // Nothing is mapped at 0, or anywhere in the lower half of the kernel's
    // own page table.
    expect_page_fault(0, 0, || {
        probe_read(0);
    });
    expect_page_fault(0x40_0000, 0, || {
        probe_read(0x40_0000);
    });
}

#[kernel_test]
fn entry_area_gdt_and_idt_are_read_only() {
    let gdt = entry_asm::cpu_entry_area::area_address(0) + entry_asm::cpu_entry_area::GDT;
    let idt = entry_asm::cpu_entry_area::idt_address();
    for addr in [gdt, idt] {
        let t = kernel_space::translate(addr).expect("mapped");
        assert!(!t.flags.contains(Flags::WRITABLE) && t.flags.contains(Flags::NO_EXECUTE));
        expect_page_fault(addr, PF_PRESENT | PF_WRITE, || probe_write(addr, 0));
    }
}
