//! What happens when an exception or interrupt arrives: the Rust side of
//! the entry paths in `entry-asm/src/entry/interrupts.s`.

use entry_asm::hw::{rflags, vector};
use entry_asm::pt_regs::PtRegs;
use libos_abi::run::RunExit;
use x86_64::registers::control::{Cr2, Cr3};
use x86_64::registers::debug::{Dr6, Dr6Flags};

use entry_asm::layout::is_user_range;
use entry_asm::symbol_address;

use crate::arch::x86_64::{extable, percpu, power};
use crate::console;
use crate::process::fault::{Cause, kill_current};
use crate::{process, sched};

/// Short names of the architectural exceptions.
pub const fn mnemonic(v: u8) -> &'static str {
    match v {
        0 => "#DE",
        1 => "#DB",
        2 => "NMI",
        3 => "#BP",
        4 => "#OF",
        5 => "#BR",
        6 => "#UD",
        7 => "#NM",
        8 => "#DF",
        9 => "#CSO",
        10 => "#TS",
        11 => "#NP",
        12 => "#SS",
        13 => "#GP",
        14 => "#PF",
        16 => "#MF",
        17 => "#AC",
        18 => "#MC",
        19 => "#XM",
        20 => "#VE",
        21 => "#CP",
        28 => "#HV",
        29 => "#VC",
        30 => "#SX",
        32..=255 => "IRQ",
        _ => "#reserved",
    }
}

/// Long names of the architectural exceptions.
pub const fn description(v: u8) -> &'static str {
    match v {
        0 => "divide error",
        1 => "debug",
        2 => "non-maskable interrupt",
        3 => "breakpoint",
        4 => "overflow",
        5 => "bound range exceeded",
        6 => "invalid opcode",
        7 => "device not available",
        8 => "double fault",
        9 => "coprocessor segment overrun",
        10 => "invalid TSS",
        11 => "segment not present",
        12 => "stack-segment fault",
        13 => "general protection fault",
        14 => "page fault",
        16 => "x87 floating-point error",
        17 => "alignment check",
        18 => "machine check",
        19 => "SIMD floating-point exception",
        20 => "virtualization exception",
        21 => "control protection exception",
        28 => "hypervisor injection",
        29 => "VMM communication exception",
        30 => "security exception",
        32..=255 => "external interrupt",
        _ => "reserved vector",
    }
}

/// Page-fault error-code bits, spelled out.
pub fn page_fault_reasons(error: u64, out: &mut impl core::fmt::Write) -> core::fmt::Result {
    write!(out, "{}", if error & 1 != 0 { "protection violation" } else { "page not present" })?;
    write!(out, ", {}", if error & 2 != 0 { "write" } else { "read" })?;
    if error & 16 != 0 {
        write!(out, ", instruction fetch")?;
    }
    write!(out, ", {} mode", if error & 4 != 0 { "user" } else { "supervisor" })?;
    if error & 8 != 0 {
        write!(out, ", reserved bit set")?;
    }
    if error & 32 != 0 {
        write!(out, ", protection key")?;
    }
    Ok(())
}

/// Entry from the common stub: every vector without an IST stack.
#[unsafe(no_mangle)]
extern "C" fn do_interrupt(regs: &mut PtRegs, vector: u64) {
    let vector = vector as u8;
    if (vector as usize) < vector::EXCEPTIONS {
        exception(regs, vector);
    } else {
        super::irq::handle(regs, vector);
        if regs.from_user() {
            sched::exit_to_user_mode();
        }
    }
}

/// Entry from the paranoid stub: NMI, #DB, #DF, #MC.
#[unsafe(no_mangle)]
extern "C" fn do_paranoid(regs: &mut PtRegs, vector: u64) {
    let vector = vector as u8;
    if vector == vector::NMI {
        // NMIs are IPIs here (the boot-time tests send them): count and go
        // back to exactly where the CPU was, whatever its GS and CR3.
        percpu::this_cpu().nmis.fetch_add(1, core::sync::atomic::Ordering::Relaxed);
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
        // as the app asked. Linux warns here and goes on the same way.
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

/// Whether a guarded boot-time test (`testing::recovery`) was running on
/// this CPU and takes the exception; never in a production kernel.
fn test_recovers(regs: &mut PtRegs, vector: u8) -> bool {
    #[cfg(feature = "hooks")]
    return crate::testing::recovery::recover_from_fault(regs, vector);
    #[cfg(not(feature = "hooks"))]
    {
        let _ = (regs, vector);
        false
    }
}

/// Whether DR6 reports a single-step trap; clears the report (DR6 bits are
/// sticky).
fn take_kernel_single_step() -> bool {
    if !Dr6::read().contains(Dr6Flags::STEP) {
        return false;
    }
    let cleared = Dr6::read_raw() & !Dr6Flags::STEP.bits();
    // SAFETY: writing DR6 only changes the debug status bits it reports.
    unsafe { core::arch::asm!("mov dr6, {}", in(reg) cleared, options(nomem, nostack, preserves_flags)) };
    true
}

fn exception(regs: &mut PtRegs, vector: u8) {
    if regs.from_user() {
        user_exception(regs, vector);
        sched::exit_to_user_mode();
        return;
    }
    if regs.rip == symbol_address!(entry_iret_to_user) {
        bad_return_to_user(regs, vector);
    }
    if vector == vector::PF && kernel_fault_on_user_memory(regs) {
        return;
    }
    if extable::try_fixup(regs) || test_recovers(regs, vector) {
        return;
    }
    fatal(regs, vector, "unexpected exception in the kernel");
}

/// Page-fault error-code bits.
mod pf {
    pub const PRESENT: u64 = 1;
    pub const WRITE: u64 = 2;
    pub const FETCH: u64 = 16;
}

/// An exception raised by the app: a page fault demand paging can resolve
/// returns; anything else ends the app.
fn user_exception(regs: &mut PtRegs, vector: u8) {
    if vector != vector::PF {
        kill_current(regs, Cause::Exception { vector, page_fault: None });
    }
    let addr = Cr2::read_raw();
    let code = regs.orig_rax;
    if let Some(p) = process::current()
        && is_user_range(addr, 1)
    {
        match p.space.handle_fault(addr, code & pf::WRITE != 0, code & pf::FETCH != 0, code & pf::PRESENT != 0) {
            Ok(()) => return,
            Err(e) => kill_current(regs, Cause::Exception { vector, page_fault: Some(e) }),
        }
    }
    kill_current(regs, Cause::Exception { vector, page_fault: None })
}

/// A fault inside a user copy (an instruction of the exception table) on a
/// user page not populated yet: demand paging resolves it and the copy
/// goes on. Returns whether it was resolved.
fn kernel_fault_on_user_memory(regs: &PtRegs) -> bool {
    let addr = Cr2::read_raw();
    if !is_user_range(addr, 1) || extable::fixup_for(regs.rip).is_none() {
        return false;
    }
    let code = regs.orig_rax;
    process::current().is_some_and(|p| {
        p.space.handle_fault(addr, code & pf::WRITE != 0, code & pf::FETCH != 0, code & pf::PRESENT != 0).is_ok()
    })
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

/// Prints everything about an exception and ends the run as a failure.
pub fn fatal(regs: &PtRegs, vector: u8, what: &str) -> ! {
    let cpu = percpu::this_cpu();
    let depth = cpu.fatal_depth.get();
    cpu.fatal_depth.set(depth + 1);
    if depth > 0 {
        console::emergency_println(format_args!("[libos] fault while reporting a fault: giving up"));
        power::exit(RunExit::Failure);
    }
    report(regs, vector, what, cpu.index);
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
