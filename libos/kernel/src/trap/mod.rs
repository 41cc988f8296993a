//! The Rust side of every way into the kernel: system calls, exceptions,
//! interrupts and the paranoid (IST) entries.
//!
//! The entry assembly (`entry-asm/src/entry/`, read alongside
//! `docs/entry-path.md`) saves the interrupted context as a `pt_regs` frame,
//! switches GS, CR3 and the stack, and calls one `extern "C"` function here.
//! This is the one module that knows both the hardware (vectors, the SYSRET
//! rules, the exception table) and what happens above it (the scheduler, an
//! app's fate, the boot-time test harness); `arch` below it is hardware
//! only. From a vector to the code that decides what it does is one step:
//!
//! | entry | function | decides |
//! | --- | --- | --- |
//! | SYSCALL | [`syscall`]`::do_syscall_64` | the table of `crate::syscalls`, then SYSRET or IRET |
//! | exceptions 0-31 (no IST) | [`do_interrupt`] → [`exception`] | `exception::from_user`: demand paging or the app's end; `exception::from_kernel` |
//! | vectors 32-255 | [`do_interrupt`] → [`irq`] | `irq::handle`: the timer, IPIs, device vectors |
//! | NMI, #DB, #DF, #MC (IST) | [`paranoid`]`::do_paranoid` | |
//!
//! An exception or interrupt from ring 3 returns through
//! `sched::exit_to_user_mode` (a reschedule, or the end of a killed
//! thread), as every system call does.

pub mod exception;
pub mod fatal;
pub mod irq;
pub mod paranoid;
pub mod syscall;

use entry_asm::hw::vector;
use entry_asm::pt_regs::PtRegs;

use crate::arch::x86_64::{cpu_entry_area, gdt, idt, percpu as entry_percpu, syscall as syscall_msrs};
use crate::{config, percpu, sched};

/// Sets up the ways into the kernel on this CPU (every CPU, once its
/// per-CPU data exists; the boot CPU builds the IDT first): its entry area,
/// GDT and TSS, the IDT, the entry path's per-CPU header and the SYSCALL
/// MSRs. `stack_top` is the stack the CPU runs on now, its first task's.
pub fn init_cpu(stack_top: u64) {
    let cfg = config::get();
    let area = cpu_entry_area::build(percpu::cpu_index());
    gdt::load(&area, stack_top);
    idt::load();
    entry_percpu::set_entry_stack_top(area.entry_stack_top());
    entry_percpu::set_top_of_stack(stack_top);
    entry_percpu::set_entry_flags(cfg.kpti, cfg.pcid_on());
    entry_percpu::set_syscall_body(syscall::body(config::trace_syscalls()) as usize as u64);
    syscall_msrs::init_cpu(&area, cfg.kpti, cfg.pcid_on());
}

/// Entry from the common stub (`idt_common_entry`): every vector without
/// an IST stack. Kernel GS and CR3, `regs` on the task's kernel stack (or
/// the interrupted kernel stack), interrupts off.
#[unsafe(no_mangle)]
extern "C" fn do_interrupt(regs: &mut PtRegs, vector: u64) {
    #[cfg(feature = "hooks")]
    count_ac_at_entry(regs);
    let vector = vector as u8;
    if usize::from(vector) < vector::EXCEPTIONS {
        exception::handle(regs, vector);
    } else {
        irq::handle(vector);
        if regs.from_user() {
            sched::exit_to_user_mode(regs, false);
        }
    }
}

/// Entries from ring 3 with RFLAGS.AC set, and handlers that found AC set.
#[cfg(feature = "hooks")]
static AC_FROM_APP: core::sync::atomic::AtomicU32 = core::sync::atomic::AtomicU32::new(0);
#[cfg(feature = "hooks")]
static AC_IN_HANDLER: core::sync::atomic::AtomicU32 = core::sync::atomic::AtomicU32::new(0);

/// Counts what the AC test hook reports: whether an app's AC reached a
/// handler (the entry code must have cleared it, as Linux's does).
#[cfg(feature = "hooks")]
fn count_ac_at_entry(regs: &PtRegs) {
    use core::sync::atomic::Ordering::Relaxed;
    use entry_asm::hw::rflags;
    if regs.from_user() && regs.rflags & rflags::AC != 0 {
        AC_FROM_APP.fetch_add(1, Relaxed);
    }
    if x86_64::registers::rflags::read_raw() & rflags::AC != 0 {
        AC_IN_HANDLER.fetch_add(1, Relaxed);
    }
}

/// The AC test hook's two counts (`libos_abi::debug::AC_AT_ENTRY`).
#[cfg(feature = "hooks")]
pub fn ac_at_entry() -> u64 {
    use core::sync::atomic::Ordering::Relaxed;
    u64::from(AC_FROM_APP.load(Relaxed)) | u64::from(AC_IN_HANDLER.load(Relaxed)) << 32
}
