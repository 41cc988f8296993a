//! Copying an address space for `fork` (Linux's `dup_mmap` in
//! kernel/fork.c and `copy_page_range` in mm/memory.c), eagerly: every page
//! in use is copied at once into a fresh frame, with its leaf's flags (no
//! copy-on-write yet). The regions, the break and the stack's place come
//! along.

use alloc::sync::Arc;

use entry_asm::layout::{PAGE_SIZE, USER_END, USER_MIN};
use libos_abi::errno::Errno;
use x86_64::structures::paging::page_table::PageTableEntry;

use super::{AddressSpace, MAX_RESIDENT_PAGES};
use crate::arch::x86_64::page_walk;
use crate::mm::{frame, phys};
use crate::sched;

/// Leaves one chunk of the copy looks at with the parent's lock held (and
/// interrupts off): each may copy a page, so fewer than `WALK_CHUNK`.
const COPY_CHUNK: usize = 64;

impl AddressSpace {
    /// A copy of this address space (the caller's, whose memory calls
    /// wait meanwhile). `ENOMEM` when frames or the app's page limit run
    /// out (the partial copy is freed), `EINTR` when the caller is killed.
    pub fn duplicate(&self) -> Result<Arc<AddressSpace>, Errno> {
        let child = AddressSpace::new()?;
        let _calls = self.lock_calls()?;
        {
            let inner = self.lock_inner();
            // The child is not shared yet: its lock is taken only to satisfy
            // the type, inside the parent's (interrupts are off already).
            let mut c = child.inner.lock();
            c.regions = inner.regions.clone();
            c.brk_start = inner.brk_start;
            c.brk = inner.brk;
            c.stack_start = inner.stack_start;
        }
        let mut at = USER_MIN;
        loop {
            let mut failed = false;
            let resume = {
                let _inner = self.lock_inner();
                let mut c = child.inner.lock();
                let mut budget = COPY_CHUNK;
                let mut copy_leaf = |va: u64, entry: &mut PageTableEntry| {
                    if failed {
                        return;
                    }
                    if c.resident >= MAX_RESIDENT_PAGES {
                        failed = true;
                        return;
                    }
                    let Some(f) = frame::alloc_for_app() else {
                        failed = true;
                        return;
                    };
                    // SAFETY: both frames are whole pages the direct map
                    // reaches; the new one is the child's alone.
                    unsafe {
                        core::ptr::copy_nonoverlapping(
                            phys::to_virt(entry.addr().as_u64()) as *const u8,
                            phys::to_virt(f),
                            PAGE_SIZE as usize,
                        )
                    };
                    if child.map_page_with(va, f, entry.flags()).is_err() {
                        frame::free(f);
                        failed = true;
                        return;
                    }
                    c.resident += 1;
                };
                // SAFETY: under the parent's lock (its table does not change)
                // and the child's; the visitor only reads the parent's leaves
                // and maps fresh frames, owned by the child, in the child.
                unsafe { page_walk::walk_leaves(self.user_root(), at, USER_END, &mut budget, &mut copy_leaf) }
            };
            if failed {
                return Err(Errno::ENOMEM);
            }
            match resume {
                None => return Ok(child),
                Some(next) => at = next,
            }
            if sched::with_current(|t| t.flags.killed()) {
                return Err(Errno::EINTR);
            }
        }
    }
}
