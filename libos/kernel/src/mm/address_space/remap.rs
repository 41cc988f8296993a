//! `mremap` and `madvise` on an address space (Linux's mm/mremap.c and
//! mm/madvise.c), for anonymous memory.

use entry_asm::layout::{PAGE_SIZE, USER_END, USER_MIN};
use libos_abi::errno::Errno;
use libos_kcore::vm_regions::{Kind, Region, RegionSet, page_len};

use super::{AddressSpace, mmap_ceiling, region_errno};
use crate::arch::x86_64::page_walk;
use crate::mm::phys;

/// Whether regions cover all of `start..end`; `each` sees every one.
pub(super) fn covered(regions: &RegionSet, start: u64, end: u64, each: &mut dyn FnMut(&Region)) -> bool {
    let mut at = start;
    while at < end {
        let Some(r) = regions.find(at) else {
            return false;
        };
        each(r);
        at = r.end;
    }
    true
}

impl AddressSpace {
    /// Checks that `addr..addr + len` (`addr` page-aligned, `len` rounded
    /// up) lies in regions: `EINVAL` for an unaligned or impossible range,
    /// `ENOMEM` for a hole (Linux's `madvise` answers for a hint).
    pub fn check_mapped(&self, addr: u64, len: u64) -> Result<(), Errno> {
        let (start, end) = advice_range(addr, len)?;
        if start == end {
            return Ok(());
        }
        if covered(&self.lock_inner().regions, start, end, &mut |_| {}) { Ok(()) } else { Err(Errno::ENOMEM) }
    }

    /// `MADV_DONTNEED`: drops the pages of `addr..addr + len`; later
    /// accesses see zero-filled pages. The range must lie in regions
    /// (`ENOMEM`), none of them the program's image (`EINVAL`: its file
    /// contents could not come back).
    pub fn discard(&self, addr: u64, len: u64) -> Result<(), Errno> {
        let (start, end) = advice_range(addr, len)?;
        if start == end {
            return Ok(());
        }
        let _calls = self.lock_calls()?;
        let mut image = false;
        if !covered(&self.lock_inner().regions, start, end, &mut |r| image |= matches!(r.kind, Kind::Image { .. })) {
            return Err(Errno::ENOMEM);
        }
        if image {
            return Err(Errno::EINVAL);
        }
        // The regions stay; their pages go, and come back zeroed on demand.
        self.unmap_range(start, end)
    }

    /// Linux's `mremap` for anonymous memory (see `MemoryAdvice::mremap`
    /// in libos-abi): `old..old + old_len` must lie in one anonymous
    /// region or in the main thread's stack (moved pages become anonymous
    /// memory). `fixed`: the target with `MREMAP_FIXED`.
    pub fn remap(
        &self,
        old: u64,
        old_len: u64,
        new_len: u64,
        may_move: bool,
        fixed: Option<u64>,
    ) -> Result<u64, Errno> {
        if !old.is_multiple_of(PAGE_SIZE) {
            return Err(Errno::EINVAL);
        }
        let old_len = page_len(old_len).ok_or(Errno::EINVAL)?;
        let new_len = page_len(new_len).ok_or(Errno::EINVAL)?;
        // A zero old size duplicates a shared mapping on Linux; anonymous
        // memory here is private.
        if new_len == 0 || old_len == 0 {
            return Err(Errno::EINVAL);
        }
        let old_end = old.checked_add(old_len).ok_or(Errno::EINVAL)?;
        if let Some(target) = fixed {
            let target_end = target.checked_add(new_len).ok_or(Errno::EINVAL)?;
            if !target.is_multiple_of(PAGE_SIZE) || target < USER_MIN || target_end > USER_END {
                return Err(Errno::EINVAL);
            }
            if target < old_end && old < target_end {
                return Err(Errno::EINVAL);
            }
        }
        let _calls = self.lock_calls()?;
        let mut inner = self.lock_inner();
        let region = *inner.regions.find(old).ok_or(Errno::EFAULT)?;
        // Anonymous memory, the main thread's stack included (Linux's stack
        // is an anonymous mapping too: musl's `pthread_getattr_np` measures
        // the main thread's stack by asking to grow each page below its top
        // in place until the answer is EFAULT, an unmapped page, instead of
        // ENOMEM, a mapped one that cannot grow).
        if !matches!(region.kind, Kind::Anonymous | Kind::Stack) || old_end > region.end {
            return Err(Errno::EFAULT);
        }

        if fixed.is_none() && new_len <= old_len {
            // Shrink (or keep) in place.
            if new_len < old_len {
                inner.regions.remove(old + new_len, old_len - new_len).map_err(region_errno)?;
                drop(inner);
                self.unmap_range(old + new_len, old_end)?;
            }
            return Ok(old);
        }
        if fixed.is_none() {
            let new_end = old.checked_add(new_len).ok_or(Errno::ENOMEM)?;
            // Grow in place: the range ends its region and the pages after
            // it are free.
            if old_end == region.end && new_end <= mmap_ceiling(&inner) && !inner.regions.overlaps(old_end, new_end) {
                self.check_growth()?;
                inner.regions.resize(region.start, new_end).map_err(region_errno)?;
                return Ok(old);
            }
            if !may_move {
                return Err(Errno::ENOMEM);
            }
        }

        // Move: a new region, the resident pages copied over, the old
        // range removed.
        self.check_growth()?;
        let target = match fixed {
            Some(target) => {
                if inner.regions.overlaps(target, target + new_len) {
                    inner.regions.remove(target, new_len).map_err(region_errno)?;
                    drop(inner);
                    self.unmap_range(target, target + new_len)?;
                    inner = self.lock_inner();
                }
                target
            }
            None => inner.regions.place(0, new_len, mmap_ceiling(&inner)).ok_or(Errno::ENOMEM)?,
        };
        inner.regions.insert(target, new_len, region.prot, Kind::Anonymous).map_err(region_errno)?;
        let copied = old_len.min(new_len);
        let mut offset = 0;
        while offset < copied {
            // SAFETY: under the inner lock; the entry is only read.
            let source = unsafe { page_walk::leaf_entry(self.user_root(), old + offset) }
                .filter(|e| !e.is_unused())
                .map(|e| e.addr().as_u64());
            if let Some(source) = source {
                let frame = match self.populate(&mut inner, target + offset, region.prot) {
                    Ok(frame) => frame,
                    Err(_) => {
                        // Undo: the new region and what it got so far.
                        let _ = inner.regions.remove(target, new_len);
                        drop(inner);
                        let _ = self.unmap_range(target, target + new_len);
                        return Err(Errno::ENOMEM);
                    }
                };
                // SAFETY: both frames belong to this address space (the
                // source mapped, the destination just populated); the direct
                // map reaches them; a page each.
                unsafe {
                    core::ptr::copy_nonoverlapping(phys::to_virt(source), phys::to_virt(frame), PAGE_SIZE as usize)
                };
            }
            offset += PAGE_SIZE;
        }
        inner.regions.remove(old, old_len).map_err(region_errno)?;
        drop(inner);
        self.unmap_range(old, old_end)?;
        Ok(target)
    }
}

/// The page range of an advice: `addr` page-aligned (`EINVAL`), `len`
/// rounded up, inside user space (`EINVAL` when it wraps, `ENOMEM` past
/// user space, as Linux's `madvise`).
fn advice_range(addr: u64, len: u64) -> Result<(u64, u64), Errno> {
    if !addr.is_multiple_of(PAGE_SIZE) {
        return Err(Errno::EINVAL);
    }
    let len = page_len(len).ok_or(Errno::EINVAL)?;
    let end = addr.checked_add(len).ok_or(Errno::EINVAL)?;
    if len != 0 && (addr < USER_MIN || end > USER_END) {
        return Err(Errno::ENOMEM);
    }
    Ok((addr, end))
}
