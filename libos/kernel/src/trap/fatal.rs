//! The end of the run for an exception the kernel cannot survive: a report
//! of everything about it, then a failure exit.

use core::sync::atomic::{AtomicU32, Ordering};

use entry_asm::hw::vector;
use entry_asm::pt_regs::PtRegs;
use libos_abi::run::RunExit;
use x86_64::registers::control::{Cr2, Cr3};

use crate::arch::x86_64::exceptions::{description, mnemonic, page_fault_reasons};
use crate::arch::x86_64::power;
use crate::{console, per_cpu, percpu};

per_cpu! {
    /// Nesting depth of fatal reports on this CPU (a fault while reporting
    /// a fault gives up at once).
    static FATAL_DEPTH: AtomicU32 = AtomicU32::new(0);
}

/// Prints everything about an exception and ends the run as a failure.
pub fn fatal(regs: &PtRegs, vector: u8, what: &str) -> ! {
    if FATAL_DEPTH.this().fetch_add(1, Ordering::Relaxed) > 0 {
        console::emergency_println(format_args!("[libos] fault while reporting a fault: giving up"));
        power::exit(RunExit::Failure);
    }
    report(regs, vector, what, percpu::cpu_index());
    power::exit(RunExit::Failure)
}

/// Prints the exception report (vector, error code, RIP, CR2, all registers, CPU).
pub fn report(regs: &PtRegs, vector: u8, what: &str, cpu: usize) {
    let p = |args: core::fmt::Arguments<'_>| console::emergency_println(args);
    p(format_args!("[libos] {what} on CPU {cpu}: {} {} (vector {vector})", mnemonic(vector), description(vector)));
    let cr2 = Cr2::read_raw();
    if vector == vector::PF {
        let mut reasons = heapless::String::<128>::new();
        let _ = page_fault_reasons(regs.orig_rax, &mut reasons);
        p(format_args!("  error code {:#x} ({reasons}) at address {cr2:#018x}", regs.orig_rax));
    } else if regs.orig_rax != u64::MAX {
        p(format_args!("  error code {:#x}", regs.orig_rax));
    }
    let (cr3, _) = Cr3::read_raw();
    p(format_args!(
        "  RIP {:#018x}  CS {:#06x}  RFLAGS {:#010x}  ring {}",
        regs.rip,
        regs.cs,
        regs.rflags,
        regs.cs & 3
    ));
    p(format_args!("  RSP {:#018x}  SS {:#06x}  CR2 {cr2:#018x}  CR3 {:#x}", regs.rsp, regs.ss, cr3.start_address()));
    p(format_args!("  RAX {:#018x} RBX {:#018x} RCX {:#018x} RDX {:#018x}", regs.rax, regs.rbx, regs.rcx, regs.rdx));
    p(format_args!("  RSI {:#018x} RDI {:#018x} RBP {:#018x} R8  {:#018x}", regs.rsi, regs.rdi, regs.rbp, regs.r8));
    p(format_args!("  R9  {:#018x} R10 {:#018x} R11 {:#018x} R12 {:#018x}", regs.r9, regs.r10, regs.r11, regs.r12));
    p(format_args!("  R13 {:#018x} R14 {:#018x} R15 {:#018x}", regs.r13, regs.r14, regs.r15));
}
