//! The on-disk structures of ext2 (revisions 0 and 1), read and written at
//! their byte offsets (little-endian), keeping every byte we do not
//! interpret as it was.
//!
//! Source: Linux `fs/ext2/ext2.h` (`struct ext2_super_block`,
//! `struct ext2_group_desc`, `struct ext2_inode`, `struct ext2_dir_entry_2`),
//! Linux 6.12; "The Second Extended File System" by Dave Poirier.

use alloc::vec;
use alloc::vec::Vec;

/// Where the superblock starts on the device, in bytes.
pub const SUPERBLOCK_OFFSET: u64 = 1024;
/// The superblock's size.
pub const SUPERBLOCK_SIZE: usize = 1024;
/// `s_magic`.
pub const EXT2_MAGIC: u16 = 0xef53;
/// The root directory's inode.
pub const ROOT_INO: u32 = 2;
/// Revision 0's first ordinary inode and inode size.
pub const GOOD_OLD_FIRST_INO: u32 = 11;
/// Revision 0's inode size.
pub const GOOD_OLD_INODE_SIZE: usize = 128;
/// A group descriptor's size (without the 64bit feature).
pub const GROUP_DESC_SIZE: usize = 32;
/// Direct block pointers in an inode.
pub const DIRECT_BLOCKS: usize = 12;
/// A symbolic link's target fits in `i_block` (60 bytes) below this.
pub const FAST_SYMLINK_MAX: usize = 60;
/// `s_state`: cleanly unmounted.
pub const STATE_VALID: u16 = 1;
/// `i_flags`: a hashed-index directory (`EXT2_INDEX_FL`); we keep no index,
/// so a directory we change loses the flag, as ext2 itself does.
pub const INDEX_FL: u32 = 0x1000;
/// The most links an inode may have (`EXT2_LINK_MAX`).
pub const LINK_MAX: u32 = 32_000;

/// `s_feature_compat` bits we may leave alone while writing: directory
/// preallocation, image inodes, journal (refused below), extended
/// attributes, resize inode, directory index.
pub const COMPAT_DIR_PREALLOC: u32 = 0x0001;
/// `s_feature_compat`: has a journal (ext3): we refuse to write it.
pub const COMPAT_HAS_JOURNAL: u32 = 0x0004;
/// `s_feature_incompat`: directory entries hold the file type.
pub const INCOMPAT_FILETYPE: u32 = 0x0002;
/// `s_feature_ro_compat`: backups of the superblock in some groups only.
pub const RO_COMPAT_SPARSE_SUPER: u32 = 0x0001;
/// `s_feature_ro_compat`: files over 2 GiB.
pub const RO_COMPAT_LARGE_FILE: u32 = 0x0002;
/// The incompatible features we read.
pub const INCOMPAT_SUPPORTED: u32 = INCOMPAT_FILETYPE;
/// The read-only-compatible features we write.
pub const RO_COMPAT_SUPPORTED: u32 = RO_COMPAT_SPARSE_SUPER | RO_COMPAT_LARGE_FILE;

/// Directory entry file types (`EXT2_FT_*`).
pub mod ft {
    /// Unknown.
    pub const UNKNOWN: u8 = 0;
    /// Regular file.
    pub const REG: u8 = 1;
    /// Directory.
    pub const DIR: u8 = 2;
    /// Character device.
    pub const CHRDEV: u8 = 3;
    /// Block device.
    pub const BLKDEV: u8 = 4;
    /// FIFO.
    pub const FIFO: u8 = 5;
    /// Socket.
    pub const SOCK: u8 = 6;
    /// Symbolic link.
    pub const SYMLINK: u8 = 7;
}

fn get16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}
fn get32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}
fn put16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_le_bytes());
}
fn put32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

/// Reads a little-endian `u32` at `at` of a block (block maps, bitmaps).
pub fn le32(b: &[u8], at: usize) -> u32 {
    get32(b, at)
}
/// Writes a little-endian `u32` at `at`.
pub fn set_le32(b: &mut [u8], at: usize, v: u32) {
    put32(b, at, v)
}

macro_rules! field {
    ($get:ident, $set:ident, $at:expr, u32) => {
        #[doc = concat!("The field at byte ", stringify!($at), ".")]
        pub fn $get(&self) -> u32 {
            get32(&self.raw, $at)
        }
        #[doc = concat!("Sets the field at byte ", stringify!($at), ".")]
        pub fn $set(&mut self, v: u32) {
            put32(&mut self.raw, $at, v)
        }
    };
    ($get:ident, $set:ident, $at:expr, u16) => {
        #[doc = concat!("The field at byte ", stringify!($at), ".")]
        pub fn $get(&self) -> u16 {
            get16(&self.raw, $at)
        }
        #[doc = concat!("Sets the field at byte ", stringify!($at), ".")]
        pub fn $set(&mut self, v: u16) {
            put16(&mut self.raw, $at, v)
        }
    };
}

/// The superblock (`struct ext2_super_block`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Superblock {
    /// Its 1024 bytes.
    pub raw: Vec<u8>,
}

#[allow(missing_docs)]
impl Superblock {
    field!(inodes_count, set_inodes_count, 0, u32);
    field!(blocks_count, set_blocks_count, 4, u32);
    field!(r_blocks_count, set_r_blocks_count, 8, u32);
    field!(free_blocks_count, set_free_blocks_count, 12, u32);
    field!(free_inodes_count, set_free_inodes_count, 16, u32);
    field!(first_data_block, set_first_data_block, 20, u32);
    field!(log_block_size, set_log_block_size, 24, u32);
    field!(blocks_per_group, set_blocks_per_group, 32, u32);
    field!(inodes_per_group, set_inodes_per_group, 40, u32);
    field!(mtime, set_mtime, 44, u32);
    field!(wtime, set_wtime, 48, u32);
    field!(mnt_count, set_mnt_count, 52, u16);
    field!(magic, set_magic, 56, u16);
    field!(state, set_state, 58, u16);
    field!(rev_level, set_rev_level, 76, u32);
    field!(first_ino_raw, set_first_ino_raw, 84, u32);
    field!(inode_size_raw, set_inode_size_raw, 88, u16);
    field!(feature_compat, set_feature_compat, 92, u32);
    field!(feature_incompat, set_feature_incompat, 96, u32);
    field!(feature_ro_compat, set_feature_ro_compat, 100, u32);

    /// The first inode files may use.
    pub fn first_ino(&self) -> u32 {
        if self.rev_level() == 0 { GOOD_OLD_FIRST_INO } else { self.first_ino_raw() }
    }

    /// Bytes per inode record.
    pub fn inode_size(&self) -> usize {
        if self.rev_level() == 0 { GOOD_OLD_INODE_SIZE } else { usize::from(self.inode_size_raw()) }
    }

    /// Bytes per block, if `s_log_block_size` is sane (1 KiB to 64 KiB).
    pub fn block_size(&self) -> Option<usize> {
        let log = self.log_block_size();
        (log <= 6).then(|| 1024usize << log)
    }

    /// The feature fields (compat, incompat, ro_compat) of revision 1; all
    /// zero in revision 0.
    pub fn features(&self) -> (u32, u32, u32) {
        if self.rev_level() == 0 {
            (0, 0, 0)
        } else {
            (self.feature_compat(), self.feature_incompat(), self.feature_ro_compat())
        }
    }
}

/// A block group descriptor (`struct ext2_group_desc`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupDesc {
    /// Its 32 bytes.
    pub raw: Vec<u8>,
}

#[allow(missing_docs)]
impl GroupDesc {
    field!(block_bitmap, set_block_bitmap, 0, u32);
    field!(inode_bitmap, set_inode_bitmap, 4, u32);
    field!(inode_table, set_inode_table, 8, u32);
    field!(free_blocks, set_free_blocks, 12, u16);
    field!(free_inodes, set_free_inodes, 14, u16);
    field!(used_dirs, set_used_dirs, 16, u16);
}

/// An inode record (`struct ext2_inode`, plus whatever the inode size
/// adds).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inode {
    /// Its bytes (the inode size).
    pub raw: Vec<u8>,
}

#[allow(missing_docs)]
impl Inode {
    field!(mode, set_mode, 0, u16);
    field!(uid_lo, set_uid_lo, 2, u16);
    field!(size_lo, set_size_lo, 4, u32);
    field!(atime, set_atime, 8, u32);
    field!(ctime, set_ctime, 12, u32);
    field!(mtime, set_mtime, 16, u32);
    field!(dtime, set_dtime, 20, u32);
    field!(gid_lo, set_gid_lo, 24, u16);
    field!(links, set_links, 26, u16);
    field!(blocks_512, set_blocks_512, 28, u32);
    field!(flags, set_flags, 32, u32);
    field!(file_acl, set_file_acl, 104, u32);
    field!(size_high, set_size_high, 108, u32);
    field!(uid_hi, set_uid_hi, 120, u16);
    field!(gid_hi, set_gid_hi, 122, u16);

    /// A zeroed record of `size` bytes; with room for it, `i_extra_isize`
    /// is 32 as `mke2fs` and Linux write it.
    pub fn new(size: usize) -> Inode {
        let mut raw = vec![0; size];
        if size >= GOOD_OLD_INODE_SIZE + 32 {
            put16(&mut raw, 128, 32);
        }
        Inode { raw }
    }

    /// Block pointer `i` of `i_block` (0..15).
    pub fn block(&self, i: usize) -> u32 {
        get32(&self.raw, 40 + 4 * i)
    }

    /// Sets block pointer `i`.
    pub fn set_block(&mut self, i: usize, v: u32) {
        put32(&mut self.raw, 40 + 4 * i, v)
    }

    /// The 60 bytes of `i_block` (a fast symlink's target).
    pub fn block_bytes(&self) -> &[u8] {
        &self.raw[40..100]
    }

    /// Mutable `i_block` bytes.
    pub fn block_bytes_mut(&mut self) -> &mut [u8] {
        &mut self.raw[40..100]
    }

    /// Size in bytes (`i_size_high` counts for regular files).
    pub fn size(&self) -> u64 {
        let high = if self.mode() & 0o170000 == 0o100000 { u64::from(self.size_high()) } else { 0 };
        (high << 32) | u64::from(self.size_lo())
    }

    /// Sets the size.
    pub fn set_size(&mut self, size: u64) {
        self.set_size_lo(size as u32);
        if self.mode() & 0o170000 == 0o100000 {
            self.set_size_high((size >> 32) as u32);
        }
    }

    /// Owner.
    pub fn uid(&self) -> u32 {
        u32::from(self.uid_lo()) | u32::from(self.uid_hi()) << 16
    }

    /// Sets the owner.
    pub fn set_uid(&mut self, uid: u32) {
        self.set_uid_lo(uid as u16);
        self.set_uid_hi((uid >> 16) as u16);
    }

    /// Group.
    pub fn gid(&self) -> u32 {
        u32::from(self.gid_lo()) | u32::from(self.gid_hi()) << 16
    }

    /// Sets the group.
    pub fn set_gid(&mut self, gid: u32) {
        self.set_gid_lo(gid as u16);
        self.set_gid_hi((gid >> 16) as u16);
    }

    /// Whether it is a symbolic link stored in `i_block` (Linux
    /// `ext2_inode_is_fast_symlink`: no data blocks besides an EA block).
    pub fn is_fast_symlink(&self, block_size: usize) -> bool {
        let ea_blocks = if self.file_acl() != 0 { (block_size / 512) as u32 } else { 0 };
        self.mode() & 0o170000 == 0o120000 && self.blocks_512() == ea_blocks
    }
}

/// One directory entry as found in a block (`struct ext2_dir_entry_2`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RawDirEntry {
    /// Where it starts in the block.
    pub offset: usize,
    /// Its inode, 0 for an unused entry.
    pub inode: u32,
    /// Its length up to the next entry.
    pub rec_len: usize,
    /// Its name's length.
    pub name_len: usize,
    /// `EXT2_FT_*` (0 without the filetype feature).
    pub file_type: u8,
}

/// The length an entry with a name of `name_len` bytes needs
/// (`EXT2_DIR_REC_LEN`).
pub const fn dir_rec_len(name_len: usize) -> usize {
    (8 + name_len + 3) & !3
}

/// Parses the entry at `offset` of a directory block; `None` if it is
/// corrupt (Linux `ext2_check_folio`: a rec_len below 12 or the name's
/// length, not a multiple of 4, or running past the block).
pub fn parse_dir_entry(block: &[u8], offset: usize, has_filetype: bool) -> Option<RawDirEntry> {
    if offset + 8 > block.len() {
        return None;
    }
    let inode = get32(block, offset);
    let rec_len = usize::from(get16(block, offset + 4));
    let name_len = if has_filetype { usize::from(block[offset + 6]) } else { usize::from(get16(block, offset + 6)) };
    let file_type = if has_filetype { block[offset + 7] } else { 0 };
    if rec_len < dir_rec_len(1) || rec_len % 4 != 0 || rec_len < dir_rec_len(name_len) || offset + rec_len > block.len()
    {
        return None;
    }
    Some(RawDirEntry { offset, inode, rec_len, name_len, file_type })
}

/// Writes an entry's header and name at `offset` of a block.
pub fn write_dir_entry(block: &mut [u8], offset: usize, inode: u32, rec_len: usize, name: &[u8], file_type: u8) {
    put32(block, offset, inode);
    put16(block, offset + 4, rec_len as u16);
    block[offset + 6] = name.len() as u8;
    block[offset + 7] = file_type;
    block[offset + 8..offset + 8 + name.len()].copy_from_slice(name);
}

/// Sets an entry's inode and type.
pub fn set_dir_entry_inode(block: &mut [u8], offset: usize, inode: u32, file_type: u8) {
    put32(block, offset, inode);
    block[offset + 7] = file_type;
}

/// Sets an entry's rec_len.
pub fn set_dir_entry_rec_len(block: &mut [u8], offset: usize, rec_len: usize) {
    put16(block, offset + 4, rec_len as u16);
}
