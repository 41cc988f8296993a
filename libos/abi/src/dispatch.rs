//! The kernel's system call table: what the [`syscalls`](crate::syscalls)
//! expansion fills in, and the one function that indexes it.
//!
//! Like Linux's `sys_call_table` (`arch/x86/entry/syscall_64.c`), the table
//! is dense and every number without a call holds [`ni_syscall`] (Linux's
//! `sys_ni_syscall`), so dispatching is one bounds check, one
//! [speculation clamp](crate::nospec::array_index_nospec) and one indirect
//! call. The calls of the test and benchmark hooks (numbers from 1024) sit
//! in a second, small table that only test and bench kernels fill; a
//! production kernel's is empty, and its hook numbers get `-ENOSYS` like
//! any number nothing answers.
//!
//! An entry returns its result for RAX and whether the call may have
//! rewritten the caller's other saved registers ([`SyscallResult`]): only
//! the calls declared `#[rewrites_frame]` can (their handlers alone get a
//! [`RewritesFrame`]), and the kernel checks a rewritten frame whole
//! before it returns with SYSRET. Both travel in registers.

use crate::errno::Errno;
use crate::nospec::array_index_nospec;

/// An entry of the table: decodes the arguments from the context, runs the
/// handler and returns its raw result.
pub type SyscallHandler<C> = fn(&mut C) -> SyscallResult;

/// What a call returns to the entry path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyscallResult {
    /// The value for RAX: the result, `-errno` on failure.
    pub ret: i64,
    /// The call is declared `#[rewrites_frame]`: it may have changed the
    /// caller's other saved registers (where or how it returns), which must
    /// then all be checked before SYSRET (the kernel's `sysret_is_safe`).
    pub frame_rewritten: bool,
}

impl SyscallResult {
    /// The result of a call that left the frame alone.
    pub const fn value(ret: i64) -> SyscallResult {
        SyscallResult { ret, frame_rewritten: false }
    }
}

/// What lets a handler rewrite its caller's saved registers: the table
/// hands one to the handlers of calls declared `#[rewrites_frame]` and to
/// no other, so the compiler refuses a rewrite the return path would not
/// check. A kernel's context takes it for its mutable registers.
#[derive(Debug)]
pub struct RewritesFrame(());

impl RewritesFrame {
    /// A token for the handler of a call declared `#[rewrites_frame]`.
    ///
    /// # Safety
    /// Only the table's entry of such a call makes one: the entry path
    /// checks a frame whole only when the entry says it may have been
    /// rewritten, and a token elsewhere would let a handler rewrite one
    /// unchecked (SYSRET to a non-canonical RIP faults in ring 0).
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
}

/// The entry of every number without a call: `-ENOSYS` (Linux's
/// `sys_ni_syscall`, `kernel/sys_ni.c`).
pub fn ni_syscall<C>(_cx: &mut C) -> SyscallResult {
    SyscallResult::value(Errno::ENOSYS.to_ret())
}

/// A system call table over contexts `C`: `ABI` entries for numbers
/// `0..ABI`, and the hook entries from `first_hook` on.
pub struct SyscallTable<C: 'static, const ABI: usize> {
    abi: [SyscallHandler<C>; ABI],
    first_hook: u64,
    hooks: &'static [SyscallHandler<C>],
}

impl<C: 'static, const ABI: usize> SyscallTable<C, ABI> {
    /// A table; the expansion of the declaration makes them
    /// (`DispatchTable::ABI`, `DispatchTable::WITH_HOOKS`).
    pub const fn new(abi: [SyscallHandler<C>; ABI], first_hook: u64, hooks: &'static [SyscallHandler<C>]) -> Self {
        assert!(ABI > 0 && first_hook >= ABI as u64, "the hook numbers lie above the ABI's");
        SyscallTable { abi, first_hook, hooks }
    }

    /// Runs call `nr` with `cx` and returns its result: `-ENOSYS` for a
    /// number the table has no call for.
    ///
    /// One bounds check, the clamp, one indirect call. The hook part is
    /// reached only by numbers past the ABI's; with no hooks (a production
    /// kernel's `static` table) the compiler folds it away.
    #[inline(always)]
    pub fn dispatch(&self, cx: &mut C, nr: u64) -> SyscallResult {
        if nr < ABI as u64 {
            let index = array_index_nospec(nr as usize, ABI);
            // SAFETY: `array_index_nospec` returns an index below `ABI`
            // (here `nr` itself), the length of `abi`.
            let handler = unsafe { *self.abi.get_unchecked(index) };
            return handler(cx);
        }
        let hook = nr.wrapping_sub(self.first_hook);
        if hook < self.hooks.len() as u64 {
            let handler = self.hooks[array_index_nospec(hook as usize, self.hooks.len())];
            return handler(cx);
        }
        SyscallResult::value(Errno::ENOSYS.to_ret())
    }
}
