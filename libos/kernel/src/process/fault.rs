//! What happens when a fault or a signal ends an app: the kernel ends it
//! with a report.
//!
//! A CPU exception raised by ring 3 that the kernel cannot resolve (demand
//! paging resolves the rest) and that no signal handler takes
//! (`crate::signal::fault`), a signal whose default action ends the
//! process, or a signal frame the kernel cannot write or read back, ends
//! the whole app, like an unhandled signal ends a Linux process, with a
//! one-paragraph report naming the app, the thread, what happened, where,
//! and the registers.

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
use crate::signal::frame::{RestoreError, SetupError};
use libos_abi::signal::{si_code, sig};
use libos_kcore::signal::PendingInfo;

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
    /// A signal whose action is the default one, which ends the process.
    Signal {
        /// The signal.
        info: PendingInfo,
    },
    /// A handler's frame could not be written: the app ends with SIGSEGV.
    SignalFrame {
        /// The signal whose handler could not run.
        info: PendingInfo,
        /// Why.
        why: SetupError,
    },
    /// `rt_sigreturn` found a frame it refuses, and SIGSEGV has no handler
    /// that could run.
    BadSigreturn {
        /// Why.
        why: RestoreError,
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
    // A child process ended by a signal another process sent it (a shell
    // ending a pipeline, a parent's `kill`) is ordinary: its one line is
    // enough, its registers say nothing.
    let sent_to_child = matches!(cause, Cause::Signal { info } if !info.fault) && process.has_parent();
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
        Cause::Signal { info } => {
            p(format_args!(
                "[libos] app '{}' (pid {}, {thread}) killed by {}: {}",
                process.name,
                process.pid,
                sig::name(info.signo),
                SignalSource(&info)
            ));
            (info.signo as u8, exception_of(&info), info.word0)
        }
        Cause::SignalFrame { info, why } => {
            let what = match why {
                SetupError::NoRestorer => "its action has no SA_RESTORER",
                SetupError::NoRoom => "no room for the frame on the handler's stack, below",
                SetupError::Unwritable(_) => "the handler's stack is not writable at",
            };
            let at = if let SetupError::Unwritable(a) = why { a } else { regs.rsp };
            p(format_args!(
                "[libos] app '{}' (pid {}, {thread}) killed by SIGSEGV: could not deliver {} ({}): {what} {at:#x}",
                process.name,
                process.pid,
                sig::name(info.signo),
                SignalSource(&info)
            ));
            (signal::SIGSEGV, exception_of(&info), info.word0)
        }
        Cause::BadSigreturn { why } => {
            p(format_args!(
                "[libos] app '{}' (pid {}, {thread}) killed by SIGSEGV: rt_sigreturn refused the frame at {:#x}: {why:?}",
                process.name,
                process.pid,
                regs.rsp.wrapping_sub(8)
            ));
            (signal::SIGSEGV, None, 0)
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
    if !sent_to_child {
        p(format_args!(
            "  RIP {:#018x} RSP {:#018x} RFLAGS {:#010x} CS {:#x} SS {:#x}",
            regs.rip, regs.rsp, regs.rflags, regs.cs, regs.ss
        ));
        p(format_args!(
            "  RAX {:#018x} RBX {:#018x} RCX {:#018x} RDX {:#018x}",
            regs.rax, regs.rbx, regs.rcx, regs.rdx
        ));
        p(format_args!("  RSI {:#018x} RDI {:#018x} RBP {:#018x} R8  {:#018x}", regs.rsi, regs.rdi, regs.rbp, regs.r8));
        p(format_args!("  R9  {:#018x} R10 {:#018x} R11 {:#018x} R12 {:#018x}", regs.r9, regs.r10, regs.r11, regs.r12));
        p(format_args!("  R13 {:#018x} R14 {:#018x} R15 {:#018x}", regs.r13, regs.r14, regs.r15));
    }
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

/// The exception a signal came from, if it came from one (so a test that
/// expects the exception sees it even when the handler could not run).
fn exception_of(info: &PendingInfo) -> Option<u8> {
    info.fault.then_some(info.trapno as u8)
}

/// Where a signal came from, in words.
struct SignalSource<'a>(&'a PendingInfo);

impl core::fmt::Display for SignalSource<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let i = self.0;
        if i.fault {
            return write!(f, "from {} (vector {}), address {:#x}", mnemonic(i.trapno as u8), i.trapno, i.word0);
        }
        match i.code {
            si_code::SI_USER => write!(f, "sent with kill by pid {}", i.word0 as u32),
            si_code::SI_TKILL => write!(f, "sent with tgkill by pid {}", i.word0 as u32),
            code => write!(f, "si_code {code}"),
        }
    }
}
