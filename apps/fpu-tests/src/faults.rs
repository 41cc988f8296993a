//! Floating-point faults end the app with Linux's signal, and ring 3
//! cannot reach the kernel's side of the state: each test expects its
//! exception (and fails if it does not come).

use core::arch::asm;

#[libos::test(expect_fault = XM)]
fn unmasked_sse_divide_by_zero_is_sigfpe() {
    if crate::qemu_tcg() {
        libos::testing::skip("QEMU's TCG raises no #XM (Bochs runs this test)");
    }
    // MXCSR with ZM (bit 9) clear: a division by zero raises #XM (CR4.OSXMMEXCPT).
    crate::mxcsr::write(crate::mxcsr::NEAREST & !(1 << 9));
    let q: f64;
    // SAFETY: DIVSD on registers; the #XM it raises ends the app.
    unsafe { asm!("divsd {a}, {b}", a = inout(xmm_reg) 1.0f64 => q, b = in(xmm_reg) 0.0f64, options(nomem, nostack)) };
    core::hint::black_box(q);
}

#[libos::test(expect_fault = MF)]
fn unmasked_x87_divide_by_zero_is_sigfpe() {
    let cw: u16 = 0x37f & !(1 << 2); // ZM clear
    // SAFETY: x87 instructions on the thread's own x87 state; the pending
    // exception is raised as #MF (CR0.NE) by the waiting FWAIT.
    unsafe { asm!("fninit", "fldcw [{}]", "fldz", "fld1", "fdivrp st(1), st", "fwait", in(reg) &cw, options(nostack)) };
}

#[libos::test(expect_fault = GP)]
fn ldmxcsr_with_reserved_bits_is_sigsegv() {
    if crate::qemu_tcg() {
        libos::testing::skip("QEMU's TCG does not check MXCSR's reserved bits (Bochs runs this test)");
    }
    // Bit 31 is reserved on every CPU (MXCSR_MASK never has it).
    crate::mxcsr::write(0x8000_1f80);
}

#[libos::test(expect_fault = GP)]
fn xsetbv_from_ring_3_is_refused() {
    if crate::xcr0() == 0 {
        libos::testing::skip("no XSAVE: XSETBV raises #UD, not #GP");
    }
    // SAFETY: XSETBV is privileged: #GP in ring 3 (the kernel's XCR0 stays).
    unsafe { asm!("xsetbv", in("ecx") 0, in("eax") 1, in("edx") 0, options(nomem, nostack)) };
}

#[repr(C, align(64))]
struct Area([u8; 4096]);

#[libos::test(expect_fault = GP)]
fn xrstor_of_a_malformed_area_is_sigsegv() {
    if crate::xcr0() == 0 {
        libos::testing::skip("no XSAVE");
    }
    let mut area = Area([0; 4096]);
    // XSTATE_BV = x87|SSE and a reserved header byte set: XRSTOR raises #GP.
    area.0[512] = 3;
    area.0[512 + 20] = 1;
    area.0[24..28].copy_from_slice(&0x1f80u32.to_le_bytes());
    // SAFETY: XRSTOR reads the area, which is ours; the #GP it raises ends the app.
    unsafe { asm!("xrstor64 [{}]", in(reg) area.0.as_ptr(), in("eax") 3, in("edx") 0, options(nostack)) };
}

#[libos::test]
fn the_app_cannot_read_another_apps_registers_after_faults() {
    // After the faulting tests above (each its own process), this one starts
    // from the initial state: nothing of theirs (MXCSR with ZM clear, x87
    // control words) is visible.
    assert_eq!(crate::mxcsr::read(), crate::mxcsr::NEAREST);
    let mut fcw = 0u16;
    // SAFETY: FNSTCW stores 2 bytes into `fcw`.
    unsafe { asm!("fnstcw [{}]", in(reg) &mut fcw, options(nostack)) };
    assert_eq!(fcw, 0x37f);
}
