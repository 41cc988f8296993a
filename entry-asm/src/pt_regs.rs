//! `struct pt_regs`: the register frame every kernel entry builds, in Linux's
//! x86_64 layout (`arch/x86/include/asm/ptrace.h`).
//!
//! The frame grows down from the top of a kernel stack: the CPU (or, for
//! SYSCALL, the entry code) pushes the five words of the IRET frame
//! (`ss` ... `rip`), the entry pushes `orig_rax` (the syscall number or the
//! exception error code, `-1` when there is none) and then the general
//! registers, `rdi` first and `r15` last, so `r15` sits at the lowest address.

use core::mem::{offset_of, size_of};

/// The saved user (or interrupted kernel) register state.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct PtRegs {
    pub r15: u64,
    pub r14: u64,
    pub r13: u64,
    pub r12: u64,
    pub rbp: u64,
    pub rbx: u64,
    pub r11: u64,
    pub r10: u64,
    pub r9: u64,
    pub r8: u64,
    pub rax: u64,
    pub rcx: u64,
    pub rdx: u64,
    pub rsi: u64,
    pub rdi: u64,
    /// Syscall number on syscall entry; the error code on exceptions that
    /// push one; `-1` on every other exception and on interrupts (the IDT
    /// stubs push it; the vector travels in a register, not here).
    pub orig_rax: u64,
    pub rip: u64,
    pub cs: u64,
    pub rflags: u64,
    pub rsp: u64,
    pub ss: u64,
}

impl PtRegs {
    /// Size of the frame in bytes (21 words).
    pub const SIZE: usize = size_of::<PtRegs>();
    /// Size of the hardware IRET frame at its top (`rip`, `cs`, `rflags`, `rsp`, `ss`).
    pub const IRET_FRAME_SIZE: usize = 5 * 8;

    /// Whether the frame was saved from ring 3.
    pub const fn from_user(&self) -> bool {
        self.cs & 3 == 3
    }
}

/// Byte offset of the `i`-th 8-byte word.
const fn word(i: usize) -> usize {
    i * 8
}

// The layout is Linux's: check every offset, so that a field moved by
// accident breaks the build rather than the entry code.
const _: () = {
    assert!(offset_of!(PtRegs, r15) == word(0));
    assert!(offset_of!(PtRegs, r14) == word(1));
    assert!(offset_of!(PtRegs, r13) == word(2));
    assert!(offset_of!(PtRegs, r12) == word(3));
    assert!(offset_of!(PtRegs, rbp) == word(4));
    assert!(offset_of!(PtRegs, rbx) == word(5));
    assert!(offset_of!(PtRegs, r11) == word(6));
    assert!(offset_of!(PtRegs, r10) == word(7));
    assert!(offset_of!(PtRegs, r9) == word(8));
    assert!(offset_of!(PtRegs, r8) == word(9));
    assert!(offset_of!(PtRegs, rax) == word(10));
    assert!(offset_of!(PtRegs, rcx) == word(11));
    assert!(offset_of!(PtRegs, rdx) == word(12));
    assert!(offset_of!(PtRegs, rsi) == word(13));
    assert!(offset_of!(PtRegs, rdi) == word(14));
    assert!(offset_of!(PtRegs, orig_rax) == word(15));
    assert!(offset_of!(PtRegs, rip) == word(16));
    assert!(offset_of!(PtRegs, cs) == word(17));
    assert!(offset_of!(PtRegs, rflags) == word(18));
    assert!(offset_of!(PtRegs, rsp) == word(19));
    assert!(offset_of!(PtRegs, ss) == word(20));
    assert!(PtRegs::SIZE == word(21));
    // The frame is 8 bytes off a multiple of 16: the CPU pushes SS..RIP
    // onto an aligned RSP0, and a user task's stack keeps
    // `layout::TOP_OF_KERNEL_STACK_PADDING` free above it so that the frame
    // itself starts 16-byte aligned.
    assert!(PtRegs::SIZE % 16 == 8);
};

/// Offsets into [`PtRegs`] as the assembly uses them.
#[allow(missing_docs)]
pub mod off {
    use super::PtRegs;
    use core::mem::offset_of;
    pub const R15: usize = offset_of!(PtRegs, r15);
    pub const RBX: usize = offset_of!(PtRegs, rbx);
    pub const R11: usize = offset_of!(PtRegs, r11);
    pub const RAX: usize = offset_of!(PtRegs, rax);
    pub const RCX: usize = offset_of!(PtRegs, rcx);
    pub const RDI: usize = offset_of!(PtRegs, rdi);
    pub const ORIG_RAX: usize = offset_of!(PtRegs, orig_rax);
    pub const RIP: usize = offset_of!(PtRegs, rip);
    pub const CS: usize = offset_of!(PtRegs, cs);
    pub const RFLAGS: usize = offset_of!(PtRegs, rflags);
    pub const RSP: usize = offset_of!(PtRegs, rsp);
    pub const SS: usize = offset_of!(PtRegs, ss);
}
