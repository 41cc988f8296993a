//! The stricter check for executables the kernel maps into a user address
//! space.

use crate::Elf;
use crate::error::ElfError;
use crate::header::ET_EXEC;
use crate::program::{PT_DYNAMIC, PT_INTERP, ProgramHeader};

/// What the kernel can map: the user part of the address space, the page
/// size and how many segments it is willing to map.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoadPolicy {
    /// Lowest user address (inclusive).
    pub user_start: u64,
    /// End of the user addresses (exclusive).
    pub user_end: u64,
    /// The page size; a power of two.
    pub page_size: u64,
    /// The most `PT_LOAD` segments accepted.
    pub max_segments: usize,
}

impl LoadPolicy {
    /// Checks that the policy itself makes sense.
    fn check(&self) -> Result<(), ElfError> {
        if self.page_size.is_power_of_two() && self.user_start < self.user_end {
            Ok(())
        } else {
            Err(ElfError::BadLoadPolicy {
                user_start: self.user_start,
                user_end: self.user_end,
                page_size: self.page_size,
            })
        }
    }

    /// The pages a segment occupies, `start..end` rounded out to whole pages,
    /// or `None` if rounding up overflows.
    fn pages(&self, start: u64, end: u64) -> Option<(u64, u64)> {
        let mask = self.page_size.checked_sub(1)?;
        let first = start & !mask;
        let last = end.checked_add(mask)? & !mask;
        Some((first, last))
    }
}

impl Elf<'_> {
    /// Checks that this is a static executable the kernel can map: `ET_EXEC`;
    /// no `PT_INTERP` or `PT_DYNAMIC`; at least one `PT_LOAD` and at most
    /// `max_segments`; every `PT_LOAD` inside `[user_start, user_end)`
    /// (checked arithmetic); no segment both writable and executable (W^X);
    /// `PT_LOAD` segments sorted by vaddr and not overlapping at page
    /// granularity (two segments may not share a page: the kernel maps each
    /// with its own permissions); the entry point lies inside an executable
    /// `PT_LOAD`.
    ///
    /// Details:
    /// - the policy itself must have a power-of-two page size and
    ///   `user_start < user_end` ([`ElfError::BadLoadPolicy`]);
    /// - W^X applies to every program header, so an executable stack
    ///   (`PT_GNU_STACK` with `RWX`) is rejected too;
    /// - a `PT_LOAD` with `mem_size == 0` is rejected
    ///   ([`ElfError::EmptySegment`]): it would map nothing, yet its address
    ///   still touches a page;
    /// - the user range check is done on the segment rounded out to whole
    ///   pages, since that is what gets mapped;
    /// - the entry point must lie in the file-backed part
    ///   (`vaddr..vaddr + file_size`) of an executable `PT_LOAD`, not in its
    ///   zero-filled tail.
    pub fn check_loadable(&self, policy: &LoadPolicy) -> Result<(), ElfError> {
        policy.check()?;
        if self.header.kind != ET_EXEC {
            return Err(ElfError::NotExecutable { kind: self.header.kind });
        }

        let mut load_count = 0usize;
        for (index, ph) in self.program_headers().enumerate() {
            match ph.kind {
                PT_INTERP => return Err(ElfError::HasInterpreter { index }),
                PT_DYNAMIC => return Err(ElfError::HasDynamicSegment { index }),
                _ => {}
            }
            if ph.flags.writable() && ph.flags.executable() {
                return Err(ElfError::WritableAndExecutable { index });
            }
            if ph.is_load() {
                load_count += 1;
            }
        }
        if load_count == 0 {
            return Err(ElfError::NoLoadSegments);
        }
        if load_count > policy.max_segments {
            return Err(ElfError::TooManyLoadSegments { count: load_count, max: policy.max_segments });
        }

        let entry = self.header.entry;
        let mut entry_found = false;
        // The previous PT_LOAD: its index, vaddr and the end of its last page.
        let mut previous: Option<(usize, u64, u64)> = None;
        let loads = self.program_headers().enumerate().filter(|(_, ph)| ph.is_load());
        for (index, ph) in loads {
            if ph.mem_size == 0 {
                return Err(ElfError::EmptySegment { index });
            }
            let (first_page, end_page) = user_pages(policy, index, &ph)?;
            if let Some((previous, previous_vaddr, previous_end_page)) = previous {
                if ph.vaddr < previous_vaddr {
                    return Err(ElfError::SegmentsNotSorted { previous, previous_vaddr, index, vaddr: ph.vaddr });
                }
                if first_page < previous_end_page {
                    return Err(ElfError::SegmentsSharePage { first: previous, second: index, page: first_page });
                }
            }
            previous = Some((index, ph.vaddr, end_page));

            let in_file_part = entry.checked_sub(ph.vaddr).is_some_and(|offset| offset < ph.file_size);
            if ph.flags.executable() && in_file_part {
                entry_found = true;
            }
        }
        if !entry_found {
            return Err(ElfError::EntryNotExecutable { entry });
        }
        Ok(())
    }
}

/// The pages `first..end` that the `PT_LOAD` segment `ph` occupies, checked
/// to lie inside the policy's user range.
fn user_pages(policy: &LoadPolicy, index: usize, ph: &ProgramHeader) -> Result<(u64, u64), ElfError> {
    let outside = ElfError::SegmentOutsideUserRange {
        index,
        vaddr: ph.vaddr,
        mem_size: ph.mem_size,
        user_start: policy.user_start,
        user_end: policy.user_end,
    };
    let pages = ph.mem_end().and_then(|end| policy.pages(ph.vaddr, end));
    match pages {
        Some((first, end)) if first >= policy.user_start && end <= policy.user_end => Ok((first, end)),
        _ => Err(outside),
    }
}
