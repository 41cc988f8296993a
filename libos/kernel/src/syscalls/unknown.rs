//! Calls the kernel does not have: they return `-ENOSYS`, and the first
//! time each number is used the kernel says which call it was (by its
//! Linux name when Linux has one), so a user sees what a program is
//! missing. With `trace=syscalls` every call is traced, these with their
//! Linux name too.

use core::fmt::Write;
use core::sync::atomic::{AtomicU64, Ordering};

use libos_abi::linux_names::{LINUX_NAMES_LEN, linux_syscall_name};
use libos_abi::syscalls::{is_hook, syscall_name};

/// One bit per number below [`LINUX_NAMES_LEN`] (rounded up), and one
/// more word whose bit 0 stands for every larger number.
const WORDS: usize = LINUX_NAMES_LEN.div_ceil(64) + 1;

/// The numbers already reported.
static REPORTED: [AtomicU64; WORDS] = [const { AtomicU64::new(0) }; WORDS];

/// Whether this kernel's table has a call for `nr` (which then returned
/// `-ENOSYS` itself: `rseq`, `clone3`, a handler's own answer).
fn implemented(nr: u64) -> bool {
    syscall_name(nr).is_some() && (!is_hook(nr) || cfg!(feature = "hooks"))
}

/// Called when call `nr` returned `-ENOSYS`: reports it the first time if
/// the kernel has no such call.
#[cold]
#[inline(never)]
pub fn note(nr: u64) {
    let bit = usize::try_from(nr).ok().filter(|&n| n < LINUX_NAMES_LEN).unwrap_or((WORDS - 1) * 64);
    let mask = 1 << (bit % 64);
    // A number already reported costs one load (the bit of an implemented
    // call is never set, so those go on to the check below).
    if REPORTED[bit / 64].load(Ordering::Relaxed) & mask != 0 || implemented(nr) {
        return;
    }
    if REPORTED[bit / 64].fetch_or(mask, Ordering::Relaxed) & mask != 0 {
        return;
    }
    let pid = crate::process::current().map_or(0, |p| p.pid);
    match linux_syscall_name(nr) {
        Some(name) => crate::println!(
            "[libos] pid {pid}: system call {nr} ({name}) is not implemented: -ENOSYS (reported once per number)"
        ),
        None if bit < LINUX_NAMES_LEN => {
            crate::println!("[libos] pid {pid}: system call {nr} is unknown: -ENOSYS (reported once per number)")
        }
        None => crate::println!(
            "[libos] pid {pid}: system call {nr} is unknown: -ENOSYS (reported once for all numbers above {})",
            LINUX_NAMES_LEN - 1
        ),
    }
}

/// Writes the call part of a trace line (`openat(0xffffff9c, 0x4a0f10,
/// 0x0, ...)`) for a call the kernel does not have but Linux names;
/// `false` (nothing written) for any other call.
pub fn trace_call(nr: u64, args: &[u64; 6], out: &mut dyn Write) -> bool {
    if implemented(nr) {
        return false;
    }
    let Some(name) = linux_syscall_name(nr) else {
        return false;
    };
    let _ = write!(
        out,
        "{name}({:#x}, {:#x}, {:#x}, {:#x}, {:#x}, {:#x})",
        args[0], args[1], args[2], args[3], args[4], args[5]
    );
    true
}
