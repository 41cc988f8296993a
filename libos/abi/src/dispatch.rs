//! The kernel's system call table: what the [`syscalls`](crate::syscalls)
//! expansion fills in, and the one function that indexes it.
//!
//! Like Linux's `sys_call_table` (`arch/x86/entry/syscall_64.c`), the table
//! is dense and every number without a call holds the kernel's
//! `Syscalls::ni_syscall` (Linux's `sys_ni_syscall`; by default
//! [`ni_syscall`], `-ENOSYS`). One more entry follows the ABI's, for every number
//! past them: dispatching is one bounds check that is also the
//! [speculation clamp](crate::nospec::index_clamp_nospec) (a compare and a
//! conditional move: numbers past the table index that last entry, also on
//! a mispredicted path) and one indirect call, with no other branch. The
//! last entry is `ni_syscall` too. A production kernel's table ends with the
//! ABI, so its hook numbers get `-ENOSYS` like any number nothing answers;
//! a test or benchmark kernel's reaches up to the hooks (numbers from 1024),
//! with `ni_syscall` in between.
//!
//! An entry returns the value for RAX. The calls declared
//! `#[rewrites_frame]` may have rewritten the caller's other saved
//! registers (their handlers alone get a [`RewritesFrame`]); their entries
//! say so through the context ([`SyscallArgs::note_frame_rewritten`]: the
//! kernel sets a bit in the thread's flags word), and the kernel checks such
//! a frame whole before it returns with SYSRET.

use crate::errno::Errno;

use core::mem::{offset_of, size_of};

use crate::nospec::index_clamp_nospec;

/// An entry of the table: decodes the arguments from the context, runs the
/// handler and returns its raw result for RAX (the value, `-errno` on
/// failure).
pub type SyscallHandler<C> = fn(&mut C) -> i64;

/// What lets a handler rewrite its caller's saved registers: the table
/// hands one to the handlers of calls declared `#[rewrites_frame]` (after
/// telling the context, [`SyscallArgs::note_frame_rewritten`]) and to no
/// other, so the compiler refuses a rewrite the return path would not
/// check. A kernel's context takes it for its mutable registers.
#[derive(Debug)]
pub struct RewritesFrame(());

impl RewritesFrame {
    /// A token for the handler of a call declared `#[rewrites_frame]`.
    ///
    /// # Safety
    /// Only the table's entry of such a call makes one, after calling
    /// [`SyscallArgs::note_frame_rewritten`]: the entry path checks a frame
    /// whole only when told it may have been rewritten, and a token
    /// elsewhere would let a handler rewrite one unchecked (SYSRET to a
    /// non-canonical RIP faults in ring 0).
    #[doc(hidden)]
    pub const unsafe fn new() -> RewritesFrame {
        RewritesFrame(())
    }
}

/// Where the table's entries read a call's arguments: the kernel's context
/// for the calling thread (its saved registers).
pub trait SyscallArgs {
    /// Argument `index`, 0 to 5: RDI, RSI, RDX, R10, R8, R9 (the Linux
    /// x86_64 system call convention).
    fn arg(&self, index: usize) -> u64;

    /// Called by the entry of a call declared `#[rewrites_frame]` before its
    /// handler runs: the caller's saved registers may change, and the
    /// return path must check them all before it may use SYSRET.
    fn note_frame_rewritten(&mut self);
}

/// The entry of every number without a call, unless the kernel overrides
/// `Syscalls::ni_syscall`: `-ENOSYS` (Linux's `sys_ni_syscall`,
/// `kernel/sys_ni.c`).
pub fn ni_syscall<C>(_cx: &mut C) -> i64 {
    Errno::ENOSYS.to_ret()
}

/// A system call table over contexts `C`: `ABI` entries for numbers
/// `0..ABI`, then the entry of every larger number, back to back in memory
/// (`repr(C)`), so that one clamped index reaches all `ABI + 1`.
#[repr(C)]
pub struct SyscallTable<C: 'static, const ABI: usize> {
    abi: [SyscallHandler<C>; ABI],
    beyond: SyscallHandler<C>,
}

impl<C: 'static, const ABI: usize> SyscallTable<C, ABI> {
    /// A table; the expansion of the declaration makes them
    /// (`DispatchTable::ABI` and `DispatchTable::WITH_HOOKS`, whose `beyond`
    /// is the kernel's `Syscalls::ni_syscall`).
    pub const fn new(abi: [SyscallHandler<C>; ABI], beyond: SyscallHandler<C>) -> Self {
        assert!(ABI > 0, "an empty table");
        assert!(
            offset_of!(Self, beyond) == ABI * size_of::<SyscallHandler<C>>(),
            "the entry past the ABI's follows them directly"
        );
        SyscallTable { abi, beyond }
    }

    /// Runs call `nr` with `cx` and returns its result for RAX: `-ENOSYS`
    /// for a number the table has no call for.
    ///
    /// One compare and conditional move (the bounds check and the clamp:
    /// every `nr >= ABI` becomes `ABI`), one indirect call.
    #[inline(always)]
    pub fn dispatch(&self, cx: &mut C, nr: u64) -> i64 {
        let index = index_clamp_nospec(nr, ABI);
        // SAFETY: `index <= ABI`; `repr(C)` lays `abi` (ABI entries) and
        // `beyond` out back to back from the start of `self` (checked in
        // `new`), so entry `index` lies inside `*self` and is initialized.
        let handler = unsafe { *(self as *const Self as *const SyscallHandler<C>).add(index) };
        handler(cx)
    }
}
