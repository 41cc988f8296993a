//! Signals as the Linux x86_64 ABI defines them: numbers, flags, and the
//! structures the signal calls and the signal frame exchange.
//!
//! Sources: `include/uapi/asm-generic/signal-defs.h`,
//! `arch/x86/include/uapi/asm/signal.h` (numbers, `SA_*`, `stack_t`),
//! `include/uapi/asm-generic/siginfo.h` (`siginfo_t`, `si_code`s),
//! `arch/x86/include/uapi/asm/sigcontext.h` (`struct sigcontext` and the
//! `_fpx_sw_bytes` of the extended-state area), `include/uapi/asm-generic/ucontext.h`
//! (`struct ucontext`) and `arch/x86/include/asm/sigframe.h`
//! (`struct rt_sigframe`). Every structure is `#[repr(C)]` with its size and
//! offsets checked at compile time, so the kernel can copy them as bytes and
//! an app built against them also runs under Linux.

use core::mem::{offset_of, size_of};

/// Signal numbers (`arch/x86/include/uapi/asm/signal.h`).
pub mod sig {
    /// Hangup.
    pub const SIGHUP: i32 = 1;
    /// Interrupt from the keyboard.
    pub const SIGINT: i32 = 2;
    /// Quit from the keyboard.
    pub const SIGQUIT: i32 = 3;
    /// Illegal instruction.
    pub const SIGILL: i32 = 4;
    /// Trace/breakpoint trap.
    pub const SIGTRAP: i32 = 5;
    /// Abort (`abort()`).
    pub const SIGABRT: i32 = 6;
    /// Bus error.
    pub const SIGBUS: i32 = 7;
    /// Arithmetic exception.
    pub const SIGFPE: i32 = 8;
    /// Kill (cannot be caught, blocked or ignored).
    pub const SIGKILL: i32 = 9;
    /// User-defined signal 1.
    pub const SIGUSR1: i32 = 10;
    /// Invalid memory reference.
    pub const SIGSEGV: i32 = 11;
    /// User-defined signal 2.
    pub const SIGUSR2: i32 = 12;
    /// Broken pipe.
    pub const SIGPIPE: i32 = 13;
    /// Timer signal from `alarm`.
    pub const SIGALRM: i32 = 14;
    /// Termination.
    pub const SIGTERM: i32 = 15;
    /// Stack fault on a coprocessor (unused).
    pub const SIGSTKFLT: i32 = 16;
    /// Child stopped or ended.
    pub const SIGCHLD: i32 = 17;
    /// Continue if stopped.
    pub const SIGCONT: i32 = 18;
    /// Stop (cannot be caught, blocked or ignored).
    pub const SIGSTOP: i32 = 19;
    /// Stop typed at a terminal.
    pub const SIGTSTP: i32 = 20;
    /// Terminal input for a background process.
    pub const SIGTTIN: i32 = 21;
    /// Terminal output for a background process.
    pub const SIGTTOU: i32 = 22;
    /// Urgent condition on a socket.
    pub const SIGURG: i32 = 23;
    /// CPU time limit exceeded.
    pub const SIGXCPU: i32 = 24;
    /// File size limit exceeded.
    pub const SIGXFSZ: i32 = 25;
    /// Virtual alarm clock.
    pub const SIGVTALRM: i32 = 26;
    /// Profiling timer expired.
    pub const SIGPROF: i32 = 27;
    /// Window resize.
    pub const SIGWINCH: i32 = 28;
    /// I/O now possible.
    pub const SIGIO: i32 = 29;
    /// Power failure.
    pub const SIGPWR: i32 = 30;
    /// Bad system call.
    pub const SIGSYS: i32 = 31;
    /// The first real-time signal (the kernel's number; libcs reserve a few).
    pub const SIGRTMIN: i32 = 32;
    /// The last signal number.
    pub const SIGRTMAX: i32 = 64;
    /// Signals are numbered `1..=NSIG`.
    pub const NSIG: i32 = 64;

    /// The signal's name (`"SIGSEGV"`, `"SIGRT5"` for `SIGRTMIN + 5`).
    pub const fn name(signo: i32) -> &'static str {
        const NAMES: [&str; 32] = [
            "signal 0",
            "SIGHUP",
            "SIGINT",
            "SIGQUIT",
            "SIGILL",
            "SIGTRAP",
            "SIGABRT",
            "SIGBUS",
            "SIGFPE",
            "SIGKILL",
            "SIGUSR1",
            "SIGSEGV",
            "SIGUSR2",
            "SIGPIPE",
            "SIGALRM",
            "SIGTERM",
            "SIGSTKFLT",
            "SIGCHLD",
            "SIGCONT",
            "SIGSTOP",
            "SIGTSTP",
            "SIGTTIN",
            "SIGTTOU",
            "SIGURG",
            "SIGXCPU",
            "SIGXFSZ",
            "SIGVTALRM",
            "SIGPROF",
            "SIGWINCH",
            "SIGIO",
            "SIGPWR",
            "SIGSYS",
        ];
        if signo >= 0 && signo < 32 {
            NAMES[signo as usize]
        } else if signo >= SIGRTMIN && signo <= SIGRTMAX {
            "a real-time signal"
        } else {
            "an invalid signal"
        }
    }
}

/// `sa_handler` value: the signal's default action.
pub const SIG_DFL: u64 = 0;
/// `sa_handler` value: ignore the signal.
pub const SIG_IGN: u64 = 1;

/// `sa_flags` bits (`arch/x86/include/uapi/asm/signal.h`).
pub mod sa {
    /// Do not send SIGCHLD when children stop.
    pub const SA_NOCLDSTOP: u64 = 0x0000_0001;
    /// Do not create zombies.
    pub const SA_NOCLDWAIT: u64 = 0x0000_0002;
    /// The handler takes three arguments (`siginfo_t *`, `ucontext *`).
    pub const SA_SIGINFO: u64 = 0x0000_0004;
    /// Report unsupported flags back in the old action (Linux 5.11).
    pub const SA_UNSUPPORTED: u64 = 0x0000_0400;
    /// Expose the tag bits of `si_addr` (arm64; accepted).
    pub const SA_EXPOSE_TAGBITS: u64 = 0x0000_0800;
    /// `sa_restorer` holds the address the handler returns to (it calls
    /// `rt_sigreturn`); required on x86_64.
    pub const SA_RESTORER: u64 = 0x0400_0000;
    /// Run the handler on the alternate signal stack.
    pub const SA_ONSTACK: u64 = 0x0800_0000;
    /// Restart a system call the signal interrupted.
    pub const SA_RESTART: u64 = 0x1000_0000;
    /// Do not block the signal while its handler runs.
    pub const SA_NODEFER: u64 = 0x4000_0000;
    /// Reset the action to `SIG_DFL` when the handler is entered.
    pub const SA_RESETHAND: u64 = 0x8000_0000;
    /// Every flag the kernel keeps (others are cleared, as Linux does).
    pub const KNOWN: u64 = SA_NOCLDSTOP
        | SA_NOCLDWAIT
        | SA_SIGINFO
        | SA_EXPOSE_TAGBITS
        | SA_RESTORER
        | SA_ONSTACK
        | SA_RESTART
        | SA_NODEFER
        | SA_RESETHAND;
}

/// `rt_sigprocmask`'s `how`.
pub mod how {
    /// Add the set to the blocked signals.
    pub const SIG_BLOCK: i32 = 0;
    /// Remove the set from the blocked signals.
    pub const SIG_UNBLOCK: i32 = 1;
    /// Replace the blocked signals with the set.
    pub const SIG_SETMASK: i32 = 2;
}

/// `stack_t`'s `ss_flags`.
pub mod ss {
    /// The thread runs on the alternate stack (reported only).
    pub const SS_ONSTACK: i32 = 1;
    /// The alternate stack is off.
    pub const SS_DISABLE: i32 = 2;
    /// Disarm the alternate stack while a handler runs on it (Linux 4.7).
    pub const SS_AUTODISARM: i32 = 1 << 31;
    /// The smallest alternate stack `sigaltstack` accepts (`MINSIGSTKSZ`).
    pub const MINSIGSTKSZ: u64 = 2048;
}

/// `si_code` values (`include/uapi/asm-generic/siginfo.h`).
pub mod si_code {
    /// Sent by `kill`.
    pub const SI_USER: i32 = 0;
    /// Sent by the kernel.
    pub const SI_KERNEL: i32 = 0x80;
    /// Sent by `tkill` or `tgkill`.
    pub const SI_TKILL: i32 = -6;
    /// SIGSEGV: address not mapped.
    pub const SEGV_MAPERR: i32 = 1;
    /// SIGSEGV: access not permitted by the mapping.
    pub const SEGV_ACCERR: i32 = 2;
    /// SIGBUS: misaligned address.
    pub const BUS_ADRALN: i32 = 1;
    /// SIGILL: illegal opcode.
    pub const ILL_ILLOPN: i32 = 2;
    /// SIGFPE: integer divide by zero.
    pub const FPE_INTDIV: i32 = 1;
    /// SIGFPE: floating-point divide by zero.
    pub const FPE_FLTDIV: i32 = 3;
    /// SIGFPE: floating-point invalid operation.
    pub const FPE_FLTINV: i32 = 7;
    /// SIGTRAP: breakpoint.
    pub const TRAP_BRKPT: i32 = 1;
    /// SIGTRAP: single step.
    pub const TRAP_TRACE: i32 = 2;
}

/// What `rt_sigaction` reads and writes: the kernel's `struct sigaction`
/// on x86_64 (`sa_handler`, `sa_flags`, `sa_restorer`, `sa_mask`), which is
/// not libc's (libc's has a 128-byte mask first).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SigAction {
    /// `SIG_DFL`, `SIG_IGN` or the handler's address.
    pub handler: u64,
    /// `SA_*` bits.
    pub flags: u64,
    /// Where the handler returns to (`SA_RESTORER`).
    pub restorer: u64,
    /// Signals blocked while the handler runs (bit `n - 1` for signal `n`).
    pub mask: u64,
}

/// An alternate signal stack: `stack_t`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StackT {
    /// Its lowest address.
    pub ss_sp: u64,
    /// `SS_*` bits.
    pub ss_flags: i32,
    /// Padding (zero).
    pub _pad: i32,
    /// Its size in bytes.
    pub ss_size: u64,
}

/// `siginfo_t`: 128 bytes. The union after the first three fields is kept
/// as words: for `kill`/`tgkill` word 0 holds `si_pid` (low half) and
/// `si_uid` (high half); for a fault it holds `si_addr`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SigInfo {
    /// The signal number.
    pub si_signo: i32,
    /// An errno value (0 here).
    pub si_errno: i32,
    /// Why it was sent (`si_code`).
    pub si_code: i32,
    /// Padding before the union (it is 8-byte aligned).
    pub _pad: i32,
    /// The union `_sifields`.
    pub fields: [u64; 14],
}

impl SigInfo {
    /// `si_addr` (faults).
    pub const fn addr(&self) -> u64 {
        self.fields[0]
    }

    /// `si_pid` (`kill`, `tgkill`).
    pub const fn pid(&self) -> i32 {
        self.fields[0] as u32 as i32
    }

    /// `si_uid` (`kill`, `tgkill`).
    pub const fn uid(&self) -> u32 {
        (self.fields[0] >> 32) as u32
    }
}

/// The saved registers in a signal frame: the 64-bit `struct sigcontext`
/// (`uc_mcontext`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct SigContext {
    pub r8: u64,
    pub r9: u64,
    pub r10: u64,
    pub r11: u64,
    pub r12: u64,
    pub r13: u64,
    pub r14: u64,
    pub r15: u64,
    pub rdi: u64,
    pub rsi: u64,
    pub rbp: u64,
    pub rbx: u64,
    pub rdx: u64,
    pub rax: u64,
    pub rcx: u64,
    pub rsp: u64,
    pub rip: u64,
    pub eflags: u64,
    pub cs: u16,
    pub gs: u16,
    pub fs: u16,
    pub ss: u16,
    /// The exception's error code (faults), else 0.
    pub err: u64,
    /// The exception's vector (faults), else 0.
    pub trapno: u64,
    /// The blocked signals before the handler (as `uc_sigmask`).
    pub oldmask: u64,
    /// The faulting address (page faults), else 0.
    pub cr2: u64,
    /// Address of the extended-state area (`struct _fpstate`), 0 for none.
    pub fpstate: u64,
    /// Reserved (zero).
    pub reserved1: [u64; 8],
}

/// `struct ucontext` (the handler's third argument).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UContext {
    /// `UC_*` bits.
    pub uc_flags: u64,
    /// Unused (0).
    pub uc_link: u64,
    /// The alternate stack as it was before the handler.
    pub uc_stack: StackT,
    /// The interrupted registers.
    pub uc_mcontext: SigContext,
    /// The blocked signals to restore.
    pub uc_sigmask: u64,
}

/// `uc_flags` bits (`arch/x86/include/uapi/asm/ucontext.h`).
pub mod uc {
    /// The frame has an XSAVE-format extended-state area.
    pub const UC_FP_XSTATE: u64 = 0x1;
    /// `uc_mcontext.ss` holds the interrupted SS.
    pub const UC_SIGCONTEXT_SS: u64 = 0x2;
    /// `rt_sigreturn` restores SS from the frame.
    pub const UC_STRICT_RESTORE_SS: u64 = 0x4;
}

/// The start of the frame the handler finds at its RSP:
/// `struct rt_sigframe` (`pretcode`, `uc`, `info`); the extended-state area
/// lies above it, 64-byte aligned.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RtSigFrame {
    /// The return address: `sa_restorer`.
    pub pretcode: u64,
    /// The context.
    pub uc: UContext,
    /// The signal's information.
    pub info: SigInfo,
}

/// The software bytes at offset 464 of the extended-state area's legacy
/// region (`struct _fpx_sw_bytes`), which say the area is in XSAVE format.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FpxSwBytes {
    /// [`FP_XSTATE_MAGIC1`].
    pub magic1: u32,
    /// The area's size plus the 4 bytes of [`FP_XSTATE_MAGIC2`].
    pub extended_size: u32,
    /// The components in the area (XCR0).
    pub xfeatures: u64,
    /// The area's size (without the trailing magic).
    pub xstate_size: u32,
    /// Reserved (zero).
    pub padding: [u32; 7],
}

/// `_fpx_sw_bytes.magic1`: the area is in XSAVE format.
pub const FP_XSTATE_MAGIC1: u32 = 0x4650_5853;
/// The word right after the XSAVE area.
pub const FP_XSTATE_MAGIC2: u32 = 0x4650_5845;
/// Offset of [`FpxSwBytes`] in the extended-state area.
pub const FPX_SW_BYTES_OFFSET: usize = 464;
/// Bytes below the interrupted RSP a frame leaves alone (the red zone).
pub const RED_ZONE: u64 = 128;

// The layouts are Linux's (sizes and offsets from its headers).
const _: () = {
    assert!(size_of::<SigAction>() == 32);
    assert!(size_of::<StackT>() == 24);
    assert!(offset_of!(StackT, ss_size) == 16);
    assert!(size_of::<SigInfo>() == 128);
    assert!(offset_of!(SigInfo, fields) == 16);
    assert!(size_of::<SigContext>() == 256);
    assert!(offset_of!(SigContext, rsp) == 120);
    assert!(offset_of!(SigContext, rip) == 128);
    assert!(offset_of!(SigContext, eflags) == 136);
    assert!(offset_of!(SigContext, cs) == 144);
    assert!(offset_of!(SigContext, ss) == 150);
    assert!(offset_of!(SigContext, err) == 152);
    assert!(offset_of!(SigContext, cr2) == 176);
    assert!(offset_of!(SigContext, fpstate) == 184);
    assert!(size_of::<UContext>() == 304);
    assert!(offset_of!(UContext, uc_stack) == 16);
    assert!(offset_of!(UContext, uc_mcontext) == 40);
    assert!(offset_of!(UContext, uc_sigmask) == 296);
    assert!(size_of::<RtSigFrame>() == 440);
    assert!(offset_of!(RtSigFrame, uc) == 8);
    assert!(offset_of!(RtSigFrame, info) == 312);
    assert!(size_of::<FpxSwBytes>() == 48);
    assert!(FPX_SW_BYTES_OFFSET + size_of::<FpxSwBytes>() == 512);
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(sig::name(sig::SIGSEGV), "SIGSEGV");
        assert_eq!(sig::name(sig::SIGSYS), "SIGSYS");
        assert_eq!(sig::name(40), "a real-time signal");
        assert_eq!(sig::name(65), "an invalid signal");
        assert_eq!(sig::name(-1), "an invalid signal");
    }

    #[test]
    fn siginfo_fields() {
        let mut i = SigInfo::default();
        i.fields[0] = (7u64 << 32) | 42;
        assert_eq!(i.pid(), 42);
        assert_eq!(i.uid(), 7);
        assert_eq!(i.addr(), (7u64 << 32) | 42);
    }
}
