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

use crate::errno::Errno;
use crate::nospec::array_index_nospec;

/// An entry of the table: decodes the arguments from the context, runs the
/// handler and returns the raw result for RAX (`-errno` on failure).
pub type SyscallHandler<C> = fn(&mut C) -> i64;

/// Where the table's entries read a call's arguments: the kernel's context
/// for the calling thread (its saved registers).
pub trait SyscallArgs {
    /// Argument `index`, 0 to 5: RDI, RSI, RDX, R10, R8, R9 (the Linux
    /// x86_64 system call convention).
    fn arg(&self, index: usize) -> u64;
}

/// The entry of every number without a call: `-ENOSYS` (Linux's
/// `sys_ni_syscall`, `kernel/sys_ni.c`).
pub fn ni_syscall<C>(_cx: &mut C) -> i64 {
    Errno::ENOSYS.to_ret()
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

    /// Runs call `nr` with `cx` and returns the raw result for RAX:
    /// `-ENOSYS` for a number the table has no call for.
    ///
    /// One bounds check, the clamp, one indirect call. The hook part is
    /// reached only by numbers past the ABI's; with no hooks (a production
    /// kernel's `static` table) the compiler folds it away.
    #[inline(always)]
    pub fn dispatch(&self, cx: &mut C, nr: u64) -> i64 {
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
        Errno::ENOSYS.to_ret()
    }
}
