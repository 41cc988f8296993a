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
    // Debian's /bin/true is dynamically linked: it names its interpreter,
    // which the kernel refuses.
    let error = elf.check_loadable(&POLICY).unwrap_err();
    assert!(matches!(error, ElfError::HasInterpreter { .. }), "{error}");
    assert!(std::format!("{error}").starts_with("not a static executable"));
    let interpreter = elf.interpreter().unwrap();
    assert!(interpreter.starts_with(b"/lib"), "{interpreter:?}");
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

/// Debian's `busybox-static` (glibc, static ET_EXEC with PT_TLS and
/// PT_GNU_RELRO), when installed.
#[test]
fn busybox_static() {
    let Some(bytes) = read(Path::new("/bin/busybox")) else {
        return;
    };
    let elf = Elf::parse(&bytes).unwrap();
    if elf.interpreter().is_some() {
        std::eprintln!("skipping /bin/busybox: not the static build");
        return;
    }
    elf.check_loadable(&POLICY).unwrap();
    assert_eq!(elf.load_bias(&POLICY), 0);
    assert!(elf.tls().is_some());
    assert!(elf.program_headers().any(|ph| ph.kind == PT_GNU_RELRO));
}
