//! TLB invalidation for user mappings.
//!
//! With KPTI and PCID an app's pages can be cached under two ASIDs: the
//! kernel ASID (the kernel half of the pair, used by user copies) and the
//! user ASID (bit 11 set). INVLPG in the kernel only reaches the kernel
//! ASID; the user ASID is invalidated with INVPCID when the CPU has it, or
//! else marked for a full flush on the next return to ring 3 (Linux's
//! `invalidate_user_asid`). Without PCID every CR3 switch flushes, so INVLPG
//! is enough.

use core::arch::asm;

use entry_asm::hw::cr::CR3_PTI_USER_PCID;
use x86_64::VirtAddr;

use crate::arch::x86_64::percpu;
use crate::config;

/// INVPCID types.
mod invpcid_type {
    /// One address in one PCID.
    pub const INDIVIDUAL_ADDRESS: u64 = 0;
}

/// Executes INVPCID.
///
/// # Safety
/// The CPU must have INVPCID and CR4.PCIDE must be set.
unsafe fn invpcid(kind: u64, pcid: u64, addr: u64) {
    let descriptor: [u64; 2] = [pcid, addr];
    // SAFETY: the caller checked the CPU supports it; the descriptor is a
    // 16-byte memory operand as INVPCID requires.
    unsafe { asm!("invpcid {k}, [{d}]", k = in(reg) kind, d = in(reg) descriptor.as_ptr(), options(nostack)) };
}

/// Invalidates user page `virt` of the address space whose kernel ASID is
/// `pcid`, which is the one active on this CPU.
pub fn flush_user_page(pcid: u16, virt: u64) {
    x86_64::instructions::tlb::flush(VirtAddr::new(virt));
    let cfg = config::get();
    if !cfg.pcid_on() {
        return;
    }
    if cfg.invpcid {
        // SAFETY: PCID is on and the CPU has INVPCID.
        unsafe { invpcid(invpcid_type::INDIVIDUAL_ADDRESS, pcid as u64 | CR3_PTI_USER_PCID, virt) };
    } else {
        percpu::set_user_flush_pending();
    }
}
