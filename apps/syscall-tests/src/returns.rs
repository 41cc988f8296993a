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
