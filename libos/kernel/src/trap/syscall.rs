//! `do_syscall_64`: the Rust side of the SYSCALL entry
//! (`entry-asm/src/entry/syscall_64.s`; Linux's `do_syscall_64`,
//! `arch/x86/entry/common.c`).

use entry_asm::pt_regs::PtRegs;

use crate::arch::x86_64::{interrupts, syscall};
use crate::sched::thread_flags::{self, bit};
use crate::{sched, syscalls};

/// What the SYSCALL entry calls with the complete `pt_regs`.
pub type SyscallBody = extern "C" fn(&mut PtRegs);

/// The body for this boot: [`do_syscall_64_traced`] when every call is to
/// be printed (`trace=syscalls`), else [`do_syscall_64`]. Each CPU keeps
/// it in its per-CPU header (`syscall_body`), where the entry calls it, so
/// the common path has no test for tracing (as a static key would do).
pub fn body(traced: bool) -> SyscallBody {
    if traced { do_syscall_64_traced } else { do_syscall_64 }
}

/// Runs the system call in `regs` and the work before returning to ring 3.
/// On the way out, SYSRET returns unless the user's TF or RF forbid it (the
/// entry tests them); a frame a handler rewrote and SYSRET cannot return
/// to leaves through the IRET exit from here instead, and this does not
/// return.
///
/// Entered with kernel GS and CR3, on the task's kernel stack, interrupts
/// off; returns with interrupts off. The common case is the dispatch (a
/// compare, a conditional move, an indirect call) and one test of the
/// thread's flags word.
#[unsafe(no_mangle)]
extern "C" fn do_syscall_64(regs: &mut PtRegs) {
    // pt_regs is complete: interrupts may come now (and preempt the task at
    // its next return to ring 3).
    interrupts::enable();
    syscalls::dispatch(regs);
    interrupts::disable();
    if thread_flags::current_exit_work() != 0 {
        syscall_exit_work(regs);
    }
}

/// [`do_syscall_64`] with every call printed (`trace=syscalls` on the
/// command line): the same steps around the traced dispatch.
#[unsafe(no_mangle)]
extern "C" fn do_syscall_64_traced(regs: &mut PtRegs) {
    interrupts::enable();
    syscalls::dispatch_traced(regs);
    interrupts::disable();
    if thread_flags::current_exit_work() != 0 {
        syscall_exit_work(regs);
    }
}

/// The exit work the flags word asked for: reschedule, end the thread,
/// check a rewritten frame. Interrupts off on entry and on return.
#[cold]
#[inline(never)]
fn syscall_exit_work(regs: &mut PtRegs) {
    sched::exit_to_user_mode_slow(regs, true);
    // No call declared `#[rewrites_frame]` ran: the frame is as the entry
    // built it: RCX == RIP and R11 == RFLAGS (both pushed from the same
    // registers), the user CS and SS (pushed as constants), and RIP just
    // after a SYSCALL in user memory, which ends a page below the canonical
    // boundary, so RIP is canonical. The entry itself tests TF and RF.
    if thread_flags::take_current(bit::SYSCALL_FRAME_REWRITTEN) && !syscall::sysret_is_safe(regs) {
        // SAFETY: `regs` is this task's pt_regs, built by the SYSCALL entry
        // at the top of its stack; interrupts are off and the exit work is
        // done.
        unsafe { entry_asm::symbols::entry_syscall_64_return_via_iret(regs) }
    }
}
