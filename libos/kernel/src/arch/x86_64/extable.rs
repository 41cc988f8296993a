//! The exception table: instructions allowed to fault, and where to resume.
//!
//! The user-copy routines (`entry-asm/src/support/user_copy.s`) record
//! their copy instruction and a fixup address in `.ex_table`. A fault in
//! ring 0 whose RIP is in the table is not a kernel bug: it resumes at the
//! fixup, which reports the bytes not copied (Linux's exception tables).

use entry_asm::pt_regs::PtRegs;
use entry_asm::symbol_address;

/// One entry: the faulting instruction and where to continue.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
struct Entry {
    insn: u64,
    fixup: u64,
}

fn entries() -> &'static [Entry] {
    let start = symbol_address!(__ex_table_start);
    let end = symbol_address!(__ex_table_end);
    // SAFETY: the linker script gathers only .ex_table's 16-byte entries
    // (emitted by the assembly) between the two symbols.
    unsafe { core::slice::from_raw_parts(start as *const Entry, ((end - start) / 16) as usize) }
}

/// The fixup for a fault at `rip`, if the instruction may fault.
pub fn fixup_for(rip: u64) -> Option<u64> {
    entries().iter().find(|e| e.insn == rip).map(|e| e.fixup)
}

/// If the fault in `regs` is at an instruction of the table, sends it to
/// its fixup and returns `true`.
pub fn try_fixup(regs: &mut PtRegs) -> bool {
    match fixup_for(regs.rip) {
        Some(fixup) => {
            regs.rip = fixup;
            true
        }
        None => false,
    }
}
