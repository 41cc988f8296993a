//! A recording of what apps print (test hook `CONSOLE_CAPTURE`), so a test
//! can check its own output: that lines written by threads at once come
//! out whole.

use alloc::vec::Vec;

use libos_abi::errno::Errno;

use crate::mm::user_access::copy_to_user;
use crate::sync::SpinLock;

/// Most bytes a recording keeps (the rest is dropped).
pub const CAPACITY: usize = 64 * 1024;

/// The recording, while one runs.
static RECORDING: SpinLock<Option<Vec<u8>>> = SpinLock::new(None);

/// Starts a recording (dropping an earlier one). The buffer is allocated
/// here, so recording never allocates under the console lock.
pub fn start() -> Result<(), Errno> {
    let mut buf = Vec::new();
    buf.try_reserve_exact(CAPACITY).map_err(|_| Errno::ENOMEM)?;
    *RECORDING.lock() = Some(buf);
    Ok(())
}

/// Records `bytes`, in the order the console emits them (called under the
/// console lock).
pub(super) fn record(bytes: &[u8]) {
    if let Some(buf) = RECORDING.lock().as_mut() {
        let n = bytes.len().min(CAPACITY - buf.len());
        buf.extend_from_slice(&bytes[..n]);
    }
}

/// Stops the recording and hands it over (for the kernel's test runner);
/// `None` if none runs.
pub fn stop() -> Option<Vec<u8>> {
    RECORDING.lock().take()
}

/// Stops the recording and copies it to the app at `addr` (at most `len`
/// bytes); returns the byte count.
pub fn take(addr: u64, len: u64) -> Result<usize, Errno> {
    let buf = RECORDING.lock().take().ok_or(Errno::EINVAL)?;
    let n = buf.len().min(usize::try_from(len).unwrap_or(usize::MAX));
    copy_to_user(addr, &buf[..n]).map_err(|(e, _)| e)?;
    Ok(n)
}
