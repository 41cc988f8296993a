//! The shape of an address space under KPTI.

use alloc::boxed::Box;

use entry_asm::cpu_entry_area as cea;
use entry_asm::layout::{DIRECT_MAP_BASE, PAGE_SIZE, pml4_index};
use entry_asm::symbol_address;
use libos_kcore::vm_regions::{Kind, Prot};
use libos_macros::kernel_test;
use x86_64::structures::paging::{PageTable, PageTableFlags};

use crate::arch::x86_64::paging;
use crate::config;
use crate::mm::address_space::AddressSpace;
use crate::mm::{kernel_space, phys};
use crate::testing::skip;

#[kernel_test]
fn kernel_page_tables_never_have_cr3_bit_12() {
    assert_eq!(kernel_space::kernel_pml4() % (2 * PAGE_SIZE), 0);
    for _ in 0..8 {
        let space = AddressSpace::new().expect("address space");
        assert_eq!(space.pml4_pair() % (2 * PAGE_SIZE), 0, "PML4 pair not 8 KiB aligned");
        assert_eq!(space.kernel_cr3() & (1 << 12), 0);
    }
}

#[kernel_test]
fn the_user_view_maps_only_the_allow_list() {
    if !config::get().kpti {
        skip("KPTI is off");
    }
    let space = AddressSpace::new().expect("address space");
    space.add_region(0x40_0000, PAGE_SIZE, Prot::RW, Kind::Anonymous).unwrap();
    space.write_initial(0x40_0000, b"user data").unwrap();
    let user = space.user_root();
    assert_eq!(user, space.pml4_pair() + PAGE_SIZE);
    let mapped = |va: u64| {
        // SAFETY: a read-only walk of a table only this test uses.
        unsafe { paging::translate(user, va) }
    };
    let heap = Box::new(0u64);
    let absent = [
        ("kernel text", symbol_address!(__text_start)),
        ("kernel data", symbol_address!(__data_start)),
        ("kernel heap", &*heap as *const u64 as u64),
        ("direct map", DIRECT_MAP_BASE + 0x10_0000),
        ("this task's kernel stack", crate::sched::current().stack_top - 8),
    ];
    for (what, va) in absent {
        assert!(mapped(va).is_none(), "{what} ({va:#x}) is in the user page table");
    }
    let present = [
        ("entry text", symbol_address!(__entry_text_start)),
        ("read-only IDT", cea::idt_address()),
        ("CPU 0's GDT", cea::area_address(0) + cea::GDT),
        ("CPU 0's TSS", cea::area_address(0) + cea::TSS),
        ("CPU 0's entry stack", cea::area_address(0) + cea::ENTRY_STACK),
        ("CPU 0's trampoline", cea::area_address(0) + cea::TRAMPOLINE),
        ("the app's page", 0x40_0000),
    ];
    for (what, va) in present {
        assert!(mapped(va).is_some(), "{what} ({va:#x}) is missing from the user page table");
    }
    assert!(mapped(0x40_0000).unwrap().flags.contains(PageTableFlags::USER_ACCESSIBLE));
    assert!(!mapped(cea::idt_address()).unwrap().flags.contains(PageTableFlags::USER_ACCESSIBLE));
    assert_eq!(crate::testing::kpti_audit::audit_user_page_table(&space, &space.regions()), 0);
}

#[kernel_test]
fn app_memory_is_nx_in_the_kernel_view() {
    if !config::get().kpti {
        skip("KPTI is off: one page table, executable user half");
    }
    let space = AddressSpace::new().expect("address space");
    space
        .add_region(0x40_0000, PAGE_SIZE, Prot(Prot::READ.0 | Prot::EXEC.0), Kind::Image { origin: 0x40_0000 })
        .unwrap();
    space.write_initial(0x40_0000, &[0xC3]).unwrap();
    let slot = pml4_index(0x40_0000);
    // SAFETY: both PML4 pages belong to this test's address space.
    let (kernel_view, user_view) = unsafe {
        (
            &*(phys::to_virt(space.pml4_pair()) as *const PageTable),
            &*(phys::to_virt(space.pml4_pair() + PAGE_SIZE) as *const PageTable),
        )
    };
    assert_eq!(kernel_view[slot].addr(), user_view[slot].addr(), "the two views must share the app's tables");
    assert!(kernel_view[slot].flags().contains(PageTableFlags::NO_EXECUTE), "app memory executable in the kernel view");
    assert!(!user_view[slot].flags().contains(PageTableFlags::NO_EXECUTE), "app code not executable in the user view");
}
