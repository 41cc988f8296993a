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

use alloc::sync::Arc;
#[cfg(feature = "hooks")]
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU16, AtomicU64, Ordering};

use entry_asm::layout::{PAGE_SIZE, USER_END, USER_MIN};
use libos_abi::errno::Errno;
use libos_kcore::vm_regions::{Kind, Prot, Region, RegionError, RegionSet};
use x86_64::PhysAddr;
use x86_64::structures::paging::{PageTable, PageTableFlags};

use crate::arch::x86_64::paging::{self, Flags, USER_TABLE_FLAGS};
use crate::arch::x86_64::{kpti, tlb};
use crate::config;
use crate::mm::{frame, kernel_space, phys};
use crate::smp::shootdown::FlushBatch;
use crate::sync::SpinLock;

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
}

/// One app's address space.
pub struct AddressSpace {
    pair: u64,
    pcid: u16,
    /// CPUs that have this address space in CR3 now (bit per CPU index).
    active: AtomicU64,
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
}

/// Leaf flags for user pages of protection `prot`.
fn pte_flags(prot: Prot) -> Flags {
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
            inner: SpinLock::new(Inner {
                regions: RegionSet::new(USER_MIN, USER_END),
                brk_start: 0,
                brk: 0,
                resident: 0,
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
        let root = self.user_root();
        // SAFETY: the inner lock serialises changes to this address space's
        // user half; the frame belongs to it.
        unsafe { paging::map_4k(root, virt, frame, pte_flags(prot), USER_TABLE_FLAGS) }.map_err(|_| Errno::ENOMEM)?;
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
        let f = frame::alloc_zeroed().ok_or(FaultError::OutOfMemory)?;
        if self.map_page(virt, f, prot).is_err() {
            frame::free(f);
            return Err(FaultError::OutOfMemory);
        }
        inner.resident += 1;
        Ok(f)
    }

    /// Resolves a page fault at `addr` (demand paging). `write` and `fetch`
    /// say what the access was; `present` whether the page was mapped.
    pub fn handle_fault(&self, addr: u64, write: bool, fetch: bool, present: bool) -> Result<(), FaultError> {
        let mut inner = self.lock_inner();
        let Some(region) = inner.regions.find(addr).copied() else {
            let below_stack = inner
                .regions
                .iter()
                .any(|r| r.kind == Kind::Stack && addr < r.start && addr + STACK_GUARD_GAP >= r.start);
            return Err(if below_stack { FaultError::StackOverflow } else { FaultError::Unmapped });
        };
        let allowed = (!write || region.prot.contains(Prot::WRITE))
            && (!fetch || region.prot.contains(Prot::EXEC))
            && region.prot != Prot::NONE;
        if !allowed || present {
            return Err(FaultError::Protection);
        }
        self.populate(&mut inner, addr & !(PAGE_SIZE - 1), region.prot)?;
        Ok(())
    }

    /// Adds a region at a fixed place (loader: image segments, the stack).
    pub fn add_region(&self, start: u64, len: u64, prot: Prot, kind: Kind) -> Result<(), Errno> {
        self.lock_inner().regions.insert(start, len, prot, kind).map_err(region_errno)
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
            // SAFETY: the inner lock is held; a read-only walk of our table.
            let frame = match unsafe { paging::translate(self.user_root(), page) } {
                Some(t) => t.phys,
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

    /// Linux's `brk`: returns the new break, or the old one if `addr` is
    /// 0 or cannot be honoured.
    pub fn brk(&self, addr: u64) -> u64 {
        let mut inner = self.lock_inner();
        let (start, old) = (inner.brk_start, inner.brk);
        if addr < start || addr >= USER_END || start == 0 {
            return old;
        }
        let old_end = old.next_multiple_of(PAGE_SIZE);
        let new_end = addr.next_multiple_of(PAGE_SIZE);
        let ok = if new_end == old_end {
            true
        } else if old_end == start {
            inner.regions.insert(start, new_end - start, Prot::RW, Kind::Heap).is_ok()
        } else if new_end == start {
            let removed = inner.regions.remove(start, old_end - start).unwrap_or_default();
            self.unmap_pieces(&mut inner, &removed);
            true
        } else if new_end > old_end {
            inner.regions.resize(start, new_end).is_ok()
        } else {
            let removed = inner.regions.remove(new_end, old_end - new_end).unwrap_or_default();
            self.unmap_pieces(&mut inner, &removed);
            true
        };
        if ok {
            inner.brk = addr;
        }
        inner.brk
    }

    /// Linux's anonymous `mmap`. `fixed`: place exactly at `hint`,
    /// replacing what is there; `noreplace`: exactly at `hint`, failing if
    /// anything is there.
    pub fn mmap(&self, hint: u64, len: u64, prot: Prot, fixed: bool, noreplace: bool) -> Result<u64, Errno> {
        if len == 0 || !prot.is_valid() {
            return Err(Errno::EINVAL);
        }
        let len = len.checked_next_multiple_of(PAGE_SIZE).ok_or(Errno::ENOMEM)?;
        if len > USER_END - USER_MIN {
            return Err(Errno::ENOMEM);
        }
        let mut inner = self.lock_inner();
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
                let removed = inner.regions.remove(hint, len).map_err(region_errno)?;
                self.unmap_pieces(&mut inner, &removed);
            }
            hint
        } else {
            let hinted = hint.next_multiple_of(PAGE_SIZE);
            let free_at_hint = hinted >= USER_MIN
                && hinted.checked_add(len).is_some_and(|e| e <= USER_END && !inner.regions.overlaps(hinted, e));
            if hint != 0 && free_at_hint {
                hinted
            } else {
                inner.regions.find_free(len, mmap_ceiling(&inner)).ok_or(Errno::ENOMEM)?
            }
        };
        inner.regions.insert(at, len, prot, Kind::Anonymous).map_err(region_errno)?;
        Ok(at)
    }

    /// Linux's `munmap`.
    pub fn munmap(&self, addr: u64, len: u64) -> Result<(), Errno> {
        if !addr.is_multiple_of(PAGE_SIZE) || len == 0 {
            return Err(Errno::EINVAL);
        }
        let len = len.checked_next_multiple_of(PAGE_SIZE).ok_or(Errno::EINVAL)?;
        let mut inner = self.lock_inner();
        let removed = inner.regions.remove(addr, len).map_err(|e| match e {
            RegionError::Invalid => Errno::EINVAL,
            other => region_errno(other),
        })?;
        self.unmap_pieces(&mut inner, &removed);
        Ok(())
    }

    /// Linux's `mprotect`.
    pub fn mprotect(&self, addr: u64, len: u64, prot: Prot) -> Result<(), Errno> {
        if !addr.is_multiple_of(PAGE_SIZE) || !prot.is_valid() {
            return Err(Errno::EINVAL);
        }
        if len == 0 {
            return Ok(());
        }
        let len = len.checked_next_multiple_of(PAGE_SIZE).ok_or(Errno::ENOMEM)?;
        let mut inner = self.lock_inner();
        let pieces = inner.regions.protect(addr, len, prot).map_err(|e| match e {
            RegionError::NotMapped | RegionError::Invalid => Errno::ENOMEM,
            other => region_errno(other),
        })?;
        let root = self.user_root();
        let mut batch = FlushBatch::user(self);
        for p in &pieces {
            let mut va = p.start;
            while va < p.end {
                // SAFETY: under the inner lock; only present pages change.
                let present = unsafe { paging::translate(root, va) }.is_some();
                if present {
                    if prot == Prot::NONE {
                        self.unmap_one(&mut inner, va, &mut batch);
                    } else {
                        // SAFETY: as above.
                        unsafe { paging::set_flags_4k(root, va, pte_flags(prot)) };
                        self.flush_here(va);
                        batch.push(va);
                    }
                }
                va += PAGE_SIZE;
            }
        }
        // Flushed on the other CPUs (and freed) before the call returns.
        batch.flush();
        Ok(())
    }

    /// Unmaps and frees the pages of removed regions; other CPUs running
    /// this address space have forgotten them when this returns.
    fn unmap_pieces(&self, inner: &mut Inner, pieces: &[Region]) {
        let mut batch = FlushBatch::user(self);
        for p in pieces {
            let mut va = p.start;
            while va < p.end {
                self.unmap_one(inner, va, &mut batch);
                va += PAGE_SIZE;
            }
        }
        batch.flush();
    }

    /// Unmaps one page; its frame is freed once `batch` has flushed it on
    /// the other CPUs.
    fn unmap_one(&self, inner: &mut Inner, va: u64, batch: &mut FlushBatch<'_>) {
        // SAFETY: under the inner lock; the region is gone, nothing may use the page.
        if let Some(f) = unsafe { paging::unmap_4k(self.user_root(), va) } {
            self.flush_here(va);
            batch.push_and_free(va, f);
            inner.resident -= 1;
        }
    }

    /// Flushes `va` from this CPU's TLB if it runs this address space.
    fn flush_here(&self, va: u64) {
        if self.is_active_here() {
            tlb::flush_user_page(self.pcid, va);
        }
    }

    /// The regions (a copy, for the test hooks).
    #[cfg(feature = "hooks")]
    pub fn regions(&self) -> Vec<Region> {
        self.lock_inner().regions.iter().copied().collect()
    }

    /// Pages resident now (read by the test hooks).
    #[cfg(feature = "hooks")]
    pub fn resident_pages(&self) -> u64 {
        self.lock_inner().resident
    }
}

/// Top-down mmap placement starts below the stack's guard gap.
fn mmap_ceiling(inner: &Inner) -> u64 {
    inner
        .regions
        .iter()
        .filter(|r| r.kind == Kind::Stack)
        .map(|r| r.start.saturating_sub(STACK_GUARD_GAP))
        .min()
        .unwrap_or(USER_END)
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
