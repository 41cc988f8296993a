//! CPU exceptions without an IST stack (vectors 0 to 31 but NMI, #DB, #DF
//! and #MC): what each one does to the app that raised it, or to the kernel
//! (Linux's `arch/x86/kernel/traps.c` and `arch/x86/mm/fault.c`).
//!
//! - From ring 3 ([`from_user`]): a page fault that demand paging resolves
//!   returns to the app; every other exception raises the signal Linux
//!   would send (`signal::fault`): its handler runs, or the app ends with a
//!   report (`process::fault`).
//! - From ring 0 ([`from_kernel`]): a fault of the IRET that returns to
//!   ring 3 ends the app (its return frame was bad); a page fault of a user
//!   copy on a user page not populated yet is resolved; any other fault of a
//!   user copy resumes at its fixup (`EFAULT`); a guarded boot-time test
//!   takes its fault; anything else is a kernel bug and ends the run.

use entry_asm::hw::{rflags, vector};
use entry_asm::layout::is_user_range;
use entry_asm::pt_regs::PtRegs;
use entry_asm::symbol_address;
use x86_64::registers::control::Cr2;

use super::fatal::fatal;
use crate::arch::x86_64::{extable, interrupts};
use crate::mm::address_space::FaultError;
use crate::process::fault::{Cause, kill_current};
use crate::{process, sched, signal};

/// Page-fault error-code bits (Intel SDM Vol. 3A, "Page-Fault Error Code").
mod pf {
    pub const WRITE: u64 = 2;
    pub const FETCH: u64 = 16;
}

/// Entry from `trap::do_interrupt` for an exception vector. Returns with
/// interrupts off.
pub fn handle(regs: &mut PtRegs, vector: u8) {
    // Read before anything can fault again (and with interrupts still off).
    let cr2 = if vector == vector::PF { Cr2::read_raw() } else { 0 };
    if regs.from_user() {
        // Ring 3 ran with interrupts on, and so does what the app's fault
        // leads to: a CPU that waits for a lock another CPU holds across a
        // TLB shootdown must take that CPU's IPI (Linux's
        // `cond_local_irq_enable`).
        interrupts::enable();
        from_user(regs, vector, cr2);
        sched::exit_to_user_mode(regs, false);
    } else {
        from_kernel(regs, vector, cr2);
        interrupts::disable();
    }
}

/// What an exception raised by the app does to it.
fn from_user(regs: &mut PtRegs, vector: u8, cr2: u64) {
    match vector {
        // The app's own memory: demand paging, or the app ends.
        vector::PF if is_user_range(cr2, 1) => {
            if let Err(e) = demand_page(regs.orig_rax, cr2) {
                signal::fault::raise(regs, vector, cr2, Some(e));
            }
        }
        // A kernel address, or any other exception: its signal.
        _ => signal::fault::raise(regs, vector, cr2, None),
    }
}

/// Resolves a page fault with error code `code` at user address `addr` in
/// the running app's memory.
fn demand_page(code: u64, addr: u64) -> Result<(), FaultError> {
    let space = process::current().map(|p| p.space()).ok_or(FaultError::Unmapped)?;
    space.handle_fault(addr, code & pf::WRITE != 0, code & pf::FETCH != 0)
}

/// What an exception raised by the kernel does.
fn from_kernel(regs: &mut PtRegs, vector: u8, cr2: u64) {
    if regs.rip == symbol_address!(entry_iret_to_user) {
        bad_return_to_user(regs, vector);
    }
    if vector == vector::PF
        && is_user_range(cr2, 1)
        && extable::fixup_for(regs.rip).is_some()
        && regs.rflags & rflags::IF != 0
    {
        // A user copy (in a system call, interrupts on) on a page not
        // populated yet: resolved, the copy goes on; else its fixup
        // reports EFAULT. Interrupts back on for the same reason as a
        // fault from ring 3. A copy made with interrupts off (under a
        // spin lock: a futex's bucket) is not resolved: populating takes
        // the address space's lock, which is only taken with interrupts on
        // (`AddressSpace::lock_inner`); its fixup reports EFAULT, and the
        // caller faults the page in first (as Linux's pagefault_disable).
        interrupts::enable();
        if demand_page(regs.orig_rax, cr2).is_ok() {
            return;
        }
    }
    if extable::try_fixup(regs) || test_recovers(regs, vector) {
        return;
    }
    fatal(regs, vector, "unexpected exception in the kernel");
}

/// The IRET back to ring 3 faulted: the frame it was given (the app's
/// return address, made by a crafted frame) is invalid. The entry code has
/// already restored the kernel's GS and CR3; the app ends with a report.
fn bad_return_to_user(regs: &PtRegs, vector: u8) -> ! {
    // RSP at the fault pointed at the IRET frame being returned with.
    // SAFETY: that frame is on this CPU's entry stack, mapped and intact
    // (the entry code moved on to the task stack without overwriting it).
    let target = unsafe { core::ptr::read(regs.rsp as *const u64) };
    let task = sched::current();
    // The task's user registers are still in its pt_regs (popped, not erased).
    // SAFETY: the current task's pt_regs at the top of its kernel stack.
    let user = unsafe { *task.user_regs() };
    drop(task);
    kill_current(&user, Cause::BadReturn { vector, target })
}

/// Whether a guarded boot-time test (`testing::recovery`) was running on
/// this CPU and takes the exception; never in a production kernel.
pub fn test_recovers(regs: &mut PtRegs, vector: u8) -> bool {
    #[cfg(feature = "hooks")]
    return crate::testing::recovery::recover_from_fault(regs, vector);
    #[cfg(not(feature = "hooks"))]
    {
        let _ = (regs, vector);
        false
    }
}
