//! Replacing a process's program (Linux's `execve`, fs/exec.c).

use entry_asm::pt_regs::PtRegs;
use libos_abi::errno::Errno;

/// `execve(path, argv, envp)` for the calling thread, whose registers are
/// `regs`.
pub fn execve(_regs: &mut PtRegs, _path: u64, _argv: u64, _envp: u64) -> Result<u64, Errno> {
    Err(Errno::ENOSYS)
}
