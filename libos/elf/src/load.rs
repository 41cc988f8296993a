//! The stricter check for executables the kernel maps into a user address
//! space: static `ET_EXEC` files and static position-independent
//! executables (`ET_DYN` without `PT_INTERP`), placed as Linux's
//! `load_elf_binary` (fs/binfmt_elf.c) places them.

use crate::Elf;
use crate::error::ElfError;
use crate::header::{ET_DYN, ET_EXEC};
use crate::program::{PT_INTERP, PT_TLS, ProgramHeader};

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
    /// Where the first page of a position-independent executable (`ET_DYN`)
    /// goes: its load bias is this minus its lowest `PT_LOAD` page (see
    /// [`Elf::load_bias`]). Page-aligned. An `ET_EXEC` file is mapped at its
    /// own addresses.
    pub dyn_base: u64,
}

impl LoadPolicy {
    /// Checks that the policy itself makes sense.
    fn check(&self) -> Result<(), ElfError> {
        let dyn_base_aligned = self.dyn_base & self.page_size.wrapping_sub(1) == 0;
        if self.page_size.is_power_of_two() && self.user_start < self.user_end && dyn_base_aligned {
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

impl<'a> Elf<'a> {
    /// The path of the program interpreter a dynamically linked file asks for
    /// (`PT_INTERP`'s bytes up to their first NUL), or `None` for a static
    /// file. `Some` for a file [`check_loadable`](Elf::check_loadable)
    /// refuses with [`ElfError::HasInterpreter`]: the kernel names it in its
    /// message.
    pub fn interpreter(&self) -> Option<&'a [u8]> {
        let bytes = self.bytes;
        let ph = self.program_headers().find(|ph| ph.kind == PT_INTERP)?;
        // `parse` checked the range; an empty slice if it did not.
        let data = crate::read::slice_at(bytes, ph.offset, ph.file_size).unwrap_or(&[]);
        let end = data.iter().position(|&b| b == 0).unwrap_or(data.len());
        Some(&data[..end])
    }

    /// The thread-local storage template (`PT_TLS`), if the file has one.
    /// The kernel does not use it (the C library sets up TLS from the
    /// program headers, which `AT_PHDR` points at); it is checked to lie
    /// inside a `PT_LOAD` segment's file part.
    pub fn tls(&self) -> Option<ProgramHeader> {
        self.program_headers().find(|ph| ph.kind == PT_TLS)
    }

    /// What is added to every address of the file when it is mapped with
    /// `policy`: 0 for `ET_EXEC`; for `ET_DYN`, `policy.dyn_base` minus the
    /// page of its lowest `PT_LOAD` (Linux's `load_bias`). Wrapping: a
    /// file for which it does not fit fails
    /// [`check_loadable`](Elf::check_loadable).
    pub fn load_bias(&self, policy: &LoadPolicy) -> u64 {
        if self.header.kind != ET_DYN {
            return 0;
        }
        let mask = policy.page_size.wrapping_sub(1);
        let lowest = self.program_headers().filter(ProgramHeader::is_load).map(|ph| ph.vaddr & !mask).min();
        policy.dyn_base.wrapping_sub(lowest.unwrap_or(0))
    }

    /// Checks that this is a static executable the kernel can map: `ET_EXEC`,
    /// or `ET_DYN` (static PIE, placed by [`load_bias`](Elf::load_bias));
    /// no `PT_INTERP` (a `PT_DYNAMIC` is allowed: a static PIE relocates
    /// itself with it, as Linux does not look at it); at least one `PT_LOAD` and at most
    /// `max_segments`; every `PT_LOAD` inside `[user_start, user_end)`
    /// after adding the load bias (checked arithmetic); no segment both
    /// writable and executable (W^X);
    /// `PT_LOAD` segments sorted by vaddr and not overlapping at page
    /// granularity (two segments may not share a page: the kernel maps each
    /// with its own permissions); the entry point lies inside an executable
    /// `PT_LOAD`.
    ///
    /// Details:
    /// - the policy itself must have a power-of-two page size,
    ///   `user_start < user_end` and a page-aligned `dyn_base`
    ///   ([`ElfError::BadLoadPolicy`]);
    /// - W^X applies to every program header, so an executable stack
    ///   (`PT_GNU_STACK` with `RWX`) is rejected too (Linux would map the
    ///   stack executable; this kernel never maps a page writable and
    ///   executable);
    /// - a `PT_TLS` template must lie in the file part of a `PT_LOAD`
    ///   ([`ElfError::TlsOutsideLoad`]);
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
        if self.header.kind != ET_EXEC && self.header.kind != ET_DYN {
            return Err(ElfError::NotExecutable { kind: self.header.kind });
        }
        let bias = self.load_bias(policy);

        let mut load_count = 0usize;
        for (index, ph) in self.program_headers().enumerate() {
            if ph.kind == PT_INTERP {
                return Err(ElfError::HasInterpreter { index });
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
            let (first_page, end_page) = user_pages(policy, index, &ph, bias)?;
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
        if let Some((index, tls)) = self.program_headers().enumerate().find(|(_, ph)| ph.kind == PT_TLS) {
            let inside = |load: &ProgramHeader| {
                tls.vaddr >= load.vaddr
                    && tls.vaddr.checked_add(tls.file_size).is_some_and(|end| end <= load.vaddr + load.file_size)
            };
            if tls.mem_size < tls.file_size
                || !self.program_headers().filter(ProgramHeader::is_load).any(|l| inside(&l))
            {
                return Err(ElfError::TlsOutsideLoad { index, vaddr: tls.vaddr, file_size: tls.file_size });
            }
        }
        Ok(())
    }
}

/// The pages `first..end` that the `PT_LOAD` segment `ph` occupies once
/// moved by `bias`, checked to lie inside the policy's user range.
fn user_pages(policy: &LoadPolicy, index: usize, ph: &ProgramHeader, bias: u64) -> Result<(u64, u64), ElfError> {
    let outside = ElfError::SegmentOutsideUserRange {
        index,
        vaddr: ph.vaddr,
        mem_size: ph.mem_size,
        user_start: policy.user_start,
        user_end: policy.user_end,
    };
    let start = ph.vaddr.checked_add(bias);
    let end = ph.mem_end().and_then(|end| end.checked_add(bias));
    let pages = start.zip(end).and_then(|(start, end)| policy.pages(start, end));
    match pages {
        Some((first, end)) if first >= policy.user_start && end <= policy.user_end => Ok((first, end)),
        _ => Err(outside),
    }
}
