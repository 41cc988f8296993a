//! Every CPU: its entry area, its SYSCALL target, its GS, interrupts and
//! NMIs, and TLB shootdowns between CPUs.

use core::sync::atomic::{AtomicU64, Ordering};

use entry_asm::cpu_entry_area::{self as cea, IST_COUNT, IST_STACK_SIZE, IST_STACKS, STRIDE};
use entry_asm::layout::{MAX_CPUS, PAGE_SIZE};
use entry_asm::symbol_address;
use libos_macros::kernel_test;
use x86_64::registers::model_specific::{GsBase, KernelGsBase};

use crate::arch::x86_64::paging::Flags;
use crate::arch::x86_64::percpu::header_address;
use crate::arch::x86_64::{apic, syscall, vectors};
use crate::mm::kernel_space;
use crate::mm::stack::KernelStack;
use crate::percpu;
use crate::smp::call::call_on;
use crate::testing::recovery::{Outcome, run_guarded};
use crate::testing::require_cpus;
use crate::trap::irq::TEST_INTERRUPTS;
use crate::trap::paranoid::NMIS;
use crate::{config, time};

static SEEN: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];

fn on_each_cpu(f: fn(u64)) -> usize {
    let n = percpu::cpu_count();
    for cpu in 0..n {
        call_on(cpu, f, cpu as u64);
    }
    n
}

#[kernel_test]
fn each_cpu_enters_syscalls_through_its_own_trampoline() {
    let n = on_each_cpu(|i| SEEN[i as usize].store(syscall::lstar(), Ordering::Relaxed));
    let trampoline = if config::get().pcid_on() {
        symbol_address!(entry_SYSCALL_64_trampoline_pcid)
    } else {
        symbol_address!(entry_SYSCALL_64_trampoline)
    };
    let offset = trampoline - symbol_address!(entry_trampoline_page);
    for cpu in 0..n {
        let lstar = SEEN[cpu].load(Ordering::Relaxed);
        if config::get().kpti {
            assert_eq!(lstar, cea::area_address(cpu) + cea::TRAMPOLINE + offset, "CPU {cpu}'s LSTAR");
            if cpu > 0 {
                assert_eq!(
                    lstar - SEEN[cpu - 1].load(Ordering::Relaxed),
                    STRIDE,
                    "LSTARs of CPUs {} and {cpu}",
                    cpu - 1
                );
            }
        } else {
            assert_eq!(lstar, symbol_address!(entry_SYSCALL_64), "CPU {cpu}'s LSTAR without KPTI");
        }
    }
}

#[kernel_test]
fn each_cpu_has_gs_on_its_own_data() {
    let n = on_each_cpu(|i| {
        let gs = GsBase::read().as_u64();
        let ok = gs == header_address() && percpu::cpu_index() == i as usize && KernelGsBase::read().as_u64() == 0;
        SEEN[i as usize].store(if ok { gs } else { 0 }, Ordering::Relaxed);
    });
    for (cpu, seen) in SEEN.iter().enumerate().take(n) {
        let gs = seen.load(Ordering::Relaxed);
        assert_ne!(gs, 0, "CPU {cpu}: GS base, index or user GS base wrong");
        for (other, earlier) in SEEN.iter().enumerate().take(cpu) {
            assert_ne!(gs, earlier.load(Ordering::Relaxed), "CPUs {other} and {cpu} share per-CPU data");
        }
    }
}

#[kernel_test]
fn each_cpu_has_its_entry_area() {
    let trampoline_phys = crate::mm::phys::image_to_phys(symbol_address!(entry_trampoline_page));
    for cpu in 0..percpu::cpu_count() {
        let base = cea::area_address(cpu);
        let t = |off: u64| kernel_space::translate(base + off);
        let gdt = t(cea::GDT).expect("GDT mapped");
        assert!(!gdt.flags.contains(Flags::WRITABLE), "CPU {cpu}: GDT alias writable");
        assert!(t(cea::TSS).is_some() && t(cea::ENTRY_STACK).is_some(), "CPU {cpu}: TSS or entry stack missing");
        let tramp = t(cea::TRAMPOLINE).expect("trampoline mapped");
        assert_eq!(tramp.phys, trampoline_phys, "CPU {cpu}: trampoline alias maps something else");
        assert!(!tramp.flags.contains(Flags::NO_EXECUTE) && !tramp.flags.contains(Flags::WRITABLE));
        for (ist, &bottom) in IST_STACKS.iter().enumerate().take(IST_COUNT) {
            assert!(t(bottom - PAGE_SIZE).is_none(), "CPU {cpu}: IST {ist} has no guard page");
            assert!(t(bottom).is_some() && t(bottom + IST_STACK_SIZE - PAGE_SIZE).is_some());
            assert!(t(bottom).unwrap().flags.contains(Flags::NO_EXECUTE));
        }
    }
    // Every CPU runs on its own GDT and TSS from its area and the IDT alias.
    let n = on_each_cpu(|i| {
        let gdt = x86_64::instructions::tables::sgdt();
        let idt = x86_64::instructions::tables::sidt();
        let tr: u16;
        // SAFETY: STR only reads the task register.
        unsafe { core::arch::asm!("str {0:x}", out(reg) tr, options(nomem, nostack, preserves_flags)) };
        let ok = gdt.base.as_u64() == cea::area_address(i as usize) + cea::GDT
            && idt.base.as_u64() == cea::idt_address()
            && tr == entry_asm::hw::selector::TSS;
        SEEN[i as usize].store(ok as u64, Ordering::Relaxed);
    });
    for (cpu, seen) in SEEN.iter().enumerate().take(n) {
        assert_eq!(seen.load(Ordering::Relaxed), 1, "CPU {cpu}: GDTR, IDTR or TR not its own");
    }
}

fn wait_for(counter: &AtomicU64, above: u64) -> bool {
    let end = time::deadline_after(200_000_000);
    while time::rdtsc() < end {
        if counter.load(Ordering::Relaxed) > above {
            return true;
        }
        core::hint::spin_loop();
    }
    false
}

#[kernel_test]
fn an_nmi_taken_in_the_kernel_returns() {
    let nmis = NMIS.this();
    let before = nmis.load(Ordering::Relaxed);
    let marker = core::hint::black_box(0x1234_5678_u64);
    apic::send_nmi(apic::id());
    assert!(wait_for(nmis, before), "the NMI never arrived");
    assert_eq!(core::hint::black_box(marker), 0x1234_5678);
}

#[kernel_test]
fn a_self_ipi_taken_in_the_kernel_returns() {
    let count = TEST_INTERRUPTS.this();
    let before = count.load(Ordering::Relaxed);
    apic::send_self(vectors::TEST);
    assert!(wait_for(count, before), "the self-IPI never arrived");
}

#[kernel_test]
fn a_timer_interrupt_taken_in_the_kernel_returns() {
    let count = TEST_INTERRUPTS.this();
    let before = count.load(Ordering::Relaxed);
    crate::sched::timer::add_test_event(100_000).expect("a test timer event");
    assert!(wait_for(count, before), "the timer interrupt never arrived");
}

#[kernel_test]
fn an_nmi_from_another_cpu_arrives() {
    require_cpus(2);
    let nmis = NMIS.this();
    let before = nmis.load(Ordering::Relaxed);
    crate::smp::nmi_later(1, apic::id(), time::deadline_after(1_000_000));
    assert!(wait_for(nmis, before), "the NMI from CPU 1 never arrived");
}

static SHOOTDOWN_ADDRESS: AtomicU64 = AtomicU64::new(0);

/// A kernel page unmapped on one CPU is gone on the others too: without
/// the shootdown, CPU 1 would still reach it through its TLB.
#[kernel_test]
fn tlb_shootdown_reaches_other_cpus() {
    require_cpus(2);
    let stack = KernelStack::new(1).expect("stack");
    let page = stack.bottom();
    // SAFETY: the page is ours and mapped.
    unsafe { (page as *mut u64).write_volatile(0xC0FFEE) };
    SHOOTDOWN_ADDRESS.store(page, Ordering::Relaxed);
    // CPU 1 reads it: its TLB now holds the translation.
    call_on(
        1,
        |_| {
            // SAFETY: mapped until CPU 0 drops the stack, after this call returns.
            let v = unsafe { (SHOOTDOWN_ADDRESS.load(Ordering::Relaxed) as *const u64).read_volatile() };
            SEEN[1].store(v, Ordering::Relaxed);
        },
        0,
    );
    assert_eq!(SEEN[1].load(Ordering::Relaxed), 0xC0FFEE);
    drop(stack);
    // CPU 1 reads it again: it must fault.
    call_on(
        1,
        |_| {
            let addr = SHOOTDOWN_ADDRESS.load(Ordering::Relaxed);
            let outcome = run_guarded(|| {
                crate::tests::paging::probe_read(addr);
            });
            SEEN[1].store(
                matches!(outcome, Outcome::Faulted(f) if f.vector == 14 && f.cr2 == addr) as u64,
                Ordering::Relaxed,
            );
        },
        0,
    );
    assert_eq!(SEEN[1].load(Ordering::Relaxed), 1, "CPU 1 still reached the unmapped page");
}

static DEVICE_INTERRUPTS: AtomicU64 = AtomicU64::new(0);

/// A device vector runs the handler it was requested with, with its data,
/// counts its arrivals, and is free again once released.
#[kernel_test]
fn a_device_vector_runs_its_handler() {
    let vector = crate::trap::irq::request_device_vector(
        |data| {
            DEVICE_INTERRUPTS.fetch_add(data as u64, Ordering::Relaxed);
        },
        1,
    )
    .expect("a free device vector");
    assert!((vectors::DEVICE_FIRST..=vectors::DEVICE_LAST).contains(&vector));
    let before = DEVICE_INTERRUPTS.load(Ordering::Relaxed);
    apic::send_self(vector);
    assert!(wait_for(&DEVICE_INTERRUPTS, before), "the device vector's handler never ran");
    assert_eq!(crate::trap::irq::device_vector_count(vector), 1, "one arrival counted");
    crate::trap::irq::release_device_vector(vector);
    let again = crate::trap::irq::request_device_vector(|_| {}, 0).expect("the vector is free again");
    assert_eq!(again, vector, "the released vector is handed out first");
    crate::trap::irq::release_device_vector(again);
}

/// A step the test's two CPUs have reached (0: none).
static STEP_CPU0: AtomicU64 = AtomicU64::new(0);
static STEP_CPU1: AtomicU64 = AtomicU64::new(0);
static LOCK_CPU0: crate::sync::SpinLock<()> = crate::sync::SpinLock::new(());
static LOCK_CPU1: crate::sync::SpinLock<()> = crate::sync::SpinLock::new(());

/// Waits (up to two seconds) until `step` reaches `at_least`.
fn wait_for_step(step: &AtomicU64, at_least: u64) -> bool {
    let end = time::deadline_after(2_000_000_000);
    while time::rdtsc() < end {
        if step.load(Ordering::Acquire) >= at_least {
            return true;
        }
        core::hint::spin_loop();
    }
    false
}

/// Shoots a kernel page down on CPU `cpu` alone (the page is any address:
/// the target only invalidates it), the way `smp::shootdown` does.
fn shoot_down(cpu: usize) {
    crate::smp::call::call_on_many(
        1 << cpu,
        crate::arch::x86_64::paging::flush_local,
        &STEP_CPU0 as *const AtomicU64 as u64,
    );
}

/// Runs `func` as a kernel thread on CPU 1.
fn on_cpu1(func: extern "C" fn(u64) -> !) {
    let task = crate::sched::Task::new_kernel(func, 0, 1, false).expect("a kernel thread");
    crate::sched::spawn(alloc::sync::Arc::new(task));
}

/// Two CPUs, each holding a lock (interrupts off), shoot each other down at
/// once: each waits for the other's answer, and each answers the other's
/// request from its own waiting loop (`smp::call`). Without that, both
/// would wait forever, and the harness would report a hang.
#[kernel_test]
fn two_cpus_shooting_each_other_down_while_holding_locks_do_not_deadlock() {
    require_cpus(2);
    STEP_CPU0.store(0, Ordering::Release);
    STEP_CPU1.store(0, Ordering::Release);
    extern "C" fn cpu1(_: u64) -> ! {
        let guard = LOCK_CPU1.lock();
        STEP_CPU1.store(1, Ordering::Release);
        if wait_for_step(&STEP_CPU0, 1) {
            shoot_down(0);
        }
        drop(guard);
        STEP_CPU1.store(2, Ordering::Release);
        crate::sched::exit_current()
    }
    let guard = LOCK_CPU0.lock();
    on_cpu1(cpu1);
    assert!(wait_for_step(&STEP_CPU1, 1), "CPU 1 never took its lock");
    STEP_CPU0.store(1, Ordering::Release);
    shoot_down(1);
    drop(guard);
    assert!(wait_for_step(&STEP_CPU1, 2), "CPU 1 never finished its shootdown");
}

/// A CPU that waits for a lock with interrupts on answers the holder's
/// shootdown from its interrupt handler while it spins (the lock itself
/// runs nothing), so the holder's shootdown completes and the lock is
/// released.
#[kernel_test]
fn a_cpu_spinning_on_a_lock_answers_the_holders_shootdown() {
    require_cpus(2);
    STEP_CPU0.store(0, Ordering::Release);
    STEP_CPU1.store(0, Ordering::Release);
    extern "C" fn cpu1(_: u64) -> ! {
        STEP_CPU1.store(1, Ordering::Release);
        // Spins here, interrupts on (a kernel thread runs with them on),
        // while CPU 0 holds the lock and shoots CPU 1 down.
        let guard = LOCK_CPU0.lock();
        drop(guard);
        STEP_CPU1.store(2, Ordering::Release);
        crate::sched::exit_current()
    }
    let guard = LOCK_CPU0.lock();
    on_cpu1(cpu1);
    assert!(wait_for_step(&STEP_CPU1, 1), "CPU 1 never started");
    // Give CPU 1 time to reach its spin on the lock.
    let end = time::deadline_after(5_000_000);
    while time::rdtsc() < end {
        core::hint::spin_loop();
    }
    shoot_down(1);
    drop(guard);
    assert!(wait_for_step(&STEP_CPU1, 2), "CPU 1 never got the lock");
}
