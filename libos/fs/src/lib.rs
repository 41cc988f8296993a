//! The file systems' core, tested on the host: what the kernel's file calls
//! stand on.
//!
//! - [`cpio`]: a reader of `newc` archives (the root image).
//! - [`filesystem`]: the [`FileSystem`](filesystem::FileSystem) interface
//!   every file system implements, over inode numbers and Linux errors.
//! - [`ramfs`]: the RAM file system (the writable root, `/tmp`).
//! - [`devfs`]: `/dev` with `null`, `zero` and `full`.
//! - [`path`]: path lookup (`.`/`..`, symbolic links, mount points, the
//!   limits) over a [`mount`] table, and the name-level operations of the
//!   calls (`open`, `mkdir`, `rename`...) in [`vfs`].
//! - [`block_device`] and [`ext2`]: an on-disk file system Linux mounts.
//! - [`flock`]: `flock(2)` locks and their conflicts.
//! - [`readiness`]: what `poll`, `select` and `epoll` report, epoll's
//!   level/edge/one-shot rules, the eventfd counter, the calls' timeouts.
#![no_std]

extern crate alloc;
#[cfg(test)]
extern crate std;

pub mod block_device;
pub mod cpio;
pub mod devfs;
pub mod ext2;
pub mod filesystem;
pub mod flock;
pub mod mount;
pub mod path;
pub mod ramfs;
pub mod readiness;
pub mod vfs;
