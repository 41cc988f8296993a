//! The paranoid entries: NMI, #DB, #DF and #MC, which arrive on IST stacks
//! at any moment, even inside the few instructions of the entry and exit
//! paths where GS or CR3 do not match CS (`idt_paranoid_entry`; Linux's
//! `exc_nmi`, `exc_debug`, `exc_double_fault`, `exc_machine_check`).

use core::sync::atomic::{AtomicU64, Ordering};

use entry_asm::hw::{rflags, vector};
use entry_asm::pt_regs::PtRegs;
use x86_64::registers::debug::{Dr6, Dr6Flags};

use super::exception::test_recovers;
use super::fatal::fatal;
use crate::per_cpu;
use crate::process::fault::{Cause, kill_current};

per_cpu! {
    /// NMIs this CPU has taken (the tests read it; a remote CPU may read it
    /// too, hence an atomic).
    pub static NMIS: AtomicU64 = AtomicU64::new(0);
}

/// Entry from the paranoid stub: NMI, #DB, #DF, #MC. The entry has made GS
/// and CR3 the kernel's, whatever they were, and restores them after.
#[unsafe(no_mangle)]
extern "C" fn do_paranoid(regs: &mut PtRegs, vector: u64) {
    let vector = vector as u8;
    if vector == vector::NMI {
        // NMIs are IPIs here (the boot-time tests send them) or come from
        // outside (`nmi=dump`): count, and go back to exactly where the CPU
        // was, whatever its GS and CR3.
        NMIS.this().fetch_add(1, Ordering::Relaxed);
        if crate::boot::info().options.nmi_dump {
            crate::sched::debug_dump(regs.rip);
        }
        return;
    }
    if regs.from_user() {
        // A single-step trap or machine check raised by the app: it ends.
        kill_current(regs, Cause::Exception { vector, page_fault: None });
    }
    if vector == vector::DB && take_kernel_single_step() {
        // A single-step trap in ring 0. The kernel never sets TF, so this is
        // the app's TF carried across SYSCALL: SFMASK clears TF, but some
        // CPUs (Bochs's models do; QEMU's do not) still report the trap at
        // the first instruction of the entry, with the user's GS and stack.
        // The paranoid entry has dealt with GS and CR3; the entry goes on,
        // and the app's TF (saved in R11) traps in ring 3 after the return,
        // as the app asked. Linux warns here and goes on the same way
        // (`exc_debug_kernel`, arch/x86/kernel/traps.c).
        regs.rflags &= !rflags::TF;
        return;
    }
    if test_recovers(regs, vector) {
        return;
    }
    match vector {
        vector::DF => fatal(regs, vector, "double fault (a stack overflow, or a fault while delivering a fault)"),
        vector::MC => fatal(regs, vector, "machine check"),
        _ => fatal(regs, vector, "unexpected exception"),
    }
}

/// Whether DR6 reports a single-step trap; clears the report (DR6 bits are
/// sticky: Intel SDM Vol. 3B, "Debug Status Register (DR6)").
fn take_kernel_single_step() -> bool {
    if !Dr6::read().contains(Dr6Flags::STEP) {
        return false;
    }
    let cleared = Dr6::read_raw() & !Dr6Flags::STEP.bits();
    // SAFETY: writing DR6 only changes the debug status bits it reports.
    unsafe { core::arch::asm!("mov dr6, {}", in(reg) cleared, options(nomem, nostack, preserves_flags)) };
    true
}
