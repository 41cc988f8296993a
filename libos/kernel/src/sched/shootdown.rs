//! TLB shootdown: making other CPUs forget a user mapping that changed.
//!
//! A CPU that changes the page tables of an address space invalidates its
//! own TLB (`tlb::flush_user_page`). Other CPUs that have the same address
//! space loaded must do the same before the change is complete.

use crate::mm::address_space::AddressSpace;

/// Makes every other CPU that has `space` loaded forget `virt`.
pub fn user_page(_space: &AddressSpace, _virt: u64) {
    // One CPU: nothing else can have it loaded.
}
