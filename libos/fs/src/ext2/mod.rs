//! ext2, the second extended file system, over a [`BlockDevice`]: a disk
//! that Linux mounts, `mkfs.ext2` makes, `debugfs` reads and `e2fsck`
//! checks.
//!
//! What it handles: revisions 0 and 1, block sizes 1 to 4 KiB (up to 64
//! KiB read), the `filetype` feature, `sparse_super` and `large_file`;
//! images `mkfs.ext2` makes by default (with `resize_inode`, `dir_index`
//! and `ext_attr`, which are compatible: reserved blocks stay reserved, a
//! directory we change loses its hash index flag as in Linux's own ext2
//! driver, extended attribute blocks are released when their file goes).
//! An unknown incompatible feature refuses the mount (`EINVAL`); a journal
//! (ext3/4) or an unknown read-only-compatible feature mounts read-only.
//!
//! Why our own: on crates.io, `fatfs` 0.3.6 needs `core_io` for `no_std`,
//! which does not build on stable 1.95 ("Unknown compiler version"), and
//! its 0.4 is unreleased; `embedded-sdmmc` writes FAT with 8.3 names only;
//! `ext4-view` reads only; the ext2 crates are unmaintained or read-only.
//! ext2 also keeps Unix modes, owners, symlinks and hard links, which FAT
//! cannot.
//!
//! **Write order and what a crash leaves.** There is no journal. Every
//! change is written through at once, ordered like BSD's soft updates so
//! that a crash at any point leaves only what `e2fsck` repairs without
//! touching other files: a block or an inode is marked in its bitmap
//! before anything points at it; a new block's contents (data, a zeroed
//! indirect block, a directory block) are written before the pointer to
//! it; a new inode is written before the directory entry naming it; a name
//! is removed before the inode's link count drops, and pointers are cleared
//! before the bitmaps free what they pointed at. So the worst cases are
//! leaked blocks or inodes, a link count one off, a new inode not yet
//! named (e2fsck puts it in `lost+found`), and a directory renamed between
//! its two names (both present; e2fsck drops one), never a pointer to a
//! free or foreign block. The superblock says "not clean" from the
//! first change after a `sync` until the next `sync`, so a crash makes
//! the next `fsck -p` check it. Data written but not synced may be lost;
//! files synced before stay intact. `tests/ext2_crash.rs` cuts a recorded
//! workload after each of its writes (416): `e2fsck -fn` reports only
//! those kinds of problem at every cut (93 cuts are clean as they are),
//! `e2fsck -fy` repairs every one tried (every 8th), `e2fsck -p` (what a
//! boot runs) alone 52 of those 53, and the synced files read back intact
//! after each.
//!
//! **Requests.** Whole blocks of file data move in runs of consecutive
//! blocks, up to 1 MiB per device request, straight between the device and
//! the caller's buffer; new blocks are allocated in runs (one bitmap and
//! one descriptor write per run); metadata blocks (bitmaps, descriptors,
//! inode tables, indirect and directory blocks) are read through a small
//! cache that every write updates (writes still go to the device at once,
//! so the order above holds). Writing 16 MiB in 1 MiB calls on 4 KiB
//! blocks takes 6 device writes and no reads per MiB, reading it back one
//! read per MiB (`tests/ext2_io.rs`; 1,025 writes and 1,407 reads per MiB
//! before runs and the cache).
//!
//! Time stamps are whole seconds (ext2's); access times are not updated by
//! reads (as `noatime`).

pub mod layout;

use alloc::collections::{BTreeMap, VecDeque};
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;

use libos_abi::abi_types::Timespec;
use libos_abi::errno::Errno;
use libos_abi::fs_types::{
    DT_BLK, DT_CHR, DT_DIR, DT_FIFO, DT_LNK, DT_REG, DT_SOCK, DT_UNKNOWN, EXT2_SUPER_MAGIC, RENAME_EXCHANGE,
    RENAME_NOREPLACE, S_IALLUGO, S_IFDIR, S_IFLNK, S_IFMT, S_IFREG, mode_to_dtype,
};

use layout::{
    COMPAT_HAS_JOURNAL, DIRECT_BLOCKS, FAST_SYMLINK_MAX, GROUP_DESC_SIZE, GroupDesc, INCOMPAT_FILETYPE,
    INCOMPAT_SUPPORTED, INDEX_FL, Inode, LINK_MAX, RO_COMPAT_LARGE_FILE, RO_COMPAT_SUPPORTED, RawDirEntry, STATE_VALID,
    SUPERBLOCK_OFFSET, SUPERBLOCK_SIZE, Superblock, dir_rec_len, ft, le32, parse_dir_entry, set_le32,
};
pub use layout::{EXT2_MAGIC, ROOT_INO};

use crate::block_device::BlockDevice;
use crate::filesystem::{Attr, Clock, DirEntry, DirSink, FileSystem, FsStats, Ino, SetAttr, SetTime, check_name};

/// An ext2 file system on a device.
pub struct Ext2<D: BlockDevice> {
    dev: D,
    sb: Superblock,
    groups: Vec<GroupDesc>,
    block_size: usize,
    sectors_per_block: u64,
    has_filetype: bool,
    writable: bool,
    /// Whether the superblock on disk says "cleanly unmounted".
    clean_on_disk: bool,
    clock: Arc<dyn Clock>,
    /// Open files, by inode: an inode whose last name goes stays until its
    /// last unpin.
    pins: BTreeMap<u32, u32>,
    /// Metadata blocks read lately (bitmaps, descriptors, inode tables,
    /// indirect and directory blocks), kept equal to the disk: every write
    /// goes to the device at once and updates its copy here.
    cache: BTreeMap<u32, Vec<u8>>,
    /// The cached blocks, oldest first.
    cache_order: VecDeque<u32>,
}

/// How many metadata blocks the cache keeps.
const META_CACHE_BLOCKS: usize = 64;
/// The most blocks one data request moves.
const MAX_RUN_BLOCKS: usize = 256;

/// Where a logical block's pointer lives: the slot in `i_block` and the
/// indexes in each level of indirect blocks below it.
struct BlockPath {
    slot: usize,
    depth: usize,
    index: [usize; 3],
}

impl<D: BlockDevice> Ext2<D> {
    /// Mounts the ext2 file system on `dev`; `read_only` mounts it so
    /// (every change gives `EROFS`). `EINVAL` if it is not ext2 or needs a
    /// feature we do not read; `EIO` for a device error.
    pub fn mount(mut dev: D, clock: Arc<dyn Clock>, read_only: bool) -> Result<Ext2<D>, Errno> {
        let sector = dev.sector_size() as u64;
        if sector == 0 || 1024 % sector != 0 {
            return Err(Errno::EINVAL);
        }
        let mut raw = vec![0u8; SUPERBLOCK_SIZE];
        dev.read_sectors(SUPERBLOCK_OFFSET / sector, &mut raw)?;
        let sb = Superblock { raw };
        if sb.magic() != EXT2_MAGIC {
            return Err(Errno::EINVAL);
        }
        let block_size = sb.block_size().ok_or(Errno::EINVAL)?;
        let (compat, incompat, ro_compat) = sb.features();
        if incompat & !INCOMPAT_SUPPORTED != 0 {
            return Err(Errno::EINVAL);
        }
        let inode_size = sb.inode_size();
        if inode_size < 128 || inode_size > block_size || !inode_size.is_power_of_two() {
            return Err(Errno::EINVAL);
        }
        let (bpg, ipg) = (sb.blocks_per_group(), sb.inodes_per_group());
        let blocks = sb.blocks_count();
        let first = sb.first_data_block();
        if bpg == 0
            || ipg == 0
            || bpg as usize > block_size * 8
            || ipg as usize > block_size * 8
            || first >= blocks
            || sb.first_ino() < 11
        {
            return Err(Errno::EINVAL);
        }
        let group_count = (blocks - first).div_ceil(bpg);
        if u64::from(group_count) * u64::from(ipg) < u64::from(sb.inodes_count()) {
            return Err(Errno::EINVAL);
        }
        if u64::from(blocks) * block_size as u64 > dev.sector_count() * sector {
            return Err(Errno::EINVAL);
        }
        let sectors_per_block = block_size as u64 / sector;
        let mut fs = Ext2 {
            dev,
            clean_on_disk: sb.state() & STATE_VALID != 0,
            has_filetype: incompat & INCOMPAT_FILETYPE != 0,
            writable: !read_only && compat & COMPAT_HAS_JOURNAL == 0 && ro_compat & !RO_COMPAT_SUPPORTED == 0,
            sb,
            groups: Vec::new(),
            block_size,
            sectors_per_block,
            clock,
            pins: BTreeMap::new(),
            cache: BTreeMap::new(),
            cache_order: VecDeque::new(),
        };
        let gdt_bytes = group_count as usize * GROUP_DESC_SIZE;
        let gdt_blocks = gdt_bytes.div_ceil(block_size);
        let mut gdt = Vec::with_capacity(gdt_blocks * block_size);
        for i in 0..gdt_blocks {
            gdt.extend_from_slice(&fs.read_block(first + 1 + i as u32)?);
        }
        for g in 0..group_count as usize {
            let raw = gdt[g * GROUP_DESC_SIZE..(g + 1) * GROUP_DESC_SIZE].to_vec();
            let gd = GroupDesc { raw };
            for b in [gd.block_bitmap(), gd.inode_bitmap(), gd.inode_table()] {
                if b < first || b >= blocks {
                    return Err(Errno::EINVAL);
                }
            }
            fs.groups.push(gd);
        }
        let root = fs.read_inode(ROOT_INO)?;
        if u32::from(root.mode()) & S_IFMT != S_IFDIR {
            return Err(Errno::EINVAL);
        }
        Ok(fs)
    }

    /// Whether changes are allowed (not mounted read-only, no journal, no
    /// unknown feature).
    pub fn is_writable(&self) -> bool {
        self.writable
    }

    /// The block size.
    pub fn block_size(&self) -> usize {
        self.block_size
    }

    /// Writes everything back (as [`FileSystem::sync`]) and hands the
    /// device back.
    pub fn unmount(mut self) -> Result<D, Errno> {
        if self.writable {
            self.sync()?;
        }
        Ok(self.dev)
    }

    /// The device (for tests that look at what was written).
    pub fn device(&self) -> &D {
        &self.dev
    }

    // ---- Blocks ------------------------------------------------------

    /// A metadata block, through the cache.
    fn read_block(&mut self, block: u32) -> Result<Vec<u8>, Errno> {
        if let Some(data) = self.cache.get(&block) {
            return Ok(data.clone());
        }
        let data = self.read_data_block(block)?;
        if self.cache.len() >= META_CACHE_BLOCKS
            && let Some(old) = self.cache_order.pop_front()
        {
            self.cache.remove(&old);
        }
        self.cache.insert(block, data.clone());
        self.cache_order.push_back(block);
        Ok(data)
    }

    /// A block of file data, from the device.
    fn read_data_block(&mut self, block: u32) -> Result<Vec<u8>, Errno> {
        if block >= self.sb.blocks_count() {
            return Err(Errno::EIO);
        }
        let mut buf = vec![0u8; self.block_size];
        self.dev.read_sectors(u64::from(block) * self.sectors_per_block, &mut buf)?;
        Ok(buf)
    }

    fn write_block(&mut self, block: u32, data: &[u8]) -> Result<(), Errno> {
        debug_assert_eq!(data.len(), self.block_size);
        self.write_run(block, data)
    }

    /// Writes whole blocks from `start` (never the superblock's or below),
    /// keeping cached copies equal.
    fn write_run(&mut self, start: u32, data: &[u8]) -> Result<(), Errno> {
        let count = (data.len() / self.block_size) as u64;
        if start <= self.sb.first_data_block()
            || u64::from(start) + count > u64::from(self.sb.blocks_count())
            || !data.len().is_multiple_of(self.block_size)
        {
            return Err(Errno::EIO);
        }
        self.dev.write_sectors(u64::from(start) * self.sectors_per_block, data)?;
        for (i, chunk) in data.chunks(self.block_size).enumerate() {
            if let Some(copy) = self.cache.get_mut(&(start + i as u32)) {
                copy.copy_from_slice(chunk);
            }
        }
        Ok(())
    }

    /// Reads whole blocks from `start` into `buf`.
    fn read_run(&mut self, start: u32, buf: &mut [u8]) -> Result<(), Errno> {
        let count = (buf.len() / self.block_size) as u64;
        if u64::from(start) + count > u64::from(self.sb.blocks_count()) {
            return Err(Errno::EIO);
        }
        self.dev.read_sectors(u64::from(start) * self.sectors_per_block, buf)
    }

    fn write_superblock(&mut self) -> Result<(), Errno> {
        let sector = SUPERBLOCK_OFFSET / self.dev.sector_size() as u64;
        let raw = self.sb.raw.clone();
        self.dev.write_sectors(sector, &raw)
    }

    fn write_group_desc(&mut self, group: usize) -> Result<(), Errno> {
        let per_block = self.block_size / GROUP_DESC_SIZE;
        let gdt_block = group / per_block;
        let mut block = Vec::with_capacity(self.block_size);
        for g in gdt_block * per_block..(gdt_block + 1) * per_block {
            match self.groups.get(g) {
                Some(gd) => block.extend_from_slice(&gd.raw),
                None => block.resize(block.len() + GROUP_DESC_SIZE, 0),
            }
        }
        // The tail of the last GDT block past the descriptors is kept as it
        // was on disk.
        let at = self.sb.first_data_block() + 1 + gdt_block as u32;
        if (gdt_block + 1) * per_block > self.groups.len() {
            let old = self.read_block(at)?;
            let used = (self.groups.len() - gdt_block * per_block) * GROUP_DESC_SIZE;
            block[used..].copy_from_slice(&old[used..]);
        }
        self.write_block(at, &block)
    }

    /// Called before every change: `EROFS` if read-only; marks the
    /// superblock "not clean" on disk first.
    fn begin_change(&mut self) -> Result<(), Errno> {
        if !self.writable {
            return Err(Errno::EROFS);
        }
        if self.clean_on_disk {
            let state = self.sb.state() & !STATE_VALID;
            self.sb.set_state(state);
            self.write_superblock()?;
            self.dev.flush()?;
            self.clean_on_disk = false;
        }
        Ok(())
    }

    fn now(&self) -> u32 {
        self.clock.now().tv_sec.clamp(0, i64::from(u32::MAX)) as u32
    }

    fn group_block_count(&self, group: usize) -> u32 {
        let first = self.sb.first_data_block();
        let start = first + group as u32 * self.sb.blocks_per_group();
        (self.sb.blocks_count() - start).min(self.sb.blocks_per_group())
    }

    /// Allocates a block, preferring the group `goal_group`; `ENOSPC` when
    /// the disk is full.
    fn alloc_block(&mut self, goal_group: usize) -> Result<u32, Errno> {
        Ok(self.alloc_blocks(goal_group, 1)?.0)
    }

    /// Allocates a run of up to `want` consecutive blocks (at least one) in
    /// one group, preferring `goal_group`: one bitmap and one descriptor
    /// write. Returns the first block and how many.
    fn alloc_blocks(&mut self, goal_group: usize, want: u32) -> Result<(u32, u32), Errno> {
        let n = self.groups.len();
        for step in 0..n {
            let g = (goal_group + step) % n;
            if self.groups[g].free_blocks() == 0 {
                continue;
            }
            let bitmap_at = self.groups[g].block_bitmap();
            let mut bitmap = self.read_block(bitmap_at)?;
            let count = self.group_block_count(g) as usize;
            let Some(first) = find_zero_bit(&bitmap, count) else {
                continue;
            };
            let mut run = 0usize;
            while run < want as usize
                && first + run < count
                && bitmap[(first + run) / 8] & (1 << ((first + run) % 8)) == 0
            {
                bitmap[(first + run) / 8] |= 1 << ((first + run) % 8);
                run += 1;
            }
            let block = self.sb.first_data_block() + (g as u32) * self.sb.blocks_per_group() + first as u32;
            self.write_block(bitmap_at, &bitmap)?;
            let free = self.groups[g].free_blocks().saturating_sub(run as u16);
            self.groups[g].set_free_blocks(free);
            self.write_group_desc(g)?;
            let sb_free = self.sb.free_blocks_count().saturating_sub(run as u32);
            self.sb.set_free_blocks_count(sb_free);
            return Ok((block, run as u32));
        }
        Err(Errno::ENOSPC)
    }

    fn free_block(&mut self, block: u32) -> Result<(), Errno> {
        let first = self.sb.first_data_block();
        if block < first || block >= self.sb.blocks_count() {
            return Err(Errno::EIO);
        }
        let g = ((block - first) / self.sb.blocks_per_group()) as usize;
        let bit = ((block - first) % self.sb.blocks_per_group()) as usize;
        let bitmap_at = self.groups[g].block_bitmap();
        let mut bitmap = self.read_block(bitmap_at)?;
        if bitmap[bit / 8] & (1 << (bit % 8)) == 0 {
            return Err(Errno::EIO);
        }
        bitmap[bit / 8] &= !(1 << (bit % 8));
        self.write_block(bitmap_at, &bitmap)?;
        let free = self.groups[g].free_blocks().saturating_add(1);
        self.groups[g].set_free_blocks(free);
        self.write_group_desc(g)?;
        let sb_free = self.sb.free_blocks_count().saturating_add(1);
        self.sb.set_free_blocks_count(sb_free);
        Ok(())
    }

    fn inode_group(&self, ino: u32) -> usize {
        ((ino - 1) / self.sb.inodes_per_group()) as usize
    }

    /// Allocates an inode near `near` (its group first).
    fn alloc_inode(&mut self, is_dir: bool, near: u32) -> Result<u32, Errno> {
        let n = self.groups.len();
        let goal = self.inode_group(near);
        let ipg = self.sb.inodes_per_group();
        for step in 0..n {
            let g = (goal + step) % n;
            if self.groups[g].free_inodes() == 0 {
                continue;
            }
            let bitmap_at = self.groups[g].inode_bitmap();
            let mut bitmap = self.read_block(bitmap_at)?;
            // Inodes below s_first_ino are reserved, whatever the bitmap says.
            let reserved = if g == 0 { self.sb.first_ino() as usize - 1 } else { 0 };
            let Some(bit) = find_zero_bit_from(&bitmap, reserved, ipg as usize) else {
                continue;
            };
            let ino = g as u32 * ipg + bit as u32 + 1;
            if ino > self.sb.inodes_count() {
                continue;
            }
            bitmap[bit / 8] |= 1 << (bit % 8);
            self.write_block(bitmap_at, &bitmap)?;
            let gd = &mut self.groups[g];
            gd.set_free_inodes(gd.free_inodes().saturating_sub(1));
            if is_dir {
                gd.set_used_dirs(gd.used_dirs().saturating_add(1));
            }
            self.write_group_desc(g)?;
            let sb_free = self.sb.free_inodes_count().saturating_sub(1);
            self.sb.set_free_inodes_count(sb_free);
            return Ok(ino);
        }
        Err(Errno::ENOSPC)
    }

    fn free_inode_bit(&mut self, ino: u32, was_dir: bool) -> Result<(), Errno> {
        let g = self.inode_group(ino);
        let bit = ((ino - 1) % self.sb.inodes_per_group()) as usize;
        let bitmap_at = self.groups[g].inode_bitmap();
        let mut bitmap = self.read_block(bitmap_at)?;
        if bitmap[bit / 8] & (1 << (bit % 8)) == 0 {
            return Err(Errno::EIO);
        }
        bitmap[bit / 8] &= !(1 << (bit % 8));
        self.write_block(bitmap_at, &bitmap)?;
        let gd = &mut self.groups[g];
        gd.set_free_inodes(gd.free_inodes().saturating_add(1));
        if was_dir {
            gd.set_used_dirs(gd.used_dirs().saturating_sub(1));
        }
        self.write_group_desc(g)?;
        let sb_free = self.sb.free_inodes_count().saturating_add(1);
        self.sb.set_free_inodes_count(sb_free);
        Ok(())
    }

    // ---- Inodes ------------------------------------------------------

    fn inode_location(&self, ino: u32) -> Result<(u32, usize), Errno> {
        if ino == 0 || ino > self.sb.inodes_count() {
            return Err(Errno::EIO);
        }
        let g = self.inode_group(ino);
        let index = ((ino - 1) % self.sb.inodes_per_group()) as usize;
        let offset = index * self.sb.inode_size();
        let block = self.groups[g].inode_table() + (offset / self.block_size) as u32;
        Ok((block, offset % self.block_size))
    }

    fn read_inode(&mut self, ino: u32) -> Result<Inode, Errno> {
        let (block, within) = self.inode_location(ino)?;
        let data = self.read_block(block)?;
        Ok(Inode { raw: data[within..within + self.sb.inode_size()].to_vec() })
    }

    fn write_inode(&mut self, ino: u32, inode: &Inode) -> Result<(), Errno> {
        let (block, within) = self.inode_location(ino)?;
        let mut data = self.read_block(block)?;
        data[within..within + inode.raw.len()].copy_from_slice(&inode.raw);
        self.write_block(block, &data)
    }

    /// An inode that is in use: linked, or pinned by an open file.
    fn live_inode(&mut self, ino: Ino) -> Result<(u32, Inode), Errno> {
        let ino = u32::try_from(ino).map_err(|_| Errno::ENOENT)?;
        if ino == 0 || ino > self.sb.inodes_count() {
            return Err(Errno::ENOENT);
        }
        let inode = self.read_inode(ino)?;
        if inode.links() == 0 && !self.pins.contains_key(&ino) || inode.mode() == 0 {
            return Err(Errno::ENOENT);
        }
        Ok((ino, inode))
    }

    fn dir_inode(&mut self, ino: Ino) -> Result<(u32, Inode), Errno> {
        let (ino, inode) = self.live_inode(ino)?;
        if u32::from(inode.mode()) & S_IFMT != S_IFDIR {
            return Err(Errno::ENOTDIR);
        }
        Ok((ino, inode))
    }

    // ---- Block maps --------------------------------------------------

    fn ptrs_per_block(&self) -> u64 {
        (self.block_size / 4) as u64
    }

    fn block_path(&self, lblk: u64) -> Result<BlockPath, Errno> {
        let p = self.ptrs_per_block();
        let mut l = lblk;
        if l < DIRECT_BLOCKS as u64 {
            return Ok(BlockPath { slot: l as usize, depth: 0, index: [0; 3] });
        }
        l -= DIRECT_BLOCKS as u64;
        if l < p {
            return Ok(BlockPath { slot: 12, depth: 1, index: [l as usize, 0, 0] });
        }
        l -= p;
        if l < p * p {
            return Ok(BlockPath { slot: 13, depth: 2, index: [(l / p) as usize, (l % p) as usize, 0] });
        }
        l -= p * p;
        if l < p * p * p {
            return Ok(BlockPath {
                slot: 14,
                depth: 3,
                index: [(l / (p * p)) as usize, ((l / p) % p) as usize, (l % p) as usize],
            });
        }
        Err(Errno::EFBIG)
    }

    /// The largest file size the block map can address.
    fn max_file_size(&self) -> u64 {
        let p = self.ptrs_per_block();
        let blocks = DIRECT_BLOCKS as u64 + p + p * p + p * p * p;
        let by_map = blocks.saturating_mul(self.block_size as u64);
        // i_blocks counts 512-byte units in 32 bits.
        by_map.min((u64::from(u32::MAX) * 512).saturating_sub(self.block_size as u64 * (p + 2)))
    }

    /// The physical block of logical block `lblk`, 0 for a hole.
    fn bmap(&mut self, inode: &Inode, lblk: u64) -> Result<u32, Errno> {
        let path = self.block_path(lblk)?;
        let mut cur = inode.block(path.slot);
        for level in 0..path.depth {
            if cur == 0 {
                return Ok(0);
            }
            let block = self.read_block(cur)?;
            cur = le32(&block, path.index[level] * 4);
        }
        Ok(cur)
    }

    /// Points logical block `lblk` of `inode` at `pblk` (whose contents are
    /// already on disk), making (zeroed, written first) indirect blocks on
    /// the way; the caller writes the inode.
    fn bmap_set(&mut self, inode: &mut Inode, lblk: u64, pblk: u32, goal: usize) -> Result<(), Errno> {
        self.bmap_set_run(inode, lblk, pblk, 1, goal)
    }

    /// As [`Ext2::bmap_set`] for `count` consecutive logical blocks pointed
    /// at `count` consecutive physical ones: each indirect block written
    /// once.
    fn bmap_set_run(&mut self, inode: &mut Inode, lblk: u64, pblk: u32, count: u32, goal: usize) -> Result<(), Errno> {
        let ptrs = self.ptrs_per_block() as usize;
        let mut i = 0u32;
        while i < count {
            let path = self.block_path(lblk + u64::from(i))?;
            if path.depth == 0 {
                inode.set_block(path.slot, pblk + i);
                i += 1;
                continue;
            }
            let leaf = self.leaf_block(inode, &path, goal)?;
            let mut block = self.read_block(leaf)?;
            let first = path.index[path.depth - 1];
            let here = ((ptrs - first) as u32).min(count - i);
            for j in 0..here {
                set_le32(&mut block, (first + j as usize) * 4, pblk + i + j);
            }
            self.write_block(leaf, &block)?;
            i += here;
        }
        Ok(())
    }

    /// The last-level indirect block on `path`, made (zeroed and written
    /// before anything points at it) where missing.
    fn leaf_block(&mut self, inode: &mut Inode, path: &BlockPath, goal: usize) -> Result<u32, Errno> {
        let spb = self.sectors_per_block as u32;
        let mut cur = inode.block(path.slot);
        if cur == 0 {
            cur = self.new_zeroed_block(goal)?;
            inode.set_block(path.slot, cur);
            inode.set_blocks_512(inode.blocks_512().saturating_add(spb));
        }
        for level in 0..path.depth - 1 {
            let mut block = self.read_block(cur)?;
            let at = path.index[level] * 4;
            let mut next = le32(&block, at);
            if next == 0 {
                next = self.new_zeroed_block(goal)?;
                set_le32(&mut block, at, next);
                self.write_block(cur, &block)?;
                inode.set_blocks_512(inode.blocks_512().saturating_add(spb));
            }
            cur = next;
        }
        Ok(cur)
    }

    fn new_zeroed_block(&mut self, goal: usize) -> Result<u32, Errno> {
        let b = self.alloc_block(goal)?;
        let zeros = vec![0u8; self.block_size];
        if let Err(e) = self.write_block(b, &zeros) {
            let _ = self.free_block(b);
            return Err(e);
        }
        Ok(b)
    }

    /// Removes from `inode` every block at logical index `keep` and beyond
    /// (indirect blocks that empty go too); returns the blocks to free
    /// once the inode is written.
    fn cut_blocks(&mut self, inode: &mut Inode, keep: u64) -> Result<Vec<u32>, Errno> {
        let mut freed = Vec::new();
        let p = self.ptrs_per_block();
        for slot in 0..DIRECT_BLOCKS {
            if slot as u64 >= keep && inode.block(slot) != 0 {
                freed.push(inode.block(slot));
                inode.set_block(slot, 0);
            }
        }
        let mut start = DIRECT_BLOCKS as u64;
        let mut span = p;
        for (slot, depth) in [(12usize, 1u32), (13, 2), (14, 3)] {
            let root = inode.block(slot);
            if root != 0 && start + span > keep && self.cut_tree(root, depth, start, keep, &mut freed)? {
                freed.push(root);
                inode.set_block(slot, 0);
            }
            start += span;
            span = span.saturating_mul(p);
        }
        let spb = self.sectors_per_block as u32;
        inode.set_blocks_512(inode.blocks_512().saturating_sub((freed.len() as u32).saturating_mul(spb)));
        Ok(freed)
    }

    /// Cuts the subtree under indirect block `block` (depth levels, its
    /// first logical block `start`); returns whether it is now empty.
    fn cut_tree(&mut self, block: u32, depth: u32, start: u64, keep: u64, freed: &mut Vec<u32>) -> Result<bool, Errno> {
        let p = self.ptrs_per_block();
        let child_span = p.pow(depth - 1);
        let mut data = self.read_block(block)?;
        let mut changed = false;
        let mut empty = true;
        for i in 0..p as usize {
            let child = le32(&data, i * 4);
            if child == 0 {
                continue;
            }
            let child_start = start + i as u64 * child_span;
            let gone = if child_start + child_span <= keep {
                false
            } else if depth == 1 {
                true
            } else {
                self.cut_tree(child, depth - 1, child_start, keep, freed)?
            };
            if gone {
                freed.push(child);
                set_le32(&mut data, i * 4, 0);
                changed = true;
            } else {
                empty = false;
            }
        }
        if changed && !empty {
            self.write_block(block, &data)?;
        }
        Ok(empty)
    }

    fn free_blocks(&mut self, blocks: Vec<u32>) -> Result<(), Errno> {
        let mut result = Ok(());
        for b in blocks {
            if let Err(e) = self.free_block(b) {
                result = Err(e);
            }
        }
        result
    }

    // ---- Data --------------------------------------------------------

    fn read_data(&mut self, inode: &Inode, offset: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        let size = inode.size();
        if offset >= size {
            return Ok(0);
        }
        let n = buf.len().min((size - offset).min(usize::MAX as u64) as usize);
        let bs = self.block_size;
        let mut done = 0;
        while done < n {
            let pos = offset + done as u64;
            let lblk = pos / bs as u64;
            let within = (pos % bs as u64) as usize;
            let first = self.bmap(inode, lblk)?;
            if within == 0 && n - done >= bs {
                // Whole blocks: a run of consecutive ones (or of holes) in
                // one request, straight into the caller's buffer.
                let most = ((n - done) / bs).min(MAX_RUN_BLOCKS) as u64;
                let mut count = 1;
                while count < most {
                    let next = self.bmap(inode, lblk + count)?;
                    let follows = if first == 0 { next == 0 } else { next == first + count as u32 };
                    if !follows {
                        break;
                    }
                    count += 1;
                }
                let out = &mut buf[done..done + count as usize * bs];
                if first == 0 {
                    out.fill(0);
                } else {
                    self.read_run(first, out)?;
                }
                done += out.len();
                continue;
            }
            let len = (bs - within).min(n - done);
            if first == 0 {
                buf[done..done + len].fill(0);
            } else {
                let block = self.read_data_block(first)?;
                buf[done..done + len].copy_from_slice(&block[within..within + len]);
            }
            done += len;
        }
        Ok(n)
    }

    /// Writes `buf` at `offset` into the file's blocks (not its size or
    /// times); returns the bytes written (short when the disk filled).
    fn write_data(&mut self, ino: u32, inode: &mut Inode, offset: u64, buf: &[u8]) -> Result<usize, Errno> {
        let bs = self.block_size;
        let goal = self.inode_group(ino);
        let spb = self.sectors_per_block as u32;
        let mut done = 0;
        while done < buf.len() {
            let pos = offset + done as u64;
            let lblk = pos / bs as u64;
            let within = (pos % bs as u64) as usize;
            let first = self.bmap(inode, lblk)?;
            let whole = if within == 0 { ((buf.len() - done) / bs).min(MAX_RUN_BLOCKS) } else { 0 };
            let step = if whole > 0 {
                // Whole blocks: a run of consecutive ones, or of holes.
                let mut count = 1u64;
                while count < whole as u64 {
                    let next = self.bmap(inode, lblk + count)?;
                    let follows = if first == 0 { next == 0 } else { next == first + count as u32 };
                    if !follows {
                        break;
                    }
                    count += 1;
                }
                if first != 0 {
                    let data = &buf[done..done + count as usize * bs];
                    self.write_run(first, data).map(|()| data.len())
                } else {
                    // New blocks: allocated, filled, then pointed at.
                    match self.alloc_blocks(goal, count as u32) {
                        Ok((start, got)) => {
                            let data = &buf[done..done + got as usize * bs];
                            if let Err(e) = self.write_run(start, data) {
                                for b in start..start + got {
                                    let _ = self.free_block(b);
                                }
                                Err(e)
                            } else if let Err(e) = self.bmap_set_run(inode, lblk, start, got, goal) {
                                // Linking stopped part way (no room for an
                                // indirect block): keep what is linked, free
                                // the rest.
                                let mut linked = 0;
                                for i in 0..got {
                                    if self.bmap(inode, lblk + u64::from(i))? == start + i {
                                        linked += 1;
                                    } else {
                                        let _ = self.free_block(start + i);
                                    }
                                }
                                inode.set_blocks_512(inode.blocks_512().saturating_add(linked * spb));
                                if linked > 0 { Ok(linked as usize * bs) } else { Err(e) }
                            } else {
                                inode.set_blocks_512(inode.blocks_512().saturating_add(got * spb));
                                Ok(data.len())
                            }
                        }
                        Err(e) => Err(e),
                    }
                }
            } else {
                let len = (bs - within).min(buf.len() - done);
                if first != 0 {
                    let mut block = self.read_data_block(first)?;
                    block[within..within + len].copy_from_slice(&buf[done..done + len]);
                    self.write_block(first, &block).map(|()| len)
                } else {
                    // A hole: the new block's contents go to disk before
                    // any pointer to it.
                    let mut block = vec![0u8; bs];
                    block[within..within + len].copy_from_slice(&buf[done..done + len]);
                    match self.alloc_block(goal) {
                        Ok(new) => {
                            let r = self.write_block(new, &block).and_then(|()| self.bmap_set(inode, lblk, new, goal));
                            match r {
                                Ok(()) => {
                                    inode.set_blocks_512(inode.blocks_512().saturating_add(spb));
                                    Ok(len)
                                }
                                Err(e) => {
                                    let _ = self.free_block(new);
                                    Err(e)
                                }
                            }
                        }
                        Err(e) => Err(e),
                    }
                }
            };
            match step {
                Ok(n) => done += n,
                Err(e) if done == 0 => return Err(e),
                Err(_) => break,
            }
        }
        Ok(done)
    }

    /// Frees an inode nothing refers to any more: its blocks, its extended
    /// attribute block, then the inode.
    fn release_inode(&mut self, ino: u32) -> Result<(), Errno> {
        let mut inode = self.read_inode(ino)?;
        let was_dir = u32::from(inode.mode()) & S_IFMT == S_IFDIR;
        let freed = if inode.is_fast_symlink(self.block_size) { Vec::new() } else { self.cut_blocks(&mut inode, 0)? };
        let acl = inode.file_acl();
        inode.set_file_acl(0);
        inode.set_size(0);
        inode.set_blocks_512(0);
        inode.set_links(0);
        inode.set_dtime(self.now().max(1));
        self.write_inode(ino, &inode)?;
        self.free_blocks(freed)?;
        if acl != 0 {
            self.release_ea_block(acl)?;
        }
        self.free_inode_bit(ino, was_dir)
    }

    /// Drops one reference to a shared extended attribute block (its
    /// `h_refcount` at byte 4; Linux `ext2_xattr_delete_inode`).
    fn release_ea_block(&mut self, block: u32) -> Result<(), Errno> {
        let mut data = self.read_block(block)?;
        let refs = le32(&data, 4);
        if refs <= 1 {
            self.free_block(block)
        } else {
            set_le32(&mut data, 4, refs - 1);
            self.write_block(block, &data)
        }
    }

    fn maybe_release(&mut self, ino: u32) -> Result<(), Errno> {
        let inode = self.read_inode(ino)?;
        if inode.links() == 0 && !self.pins.contains_key(&ino) && inode.mode() != 0 {
            self.release_inode(ino)?;
        }
        Ok(())
    }

    // ---- Directories -------------------------------------------------

    fn file_type_of(&self, mode: u32) -> u8 {
        if !self.has_filetype {
            return ft::UNKNOWN;
        }
        match mode & S_IFMT {
            S_IFREG => ft::REG,
            S_IFDIR => ft::DIR,
            S_IFLNK => ft::SYMLINK,
            0o020000 => ft::CHRDEV,
            0o060000 => ft::BLKDEV,
            0o010000 => ft::FIFO,
            0o140000 => ft::SOCK,
            _ => ft::UNKNOWN,
        }
    }

    fn dtype_of(file_type: u8) -> u8 {
        match file_type {
            ft::REG => DT_REG,
            ft::DIR => DT_DIR,
            ft::SYMLINK => DT_LNK,
            ft::CHRDEV => DT_CHR,
            ft::BLKDEV => DT_BLK,
            ft::FIFO => DT_FIFO,
            ft::SOCK => DT_SOCK,
            _ => DT_UNKNOWN,
        }
    }

    /// The entries of one directory block (`EIO` if corrupt).
    fn dir_block_entries(&self, block: &[u8]) -> Result<Vec<RawDirEntry>, Errno> {
        let mut out = Vec::new();
        let mut at = 0;
        while at < block.len() {
            let e = parse_dir_entry(block, at, self.has_filetype).ok_or(Errno::EIO)?;
            out.push(e);
            at += e.rec_len;
        }
        Ok(out)
    }

    fn dir_blocks(&self, dir: &Inode) -> u64 {
        dir.size() / self.block_size as u64
    }

    /// Finds `name` in a directory: (inode, file type, logical block,
    /// offset in it, offset of the entry before it in the block).
    #[allow(clippy::type_complexity)]
    fn dir_find(&mut self, dir: &Inode, name: &[u8]) -> Result<Option<(u32, u8, u64, usize, Option<usize>)>, Errno> {
        for lblk in 0..self.dir_blocks(dir) {
            let pblk = self.bmap(dir, lblk)?;
            if pblk == 0 {
                continue;
            }
            let block = self.read_block(pblk)?;
            let mut prev = None;
            for e in self.dir_block_entries(&block)? {
                if e.inode != 0 && &block[e.offset + 8..e.offset + 8 + e.name_len] == name {
                    return Ok(Some((e.inode, e.file_type, lblk, e.offset, prev)));
                }
                prev = Some(e.offset);
            }
        }
        Ok(None)
    }

    fn touch_dir(&mut self, dir: &mut Inode) {
        let now = self.now();
        dir.set_mtime(now);
        dir.set_ctime(now);
        // We keep no hash index: an indexed directory we change becomes a
        // linear one (Linux's ext2 does the same).
        dir.set_flags(dir.flags() & !INDEX_FL);
    }

    /// Adds `name` → `ino` to directory `dir_ino`; writes the directory's
    /// block and inode.
    fn dir_add(&mut self, dir_ino: u32, dir: &mut Inode, name: &[u8], ino: u32, file_type: u8) -> Result<(), Errno> {
        let need = dir_rec_len(name.len());
        for lblk in 0..self.dir_blocks(dir) {
            let pblk = self.bmap(dir, lblk)?;
            if pblk == 0 {
                continue;
            }
            let mut block = self.read_block(pblk)?;
            for e in self.dir_block_entries(&block)? {
                let used = if e.inode == 0 { 0 } else { dir_rec_len(e.name_len) };
                if e.rec_len - used < need {
                    continue;
                }
                if e.inode == 0 {
                    layout::write_dir_entry(&mut block, e.offset, ino, e.rec_len, name, file_type);
                } else {
                    layout::set_dir_entry_rec_len(&mut block, e.offset, used);
                    layout::write_dir_entry(&mut block, e.offset + used, ino, e.rec_len - used, name, file_type);
                }
                self.write_block(pblk, &block)?;
                self.touch_dir(dir);
                return self.write_inode(dir_ino, dir);
            }
        }
        // A new block at the end.
        let lblk = self.dir_blocks(dir);
        let mut block = vec![0u8; self.block_size];
        layout::write_dir_entry(&mut block, 0, ino, self.block_size, name, file_type);
        let goal = self.inode_group(dir_ino);
        let new = self.alloc_block(goal)?;
        if let Err(e) = self.write_block(new, &block).and_then(|()| self.bmap_set(dir, lblk, new, goal)) {
            let _ = self.free_block(new);
            return Err(e);
        }
        dir.set_blocks_512(dir.blocks_512().saturating_add(self.sectors_per_block as u32));
        dir.set_size(dir.size().saturating_add(self.block_size as u64));
        self.touch_dir(dir);
        self.write_inode(dir_ino, dir)
    }

    /// Removes `name` from directory `dir_ino`; returns the inode it named.
    fn dir_remove(&mut self, dir_ino: u32, dir: &mut Inode, name: &[u8]) -> Result<u32, Errno> {
        let (ino, _, lblk, offset, prev) = self.dir_find(dir, name)?.ok_or(Errno::ENOENT)?;
        let pblk = self.bmap(dir, lblk)?;
        let mut block = self.read_block(pblk)?;
        let e = parse_dir_entry(&block, offset, self.has_filetype).ok_or(Errno::EIO)?;
        match prev {
            Some(p) => {
                let pe = parse_dir_entry(&block, p, self.has_filetype).ok_or(Errno::EIO)?;
                layout::set_dir_entry_rec_len(&mut block, p, pe.rec_len + e.rec_len);
            }
            None => layout::set_dir_entry_inode(&mut block, offset, 0, 0),
        }
        self.write_block(pblk, &block)?;
        self.touch_dir(dir);
        self.write_inode(dir_ino, dir)?;
        Ok(ino)
    }

    /// Points the existing entry `name` at `ino`.
    fn dir_retarget(
        &mut self,
        dir_ino: u32,
        dir: &mut Inode,
        name: &[u8],
        ino: u32,
        file_type: u8,
    ) -> Result<(), Errno> {
        let (_, _, lblk, offset, _) = self.dir_find(dir, name)?.ok_or(Errno::ENOENT)?;
        let pblk = self.bmap(dir, lblk)?;
        let mut block = self.read_block(pblk)?;
        layout::set_dir_entry_inode(&mut block, offset, ino, file_type);
        self.write_block(pblk, &block)?;
        self.touch_dir(dir);
        self.write_inode(dir_ino, dir)
    }

    fn dir_is_empty(&mut self, dir: &Inode) -> Result<bool, Errno> {
        for lblk in 0..self.dir_blocks(dir) {
            let pblk = self.bmap(dir, lblk)?;
            if pblk == 0 {
                continue;
            }
            let block = self.read_block(pblk)?;
            for e in self.dir_block_entries(&block)? {
                let name = &block[e.offset + 8..e.offset + 8 + e.name_len];
                if e.inode != 0 && name != b"." && name != b".." {
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }

    /// Whether directory `ino` is `ancestor` or below it (walking `..`).
    fn is_within(&mut self, mut ino: u32, ancestor: u32) -> Result<bool, Errno> {
        for _ in 0..65_536 {
            if ino == ancestor {
                return Ok(true);
            }
            if ino == ROOT_INO {
                return Ok(false);
            }
            let dir = self.read_inode(ino)?;
            ino = self.dir_find(&dir, b"..")?.ok_or(Errno::EIO)?.0;
        }
        Err(Errno::EIO)
    }

    /// Makes an inode of `mode` named `name` in `dir`; `fill` sets its
    /// contents before it is named.
    fn make_inode(
        &mut self,
        dir: Ino,
        name: &[u8],
        mode: u32,
        uid: u32,
        gid: u32,
        fill: &mut dyn FnMut(&mut Self, u32, &mut Inode) -> Result<(), Errno>,
    ) -> Result<Ino, Errno> {
        check_name(name, self.name_max())?;
        let (dir_ino, mut dir_inode) = self.dir_inode(dir)?;
        if dir_inode.links() == 0 {
            return Err(Errno::ENOENT);
        }
        if self.dir_find(&dir_inode, name)?.is_some() {
            return Err(Errno::EEXIST);
        }
        self.begin_change()?;
        let is_dir = mode & S_IFMT == S_IFDIR;
        if is_dir && u32::from(dir_inode.links()) >= LINK_MAX {
            return Err(Errno::EMLINK);
        }
        let ino = self.alloc_inode(is_dir, dir_ino)?;
        let now = self.now();
        let mut inode = Inode::new(self.sb.inode_size());
        inode.set_mode(mode as u16);
        inode.set_uid(uid);
        inode.set_gid(gid);
        inode.set_atime(now);
        inode.set_ctime(now);
        inode.set_mtime(now);
        inode.set_links(if is_dir { 2 } else { 1 });
        let filled = fill(self, ino, &mut inode).and_then(|()| self.write_inode(ino, &inode));
        if let Err(e) = filled {
            let blocks =
                if inode.is_fast_symlink(self.block_size) { Vec::new() } else { self.cut_blocks(&mut inode, 0)? };
            self.free_blocks(blocks)?;
            self.free_inode_bit(ino, is_dir)?;
            return Err(e);
        }
        let file_type = self.file_type_of(mode);
        if let Err(e) = self.dir_add(dir_ino, &mut dir_inode, name, ino, file_type) {
            inode.set_links(0);
            self.write_inode(ino, &inode)?;
            self.release_inode(ino)?;
            return Err(e);
        }
        if is_dir {
            let mut dir_inode = self.read_inode(dir_ino)?;
            dir_inode.set_links(dir_inode.links().saturating_add(1));
            self.write_inode(dir_ino, &dir_inode)?;
        }
        Ok(Ino::from(ino))
    }

    /// One name of `ino` went: its link count drops (a directory's to 0),
    /// and it is freed if nothing holds it.
    fn drop_link(&mut self, ino: u32, is_dir: bool) -> Result<(), Errno> {
        let mut inode = self.read_inode(ino)?;
        inode.set_links(if is_dir { 0 } else { inode.links().saturating_sub(1) });
        inode.set_ctime(self.now());
        self.write_inode(ino, &inode)?;
        self.maybe_release(ino)
    }

    fn change_links(&mut self, ino: u32, delta: i32) -> Result<(), Errno> {
        let mut inode = self.read_inode(ino)?;
        let links = (i32::from(inode.links()) + delta).clamp(0, i32::from(u16::MAX)) as u16;
        inode.set_links(links);
        inode.set_ctime(self.now());
        self.write_inode(ino, &inode)
    }

    fn set_dotdot(&mut self, dir_ino: u32, parent: u32) -> Result<(), Errno> {
        let mut dir = self.read_inode(dir_ino)?;
        let ft_dir = self.file_type_of(S_IFDIR);
        self.dir_retarget(dir_ino, &mut dir, b"..", parent, ft_dir)
    }

    fn mode_of(&mut self, ino: u32) -> Result<u32, Errno> {
        Ok(u32::from(self.read_inode(ino)?.mode()))
    }
}

fn find_zero_bit(bitmap: &[u8], count: usize) -> Option<usize> {
    find_zero_bit_from(bitmap, 0, count)
}

fn find_zero_bit_from(bitmap: &[u8], from: usize, count: usize) -> Option<usize> {
    let count = count.min(bitmap.len() * 8);
    let mut i = from;
    while i < count {
        let byte = bitmap[i / 8];
        if byte == 0xff && i.is_multiple_of(8) {
            i += 8;
            continue;
        }
        if byte & (1 << (i % 8)) == 0 {
            return Some(i);
        }
        i += 1;
    }
    None
}

fn seconds(t: u32) -> Timespec {
    Timespec::new(i64::from(t), 0)
}

impl<D: BlockDevice> FileSystem for Ext2<D> {
    fn root(&self) -> Ino {
        Ino::from(ROOT_INO)
    }

    fn lookup(&mut self, dir: Ino, name: &[u8]) -> Result<Ino, Errno> {
        let (_, dir_inode) = self.dir_inode(dir)?;
        if name.len() > self.name_max() {
            return Err(Errno::ENAMETOOLONG);
        }
        match self.dir_find(&dir_inode, name)? {
            Some((ino, ..)) => Ok(Ino::from(ino)),
            None => Err(Errno::ENOENT),
        }
    }

    fn getattr(&mut self, ino: Ino) -> Result<Attr, Errno> {
        let (ino, inode) = self.live_inode(ino)?;
        let mode = u32::from(inode.mode());
        // A device file keeps its number in i_block[0] (old encoding) or
        // i_block[1] (new), Linux `ext2_read_inode`.
        let rdev = if matches!(mode & S_IFMT, 0o020000 | 0o060000) {
            let old = inode.block(0);
            if old != 0 {
                u64::from((old >> 8) & 0xff) << 8 | u64::from(old & 0xff)
            } else {
                let new = inode.block(1);
                let major = u64::from((new & 0xfff00) >> 8);
                let minor = u64::from((new & 0xff) | ((new >> 12) & 0xfff00));
                (major << 8) | (minor & 0xff) | ((minor & !0xff) << 12)
            }
        } else {
            0
        };
        Ok(Attr {
            ino: Ino::from(ino),
            mode,
            nlink: u32::from(inode.links()),
            uid: inode.uid(),
            gid: inode.gid(),
            size: inode.size(),
            blocks: u64::from(inode.blocks_512()),
            blksize: self.block_size as u32,
            rdev,
            atime: seconds(inode.atime()),
            mtime: seconds(inode.mtime()),
            ctime: seconds(inode.ctime()),
        })
    }

    fn setattr(&mut self, ino: Ino, set: &SetAttr) -> Result<Attr, Errno> {
        let (ino32, mut inode) = self.live_inode(ino)?;
        self.begin_change()?;
        let now = self.now();
        let secs = |t: SetTime| match t {
            SetTime::Now => now,
            SetTime::At(t) => t.tv_sec.clamp(0, i64::from(u32::MAX)) as u32,
        };
        if let Some(mode) = set.mode {
            inode.set_mode(((u32::from(inode.mode()) & S_IFMT) | (mode & S_IALLUGO)) as u16);
        }
        if let Some(uid) = set.uid {
            inode.set_uid(uid);
        }
        if let Some(gid) = set.gid {
            inode.set_gid(gid);
        }
        if let Some(t) = set.atime {
            inode.set_atime(secs(t));
        }
        if let Some(t) = set.mtime {
            inode.set_mtime(secs(t));
        }
        inode.set_ctime(now);
        self.write_inode(ino32, &inode)?;
        self.getattr(ino)
    }

    fn create(&mut self, dir: Ino, name: &[u8], mode: u32, uid: u32, gid: u32) -> Result<Ino, Errno> {
        self.make_inode(dir, name, S_IFREG | (mode & S_IALLUGO), uid, gid, &mut |_, _, _| Ok(()))
    }

    fn mkdir(&mut self, dir: Ino, name: &[u8], mode: u32, uid: u32, gid: u32) -> Result<Ino, Errno> {
        let parent = u32::try_from(dir).map_err(|_| Errno::ENOENT)?;
        let ft_dir = self.file_type_of(S_IFDIR);
        self.make_inode(dir, name, S_IFDIR | (mode & S_IALLUGO), uid, gid, &mut |fs, ino, inode| {
            let bs = fs.block_size;
            let mut block = vec![0u8; bs];
            layout::write_dir_entry(&mut block, 0, ino, 12, b".", ft_dir);
            layout::write_dir_entry(&mut block, 12, parent, bs - 12, b"..", ft_dir);
            let goal = fs.inode_group(ino);
            let b = fs.alloc_block(goal)?;
            fs.write_block(b, &block)?;
            inode.set_block(0, b);
            inode.set_blocks_512(fs.sectors_per_block as u32);
            inode.set_size(bs as u64);
            Ok(())
        })
    }

    fn symlink(&mut self, dir: Ino, name: &[u8], target: &[u8], uid: u32, gid: u32) -> Result<Ino, Errno> {
        if target.is_empty() {
            return Err(Errno::ENOENT);
        }
        // Linux `ext2_symlink`: the target and its NUL fit in a block.
        if target.len() + 1 > self.block_size {
            return Err(Errno::ENAMETOOLONG);
        }
        self.make_inode(dir, name, S_IFLNK | 0o777, uid, gid, &mut |fs, ino, inode| {
            inode.set_size(target.len() as u64);
            if target.len() < FAST_SYMLINK_MAX {
                inode.block_bytes_mut()[..target.len()].copy_from_slice(target);
                Ok(())
            } else {
                fs.write_data(ino, inode, 0, target)
                    .and_then(|n| if n == target.len() { Ok(()) } else { Err(Errno::ENOSPC) })
            }
        })
    }

    fn link(&mut self, ino: Ino, dir: Ino, name: &[u8]) -> Result<(), Errno> {
        check_name(name, self.name_max())?;
        let (ino32, mut inode) = self.live_inode(ino)?;
        let mode = u32::from(inode.mode());
        if mode & S_IFMT == S_IFDIR {
            return Err(Errno::EPERM);
        }
        if inode.links() == 0 {
            return Err(Errno::ENOENT);
        }
        if u32::from(inode.links()) >= LINK_MAX {
            return Err(Errno::EMLINK);
        }
        let (dir_ino, mut dir_inode) = self.dir_inode(dir)?;
        if dir_inode.links() == 0 {
            return Err(Errno::ENOENT);
        }
        if self.dir_find(&dir_inode, name)?.is_some() {
            return Err(Errno::EEXIST);
        }
        self.begin_change()?;
        // The count goes up before the new name exists: a crash between
        // leaves a count one too high, which e2fsck fixes.
        inode.set_links(inode.links().saturating_add(1));
        inode.set_ctime(self.now());
        self.write_inode(ino32, &inode)?;
        let file_type = self.file_type_of(mode);
        if let Err(e) = self.dir_add(dir_ino, &mut dir_inode, name, ino32, file_type) {
            self.change_links(ino32, -1)?;
            return Err(e);
        }
        Ok(())
    }

    fn unlink(&mut self, dir: Ino, name: &[u8]) -> Result<(), Errno> {
        check_name(name, self.name_max())?;
        let (dir_ino, mut dir_inode) = self.dir_inode(dir)?;
        let (ino, ..) = self.dir_find(&dir_inode, name)?.ok_or(Errno::ENOENT)?;
        if self.mode_of(ino)? & S_IFMT == S_IFDIR {
            return Err(Errno::EISDIR);
        }
        self.begin_change()?;
        self.dir_remove(dir_ino, &mut dir_inode, name)?;
        self.drop_link(ino, false)
    }

    fn rmdir(&mut self, dir: Ino, name: &[u8]) -> Result<(), Errno> {
        if name == b"." {
            return Err(Errno::EINVAL);
        }
        if name == b".." {
            return Err(Errno::ENOTEMPTY);
        }
        check_name(name, self.name_max())?;
        let (dir_ino, mut dir_inode) = self.dir_inode(dir)?;
        let (ino, ..) = self.dir_find(&dir_inode, name)?.ok_or(Errno::ENOENT)?;
        let victim = self.read_inode(ino)?;
        if u32::from(victim.mode()) & S_IFMT != S_IFDIR {
            return Err(Errno::ENOTDIR);
        }
        if !self.dir_is_empty(&victim)? {
            return Err(Errno::ENOTEMPTY);
        }
        self.begin_change()?;
        self.dir_remove(dir_ino, &mut dir_inode, name)?;
        self.change_links(dir_ino, -1)?;
        self.drop_link(ino, true)
    }

    fn rename(
        &mut self,
        old_dir: Ino,
        old_name: &[u8],
        new_dir: Ino,
        new_name: &[u8],
        flags: u32,
    ) -> Result<(), Errno> {
        if flags & !(RENAME_NOREPLACE | RENAME_EXCHANGE) != 0
            || flags & RENAME_NOREPLACE != 0 && flags & RENAME_EXCHANGE != 0
        {
            return Err(Errno::EINVAL);
        }
        check_name(old_name, self.name_max())?;
        check_name(new_name, self.name_max())?;
        let (od, od_inode) = self.dir_inode(old_dir)?;
        let (nd, nd_inode) = self.dir_inode(new_dir)?;
        if nd_inode.links() == 0 {
            return Err(Errno::ENOENT);
        }
        let (ino, ..) = self.dir_find(&od_inode, old_name)?.ok_or(Errno::ENOENT)?;
        let target = self.dir_find(&nd_inode, new_name)?.map(|t| t.0);
        let ino_mode = self.mode_of(ino)?;
        let ino_is_dir = ino_mode & S_IFMT == S_IFDIR;
        let ft_ino = self.file_type_of(ino_mode);
        if flags & RENAME_EXCHANGE != 0 {
            let target = target.ok_or(Errno::ENOENT)?;
            if target == ino {
                return Ok(());
            }
            let target_mode = self.mode_of(target)?;
            let target_is_dir = target_mode & S_IFMT == S_IFDIR;
            if ino_is_dir && self.is_within(nd, ino)? || target_is_dir && self.is_within(od, target)? {
                return Err(Errno::EINVAL);
            }
            self.begin_change()?;
            let ft_target = self.file_type_of(target_mode);
            let mut odi = self.read_inode(od)?;
            self.dir_retarget(od, &mut odi, old_name, target, ft_target)?;
            let mut ndi = self.read_inode(nd)?;
            self.dir_retarget(nd, &mut ndi, new_name, ino, ft_ino)?;
            if od != nd {
                if ino_is_dir {
                    self.set_dotdot(ino, nd)?;
                }
                if target_is_dir {
                    self.set_dotdot(target, od)?;
                }
                if ino_is_dir != target_is_dir {
                    let (gains, loses) = if ino_is_dir { (nd, od) } else { (od, nd) };
                    self.change_links(gains, 1)?;
                    self.change_links(loses, -1)?;
                }
            }
            self.change_links(ino, 0)?;
            return self.change_links(target, 0);
        }
        if let Some(target) = target {
            if flags & RENAME_NOREPLACE != 0 {
                return Err(Errno::EEXIST);
            }
            if target == ino {
                return Ok(());
            }
            let target_inode = self.read_inode(target)?;
            let target_is_dir = u32::from(target_inode.mode()) & S_IFMT == S_IFDIR;
            match (ino_is_dir, target_is_dir) {
                (true, false) => return Err(Errno::ENOTDIR),
                (false, true) => return Err(Errno::EISDIR),
                (true, true) if !self.dir_is_empty(&target_inode)? => return Err(Errno::ENOTEMPTY),
                _ => {}
            }
        }
        if ino_is_dir && self.is_within(nd, ino)? {
            return Err(Errno::EINVAL);
        }
        if ino_is_dir && od != nd && target.is_none() && u32::from(nd_inode.links()) >= LINK_MAX {
            return Err(Errno::EMLINK);
        }
        self.begin_change()?;
        // The new name first (a crash leaves two names and a count one
        // low, which e2fsck fixes), then the old name goes.
        let mut ndi = self.read_inode(nd)?;
        match target {
            Some(_) => self.dir_retarget(nd, &mut ndi, new_name, ino, ft_ino)?,
            None => {
                self.change_links(ino, 1)?;
                if let Err(e) = self.dir_add(nd, &mut ndi, new_name, ino, ft_ino) {
                    self.change_links(ino, -1)?;
                    return Err(e);
                }
                self.change_links(ino, -1)?;
            }
        }
        let mut odi = self.read_inode(od)?;
        self.dir_remove(od, &mut odi, old_name)?;
        if ino_is_dir && od != nd {
            self.set_dotdot(ino, nd)?;
            self.change_links(nd, 1)?;
            self.change_links(od, -1)?;
        }
        if let Some(target) = target {
            let target_is_dir = self.mode_of(target)? & S_IFMT == S_IFDIR;
            if target_is_dir {
                // The replaced directory's `..` link to the new parent goes.
                self.change_links(nd, -1)?;
            }
            self.drop_link(target, target_is_dir)?;
        }
        self.change_links(ino, 0)
    }

    fn readlink(&mut self, ino: Ino) -> Result<Vec<u8>, Errno> {
        let (_, inode) = self.live_inode(ino)?;
        if u32::from(inode.mode()) & S_IFMT != S_IFLNK {
            return Err(Errno::EINVAL);
        }
        let size = inode.size() as usize;
        if inode.is_fast_symlink(self.block_size) {
            if size >= FAST_SYMLINK_MAX {
                return Err(Errno::EIO);
            }
            return Ok(inode.block_bytes()[..size].to_vec());
        }
        if size > self.block_size {
            return Err(Errno::EIO);
        }
        let mut buf = vec![0u8; size];
        let n = self.read_data(&inode, 0, &mut buf)?;
        buf.truncate(n);
        Ok(buf)
    }

    fn read(&mut self, ino: Ino, offset: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        let (_, inode) = self.live_inode(ino)?;
        match u32::from(inode.mode()) & S_IFMT {
            S_IFREG => self.read_data(&inode, offset, buf),
            S_IFDIR => Err(Errno::EISDIR),
            _ => Err(Errno::EINVAL),
        }
    }

    fn write(&mut self, ino: Ino, offset: u64, buf: &[u8]) -> Result<usize, Errno> {
        let (ino32, mut inode) = self.live_inode(ino)?;
        match u32::from(inode.mode()) & S_IFMT {
            S_IFREG => {}
            S_IFDIR => return Err(Errno::EISDIR),
            _ => return Err(Errno::EINVAL),
        }
        let max = self.max_file_size();
        if offset >= max {
            return if buf.is_empty() { Ok(0) } else { Err(Errno::EFBIG) };
        }
        let buf = &buf[..buf.len().min((max - offset).min(usize::MAX as u64) as usize)];
        if buf.is_empty() {
            return Ok(0);
        }
        self.begin_change()?;
        let n = self.write_data(ino32, &mut inode, offset, buf)?;
        let end = offset + n as u64;
        if end > inode.size() {
            if end > i32::MAX as u64 && self.sb.feature_ro_compat() & RO_COMPAT_LARGE_FILE == 0 {
                let f = self.sb.feature_ro_compat() | RO_COMPAT_LARGE_FILE;
                self.sb.set_feature_ro_compat(f);
                self.write_superblock()?;
            }
            inode.set_size(end);
        }
        let now = self.now();
        inode.set_mtime(now);
        inode.set_ctime(now);
        self.write_inode(ino32, &inode)?;
        Ok(n)
    }

    fn truncate(&mut self, ino: Ino, size: u64) -> Result<(), Errno> {
        let (ino32, mut inode) = self.live_inode(ino)?;
        match u32::from(inode.mode()) & S_IFMT {
            S_IFREG => {}
            S_IFDIR => return Err(Errno::EISDIR),
            _ => return Err(Errno::EINVAL),
        }
        if size > self.max_file_size() {
            return Err(Errno::EFBIG);
        }
        self.begin_change()?;
        let bs = self.block_size as u64;
        let mut freed = Vec::new();
        if size < inode.size() {
            // The rest of the last block reads as zeros if the file grows
            // again (Linux `block_truncate_page`).
            let within = (size % bs) as usize;
            if within != 0 {
                let pblk = self.bmap(&inode, size / bs)?;
                if pblk != 0 {
                    let mut block = self.read_data_block(pblk)?;
                    block[within..].fill(0);
                    self.write_block(pblk, &block)?;
                }
            }
            freed = self.cut_blocks(&mut inode, size.div_ceil(bs))?;
        }
        inode.set_size(size);
        let now = self.now();
        inode.set_mtime(now);
        inode.set_ctime(now);
        self.write_inode(ino32, &inode)?;
        self.free_blocks(freed)
    }

    fn readdir(&mut self, dir: Ino, cursor: u64, sink: &mut DirSink<'_>) -> Result<u64, Errno> {
        let (_, dir_inode) = self.dir_inode(dir)?;
        let bs = self.block_size as u64;
        let size = dir_inode.size();
        let mut lblk = cursor / bs;
        while lblk * bs < size {
            let pblk = self.bmap(&dir_inode, lblk)?;
            if pblk != 0 {
                let block = self.read_block(pblk)?;
                for e in self.dir_block_entries(&block)? {
                    let pos = lblk * bs + e.offset as u64;
                    // A cursor inside an entry (the block changed since)
                    // resumes at the next one (Linux `ext2_validate_entry`).
                    if pos < cursor || e.inode == 0 {
                        continue;
                    }
                    let d_type = if self.has_filetype {
                        Self::dtype_of(e.file_type)
                    } else {
                        mode_to_dtype(self.mode_of(e.inode).unwrap_or(0))
                    };
                    let name = &block[e.offset + 8..e.offset + 8 + e.name_len];
                    let entry = DirEntry { ino: Ino::from(e.inode), d_type, name, next: pos + e.rec_len as u64 };
                    if !sink(entry) {
                        return Ok(pos);
                    }
                }
            }
            lblk += 1;
        }
        Ok(size.max(cursor))
    }

    fn statfs(&mut self) -> Result<FsStats, Errno> {
        let free_blocks: u64 = self.groups.iter().map(|g| u64::from(g.free_blocks())).sum();
        let free_inodes: u64 = self.groups.iter().map(|g| u64::from(g.free_inodes())).sum();
        Ok(FsStats {
            magic: EXT2_SUPER_MAGIC,
            block_size: self.block_size as u32,
            blocks: u64::from(self.sb.blocks_count()),
            blocks_free: free_blocks,
            blocks_avail: free_blocks.saturating_sub(u64::from(self.sb.r_blocks_count())),
            files: u64::from(self.sb.inodes_count()),
            files_free: free_inodes,
            name_max: 255,
        })
    }

    fn sync(&mut self) -> Result<(), Errno> {
        if !self.writable {
            return Ok(());
        }
        // Everything else was written through; the superblock takes the
        // counts, the time and "clean", after the device has the rest.
        self.dev.flush()?;
        let free_blocks: u64 = self.groups.iter().map(|g| u64::from(g.free_blocks())).sum();
        let free_inodes: u64 = self.groups.iter().map(|g| u64::from(g.free_inodes())).sum();
        self.sb.set_free_blocks_count(free_blocks as u32);
        self.sb.set_free_inodes_count(free_inodes as u32);
        if !self.clean_on_disk {
            let now = self.now();
            self.sb.set_wtime(now);
            // Open files whose names are gone are not clean on disk: a
            // crash before their last close leaves them for e2fsck.
            let pinned: Vec<u32> = self.pins.keys().copied().collect();
            let orphans = pinned.into_iter().any(|ino| self.read_inode(ino).is_ok_and(|i| i.links() == 0));
            if !orphans {
                let state = self.sb.state() | STATE_VALID;
                self.sb.set_state(state);
                self.clean_on_disk = true;
            }
        }
        self.write_superblock()?;
        self.dev.flush()
    }

    fn fsync(&mut self, _ino: Ino) -> Result<(), Errno> {
        if !self.writable {
            return Ok(());
        }
        // Data and metadata went through already; the superblock's counts
        // follow and the device flushes. The state stays "not clean".
        let free_blocks: u64 = self.groups.iter().map(|g| u64::from(g.free_blocks())).sum();
        let free_inodes: u64 = self.groups.iter().map(|g| u64::from(g.free_inodes())).sum();
        self.sb.set_free_blocks_count(free_blocks as u32);
        self.sb.set_free_inodes_count(free_inodes as u32);
        self.write_superblock()?;
        self.dev.flush()
    }

    fn pin(&mut self, ino: Ino) -> Result<(), Errno> {
        let (ino, _) = self.live_inode(ino)?;
        let count = self.pins.entry(ino).or_insert(0);
        *count = count.checked_add(1).ok_or(Errno::ENFILE)?;
        Ok(())
    }

    fn unpin(&mut self, ino: Ino) -> Result<(), Errno> {
        let ino = u32::try_from(ino).map_err(|_| Errno::EINVAL)?;
        let count = self.pins.get_mut(&ino).ok_or(Errno::EINVAL)?;
        *count -= 1;
        if *count == 0 {
            self.pins.remove(&ino);
            if self.writable {
                self.maybe_release(ino)?;
            }
        }
        Ok(())
    }
}
