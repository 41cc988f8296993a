//! Calls the kernel does not have: they return `-ENOSYS`, and the first
//! time each number is used the kernel says which call it was (by its
//! Linux name when Linux has one), so a user sees what a program is
//! missing. With `trace=syscalls` every call is traced, these with their
//! Linux name too.

use core::fmt::Write;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use libos_abi::errno::Errno;
use libos_abi::linux_names::{LINUX_NAMES_LEN, linux_syscall_name};
use libos_abi::syscalls::{is_hook, syscall_name};

/// The numbers below [`LINUX_NAMES_LEN`] already reported, one bit each.
static REPORTED: [AtomicU64; LINUX_NAMES_LEN.div_ceil(64)] =
    [const { AtomicU64::new(0) }; LINUX_NAMES_LEN.div_ceil(64)];

/// Whether a number from [`LINUX_NAMES_LEN`] up was reported (one report
/// stands for all of them).
static REPORTED_BEYOND: AtomicBool = AtomicBool::new(false);

/// Whether this kernel's table has a call for `nr`.
fn implemented(nr: u64) -> bool {
    syscall_name(nr).is_some() && (!is_hook(nr) || cfg!(feature = "hooks"))
}

/// The table's entry of every number without a call (Linux's
/// `sys_ni_syscall`): `-ENOSYS`, and the first time a number comes, a line
/// naming the call. A number already reported costs one load and one test.
#[inline(always)]
pub fn ni_syscall(nr: u64) -> i64 {
    let reported = match usize::try_from(nr) {
        Ok(n) if n < LINUX_NAMES_LEN => REPORTED[n / 64].load(Ordering::Relaxed) & (1 << (n % 64)) != 0,
        _ => REPORTED_BEYOND.load(Ordering::Relaxed),
    };
    if !reported {
        report(nr);
    }
    Errno::ENOSYS.to_ret()
}

/// Marks `nr` reported and, if no other thread did so first, says which
/// call the program is missing.
#[cold]
#[inline(never)]
fn report(nr: u64) {
    // Only numbers without a call reach `ni_syscall`; a hook number in a
    // production kernel is one of them.
    debug_assert!(!implemented(nr), "call {nr} has a handler but reached ni_syscall");
    let first = match usize::try_from(nr) {
        Ok(n) if n < LINUX_NAMES_LEN => {
            let mask = 1 << (n % 64);
            REPORTED[n / 64].fetch_or(mask, Ordering::Relaxed) & mask == 0
        }
        _ => !REPORTED_BEYOND.swap(true, Ordering::Relaxed),
    };
    if !first {
        return;
    }
    let pid = crate::process::current().map_or(0, |p| p.pid);
    match linux_syscall_name(nr) {
        Some(name) => crate::println!(
            "[libos] pid {pid}: system call {nr} ({name}) is not implemented: -ENOSYS (reported once per number)"
        ),
        None if nr < LINUX_NAMES_LEN as u64 => {
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
