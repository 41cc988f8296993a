//! The vDSO: the time functions an app calls without entering the kernel
//! (Linux's `arch/x86/entry/vdso/vclock_gettime.c` and `vgetcpu.c`).
//!
//! The kernel's build script compiles this file alone (no crates, not even
//! a panic handler: nothing here can panic) into a position-independent
//! object and links it into a small shared object (`vdso.lds`,
//! `vdso.ver`); the kernel maps it into every process with its data page
//! one page below and names it in `AT_SYSINFO_EHDR`. C libraries look the
//! functions up by name and version (`LINUX_2.6`), as on Linux.
//!
//! Each function reads the TSC and the data page and computes what the
//! system call would answer, with the kernel's own formula
//! ([`VvarData`]); anything it does not handle (other clocks, a time zone
//! to fill, a data page it does not recognise) it passes to the real
//! system call, so the answers are the kernel's in every case. Like
//! Linux's, these functions write through the caller's pointers in ring 3:
//! a bad pointer is the caller's page fault, not `EFAULT`.

#![no_std]

use core::arch::asm;

#[path = "../../abi/src/vdso_data.rs"]
mod vdso_data;

use vdso_data::{VVAR_MAGIC, VVAR_TSC_AUX_IS_CPU, VvarData};

/// `struct timespec`.
#[repr(C)]
pub struct Timespec {
    tv_sec: i64,
    tv_nsec: i64,
}

/// `struct timeval`.
#[repr(C)]
pub struct Timeval {
    tv_sec: i64,
    tv_usec: i64,
}

const NSEC_PER_SEC: u64 = 1_000_000_000;

/// Linux's clock ids this vDSO answers itself.
const CLOCK_REALTIME: i32 = 0;
const CLOCK_MONOTONIC: i32 = 1;
const CLOCK_MONOTONIC_RAW: i32 = 4;
const CLOCK_REALTIME_COARSE: i32 = 5;
const CLOCK_MONOTONIC_COARSE: i32 = 6;
const CLOCK_BOOTTIME: i32 = 7;

/// Linux's x86-64 system call numbers of the calls behind these functions.
const NR_GETTIMEOFDAY: u64 = 96;
const NR_TIME: u64 = 201;
const NR_CLOCK_GETTIME: u64 = 228;
const NR_CLOCK_GETRES: u64 = 229;
const NR_GETCPU: u64 = 309;

/// The data page, one page below this object's first byte (`vdso.lds`
/// defines `__vvar_page` there; the kernel maps the page there).
#[inline(always)]
fn vvar() -> Option<&'static VvarData> {
    let page: *const VvarData;
    // SAFETY: a RIP-relative address computation, no memory access.
    unsafe { asm!("lea {}, [rip + __vvar_page]", out(reg) page, options(nomem, nostack, preserves_flags, pure)) };
    // SAFETY: the kernel maps the data page readable at that address in
    // every process it maps this object into; the page never changes.
    let data = unsafe { &*page };
    (data.magic == VVAR_MAGIC).then_some(data)
}

#[inline(always)]
fn rdtsc() -> u64 {
    let (lo, hi): (u32, u32);
    // SAFETY: RDTSC reads the time-stamp counter (allowed in ring 3: the
    // kernel leaves CR4.TSD clear), nothing else.
    unsafe { asm!("rdtsc", out("eax") lo, out("edx") hi, options(nomem, nostack, preserves_flags)) };
    (u64::from(hi) << 32) | u64::from(lo)
}

/// The system call `nr` with two arguments, as the app would have made it.
#[inline(always)]
fn syscall2(nr: u64, a: u64, b: u64) -> i64 {
    let ret: i64;
    // SAFETY: SYSCALL enters the kernel, which checks every argument as
    // for any call from ring 3; RCX and R11 are clobbered by the
    // instruction, everything else the kernel preserves.
    unsafe {
        asm!("syscall", inlateout("rax") nr as i64 => ret, in("rdi") a, in("rsi") b,
             lateout("rcx") _, lateout("r11") _, options(nostack))
    };
    ret
}

/// The system call `nr` with three arguments.
#[inline(always)]
fn syscall3(nr: u64, a: u64, b: u64, c: u64) -> i64 {
    let ret: i64;
    // SAFETY: as `syscall2`.
    unsafe {
        asm!("syscall", inlateout("rax") nr as i64 => ret, in("rdi") a, in("rsi") b, in("rdx") c,
             lateout("rcx") _, lateout("r11") _, options(nostack))
    };
    ret
}

/// `clock_gettime`: returns 0, or the system call's `-errno`.
///
/// # Safety
/// `ts` must be writable (as for the system call; a bad pointer faults).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __vdso_clock_gettime(clock: i32, ts: *mut Timespec) -> i64 {
    let Some(data) = vvar() else {
        return syscall2(NR_CLOCK_GETTIME, clock as u64, ts as u64);
    };
    let ns = match clock {
        CLOCK_REALTIME | CLOCK_REALTIME_COARSE => data.realtime_ns(rdtsc()),
        CLOCK_MONOTONIC | CLOCK_MONOTONIC_RAW | CLOCK_MONOTONIC_COARSE | CLOCK_BOOTTIME => {
            data.monotonic_ns(rdtsc())
        }
        _ => return syscall2(NR_CLOCK_GETTIME, clock as u64, ts as u64),
    };
    // SAFETY: the caller's contract.
    unsafe { ts.write(Timespec { tv_sec: (ns / NSEC_PER_SEC) as i64, tv_nsec: (ns % NSEC_PER_SEC) as i64 }) };
    0
}

/// `gettimeofday`: returns 0, or the system call's `-errno`. A time zone
/// to fill goes to the system call (Linux's vDSO fills it from its data;
/// nobody asks for it on the hot path).
///
/// # Safety
/// `tv`, if not null, must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __vdso_gettimeofday(tv: *mut Timeval, tz: *mut u8) -> i64 {
    let data = match vvar() {
        Some(d) if tz.is_null() => d,
        _ => return syscall2(NR_GETTIMEOFDAY, tv as u64, tz as u64),
    };
    if !tv.is_null() {
        let ns = data.realtime_ns(rdtsc());
        // SAFETY: the caller's contract.
        unsafe {
            tv.write(Timeval { tv_sec: (ns / NSEC_PER_SEC) as i64, tv_usec: ((ns % NSEC_PER_SEC) / 1000) as i64 })
        };
    }
    0
}

/// `time`: the seconds since the epoch (also stored at `t` if not null).
///
/// # Safety
/// `t`, if not null, must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __vdso_time(t: *mut i64) -> i64 {
    let Some(data) = vvar() else {
        return syscall2(NR_TIME, t as u64, 0);
    };
    let now = (data.realtime_ns(rdtsc()) / NSEC_PER_SEC) as i64;
    if !t.is_null() {
        // SAFETY: the caller's contract.
        unsafe { t.write(now) };
    }
    now
}

/// `getcpu`: the CPU from RDTSCP's TSC_AUX, which the kernel sets to each
/// CPU's index (Linux's `vdso_read_cpunode`); node 0.
///
/// # Safety
/// `cpu` and `node`, if not null, must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __vdso_getcpu(cpu: *mut u32, node: *mut u32, cache: *mut u8) -> i64 {
    if !vvar().is_some_and(|d| d.flags & VVAR_TSC_AUX_IS_CPU != 0) {
        return syscall3(NR_GETCPU, cpu as u64, node as u64, cache as u64);
    }
    let aux: u32;
    // SAFETY: RDTSCP exists (the kernel set the flag only then); it reads
    // the TSC and TSC_AUX, nothing else.
    unsafe { asm!("rdtscp", out("eax") _, out("edx") _, out("ecx") aux, options(nomem, nostack, preserves_flags)) };
    if !cpu.is_null() {
        // SAFETY: the caller's contract.
        unsafe { cpu.write(aux & 0xfff) };
    }
    if !node.is_null() {
        // SAFETY: the caller's contract.
        unsafe { node.write(aux >> 12) };
    }
    0
}

/// `clock_getres`: the system call (its answer is a constant per clock;
/// nobody calls it on a hot path).
///
/// # Safety
/// `res`, if not null, must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __vdso_clock_getres(clock: i32, res: *mut Timespec) -> i64 {
    syscall2(NR_CLOCK_GETRES, clock as u64, res as u64)
}
