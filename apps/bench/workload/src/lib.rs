//! The workloads of `cargo xtask bench`, written once and built twice: into
//! the bench app (`apps/bench`, ring 3 over libos, `x86_64-unknown-none`)
//! and into the Linux guest's `/init` (`apps/bench/linux`, a static
//! `x86_64-unknown-linux-musl` program), so that both kernels run the same
//! instructions around their syscalls.
//!
//! Everything here is plain user-mode x86-64: `rdtsc`, counted loops and
//! the `syscall` instruction with Linux's numbers, which our kernel shares.
//! The figures leave each guest as `[bench]` lines ([`mod@line`]) that the
//! xtask reads, raw totals only (TSC ticks, nanoseconds, iterations): the
//! xtask divides.
//!
//! Under QEMU with `-icount shift=0` the TSC advances one tick per executed
//! instruction, so a TSC delta around N round trips, divided by N, is the
//! instruction count of one round trip (the loop's own 4 instructions
//! included). [`check`] proves that ratio on the spot in every run.
#![no_std]

pub mod files;
pub mod line;

use core::arch::asm;

/// A syscall number neither kernel has: Linux 6.1's x86-64 table ends
/// below 460 (`arch/x86/entry/syscalls/syscall_64.tbl`), ours far below.
/// Both answer `-ENOSYS` (Linux: `do_syscall_64` falls through to
/// `__x64_sys_ni_syscall`, `arch/x86/entry/common.c`).
pub const UNKNOWN_SYSCALL: u64 = 500;
/// `getpid`, Linux's number (`syscall_64.tbl`), which our table keeps.
pub const GETPID: u64 = 39;

/// Instructions per iteration of [`known_loop`]: `dec`, `jnz`.
pub const KNOWN_LOOP_INSTRUCTIONS: u64 = 2;
/// The iterations [`check`] times: the difference of two runs of
/// [`known_loop`], so that the fixed cost of reading the TSC drops out.
pub const CHECK_ITERATIONS: u64 = 100_000;
/// The shorter of [`check`]'s two runs.
const CHECK_SHORT: u64 = 10_000;

/// The TSC (with `-icount shift=0`: instructions executed).
#[inline(always)]
pub fn rdtsc() -> u64 {
    // SAFETY: RDTSC only reads a counter; ring 3 may (neither kernel sets
    // CR4.TSD).
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// `iterations` round trips of syscall `nr` with no arguments, in a tight
/// loop (`mov`, `syscall`, `dec`, `jnz`): returns the TSC ticks they took.
/// `iterations` must be at least 1.
pub fn syscall_loop(nr: u64, iterations: u64) -> u64 {
    let iterations = iterations.max(1);
    let start = rdtsc();
    // SAFETY: the caller passes a number whose call takes no arguments and
    // writes no user memory ([`UNKNOWN_SYSCALL`], [`GETPID`], or any number
    // under our kernel's bench-only floor entry). SYSCALL clobbers RCX and
    // R11 and returns in RAX; nothing else changes.
    unsafe {
        asm!(
            "2:",
            "mov rax, {nr}",
            "syscall",
            "dec {n}",
            "jnz 2b",
            nr = in(reg) nr,
            n = inout(reg) iterations => _,
            out("rax") _, out("rcx") _, out("r11") _,
            options(nostack),
        );
    }
    rdtsc() - start
}

/// `iterations` runs of a loop body of exactly
/// [`KNOWN_LOOP_INSTRUCTIONS`] instructions: the TSC ticks they took.
/// `iterations` must be at least 1.
pub fn known_loop(iterations: u64) -> u64 {
    let iterations = iterations.max(1);
    let start = rdtsc();
    // SAFETY: only a register counts down.
    unsafe {
        asm!("2:", "dec {n}", "jnz 2b", n = inout(reg) iterations => _, options(nomem, nostack));
    }
    rdtsc() - start
}

/// The warm-up before timing `iterations` round trips of `nr`: a tenth as
/// many, so that caches, TLBs and QEMU's translation blocks are warm.
pub fn warm_up(nr: u64, iterations: u64) {
    syscall_loop(nr, iterations / 10 + 1);
}

/// Times `iterations` round trips of `nr` after [`warm_up`]: the TSC ticks
/// of the timed ones. No other syscall may run meanwhile (under our floor
/// entry every call but `libos_debug` does nothing, printing included).
pub fn measure(nr: u64, iterations: u64) -> u64 {
    warm_up(nr, iterations);
    syscall_loop(nr, iterations)
}

/// The check of a run: the TSC ticks of [`CHECK_ITERATIONS`] iterations
/// of [`known_loop`], as a [`line::Check`].
pub fn check() -> line::Check {
    let short = known_loop(CHECK_SHORT);
    let long = known_loop(CHECK_SHORT + CHECK_ITERATIONS);
    line::Check {
        loop_instructions: KNOWN_LOOP_INSTRUCTIONS,
        iterations: CHECK_ITERATIONS,
        tsc: long.saturating_sub(short),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loops_take_time() {
        // On the host the TSC counts cycles, not instructions: only that
        // it moves and that the longer loop does not take less.
        let check = check();
        assert_eq!(check.loop_instructions * check.iterations, 200_000);
        assert!(known_loop(1_000_000) > 0);
    }

    #[test]
    fn an_unknown_syscall_fails_on_the_host_linux_too() {
        // The host runs Linux: the same loop of the same number works here
        // and returns (a crash or a hang would fail the test).
        assert!(measure(UNKNOWN_SYSCALL, 100) > 0);
        assert!(measure(GETPID, 100) > 0);
    }

    #[test]
    fn the_file_workload_runs_on_the_host_linux() {
        extern crate std;
        use std::vec::Vec;
        let mut buf = std::vec![0u8; 1 << 20];
        let started = std::time::Instant::now();
        let now = || started.elapsed().as_nanos() as u64;
        let mut lines = Vec::new();
        files::run(100, 2 << 20, &mut buf, &now, &mut |op| lines.push(std::format!("{op}"))).unwrap();
        assert_eq!(lines.len(), 5, "{lines:?}");
        assert!(lines[0].starts_with("[bench] files op=open_fstat_close chunk=0 count=100 tsc="), "{lines:?}");
        assert!(lines[4].starts_with("[bench] files op=read chunk=1048576 count=2097152 "), "{lines:?}");
        assert_eq!(files::open_fstat_close(b"/nonexistent/bench\0", 1), Err(-2), "ENOENT");
    }
}
