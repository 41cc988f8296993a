//! Kernel modules from the initramfs: Debian's cloud kernel builds virtio,
//! its PCI transport, `virtio_blk` and `virtio_net` as modules, so `/init`
//! loads the ones the xtask put in [`MODULES_DIR`] (numbered in load order:
//! each after those it depends on) with `finit_module(2)`.

use std::os::fd::AsRawFd;

/// Where the xtask puts the modules.
pub const MODULES_DIR: &str = "/modules";

/// Loads every module of [`MODULES_DIR`], in the order of their names;
/// one already loaded (`EEXIST`: built in, or loaded before) is fine.
/// Returns how many there were.
pub fn load_all() -> Result<usize, String> {
    let mut paths: Vec<_> = std::fs::read_dir(MODULES_DIR)
        .map_err(|e| format!("reading {MODULES_DIR}: {e}"))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "ko"))
        .collect();
    paths.sort();
    for path in &paths {
        let file = std::fs::File::open(path).map_err(|e| format!("opening {}: {e}", path.display()))?;
        // SAFETY: a valid descriptor and an empty NUL-terminated parameter
        // string, read during the call only.
        let r = unsafe { libc::syscall(libc::SYS_finit_module, file.as_raw_fd(), c"".as_ptr(), 0) };
        if r != 0 {
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::EEXIST) {
                return Err(format!("finit_module({}): {e}", path.display()));
            }
        }
    }
    Ok(paths.len())
}
