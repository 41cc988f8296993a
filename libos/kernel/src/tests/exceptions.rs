//! CPU exceptions taken in ring 0 reach their handlers with the right vector.

use libos_macros::kernel_test;

#[kernel_test(expect_fault = BP)]
fn int3_is_a_breakpoint() {
    // SAFETY: int3 only raises #BP, which the harness catches.
    unsafe { core::arch::asm!("int3") };
}

#[kernel_test(expect_fault = UD)]
fn ud2_is_an_invalid_opcode() {
    // SAFETY: ud2 only raises #UD, which the harness catches.
    unsafe { core::arch::asm!("ud2") };
}

#[kernel_test(expect_fault = DE)]
fn dividing_by_zero_is_a_divide_error() {
    // SAFETY: a 64-bit division by zero only raises #DE.
    unsafe {
        core::arch::asm!("xor edx, edx", "mov eax, 1", "xor ecx, ecx", "div rcx", out("rax") _, out("rdx") _, out("rcx") _)
    };
}

#[kernel_test(expect_fault = GP)]
fn non_canonical_access_is_a_general_protection_fault() {
    crate::tests::paging::probe_write(0x8000_0000_0000, 1);
}

#[kernel_test(should_panic = "deliberate")]
fn panics_are_caught() {
    panic!("a deliberate panic");
}

#[kernel_test]
fn execution_continues_after_a_recovered_fault() {
    for _ in 0..3 {
        let outcome = crate::testing::recovery::run_guarded(|| {
            // SAFETY: raises #BP only.
            unsafe { core::arch::asm!("int3") }
        });
        assert!(matches!(outcome, crate::testing::recovery::Outcome::Faulted(f) if f.vector == 3));
    }
    let v: alloc::vec::Vec<u32> = (0..10).collect();
    assert_eq!(v.len(), 10);
}
