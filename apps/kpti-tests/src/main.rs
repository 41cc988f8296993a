//! Ring-3 tests of kernel page-table isolation: what the app's page table
//! maps, the CR3 values on entry and exit (with and without PCID), the
//! deferred user-ASID flush, and an interrupt taken in ring 3.
#![no_std]
#![no_main]

use libos::__private::abi::abi_types::{MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE};
use libos::testing::spin_with_register_patterns;
use libos::{cpu, debug, sys};

#[libos::main]
fn main() {
    libos::println!("kpti-tests: run with `cargo xtask test kpti_tests`");
}

const CR3_USER_PGTABLE: u64 = 1 << 12;
const CR3_USER_PCID: u64 = 1 << 11;
const CR3_NOFLUSH: u64 = 1 << 63;

fn flags() -> (bool, bool) {
    let f = debug::call(debug::ENTRY_FLAGS, 0, 0).unwrap();
    (f & 1 != 0, f & 2 != 0)
}

/// Pins the test to the CPU it runs on, so consecutive syscalls see the
/// same per-CPU records.
fn pin_here() {
    cpu::pin_to(cpu::current()).unwrap();
}

#[libos::test]
fn the_user_page_table_maps_only_the_allow_list() {
    let (kpti, _) = flags();
    let audit = debug::call(debug::AUDIT_USER_PAGE_TABLE, 0, 0);
    if kpti {
        assert_eq!(audit, Ok(0), "mappings outside the allow-list (listed on the console)");
    } else {
        assert_eq!(audit, Err(libos::Errno::EOPNOTSUPP), "without KPTI there is no separate user page table");
    }
}

#[libos::test]
fn cr3_inside_the_kernel_is_the_kernel_half() {
    pin_here();
    let (kpti, pcid) = flags();
    let cr3 = debug::call(debug::KERNEL_CR3, 0, 0).unwrap();
    assert_eq!(cr3 & CR3_USER_PGTABLE, 0, "CR3 {cr3:#x} inside the kernel selects the user page table");
    assert_eq!(cr3 & CR3_USER_PCID, 0, "CR3 {cr3:#x} inside the kernel has the user ASID");
    if pcid {
        assert_ne!(cr3 & 0x7FF, 0, "with PCID the app's kernel ASID is not 0");
    } else {
        assert_eq!(cr3 & 0xFFF, 0, "without PCID, CR3 {cr3:#x} carries no ASID");
    }
    let entry = debug::call(debug::LAST_KERNEL_CR3, 0, 0).unwrap();
    if !kpti {
        assert_eq!(entry, 0, "without KPTI the entry never switches CR3");
        return;
    }
    assert_eq!(entry & !CR3_NOFLUSH, cr3, "the entry wrote {entry:#x}, CR3 is {cr3:#x}");
    assert_eq!(entry & CR3_NOFLUSH != 0, pcid, "NOFLUSH on entry must be set exactly when PCID is on ({entry:#x})");
}

#[libos::test]
fn cr3_on_the_way_out_is_the_user_half() {
    pin_here();
    let (kpti, pcid) = flags();
    let kernel = debug::call(debug::KERNEL_CR3, 0, 0).unwrap();
    // Written when that call returned: the next call reports it.
    let exit = debug::call(debug::LAST_USER_CR3, 0, 0).unwrap();
    if !kpti {
        assert_eq!(exit, 0);
        return;
    }
    assert_eq!(exit & CR3_USER_PGTABLE, CR3_USER_PGTABLE, "exit CR3 {exit:#x} does not select the user half");
    assert_eq!(exit & !(CR3_USER_PGTABLE | CR3_USER_PCID | CR3_NOFLUSH), kernel & !0xFFF | kernel & 0x7FF);
    if pcid {
        assert_eq!(exit & CR3_USER_PCID, CR3_USER_PCID, "exit CR3 {exit:#x} lacks the user ASID bit");
        assert_eq!(exit & 0x7FF, kernel & 0x7FF, "user ASID is not the kernel ASID with bit 11");
        assert_ne!(exit & CR3_NOFLUSH, 0, "no flush was pending, yet the exit flushed ({exit:#x})");
    } else {
        assert_eq!(exit & (CR3_USER_PCID | CR3_NOFLUSH | 0x7FF), 0, "exit CR3 {exit:#x} has PCID bits without PCID");
    }
}

#[libos::test]
fn a_user_mapping_change_flushes_the_user_asid() {
    pin_here();
    let (kpti, pcid) = flags();
    // SAFETY: a fresh page of our own, touched, then unmapped.
    let page = unsafe { sys::mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) }.unwrap();
    // SAFETY: as above.
    unsafe { (page as *mut u64).write_volatile(1) };
    // SAFETY: as above; not used afterwards.
    unsafe { sys::munmap(page, 4096) }.unwrap();
    let after_munmap = debug::call(debug::LAST_USER_CR3, 0, 0).unwrap();
    let later = debug::call(debug::LAST_USER_CR3, 0, 0).unwrap();
    if !(kpti && pcid) {
        assert_eq!(after_munmap & CR3_NOFLUSH, 0);
        return;
    }
    if debug::call(debug::USES_INVPCID, 0, 0).unwrap() == 1 {
        // INVPCID invalidated the page in the user ASID right away.
        assert_ne!(after_munmap & CR3_NOFLUSH, 0, "with INVPCID the return after munmap need not flush");
    } else {
        // The flush was deferred to the return: a CR3 write without NOFLUSH.
        assert_eq!(
            after_munmap & CR3_NOFLUSH,
            0,
            "the return after munmap kept stale user-ASID entries ({after_munmap:#x})"
        );
    }
    assert_ne!(later & CR3_NOFLUSH, 0, "the flush mark was not cleared ({later:#x})");
}

/// An interrupt that arrives while the app runs in ring 3 (a one-shot
/// timer) enters through the entry stack, switches CR3 and GS, and returns
/// to exactly the instruction and register state it interrupted.
#[libos::test]
fn an_interrupt_in_ring_3_returns_with_registers_intact() {
    pin_here();
    let before = debug::call(debug::TEST_INTERRUPTS, 0, 0).unwrap();
    debug::call(debug::ARM_TEST_TIMER, 500_000, 0).unwrap();
    // Spins of 100 ms until the interrupt has come (the timer fires after
    // 0.5 ms of guest time; on a host too busy to run the emulator's timer
    // thread it may take longer), for at most 5 s; every spin checks the
    // registers all along.
    let ticks = debug::call(debug::TSC_HZ, 0, 0).unwrap() / 10;
    let mut after = before;
    for round in 0..50 {
        let spin = spin_with_register_patterns(0x5eed + round, ticks, u64::MAX);
        assert!(spin.intact, "registers changed across the interrupt");
        after = debug::call(debug::TEST_INTERRUPTS, 0, 0).unwrap();
        if after > before {
            break;
        }
    }
    assert!(after > before, "no interrupt arrived while the app ran (5 s)");
}
