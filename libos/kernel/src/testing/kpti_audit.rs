//! The KPTI audit: a walk of an app's user page table against the
//! allow-list of `arch::x86_64::kpti` (libos_debug AUDIT_USER_PAGE_TABLE and
//! the kernel's KPTI tests).

use entry_asm::cpu_entry_area;
use entry_asm::symbol_address;
use x86_64::structures::paging::{PageTable, PageTableFlags};

use crate::arch::x86_64::kpti::user_kernel_half;
use crate::mm::address_space::AddressSpace;
use crate::mm::phys;

/// Walks the user page table of `space` and counts the mappings outside the
/// KPTI allow-list: app pages (user-accessible, inside one of `regions`),
/// the entry areas (supervisor, inside their region) and the entry text
/// (supervisor, read + execute, backed by the kernel's own text frames).
/// Each violation is printed.
pub fn audit_user_page_table(space: &AddressSpace, regions: &[libos_kcore::vm_regions::Region]) -> u64 {
    let root = space.user_root();
    let half = user_kernel_half();
    let text = symbol_address!(__entry_text_start)..symbol_address!(__entry_text_end);
    let cea = cpu_entry_area::region();
    let mut violations = 0u64;
    let mut report = |va: u64, why: &str| {
        violations += 1;
        if violations <= 16 {
            crate::println!("[kpti-audit] {va:#018x}: {why}");
        }
    };
    // Walk every present leaf: (virtual address, entry flags, physical).
    fn walk(table_phys: u64, level: u8, base: u64, visit: &mut dyn FnMut(u64, PageTableFlags, u64, u64)) {
        // SAFETY: a page-table page of a live address space, read only.
        let table = unsafe { &*(phys::to_virt(table_phys) as *const PageTable) };
        let span = 1u64 << (12 + 9 * (level as u64 - 1));
        for (i, e) in table.iter().enumerate() {
            if e.is_unused() {
                continue;
            }
            let mut va = base + i as u64 * span;
            if level == 4 && i >= 256 {
                va |= 0xFFFF_0000_0000_0000;
            }
            if level == 1 || e.flags().contains(PageTableFlags::HUGE_PAGE) {
                visit(va, e.flags(), e.addr().as_u64(), span);
            } else {
                walk(e.addr().as_u64(), level - 1, va, visit);
            }
        }
    }
    walk(root, 4, 0, &mut |va, f, pa, span| {
        let slot = entry_asm::layout::pml4_index(va);
        if slot < 256 {
            if !f.contains(PageTableFlags::USER_ACCESSIBLE) {
                report(va, "supervisor page in the user half");
            } else if !regions.iter().any(|r| va >= r.start && va + span <= r.end) {
                report(va, "user page outside every region of the app");
            }
        } else if slot == half.entry_areas.0 {
            if f.contains(PageTableFlags::USER_ACCESSIBLE) || !(cea.start <= va && va + span <= cea.end) {
                report(va, "entry-area slot maps something else");
            }
        } else if slot == half.entry_text.0 {
            let ok = text.start <= va
                && va + span <= text.end
                && !f.intersects(PageTableFlags::USER_ACCESSIBLE | PageTableFlags::WRITABLE)
                && pa == phys::image_to_phys(va);
            if !ok {
                report(va, "kernel-image slot maps more than the entry text");
            }
        } else {
            report(va, "kernel mapping outside the allow-list");
        }
    });
    violations
}
