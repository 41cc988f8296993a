//! Path lookup, as Linux's `fs/namei.c` does it (`link_path_walk`,
//! `walk_component`, `follow_dotdot`, `lookup_last`, `trailing_symlink`):
//!
//! - Components are separated by one or more `/`; `.` is the directory
//!   itself, `..` its parent, and `..` never climbs above the caller's root.
//! - Symbolic links are followed in every component but the last, and in
//!   the last unless the caller says not to (`O_NOFOLLOW`,
//!   `AT_SYMLINK_NOFOLLOW`, `lstat`); a trailing `/` forces it. One lookup
//!   follows at most [`MAXSYMLINKS`] (40) links, then `ELOOP`.
//! - A path of [`PATH_MAX`] bytes or more (the NUL would not fit), or a
//!   component longer than `NAME_MAX`, gives `ENAMETOOLONG`; an empty path
//!   `ENOENT`; a non-directory where a directory must be `ENOTDIR`.
//! - A relative path starts at the directory the caller gives (the current
//!   directory, or the `*at` calls' `dirfd`).
//! - Mount points: reaching a directory something is mounted on enters that
//!   mount's root; `..` at a mount's root goes to the mount point's parent.

use alloc::vec::Vec;

use libos_abi::errno::Errno;
use libos_abi::fs_types::{MAXSYMLINKS, NAME_MAX, PATH_MAX};

use crate::filesystem::{FileSystem, FileType};
use crate::mount::{FsLock, Location, MountTable};

/// The last component of a path, once the directories before it are walked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Last {
    /// The path was `/` (only slashes).
    Root,
    /// `.`
    Dot,
    /// `..`
    DotDot,
    /// A name.
    Name(Vec<u8>),
}

/// A path walked up to its last component.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Parent {
    /// The directory that holds the last component (for [`Last::Root`]: the
    /// root).
    pub dir: Location,
    /// The last component.
    pub last: Last,
    /// Whether the path ended in `/`.
    pub trailing_slash: bool,
}

/// The outcome of a lookup that may end at a missing name (`open` with
/// `O_CREAT`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resolved {
    /// The path names this file.
    Found(Location),
    /// Every directory exists but the last name does not.
    Absent {
        /// The directory to create it in.
        dir: Location,
        /// The name.
        name: Vec<u8>,
        /// Whether the path ended in `/`.
        trailing_slash: bool,
    },
}

/// One path lookup (its symlink count spans the whole lookup).
pub struct Lookup<'t, H> {
    table: &'t MountTable<H>,
    root: Location,
    links: u32,
}

impl<'t, H: FsLock> Lookup<'t, H> {
    /// A lookup in `table` for a process whose root is `root`.
    pub fn new(table: &'t MountTable<H>, root: Location) -> Lookup<'t, H> {
        Lookup { table, root, links: 0 }
    }

    /// Symbolic links followed so far.
    pub fn links_followed(&self) -> u32 {
        self.links
    }

    /// Walks `path` from `start` (or the root, if it is absolute) up to its
    /// last component, following every symbolic link on the way.
    pub fn parent(&mut self, start: Location, path: &[u8]) -> Result<Parent, Errno> {
        if path.is_empty() {
            return Err(Errno::ENOENT);
        }
        if path.len() >= PATH_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        let mut dir = if path[0] == b'/' { self.root } else { start };
        let trailing_slash = path.ends_with(b"/");
        let mut parts = path.split(|&c| c == b'/').filter(|p| !p.is_empty()).peekable();
        while let Some(part) = parts.next() {
            if parts.peek().is_none() {
                let last = match part {
                    b"." => Last::Dot,
                    b".." => Last::DotDot,
                    name if name.len() > NAME_MAX => return Err(Errno::ENAMETOOLONG),
                    name => Last::Name(name.to_vec()),
                };
                return Ok(Parent { dir, last, trailing_slash });
            }
            dir = self.step_into_dir(dir, part)?;
        }
        Ok(Parent { dir, last: Last::Root, trailing_slash })
    }

    /// The file `path` names; `follow_last` follows a symbolic link in the
    /// last component (a trailing `/` always does).
    pub fn resolve(&mut self, start: Location, path: &[u8], follow_last: bool) -> Result<Location, Errno> {
        match self.resolve_or_absent(start, path, follow_last)? {
            Resolved::Found(at) => Ok(at),
            Resolved::Absent { .. } => Err(Errno::ENOENT),
        }
    }

    /// As [`Lookup::resolve`], but a missing last name (in an existing
    /// directory) is [`Resolved::Absent`]; a followed symbolic link that
    /// dangles gives its target's directory and name, as `open(O_CREAT)`
    /// wants.
    pub fn resolve_or_absent(&mut self, start: Location, path: &[u8], follow_last: bool) -> Result<Resolved, Errno> {
        let parent = self.parent(start, path)?;
        let at = match parent.last {
            Last::Root | Last::Dot => parent.dir,
            Last::DotDot => self.dotdot(parent.dir)?,
            Last::Name(name) => {
                let child = match self.child(parent.dir, &name) {
                    Ok(c) => c,
                    Err(Errno::ENOENT) => {
                        return Ok(Resolved::Absent { dir: parent.dir, name, trailing_slash: parent.trailing_slash });
                    }
                    Err(e) => return Err(e),
                };
                let kind = self.kind(child)?;
                if kind == FileType::Symlink && (follow_last || parent.trailing_slash) {
                    let target = self.link_target(child)?;
                    let from = if target.starts_with(b"/") { self.root } else { parent.dir };
                    let mut target = target;
                    if parent.trailing_slash {
                        target.push(b'/');
                    }
                    return self.resolve_or_absent(from, &target, true);
                }
                child
            }
        };
        if parent.trailing_slash && self.kind(at)? != FileType::Directory {
            return Err(Errno::ENOTDIR);
        }
        Ok(Resolved::Found(at))
    }

    /// `..` of the directory `at`: itself at the caller's root; across a
    /// mount point at a mount's root.
    pub fn dotdot(&self, mut at: Location) -> Result<Location, Errno> {
        loop {
            if at == self.root {
                return Ok(at);
            }
            let mount = self.table.get(at.mount)?;
            if at.ino != mount.root {
                break;
            }
            match mount.covers {
                Some(point) => at = point,
                None => return Ok(at),
            }
        }
        let up = self.table.with(at.mount, |fs| fs.lookup(at.ino, b".."))?;
        Ok(self.table.enter(Location { mount: at.mount, ino: up }))
    }

    /// The file `name` names in directory `dir`, after mount points.
    fn child(&self, dir: Location, name: &[u8]) -> Result<Location, Errno> {
        let ino = self.table.with(dir.mount, |fs| fs.lookup(dir.ino, name))?;
        Ok(self.table.enter(Location { mount: dir.mount, ino }))
    }

    fn kind(&self, at: Location) -> Result<FileType, Errno> {
        Ok(self.table.with(at.mount, |fs| fs.getattr(at.ino))?.file_type())
    }

    /// Counts one more link followed and reads its target.
    fn link_target(&mut self, link: Location) -> Result<Vec<u8>, Errno> {
        self.links += 1;
        if self.links > MAXSYMLINKS {
            return Err(Errno::ELOOP);
        }
        let target = self.table.with(link.mount, |fs| fs.readlink(link.ino))?;
        if target.is_empty() {
            return Err(Errno::ENOENT);
        }
        Ok(target)
    }

    /// One component in the middle of a path: the result must be a
    /// directory (a symbolic link is followed to one).
    fn step_into_dir(&mut self, dir: Location, part: &[u8]) -> Result<Location, Errno> {
        let next = match part {
            b"." => dir,
            b".." => self.dotdot(dir)?,
            name if name.len() > NAME_MAX => return Err(Errno::ENAMETOOLONG),
            name => {
                let child = self.child(dir, name)?;
                if self.kind(child)? == FileType::Symlink {
                    let target = self.link_target(child)?;
                    let from = if target.starts_with(b"/") { self.root } else { dir };
                    self.resolve(from, &target, true)?
                } else {
                    child
                }
            }
        };
        if self.kind(next)? != FileType::Directory {
            return Err(Errno::ENOTDIR);
        }
        Ok(next)
    }
}
