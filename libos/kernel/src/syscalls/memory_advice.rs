//! mremap and madvise on the caller's address space (Linux's
//! `mm/mremap.c`, `mm/madvise.c`).

use libos_abi::errno::Errno;
use libos_abi::linux_types::madv;
use libos_abi::linux_types::mremap_flags::{MREMAP_DONTUNMAP, MREMAP_FIXED, MREMAP_MAYMOVE};
use libos_abi::syscalls::MemoryAdvice;

use super::{Cx, Kernel};
use crate::process;

impl MemoryAdvice for Kernel {
    fn mremap(
        _cx: &mut Cx,
        old_address: usize,
        old_size: usize,
        new_size: usize,
        flags: i32,
        new_address: usize,
    ) -> Result<usize, Errno> {
        if flags & !(MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP) != 0
            || (flags & MREMAP_FIXED != 0 && flags & MREMAP_MAYMOVE == 0)
            // Leaving the old range mapped is not supported.
            || flags & MREMAP_DONTUNMAP != 0
        {
            return Err(Errno::EINVAL);
        }
        let fixed = (flags & MREMAP_FIXED != 0).then_some(new_address as u64);
        let space = process::current().ok_or(Errno::EFAULT)?.space();
        space
            .remap(old_address as u64, old_size as u64, new_size as u64, flags & MREMAP_MAYMOVE != 0, fixed)
            .map(|a| a as usize)
    }

    fn madvise(_cx: &mut Cx, addr: usize, length: usize, advice: i32) -> Result<(), Errno> {
        let space = process::current().ok_or(Errno::EFAULT)?.space();
        let (addr, length) = (addr as u64, length as u64);
        match advice {
            madv::DONTNEED | madv::FREE => space.discard(addr, length),
            madv::NORMAL
            | madv::RANDOM
            | madv::SEQUENTIAL
            | madv::WILLNEED
            | madv::DONTFORK
            | madv::DOFORK
            | madv::HUGEPAGE
            | madv::NOHUGEPAGE
            | madv::DONTDUMP
            | madv::DODUMP
            | madv::WIPEONFORK
            | madv::KEEPONFORK
            | madv::COLD
            | madv::PAGEOUT
            | madv::POPULATE_READ
            | madv::POPULATE_WRITE => space.check_mapped(addr, length),
            _ => Err(Errno::EINVAL),
        }
    }
}
