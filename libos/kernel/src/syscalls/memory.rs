//! mmap, mprotect, munmap and brk on the caller's address space (Linux's
//! `mm/mmap.c`, `mm/mprotect.c`).

use alloc::sync::Arc;
use alloc::vec::Vec;

use entry_asm::layout::PAGE_SIZE;

use libos_abi::abi_types::{MAP_ANONYMOUS, MAP_FIXED, MAP_FIXED_NOREPLACE, MAP_PRIVATE, MAP_SHARED, PROT_WRITE};
use libos_abi::errno::Errno;
use libos_abi::syscalls::Memory;
use libos_kcore::vm_regions::Prot;

use super::{Cx, Kernel};
use crate::fs::file::OpenFile;
use crate::mm::address_space::AddressSpace;
use crate::mm::{frame, phys};
use crate::process;

fn space() -> Arc<AddressSpace> {
    process::current().expect("syscalls come from apps").space()
}

/// Reads the file's pages from `offset` that `len` bytes of mapping cover
/// into fresh zeroed frames (the last one's tail past the end of the file
/// stays zero, as Linux shows it). Returns the frames and the file's size.
fn read_file_pages(file: &OpenFile, offset: u64, len: u64) -> Result<(Vec<u64>, u64, u64, u64), Errno> {
    let at = file.object().location().ok_or(Errno::ENODEV)?;
    let mounts = crate::fs::mounts();
    if crate::fs::procfs::is_proc(at.mount) {
        return Err(Errno::ENODEV);
    }
    let (attr, dev) = libos_fs::vfs::stat_at(mounts, at)?;
    if attr.file_type() != libos_fs::filesystem::FileType::Regular {
        return Err(Errno::ENODEV);
    }
    let in_file = attr.size.saturating_sub(offset).next_multiple_of(PAGE_SIZE).min(len.next_multiple_of(PAGE_SIZE));
    let pages = in_file / PAGE_SIZE;
    let mut frames = Vec::new();
    frames.try_reserve_exact(pages as usize).map_err(|_| Errno::ENOMEM)?;
    let fill = |frames: &mut Vec<u64>| -> Result<(), Errno> {
        for i in 0..pages {
            if i % 256 == 0 && crate::sched::with_current(|t| t.flags.killed()) {
                return Err(Errno::EINTR);
            }
            let f = frame::alloc_zeroed_for_app().ok_or(Errno::ENOMEM)?;
            frames.push(f);
            // SAFETY: a fresh frame of ours, reached through the direct map;
            // nothing else refers to it.
            let page = unsafe { core::slice::from_raw_parts_mut(phys::to_virt(f), PAGE_SIZE as usize) };
            let mut done = 0;
            while done < page.len() {
                let n = mounts
                    .with(at.mount, |fs| fs.read(at.ino, offset + i * PAGE_SIZE + done as u64, &mut page[done..]))?;
                if n == 0 {
                    break;
                }
                done += n;
            }
        }
        Ok(())
    };
    match fill(&mut frames) {
        Ok(()) => Ok((frames, attr.size, dev, attr.ino)),
        Err(e) => {
            frames.iter().for_each(|&f| frame::free(f));
            Err(e)
        }
    }
}

impl Memory for Kernel {
    /// Anonymous memory, and files: a private mapping is a copy of the
    /// file's pages made at `mmap` (copy-on-write in effect: writes stay in
    /// the mapping); a shared one is such a copy too, so only read-only
    /// (`PROT_WRITE` with `MAP_SHARED` is `ENODEV` for a file opened for
    /// writing, `EACCES` for one opened read-only, as Linux; `mprotect`
    /// never makes it writable). Pages wholly past the end of the file fault
    /// with `SIGBUS`. Pipes, the console, directories and `/proc` files:
    /// `ENODEV`.
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
        if offset % 4096 != 0 {
            return Err(Errno::EINVAL);
        }
        let fixed = flags & MAP_FIXED != 0;
        let noreplace = flags & MAP_FIXED_NOREPLACE != 0;
        if flags & MAP_ANONYMOUS == 0 {
            // The order of Linux's checks (`ksys_mmap_pgoff`, `do_mmap`).
            let file = super::descriptors::file(fd)?;
            if file.is_path_only() {
                return Err(Errno::EBADF);
            }
            if length == 0 {
                return Err(Errno::EINVAL);
            }
            let offset = offset as u64;
            let pages = (length as u64).div_ceil(PAGE_SIZE);
            if (offset / PAGE_SIZE).checked_add(pages).is_none() {
                return Err(Errno::EOVERFLOW);
            }
            file.object().location().ok_or(Errno::ENODEV)?;
            let shared = sharing == MAP_SHARED;
            if shared && prot & PROT_WRITE != 0 {
                return Err(if file.writable() { Errno::ENODEV } else { Errno::EACCES });
            }
            if !file.readable() {
                return Err(Errno::EACCES);
            }
            if !Prot(prot as u32).is_valid() {
                return Err(Errno::EINVAL);
            }
            let (frames, size, dev, ino) = read_file_pages(&file, offset, length as u64)?;
            return space()
                .mmap_file(
                    addr as u64,
                    length as u64,
                    Prot(prot as u32),
                    fixed,
                    noreplace,
                    (dev, ino, shared),
                    offset,
                    size,
                    frames,
                )
                .map(|a| a as usize);
        }
        let prot = Prot(prot as u32);
        // Without fork, shared and private anonymous memory behave the same.
        space().mmap(addr as u64, length as u64, prot, fixed, noreplace).map(|a| a as usize)
    }

    fn mprotect(_cx: &mut Cx, addr: usize, length: usize, prot: i32) -> Result<(), Errno> {
        space().mprotect(addr as u64, length as u64, Prot(prot as u32))
    }

    fn munmap(_cx: &mut Cx, addr: usize, length: usize) -> Result<(), Errno> {
        space().munmap(addr as u64, length as u64)
    }

    fn msync(_cx: &mut Cx, addr: usize, length: usize, flags: i32) -> Result<(), Errno> {
        space().msync(addr as u64, length as u64, flags)
    }

    /// Never fails; returns the (possibly unchanged) break.
    fn brk(_cx: &mut Cx, addr: usize) -> Result<usize, Errno> {
        Ok(space().brk(addr as u64) as usize)
    }
}
