//! Files, shaped like `std::fs` so code moves over by changing the path:
//! [`File`], [`OpenOptions`], [`read`], [`read_to_string`], [`write()`],
//! [`read_dir`], [`create_dir`], [`create_dir_all`], [`remove_file`],
//! [`remove_dir`], [`remove_dir_all`], [`rename`], [`copy`],
//! [`metadata`], [`symlink_metadata`], [`hard_link`], [`read_link`],
//! [`set_permissions`]. They are the Linux file calls underneath.
//!
//! Paths are anything that is `AsRef<[u8]>` (`&str`, `String`, byte
//! strings): there is no `Path` type. Where files are: `/` is the
//! `--files` folder (writable, in memory), `/tmp` is in memory, and the
//! `--disk` image is at `fs.disk=PATH` (default `/data`).
//!
//! ```ignore
//! use libos::fs;
//! use libos::io::{BufRead, BufReader, Write};
//!
//! let config = fs::read_to_string("/etc/app.conf")?;
//! let mut log = fs::OpenOptions::new().append(true).create(true).open("/data/log")?;
//! writeln!(log, "started with {} bytes of config", config.len())?;
//! log.sync_all()?;
//! for line in BufReader::new(fs::File::open("/etc/hosts")?).lines() {
//!     libos::println!("{}", line?);
//! }
//! ```

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::time::Duration;

use libos_abi::fs_types::{
    AT_FDCWD, AT_REMOVEDIR, AT_SYMLINK_NOFOLLOW, DT_DIR, DT_LNK, DT_REG, DT_UNKNOWN, O_APPEND, O_CLOEXEC, O_CREAT,
    O_DIRECTORY, O_EXCL, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY, PATH_MAX, S_IFDIR, S_IFLNK, S_IFMT, S_IFREG, SEEK_CUR,
    SEEK_END, SEEK_SET, Stat,
};
use libos_abi::syscalls::user;

use crate::Errno;
use crate::io::{self, Error, ErrorKind, Read, Seek, SeekFrom, Write};
use crate::time::SystemTime;

/// A path as the calls take it: with a NUL (`InvalidInput` for a NUL
/// inside, as std says).
fn c_path(path: &[u8]) -> io::Result<Vec<u8>> {
    if path.contains(&0) {
        return Err(Error::new(ErrorKind::InvalidInput, "file name contained an unexpected NUL byte"));
    }
    let mut p = Vec::with_capacity(path.len() + 1);
    p.extend_from_slice(path);
    p.push(0);
    Ok(p)
}

/// An open file; closed when dropped.
#[derive(Debug)]
pub struct File {
    fd: i32,
}

impl File {
    /// Opens `path` for reading.
    pub fn open(path: impl AsRef<[u8]>) -> io::Result<File> {
        OpenOptions::new().read(true).open(path)
    }

    /// Opens `path` for writing, created or truncated.
    pub fn create(path: impl AsRef<[u8]>) -> io::Result<File> {
        OpenOptions::new().write(true).create(true).truncate(true).open(path)
    }

    /// Creates `path` for reading and writing; `AlreadyExists` if it is there.
    pub fn create_new(path: impl AsRef<[u8]>) -> io::Result<File> {
        OpenOptions::new().read(true).write(true).create_new(true).open(path)
    }

    /// The file descriptor.
    pub fn as_raw_fd(&self) -> i32 {
        self.fd
    }

    /// Its metadata (`fstat`).
    pub fn metadata(&self) -> io::Result<Metadata> {
        let mut st = Stat::default();
        // SAFETY: `st` is a writable `struct stat`.
        unsafe { user::fstat(self.fd, &mut st) }?;
        Ok(Metadata { st })
    }

    /// Sets its size (`ftruncate`).
    pub fn set_len(&self, size: u64) -> io::Result<()> {
        let size = i64::try_from(size).map_err(|_| Error::new(ErrorKind::InvalidInput, "size too large"))?;
        user::ftruncate(self.fd, size)?;
        Ok(())
    }

    /// Writes its data and metadata to stable storage (`fsync`).
    pub fn sync_all(&self) -> io::Result<()> {
        user::fsync(self.fd)?;
        Ok(())
    }

    /// Writes its data to stable storage (`fdatasync`).
    pub fn sync_data(&self) -> io::Result<()> {
        user::fdatasync(self.fd)?;
        Ok(())
    }

    /// Changes its permission bits (`fchmod`).
    pub fn set_permissions(&self, perm: Permissions) -> io::Result<()> {
        user::fchmod(self.fd, perm.0)?;
        Ok(())
    }
}

impl Drop for File {
    fn drop(&mut self) {
        // As std: an error of close is ignored.
        let _ = user::close(self.fd);
    }
}

impl Read for File {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&*self).read(buf)
    }
}

impl Read for &File {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // SAFETY: `buf` is writable for its length.
        Ok(unsafe { user::read(self.fd, buf.as_mut_ptr(), buf.len()) }?)
    }
}

impl Write for File {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&*self).write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Write for &File {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // SAFETY: `buf` is readable for its length.
        Ok(unsafe { user::write(self.fd, buf.as_ptr(), buf.len()) }?)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Seek for File {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        (&*self).seek(pos)
    }
}

impl Seek for &File {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let (offset, whence) = match pos {
            SeekFrom::Start(n) => (n as i64, SEEK_SET),
            SeekFrom::End(n) => (n, SEEK_END),
            SeekFrom::Current(n) => (n, SEEK_CUR),
        };
        Ok(user::lseek(self.fd, offset, whence)? as u64)
    }
}

/// How to open a file (`std::fs::OpenOptions`).
#[derive(Clone, Debug)]
pub struct OpenOptions {
    read: bool,
    write: bool,
    append: bool,
    truncate: bool,
    create: bool,
    create_new: bool,
    mode: u32,
}

impl Default for OpenOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl OpenOptions {
    /// Nothing set; mode 0o666 (before the umask).
    pub fn new() -> OpenOptions {
        OpenOptions {
            read: false,
            write: false,
            append: false,
            truncate: false,
            create: false,
            create_new: false,
            mode: 0o666,
        }
    }
    /// Open for reading.
    pub fn read(&mut self, on: bool) -> &mut Self {
        self.read = on;
        self
    }
    /// Open for writing.
    pub fn write(&mut self, on: bool) -> &mut Self {
        self.write = on;
        self
    }
    /// Every write goes to the end (implies writing).
    pub fn append(&mut self, on: bool) -> &mut Self {
        self.append = on;
        self
    }
    /// Empty the file when opened (needs writing).
    pub fn truncate(&mut self, on: bool) -> &mut Self {
        self.truncate = on;
        self
    }
    /// Create it if missing (needs writing).
    pub fn create(&mut self, on: bool) -> &mut Self {
        self.create = on;
        self
    }
    /// Create it; fail if it exists (needs writing).
    pub fn create_new(&mut self, on: bool) -> &mut Self {
        self.create_new = on;
        self
    }
    /// The permission bits of a created file (`OpenOptionsExt::mode`).
    pub fn mode(&mut self, mode: u32) -> &mut Self {
        self.mode = mode;
        self
    }

    /// The `open` flags, checked as std checks them.
    fn flags(&self) -> io::Result<i32> {
        let access = match (self.read, self.write || self.append) {
            (true, false) => O_RDONLY,
            (false, true) => O_WRONLY,
            (true, true) => O_RDWR,
            (false, false) => return Err(Errno::EINVAL.into()),
        };
        let writes = self.write || self.append;
        if !writes && (self.truncate || self.create || self.create_new) {
            return Err(Errno::EINVAL.into());
        }
        if self.append && self.truncate && !self.create_new {
            return Err(Errno::EINVAL.into());
        }
        let mut flags = access | O_CLOEXEC;
        if self.append {
            flags |= O_APPEND;
        }
        if self.truncate {
            flags |= O_TRUNC;
        }
        if self.create_new {
            flags |= O_CREAT | O_EXCL;
        } else if self.create {
            flags |= O_CREAT;
        }
        Ok(flags)
    }

    /// Opens `path` with these options.
    pub fn open(&self, path: impl AsRef<[u8]>) -> io::Result<File> {
        let p = c_path(path.as_ref())?;
        let flags = self.flags()?;
        // SAFETY: `p` is NUL-terminated.
        let fd = unsafe { user::openat(AT_FDCWD, p.as_ptr(), flags, self.mode) }?;
        Ok(File { fd })
    }
}

/// Permission bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Permissions(u32);

impl Permissions {
    /// The bits (`PermissionsExt::mode`).
    pub fn mode(&self) -> u32 {
        self.0
    }
    /// From bits (`PermissionsExt::from_mode`).
    pub fn from_mode(mode: u32) -> Permissions {
        Permissions(mode & 0o7777)
    }
    /// Whether no one may write.
    pub fn readonly(&self) -> bool {
        self.0 & 0o222 == 0
    }
}

/// A file's type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileType(u32);

impl FileType {
    /// A directory.
    pub fn is_dir(&self) -> bool {
        self.0 == S_IFDIR
    }
    /// A regular file.
    pub fn is_file(&self) -> bool {
        self.0 == S_IFREG
    }
    /// A symbolic link.
    pub fn is_symlink(&self) -> bool {
        self.0 == S_IFLNK
    }
}

/// What `stat` says about a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Metadata {
    st: Stat,
}

impl Metadata {
    /// Its type.
    pub fn file_type(&self) -> FileType {
        FileType(self.st.st_mode & S_IFMT)
    }
    /// A directory.
    pub fn is_dir(&self) -> bool {
        self.file_type().is_dir()
    }
    /// A regular file.
    pub fn is_file(&self) -> bool {
        self.file_type().is_file()
    }
    /// A symbolic link (only from [`symlink_metadata`]).
    pub fn is_symlink(&self) -> bool {
        self.file_type().is_symlink()
    }
    /// Size in bytes.
    pub fn len(&self) -> u64 {
        self.st.st_size as u64
    }
    /// Whether the size is 0.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Its permission bits.
    pub fn permissions(&self) -> Permissions {
        Permissions(self.st.st_mode & 0o7777)
    }
    /// Last modification.
    pub fn modified(&self) -> io::Result<SystemTime> {
        Ok(time_of(self.st.st_mtime, self.st.st_mtime_nsec))
    }
    /// Last access.
    pub fn accessed(&self) -> io::Result<SystemTime> {
        Ok(time_of(self.st.st_atime, self.st.st_atime_nsec))
    }
    /// The whole `struct stat` (`MetadataExt`).
    pub fn stat(&self) -> &Stat {
        &self.st
    }
    /// The inode number (`MetadataExt::ino`).
    pub fn ino(&self) -> u64 {
        self.st.st_ino
    }
    /// Hard links (`MetadataExt::nlink`).
    pub fn nlink(&self) -> u64 {
        self.st.st_nlink
    }
}

fn time_of(sec: i64, nsec: i64) -> SystemTime {
    crate::time::UNIX_EPOCH + Duration::new(sec.max(0) as u64, nsec.clamp(0, 999_999_999) as u32)
}

fn stat_path(path: &[u8], flags: i32) -> io::Result<Metadata> {
    let p = c_path(path)?;
    let mut st = Stat::default();
    // SAFETY: `p` is NUL-terminated, `st` a writable `struct stat`.
    unsafe { user::newfstatat(AT_FDCWD, p.as_ptr(), &mut st, flags) }?;
    Ok(Metadata { st })
}

/// The metadata of `path`, following symbolic links.
pub fn metadata(path: impl AsRef<[u8]>) -> io::Result<Metadata> {
    stat_path(path.as_ref(), 0)
}

/// The metadata of `path` itself (a symbolic link is not followed).
pub fn symlink_metadata(path: impl AsRef<[u8]>) -> io::Result<Metadata> {
    stat_path(path.as_ref(), AT_SYMLINK_NOFOLLOW)
}

/// Whether `path` exists (`Ok(false)` for `NotFound`, as std's `exists`).
pub fn exists(path: impl AsRef<[u8]>) -> io::Result<bool> {
    match metadata(path) {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// The whole file.
pub fn read(path: impl AsRef<[u8]>) -> io::Result<Vec<u8>> {
    let mut f = File::open(path)?;
    let size = f.metadata().map(|m| m.len() as usize).unwrap_or(0);
    let mut v = Vec::with_capacity(size);
    f.read_to_end(&mut v)?;
    Ok(v)
}

/// The whole file as UTF-8.
pub fn read_to_string(path: impl AsRef<[u8]>) -> io::Result<String> {
    let mut s = String::new();
    File::open(path)?.read_to_string(&mut s)?;
    Ok(s)
}

/// Makes `path` hold `contents` (created or truncated).
pub fn write(path: impl AsRef<[u8]>, contents: impl AsRef<[u8]>) -> io::Result<()> {
    File::create(path)?.write_all(contents.as_ref())
}

/// Makes the directory `path` (0o777 before the umask).
pub fn create_dir(path: impl AsRef<[u8]>) -> io::Result<()> {
    let p = c_path(path.as_ref())?;
    // SAFETY: `p` is NUL-terminated.
    unsafe { user::mkdirat(AT_FDCWD, p.as_ptr(), 0o777) }?;
    Ok(())
}

/// Makes `path` and every missing parent; fine if it exists as a directory.
pub fn create_dir_all(path: impl AsRef<[u8]>) -> io::Result<()> {
    let path = path.as_ref();
    if path.is_empty() {
        return Ok(());
    }
    match create_dir(path) {
        Ok(()) => return Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(_) if metadata(path).is_ok_and(|m| m.is_dir()) => return Ok(()),
        Err(e) => return Err(e),
    }
    let trimmed = trim_trailing_slashes(path);
    if let Some(slash) = trimmed.iter().rposition(|&b| b == b'/')
        && slash > 0
    {
        create_dir_all(&trimmed[..slash])?;
    }
    match create_dir(path) {
        Ok(()) => Ok(()),
        Err(_) if metadata(path).is_ok_and(|m| m.is_dir()) => Ok(()),
        Err(e) => Err(e),
    }
}

fn trim_trailing_slashes(path: &[u8]) -> &[u8] {
    let mut end = path.len();
    while end > 1 && path[end - 1] == b'/' {
        end -= 1;
    }
    &path[..end]
}

/// Removes the file (or symbolic link) `path`.
pub fn remove_file(path: impl AsRef<[u8]>) -> io::Result<()> {
    let p = c_path(path.as_ref())?;
    // SAFETY: `p` is NUL-terminated.
    unsafe { user::unlinkat(AT_FDCWD, p.as_ptr(), 0) }?;
    Ok(())
}

/// Removes the empty directory `path`.
pub fn remove_dir(path: impl AsRef<[u8]>) -> io::Result<()> {
    let p = c_path(path.as_ref())?;
    // SAFETY: `p` is NUL-terminated.
    unsafe { user::unlinkat(AT_FDCWD, p.as_ptr(), AT_REMOVEDIR) }?;
    Ok(())
}

/// Removes the directory `path` and everything in it (symbolic links are
/// removed, never followed).
pub fn remove_dir_all(path: impl AsRef<[u8]>) -> io::Result<()> {
    let path = path.as_ref();
    if !symlink_metadata(path)?.is_dir() {
        return Err(Errno::ENOTDIR.into());
    }
    for entry in read_dir(path)? {
        let entry = entry?;
        let child = entry.path_bytes();
        if entry.file_type()?.is_dir() {
            remove_dir_all(&child)?;
        } else {
            remove_file(&child)?;
        }
    }
    remove_dir(path)
}

/// Renames `from` to `to`, replacing `to` if it exists (and may be replaced).
pub fn rename(from: impl AsRef<[u8]>, to: impl AsRef<[u8]>) -> io::Result<()> {
    let (f, t) = (c_path(from.as_ref())?, c_path(to.as_ref())?);
    // SAFETY: both NUL-terminated.
    unsafe { user::renameat2(AT_FDCWD, f.as_ptr(), AT_FDCWD, t.as_ptr(), 0) }?;
    Ok(())
}

/// Adds the name `link` for the file `original`.
pub fn hard_link(original: impl AsRef<[u8]>, link: impl AsRef<[u8]>) -> io::Result<()> {
    let (o, l) = (c_path(original.as_ref())?, c_path(link.as_ref())?);
    // SAFETY: both NUL-terminated.
    unsafe { user::linkat(AT_FDCWD, o.as_ptr(), AT_FDCWD, l.as_ptr(), 0) }?;
    Ok(())
}

/// Makes `link` a symbolic link to `original` (`std::os::unix::fs::symlink`).
pub fn symlink(original: impl AsRef<[u8]>, link: impl AsRef<[u8]>) -> io::Result<()> {
    let (o, l) = (c_path(original.as_ref())?, c_path(link.as_ref())?);
    // SAFETY: both NUL-terminated.
    unsafe { user::symlinkat(o.as_ptr(), AT_FDCWD, l.as_ptr()) }?;
    Ok(())
}

/// A symbolic link's target.
pub fn read_link(path: impl AsRef<[u8]>) -> io::Result<String> {
    let p = c_path(path.as_ref())?;
    let mut buf = vec![0u8; PATH_MAX];
    // SAFETY: `p` is NUL-terminated; `buf` writable for its length.
    let n = unsafe { user::readlinkat(AT_FDCWD, p.as_ptr(), buf.as_mut_ptr(), buf.len()) }?;
    buf.truncate(n);
    String::from_utf8(buf).map_err(|_| Error::new(ErrorKind::InvalidData, "not UTF-8"))
}

/// Sets the permission bits of `path`.
pub fn set_permissions(path: impl AsRef<[u8]>, perm: Permissions) -> io::Result<()> {
    let p = c_path(path.as_ref())?;
    // SAFETY: `p` is NUL-terminated.
    unsafe { user::fchmodat(AT_FDCWD, p.as_ptr(), perm.0) }?;
    Ok(())
}

/// Copies the contents and permission bits of `from` to `to`; returns the
/// bytes copied.
pub fn copy(from: impl AsRef<[u8]>, to: impl AsRef<[u8]>) -> io::Result<u64> {
    let mut src = File::open(from)?;
    let meta = src.metadata()?;
    if !meta.is_file() {
        return Err(Error::new(ErrorKind::InvalidInput, "the source path is not an existing regular file"));
    }
    let mut dst = OpenOptions::new().write(true).create(true).truncate(true).mode(meta.permissions().0).open(to)?;
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    loop {
        let n = src.read(&mut buf)?;
        if n == 0 {
            break;
        }
        dst.write_all(&buf[..n])?;
        total += n as u64;
    }
    dst.set_permissions(meta.permissions())?;
    Ok(total)
}

/// The entries of the directory `path` (without `.` and `..`).
pub fn read_dir(path: impl AsRef<[u8]>) -> io::Result<ReadDir> {
    let path = path.as_ref();
    let p = c_path(path)?;
    // SAFETY: `p` is NUL-terminated.
    let fd = unsafe { user::openat(AT_FDCWD, p.as_ptr(), O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0) }?;
    Ok(ReadDir { dir: File { fd }, base: path.to_vec(), buf: vec![0u8; 8192], filled: 0, at: 0, done: false })
}

/// The iterator of [`read_dir`].
#[derive(Debug)]
pub struct ReadDir {
    dir: File,
    base: Vec<u8>,
    buf: Vec<u8>,
    filled: usize,
    at: usize,
    done: bool,
}

impl Iterator for ReadDir {
    type Item = io::Result<DirEntry>;

    fn next(&mut self) -> Option<io::Result<DirEntry>> {
        loop {
            if self.at >= self.filled {
                if self.done {
                    return None;
                }
                // SAFETY: `buf` is writable for its length.
                match unsafe { user::getdents64(self.dir.fd, self.buf.as_mut_ptr(), self.buf.len()) } {
                    Ok(0) => {
                        self.done = true;
                        return None;
                    }
                    Ok(n) => {
                        self.filled = n;
                        self.at = 0;
                    }
                    Err(e) => {
                        self.done = true;
                        return Some(Err(e.into()));
                    }
                }
            }
            // struct linux_dirent64: d_ino u64, d_off i64, d_reclen u16,
            // d_type u8, d_name (NUL-terminated).
            let rec = &self.buf[self.at..self.filled];
            let reclen = u16::from_ne_bytes([rec[16], rec[17]]) as usize;
            let d_type = rec[18];
            let ino = u64::from_ne_bytes(rec[..8].try_into().unwrap_or([0; 8]));
            let name_area = &rec[19..reclen.min(rec.len())];
            let name = &name_area[..name_area.iter().position(|&b| b == 0).unwrap_or(name_area.len())];
            self.at += reclen.max(1);
            if name == b"." || name == b".." {
                continue;
            }
            let mut path = self.base.clone();
            if path.last() != Some(&b'/') {
                path.push(b'/');
            }
            path.extend_from_slice(name);
            return Some(Ok(DirEntry { name: name.to_vec(), path, d_type, ino }));
        }
    }
}

/// One entry of a directory.
#[derive(Clone, Debug)]
pub struct DirEntry {
    name: Vec<u8>,
    path: Vec<u8>,
    d_type: u8,
    ino: u64,
}

impl DirEntry {
    /// Its name (invalid UTF-8 replaced).
    pub fn file_name(&self) -> String {
        String::from_utf8_lossy(&self.name).into_owned()
    }
    /// Its name as bytes.
    pub fn file_name_bytes(&self) -> &[u8] {
        &self.name
    }
    /// The directory's path joined with the name (invalid UTF-8 replaced).
    pub fn path(&self) -> String {
        String::from_utf8_lossy(&self.path).into_owned()
    }
    /// The path as bytes.
    pub fn path_bytes(&self) -> Vec<u8> {
        self.path.clone()
    }
    /// Its inode number.
    pub fn ino(&self) -> u64 {
        self.ino
    }
    /// Its type, from the entry (a `stat` when the file system does not say).
    pub fn file_type(&self) -> io::Result<FileType> {
        match self.d_type {
            DT_DIR => Ok(FileType(S_IFDIR)),
            DT_REG => Ok(FileType(S_IFREG)),
            DT_LNK => Ok(FileType(S_IFLNK)),
            DT_UNKNOWN => Ok(symlink_metadata(&self.path)?.file_type()),
            _ => Ok(FileType(0)),
        }
    }
    /// Its metadata (not following a symbolic link).
    pub fn metadata(&self) -> io::Result<Metadata> {
        symlink_metadata(&self.path)
    }
}
