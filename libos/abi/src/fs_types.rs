//! The file system calls' structures and flag values, with the Linux x86_64
//! layouts and values: `struct stat`, `struct statx`, `struct statfs`, the
//! `struct linux_dirent64` record of `getdents64`, and the flags of `open`,
//! the `*at` calls, `rename`, `lseek`, `fcntl`, `access` and `utimensat`.
//!
//! Sources: `arch/x86/include/uapi/asm/stat.h` (`struct stat`),
//! `include/uapi/linux/stat.h` (`struct statx`, `S_IF*`),
//! `include/uapi/asm-generic/statfs.h` (`struct statfs`),
//! `include/linux/dirent.h` (`struct linux_dirent64`),
//! `include/uapi/asm-generic/fcntl.h`, `include/uapi/linux/fcntl.h`,
//! `include/uapi/linux/fs.h` (Linux 6.12). Each structure's size and field
//! offsets are checked at compile time at the end of this file.

use core::mem::{align_of, offset_of, size_of};

/// The longest file name component, in bytes (`NAME_MAX`, Linux
/// `include/uapi/linux/limits.h`); longer gives `ENAMETOOLONG`.
pub const NAME_MAX: usize = 255;
/// The longest path a call accepts, in bytes, the terminating NUL included
/// (`PATH_MAX`); a longer path gives `ENAMETOOLONG`.
pub const PATH_MAX: usize = 4096;
/// How many symbolic links one path lookup follows before `ELOOP`
/// (`MAXSYMLINKS`, Linux `include/linux/namei.h`).
pub const MAXSYMLINKS: u32 = 40;

/// `fstat`/`stat`/`lstat`/`newfstatat`: `struct stat` of x86_64.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stat {
    /// The device of the file system holding the file.
    pub st_dev: u64,
    /// The inode number.
    pub st_ino: u64,
    /// Hard links.
    pub st_nlink: u64,
    /// Type (`S_IF*`) and permission bits.
    pub st_mode: u32,
    /// Owner.
    pub st_uid: u32,
    /// Group.
    pub st_gid: u32,
    /// Padding (`__pad0`).
    pub pad0: u32,
    /// The device a device special file stands for.
    pub st_rdev: u64,
    /// Size in bytes (of a symlink: its target's length).
    pub st_size: i64,
    /// The preferred I/O size.
    pub st_blksize: i64,
    /// 512-byte units allocated.
    pub st_blocks: i64,
    /// Last access, seconds.
    pub st_atime: i64,
    /// Last access, nanoseconds.
    pub st_atime_nsec: i64,
    /// Last modification, seconds.
    pub st_mtime: i64,
    /// Last modification, nanoseconds.
    pub st_mtime_nsec: i64,
    /// Last status change, seconds.
    pub st_ctime: i64,
    /// Last status change, nanoseconds.
    pub st_ctime_nsec: i64,
    /// Reserved (`__unused`).
    pub unused: [i64; 3],
}

/// A `statx` time stamp: `struct statx_timestamp`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatxTimestamp {
    /// Seconds since the epoch.
    pub tv_sec: i64,
    /// Nanoseconds.
    pub tv_nsec: u32,
    /// Reserved.
    pub reserved: i32,
}

/// `statx`: `struct statx`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Statx {
    /// Which fields are filled in (`STATX_*`).
    pub stx_mask: u32,
    /// The preferred I/O size.
    pub stx_blksize: u32,
    /// `STATX_ATTR_*` flags.
    pub stx_attributes: u64,
    /// Hard links.
    pub stx_nlink: u32,
    /// Owner.
    pub stx_uid: u32,
    /// Group.
    pub stx_gid: u32,
    /// Type and permission bits.
    pub stx_mode: u16,
    /// Padding.
    pub spare0: u16,
    /// The inode number.
    pub stx_ino: u64,
    /// Size in bytes.
    pub stx_size: u64,
    /// 512-byte units allocated.
    pub stx_blocks: u64,
    /// Which `stx_attributes` bits the file system supports.
    pub stx_attributes_mask: u64,
    /// Last access.
    pub stx_atime: StatxTimestamp,
    /// Creation.
    pub stx_btime: StatxTimestamp,
    /// Last status change.
    pub stx_ctime: StatxTimestamp,
    /// Last modification.
    pub stx_mtime: StatxTimestamp,
    /// Major number of the device a device file stands for.
    pub stx_rdev_major: u32,
    /// Minor number of the device a device file stands for.
    pub stx_rdev_minor: u32,
    /// Major number of the file system's device.
    pub stx_dev_major: u32,
    /// Minor number of the file system's device.
    pub stx_dev_minor: u32,
    /// The mount's identifier.
    pub stx_mnt_id: u64,
    /// Direct I/O memory alignment.
    pub stx_dio_mem_align: u32,
    /// Direct I/O offset alignment.
    pub stx_dio_offset_align: u32,
    /// Subvolume identifier.
    pub stx_subvol: u64,
    /// Reserved (the atomic write fields and `__spare3`).
    pub spare3: [u64; 11],
}

/// `statx` mask: the file type.
pub const STATX_TYPE: u32 = 0x0001;
/// `statx` mask: the permission bits.
pub const STATX_MODE: u32 = 0x0002;
/// `statx` mask: `stx_nlink`.
pub const STATX_NLINK: u32 = 0x0004;
/// `statx` mask: `stx_uid`.
pub const STATX_UID: u32 = 0x0008;
/// `statx` mask: `stx_gid`.
pub const STATX_GID: u32 = 0x0010;
/// `statx` mask: `stx_atime`.
pub const STATX_ATIME: u32 = 0x0020;
/// `statx` mask: `stx_mtime`.
pub const STATX_MTIME: u32 = 0x0040;
/// `statx` mask: `stx_ctime`.
pub const STATX_CTIME: u32 = 0x0080;
/// `statx` mask: `stx_ino`.
pub const STATX_INO: u32 = 0x0100;
/// `statx` mask: `stx_size`.
pub const STATX_SIZE: u32 = 0x0200;
/// `statx` mask: `stx_blocks`.
pub const STATX_BLOCKS: u32 = 0x0400;
/// `statx` mask: everything `struct stat` has.
pub const STATX_BASIC_STATS: u32 = 0x07ff;
/// `statx` mask: `stx_btime`.
pub const STATX_BTIME: u32 = 0x0800;
/// `statx` mask: `stx_mnt_id`.
pub const STATX_MNT_ID: u32 = 0x1000;

/// `statfs`/`fstatfs`: `struct statfs` of x86_64 (`__statfs_word` is `long`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Statfs {
    /// The file system's magic number (`EXT2_SUPER_MAGIC`, `RAMFS_MAGIC`...).
    pub f_type: i64,
    /// The block size.
    pub f_bsize: i64,
    /// Blocks in all.
    pub f_blocks: u64,
    /// Free blocks.
    pub f_bfree: u64,
    /// Free blocks an unprivileged user may use.
    pub f_bavail: u64,
    /// Inodes in all.
    pub f_files: u64,
    /// Free inodes.
    pub f_ffree: u64,
    /// File system identifier.
    pub f_fsid: [i32; 2],
    /// The longest name.
    pub f_namelen: i64,
    /// The fragment size.
    pub f_frsize: i64,
    /// Mount flags (`ST_*`).
    pub f_flags: i64,
    /// Reserved.
    pub f_spare: [i64; 4],
}

/// `statfs` `f_flags`: mounted read-only.
pub const ST_RDONLY: i64 = 0x0001;
/// `statfs` `f_flags`: set-user-ID bits are ignored.
pub const ST_NOSUID: i64 = 0x0002;
/// `statfs` `f_type` of ext2/ext3/ext4 (`include/uapi/linux/magic.h`).
pub const EXT2_SUPER_MAGIC: i64 = 0xef53;
/// `statfs` `f_type` of tmpfs.
pub const TMPFS_MAGIC: i64 = 0x0102_1994;
/// `statfs` `f_type` of ramfs.
pub const RAMFS_MAGIC: i64 = 0x8584_58f6;

/// The fixed part of a `getdents64` record, `struct linux_dirent64`; the
/// NUL-terminated name follows at [`DIRENT64_NAME_OFFSET`] and the record is
/// padded to a multiple of 8 bytes ([`dirent64_reclen`]).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Dirent64Header {
    /// The inode number.
    pub d_ino: u64,
    /// The cursor that resumes after this entry (for `lseek`).
    pub d_off: i64,
    /// The length of the whole record.
    pub d_reclen: u16,
    /// `DT_*`.
    pub d_type: u8,
}

/// Where the name starts in a `struct linux_dirent64` record.
pub const DIRENT64_NAME_OFFSET: usize = 19;

/// The length of a `linux_dirent64` record for a name of `name_len` bytes:
/// header, name, NUL, rounded up to 8 (Linux `fs/readdir.c`,
/// `filldir64`).
pub const fn dirent64_reclen(name_len: usize) -> usize {
    (DIRENT64_NAME_OFFSET + name_len + 1).next_multiple_of(8)
}

/// Writes a `linux_dirent64` record at the start of `buf`; returns its
/// length, or `None` when `buf` is too short for it.
pub fn write_dirent64(buf: &mut [u8], ino: u64, off: i64, d_type: u8, name: &[u8]) -> Option<usize> {
    let reclen = dirent64_reclen(name.len());
    if buf.len() < reclen || reclen > u16::MAX as usize {
        return None;
    }
    let rec = &mut buf[..reclen];
    rec[0..8].copy_from_slice(&ino.to_ne_bytes());
    rec[8..16].copy_from_slice(&off.to_ne_bytes());
    rec[16..18].copy_from_slice(&(reclen as u16).to_ne_bytes());
    rec[18] = d_type;
    rec[DIRENT64_NAME_OFFSET..DIRENT64_NAME_OFFSET + name.len()].copy_from_slice(name);
    rec[DIRENT64_NAME_OFFSET + name.len()..].fill(0);
    Some(reclen)
}

/// `d_type`: unknown.
pub const DT_UNKNOWN: u8 = 0;
/// `d_type`: a FIFO.
pub const DT_FIFO: u8 = 1;
/// `d_type`: a character device.
pub const DT_CHR: u8 = 2;
/// `d_type`: a directory.
pub const DT_DIR: u8 = 4;
/// `d_type`: a block device.
pub const DT_BLK: u8 = 6;
/// `d_type`: a regular file.
pub const DT_REG: u8 = 8;
/// `d_type`: a symbolic link.
pub const DT_LNK: u8 = 10;
/// `d_type`: a socket.
pub const DT_SOCK: u8 = 12;

/// `st_mode`: the type bits.
pub const S_IFMT: u32 = 0o170000;
/// `st_mode` type: a socket.
pub const S_IFSOCK: u32 = 0o140000;
/// `st_mode` type: a symbolic link.
pub const S_IFLNK: u32 = 0o120000;
/// `st_mode` type: a regular file.
pub const S_IFREG: u32 = 0o100000;
/// `st_mode` type: a block device.
pub const S_IFBLK: u32 = 0o060000;
/// `st_mode` type: a directory.
pub const S_IFDIR: u32 = 0o040000;
/// `st_mode` type: a character device.
pub const S_IFCHR: u32 = 0o020000;
/// `st_mode` type: a FIFO.
pub const S_IFIFO: u32 = 0o010000;
/// `st_mode`: set user ID on execution.
pub const S_ISUID: u32 = 0o4000;
/// `st_mode`: set group ID on execution.
pub const S_ISGID: u32 = 0o2000;
/// `st_mode`: sticky.
pub const S_ISVTX: u32 = 0o1000;
/// `flock` operations (include/uapi/asm-generic/fcntl.h): a shared lock.
pub const LOCK_SH: i32 = 1;
/// `flock`: an exclusive lock.
pub const LOCK_EX: i32 = 2;
/// `flock`: do not wait (`EWOULDBLOCK` instead).
pub const LOCK_NB: i32 = 4;
/// `flock`: unlock.
pub const LOCK_UN: i32 = 8;

/// `st_mode`: group execute.
pub const S_IXGRP: u32 = 0o010;
/// `st_mode`: every permission bit `chmod` may set.
pub const S_IALLUGO: u32 = 0o7777;

/// The `DT_*` value for an `st_mode` (Linux `fs_umode_to_dtype`).
pub const fn mode_to_dtype(mode: u32) -> u8 {
    ((mode & S_IFMT) >> 12) as u8
}

/// `open` access mode: read only.
pub const O_RDONLY: i32 = 0;
/// `open` access mode: write only.
pub const O_WRONLY: i32 = 0o1;
/// `open` access mode: read and write.
pub const O_RDWR: i32 = 0o2;
/// `open`: the access mode bits.
pub const O_ACCMODE: i32 = 0o3;
/// `open`: create the file if it does not exist.
pub const O_CREAT: i32 = 0o100;
/// `open`: with `O_CREAT`, fail with `EEXIST` if it exists.
pub const O_EXCL: i32 = 0o200;
/// `open`: do not make it the controlling terminal.
pub const O_NOCTTY: i32 = 0o400;
/// `open`: truncate a regular file to 0.
pub const O_TRUNC: i32 = 0o1000;
/// `open`: every write goes to the end.
pub const O_APPEND: i32 = 0o2000;
/// `open`: non-blocking I/O.
pub const O_NONBLOCK: i32 = 0o4000;
/// `open`: writes complete as for `fdatasync`.
pub const O_DSYNC: i32 = 0o10000;
/// `open`: signal-driven I/O (`FASYNC`).
pub const O_ASYNC: i32 = 0o20000;
/// `open`: direct I/O.
pub const O_DIRECT: i32 = 0o40000;
/// `open`: large files (always on for 64-bit).
pub const O_LARGEFILE: i32 = 0o100000;
/// `open`: fail with `ENOTDIR` unless a directory.
pub const O_DIRECTORY: i32 = 0o200000;
/// `open`: fail with `ELOOP` if the last component is a symbolic link.
pub const O_NOFOLLOW: i32 = 0o400000;
/// `open`: do not update the access time.
pub const O_NOATIME: i32 = 0o1000000;
/// `open`: close on `execve`.
pub const O_CLOEXEC: i32 = 0o2000000;
/// `open`: writes complete as for `fsync` (includes `O_DSYNC`).
pub const O_SYNC: i32 = 0o4010000;
/// `open`: a descriptor for the path only.
pub const O_PATH: i32 = 0o10000000;
/// `open`: an unnamed temporary file in a directory (includes
/// `O_DIRECTORY`).
pub const O_TMPFILE: i32 = 0o20000000 | O_DIRECTORY;

/// The `*at` calls' directory: the current working directory.
pub const AT_FDCWD: i32 = -100;
/// `*at`: do not follow a symbolic link in the last component.
pub const AT_SYMLINK_NOFOLLOW: i32 = 0x100;
/// `unlinkat`: remove a directory (as `rmdir`).
pub const AT_REMOVEDIR: i32 = 0x200;
/// `faccessat`: check with the effective IDs.
pub const AT_EACCESS: i32 = 0x200;
/// `linkat`: follow a symbolic link in the old path's last component.
pub const AT_SYMLINK_FOLLOW: i32 = 0x400;
/// `*at`: do not trigger an automount.
pub const AT_NO_AUTOMOUNT: i32 = 0x800;
/// `*at`: an empty path means the directory descriptor itself.
pub const AT_EMPTY_PATH: i32 = 0x1000;
/// `statx`: the synchronisation bits.
pub const AT_STATX_SYNC_TYPE: i32 = 0x6000;
/// `statx`: synchronise as `stat` does.
pub const AT_STATX_SYNC_AS_STAT: i32 = 0x0000;
/// `statx`: force synchronisation with a remote server.
pub const AT_STATX_FORCE_SYNC: i32 = 0x2000;
/// `statx`: do not synchronise.
pub const AT_STATX_DONT_SYNC: i32 = 0x4000;

/// `utimensat`: set this time stamp to now.
pub const UTIME_NOW: i64 = (1 << 30) - 1;
/// `utimensat`: leave this time stamp as it is.
pub const UTIME_OMIT: i64 = (1 << 30) - 2;

/// `renameat2`: fail with `EEXIST` if the new name exists.
pub const RENAME_NOREPLACE: u32 = 1 << 0;
/// `renameat2`: swap the two names (both must exist).
pub const RENAME_EXCHANGE: u32 = 1 << 1;
/// `renameat2`: leave a whiteout at the old name (overlay file systems).
pub const RENAME_WHITEOUT: u32 = 1 << 2;

/// `lseek`: from the start.
pub const SEEK_SET: i32 = 0;
/// `lseek`: from the current offset.
pub const SEEK_CUR: i32 = 1;
/// `lseek`: from the end.
pub const SEEK_END: i32 = 2;
/// `lseek`: to the next data at or after the offset.
pub const SEEK_DATA: i32 = 3;
/// `lseek`: to the next hole at or after the offset.
pub const SEEK_HOLE: i32 = 4;

/// `fcntl`: duplicate to the lowest free descriptor at or above the argument.
pub const F_DUPFD: i32 = 0;
/// `fcntl`: the descriptor flags (`FD_CLOEXEC`).
pub const F_GETFD: i32 = 1;
/// `fcntl`: set the descriptor flags.
pub const F_SETFD: i32 = 2;
/// `fcntl`: the file status flags (`O_*`).
pub const F_GETFL: i32 = 3;
/// `fcntl`: set the file status flags (`O_APPEND`, `O_NONBLOCK`...).
pub const F_SETFL: i32 = 4;
/// `fcntl`: as `F_DUPFD`, with close-on-exec set.
pub const F_DUPFD_CLOEXEC: i32 = 1030;
/// `fcntl`: a pipe's capacity in bytes (`EBADF` for anything else).
pub const F_GETPIPE_SZ: i32 = 1032;
/// The descriptor flag: close on `execve`.
pub const FD_CLOEXEC: i32 = 1;

/// `fcntl`: the first lock that would conflict with a `struct flock`
/// (POSIX record locks, owned by the process).
pub const F_GETLK: i32 = 5;
/// `fcntl`: take or release a record lock; `EAGAIN` on a conflict.
pub const F_SETLK: i32 = 6;
/// `fcntl`: as `F_SETLK`, waiting while another owner's lock conflicts.
pub const F_SETLKW: i32 = 7;
/// `fcntl`: `F_GETLK` for open file description locks.
pub const F_OFD_GETLK: i32 = 36;
/// `fcntl`: `F_SETLK` for open file description locks (owned by the
/// description, not the process).
pub const F_OFD_SETLK: i32 = 37;
/// `fcntl`: `F_SETLKW` for open file description locks.
pub const F_OFD_SETLKW: i32 = 38;
/// `struct flock` `l_type`: a shared (read) lock.
pub const F_RDLCK: i16 = 0;
/// `struct flock` `l_type`: an exclusive (write) lock.
pub const F_WRLCK: i16 = 1;
/// `struct flock` `l_type`: no lock (release; `F_GETLK`'s "nothing conflicts").
pub const F_UNLCK: i16 = 2;

/// `struct flock` (x86_64): a byte range of a file and a lock type, for
/// `F_GETLK`/`F_SETLK`/`F_SETLKW` and their `F_OFD_` forms. `l_start` counts
/// from `l_whence` (`SEEK_SET`, `SEEK_CUR`, `SEEK_END`); `l_len` 0 means to
/// the end of the file (however far it grows), a negative `l_len` the bytes
/// before `l_start`. `l_pid`: the holder's process id from `F_GETLK` (-1
/// for an open file description lock); must be 0 for the `F_OFD_` calls.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Flock {
    /// `F_RDLCK`, `F_WRLCK` or `F_UNLCK`.
    pub l_type: i16,
    /// `SEEK_SET`, `SEEK_CUR` or `SEEK_END`.
    pub l_whence: i16,
    /// Explicit padding (C's alignment of `l_start`).
    pub pad0: u32,
    /// Start of the range, from `l_whence`.
    pub l_start: i64,
    /// Length (0: to the end of file; negative: before `l_start`).
    pub l_len: i64,
    /// The process holding a conflicting lock (`F_GETLK`).
    pub l_pid: i32,
    /// Explicit padding (C's size of the struct).
    pub pad1: u32,
}

const _: () = {
    assert!(size_of::<Flock>() == 32);
    assert!(offset_of!(Flock, l_type) == 0);
    assert!(offset_of!(Flock, l_whence) == 2);
    assert!(offset_of!(Flock, l_start) == 8);
    assert!(offset_of!(Flock, l_len) == 16);
    assert!(offset_of!(Flock, l_pid) == 24);
};

/// `access`: the file exists.
pub const F_OK: i32 = 0;
/// `access`: may execute.
pub const X_OK: i32 = 1;
/// `access`: may write.
pub const W_OK: i32 = 2;
/// `access`: may read.
pub const R_OK: i32 = 4;

// The layouts are Linux x86_64's; the kernel copies these as bytes.
const _: () = {
    assert!(size_of::<Stat>() == 144);
    assert!(align_of::<Stat>() == 8);
    assert!(offset_of!(Stat, st_dev) == 0);
    assert!(offset_of!(Stat, st_ino) == 8);
    assert!(offset_of!(Stat, st_nlink) == 16);
    assert!(offset_of!(Stat, st_mode) == 24);
    assert!(offset_of!(Stat, st_uid) == 28);
    assert!(offset_of!(Stat, st_gid) == 32);
    assert!(offset_of!(Stat, st_rdev) == 40);
    assert!(offset_of!(Stat, st_size) == 48);
    assert!(offset_of!(Stat, st_blksize) == 56);
    assert!(offset_of!(Stat, st_blocks) == 64);
    assert!(offset_of!(Stat, st_atime) == 72);
    assert!(offset_of!(Stat, st_atime_nsec) == 80);
    assert!(offset_of!(Stat, st_mtime) == 88);
    assert!(offset_of!(Stat, st_mtime_nsec) == 96);
    assert!(offset_of!(Stat, st_ctime) == 104);
    assert!(offset_of!(Stat, st_ctime_nsec) == 112);
    assert!(offset_of!(Stat, unused) == 120);

    assert!(size_of::<StatxTimestamp>() == 16);
    assert!(size_of::<Statx>() == 256);
    assert!(offset_of!(Statx, stx_mask) == 0);
    assert!(offset_of!(Statx, stx_blksize) == 4);
    assert!(offset_of!(Statx, stx_attributes) == 8);
    assert!(offset_of!(Statx, stx_nlink) == 16);
    assert!(offset_of!(Statx, stx_uid) == 20);
    assert!(offset_of!(Statx, stx_gid) == 24);
    assert!(offset_of!(Statx, stx_mode) == 28);
    assert!(offset_of!(Statx, stx_ino) == 32);
    assert!(offset_of!(Statx, stx_size) == 40);
    assert!(offset_of!(Statx, stx_blocks) == 48);
    assert!(offset_of!(Statx, stx_attributes_mask) == 56);
    assert!(offset_of!(Statx, stx_atime) == 64);
    assert!(offset_of!(Statx, stx_btime) == 80);
    assert!(offset_of!(Statx, stx_ctime) == 96);
    assert!(offset_of!(Statx, stx_mtime) == 112);
    assert!(offset_of!(Statx, stx_rdev_major) == 128);
    assert!(offset_of!(Statx, stx_dev_major) == 136);
    assert!(offset_of!(Statx, stx_mnt_id) == 144);
    assert!(offset_of!(Statx, stx_dio_mem_align) == 152);
    assert!(offset_of!(Statx, stx_subvol) == 160);

    assert!(size_of::<Statfs>() == 120);
    assert!(offset_of!(Statfs, f_type) == 0);
    assert!(offset_of!(Statfs, f_bsize) == 8);
    assert!(offset_of!(Statfs, f_blocks) == 16);
    assert!(offset_of!(Statfs, f_bfree) == 24);
    assert!(offset_of!(Statfs, f_bavail) == 32);
    assert!(offset_of!(Statfs, f_files) == 40);
    assert!(offset_of!(Statfs, f_ffree) == 48);
    assert!(offset_of!(Statfs, f_fsid) == 56);
    assert!(offset_of!(Statfs, f_namelen) == 64);
    assert!(offset_of!(Statfs, f_frsize) == 72);
    assert!(offset_of!(Statfs, f_flags) == 80);
    assert!(offset_of!(Statfs, f_spare) == 88);

    assert!(offset_of!(Dirent64Header, d_ino) == 0);
    assert!(offset_of!(Dirent64Header, d_off) == 8);
    assert!(offset_of!(Dirent64Header, d_reclen) == 16);
    assert!(offset_of!(Dirent64Header, d_type) == 18);
    // `sizeof(struct linux_dirent64)` in C, the flexible name padded out.
    assert!(size_of::<Dirent64Header>() == 24);
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dirent64_records_are_padded_to_8_and_nul_terminated() {
        assert_eq!(dirent64_reclen(1), 24);
        assert_eq!(dirent64_reclen(4), 24);
        assert_eq!(dirent64_reclen(5), 32);
        assert_eq!(dirent64_reclen(255), 280);
        let mut buf = [0xffu8; 32];
        assert_eq!(write_dirent64(&mut buf, 7, 3, DT_REG, b"hello"), Some(32));
        assert_eq!(u64::from_ne_bytes(buf[0..8].try_into().unwrap()), 7);
        assert_eq!(i64::from_ne_bytes(buf[8..16].try_into().unwrap()), 3);
        assert_eq!(u16::from_ne_bytes(buf[16..18].try_into().unwrap()), 32);
        assert_eq!(buf[18], DT_REG);
        assert_eq!(&buf[19..24], b"hello");
        assert!(buf[24..32].iter().all(|&b| b == 0));
        assert_eq!(write_dirent64(&mut buf[..31], 7, 3, DT_REG, b"hello"), None);
    }

    #[test]
    fn dtype_follows_the_mode_type() {
        assert_eq!(mode_to_dtype(S_IFREG | 0o644), DT_REG);
        assert_eq!(mode_to_dtype(S_IFDIR | 0o755), DT_DIR);
        assert_eq!(mode_to_dtype(S_IFLNK | 0o777), DT_LNK);
        assert_eq!(mode_to_dtype(S_IFIFO), DT_FIFO);
        assert_eq!(mode_to_dtype(S_IFSOCK), DT_SOCK);
        assert_eq!(mode_to_dtype(S_IFCHR), DT_CHR);
        assert_eq!(mode_to_dtype(S_IFBLK), DT_BLK);
    }

    #[test]
    fn open_flags_have_linux_values() {
        // Spot checks against the numbers strace shows on x86_64.
        assert_eq!(O_CREAT | O_EXCL | O_TRUNC, 0x2c0);
        assert_eq!(O_DIRECTORY, 0x10000);
        assert_eq!(O_NOFOLLOW, 0x20000);
        assert_eq!(O_CLOEXEC, 0x80000);
        assert_eq!(O_SYNC, 0x101000);
        assert_eq!(O_PATH, 0x200000);
        assert_eq!(O_TMPFILE, 0x410000);
    }
}

/// `readv`/`writev`: one buffer, `struct iovec`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Iovec {
    /// Where the buffer starts.
    pub iov_base: u64,
    /// Its length.
    pub iov_len: u64,
}

const _: () = assert!(core::mem::size_of::<Iovec>() == 16 && core::mem::offset_of!(Iovec, iov_len) == 8);

/// `readv`/`writev`: the most buffers one call takes (`UIO_MAXIOV`).
pub const UIO_MAXIOV: usize = 1024;
/// `ioctl`: not a terminal (the default answer).
pub const TCGETS: u32 = 0x5401;
/// `statx` mask bit reserved for future extension: `EINVAL`.
pub const STATX_RESERVED: u32 = 0x8000_0000;
