//! Paths from app memory: copied in up to the NUL, at most `PATH_MAX`
//! bytes with it (Linux's `strncpy_from_user` in `getname`).

use alloc::vec::Vec;

use libos_abi::errno::Errno;
use libos_abi::fs_types::PATH_MAX;

use crate::mm::user_access::copy_from_user;

/// Copies the NUL-terminated path at `addr` (without its NUL). `EFAULT`
/// when it runs into memory the app cannot read, `ENAMETOOLONG` when no
/// NUL comes within `PATH_MAX` bytes. An empty path is returned as is
/// (most callers answer it `ENOENT`; `AT_EMPTY_PATH` takes it).
pub fn copy_path(addr: u64) -> Result<Vec<u8>, Errno> {
    let mut path = Vec::new();
    let mut at = addr;
    let mut chunk = [0u8; 256];
    while path.len() < PATH_MAX {
        // Never read past the page the string is on, unless it goes on:
        // the next page may be unmapped while the NUL is on this one.
        let to_page_end = (4096 - (at & 4095)) as usize;
        let n = chunk.len().min(to_page_end).min(PATH_MAX - path.len());
        copy_from_user(&mut chunk[..n], at).map_err(|(e, _)| e)?;
        if let Some(nul) = chunk[..n].iter().position(|&b| b == 0) {
            path.extend_from_slice(&chunk[..nul]);
            return Ok(path);
        }
        path.extend_from_slice(&chunk[..n]);
        at = at.checked_add(n as u64).ok_or(Errno::EFAULT)?;
    }
    Err(Errno::ENAMETOOLONG)
}
