//! Real files from the host, when they exist.

use std::path::Path;
use std::vec::Vec;

use super::builder::POLICY;
use crate::*;

/// Reads `path`, or returns `None` (and says so) if it cannot be read.
fn read(path: &Path) -> Option<Vec<u8>> {
    match std::fs::read(path) {
        Ok(bytes) => Some(bytes),
        Err(error) => {
            std::eprintln!("skipping {}: {error}", path.display());
            None
        }
    }
}

#[test]
fn bin_true() {
    let Some(bytes) = read(Path::new("/bin/true")) else {
        return;
    };
    let elf = Elf::parse(&bytes).unwrap();
    assert!(elf.load_segments().count() > 0);
    assert!(elf.load_segments().any(|s| s.header.flags.executable()));
    // Debian's /bin/true is a position-independent executable (ET_DYN) with
    // an interpreter: not something the kernel can load.
    let error = elf.check_loadable(&POLICY).unwrap_err();
    if elf.kind() == ElfKind::SharedObject {
        assert_eq!(error, ElfError::NotExecutable { kind: ET_DYN });
    }
    assert!(std::format!("{error}").starts_with("not a static executable"));
    // Stripped, but its section headers are intact.
    let sections = elf.sections().unwrap();
    assert!(sections.len() > 0);
    assert!(elf.section_by_name(".text").unwrap().is_some());
    let _ = elf.symbols().unwrap().count();
}

#[test]
fn this_test_binary() {
    // The test executable itself: a large, unstripped, real-world ELF.
    let Some(path) = std::env::current_exe().ok() else {
        return;
    };
    let Some(bytes) = read(&path) else {
        return;
    };
    let elf = Elf::parse(&bytes).unwrap();
    assert!(matches!(elf.kind(), ElfKind::Executable | ElfKind::SharedObject));
    let text = elf.section_by_name(".text").unwrap().unwrap();
    assert!(text.flags & SHF_EXECINSTR != 0);
    // The entry point lies in .text.
    assert!((text.addr..text.addr + text.size).contains(&elf.entry()));
    // Symbols are there unless something stripped the binary.
    let symbols = elf.symbols().unwrap();
    if symbols.len() > 0 {
        let name = "this_test_binary";
        assert!(elf.symbols().unwrap().any(|s| s.name.contains(name) && s.symbol_type() == STT_FUNC));
    }
}
