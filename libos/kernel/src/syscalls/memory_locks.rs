//! mlock, mlock2, munlock, mlockall, munlockall and mincore (Linux's
//! `mm/mlock.c`, `mm/mincore.c`) on the caller's address space. Pages never
//! leave memory once present here, so locking is faulting in
//! (`AddressSpace::fault_in`) and unlocking has nothing to undo. The app
//! runs as root (`CAP_IPC_LOCK`): `RLIMIT_MEMLOCK` does not apply.

use entry_asm::layout::{PAGE_SIZE, USER_END};
use libos_abi::errno::Errno;
use libos_abi::linux_types::mlock_flags::{MCL_CURRENT, MCL_FUTURE, MCL_ONFAULT, MLOCK_ONFAULT};
use libos_abi::syscalls::MemoryLocks;
use libos_abi::user_ptr::UserPtrMut;

use super::{Cx, Kernel};
use crate::mm::address_space::{RESIDENCY_CHUNK, lock_range};
use crate::mm::user_access::{self, copy_to_user};
use crate::process;

fn space() -> Result<alloc::sync::Arc<crate::mm::address_space::AddressSpace>, Errno> {
    Ok(process::current().ok_or(Errno::ENOMEM)?.space().clone())
}

impl MemoryLocks for Kernel {
    fn mlock(_cx: &mut Cx, addr: usize, len: usize) -> Result<(), Errno> {
        let (start, end) = lock_range(addr as u64, len as u64)?;
        space()?.fault_in(start, end, true)
    }

    fn mlock2(_cx: &mut Cx, addr: usize, len: usize, flags: u32) -> Result<(), Errno> {
        if flags & !MLOCK_ONFAULT != 0 {
            return Err(Errno::EINVAL);
        }
        let (start, end) = lock_range(addr as u64, len as u64)?;
        space()?.fault_in(start, end, flags & MLOCK_ONFAULT == 0)
    }

    fn munlock(_cx: &mut Cx, addr: usize, len: usize) -> Result<(), Errno> {
        let (start, end) = lock_range(addr as u64, len as u64)?;
        space()?.fault_in(start, end, false)
    }

    fn mlockall(_cx: &mut Cx, flags: i32) -> Result<(), Errno> {
        // Linux's `mlockall`: some flag, only known ones, and MCL_ONFAULT
        // only with one of the others.
        if flags == 0 || flags & !(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) != 0 || flags == MCL_ONFAULT {
            return Err(Errno::EINVAL);
        }
        if flags & MCL_CURRENT != 0 && flags & MCL_ONFAULT == 0 {
            space()?.fault_in_all()?;
        }
        Ok(())
    }

    fn munlockall(_cx: &mut Cx) -> Result<(), Errno> {
        Ok(())
    }

    fn mincore(_cx: &mut Cx, addr: usize, len: usize, vec: UserPtrMut<u8>) -> Result<(), Errno> {
        let (addr, len) = (addr as u64, len as u64);
        if !addr.is_multiple_of(PAGE_SIZE) {
            return Err(Errno::EINVAL);
        }
        if addr.checked_add(len).is_none_or(|end| end > USER_END) {
            return Err(Errno::ENOMEM);
        }
        let pages = len.div_ceil(PAGE_SIZE);
        user_access::check(vec.addr(), pages as usize).map_err(|_| Errno::EFAULT)?;
        let space = space()?;
        let mut chunk = [0u8; RESIDENCY_CHUNK];
        let mut done = 0;
        while done < pages {
            let n = (pages - done).min(RESIDENCY_CHUNK as u64) as usize;
            space.residency(addr + done * PAGE_SIZE, &mut chunk[..n])?;
            copy_to_user(vec.addr() + done, &chunk[..n]).map_err(|(e, _)| e)?;
            done += n as u64;
            if crate::sched::current().flags.killed() {
                return Err(Errno::EINTR);
            }
        }
        Ok(())
    }
}
