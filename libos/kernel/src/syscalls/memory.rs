//! mmap, mprotect, munmap and brk on the caller's address space (Linux's
//! `mm/mmap.c`, `mm/mprotect.c`).

use alloc::sync::Arc;

use libos_abi::abi_types::{MAP_ANONYMOUS, MAP_FIXED, MAP_FIXED_NOREPLACE, MAP_PRIVATE, MAP_SHARED};
use libos_abi::errno::Errno;
use libos_abi::syscalls::Memory;
use libos_kcore::vm_regions::Prot;

use super::{Cx, Kernel};
use crate::mm::address_space::AddressSpace;
use crate::process;

fn space() -> Arc<AddressSpace> {
    process::current().expect("syscalls come from apps").space.clone()
}

impl Memory for Kernel {
    /// Anonymous memory only (the kernel has no files).
    fn mmap(
        _cx: &mut Cx,
        addr: usize,
        length: usize,
        prot: i32,
        flags: i32,
        fd: i32,
        offset: i64,
    ) -> Result<usize, Errno> {
        let sharing = flags & (MAP_SHARED | MAP_PRIVATE);
        if sharing != MAP_SHARED && sharing != MAP_PRIVATE {
            return Err(Errno::EINVAL);
        }
        if flags & MAP_ANONYMOUS == 0 {
            // A file mapping: not implemented yet. Linux's answers: EBADF
            // for a descriptor that is not open, ENODEV for a file whose
            // file system cannot be mapped.
            super::descriptors::file(fd)?;
            return Err(Errno::ENODEV);
        }
        if offset % 4096 != 0 {
            return Err(Errno::EINVAL);
        }
        let prot = Prot(prot as u32);
        // Without fork, shared and private anonymous memory behave the same.
        space()
            .mmap(addr as u64, length as u64, prot, flags & MAP_FIXED != 0, flags & MAP_FIXED_NOREPLACE != 0)
            .map(|a| a as usize)
    }

    fn mprotect(_cx: &mut Cx, addr: usize, length: usize, prot: i32) -> Result<(), Errno> {
        space().mprotect(addr as u64, length as u64, Prot(prot as u32))
    }

    fn munmap(_cx: &mut Cx, addr: usize, length: usize) -> Result<(), Errno> {
        space().munmap(addr as u64, length as u64)
    }

    /// Never fails; returns the (possibly unchanged) break.
    fn brk(_cx: &mut Cx, addr: usize) -> Result<usize, Errno> {
        Ok(space().brk(addr as u64) as usize)
    }
}
