//! `do_syscall_64`: the Rust side of the SYSCALL entry
//! (`entry-asm/src/entry/syscall_64.s`; Linux's `do_syscall_64`,
//! `arch/x86/entry/common.c`).

use entry_asm::hw::rflags;
use entry_asm::pt_regs::PtRegs;

use crate::arch::x86_64::{interrupts, syscall};
use crate::{sched, syscalls};

/// Runs the system call in `regs` and the work before returning to ring 3.
/// Returns whether SYSRET may return (else the entry takes the IRET path).
///
/// Entered with kernel GS and CR3, on the task's kernel stack, interrupts
/// off; returns with interrupts off.
#[unsafe(no_mangle)]
extern "C" fn do_syscall_64(regs: &mut PtRegs) -> bool {
    // pt_regs is complete: interrupts may come now (and preempt the task at
    // its next return to ring 3).
    interrupts::enable();
    let frame_rewritten = syscalls::dispatch(regs);
    sched::exit_to_user_mode();
    if frame_rewritten {
        syscall::sysret_is_safe(regs)
    } else {
        // No call declared `#[rewrites_frame]`: the frame is as the entry
        // built it: RCX == RIP and R11 == RFLAGS
        // (both pushed from the same registers), the user CS and SS (pushed
        // as constants), and RIP just after a SYSCALL in user memory, which
        // ends a page below the canonical boundary, so RIP is canonical.
        // Only the user's own TF/RF can forbid SYSRET (it could not restore
        // RF, and TF would trap right after it).
        regs.rflags & (rflags::RF | rflags::TF) == 0
    }
}
