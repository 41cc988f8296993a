//! What happens when an app faults: the kernel ends it with a report.
//!
//! There are no signal handlers: a CPU exception raised by ring 3 that the
//! kernel cannot resolve (demand paging resolves the rest) ends the whole
//! app, like an unhandled signal ends a Linux process, with a one-paragraph
//! report naming the app, the thread, what happened, where, and the
//! registers.

use entry_asm::hw::vector;
use entry_asm::layout::{USER_END, USER_MIN};
use entry_asm::pt_regs::PtRegs;
use libos_kcore::address_class::AddressClass;
use x86_64::registers::control::Cr2;

use super::{ExitStatus, Kill, signal};
use crate::arch::x86_64::exceptions::{description, mnemonic, page_fault_reasons};
use crate::console;
use crate::mm::address_space::FaultError;
use crate::sched;

/// The signal Linux would send for an exception vector.
pub const fn signal_for(v: u8) -> u8 {
    match v {
        vector::DE | vector::MF | vector::XM => signal::SIGFPE,
        vector::DB | vector::BP => signal::SIGTRAP,
        vector::UD => signal::SIGILL,
        vector::AC => signal::SIGBUS,
        _ => signal::SIGSEGV,
    }
}

/// Why, in words, for the report.
pub enum Cause {
    /// A CPU exception.
    Exception {
        /// The vector.
        vector: u8,
        /// For page faults: why the kernel could not resolve it.
        page_fault: Option<FaultError>,
    },
    /// The IRET back to ring 3 faulted: the app's return frame was invalid.
    BadReturn {
        /// The exception raised by IRET.
        vector: u8,
        /// The RIP the kernel was asked to return to.
        target: u64,
    },
}

/// "thread 7 'worker'", as the report names a thread.
struct ThreadLabel<'a> {
    tid: u32,
    name: &'a str,
}

impl core::fmt::Display for ThreadLabel<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "thread {} '{}'", self.tid, self.name)
    }
}

/// Prints the kill report and ends the running app. Never returns.
pub fn kill_current(regs: &PtRegs, cause: Cause) -> ! {
    let task = sched::current();
    let process = task.process.clone().expect("a fault from ring 3 belongs to an app");
    let p = |args: core::fmt::Arguments<'_>| console::emergency_println(args);
    // Another CPU may hold the name's lock for a moment (prctl); never wait
    // on it in a report.
    let name = task.name.try_lock().map(|n| *n).unwrap_or_default();
    let thread = ThreadLabel { tid: task.tid, name: name.as_str() };
    let (signo, vec, address) = match cause {
        Cause::Exception { vector: v, page_fault } => {
            let cr2 = Cr2::read_raw();
            let signo = match page_fault {
                Some(FaultError::OutOfMemory) => signal::SIGKILL,
                Some(FaultError::PastEndOfFile) => signal::SIGBUS,
                _ => signal_for(v),
            };
            p(format_args!(
                "[libos] app '{}' (pid {}, {thread}) killed by {}: {} {} (vector {v}) in ring 3 at RIP {:#x}",
                process.name,
                process.pid,
                signal::name(signo),
                mnemonic(v),
                description(v),
                regs.rip
            ));
            if v == vector::PF {
                let mut why = heapless::String::<128>::new();
                let _ = page_fault_reasons(regs.orig_rax, &mut why);
                let what = match page_fault {
                    Some(FaultError::Unmapped) => "no mapping there",
                    Some(FaultError::StackOverflow) => "stack overflow (into the guard gap below the stack)",
                    Some(FaultError::Protection) => "the mapping does not allow this access",
                    Some(FaultError::OutOfMemory) => "out of memory",
                    Some(FaultError::PastEndOfFile) => "past the end of the mapped file",
                    None => AddressClass::of(cr2, USER_MIN, USER_END).describe(),
                };
                p(format_args!("  faulting address {cr2:#x}: {what} ({why})"));
            } else if regs.orig_rax != u64::MAX {
                p(format_args!("  error code {:#x}", regs.orig_rax));
            }
            (signo, Some(v), if v == vector::PF { cr2 } else { 0 })
        }
        Cause::BadReturn { vector: v, target } => {
            p(format_args!(
                "[libos] app '{}' (pid {}, {thread}) killed by SIGSEGV: returning to it faulted ({} {}): \
                 return address {target:#x} is not a valid user address",
                process.name,
                process.pid,
                mnemonic(v),
                description(v)
            ));
            (signal::SIGSEGV, Some(v), target)
        }
    };
    p(format_args!(
        "  RIP {:#018x} RSP {:#018x} RFLAGS {:#010x} CS {:#x} SS {:#x}",
        regs.rip, regs.rsp, regs.rflags, regs.cs, regs.ss
    ));
    p(format_args!("  RAX {:#018x} RBX {:#018x} RCX {:#018x} RDX {:#018x}", regs.rax, regs.rbx, regs.rcx, regs.rdx));
    p(format_args!("  RSI {:#018x} RDI {:#018x} RBP {:#018x} R8  {:#018x}", regs.rsi, regs.rdi, regs.rbp, regs.r8));
    p(format_args!("  R9  {:#018x} R10 {:#018x} R11 {:#018x} R12 {:#018x}", regs.r9, regs.r10, regs.r11, regs.r12));
    p(format_args!("  R13 {:#018x} R14 {:#018x} R15 {:#018x}", regs.r13, regs.r14, regs.r15));
    process.exit_group(ExitStatus::Killed(Kill {
        signo,
        vector: vec,
        rip: regs.rip,
        address,
        error_code: regs.orig_rax,
        tid: task.tid,
        thread_name: name,
    }));
    drop(task);
    drop(process);
    sched::exit_current()
}
