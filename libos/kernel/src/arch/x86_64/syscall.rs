//! SYSCALL/SYSRET: the MSRs, and the rules SYSRET returns under (Intel SDM
//! Vol. 2B, "SYSCALL" and "SYSRET"; AMD APM Vol. 3). The Rust side of the
//! entry is `crate::trap::syscall`.

use entry_asm::hw::{efer, msr, rflags, selector};
use entry_asm::layout::USER_END;
use entry_asm::pt_regs::PtRegs;
use entry_asm::symbol_address;
use x86_64::registers::model_specific::Msr;

use crate::arch::x86_64::cpu_entry_area::EntryArea;

// The test suite computes expected LSTARs with the ABI's copy of the stride.
const _: () = assert!(entry_asm::cpu_entry_area::STRIDE == libos_abi::debug::ENTRY_AREA_STRIDE);

/// RFLAGS bits SYSCALL clears (SFMASK), each for a reason:
/// - TF: the kernel must not single-step the app's trap into the entry code;
/// - IF: no interrupt before the entry has a stack and a saved frame (it
///   re-enables them once pt_regs is complete);
/// - DF: the kernel (and Rust) assume string instructions count up;
/// - IOPL: ring 0 needs no I/O privilege from the app, and IOPL 3 must not
///   survive into code that later returns with IRET;
/// - NT: a nested-task flag would make IRET attempt a task switch;
/// - AC: with SMAP, AC=1 would let the kernel touch user memory anywhere;
///   only STAC/CLAC around user copies may set it.
pub const SFMASK: u64 = rflags::TF | rflags::IF | rflags::DF | rflags::IOPL | rflags::NT | rflags::AC;

fn wrmsr(reg: u32, value: u64) {
    // SAFETY: the MSRs written here are the architectural SYSCALL MSRs,
    // with values that point at the kernel's own entry code and selectors.
    unsafe { Msr::new(reg).write(value) };
}

/// Address of `symbol` inside the alias of the trampoline page in the
/// entry area at `area`.
fn trampoline_alias(area: u64, symbol: u64) -> u64 {
    area + entry_asm::cpu_entry_area::TRAMPOLINE + (symbol - symbol_address!(entry_trampoline_page))
}

/// The LSTAR of the normal entry: this CPU's trampoline alias (KPTI; the
/// PCID variant with PCID on), or the direct entry.
fn entry_lstar(area: u64, kpti: bool, pcid: bool) -> u64 {
    match (kpti, pcid) {
        (false, _) => symbol_address!(entry_SYSCALL_64),
        (true, false) => trampoline_alias(area, symbol_address!(entry_SYSCALL_64_trampoline)),
        (true, true) => trampoline_alias(area, symbol_address!(entry_SYSCALL_64_trampoline_pcid)),
    }
}

/// Enables SYSCALL on this CPU: STAR with Linux's selector layout, LSTAR
/// at this CPU's trampoline (KPTI, with or without PCID) or the direct
/// entry, CSTAR at the compat refusal.
pub fn init_cpu(area: &EntryArea, kpti: bool, pcid: bool) {
    // SAFETY: setting EFER.SCE only enables the SYSCALL instruction, whose
    // MSRs are set right below before any ring-3 code runs.
    unsafe { Msr::new(msr::EFER).write(Msr::new(msr::EFER).read() | efer::SCE as u64) };
    // SYSCALL: CS = STAR[47:32], SS = +8. SYSRET (64-bit): CS = STAR[63:48]
    // + 16, SS = STAR[63:48] + 8; with USER32_CS there, that is USER_CS and
    // USER_DS (Linux's GDT order).
    wrmsr(msr::STAR, ((selector::USER32_CS as u64) << 48) | ((selector::KERNEL_CS as u64) << 32));
    wrmsr(msr::LSTAR, entry_lstar(area.base, kpti, pcid));
    // 32-bit compatibility mode: -ENOSYS straight back (no CR3 switch needed).
    wrmsr(msr::CSTAR, symbol_address!(entry_SYSCALL_compat));
    wrmsr(msr::SFMASK, SFMASK);
}

/// Points this CPU's LSTAR at the benchmark's floor entry (`on`), which
/// returns from every SYSCALL at once except `libos_debug`, or back at the
/// normal entry. Only `cargo xtask bench` asks for this, from a thread
/// pinned to this CPU; only benchmark kernels have the floor.
#[cfg(feature = "bench")]
pub fn set_bench_floor(on: bool, kpti: bool, pcid: bool) {
    let area = entry_asm::cpu_entry_area::area_address(super::percpu::cpu_index());
    let lstar = match (on, kpti, pcid) {
        (false, _, _) => entry_lstar(area, kpti, pcid),
        (true, false, _) => symbol_address!(entry_SYSCALL_64_bench_floor),
        (true, true, false) => trampoline_alias(area, symbol_address!(entry_SYSCALL_64_bench_floor_trampoline)),
        (true, true, true) => trampoline_alias(area, symbol_address!(entry_SYSCALL_64_bench_floor_trampoline_pcid)),
    };
    wrmsr(msr::LSTAR, lstar);
}

/// This CPU's LSTAR (read by the test hooks).
#[cfg(feature = "hooks")]
pub fn lstar() -> u64 {
    // SAFETY: reading LSTAR has no side effects.
    unsafe { Msr::new(msr::LSTAR).read() }
}

/// Whether SYSRET may return to `regs` (Linux's conditions in
/// `do_syscall_64`): RCX and R11 must hold RIP and RFLAGS (SYSRET loads
/// them from there), CS and SS must be the 64-bit user selectors, RIP must
/// be below the end of user space (SYSRET to a non-canonical RIP faults in
/// ring 0 with the user's RSP on Intel: the 2012 SYSRET bug), and TF and RF
/// must be clear (SYSRET would trap or resume in the wrong place).
pub fn sysret_is_safe(regs: &PtRegs) -> bool {
    regs.rcx == regs.rip
        && regs.r11 == regs.rflags
        && regs.cs == selector::USER_CS as u64
        && regs.ss == selector::USER_DS as u64
        && regs.rip < USER_END
        && regs.rflags & (rflags::RF | rflags::TF) == 0
}
