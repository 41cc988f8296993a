//! Bringing up the other CPUs.
//!
//! The boot CPU finds the processors in the ACPI MADT, copies the real-mode
//! trampoline (`entry-asm/src/boot/ap_trampoline.s`) to low memory, and
//! starts each application processor in turn with INIT-SIPI-SIPI. An AP
//! goes to long mode on a temporary page table (the kernel half plus an
//! identity mapping of the trampoline page, below 4 GiB as real mode needs),
//! enters [`ap_main`] on its own kernel stack, switches to the kernel page
//! table, and sets up its per-CPU data, entry area, GDT, TSS, IDT, SYSCALL
//! MSRs and local APIC before it reports in and idles. A CPU that does not
//! report within a timeout is reported and left out.

pub mod call;
pub mod shootdown;

use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use entry_asm::AP_TRAMPOLINE_PHYS;
use entry_asm::symbol_address;
use x86_64::structures::paging::PageTable;

use crate::arch::x86_64::paging::{self, KERNEL_TABLE_FLAGS, flags};
use crate::arch::x86_64::{acpi, apic, cpu};
use crate::mm::stack::{self, KernelStack};
use crate::mm::{frame, kernel_space, phys};
use crate::percpu;
use crate::{config, per_cpu, println, sched, time, trap};

/// How long an AP has to report in.
const START_TIMEOUT_NS: u64 = 500_000_000;

/// The index the next AP reports when it is up (0 = none yet).
static STARTED: AtomicU64 = AtomicU64::new(0);
/// The kernel stack top the next AP runs on.
static NEXT_STACK_TOP: AtomicU64 = AtomicU64::new(0);

per_cpu! {
    /// Each CPU's local APIC id (IPIs to a CPU go to its APIC id).
    static APIC_ID: AtomicU32 = AtomicU32::new(0);
}

/// Records this CPU's local APIC id (once its APIC is enabled).
pub fn record_apic_id() {
    APIC_ID.this().store(apic::id(), Ordering::Release);
}

/// CPU `cpu`'s local APIC id, if it has come up.
pub fn apic_id(cpu: usize) -> Option<u32> {
    APIC_ID.of(cpu).map(|id| id.load(Ordering::Acquire))
}

/// Sends interrupt `vector` to CPU `cpu` (nothing if it has not come up).
pub fn send_ipi(cpu: usize, vector: u8) {
    if let Some(id) = apic_id(cpu) {
        apic::send_ipi(id, vector);
    }
}

/// What bring-up found.
#[derive(Clone, Copy, Debug, Default)]
pub struct SmpReport {
    /// CPUs running (the boot CPU included).
    pub online: usize,
    /// CPUs the MADT lists as enabled.
    pub listed: usize,
    /// CPUs that did not answer.
    pub failed: usize,
    /// CPUs not started because of `maxcpus=` or `MAX_CPUS`.
    pub skipped: usize,
}

fn write_param(symbol: u64, value: u64) {
    let offset = symbol - symbol_address!(ap_trampoline_start);
    // SAFETY: the trampoline copy at AP_TRAMPOLINE_PHYS is ours (the first
    // MiB is never handed out) and reached through the direct map.
    unsafe { (phys::to_virt(AP_TRAMPOLINE_PHYS + offset) as *mut u64).write_volatile(value) };
}

/// A page table for the trip through the trampoline: the kernel half, plus
/// the trampoline page identity-mapped (executable). Its PML4 is below
/// 4 GiB, as the 32-bit CR3 load in real mode requires.
fn build_ap_boot_table() -> u64 {
    let pml4 = frame::alloc_below_4g_zeroed().expect("no frame below 4 GiB for the AP boot page table");
    // SAFETY: the kernel PML4's kernel half never changes after boot; the new PML4 is ours.
    unsafe {
        let kernel = &*(phys::to_virt(kernel_space::kernel_pml4()) as *const PageTable);
        let table = &mut *(phys::to_virt(pml4) as *mut PageTable);
        for slot in 256..512 {
            table[slot] = kernel[slot].clone();
        }
        paging::map_4k(pml4, AP_TRAMPOLINE_PHYS, AP_TRAMPOLINE_PHYS, flags::KERNEL_RX, KERNEL_TABLE_FLAGS)
            .expect("identity-mapping the AP trampoline");
    }
    pml4
}

/// Frees the boot table's lower half (the kernel half is shared).
fn free_ap_boot_table(pml4: u64) {
    fn free_level(table_phys: u64, level: u8) {
        // SAFETY: a table of the AP boot page table, no longer used by any CPU.
        let table = unsafe { &*(phys::to_virt(table_phys) as *const PageTable) };
        for e in table.iter().filter(|e| !e.is_unused()) {
            if level > 1 {
                free_level(e.addr().as_u64(), level - 1);
                frame::free(e.addr().as_u64());
            }
        }
    }
    // SAFETY: as above, the lower half of its PML4.
    let table = unsafe { &*(phys::to_virt(pml4) as *const PageTable) };
    for slot in 0..256 {
        if !table[slot].is_unused() {
            free_level(table[slot].addr().as_u64(), 3);
            frame::free(table[slot].addr().as_u64());
        }
    }
    frame::free(pml4);
}

/// Starts every other CPU the MADT lists (up to `max_cpus` in all).
pub fn start_application_processors(max_cpus: usize) -> SmpReport {
    let mut report = SmpReport { online: 1, ..SmpReport::default() };
    let Some(info) = acpi::info() else { return report };
    let bsp_apic = apic::id();
    let aps: heapless::Vec<u32, { entry_asm::layout::MAX_CPUS }> =
        info.cpus.iter().filter(|c| c.enabled && c.apic_id != bsp_apic).map(|c| c.apic_id).collect();
    report.listed = aps.len() + 1;
    report.skipped += info.cpus_ignored;
    if aps.is_empty() {
        return report;
    }
    // The trampoline page, its parameters and the boot page table.
    let tramp_len = symbol_address!(ap_trampoline_end) - symbol_address!(ap_trampoline_start);
    // SAFETY: copying the trampoline (in kernel rodata) to low memory the
    // kernel owns (below 1 MiB, never handed out).
    unsafe {
        core::ptr::copy_nonoverlapping(
            symbol_address!(ap_trampoline_start) as *const u8,
            phys::to_virt(AP_TRAMPOLINE_PHYS),
            tramp_len as usize,
        )
    };
    let boot_table = build_ap_boot_table();
    write_param(symbol_address!(ap_param_cr3), boot_table);
    write_param(symbol_address!(ap_param_entry), ap_main as *const () as u64);
    let delay_init = !cpu::features().hypervisor;

    for apic_id in aps {
        let index = report.online;
        if index >= max_cpus {
            report.skipped += 1;
            continue;
        }
        let Some(stack) = KernelStack::new(stack::DEFAULT_PAGES) else {
            println!("[libos] no memory for CPU {index}'s stack; left out");
            report.failed += 1;
            continue;
        };
        let top = stack.top();
        // The AP runs on this stack for good.
        core::mem::forget(stack);
        NEXT_STACK_TOP.store(top, Ordering::Release);
        write_param(symbol_address!(ap_param_stack), top);
        write_param(symbol_address!(ap_param_cpu), index as u64);
        STARTED.store(0, Ordering::Release);

        // INIT, then up to two STARTUPs (Intel MP specification).
        apic::send_init(apic_id);
        if delay_init {
            spin_ns(10_000_000);
        }
        let mut up = false;
        for _ in 0..2 {
            apic::send_startup(apic_id, (AP_TRAMPOLINE_PHYS >> 12) as u8);
            if wait_started(index, 1_000_000) {
                up = true;
                break;
            }
        }
        if !up {
            up = wait_started(index, START_TIMEOUT_NS);
        }
        if up {
            report.online += 1;
        } else {
            println!(
                "[libos] CPU with APIC id {apic_id} did not start within {} ms; left out",
                START_TIMEOUT_NS / 1_000_000
            );
            report.failed += 1;
        }
    }
    free_ap_boot_table(boot_table);
    report
}

fn spin_ns(ns: u64) {
    let end = time::deadline_after(ns);
    while time::rdtsc() < end {
        core::hint::spin_loop();
    }
}

fn wait_started(index: usize, ns: u64) -> bool {
    let end = time::deadline_after(ns);
    while time::rdtsc() < end {
        if STARTED.load(Ordering::Acquire) == index as u64 {
            return true;
        }
        core::hint::spin_loop();
    }
    STARTED.load(Ordering::Acquire) == index as u64
}

/// Where an AP arrives from the trampoline: 64-bit mode, the AP boot page
/// table, its own kernel stack, interrupts off.
extern "C" fn ap_main(index: u64) -> ! {
    // SAFETY: the kernel page table maps everything this code uses; the
    // boot table's identity mapping is not needed any more.
    unsafe { cpu::write_cr3(kernel_space::kernel_pml4()) };
    let index = index as usize;
    // SAFETY: the first thing this CPU does with its index, interrupts off.
    unsafe { percpu::init_cpu(index) };
    let stack_top = NEXT_STACK_TOP.load(Ordering::Acquire);
    cpu::enable_protections(cpu::features());
    crate::arch::x86_64::xstate::init_this_cpu();
    crate::process::vdso::init_cpu(index);
    if config::get().pcid_on() {
        cpu::enable_pcid();
    }
    trap::init_cpu(stack_top);
    apic::enable_this_cpu();
    record_apic_id();
    sched::init_cpu(stack_top);
    STARTED.store(index as u64, Ordering::Release);
    sched::idle_loop()
}

#[cfg(feature = "hooks")]
/// Has CPU `helper` send an NMI to the CPU with APIC id `target` once the
/// TSC reaches `deadline` (a kernel thread pinned to `helper`; for the
/// boot-time tests, so an NMI can arrive while an app runs in ring 3).
pub fn nmi_later(helper: usize, target: u32, deadline: u64) {
    extern "C" fn sender(arg: u64) -> ! {
        // SAFETY: `arg` is the Box leaked below, taken back exactly once.
        let (target, deadline) = *unsafe { alloc::boxed::Box::from_raw(arg as *mut (u32, u64)) };
        while time::rdtsc() < deadline {
            core::hint::spin_loop();
        }
        apic::send_nmi(target);
        sched::exit_current()
    }
    let arg = alloc::boxed::Box::into_raw(alloc::boxed::Box::new((target, deadline))) as u64;
    match sched::Task::new_kernel(sender, arg, helper, false) {
        Some(task) => sched::spawn(alloc::sync::Arc::new(task)),
        // SAFETY: the thread was not created, so the box is still ours.
        None => drop(unsafe { alloc::boxed::Box::from_raw(arg as *mut (u32, u64)) }),
    }
}
