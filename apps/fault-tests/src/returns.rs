//! Returns to ring 3 that must not go through SYSRET: the kernel uses
//! IRET, and IRET's own fault (a bad frame) ends the app, not the kernel.

use core::arch::asm;

use libos::debug;
use libos::sys::nr;

fn return_to(rip: u64) {
    // SAFETY: deliberately wrong: asks the kernel to return to `rip`.
    unsafe {
        asm!("syscall", inout("rax") nr::LIBOS_DEBUG => _, in("rdi") debug::SET_RETURN_RIP, in("rsi") rip, in("rdx") 0u64,
             out("rcx") _, out("r11") _);
    }
}

/// The 2012 SYSRET bug: returning to a non-canonical RIP with SYSRET faults
/// in ring 0 with the app's RSP on Intel CPUs. The kernel must see it and
/// use IRET, whose #GP the kernel turns into the app's end.
#[libos::test(expect_fault = GP)]
fn a_non_canonical_return_address_ends_the_app() {
    return_to(0x0000_8000_0000_0000);
}

#[libos::test(expect_fault = GP)]
fn another_non_canonical_return_address() {
    return_to(0xdead_beef_dead_beef);
}

#[libos::test(expect_fault = PF)]
fn returning_into_the_kernel_half_ends_the_app() {
    return_to(0xffff_ffff_8010_0000);
}

/// TF set before SYSCALL: SFMASK clears it, so the kernel does not single-
/// step; SYSRET is not used (TF set), IRET restores it and the app takes
/// its single-step trap in ring 3, which ends it (there are no signals).
#[libos::test(expect_fault = DB)]
fn tf_set_before_a_syscall_traps_in_ring_3() {
    // SAFETY: sets TF; the trap ends the app.
    unsafe {
        asm!(
            "pushfq",
            "or qword ptr [rsp], 0x100",
            "popfq",
            "syscall",
            "nop",
            "nop",
            inout("rax") nr::GETPID => _,
            out("rcx") _,
            out("r11") _,
        );
    }
}
