//! TLB shootdown: making other CPUs forget mappings that changed.
//!
//! A CPU that changes a page table invalidates its own TLB entries. Other
//! CPUs may hold the old translations too, so before the change is complete
//! they are asked (a CALL_FUNCTION IPI to all of them at once) to invalidate
//! them, and the caller waits until every one has. Changes are batched
//! ([`FlushBatch`]): unmapping a range costs one round of IPIs per
//! [`BATCH`] pages that were present, not one per page and CPU.
//!
//! For an app's pages the targets are the CPUs that have its address space
//! loaded right now: a CPU that loads it later flushes its ASIDs while
//! loading (see `sched::load_address_space`), which covers the PCID case
//! where a CPU not in the address space keeps old entries — it gets, in
//! effect, the deferred user flush. For kernel pages it is every other CPU.

use super::call::call_on_many;
use crate::arch::x86_64::{paging, tlb};
use crate::mm::address_space::AddressSpace;

/// Pages one shootdown round carries.
pub const BATCH: usize = 32;

/// What the targets of a round flush (on the caller's stack, which stays
/// put until every target has finished).
struct Request {
    /// `Some(pcid)`: user pages of the address space with that kernel
    /// ASID; `None`: kernel pages.
    user_pcid: Option<u16>,
    pages: heapless::Vec<u64, BATCH>,
}

fn flush_request(arg: u64) {
    // SAFETY: `arg` is the address of the caller's Request, alive until
    // this call has finished (the caller waits for it).
    let request = unsafe { &*(arg as *const Request) };
    for &va in &request.pages {
        match request.user_pcid {
            Some(pcid) => tlb::flush_user_page(pcid, va),
            None => paging::flush_local(va),
        }
    }
}

/// Pages whose mappings changed, flushed on other CPUs in rounds of
/// [`BATCH`] (the caller flushes its own TLB as it goes). Frames that the
/// unmapped pages held are freed only after the round that flushed them:
/// until then another CPU could still write to them.
pub struct FlushBatch<'a> {
    space: Option<&'a AddressSpace>,
    pages: heapless::Vec<u64, BATCH>,
    frames: heapless::Vec<u64, BATCH>,
}

impl<'a> FlushBatch<'a> {
    /// A batch for the user pages of `space`.
    pub fn user(space: &'a AddressSpace) -> FlushBatch<'a> {
        FlushBatch { space: Some(space), pages: heapless::Vec::new(), frames: heapless::Vec::new() }
    }

    /// A batch for kernel pages.
    pub fn kernel() -> FlushBatch<'static> {
        FlushBatch { space: None, pages: heapless::Vec::new(), frames: heapless::Vec::new() }
    }

    /// Adds a page; a full batch is flushed on the other CPUs first.
    pub fn push(&mut self, virt: u64) {
        if self.pages.is_full() {
            self.flush();
        }
        let _ = self.pages.push(virt & !0xFFF);
    }

    /// Adds an unmapped page and the frame it held, which goes back to the
    /// frame allocator once the page is flushed everywhere.
    pub fn push_and_free(&mut self, virt: u64, frame: u64) {
        self.push(virt);
        let _ = self.frames.push(frame);
    }

    /// Flushes the pages collected so far on the other CPUs.
    pub fn flush(&mut self) {
        if self.pages.is_empty() {
            return;
        }
        let me = crate::percpu::cpu_index();
        let (targets, user_pcid) = match self.space {
            Some(space) => (space.active_cpus() & !(1 << me), Some(space.pcid())),
            None => (crate::percpu::online_mask() & !(1 << me), None),
        };
        if targets != 0 {
            let request = Request { user_pcid, pages: core::mem::take(&mut self.pages) };
            call_on_many(targets, flush_request, &request as *const Request as u64);
        }
        self.pages.clear();
        for f in self.frames.drain(..) {
            crate::mm::frame::free(f);
        }
    }
}

impl Drop for FlushBatch<'_> {
    /// A batch is complete only once flushed everywhere.
    fn drop(&mut self) {
        self.flush();
    }
}
