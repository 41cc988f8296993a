//! What a production kernel must not contain: the test and benchmark
//! hooks, read off the symbol table of a built kernel ELF (as `nm` would).
//!
//! The entry text of a test kernel records every CR3 write; each store
//! carries a local symbol `entry_record_cr3_N` (entry-asm's `RECORD_CR3`).
//! A benchmark kernel has the floor entries `entry_SYSCALL_64_bench_floor`
//! and `..._trampoline`. Both have the `libos_debug` and
//! `libos_test_register` handlers and table entries. A production kernel
//! has none of them: `cargo xtask test` checks the production kernel it
//! built, and checks that the test kernel has them (so the check can fail).

use anyhow::{Result, anyhow};
use libos_elf::Elf;

/// Parts of symbol names that only the hooks have.
pub const HOOK_SYMBOL_MARKS: [&str; 4] =
    ["entry_record_cr3", "entry_SYSCALL_64_bench_floor", "libos_debug", "libos_test_register"];

/// The symbols of the ELF file `bytes` whose names contain a hook mark.
pub fn hook_symbols(bytes: &[u8]) -> Result<Vec<String>> {
    let elf = Elf::parse(bytes).map_err(|e| anyhow!("{e}"))?;
    let symbols = elf.symbols().map_err(|e| anyhow!("{e}"))?;
    Ok(symbols
        .filter(|s| HOOK_SYMBOL_MARKS.iter().any(|mark| s.name.contains(mark)))
        .map(|s| s.name.to_string())
        .collect())
}

/// The verdict on a production kernel: `Err` lists (some of) the hook
/// symbols found.
pub fn check_production(bytes: &[u8]) -> Result<(), String> {
    match hook_symbols(bytes) {
        Ok(found) if found.is_empty() => Ok(()),
        Ok(found) => Err(format!(
            "{} hook symbol(s) in the production kernel: {}",
            found.len(),
            found.iter().take(5).cloned().collect::<Vec<_>>().join(", ")
        )),
        Err(e) => Err(format!("cannot read the kernel's symbols: {e}")),
    }
}

/// The verdict on a test kernel: it must show both the CR3 records of its
/// entry text and the `libos_debug` hook, or the production check proves
/// nothing.
pub fn check_testing(bytes: &[u8]) -> Result<(), String> {
    let found = hook_symbols(bytes).map_err(|e| format!("cannot read the kernel's symbols: {e}"))?;
    for mark in ["entry_record_cr3", "libos_debug"] {
        if !found.iter().any(|s| s.contains(mark)) {
            return Err(format!("no `{mark}` symbol in the test kernel: the production check could not see one"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_that_is_not_elf_is_an_error() {
        assert!(hook_symbols(b"not an ELF file").is_err());
        assert!(check_production(b"not an ELF file").is_err());
        assert!(check_testing(b"not an ELF file").is_err());
    }
}
