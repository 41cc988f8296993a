//! Faulting memory in and asking what is resident: `mlock`, `mlockall`
//! and `mincore` on an address space (Linux's mm/mlock.c, mm/gup.c
//! `__mm_populate`, mm/mincore.c).
//!
//! Pages here never leave memory once present (there is no swap and no
//! page cache to reclaim), so a locked page is simply a present one:
//! locking faults the range in, unlocking has nothing to undo.

use entry_asm::layout::{PAGE_SIZE, USER_END, USER_MIN};
use libos_abi::errno::Errno;
use libos_kcore::vm_regions::page_len;

use super::{AddressSpace, FaultError};
use crate::arch::x86_64::page_walk;
use crate::sched;

/// Pages looked at under one hold of the inner lock (`mincore`), and
/// faulted in between two checks for a kill (`mlock`).
pub const RESIDENCY_CHUNK: usize = 512;

/// `mlock`'s range: `addr` rounded down and `len` out to whole pages (as
/// Linux's `do_mlock`), `EINVAL` when it wraps, `ENOMEM` outside user space.
pub fn lock_range(addr: u64, len: u64) -> Result<(u64, u64), Errno> {
    let start = addr & !(PAGE_SIZE - 1);
    let len = page_len(len.checked_add(addr - start).ok_or(Errno::EINVAL)?).ok_or(Errno::EINVAL)?;
    let end = start.checked_add(len).ok_or(Errno::EINVAL)?;
    if len != 0 && (start < USER_MIN || end > USER_END) {
        return Err(Errno::ENOMEM);
    }
    Ok((start, end))
}

impl AddressSpace {
    /// Checks that regions cover `start..end` (`ENOMEM` for a hole), and
    /// with `populate` faults every page of it in, as a read would: pages of
    /// `PROT_NONE` regions and of a mapped file past its end are left out,
    /// as Linux's `populate_vma_page_range` leaves them. `ENOMEM` when
    /// memory (or the app's share of it) runs out, `EINTR` when the app is
    /// killed meanwhile.
    pub fn fault_in(&self, start: u64, end: u64, populate: bool) -> Result<(), Errno> {
        if start == end {
            return Ok(());
        }
        let _calls = self.lock_calls()?;
        if !super::remap::covered(&self.lock_inner().regions, start, end, &mut |_| {}) {
            return Err(Errno::ENOMEM);
        }
        if !populate {
            return Ok(());
        }
        let mut page = start;
        let mut in_chunk = 0;
        while page < end {
            match self.handle_fault(page, false, false) {
                Ok(()) | Err(FaultError::Protection) | Err(FaultError::PastEndOfFile) => {}
                Err(FaultError::OutOfMemory) | Err(FaultError::Unmapped) | Err(FaultError::StackOverflow) => {
                    return Err(Errno::ENOMEM);
                }
            }
            page += PAGE_SIZE;
            in_chunk += 1;
            if in_chunk == RESIDENCY_CHUNK {
                in_chunk = 0;
                if sched::current().flags.killed() {
                    return Err(Errno::EINTR);
                }
            }
        }
        Ok(())
    }

    /// Faults in every page of every region (`mlockall(MCL_CURRENT)`).
    pub fn fault_in_all(&self) -> Result<(), Errno> {
        for r in self.regions() {
            self.fault_in(r.start, r.end, true)?;
        }
        Ok(())
    }

    /// Whether each page from `start` is resident: `out[i]` for page `i`
    /// (1 or 0, as `mincore` reports). `ENOMEM` when a page of them lies
    /// in no region. Bounded work: `out` is at most [`RESIDENCY_CHUNK`].
    pub fn residency(&self, start: u64, out: &mut [u8]) -> Result<(), Errno> {
        debug_assert!(out.len() <= RESIDENCY_CHUNK);
        let inner = self.lock_inner();
        for (i, byte) in out.iter_mut().enumerate() {
            let page = start + i as u64 * PAGE_SIZE;
            if inner.regions.find(page).is_none() {
                return Err(Errno::ENOMEM);
            }
            // SAFETY: under the inner lock; the entry is only read. A
            // `PROT_NONE` page keeps its frame (a non-present entry that is
            // not unused): it is resident, as Linux counts it.
            let present = unsafe { page_walk::leaf_entry(self.user_root(), page) }.is_some_and(|e| !e.is_unused());
            *byte = present as u8;
        }
        Ok(())
    }
}
