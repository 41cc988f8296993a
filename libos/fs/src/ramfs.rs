//! A file system in memory: directories, regular files in 4 KiB chunks
//! (holes take no memory), symbolic links, hard links, modes and time
//! stamps, under a byte limit (`fs.ram=SIZE`).
//!
//! **The limit** counts what the file system allocates: every inode
//! ([`NODE_COST`] plus a symlink's target), every directory entry
//! ([`ENTRY_COST`] plus twice its name, as it is indexed by name and by
//! position) and every data chunk ([`CHUNK`] bytes however little of it is
//! used). A call that would pass the limit fails with `ENOSPC` before it
//! changes anything, except `write`, which writes what fits and returns the
//! short count, as Linux's tmpfs does; files already there are untouched.
//!
//! **Built from a cpio archive** ([`RamFs::from_cpio`]) the files are
//! copy-on-write over the archive's bytes: a file's data stays in the
//! archive (the boot module, which the kernel keeps mapped) until a chunk of
//! it is written, and only written chunks are copied and counted. Measured
//! (`tests/cpio_build_cost.rs`, a 10.2 MB archive of 2,500 files in 50
//! folders, made by GNU cpio), copy-on-write allocates 1.1 MB in all (inodes
//! and entries; 0.6 MB counted against the limit) and takes 3.4 ms (release
//! build, host); unpacking allocates 17.3 MB (15.9 MB counted: every file
//! rounded up to 4 KiB chunks) and takes 13.8 ms, and the archive's memory
//! is needed until the copy is done. [`RamFs::from_cpio_copied`] unpacks,
//! for archives that do not live for ever.
//!
//! Inode numbers are never reused, so a stale number held by a caller can
//! only miss (`ENOENT`), never reach another file.

use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;

use libos_abi::abi_types::Timespec;
use libos_abi::errno::Errno;
use libos_abi::fs_types::{
    DT_DIR, MAXSYMLINKS, PATH_MAX, RAMFS_MAGIC, RENAME_EXCHANGE, RENAME_NOREPLACE, S_IALLUGO, S_IFDIR, S_IFLNK, S_IFMT,
    S_IFREG, mode_to_dtype,
};

use crate::cpio::{self, CpioError};
use crate::filesystem::{
    Attr, Clock, DirEntry, DirSink, FileSystem, FileType, FsStats, Ino, SetAttr, SetTime, check_name,
};

/// The size of a data chunk.
pub const CHUNK: usize = 4096;
/// What an inode is counted as, in bytes (its bookkeeping).
pub const NODE_COST: u64 = 160;
/// What a directory entry is counted as, in bytes, besides its name.
pub const ENTRY_COST: u64 = 64;
/// The most hard links a file may have (ext2's `EXT2_LINK_MAX`).
pub const LINK_MAX: u32 = 65_000;
/// The largest file, in bytes (Linux's `MAX_LFS_FILESIZE`).
pub const MAX_FILE_SIZE: u64 = i64::MAX as u64;
/// The root directory's inode number.
pub const ROOT_INO: Ino = 1;

const _: () = assert!(MAXSYMLINKS == 40);

/// Parses the size of the `fs.ram=SIZE` boot option as Linux's `memparse`
/// does (`lib/cmdline.c`): a decimal, `0x` hex or `0` octal number and an
/// optional binary suffix `K`, `M`, `G`, `T`, `P` or `E` (either case).
/// `None` for anything else or an overflow.
pub fn parse_size(text: &str) -> Option<u64> {
    let (digits, shift) = match text.as_bytes().last()? {
        b'k' | b'K' => (&text[..text.len() - 1], 10),
        b'm' | b'M' => (&text[..text.len() - 1], 20),
        b'g' | b'G' => (&text[..text.len() - 1], 30),
        b't' | b'T' => (&text[..text.len() - 1], 40),
        b'p' | b'P' => (&text[..text.len() - 1], 50),
        b'e' | b'E' => (&text[..text.len() - 1], 60),
        _ => (text, 0),
    };
    let value = if let Some(hex) = digits.strip_prefix("0x").or_else(|| digits.strip_prefix("0X")) {
        u64::from_str_radix(hex, 16).ok()?
    } else if digits.len() > 1 && digits.starts_with('0') {
        u64::from_str_radix(&digits[1..], 8).ok()?
    } else {
        digits.parse::<u64>().ok()?
    };
    if digits.starts_with('+') || digits.starts_with('-') {
        return None;
    }
    value.checked_mul(1u64 << shift)
}

/// A regular file's contents.
struct FileData {
    size: u64,
    /// The bytes the file started with (in the cpio archive); chunks not in
    /// `chunks` read from here, then as zeros.
    base: &'static [u8],
    /// The chunks written since, by index.
    chunks: BTreeMap<u64, Vec<u8>>,
}

/// A directory's entries, indexed by name and by position (the `readdir`
/// cursor, so a cursor stays valid while entries come and go).
struct Dir {
    parent: Ino,
    by_name: BTreeMap<Vec<u8>, u64>,
    by_pos: BTreeMap<u64, (Vec<u8>, Ino)>,
    next_pos: u64,
}

/// Cursors 0 and 1 are `.` and `..`; entries start here.
const FIRST_POS: u64 = 2;

enum Body {
    Dir(Dir),
    File(FileData),
    Symlink(Vec<u8>),
    /// A device, FIFO or socket from the archive: kept, not served.
    Other,
}

struct Node {
    mode: u32,
    nlink: u32,
    uid: u32,
    gid: u32,
    rdev: u64,
    atime: Timespec,
    mtime: Timespec,
    ctime: Timespec,
    pins: u32,
    body: Body,
}

impl Node {
    fn cost(&self) -> u64 {
        NODE_COST
            + match &self.body {
                Body::Symlink(t) => t.len() as u64,
                _ => 0,
            }
    }
}

/// The byte budget.
struct Space {
    used: u64,
    limit: u64,
}

impl Space {
    fn charge(&mut self, n: u64) -> Result<(), Errno> {
        match self.used.checked_add(n) {
            Some(total) if total <= self.limit => {
                self.used = total;
                Ok(())
            }
            _ => Err(Errno::ENOSPC),
        }
    }

    fn release(&mut self, n: u64) {
        debug_assert!(n <= self.used, "ramfs: releasing more than was charged");
        self.used = self.used.saturating_sub(n);
    }
}

fn entry_cost(name: &[u8]) -> u64 {
    ENTRY_COST + 2 * name.len() as u64
}

/// The RAM file system.
pub struct RamFs {
    nodes: BTreeMap<Ino, Node>,
    next_ino: Ino,
    space: Space,
    clock: Arc<dyn Clock>,
}

impl RamFs {
    /// An empty file system (a root directory with mode 0755 owned by root)
    /// that holds at most `limit` bytes.
    pub fn new(limit: u64, clock: Arc<dyn Clock>) -> Result<RamFs, Errno> {
        let mut fs = RamFs { nodes: BTreeMap::new(), next_ino: ROOT_INO, space: Space { used: 0, limit }, clock };
        let root = fs.new_node(S_IFDIR | 0o755, 0, 0, Body::Dir(Dir::new(ROOT_INO)))?;
        debug_assert_eq!(root, ROOT_INO);
        fs.node_mut(root)?.nlink = 2;
        Ok(fs)
    }

    /// A file system holding the files of a cpio `newc` archive,
    /// copy-on-write over the archive's bytes (see the module doc).
    pub fn from_cpio(archive: &'static [u8], limit: u64, clock: Arc<dyn Clock>) -> Result<RamFs, CpioLoadError> {
        let mut fs = RamFs::new(limit, clock).map_err(CpioLoadError::Fs)?;
        fs.load_cpio(archive, Content::Borrowed)?;
        Ok(fs)
    }

    /// As [`RamFs::from_cpio`], but every file's bytes are copied (and
    /// counted against the limit), so `archive` may go away afterwards.
    pub fn from_cpio_copied(archive: &[u8], limit: u64, clock: Arc<dyn Clock>) -> Result<RamFs, CpioLoadError> {
        let mut fs = RamFs::new(limit, clock).map_err(CpioLoadError::Fs)?;
        fs.load_cpio(archive, Content::Copied)?;
        Ok(fs)
    }

    /// The bytes counted against the limit now.
    pub fn used_bytes(&self) -> u64 {
        self.space.used
    }

    /// The limit, in bytes.
    pub fn limit_bytes(&self) -> u64 {
        self.space.limit
    }

    /// Inodes alive (linked or pinned).
    pub fn inode_count(&self) -> usize {
        self.nodes.len()
    }

    /// Recomputes what the limit should count from scratch, for consistency
    /// checks: it must equal [`RamFs::used_bytes`].
    pub fn recount_bytes(&self) -> u64 {
        let mut total = 0;
        for node in self.nodes.values() {
            total += node.cost();
            match &node.body {
                Body::Dir(d) => total += d.by_name.keys().map(|n| entry_cost(n)).sum::<u64>(),
                Body::File(f) => total += f.chunks.len() as u64 * CHUNK as u64,
                _ => {}
            }
        }
        total
    }

    fn load_cpio<'a>(
        &mut self,
        archive: &'a [u8],
        content: impl Fn(&'a [u8]) -> Content<'a>,
    ) -> Result<(), CpioLoadError> {
        // Hard links: (dev, ino) of the archive to our inode.
        let mut links: BTreeMap<(u32, u32, u32), Ino> = BTreeMap::new();
        // Directory times are set at the end, after their entries were
        // added (as Linux's `init/initramfs.c` does with `dir_utime`).
        let mut dir_times: Vec<(Ino, u32)> = Vec::new();
        let root = ROOT_INO;
        for entry in cpio::Reader::new(archive) {
            let entry = entry.map_err(CpioLoadError::Archive)?;
            let path = entry.path();
            let fail = |e| CpioLoadError::Entry { offset: entry.offset, errno: e };
            let mtime = Timespec::new(i64::from(entry.mtime), 0);
            if path.is_empty() {
                // The root itself.
                let node = self.node_mut(root).map_err(fail)?;
                node.mode = S_IFDIR | (entry.mode & S_IALLUGO);
                node.uid = entry.uid;
                node.gid = entry.gid;
                dir_times.push((root, entry.mtime));
                continue;
            }
            let (parent, name) = self.make_parents(root, path).map_err(fail)?;
            check_name(name, libos_abi::fs_types::NAME_MAX).map_err(fail)?;
            let kind = FileType::from_mode(entry.mode);
            // An existing entry: a directory stays (its attributes change);
            // anything else is replaced, as Linux's `clean_path` does.
            if let Ok(old) = self.lookup(parent, name) {
                let old_is_dir = self.node(old).map_err(fail)?.mode & S_IFMT == S_IFDIR;
                if old_is_dir && kind == FileType::Directory {
                    let node = self.node_mut(old).map_err(fail)?;
                    node.mode = S_IFDIR | (entry.mode & S_IALLUGO);
                    node.uid = entry.uid;
                    node.gid = entry.gid;
                    dir_times.push((old, entry.mtime));
                    continue;
                }
                if old_is_dir { self.rmdir_recursive(parent, name) } else { self.unlink(parent, name) }
                    .map_err(fail)?;
            }
            let key = (entry.dev_major, entry.dev_minor, entry.ino);
            let ino = match kind {
                FileType::Directory => {
                    let ino = self.mkdir(parent, name, entry.mode & S_IALLUGO, entry.uid, entry.gid).map_err(fail)?;
                    dir_times.push((ino, entry.mtime));
                    ino
                }
                FileType::Symlink => {
                    if entry.data.is_empty() || entry.data.len() >= PATH_MAX || entry.data.contains(&0) {
                        return Err(fail(Errno::EINVAL));
                    }
                    self.symlink(parent, name, entry.data, entry.uid, entry.gid).map_err(fail)?
                }
                FileType::Regular => {
                    let existing = if entry.nlink > 1 { links.get(&key).copied() } else { None };
                    let ino = match existing {
                        Some(ino) => {
                            self.link(ino, parent, name).map_err(fail)?;
                            ino
                        }
                        None => {
                            let ino = self
                                .create(parent, name, entry.mode & S_IALLUGO, entry.uid, entry.gid)
                                .map_err(fail)?;
                            if entry.nlink > 1 {
                                links.insert(key, ino);
                            }
                            ino
                        }
                    };
                    // GNU cpio puts a hard-linked file's data with its last
                    // name; the others have none.
                    if !entry.data.is_empty() {
                        self.set_initial_data(ino, content(entry.data)).map_err(fail)?;
                    }
                    ino
                }
                FileType::Other => {
                    let rdev = (u64::from(entry.rdev_major) << 8) | u64::from(entry.rdev_minor);
                    let ino = self.new_node(entry.mode, entry.uid, entry.gid, Body::Other).map_err(fail)?;
                    if let Err(e) = self.add_entry(parent, name, ino) {
                        self.free_node(ino);
                        return Err(fail(e));
                    }
                    let node = self.node_mut(ino).map_err(fail)?;
                    node.nlink = 1;
                    node.rdev = rdev;
                    ino
                }
            };
            let node = self.node_mut(ino).map_err(fail)?;
            node.atime = mtime;
            node.mtime = mtime;
        }
        for (ino, mtime) in dir_times {
            if let Ok(node) = self.node_mut(ino) {
                node.atime = Timespec::new(i64::from(mtime), 0);
                node.mtime = node.atime;
            }
        }
        Ok(())
    }

    /// Finds (making missing ones, mode 0755) the directories above `path`;
    /// returns the parent and the last component.
    fn make_parents<'p>(&mut self, root: Ino, path: &'p [u8]) -> Result<(Ino, &'p [u8]), Errno> {
        let mut parts = path.split(|&c| c == b'/').filter(|p| !p.is_empty() && *p != b".").peekable();
        let mut dir = root;
        while let Some(part) = parts.next() {
            if parts.peek().is_none() {
                return Ok((dir, part));
            }
            if part == b".." {
                return Err(Errno::EINVAL);
            }
            dir = match self.lookup(dir, part) {
                Ok(ino) if self.node(ino)?.mode & S_IFMT == S_IFDIR => ino,
                Ok(_) => return Err(Errno::ENOTDIR),
                Err(Errno::ENOENT) => self.mkdir(dir, part, 0o755, 0, 0)?,
                Err(e) => return Err(e),
            };
        }
        Err(Errno::EINVAL)
    }

    fn rmdir_recursive(&mut self, dir: Ino, name: &[u8]) -> Result<(), Errno> {
        let ino = self.lookup(dir, name)?;
        let children: Vec<(Vec<u8>, Ino)> = match &self.node(ino)?.body {
            Body::Dir(d) => d.by_pos.values().cloned().collect(),
            _ => return self.unlink(dir, name),
        };
        for (child, child_ino) in children {
            if self.node(child_ino)?.mode & S_IFMT == S_IFDIR {
                self.rmdir_recursive(ino, &child)?;
            } else {
                self.unlink(ino, &child)?;
            }
        }
        self.rmdir(dir, name)
    }

    fn set_initial_data(&mut self, ino: Ino, content: Content<'_>) -> Result<(), Errno> {
        match content {
            Content::Borrowed(data) => {
                let node = self.node_mut(ino)?;
                let Body::File(f) = &mut node.body else { return Err(Errno::EINVAL) };
                f.base = data;
                f.size = data.len() as u64;
                Ok(())
            }
            Content::Copied(data) => {
                self.truncate(ino, 0)?;
                let n = self.write(ino, 0, data)?;
                if n != data.len() { Err(Errno::ENOSPC) } else { Ok(()) }
            }
        }
    }

    fn now(&self) -> Timespec {
        self.clock.now()
    }

    fn node(&self, ino: Ino) -> Result<&Node, Errno> {
        self.nodes.get(&ino).ok_or(Errno::ENOENT)
    }

    fn node_mut(&mut self, ino: Ino) -> Result<&mut Node, Errno> {
        self.nodes.get_mut(&ino).ok_or(Errno::ENOENT)
    }

    fn dir(&self, ino: Ino) -> Result<&Dir, Errno> {
        match &self.node(ino)?.body {
            Body::Dir(d) => Ok(d),
            _ => Err(Errno::ENOTDIR),
        }
    }

    fn dir_mut(&mut self, ino: Ino) -> Result<&mut Dir, Errno> {
        match &mut self.node_mut(ino)?.body {
            Body::Dir(d) => Ok(d),
            _ => Err(Errno::ENOTDIR),
        }
    }

    /// A directory one may add entries to: exists, is a directory, and was
    /// not removed (Linux's `IS_DEADDIR` gives `ENOENT`).
    fn live_dir(&self, ino: Ino) -> Result<&Dir, Errno> {
        let d = self.dir(ino)?;
        if self.node(ino)?.nlink == 0 {
            return Err(Errno::ENOENT);
        }
        Ok(d)
    }

    fn new_node(&mut self, mode: u32, uid: u32, gid: u32, body: Body) -> Result<Ino, Errno> {
        let now = self.now();
        let node = Node { mode, nlink: 0, uid, gid, rdev: 0, atime: now, mtime: now, ctime: now, pins: 0, body };
        self.space.charge(node.cost())?;
        let ino = self.next_ino;
        self.next_ino += 1;
        self.nodes.insert(ino, node);
        Ok(ino)
    }

    fn free_node(&mut self, ino: Ino) {
        if let Some(node) = self.nodes.remove(&ino) {
            let mut freed = node.cost();
            match &node.body {
                Body::File(f) => freed += f.chunks.len() as u64 * CHUNK as u64,
                Body::Dir(d) => debug_assert!(d.by_name.is_empty(), "ramfs: freeing a directory with entries"),
                _ => {}
            }
            self.space.release(freed);
        }
    }

    /// Frees `ino` if nothing refers to it any more.
    fn maybe_free(&mut self, ino: Ino) {
        if let Some(node) = self.nodes.get(&ino)
            && node.nlink == 0
            && node.pins == 0
        {
            self.free_node(ino);
        }
    }

    /// Adds `name` → `ino` to `dir` (charged), touching `dir`'s times.
    fn add_entry(&mut self, dir: Ino, name: &[u8], ino: Ino) -> Result<(), Errno> {
        let d = self.live_dir(dir)?;
        if d.by_name.contains_key(name) {
            return Err(Errno::EEXIST);
        }
        self.space.charge(entry_cost(name))?;
        let now = self.now();
        let d = self.dir_mut(dir)?;
        let pos = d.next_pos;
        d.next_pos += 1;
        d.by_name.insert(name.to_vec(), pos);
        d.by_pos.insert(pos, (name.to_vec(), ino));
        let node = self.node_mut(dir)?;
        node.mtime = now;
        node.ctime = now;
        Ok(())
    }

    /// Removes `name` from `dir`; returns the inode it named.
    fn remove_entry(&mut self, dir: Ino, name: &[u8]) -> Result<Ino, Errno> {
        let now = self.now();
        let d = self.dir_mut(dir)?;
        let pos = d.by_name.remove(name).ok_or(Errno::ENOENT)?;
        let (_, ino) = d.by_pos.remove(&pos).ok_or(Errno::EIO)?;
        self.space.release(entry_cost(name));
        let node = self.node_mut(dir)?;
        node.mtime = now;
        node.ctime = now;
        Ok(ino)
    }

    /// Points the existing entry `name` of `dir` at `ino` (same position).
    fn retarget_entry(&mut self, dir: Ino, name: &[u8], ino: Ino) -> Result<(), Errno> {
        let now = self.now();
        let d = self.dir_mut(dir)?;
        let pos = *d.by_name.get(name).ok_or(Errno::ENOENT)?;
        d.by_pos.get_mut(&pos).ok_or(Errno::EIO)?.1 = ino;
        let node = self.node_mut(dir)?;
        node.mtime = now;
        node.ctime = now;
        Ok(())
    }

    fn is_dir(&self, ino: Ino) -> Result<bool, Errno> {
        Ok(self.node(ino)?.mode & S_IFMT == S_IFDIR)
    }

    /// Whether `ino` is `ancestor` or lies below it.
    fn is_within(&self, mut ino: Ino, ancestor: Ino) -> Result<bool, Errno> {
        loop {
            if ino == ancestor {
                return Ok(true);
            }
            let parent = self.dir(ino)?.parent;
            if parent == ino {
                return Ok(false);
            }
            ino = parent;
        }
    }

    fn make(&mut self, dir: Ino, name: &[u8], mode: u32, uid: u32, gid: u32, body: Body) -> Result<Ino, Errno> {
        check_name(name, self.name_max())?;
        let d = self.live_dir(dir)?;
        if d.by_name.contains_key(name) {
            return Err(Errno::EEXIST);
        }
        let is_dir = matches!(body, Body::Dir(_));
        let ino = self.new_node(mode, uid, gid, body)?;
        if let Err(e) = self.add_entry(dir, name, ino) {
            self.free_node(ino);
            return Err(e);
        }
        if is_dir {
            self.node_mut(ino)?.nlink = 2;
            self.node_mut(dir)?.nlink += 1;
        } else {
            self.node_mut(ino)?.nlink = 1;
        }
        Ok(ino)
    }

    /// Drops one link of `ino` (a name of it went); frees it when it was the
    /// last and it is not pinned.
    fn drop_link(&mut self, ino: Ino) -> Result<(), Errno> {
        let now = self.now();
        let node = self.node_mut(ino)?;
        node.nlink = node.nlink.saturating_sub(1);
        node.ctime = now;
        self.maybe_free(ino);
        Ok(())
    }

    /// Drops a directory that lost its name (it was empty): its `.` link
    /// and the parent's `..` link go too.
    fn drop_dir(&mut self, parent: Ino, ino: Ino) -> Result<(), Errno> {
        let now = self.now();
        let node = self.node_mut(ino)?;
        node.nlink = 0;
        node.ctime = now;
        let p = self.node_mut(parent)?;
        p.nlink = p.nlink.saturating_sub(1);
        self.maybe_free(ino);
        Ok(())
    }

    fn dir_is_empty(&self, ino: Ino) -> Result<bool, Errno> {
        Ok(self.dir(ino)?.by_name.is_empty())
    }

    fn file(&self, ino: Ino) -> Result<&FileData, Errno> {
        match &self.node(ino)?.body {
            Body::File(f) => Ok(f),
            Body::Dir(_) => Err(Errno::EISDIR),
            _ => Err(Errno::EINVAL),
        }
    }
}

/// Where a file's first bytes come from when the archive is loaded.
enum Content<'a> {
    Borrowed(&'static [u8]),
    Copied(&'a [u8]),
}

/// Why [`RamFs::from_cpio`] failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CpioLoadError {
    /// The archive is malformed.
    Archive(CpioError),
    /// A member could not be added (e.g. `ENOSPC`, or a file in the place of
    /// a directory: `ENOTDIR`).
    Entry {
        /// The member's offset.
        offset: usize,
        /// Why.
        errno: Errno,
    },
    /// The empty file system could not be made.
    Fs(Errno),
}

impl Dir {
    fn new(parent: Ino) -> Dir {
        Dir { parent, by_name: BTreeMap::new(), by_pos: BTreeMap::new(), next_pos: FIRST_POS }
    }
}

impl FileData {
    fn new() -> FileData {
        FileData { size: 0, base: &[], chunks: BTreeMap::new() }
    }

    fn read(&self, offset: u64, buf: &mut [u8]) -> usize {
        if offset >= self.size {
            return 0;
        }
        let n = buf.len().min((self.size - offset).min(usize::MAX as u64) as usize);
        let mut done = 0;
        while done < n {
            let pos = offset + done as u64;
            let index = pos / CHUNK as u64;
            let within = (pos % CHUNK as u64) as usize;
            let len = (CHUNK - within).min(n - done);
            let out = &mut buf[done..done + len];
            if let Some(chunk) = self.chunks.get(&index) {
                out.copy_from_slice(&chunk[within..within + len]);
            } else {
                // From the archive, then zeros (a hole or past its end).
                let start = (pos as usize).min(self.base.len());
                let end = (pos as usize + len).min(self.base.len());
                let from_base = end - start;
                out[..from_base].copy_from_slice(&self.base[start..end]);
                out[from_base..].fill(0);
            }
            done += len;
        }
        n
    }

    /// The chunk at `index`, made (a copy of the archive's bytes, or zeros)
    /// if it was not there; `space` is charged for it.
    fn chunk_mut(&mut self, index: u64, space: &mut Space) -> Result<&mut Vec<u8>, Errno> {
        if !self.chunks.contains_key(&index) {
            space.charge(CHUNK as u64)?;
            let mut chunk = Vec::new();
            if chunk.try_reserve_exact(CHUNK).is_err() {
                space.release(CHUNK as u64);
                return Err(Errno::ENOSPC);
            }
            let start = (index as usize).saturating_mul(CHUNK).min(self.base.len());
            let end = start.saturating_add(CHUNK).min(self.base.len());
            chunk.extend_from_slice(&self.base[start..end]);
            chunk.resize(CHUNK, 0);
            self.chunks.insert(index, chunk);
        }
        self.chunks.get_mut(&index).ok_or(Errno::EIO)
    }

    fn write(&mut self, offset: u64, buf: &[u8], space: &mut Space) -> Result<usize, Errno> {
        let mut done = 0;
        while done < buf.len() {
            let pos = offset + done as u64;
            let index = pos / CHUNK as u64;
            let within = (pos % CHUNK as u64) as usize;
            let len = (CHUNK - within).min(buf.len() - done);
            let chunk = match self.chunk_mut(index, space) {
                Ok(c) => c,
                Err(e) if done == 0 => return Err(e),
                Err(_) => break,
            };
            chunk[within..within + len].copy_from_slice(&buf[done..done + len]);
            done += len;
        }
        self.size = self.size.max(offset + done as u64);
        Ok(done)
    }

    /// Allocates (zeroed) every chunk of `offset..end` not held yet,
    /// charging them all or none (`ENOSPC`).
    fn allocate(&mut self, offset: u64, end: u64, space: &mut Space) -> Result<(), Errno> {
        let first = offset / CHUNK as u64;
        let last = (end - 1) / CHUNK as u64;
        // The archive's chunks are held already (it is in memory).
        let base_chunks = (self.base.len() as u64).div_ceil(CHUNK as u64);
        let held = self.chunks.range(first..=last).filter(|&(&i, _)| i >= base_chunks).count() as u64
            + base_chunks.saturating_sub(first).min(last - first + 1);
        let needed = (last - first + 1) - held;
        if needed.checked_mul(CHUNK as u64).is_none_or(|bytes| space.used.saturating_add(bytes) > space.limit) {
            return Err(Errno::ENOSPC);
        }
        let mut added = Vec::new();
        for index in first..=last {
            if index < base_chunks || self.chunks.contains_key(&index) {
                continue;
            }
            let grown =
                added.try_reserve(1).map_err(|_| Errno::ENOSPC).and_then(|()| self.chunk_mut(index, space).map(|_| ()));
            if let Err(e) = grown {
                for i in added {
                    self.chunks.remove(&i);
                    space.release(CHUNK as u64);
                }
                return Err(e);
            }
            added.push(index);
        }
        Ok(())
    }

    fn truncate(&mut self, size: u64, space: &mut Space) {
        if size < self.size {
            let first_gone = size.div_ceil(CHUNK as u64);
            let gone: Vec<u64> = self.chunks.range(first_gone..).map(|(&i, _)| i).collect();
            for i in gone {
                self.chunks.remove(&i);
                space.release(CHUNK as u64);
            }
            // The rest of the last chunk must read as zeros if it grows again.
            let within = (size % CHUNK as u64) as usize;
            if within != 0
                && let Some(chunk) = self.chunks.get_mut(&(size / CHUNK as u64))
            {
                chunk[within..].fill(0);
            }
            if (size as usize) < self.base.len() {
                self.base = &self.base[..size as usize];
            }
        }
        self.size = size;
    }

    /// 512-byte units held: written chunks, and the archive's chunks not
    /// overwritten.
    fn blocks(&self) -> u64 {
        let base_chunks = (self.base.len() as u64).div_ceil(CHUNK as u64);
        let overwritten = self.chunks.range(..base_chunks).count() as u64;
        let base_blocks = if base_chunks == 0 {
            0
        } else {
            // The archive's bytes, in 512-byte units, less the overwritten
            // chunks.
            (self.base.len() as u64).div_ceil(512).saturating_sub(overwritten * (CHUNK as u64 / 512))
        };
        self.chunks.len() as u64 * (CHUNK as u64 / 512) + base_blocks
    }
}

impl FileSystem for RamFs {
    fn root(&self) -> Ino {
        ROOT_INO
    }

    fn lookup(&mut self, dir: Ino, name: &[u8]) -> Result<Ino, Errno> {
        let d = self.dir(dir)?;
        match name {
            b"." => Ok(dir),
            b".." => Ok(d.parent),
            _ => {
                if name.len() > self.name_max() {
                    return Err(Errno::ENAMETOOLONG);
                }
                let pos = d.by_name.get(name).ok_or(Errno::ENOENT)?;
                Ok(d.by_pos.get(pos).ok_or(Errno::EIO)?.1)
            }
        }
    }

    fn getattr(&mut self, ino: Ino) -> Result<Attr, Errno> {
        let node = self.node(ino)?;
        let (size, blocks) = match &node.body {
            Body::File(f) => (f.size, f.blocks()),
            Body::Symlink(t) => (t.len() as u64, 0),
            Body::Dir(d) => {
                // As tmpfs: a directory's size grows with its entries.
                let size = d.by_name.keys().map(|n| entry_cost(n)).sum::<u64>();
                (size, 0)
            }
            Body::Other => (0, 0),
        };
        Ok(Attr {
            ino,
            mode: node.mode,
            nlink: node.nlink,
            uid: node.uid,
            gid: node.gid,
            size,
            blocks,
            blksize: CHUNK as u32,
            rdev: node.rdev,
            atime: node.atime,
            mtime: node.mtime,
            ctime: node.ctime,
        })
    }

    fn setattr(&mut self, ino: Ino, set: &SetAttr) -> Result<Attr, Errno> {
        let now = self.now();
        let resolve = |t: SetTime| match t {
            SetTime::Now => now,
            SetTime::At(t) => t,
        };
        let node = self.node_mut(ino)?;
        if let Some(mode) = set.mode {
            node.mode = (node.mode & S_IFMT) | (mode & S_IALLUGO);
        }
        if let Some(uid) = set.uid {
            node.uid = uid;
        }
        if let Some(gid) = set.gid {
            node.gid = gid;
        }
        if let Some(t) = set.atime {
            node.atime = resolve(t);
        }
        if let Some(t) = set.mtime {
            node.mtime = resolve(t);
        }
        node.ctime = now;
        self.getattr(ino)
    }

    fn create(&mut self, dir: Ino, name: &[u8], mode: u32, uid: u32, gid: u32) -> Result<Ino, Errno> {
        self.make(dir, name, S_IFREG | (mode & S_IALLUGO), uid, gid, Body::File(FileData::new()))
    }

    fn mkdir(&mut self, dir: Ino, name: &[u8], mode: u32, uid: u32, gid: u32) -> Result<Ino, Errno> {
        self.make(dir, name, S_IFDIR | (mode & S_IALLUGO), uid, gid, Body::Dir(Dir::new(dir)))
    }

    fn symlink(&mut self, dir: Ino, name: &[u8], target: &[u8], uid: u32, gid: u32) -> Result<Ino, Errno> {
        if target.is_empty() {
            return Err(Errno::ENOENT);
        }
        if target.len() >= PATH_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        let mut body = Vec::new();
        body.try_reserve_exact(target.len()).map_err(|_| Errno::ENOSPC)?;
        body.extend_from_slice(target);
        self.make(dir, name, S_IFLNK | 0o777, uid, gid, Body::Symlink(body))
    }

    fn link(&mut self, ino: Ino, dir: Ino, name: &[u8]) -> Result<(), Errno> {
        check_name(name, self.name_max())?;
        let node = self.node(ino)?;
        if node.mode & S_IFMT == S_IFDIR {
            return Err(Errno::EPERM);
        }
        if node.nlink == 0 {
            // Linux: linking an unlinked (open) file gives ENOENT unless it
            // is O_TMPFILE.
            return Err(Errno::ENOENT);
        }
        if node.nlink >= LINK_MAX {
            return Err(Errno::EMLINK);
        }
        self.add_entry(dir, name, ino)?;
        let now = self.now();
        let node = self.node_mut(ino)?;
        node.nlink += 1;
        node.ctime = now;
        Ok(())
    }

    fn unlink(&mut self, dir: Ino, name: &[u8]) -> Result<(), Errno> {
        check_name(name, self.name_max())?;
        let ino = self.lookup(dir, name)?;
        if self.is_dir(ino)? {
            return Err(Errno::EISDIR);
        }
        self.remove_entry(dir, name)?;
        self.drop_link(ino)
    }

    fn rmdir(&mut self, dir: Ino, name: &[u8]) -> Result<(), Errno> {
        if name == b"." {
            return Err(Errno::EINVAL);
        }
        if name == b".." {
            return Err(Errno::ENOTEMPTY);
        }
        check_name(name, self.name_max())?;
        let ino = self.lookup(dir, name)?;
        if !self.is_dir(ino)? {
            return Err(Errno::ENOTDIR);
        }
        if !self.dir_is_empty(ino)? {
            return Err(Errno::ENOTEMPTY);
        }
        self.remove_entry(dir, name)?;
        self.drop_dir(dir, ino)
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
        self.live_dir(new_dir)?;
        let ino = self.lookup(old_dir, old_name)?;
        let target = match self.lookup(new_dir, new_name) {
            Ok(t) => Some(t),
            Err(Errno::ENOENT) => None,
            Err(e) => return Err(e),
        };
        let ino_is_dir = self.is_dir(ino)?;
        let now = self.now();
        if flags & RENAME_EXCHANGE != 0 {
            let target = target.ok_or(Errno::ENOENT)?;
            if target == ino {
                return Ok(());
            }
            let target_is_dir = self.is_dir(target)?;
            // Neither may move below itself.
            if ino_is_dir && self.is_within(new_dir, ino)? || target_is_dir && self.is_within(old_dir, target)? {
                return Err(Errno::EINVAL);
            }
            self.retarget_entry(old_dir, old_name, target)?;
            self.retarget_entry(new_dir, new_name, ino)?;
            if old_dir != new_dir && ino_is_dir != target_is_dir {
                // A directory changed parents one way: the `..` links move.
                let (gains, loses) = if ino_is_dir { (new_dir, old_dir) } else { (old_dir, new_dir) };
                self.node_mut(gains)?.nlink += 1;
                self.node_mut(loses)?.nlink -= 1;
            }
            if ino_is_dir {
                self.dir_mut(ino)?.parent = new_dir;
            }
            if target_is_dir {
                self.dir_mut(target)?.parent = old_dir;
            }
            self.node_mut(ino)?.ctime = now;
            self.node_mut(target)?.ctime = now;
            return Ok(());
        }
        if let Some(target) = target {
            if flags & RENAME_NOREPLACE != 0 {
                return Err(Errno::EEXIST);
            }
            if target == ino {
                // Two names of one file: Linux does nothing.
                return Ok(());
            }
            let target_is_dir = self.is_dir(target)?;
            match (ino_is_dir, target_is_dir) {
                (true, false) => return Err(Errno::ENOTDIR),
                (false, true) => return Err(Errno::EISDIR),
                (true, true) if !self.dir_is_empty(target)? => return Err(Errno::ENOTEMPTY),
                _ => {}
            }
        }
        if ino_is_dir && self.is_within(new_dir, ino)? {
            return Err(Errno::EINVAL);
        }
        match target {
            Some(target) => {
                // The new name now names `ino`; the old target loses it.
                self.retarget_entry(new_dir, new_name, ino)?;
                self.remove_entry(old_dir, old_name)?;
                if self.is_dir(target)? {
                    self.drop_dir(new_dir, target)?;
                } else {
                    self.drop_link(target)?;
                }
            }
            None => {
                self.add_entry(new_dir, new_name, ino)?;
                self.remove_entry(old_dir, old_name)?;
            }
        }
        if ino_is_dir && old_dir != new_dir {
            self.dir_mut(ino)?.parent = new_dir;
            self.node_mut(new_dir)?.nlink += 1;
            self.node_mut(old_dir)?.nlink -= 1;
        }
        self.node_mut(ino)?.ctime = now;
        Ok(())
    }

    fn readlink(&mut self, ino: Ino) -> Result<Vec<u8>, Errno> {
        match &self.node(ino)?.body {
            Body::Symlink(t) => Ok(t.clone()),
            _ => Err(Errno::EINVAL),
        }
    }

    fn read(&mut self, ino: Ino, offset: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        Ok(self.file(ino)?.read(offset, buf))
    }

    fn write(&mut self, ino: Ino, offset: u64, buf: &[u8]) -> Result<usize, Errno> {
        self.file(ino)?;
        if offset > MAX_FILE_SIZE {
            return Err(Errno::EINVAL);
        }
        let room = MAX_FILE_SIZE - offset;
        if room == 0 && !buf.is_empty() {
            return Err(Errno::EFBIG);
        }
        let buf = &buf[..buf.len().min(room.min(usize::MAX as u64) as usize)];
        if buf.is_empty() {
            return Ok(0);
        }
        let now = self.now();
        let RamFs { nodes, space, .. } = self;
        let node = nodes.get_mut(&ino).ok_or(Errno::ENOENT)?;
        let Body::File(f) = &mut node.body else { return Err(Errno::EINVAL) };
        let n = f.write(offset, buf, space)?;
        node.mtime = now;
        node.ctime = now;
        Ok(n)
    }

    fn truncate(&mut self, ino: Ino, size: u64) -> Result<(), Errno> {
        self.file(ino)?;
        if size > MAX_FILE_SIZE {
            return Err(Errno::EFBIG);
        }
        let now = self.now();
        let RamFs { nodes, space, .. } = self;
        let node = nodes.get_mut(&ino).ok_or(Errno::ENOENT)?;
        let Body::File(f) = &mut node.body else { return Err(Errno::EINVAL) };
        f.truncate(size, space);
        node.mtime = now;
        node.ctime = now;
        Ok(())
    }

    /// Chunks for the whole range, charged against the limit (all or
    /// none); with `keep_size` they may lie past the end, where a later
    /// write finds them (a truncation drops them, as Linux's shmem does).
    fn allocate(&mut self, ino: Ino, offset: u64, len: u64, keep_size: bool) -> Result<(), Errno> {
        self.file(ino)?;
        let end = offset.checked_add(len).filter(|&e| e <= MAX_FILE_SIZE).ok_or(Errno::EFBIG)?;
        let now = self.now();
        let RamFs { nodes, space, .. } = self;
        let node = nodes.get_mut(&ino).ok_or(Errno::ENOENT)?;
        let Body::File(f) = &mut node.body else { return Err(Errno::EINVAL) };
        f.allocate(offset, end, space)?;
        if !keep_size && end > f.size {
            f.size = end;
            node.mtime = now;
        }
        node.ctime = now;
        Ok(())
    }

    fn readdir(&mut self, dir: Ino, cursor: u64, sink: &mut DirSink<'_>) -> Result<u64, Errno> {
        let d = self.dir(dir)?;
        let mut cursor = cursor;
        if cursor == 0 {
            if !sink(DirEntry { ino: dir, d_type: DT_DIR, name: b".", next: 1 }) {
                return Ok(0);
            }
            cursor = 1;
        }
        if cursor == 1 {
            if !sink(DirEntry { ino: d.parent, d_type: DT_DIR, name: b"..", next: FIRST_POS }) {
                return Ok(1);
            }
            cursor = FIRST_POS;
        }
        for (&pos, (name, ino)) in d.by_pos.range(cursor..) {
            let d_type = self.nodes.get(ino).map_or(0, |n| mode_to_dtype(n.mode));
            if !sink(DirEntry { ino: *ino, d_type, name, next: pos + 1 }) {
                return Ok(pos);
            }
            cursor = pos + 1;
        }
        Ok(cursor.max(d.next_pos))
    }

    fn statfs(&mut self) -> Result<FsStats, Errno> {
        let block = CHUNK as u64;
        let blocks = self.space.limit / block;
        let free = (self.space.limit - self.space.used) / block;
        Ok(FsStats {
            magic: RAMFS_MAGIC,
            block_size: CHUNK as u32,
            blocks,
            blocks_free: free,
            blocks_avail: free,
            files: self.space.limit / NODE_COST,
            files_free: (self.space.limit - self.space.used) / NODE_COST,
            name_max: libos_abi::fs_types::NAME_MAX as u32,
        })
    }

    fn sync(&mut self) -> Result<(), Errno> {
        Ok(())
    }

    fn pin(&mut self, ino: Ino) -> Result<(), Errno> {
        let node = self.node_mut(ino)?;
        node.pins = node.pins.checked_add(1).ok_or(Errno::ENFILE)?;
        Ok(())
    }

    fn unpin(&mut self, ino: Ino) -> Result<(), Errno> {
        let node = self.node_mut(ino)?;
        node.pins = node.pins.checked_sub(1).ok_or(Errno::EINVAL)?;
        self.maybe_free(ino);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_parse_as_memparse_does() {
        assert_eq!(parse_size("4096"), Some(4096));
        assert_eq!(parse_size("64M"), Some(64 << 20));
        assert_eq!(parse_size("64m"), Some(64 << 20));
        assert_eq!(parse_size("1G"), Some(1 << 30));
        assert_eq!(parse_size("512k"), Some(512 << 10));
        assert_eq!(parse_size("0x1000"), Some(4096));
        assert_eq!(parse_size("010"), Some(8));
        assert_eq!(parse_size("0"), Some(0));
        assert_eq!(parse_size("16E"), None);
        assert_eq!(parse_size(""), None);
        assert_eq!(parse_size("M"), None);
        assert_eq!(parse_size("-1"), None);
        assert_eq!(parse_size("+1"), None);
        assert_eq!(parse_size("12Q"), None);
        assert_eq!(parse_size("99999999999999999999"), None);
    }
}
