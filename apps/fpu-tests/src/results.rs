//! Float results are IEEE-754 exact: a table of operations with the bits
//! the host computes for them (`cargo test` on x86-64 Linux gives the same
//! bits: these operations are correctly rounded by definition).

use core::hint::black_box;

/// SQRTSD (`core` has no `f64::sqrt` without `std`).
fn sqrt(x: f64) -> f64 {
    let r: f64;
    // SAFETY: SQRTSD on registers.
    unsafe {
        core::arch::asm!("sqrtsd {r}, {x}", r = out(xmm_reg) r, x = in(xmm_reg) x, options(pure, nomem, nostack))
    };
    r
}

/// An operation: its name, the code, and the result's bits.
type Case = (&'static str, fn() -> f64, u64);

/// f64 bits of (operation, result).
const F64_TABLE: &[Case] = &[
    ("sqrt(2)", || sqrt(black_box(2.0)), 0x3ff6_a09e_667f_3bcd),
    ("1/3", || black_box(1.0f64) / black_box(3.0), 0x3fd5_5555_5555_5555),
    ("2/3", || black_box(2.0f64) / black_box(3.0), 0x3fe5_5555_5555_5555),
    ("0.1+0.2", || black_box(0.1f64) + black_box(0.2), 0x3fd3_3333_3333_3334),
    ("1e308*10", || black_box(1e308f64) * black_box(10.0), 0x7ff0_0000_0000_0000),
    ("5e-324/2", || black_box(5e-324f64) / black_box(2.0), 0),
    ("(2^53+1) as f64", || black_box((1u64 << 53) + 1) as f64, 0x4340_0000_0000_0000),
    ("i64::MIN as f64", || black_box(i64::MIN) as f64, 0xc3e0_0000_0000_0000),
    ("(1/3) as f32 as f64", || (black_box(1.0f64) / 3.0) as f32 as f64, 0x3fd5_5555_6000_0000),
    ("sqrt(1e-300)", || sqrt(black_box(1e-300)), 0x20ca_2fe7_6a3f_9475),
];

#[libos::test]
fn float_results_are_bit_exact() {
    for (name, op, want) in F64_TABLE {
        let got = op().to_bits();
        assert_eq!(got, *want, "{name}: {got:#018x}, the host gives {want:#018x}");
    }
    // Conversions to integers (truncating, and saturating as Rust defines `as`).
    assert_eq!(black_box(-2.75f64) as i64, -2);
    assert_eq!(black_box(1e20f64) as i64, i64::MAX);
    assert_eq!(black_box(f64::NAN) as i32, 0);
    assert_eq!(black_box(3.5f32) as u8, 3);
}

#[libos::test]
fn fused_multiply_add_rounds_once() {
    if crate::cpuid(1, 0).ecx & (1 << 12) == 0 || !crate::avx_on() {
        libos::testing::skip("the CPU has no FMA");
    }
    // a*b+c with a = 1+2^-52, b = 1-2^-52, c = -1: exactly -2^-104, which a
    // separate multiply rounds away (it gives 0).
    let (a, b, c) = (1.0 + f64::EPSILON, 1.0 - f64::EPSILON, -1.0f64);
    let fused: f64;
    // SAFETY: VFMADD213SD on registers only (FMA is there: checked above).
    unsafe {
        core::arch::asm!(
            "vfmadd213sd {a}, {b}, {c}",
            a = inout(xmm_reg) black_box(a) => fused, b = in(xmm_reg) black_box(b), c = in(xmm_reg) black_box(c),
            options(pure, nomem, nostack)
        )
    };
    assert_eq!(fused.to_bits(), 0xb970_0000_0000_0000, "-2^-104");
    assert_eq!((black_box(a) * black_box(b) + black_box(c)).to_bits(), 0);
}
