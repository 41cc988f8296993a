//! TLB shootdown: making other CPUs forget a mapping that changed.
//!
//! A CPU that changes a page table invalidates its own TLB entry. Other
//! CPUs may hold the old translation too, so before the change is complete
//! they are asked (a CALL_FUNCTION IPI) to invalidate it, and the caller
//! waits for each. For an app's pages that is the CPUs that have its
//! address space loaded right now: a CPU that loads it later flushes its
//! ASIDs while loading (see `sched::load_address_space`), which covers the
//! PCID case where a CPU not in the address space keeps old entries — it
//! gets, in effect, the deferred user flush. For kernel pages it is every
//! other CPU.

use core::sync::atomic::Ordering;

use super::call::call_on;
use crate::arch::x86_64::percpu;
use crate::arch::x86_64::tlb;
use crate::mm::address_space::AddressSpace;

fn flush_user(arg: u64) {
    let (pcid, va) = ((arg & 0xFFF) as u16, arg & !0xFFF);
    tlb::flush_user_page(pcid, va);
}

fn flush_kernel(va: u64) {
    crate::arch::x86_64::paging::flush_local(va);
}

/// Makes every other CPU that has `space` loaded forget user page `virt`.
pub fn user_page(space: &AddressSpace, virt: u64) {
    let me = percpu::cpu_index();
    let mask = space.active_cpus() & !(1 << me);
    let arg = (virt & !0xFFF) | space.pcid() as u64;
    for cpu in (0..64).filter(|c| mask & (1 << c) != 0) {
        call_on(cpu, flush_user, arg);
    }
}

/// Makes every other online CPU forget kernel page `virt`.
pub fn kernel_page(virt: u64) {
    let me = percpu::cpu_index();
    for cpu in 0..percpu::cpu_count() {
        if cpu != me && percpu::cpu(cpu).is_some_and(|c| c.online.load(Ordering::Acquire)) {
            call_on(cpu, flush_kernel, virt & !0xFFF);
        }
    }
}
