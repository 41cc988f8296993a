//! The system calls: this kernel's handlers for the table declared in
//! `libos_abi::syscalls`.
//!
//! The declaration groups the calls by topic, one trait each; every topic
//! is implemented for [`Kernel`] in the file of the same name here, with the
//! handlers' bodies (`fn mmap` is in `memory.rs`). The compiler refuses a
//! missing handler or a signature that differs from the declaration, and the
//! generated table (`DispatchTable`) binds each number to its handler: the
//! entry path calls [`dispatch`], which indexes it.
//!
//! Adding a call: declare it in its topic in `libos_abi::syscalls` (Linux's
//! number, its documentation), then write its handler in that topic's
//! `impl` here. A new topic is a new trait there and a new file here.

mod descriptors;
mod files;
mod info;
mod io;
mod memory;
mod process;
mod readiness;
mod sched;
mod signals;
mod sockets;
mod thread;
mod time;
// What static Linux programs call besides (issue 13).
mod clocks;
mod identity;
mod limits;
mod memory_advice;
// Calls ordinary C programs make (the C sweep's).
mod interval_timers;
mod memory_locks;
mod priorities;
mod thread_runtime;
mod unknown;
// The test and benchmark hooks: only in kernels built for them.
#[cfg(feature = "hooks")]
mod hooks;

use core::fmt::Write;

use entry_asm::pt_regs::PtRegs;
use libos_abi::dispatch::{RewritesFrame, SyscallArgs, SyscallTable};
#[cfg(not(feature = "hooks"))]
use libos_abi::syscalls::ABI_TABLE_LEN;
#[cfg(feature = "hooks")]
use libos_abi::syscalls::WITH_HOOKS_TABLE_LEN;
use libos_abi::syscalls::{DispatchTable, Syscalls, nr, trace_call, trace_result};

/// What a handler works on: the calling thread's saved registers, its
/// `pt_regs` (the very frame the entry built: `&mut Cx` is `&mut PtRegs`,
/// so it costs nothing to make).
#[repr(transparent)]
pub struct Cx(PtRegs);

impl Cx {
    /// The context of the call whose frame is `regs`.
    fn of(regs: &mut PtRegs) -> &mut Cx {
        // SAFETY: `Cx` is a `repr(transparent)` wrapper of `PtRegs`; the
        // borrow is the one given.
        unsafe { &mut *(regs as *mut PtRegs as *mut Cx) }
    }

    /// The caller's saved registers.
    pub fn regs(&self) -> &PtRegs {
        &self.0
    }

    /// The caller's saved registers, to change where or how it returns:
    /// only for the handlers of calls declared `#[rewrites_frame]` (they
    /// alone get the token), whose return the entry path checks whole.
    pub fn regs_mut(&mut self, _frame: RewritesFrame) -> &mut PtRegs {
        &mut self.0
    }
}

impl SyscallArgs for Cx {
    /// A bit in the thread's flags word: the syscall exit then checks the
    /// whole frame (`trap::syscall`).
    fn note_frame_rewritten(&mut self) {
        crate::sched::thread_flags::set_current(crate::sched::thread_flags::bit::SYSCALL_FRAME_REWRITTEN);
    }

    #[inline(always)]
    fn arg(&self, index: usize) -> u64 {
        let regs = &self.0;
        match index {
            0 => regs.rdi,
            1 => regs.rsi,
            2 => regs.rdx,
            3 => regs.r10,
            4 => regs.r8,
            _ => regs.r9,
        }
    }
}

/// The kernel, as the implementor of the syscall table's topics.
pub enum Kernel {}

impl Syscalls for Kernel {
    type Context = Cx;

    /// `-ENOSYS`, and the first time a number comes here, a line naming the
    /// call the program is missing (`unknown`): only numbers without a
    /// call reach this entry, so no other call pays for the report.
    fn ni_syscall(cx: &mut Cx) -> i64 {
        unknown::ni_syscall(cx.0.orig_rax)
    }
}

/// The table the entry path indexes: the ABI alone in a production kernel,
/// whose hook numbers then answer -ENOSYS like any unknown number.
#[cfg(not(feature = "hooks"))]
static TABLE: SyscallTable<Cx, ABI_TABLE_LEN> = DispatchTable::<Kernel>::ABI;
/// The table the entry path indexes: the ABI and the test and benchmark
/// hooks.
#[cfg(feature = "hooks")]
static TABLE: SyscallTable<Cx, WITH_HOOKS_TABLE_LEN> = DispatchTable::<Kernel>::WITH_HOOKS;

/// Runs the syscall in `regs` (number in `orig_rax`, arguments in the
/// argument registers) and stores its result in `regs.rax`. A call declared
/// `#[rewrites_frame]` sets `SYSCALL_FRAME_REWRITTEN` in the thread's flags
/// word, so that the return path checks the whole frame before it may use
/// SYSRET. A number without a call reaches the table's `ni_syscall`
/// (`-ENOSYS`, reported once per number).
#[inline(always)]
pub fn dispatch(regs: &mut PtRegs) {
    let number = regs.orig_rax;
    regs.rax = TABLE.dispatch(Cx::of(regs), number) as u64;
}

/// `dispatch` with every call printed (`strace` on the command line: the
/// entry then calls `do_syscall_64_traced`, which calls this).
#[inline(never)]
pub fn dispatch_traced(regs: &mut PtRegs) {
    let number = regs.orig_rax;
    let args = [regs.rdi, regs.rsi, regs.rdx, regs.r10, regs.r8, regs.r9];
    if number == nr::EXIT || number == nr::EXIT_GROUP {
        print_trace(number, &args, None);
    }
    let ret = TABLE.dispatch(Cx::of(regs), number);
    regs.rax = ret as u64;
    print_trace(number, &args, Some(ret));
}

fn print_trace(number: u64, args: &[u64; 6], ret: Option<i64>) {
    let mut line = heapless::String::<256>::new();
    let pid = crate::process::current().map_or(0, |p| p.pid);
    let _ = write!(line, "[strace {pid}] ");
    if !unknown::trace_call(number, args, &mut line) {
        let _ = trace_call(number, args, &mut line);
    }
    match ret {
        Some(r) => {
            let _ = trace_result(number, r, &mut line);
        }
        None => {
            let _ = write!(line, " = ?");
        }
    }
    crate::println!("{line}");
}
