//! An app's address space: its page tables and its regions.
//!
//! Every address space is a pair of PML4 pages, 8 KiB aligned, as Linux's
//! page-table isolation allocates a PGD (`PGD_ALLOCATION_ORDER` 1 in
//! `arch/x86/include/asm/pgalloc.h`, the user half one page above, selected
//! by `PTI_USER_PGTABLE_BIT` in `arch/x86/entry/calling.h`):
//!
//! - the lower page is the kernel's view: the kernel half (slots 256..512)
//!   copied from the kernel page table (the PDPTs are shared, so later
//!   kernel mappings appear everywhere), and the app's user half with NX set
//!   in each PML4 entry, so the kernel can never execute app memory even
//!   without SMEP (as Linux does);
//! - the upper page is the user's view: the same user half without NX, and
//!   of the kernel only the entry areas and the entry text (`kpti`).
//!
//! CR3 bit 12 selects the page; with PCID, bit 11 selects the user ASID.
//! Without KPTI only the lower page is used, with the user half executable.
//!
//! App memory is described by a [`RegionSet`]; pages are allocated on first
//! touch (demand paging), except the ELF image, which the loader fills.

mod duplicate;
mod remap;
mod residency;

pub use residency::{RESIDENCY_CHUNK, lock_range};

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU16, AtomicU64, Ordering};

use entry_asm::layout::{PAGE_SIZE, USER_END, USER_MIN};
use libos_abi::errno::Errno;
use libos_kcore::vm_regions::{Kind, MappedFile, Prot, Region, RegionError, RegionSet, brk_ends, page_len, page_range};
use x86_64::PhysAddr;
use x86_64::structures::paging::page_table::PageTableEntry;
use x86_64::structures::paging::{PageTable, PageTableFlags};

use crate::arch::x86_64::paging::{self, Flags, USER_TABLE_FLAGS};
use crate::arch::x86_64::{kpti, page_walk, tlb};
use crate::config;
use crate::mm::{frame, kernel_space, phys};
use crate::sched;
use crate::smp::shootdown::FlushBatch;
use crate::sync::{Mutex, MutexGuard, SpinLock};

/// Most memory one app may have resident (pages), so that an app cannot
/// starve the kernel of frames.
pub const MAX_RESIDENT_PAGES: u64 = 1 << 20;

/// Next PCID to hand out (1..=2047; 0 is the kernel's own page table).
static NEXT_PCID: AtomicU16 = AtomicU16::new(1);

fn next_pcid() -> u16 {
    loop {
        let p = NEXT_PCID.fetch_add(1, Ordering::Relaxed);
        if (1..0x800).contains(&p) {
            return p;
        }
        let _ = NEXT_PCID.compare_exchange(p.wrapping_add(1), 1, Ordering::Relaxed, Ordering::Relaxed);
    }
}

struct Inner {
    regions: RegionSet,
    brk_start: u64,
    brk: u64,
    resident: u64,
    /// Start of the main thread's stack region (`USER_END` before the
    /// loader adds it): mmap places below its guard gap, and a fault in the
    /// gap is a stack overflow. Kept here so that neither looks at every
    /// region under the lock.
    stack_start: u64,
}

/// One app's address space.
pub struct AddressSpace {
    pair: u64,
    pcid: u16,
    /// CPUs that have this address space in CR3 now (bit per CPU index).
    active: AtomicU64,
    /// Serialises the memory calls (mmap, munmap, mprotect, brk) for their
    /// whole length, as Linux's `mmap_lock` does: they let go of `inner`
    /// between bounded chunks of page-table work, and no other call may
    /// reuse a range meanwhile. Page faults take `inner` only.
    calls: Mutex<()>,
    inner: SpinLock<Inner>,
}

/// Why a page fault could not be resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultError {
    /// No region contains the address.
    Unmapped,
    /// Right below the stack: the stack overflowed into its guard gap.
    StackOverflow,
    /// The region does not allow the access.
    Protection,
    /// No memory left (or the app's limit reached).
    OutOfMemory,
    /// A page of a mapped file wholly past the file's end (Linux's
    /// `SIGBUS`, `VM_FAULT_SIGBUS` in `mm/filemap.c`).
    PastEndOfFile,
}

/// Marks a leaf that is not present but keeps its frame: a page of a
/// `PROT_NONE` region, whose contents come back when the protection allows
/// access again (Linux's `_PAGE_PROTNONE`, `arch/x86/include/asm/pgtable_types.h`,
/// also a software bit on a non-present entry).
const PROT_NONE_KEPT: Flags = Flags::BIT_9;

/// Table entries one chunk of a long memory call looks at before it lets
/// go of the lock: at most a few hundred microseconds of work with
/// interrupts off (one chunk frees at most this many pages).
const WALK_CHUNK: usize = 1024;

/// Leaf flags for user pages of protection `prot`.
fn pte_flags(prot: Prot) -> Flags {
    if prot == Prot::NONE {
        return PROT_NONE_KEPT;
    }
    let mut f = Flags::PRESENT | Flags::USER_ACCESSIBLE;
    if prot.contains(Prot::WRITE) {
        f |= Flags::WRITABLE;
    }
    if !prot.contains(Prot::EXEC) {
        f |= Flags::NO_EXECUTE;
    }
    f
}

/// Size of the gap below a stack region kept free (any fault there is a
/// stack overflow).
pub const STACK_GUARD_GAP: u64 = 256 * PAGE_SIZE;

impl AddressSpace {
    /// A new, empty address space.
    pub fn new() -> Result<Arc<AddressSpace>, Errno> {
        let pair = frame::alloc_contiguous_zeroed(2, 2 * PAGE_SIZE).ok_or(Errno::ENOMEM)?;
        // The kernel half, shared with every page table.
        // SAFETY: the kernel PML4's kernel-half entries never change after
        // boot; the pair's pages are fresh and ours.
        unsafe {
            let kernel = &*(phys::to_virt(kernel_space::kernel_pml4()) as *const PageTable);
            let mine = &mut *(phys::to_virt(pair) as *mut PageTable);
            for slot in 256..512 {
                mine[slot] = kernel[slot].clone();
            }
        }
        let cfg = config::get();
        if cfg.kpti {
            kpti::install_user_kernel_half(pair + PAGE_SIZE);
        }
        Ok(Arc::new(AddressSpace {
            pair,
            pcid: if cfg.pcid_on() { next_pcid() } else { 0 },
            active: AtomicU64::new(0),
            calls: Mutex::new(()),
            inner: SpinLock::new(Inner {
                regions: RegionSet::new(USER_MIN, USER_END),
                brk_start: 0,
                brk: 0,
                resident: 0,
                stack_start: USER_END,
            }),
        }))
    }

    /// Takes the lock of the regions and page tables. It is held across
    /// TLB shootdowns (`unmap_pieces`), whose targets answer from an
    /// interrupt handler: a CPU that waited for it with interrupts off could
    /// deadlock the holder (see `smp::call`), so it is only ever taken with
    /// interrupts on (system calls, page faults from a context that had them
    /// on, the loader).
    fn lock_inner(&self) -> crate::sync::SpinLockGuard<'_, Inner> {
        debug_assert!(
            crate::arch::x86_64::interrupts::are_enabled(),
            "an address space's lock taken with interrupts off"
        );
        self.inner.lock()
    }

    /// CR3 for the kernel's view: the lower page, kernel ASID.
    pub fn kernel_cr3(&self) -> u64 {
        self.pair | self.pcid as u64
    }

    /// The kernel ASID (0 without PCID).
    pub fn pcid(&self) -> u16 {
        self.pcid
    }

    /// Records whether CPU `cpu` has this address space loaded.
    pub fn set_active_on(&self, cpu: usize, active: bool) {
        if active {
            self.active.fetch_or(1 << cpu, Ordering::AcqRel);
        } else {
            self.active.fetch_and(!(1 << cpu), Ordering::AcqRel);
        }
    }

    /// The CPUs that have this address space loaded.
    pub fn active_cpus(&self) -> u64 {
        self.active.load(Ordering::Acquire)
    }

    /// Physical address of the PML4 pair.
    pub fn pml4_pair(&self) -> u64 {
        self.pair
    }

    /// The PML4 the app's mappings are made in: the user page with KPTI,
    /// the only one without.
    pub fn user_root(&self) -> u64 {
        if config::get().kpti { self.pair + PAGE_SIZE } else { self.pair }
    }

    /// Whether this CPU has this address space loaded.
    fn is_active_here(&self) -> bool {
        let (frame, _) = x86_64::registers::control::Cr3::read_raw();
        frame.start_address().as_u64() & !(2 * PAGE_SIZE - 1) == self.pair
    }

    /// Maps one user page and, with KPTI, gives the kernel's view the same
    /// PML4 entry (non-executable). Caller holds the inner lock.
    fn map_page(&self, virt: u64, frame: u64, prot: Prot) -> Result<(), Errno> {
        self.map_page_with(virt, frame, pte_flags(prot))
    }

    /// [`AddressSpace::map_page`] with the leaf's flags as they are (a
    /// forked copy keeps its parent's).
    fn map_page_with(&self, virt: u64, frame: u64, flags: Flags) -> Result<(), Errno> {
        let root = self.user_root();
        // SAFETY: the inner lock serialises changes to this address space's
        // user half; the frame belongs to it.
        unsafe { paging::map_4k(root, virt, frame, flags, USER_TABLE_FLAGS) }.map_err(|_| Errno::ENOMEM)?;
        if root != self.pair {
            let slot = entry_asm::layout::pml4_index(virt);
            // SAFETY: both PML4 pages belong to this address space, under its lock.
            unsafe {
                let user = &*(phys::to_virt(root) as *const PageTable);
                let kernel = &mut *(phys::to_virt(self.pair) as *mut PageTable);
                if kernel[slot].is_unused() {
                    kernel[slot].set_addr(
                        PhysAddr::new(user[slot].addr().as_u64()),
                        USER_TABLE_FLAGS | PageTableFlags::NO_EXECUTE,
                    );
                }
            }
        }
        Ok(())
    }

    /// Allocates, zeroes and maps a page; counts it.
    fn populate(&self, inner: &mut Inner, virt: u64, prot: Prot) -> Result<u64, FaultError> {
        if inner.resident >= MAX_RESIDENT_PAGES {
            return Err(FaultError::OutOfMemory);
        }
        let f = frame::alloc_zeroed_for_app().ok_or(FaultError::OutOfMemory)?;
        if self.map_page(virt, f, prot).is_err() {
            frame::free(f);
            return Err(FaultError::OutOfMemory);
        }
        inner.resident += 1;
        Ok(f)
    }

    /// Resolves a page fault at `addr` (demand paging). `write` and `fetch`
    /// say what the access was (whether the page was present does not
    /// matter: the entry itself is looked at under the lock).
    ///
    /// The page table is looked at under the lock before anything is
    /// allocated: another CPU may have mapped the page since the fault
    /// (two threads touching the same fresh page), or changed its
    /// protection (`mprotect`, which updates regions first and page tables
    /// after). A page whose entry now allows the access is a success, as in
    /// Linux's `handle_pte_fault` (a spurious fault); an entry that lags
    /// behind its region's protection is brought up to date.
    pub fn handle_fault(&self, addr: u64, write: bool, fetch: bool) -> Result<(), FaultError> {
        let mut inner = self.lock_inner();
        let Some(region) = inner.regions.find(addr).copied() else {
            let stack = inner.stack_start;
            let below_stack = addr < stack
                && addr.saturating_add(STACK_GUARD_GAP) >= stack
                && inner.regions.find(stack).is_some_and(|r| r.kind == Kind::Stack);
            return Err(if below_stack { FaultError::StackOverflow } else { FaultError::Unmapped });
        };
        let allowed = (!write || region.prot.contains(Prot::WRITE))
            && (!fetch || region.prot.contains(Prot::EXEC))
            && region.prot != Prot::NONE;
        if !allowed {
            return Err(FaultError::Protection);
        }
        let page = addr & !(PAGE_SIZE - 1);
        // A mapped file's pages were filled when it was mapped; only those
        // past the end of the file were left out.
        if let Kind::File(file) = region.kind
            && page >= file.end
        {
            return Err(FaultError::PastEndOfFile);
        }
        // SAFETY: under the inner lock; the entry is only read and its flags
        // set to the region's protection, keeping its frame.
        if let Some(entry) = unsafe { page_walk::leaf_entry(self.user_root(), page) }
            && !entry.is_unused()
        {
            let wanted = pte_flags(region.prot);
            if entry.flags() != wanted {
                let frame = entry.addr();
                entry.set_addr(frame, wanted);
            }
            // A stale TLB entry with fewer rights would fault again.
            self.flush_here(page);
            return Ok(());
        }
        self.populate(&mut inner, page, region.prot)?;
        Ok(())
    }

    /// Adds a region at a fixed place (loader: image segments, the stack).
    pub fn add_region(&self, start: u64, len: u64, prot: Prot, kind: Kind) -> Result<(), Errno> {
        let mut inner = self.lock_inner();
        inner.regions.insert(start, len, prot, kind).map_err(region_errno)?;
        if kind == Kind::Stack {
            inner.stack_start = inner.stack_start.min(start);
        }
        Ok(())
    }

    /// Writes `data` at user address `virt` through the direct map,
    /// populating pages as needed (the loader: this address space need not
    /// be active). The range must lie in regions.
    pub fn write_initial(&self, virt: u64, data: &[u8]) -> Result<(), Errno> {
        let mut inner = self.lock_inner();
        let mut done = 0usize;
        while done < data.len() {
            let va = virt + done as u64;
            let page = va & !(PAGE_SIZE - 1);
            let region = *inner.regions.find(va).ok_or(Errno::EFAULT)?;
            // SAFETY: the inner lock is held; a read-only look at our table.
            let mapped = unsafe { page_walk::leaf_entry(self.user_root(), page) }
                .filter(|e| !e.is_unused())
                .map(|e| e.addr().as_u64());
            let frame = match mapped {
                Some(f) => f,
                None => self.populate(&mut inner, page, region.prot).map_err(|_| Errno::ENOMEM)?,
            };
            let off = (va - page) as usize;
            let n = (PAGE_SIZE as usize - off).min(data.len() - done);
            // SAFETY: the frame belongs to this address space; the direct
            // map reaches it; `n` bytes fit in the page after `off`.
            unsafe { core::ptr::copy_nonoverlapping(data[done..].as_ptr(), phys::to_virt(frame).add(off), n) };
            done += n;
        }
        Ok(())
    }

    /// Sets where the program break area starts (after the loaded image).
    pub fn set_brk_start(&self, start: u64) {
        let mut inner = self.lock_inner();
        inner.brk_start = start;
        inner.brk = start;
    }

    /// Takes the memory-call lock (see [`AddressSpace::calls`]); `EINTR`
    /// if the thread is killed while it waits (it never returns to see it).
    fn lock_calls(&self) -> Result<MutexGuard<'_, ()>, Errno> {
        self.calls.lock_killable().map_err(|_| Errno::EINTR)
    }

    /// New regions need kernel memory: refused (`ENOMEM`) once app pages
    /// have taken all but the kernel's reserve, so that the allocation
    /// that follows cannot fail.
    fn check_growth(&self) -> Result<(), Errno> {
        if frame::above_kernel_reserve() { Ok(()) } else { Err(Errno::ENOMEM) }
    }

    /// Linux's `brk`: returns the new break, or the old one if `addr` is
    /// 0 or cannot be honoured.
    pub fn brk(&self, addr: u64) -> u64 {
        let Ok(_calls) = self.lock_calls() else {
            return 0;
        };
        let mut inner = self.lock_inner();
        let (start, old) = (inner.brk_start, inner.brk);
        let Some((old_end, new_end)) = brk_ends(start, old, addr, USER_END) else {
            return old;
        };
        if new_end > old_end {
            let grown = self.check_growth().is_ok() && inner.regions.grow_heap(old_end, new_end).is_ok();
            if grown {
                inner.brk = addr;
            }
            return inner.brk;
        }
        if new_end < old_end {
            // Removing the end of the heap region never splits it.
            if inner.regions.remove(new_end, old_end - new_end).is_err() {
                return old;
            }
            drop(inner);
            if self.unmap_range(new_end, old_end).is_err() {
                return old;
            }
            inner = self.lock_inner();
        }
        inner.brk = addr;
        addr
    }

    /// Linux's anonymous `mmap`. `fixed`: place exactly at `hint`,
    /// replacing what is there; `noreplace`: exactly at `hint`, failing if
    /// anything is there.
    pub fn mmap(&self, hint: u64, len: u64, prot: Prot, fixed: bool, noreplace: bool) -> Result<u64, Errno> {
        self.map_region(hint, len, prot, fixed, noreplace, |_| Kind::Anonymous, Vec::new())
    }

    /// Linux's `mmap` of a file (placement as [`AddressSpace::mmap`]): the
    /// region's pages are `frames`, which the caller filled with the file's
    /// pages from `file_offset` (whole pages; zeros past the end of the
    /// file), one for each page of the file the region covers, from its
    /// start; the region's pages past them lie wholly past the end of the
    /// file (`file_size`), and touching them is `SIGBUS`
    /// ([`FaultError::PastEndOfFile`]). The frames are this address
    /// space's from now on: mapped, or freed if the call fails.
    #[allow(clippy::too_many_arguments)]
    pub fn mmap_file(
        &self,
        hint: u64,
        len: u64,
        prot: Prot,
        fixed: bool,
        noreplace: bool,
        (dev, ino, shared): (u64, u64, bool),
        file_offset: u64,
        file_size: u64,
        frames: Vec<u64>,
    ) -> Result<u64, Errno> {
        let kind = |at: u64| {
            let origin = at.wrapping_sub(file_offset);
            let end = origin.wrapping_add(file_size.next_multiple_of(PAGE_SIZE));
            Kind::File(MappedFile { dev, ino, origin, end, shared })
        };
        self.map_region(hint, len, prot, fixed, noreplace, kind, frames)
    }

    /// Places and adds a region of `len` bytes whose kind `kind` gives
    /// from its address, and maps `frames` at its first pages (for a file;
    /// none for anonymous memory, which is populated on first touch).
    /// Frees the frames it does not map.
    #[allow(clippy::too_many_arguments)]
    fn map_region(
        &self,
        hint: u64,
        len: u64,
        prot: Prot,
        fixed: bool,
        noreplace: bool,
        kind: impl FnOnce(u64) -> Kind,
        frames: Vec<u64>,
    ) -> Result<u64, Errno> {
        let free_all = |frames: &[u64]| frames.iter().for_each(|&f| frame::free(f));
        let placed = self.place_and_insert(hint, len, prot, fixed, noreplace, kind, frames.len() as u64);
        let (at, mut inner) = match placed {
            Ok(p) => p,
            Err(e) => {
                free_all(&frames);
                return Err(e);
            }
        };
        for (i, &f) in frames.iter().enumerate() {
            if self.map_page(at + i as u64 * PAGE_SIZE, f, prot).is_err() {
                // Out of page-table memory: undo. The pages mapped so far
                // go with the range; the rest are freed here.
                free_all(&frames[i..]);
                inner.resident += i as u64;
                let _ = inner.regions.remove(at, page_len(len).unwrap_or(0));
                drop(inner);
                let _ = self.unmap_range(at, at + page_len(len).unwrap_or(0));
                return Err(Errno::ENOMEM);
            }
        }
        inner.resident += frames.len() as u64;
        Ok(at)
    }

    /// The placement and bookkeeping half of [`AddressSpace::map_region`]:
    /// returns the region's address with the inner lock still held (and
    /// the memory-call lock released: the region is in place, and the
    /// pages the caller maps in it now are as a fault would map them).
    /// `resident` pages are about to be added: `ENOMEM` past the app's
    /// limit.
    #[allow(clippy::too_many_arguments)]
    fn place_and_insert(
        &self,
        hint: u64,
        len: u64,
        prot: Prot,
        fixed: bool,
        noreplace: bool,
        kind: impl FnOnce(u64) -> Kind,
        resident: u64,
    ) -> Result<(u64, crate::sync::SpinLockGuard<'_, Inner>), Errno> {
        if len == 0 || !prot.is_valid() {
            return Err(Errno::EINVAL);
        }
        let len = page_len(len).ok_or(Errno::ENOMEM)?;
        if len > USER_END - USER_MIN {
            return Err(Errno::ENOMEM);
        }
        let _calls = self.lock_calls()?;
        self.check_growth()?;
        let mut inner = self.lock_inner();
        if inner.resident + resident > MAX_RESIDENT_PAGES {
            return Err(Errno::ENOMEM);
        }
        let at = if fixed || noreplace {
            if !hint.is_multiple_of(PAGE_SIZE) {
                return Err(Errno::EINVAL);
            }
            let end = hint.checked_add(len).ok_or(Errno::ENOMEM)?;
            if hint < USER_MIN || end > USER_END {
                return Err(Errno::ENOMEM);
            }
            if inner.regions.overlaps(hint, end) {
                if noreplace {
                    return Err(Errno::EEXIST);
                }
                inner.regions.remove(hint, len).map_err(region_errno)?;
                drop(inner);
                self.unmap_range(hint, end)?;
                inner = self.lock_inner();
            }
            hint
        } else {
            inner.regions.place(hint, len, mmap_ceiling(&inner)).ok_or(Errno::ENOMEM)?
        };
        inner.regions.insert(at, len, prot, kind(at)).map_err(region_errno)?;
        Ok((at, inner))
    }

    /// Linux's `msync`: `MS_ASYNC`, `MS_SYNC` (not both), `MS_INVALIDATE`
    /// (`EINVAL` otherwise, or for an unaligned `addr`); `ENOMEM` when part
    /// of the range is not mapped. Mapped files here are private copies or
    /// read-only shared ones, so there is never anything to write back.
    pub fn msync(&self, addr: u64, len: u64, flags: i32) -> Result<(), Errno> {
        const MS_ASYNC: i32 = 1;
        const MS_INVALIDATE: i32 = 2;
        const MS_SYNC: i32 = 4;
        if flags & !(MS_ASYNC | MS_INVALIDATE | MS_SYNC) != 0
            || flags & (MS_ASYNC | MS_SYNC) == MS_ASYNC | MS_SYNC
            || !addr.is_multiple_of(PAGE_SIZE)
        {
            return Err(Errno::EINVAL);
        }
        let (start, end) = page_range(addr, len).ok_or(Errno::ENOMEM)?;
        let inner = self.lock_inner();
        let mut at = start;
        while at < end {
            at = inner.regions.find(at).ok_or(Errno::ENOMEM)?.end;
        }
        Ok(())
    }

    /// Linux's `munmap`. Removal always succeeds for a valid range, however
    /// many regions the app has (see `vm_regions::MAX_REGIONS_AFTER_REMOVAL`),
    /// except a split when no kernel memory is left (`ENOMEM`).
    pub fn munmap(&self, addr: u64, len: u64) -> Result<(), Errno> {
        if len == 0 {
            return Err(Errno::EINVAL);
        }
        let (start, end) = page_range(addr, len).ok_or(Errno::EINVAL)?;
        let _calls = self.lock_calls()?;
        {
            let mut inner = self.lock_inner();
            // A split needs kernel memory for the new region: with none
            // left above the reserve it is refused, as Linux refuses it at
            // the region limit. Any other removal needs none.
            if inner.regions.removal_splits(start, end) && self.check_growth().is_err() {
                return Err(Errno::ENOMEM);
            }
            inner.regions.remove(start, end - start).map_err(|e| match e {
                RegionError::Invalid => Errno::EINVAL,
                other => region_errno(other),
            })?;
        }
        self.unmap_range(start, end)
    }

    /// Linux's `mprotect`. Only permissions change: every page keeps its
    /// contents, `PROT_NONE` included (its entries stay, not present).
    pub fn mprotect(&self, addr: u64, len: u64, prot: Prot) -> Result<(), Errno> {
        if !addr.is_multiple_of(PAGE_SIZE) || !prot.is_valid() {
            return Err(Errno::EINVAL);
        }
        if len == 0 {
            return Ok(());
        }
        let (start, end) = page_range(addr, len).ok_or(Errno::ENOMEM)?;
        let _calls = self.lock_calls()?;
        self.check_growth()?;
        if prot.contains(Prot::WRITE) {
            // A shared file mapping is a read-only copy here (see
            // `syscalls/memory.rs`): never made writable. Linux answers
            // EACCES for a file opened read-only.
            let inner = self.lock_inner();
            let mut at = start;
            while let Some(r) = inner.regions.find(at).filter(|_| at < end) {
                if matches!(r.kind, Kind::File(MappedFile { shared: true, .. })) {
                    return Err(Errno::EACCES);
                }
                at = r.end;
            }
        }
        self.lock_inner().regions.protect(start, end - start, prot).map_err(|e| match e {
            RegionError::NotMapped | RegionError::Invalid => Errno::ENOMEM,
            other => region_errno(other),
        })?;
        let flags = pte_flags(prot);
        self.walk_in_chunks(start, end, &mut |va, entry, batch| {
            let frame = entry.addr();
            entry.set_addr(frame, flags);
            batch.push(va);
            0
        })
    }

    /// Unmaps and frees every page in `[start, end)` (whose regions are
    /// gone); other CPUs running this address space have forgotten them
    /// when this returns.
    fn unmap_range(&self, start: u64, end: u64) -> Result<(), Errno> {
        self.walk_in_chunks(start, end, &mut |va, entry, batch| {
            let frame = entry.addr().as_u64();
            entry.set_unused();
            batch.push_and_free(va, frame);
            1
        })
    }

    /// Applies `leaf` to every in-use page-table leaf in `[start, end)`,
    /// in chunks of at most [`WALK_CHUNK`] table entries: between chunks
    /// the inner lock is let go (interrupts, page faults and shootdowns on
    /// other CPUs go on) and a kill ends the call with `EINTR`. `leaf`
    /// returns how many resident pages it freed. The caller holds the
    /// memory-call lock, so no other call changes the range meanwhile;
    /// faults may populate pages of it only where its regions allow, as
    /// they would after the call.
    fn walk_in_chunks(
        &self,
        start: u64,
        end: u64,
        leaf: &mut dyn FnMut(u64, &mut PageTableEntry, &mut FlushBatch<'_>) -> u64,
    ) -> Result<(), Errno> {
        let mut at = start;
        loop {
            let mut inner = self.lock_inner();
            let here = self.is_active_here();
            let mut batch = FlushBatch::user(self);
            let mut budget = WALK_CHUNK;
            let mut freed = 0;
            // SAFETY: under the inner lock; `leaf` keeps the tables valid
            // (it clears or re-flags leaves) and frees frames only through
            // the batch, after the other CPUs have flushed them.
            let resume = unsafe {
                page_walk::walk_leaves(self.user_root(), at, end, &mut budget, &mut |va, entry| {
                    freed += leaf(va, entry, &mut batch);
                    if here {
                        tlb::flush_user_page(self.pcid, va);
                    }
                })
            };
            inner.resident -= freed;
            batch.flush();
            drop(batch);
            drop(inner);
            match resume {
                None => return Ok(()),
                Some(next) => at = next,
            }
            if sched::with_current(|t| t.flags.killed()) {
                return Err(Errno::EINTR);
            }
        }
    }

    /// Flushes `va` from this CPU's TLB if it runs this address space.
    fn flush_here(&self, va: u64) {
        if self.is_active_here() {
            tlb::flush_user_page(self.pcid, va);
        }
    }

    /// The regions (a copy: `/proc/self/maps`, the test hooks).
    pub fn regions(&self) -> Vec<Region> {
        self.lock_inner().regions.iter().copied().collect()
    }

    /// Pages resident now (`/proc/self/status`, `getrusage`, the test hooks).
    pub fn resident_pages(&self) -> u64 {
        self.lock_inner().resident
    }
}

/// Top-down mmap placement starts below the stack's guard gap.
fn mmap_ceiling(inner: &Inner) -> u64 {
    if inner.stack_start == USER_END { USER_END } else { inner.stack_start.saturating_sub(STACK_GUARD_GAP) }
}

fn region_errno(e: RegionError) -> Errno {
    match e {
        RegionError::Invalid => Errno::EINVAL,
        RegionError::Exists => Errno::EEXIST,
        RegionError::NoSpace | RegionError::TooMany => Errno::ENOMEM,
        RegionError::NotMapped => Errno::ENOMEM,
    }
}

impl Drop for AddressSpace {
    fn drop(&mut self) {
        debug_assert!(!self.is_active_here(), "dropping the active address space");
        // Free every user page and page table below the user half's root.
        fn free_level(table_phys: u64, level: u8) {
            // SAFETY: a page table of this dying address space; nothing else
            // references it any more.
            let table = unsafe { &*(phys::to_virt(table_phys) as *const PageTable) };
            for e in table.iter() {
                if e.is_unused() {
                    continue;
                }
                let child = e.addr().as_u64();
                if level > 1 && !e.flags().contains(PageTableFlags::HUGE_PAGE) {
                    free_level(child, level - 1);
                }
                frame::free(child);
            }
        }
        let root = self.user_root();
        // SAFETY: as above, for the root's user half.
        let table = unsafe { &*(phys::to_virt(root) as *const PageTable) };
        for slot in 0..256 {
            if !table[slot].is_unused() {
                let pdpt = table[slot].addr().as_u64();
                free_level(pdpt, 3);
                frame::free(pdpt);
            }
        }
        frame::free(self.pair);
        frame::free(self.pair + PAGE_SIZE);
        // A later address space may get this PCID: the scheduler flushes an
        // address space's ASIDs whenever it loads it (sched::switch).
    }
}
