//! What the boot loader handed over, read and copied before its memory is
//! reused: the memory map, the command line, and where the image and the
//! app payload lie.

pub mod report;

use core::fmt::Write;

use entry_asm::symbol_address;
use libos_kcore::boot_options::BootOptions;
use libos_kcore::multiboot::{MemoryKind, MemoryRegion, MultibootInfo, PhysMemory};
use libos_kcore::phys_range::{PhysRange, RangeSet};

use crate::mm::phys;
use crate::sync::InitCell;

/// Longest command line kept.
pub const CMDLINE_MAX: usize = 4096;
/// Most memory-map entries kept.
pub const MEMORY_MAP_MAX: usize = 64;

/// The boot information, copied out of the loader's memory.
pub struct BootInfo {
    /// The command line (UTF-8; invalid bytes replaced by `?`).
    pub cmdline: &'static str,
    /// The command line, parsed.
    pub options: BootOptions<'static>,
    /// The loader's name.
    pub loader_name: heapless::String<48>,
    /// The memory map, as the loader gave it.
    pub memory_map: heapless::Vec<MemoryRegion, MEMORY_MAP_MAX>,
    /// Physical memory that must never be handed out.
    pub reserved: RangeSet<32>,
    /// The kernel image (text to bss) in physical memory.
    pub image: PhysRange,
    /// The app payload the xtask appended to the image, if any.
    pub payload: Option<PhysRange>,
    /// The first boot module (the root file system's cpio archive), if any.
    pub root_archive: Option<PhysRange>,
}

impl BootInfo {
    /// RAM the kernel may use (type "available"), merged.
    pub fn usable_memory(&self) -> RangeSet<MEMORY_MAP_MAX> {
        let mut set = RangeSet::new();
        for r in self.memory_map.iter().filter(|r| r.kind == MemoryKind::Available) {
            // Cannot overflow: at most as many ranges as map entries.
            let _ = set.insert(r.range);
        }
        set
    }

    /// What the direct map covers: RAM, ACPI memory and the first MiB.
    pub fn direct_map_ranges(&self) -> RangeSet<MEMORY_MAP_MAX> {
        let mut set = RangeSet::new();
        let _ = set.insert(PhysRange::new(0, 1 << 20));
        for r in self.memory_map.iter() {
            if matches!(r.kind, MemoryKind::Available | MemoryKind::AcpiReclaimable | MemoryKind::AcpiNvs) {
                let _ = set.insert(r.range);
            }
        }
        set
    }
}

/// Physical memory below 4 GiB, through the boot code's identity map.
struct IdentityMemory;

impl PhysMemory for IdentityMemory {
    fn read(&self, addr: u64, buf: &mut [u8]) -> bool {
        let Some(end) = addr.checked_add(buf.len() as u64) else {
            return false;
        };
        if end > phys::IDENTITY_LIMIT || addr == 0 {
            return false;
        }
        // SAFETY: the boot page tables identity-map all of 0..4 GiB, and the
        // loader's structures lie in RAM there; the read has no side effects.
        unsafe { core::ptr::copy_nonoverlapping(addr as *const u8, buf.as_mut_ptr(), buf.len()) };
        true
    }
}

static CMDLINE: InitCell<heapless::String<CMDLINE_MAX>> = InitCell::new();
static BOOT_INFO: InitCell<BootInfo> = InitCell::new();

/// The boot information.
pub fn info() -> &'static BootInfo {
    BOOT_INFO.expect("boot information")
}

/// Reads the multiboot information at `mbi_phys` and everything the kernel
/// needs from the loader's memory. Must run before the identity map goes.
pub fn collect(mbi_phys: u64) -> &'static BootInfo {
    let mem = IdentityMemory;
    let mbi = MultibootInfo::read(&mem, mbi_phys).unwrap_or_else(|e| panic!("{e}"));

    let mut raw = [0u8; CMDLINE_MAX];
    let bytes = mbi.cmdline(&mem, &mut raw).unwrap_or_else(|e| panic!("{e}"));
    let mut text = heapless::String::<CMDLINE_MAX>::new();
    for chunk in bytes.utf8_chunks() {
        let _ = text.push_str(chunk.valid());
        for _ in chunk.invalid() {
            let _ = text.push('?');
        }
    }
    let cmdline: &'static str = CMDLINE.set(text).as_str();

    let mut name_buf = [0u8; 48];
    let mut loader_name = heapless::String::new();
    if let Ok(name) = mbi.boot_loader_name(&mem, &mut name_buf) {
        let _ = write!(loader_name, "{}", core::str::from_utf8(name).unwrap_or("?"));
    }

    let mut memory_map = heapless::Vec::new();
    let mut dropped = 0usize;
    mbi.for_each_memory_region(&mem, |r| {
        if memory_map.push(r).is_err() {
            dropped += 1;
        }
    })
    .unwrap_or_else(|e| panic!("{e}"));
    if dropped > 0 {
        crate::println!("[libos] warning: memory map has {dropped} more entries than the {MEMORY_MAP_MAX} kept");
    }

    let image =
        PhysRange::new(symbol_address!(__image_phys_start), phys::image_to_phys(symbol_address!(__image_phys_end)));
    // The xtask patched load_end_addr to cover the payload after the image.
    // SAFETY: the multiboot header is part of the image, linked at its
    // physical address, which the identity map reaches.
    let load_end =
        unsafe { core::ptr::read_volatile(core::ptr::addr_of!(entry_asm::symbols::multiboot_header[5])) } as u64;
    let payload = (load_end > image.end).then(|| PhysRange::new(image.end, load_end));

    let mut reserved = RangeSet::new();
    let mut reserve = |r: PhysRange| {
        if reserved.insert(r).is_err() {
            panic!("too many reserved physical ranges");
        }
    };
    reserve(PhysRange::new(0, 1 << 20));
    reserve(PhysRange::new(image.start, image.end.max(load_end)));
    let mut used_err = None;
    mbi.for_each_used_range(&mem, CMDLINE_MAX, reserve).unwrap_or_else(|e| used_err = Some(e));
    if let Some(e) = used_err {
        panic!("{e}");
    }

    // The first module is the root image (`--files`); it is in the used
    // ranges above, so the frame allocator leaves it alone for good.
    let mut root_archive = None;
    let _ = mbi.for_each_module(&mem, |m| {
        if root_archive.is_none() && !m.range.is_empty() {
            root_archive = Some(m.range);
        }
    });

    BOOT_INFO.set(BootInfo {
        cmdline,
        options: BootOptions::parse(cmdline),
        loader_name,
        memory_map,
        reserved,
        image,
        payload,
        root_archive,
    })
}

/// The app the xtask put in the image, if any.
pub fn app() -> Option<Result<crate::process::AppImage, libos_abi::image::PayloadError>> {
    let payload = info().payload?;
    // SAFETY: the payload range is part of the loaded image, reserved from
    // the frame allocator for good, and reached through the direct map.
    let bytes: &'static [u8] =
        unsafe { core::slice::from_raw_parts(phys::to_virt(payload.start), payload.len() as usize) };
    match libos_abi::image::PayloadHeader::parse(bytes) {
        Ok(None) => None,
        Err(e) => Some(Err(e)),
        Ok(Some(h)) => {
            let start = h.app_offset as usize;
            let elf = &bytes[start..start + h.app_size as usize];
            let mut name = heapless::String::<{ libos_abi::image::APP_NAME_LEN }>::new();
            let _ = name.push_str(h.name());
            // The name lives as long as the image: leak one copy.
            let name: &'static str =
                alloc::boxed::Box::leak(alloc::string::String::from(name.as_str()).into_boxed_str());
            Some(Ok(crate::process::AppImage { name, elf }))
        }
    }
}

/// The root file system's archive (the first boot module), if the loader
/// gave one.
pub fn root_archive() -> Option<&'static [u8]> {
    let range = info().root_archive?;
    // SAFETY: the module lies in RAM the loader reported as used, which the
    // frame allocator never hands out (`for_each_used_range` above), and the
    // direct map covers it; nothing writes it.
    Some(unsafe { core::slice::from_raw_parts(phys::to_virt(range.start), range.len() as usize) })
}
