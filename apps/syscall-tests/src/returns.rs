//! Returns that SYSRET cannot do safely go through IRET, and flags the app
//! sets do not reach the kernel.

use core::arch::asm;

use libos::debug;
use libos::sys::nr;

#[libos::test]
fn a_crafted_return_frame_is_honoured_through_iret() {
    let skipped: u64;
    // SAFETY: the kernel returns to label 2 instead of the next instruction;
    // nothing in between has effects the compiler must know about.
    unsafe {
        asm!(
            "xor {s:e}, {s:e}",
            "lea rsi, [rip + 2f]",
            "syscall",
            "mov {s:e}, 1",
            "2:",
            s = out(reg) skipped,
            inout("rax") nr::LIBOS_DEBUG => _,
            in("rdi") debug::SET_RETURN_RIP,
            in("rdx") 1u64,
            out("rsi") _,
            out("rcx") _,
            out("r11") _,
        );
    }
    assert_eq!(skipped, 0, "the kernel did not return to the crafted address");
}

fn has_smap() -> bool {
    let leaf7 = core::arch::x86_64::__cpuid_count(7, 0);
    leaf7.ebx & (1 << 20) != 0
}

#[libos::test]
fn smap_stops_the_kernel_from_reading_app_memory() {
    let data = [1u8; 8];
    let faulted = debug::call(debug::SMAP_PROBE, data.as_ptr() as u64, 0).unwrap();
    assert_eq!(faulted, has_smap() as u64, "SMAP probe");
}

#[libos::test]
fn ac_set_by_the_app_does_not_open_smap_in_the_kernel() {
    const AC: u64 = 1 << 18;
    let data = [1u8; 8];
    let (faulted, flags_after): (u64, u64);
    // SAFETY: AC only matters for alignment checks with CR0.AM (off) and
    // for SMAP in ring 0; it is cleared again before returning to Rust.
    unsafe {
        asm!(
            "pushfq",
            "or qword ptr [rsp], {ac}",
            "popfq",
            "syscall",
            "pushfq",
            "pop {f}",
            "pushfq",
            "and qword ptr [rsp], {not_ac}",
            "popfq",
            ac = in(reg) AC,
            not_ac = in(reg) !AC,
            f = out(reg) flags_after,
            inout("rax") nr::LIBOS_DEBUG => faulted,
            in("rdi") debug::SMAP_PROBE,
            in("rsi") data.as_ptr() as u64,
            in("rdx") 0u64,
            out("rcx") _,
            out("r11") _,
        );
    }
    assert_eq!(faulted, has_smap() as u64, "with AC set by the app, the kernel's SMAP probe");
    assert_ne!(flags_after & AC, 0, "the app's AC flag was not restored");
}

/// An app's RFLAGS.AC (set with POPF) never reaches a kernel handler:
/// interrupt and exception entries clear it (CLAC, as Linux's do), so with
/// SMAP a stray kernel access to app memory still faults. The app sets AC,
/// takes page faults on fresh pages and spins through timer interrupts,
/// clears AC; the kernel counted entries with AC set from ring 3 and
/// handlers that found it set.
#[libos::test]
fn interrupts_and_exceptions_enter_the_kernel_with_ac_clear() {
    let counts = || {
        let c = debug::call(debug::AC_AT_ENTRY, 0, 0).expect("AC_AT_ENTRY");
        (c & 0xffff_ffff, c >> 32)
    };
    let hz = debug::call(debug::TSC_HZ, 0, 0).expect("TSC_HZ");
    let (from_app, in_handler) = counts();
    // SAFETY: a fresh mapping of 4 pages.
    let page = unsafe {
        libos::sys::mmap(
            0,
            4 * 4096,
            libos::__private::abi::abi_types::PROT_READ | libos::__private::abi::abi_types::PROT_WRITE,
            libos::__private::abi::abi_types::MAP_PRIVATE | libos::__private::abi::abi_types::MAP_ANONYMOUS,
            -1,
            0,
        )
    }
    .expect("mmap");
    // SAFETY: AC is set only for the aligned accesses and the spin below
    // (with CR0.AM an unaligned access would raise #AC), and cleared again;
    // the writes go to our fresh mapping.
    unsafe {
        asm!(
            "pushfq",
            "or qword ptr [rsp], 0x40000",
            "popfq",
            "mov qword ptr [{page}], 1",
            "mov qword ptr [{page} + 4096], 1",
            "mov qword ptr [{page} + 8192], 1",
            "rdtsc",
            "shl rdx, 32",
            "or rax, rdx",
            "add {until}, rax",
            "2:",
            "rdtsc",
            "shl rdx, 32",
            "or rax, rdx",
            "cmp rax, {until}",
            "jb 2b",
            "pushfq",
            "and qword ptr [rsp], -0x40001",
            "popfq",
            page = in(reg) page,
            until = inout(reg) hz / 20 => _,
            out("rax") _,
            out("rdx") _,
        );
    }
    let (from_app_after, in_handler_after) = counts();
    assert!(from_app_after >= from_app + 3, "the page faults did not come with AC set");
    assert_eq!(in_handler_after, in_handler, "a kernel handler ran with the app's AC set");
    // SAFETY: our mapping.
    unsafe { libos::sys::munmap(page, 4 * 4096) }.unwrap();
}
