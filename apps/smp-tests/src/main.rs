//! Ring-3 tests that need at least two CPUs: syscalls on every CPU through
//! its own trampoline, per-CPU data, and an NMI sent by another CPU while
//! the app runs in ring 3.
#![no_std]
#![no_main]

use libos::prelude::*;
use libos::testing::{require_cpus, spin_with_register_patterns};
use libos::{cpu, debug};

#[libos::main]
fn main() {
    libos::println!("smp-tests: run with `cargo xtask test smp_tests --smp 2`");
}

#[libos::test]
fn syscalls_work_on_every_cpu_through_its_own_entry_area() {
    require_cpus(2);
    let kpti = debug::call(debug::ENTRY_FLAGS, 0, 0).unwrap() & 1 != 0;
    let n = cpu::count();
    let mut lstar = Vec::new();
    let mut gs = Vec::new();
    for c in 0..n {
        cpu::pin_to(c).unwrap();
        assert_eq!(cpu::current(), c, "pinned to CPU {c} but running elsewhere");
        assert_eq!(cpu::affinity().unwrap(), 1 << c);
        assert!(libos::process::id() > 0);
        let t = libos::time::Instant::now();
        assert!(t.elapsed() < libos::time::Duration::from_secs(1));
        println!("CPU {c}: syscalls work");
        lstar.push(debug::call(debug::LSTAR, 0, 0).unwrap());
        gs.push(debug::call(debug::KERNEL_GS_BASE, 0, 0).unwrap());
    }
    for c in 1..n {
        if kpti {
            assert_eq!(
                lstar[c] - lstar[c - 1],
                debug::ENTRY_AREA_STRIDE,
                "LSTAR of CPU {c} is not one stride after CPU {}",
                c - 1
            );
        } else {
            assert_eq!(lstar[c], lstar[0], "without KPTI every CPU enters at the same place");
        }
        assert!(!gs[..c].contains(&gs[c]), "CPU {c} shares its per-CPU data");
    }
}

#[libos::test]
fn an_nmi_in_ring_3_returns_with_registers_intact() {
    require_cpus(2);
    cpu::pin_to(0).unwrap();
    let before = debug::call(debug::NMI_COUNT, 0, 0).unwrap();
    debug::call(debug::NMI_FROM_CPU, 1, 2_000_000).unwrap();
    // Spin in 50 ms pieces until the NMI has come (the other CPU's vCPU
    // may be slow to run on a loaded host), at most 5 s. Almost all the
    // time is spent spinning in ring 3, so that is where the NMI lands.
    let piece = 50 * debug::call(debug::TSC_HZ, 0, 0).unwrap() / 1000;
    let mut intact = true;
    for _ in 0..100 {
        intact &= spin_with_register_patterns(0x5eed, piece, u64::MAX).intact;
        if debug::call(debug::NMI_COUNT, 0, 0).unwrap() > before {
            break;
        }
    }
    let after = debug::call(debug::NMI_COUNT, 0, 0).unwrap();
    assert!(after > before, "no NMI arrived while the app ran");
    assert!(intact, "registers changed across the NMI");
}
