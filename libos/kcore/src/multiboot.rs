//! Reading the multiboot (version 1) information structure.
//!
//! The loader leaves the structure somewhere in low memory and passes its
//! physical address in EBX. Everything in it is a physical pointer into
//! more loader-provided memory (command line, memory map, modules), so the
//! reader follows pointers through a [`PhysMemory`] that the kernel backs
//! with its early identity map and the tests back with plain buffers. Every
//! read is bounds-checked by the backing, every length is capped, and a
//! malformed structure gives a [`MultibootError`], never a panic or a loop.

use crate::phys_range::PhysRange;

/// Read access to physical memory.
pub trait PhysMemory {
    /// Copies `buf.len()` bytes at physical `addr` into `buf`; `false` if
    /// any of them is not readable.
    fn read(&self, addr: u64, buf: &mut [u8]) -> bool;
}

/// Size of the information structure up to and including the framebuffer fields.
pub const INFO_SIZE: u64 = 116;
/// Longest memory map this reader accepts, in bytes.
pub const MAX_MMAP_BYTES: u32 = 64 * 1024;
/// Most modules this reader accepts.
pub const MAX_MODULES: u32 = 64;
/// Size of one module descriptor.
const MODULE_SIZE: u64 = 16;

/// `flags` bits of the information structure.
pub mod flags {
    /// `mem_lower`/`mem_upper` are valid.
    pub const MEMORY: u32 = 1 << 0;
    /// `cmdline` is valid.
    pub const CMDLINE: u32 = 1 << 2;
    /// `mods_count`/`mods_addr` are valid.
    pub const MODULES: u32 = 1 << 3;
    /// `mmap_length`/`mmap_addr` are valid.
    pub const MEMORY_MAP: u32 = 1 << 6;
    /// `boot_loader_name` is valid.
    pub const BOOT_LOADER_NAME: u32 = 1 << 9;
}

/// What went wrong reading the structure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MultibootError {
    /// Memory the structure points at could not be read.
    Unreadable {
        /// What was being read.
        what: &'static str,
        /// Its physical address.
        addr: u64,
    },
    /// The loader provided no memory map (flag bit 6 clear).
    NoMemoryMap,
    /// The memory map is malformed.
    BadMemoryMap(&'static str),
    /// A string is longer than the buffer it must fit in.
    StringTooLong(&'static str),
    /// Too many modules.
    TooManyModules(u32),
}

impl core::fmt::Display for MultibootError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            MultibootError::Unreadable { what, addr } => {
                write!(f, "cannot read the multiboot {what} at {addr:#x}")
            }
            MultibootError::NoMemoryMap => write!(f, "the boot loader gave no memory map"),
            MultibootError::BadMemoryMap(why) => write!(f, "malformed multiboot memory map: {why}"),
            MultibootError::StringTooLong(what) => write!(f, "the multiboot {what} is too long"),
            MultibootError::TooManyModules(n) => {
                write!(f, "{n} multiboot modules (at most {MAX_MODULES} supported)")
            }
        }
    }
}

/// Type of a memory-map region.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemoryKind {
    /// RAM the OS may use (type 1).
    Available,
    /// ACPI tables; usable once they have been read (type 3).
    AcpiReclaimable,
    /// ACPI non-volatile storage (type 4).
    AcpiNvs,
    /// Defective RAM (type 5).
    Defective,
    /// Anything else: reserved.
    Reserved(u32),
}

impl MemoryKind {
    /// The kind for a raw type number.
    pub const fn from_raw(raw: u32) -> MemoryKind {
        match raw {
            1 => MemoryKind::Available,
            3 => MemoryKind::AcpiReclaimable,
            4 => MemoryKind::AcpiNvs,
            5 => MemoryKind::Defective,
            other => MemoryKind::Reserved(other),
        }
    }

    /// A short name for reports.
    pub const fn name(&self) -> &'static str {
        match self {
            MemoryKind::Available => "available",
            MemoryKind::AcpiReclaimable => "ACPI reclaimable",
            MemoryKind::AcpiNvs => "ACPI NVS",
            MemoryKind::Defective => "defective",
            MemoryKind::Reserved(_) => "reserved",
        }
    }
}

/// One entry of the memory map.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryRegion {
    /// The physical range.
    pub range: PhysRange,
    /// Its type.
    pub kind: MemoryKind,
}

/// One boot module.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Module {
    /// The module's bytes.
    pub range: PhysRange,
    /// Physical address of its NUL-terminated string (0 if none).
    pub string_addr: u32,
}

/// The parts of the information structure this kernel uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MultibootInfo {
    /// Physical address of the structure.
    pub addr: u64,
    /// The `flags` word.
    pub flags: u32,
    /// Lower and upper memory in KiB (flag bit 0).
    pub mem_kib: Option<(u32, u32)>,
    /// Physical address of the command line (flag bit 2).
    pub cmdline_addr: Option<u32>,
    /// Modules array: address and count (flag bit 3).
    pub modules: Option<(u32, u32)>,
    /// Memory map: address and length in bytes (flag bit 6).
    pub mmap: Option<(u32, u32)>,
    /// Physical address of the boot loader's name (flag bit 9).
    pub boot_loader_name_addr: Option<u32>,
}

fn read_u32(bytes: &[u8], off: usize) -> u32 {
    u32::from_le_bytes([bytes[off], bytes[off + 1], bytes[off + 2], bytes[off + 3]])
}

fn read_u64(bytes: &[u8], off: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&bytes[off..off + 8]);
    u64::from_le_bytes(b)
}

impl MultibootInfo {
    /// Reads the structure at physical `addr`.
    pub fn read(mem: &impl PhysMemory, addr: u64) -> Result<MultibootInfo, MultibootError> {
        let mut raw = [0u8; 72];
        if !mem.read(addr, &mut raw) {
            return Err(MultibootError::Unreadable { what: "information structure", addr });
        }
        let flags = read_u32(&raw, 0);
        let has = |bit: u32| flags & bit != 0;
        Ok(MultibootInfo {
            addr,
            flags,
            mem_kib: has(flags::MEMORY).then(|| (read_u32(&raw, 4), read_u32(&raw, 8))),
            cmdline_addr: has(flags::CMDLINE).then(|| read_u32(&raw, 16)),
            modules: has(flags::MODULES).then(|| (read_u32(&raw, 24), read_u32(&raw, 20))),
            mmap: has(flags::MEMORY_MAP).then(|| (read_u32(&raw, 48), read_u32(&raw, 44))),
            boot_loader_name_addr: has(flags::BOOT_LOADER_NAME).then(|| read_u32(&raw, 64)),
        })
    }

    /// Copies the NUL-terminated string at physical `addr` into `buf` and
    /// returns its bytes (without the NUL).
    pub fn read_string<'b>(
        mem: &impl PhysMemory,
        addr: u64,
        what: &'static str,
        buf: &'b mut [u8],
    ) -> Result<&'b [u8], MultibootError> {
        for i in 0..buf.len() {
            let mut byte = [0u8; 1];
            if !mem.read(addr + i as u64, &mut byte) {
                return Err(MultibootError::Unreadable { what, addr: addr + i as u64 });
            }
            if byte[0] == 0 {
                return Ok(&buf[..i]);
            }
            buf[i] = byte[0];
        }
        Err(MultibootError::StringTooLong(what))
    }

    /// The command line (empty if the loader gave none), copied into `buf`.
    pub fn cmdline<'b>(&self, mem: &impl PhysMemory, buf: &'b mut [u8]) -> Result<&'b [u8], MultibootError> {
        match self.cmdline_addr {
            Some(addr) => Self::read_string(mem, addr as u64, "command line", buf),
            None => Ok(&buf[..0]),
        }
    }

    /// The boot loader's name (empty if none), copied into `buf`.
    pub fn boot_loader_name<'b>(&self, mem: &impl PhysMemory, buf: &'b mut [u8]) -> Result<&'b [u8], MultibootError> {
        match self.boot_loader_name_addr {
            Some(addr) => Self::read_string(mem, addr as u64, "boot loader name", buf),
            None => Ok(&buf[..0]),
        }
    }

    /// Calls `f` for every memory-map entry, in the loader's order.
    pub fn for_each_memory_region(
        &self,
        mem: &impl PhysMemory,
        mut f: impl FnMut(MemoryRegion),
    ) -> Result<(), MultibootError> {
        let (addr, len) = self.mmap.ok_or(MultibootError::NoMemoryMap)?;
        if len > MAX_MMAP_BYTES {
            return Err(MultibootError::BadMemoryMap("longer than 64 KiB"));
        }
        let (addr, end) = (addr as u64, addr as u64 + len as u64);
        let mut cur = addr;
        // Each entry: u32 size (of the rest of the entry), u64 base, u64 length, u32 type.
        while cur < end {
            let mut head = [0u8; 24];
            if end - cur < 24 {
                return Err(MultibootError::BadMemoryMap("entry cut off by the end of the map"));
            }
            if !mem.read(cur, &mut head) {
                return Err(MultibootError::Unreadable { what: "memory map", addr: cur });
            }
            let size = read_u32(&head, 0) as u64;
            if size < 20 {
                return Err(MultibootError::BadMemoryMap("entry smaller than 20 bytes"));
            }
            if cur + 4 + size > end {
                return Err(MultibootError::BadMemoryMap("entry runs past the end of the map"));
            }
            let base = read_u64(&head, 4);
            let length = read_u64(&head, 12);
            let kind = MemoryKind::from_raw(read_u32(&head, 20));
            if length > 0 {
                f(MemoryRegion { range: PhysRange::with_len(base, length), kind });
            }
            cur += 4 + size;
        }
        Ok(())
    }

    /// Calls `f` for every module.
    pub fn for_each_module(&self, mem: &impl PhysMemory, mut f: impl FnMut(Module)) -> Result<(), MultibootError> {
        let Some((addr, count)) = self.modules else {
            return Ok(());
        };
        if count > MAX_MODULES {
            return Err(MultibootError::TooManyModules(count));
        }
        for i in 0..count as u64 {
            let mut raw = [0u8; MODULE_SIZE as usize];
            let at = addr as u64 + i * MODULE_SIZE;
            if !mem.read(at, &mut raw) {
                return Err(MultibootError::Unreadable { what: "module list", addr: at });
            }
            f(Module {
                range: PhysRange::new(read_u32(&raw, 0) as u64, read_u32(&raw, 4) as u64),
                string_addr: read_u32(&raw, 8),
            });
        }
        Ok(())
    }

    /// Calls `f` with every physical range the loader's data occupies (the
    /// structure, the memory map, the command line, the boot loader name, the
    /// module list, the modules and their strings), so that the frame
    /// allocator never hands them out. String lengths are found by reading,
    /// up to `max_string` bytes each.
    pub fn for_each_used_range(
        &self,
        mem: &impl PhysMemory,
        max_string: usize,
        mut f: impl FnMut(PhysRange),
    ) -> Result<(), MultibootError> {
        f(PhysRange::with_len(self.addr, INFO_SIZE));
        if let Some((addr, len)) = self.mmap {
            f(PhysRange::with_len(addr as u64, len as u64));
        }
        let string_range = |addr: u32, what: &'static str| -> Result<PhysRange, MultibootError> {
            let mut len = 0u64;
            loop {
                let mut byte = [0u8; 1];
                if !mem.read(addr as u64 + len, &mut byte) {
                    return Err(MultibootError::Unreadable { what, addr: addr as u64 + len });
                }
                len += 1;
                if byte[0] == 0 {
                    return Ok(PhysRange::with_len(addr as u64, len));
                }
                if len as usize >= max_string {
                    return Err(MultibootError::StringTooLong(what));
                }
            }
        };
        if let Some(addr) = self.cmdline_addr {
            f(string_range(addr, "command line")?);
        }
        if let Some(addr) = self.boot_loader_name_addr {
            f(string_range(addr, "boot loader name")?);
        }
        if let Some((addr, count)) = self.modules {
            f(PhysRange::with_len(addr as u64, count.min(MAX_MODULES) as u64 * MODULE_SIZE));
            let mut result = Ok(());
            self.for_each_module(mem, |m| {
                f(m.range);
                if m.string_addr != 0 && result.is_ok() {
                    match string_range(m.string_addr, "module string") {
                        Ok(r) => f(r),
                        Err(e) => result = Err(e),
                    }
                }
            })?;
            result?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    /// Physical memory made of buffers at given addresses.
    struct FakeMemory {
        chunks: Vec<(u64, Vec<u8>)>,
    }

    impl PhysMemory for FakeMemory {
        fn read(&self, addr: u64, buf: &mut [u8]) -> bool {
            for (base, bytes) in &self.chunks {
                if addr >= *base && addr + buf.len() as u64 <= base + bytes.len() as u64 {
                    let off = (addr - base) as usize;
                    buf.copy_from_slice(&bytes[off..off + buf.len()]);
                    return true;
                }
            }
            false
        }
    }

    fn info(flags: u32, fields: &[(usize, u32)]) -> Vec<u8> {
        let mut v = std::vec![0u8; INFO_SIZE as usize];
        v[0..4].copy_from_slice(&flags.to_le_bytes());
        for &(off, val) in fields {
            v[off..off + 4].copy_from_slice(&val.to_le_bytes());
        }
        v
    }

    fn mmap_entry(base: u64, len: u64, kind: u32) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&20u32.to_le_bytes());
        v.extend_from_slice(&base.to_le_bytes());
        v.extend_from_slice(&len.to_le_bytes());
        v.extend_from_slice(&kind.to_le_bytes());
        v
    }

    /// What QEMU hands over: info at 0x9500, mmap at 0x9000, cmdline at 0x9600.
    fn qemu_like() -> FakeMemory {
        let mut mmap = Vec::new();
        mmap.extend(mmap_entry(0, 0x9fc00, 1));
        mmap.extend(mmap_entry(0x9fc00, 0x400, 2));
        mmap.extend(mmap_entry(0xf0000, 0x10000, 2));
        mmap.extend(mmap_entry(0x100000, 0x7ee0000, 1));
        mmap.extend(mmap_entry(0x7fe0000, 0x20000, 2));
        mmap.extend(mmap_entry(0xfffc0000, 0x40000, 2));
        let mmap_len = mmap.len() as u32;
        FakeMemory {
            chunks: std::vec![
                (
                    0x9500,
                    info(
                        flags::MEMORY | flags::CMDLINE | flags::MEMORY_MAP | flags::BOOT_LOADER_NAME,
                        &[(4, 639), (8, 130048), (16, 0x9600), (44, mmap_len), (48, 0x9000), (64, 0x9700)]
                    )
                ),
                (0x9000, mmap),
                (0x9600, b"/tmp/img.bin test kpti=off\0".to_vec()),
                (0x9700, b"qemu\0".to_vec()),
            ],
        }
    }

    #[test]
    fn reads_a_qemu_like_structure() {
        let mem = qemu_like();
        let mbi = MultibootInfo::read(&mem, 0x9500).unwrap();
        assert_eq!(mbi.mem_kib, Some((639, 130048)));
        let mut buf = [0u8; 256];
        assert_eq!(mbi.cmdline(&mem, &mut buf).unwrap(), b"/tmp/img.bin test kpti=off");
        let mut buf = [0u8; 16];
        assert_eq!(mbi.boot_loader_name(&mem, &mut buf).unwrap(), b"qemu");
        let mut regions = Vec::new();
        mbi.for_each_memory_region(&mem, |r| regions.push(r)).unwrap();
        assert_eq!(regions.len(), 6);
        assert_eq!(regions[3].range, PhysRange::new(0x100000, 0x7fe0000));
        assert_eq!(regions[3].kind, MemoryKind::Available);
        assert_eq!(regions[1].kind, MemoryKind::Reserved(2));
        let mut used = Vec::new();
        mbi.for_each_used_range(&mem, 4096, |r| used.push(r)).unwrap();
        assert!(used.contains(&PhysRange::with_len(0x9500, INFO_SIZE)));
        assert!(used.contains(&PhysRange::with_len(0x9000, 6 * 24)));
        assert!(used.contains(&PhysRange::with_len(0x9600, 27)));
        assert!(used.contains(&PhysRange::with_len(0x9700, 5)));
    }

    #[test]
    fn string_too_long_for_buffer_is_an_error() {
        let mem = qemu_like();
        let mbi = MultibootInfo::read(&mem, 0x9500).unwrap();
        let mut small = [0u8; 8];
        assert_eq!(mbi.cmdline(&mem, &mut small), Err(MultibootError::StringTooLong("command line")));
    }

    #[test]
    fn missing_pieces() {
        let mem = FakeMemory { chunks: std::vec![(0x1000, info(0, &[]))] };
        let mbi = MultibootInfo::read(&mem, 0x1000).unwrap();
        assert_eq!(mbi.for_each_memory_region(&mem, |_| {}), Err(MultibootError::NoMemoryMap));
        let mut buf = [0u8; 8];
        assert_eq!(mbi.cmdline(&mem, &mut buf).unwrap(), b"");
        assert!(matches!(MultibootInfo::read(&mem, 0x5000), Err(MultibootError::Unreadable { .. })));
    }

    #[test]
    fn malformed_memory_maps_are_errors_not_loops() {
        let cases: [(Vec<u8>, &str); 3] = [
            (
                {
                    let mut e = mmap_entry(0, 0x1000, 1);
                    e[0..4].copy_from_slice(&0u32.to_le_bytes());
                    e
                },
                "entry smaller than 20 bytes",
            ),
            (
                {
                    let mut e = mmap_entry(0, 0x1000, 1);
                    e[0..4].copy_from_slice(&100u32.to_le_bytes());
                    e
                },
                "entry runs past the end of the map",
            ),
            (mmap_entry(0, 0x1000, 1)[..20].to_vec(), "entry cut off by the end of the map"),
        ];
        for (mmap, why) in cases {
            let len = mmap.len() as u32;
            let mem = FakeMemory {
                chunks: std::vec![(0x1000, info(flags::MEMORY_MAP, &[(44, len), (48, 0x2000)])), (0x2000, mmap)],
            };
            let mbi = MultibootInfo::read(&mem, 0x1000).unwrap();
            assert_eq!(mbi.for_each_memory_region(&mem, |_| {}), Err(MultibootError::BadMemoryMap(why)));
        }
        let mem = FakeMemory { chunks: std::vec![(0x1000, info(flags::MEMORY_MAP, &[(44, 1 << 20), (48, 0x2000)]))] };
        let mbi = MultibootInfo::read(&mem, 0x1000).unwrap();
        assert!(matches!(mbi.for_each_memory_region(&mem, |_| {}), Err(MultibootError::BadMemoryMap(_))));
    }

    #[test]
    fn modules_and_their_strings_are_used_ranges() {
        let mut mods = Vec::new();
        for (s, e, name) in [(0x200000u32, 0x201000u32, 0x3000u32), (0x300000, 0x300800, 0)] {
            mods.extend_from_slice(&s.to_le_bytes());
            mods.extend_from_slice(&e.to_le_bytes());
            mods.extend_from_slice(&name.to_le_bytes());
            mods.extend_from_slice(&0u32.to_le_bytes());
        }
        let mem = FakeMemory {
            chunks: std::vec![
                (0x1000, info(flags::MODULES, &[(20, 2), (24, 0x2000)])),
                (0x2000, mods),
                (0x3000, b"initrd\0".to_vec()),
            ],
        };
        let mbi = MultibootInfo::read(&mem, 0x1000).unwrap();
        let mut used = Vec::new();
        mbi.for_each_used_range(&mem, 64, |r| used.push(r)).unwrap();
        assert!(used.contains(&PhysRange::new(0x200000, 0x201000)));
        assert!(used.contains(&PhysRange::new(0x300000, 0x300800)));
        assert!(used.contains(&PhysRange::with_len(0x3000, 7)));
        assert!(used.contains(&PhysRange::with_len(0x2000, 32)));
        let too_many = FakeMemory { chunks: std::vec![(0x1000, info(flags::MODULES, &[(20, 1000), (24, 0x2000)]))] };
        let mbi = MultibootInfo::read(&too_many, 0x1000).unwrap();
        assert_eq!(mbi.for_each_module(&too_many, |_| {}), Err(MultibootError::TooManyModules(1000)));
    }
}
