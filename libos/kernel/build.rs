//! Writes the kernel's linker script from `linker.ld.in` and the layout
//! constants of `entry_asm::layout`, and links the kernel binary with it;
//! builds the vDSO (`vdso/`) that the kernel embeds.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::{env, fs};

fn main() {
    let template_path = "linker.ld.in";
    println!("cargo:rerun-if-changed={template_path}");
    let template = fs::read_to_string(template_path).expect("read linker.ld.in");
    let script = template
        .replace("@KERNEL_PHYS_BASE@", &format!("{:#x}", entry_asm::layout::KERNEL_PHYS_BASE))
        .replace("@KERNEL_VIRT_OFFSET@", &format!("{:#x}", entry_asm::layout::KERNEL_VIRT_OFFSET));
    assert!(!script.contains('@'), "unfilled placeholder in linker.ld.in");
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR")).join("kernel.ld");
    fs::write(&out, script).expect("write kernel.ld");
    println!("cargo:rustc-link-arg-bins=-T{}", out.display());
    println!("cargo:rustc-link-arg-bins=--gc-sections");
    println!("cargo:rustc-link-arg-bins=-zmax-page-size=4096");
    build_vdso();
}

/// Compiles `vdso/vdso.rs` alone (the compiler that builds the kernel, for
/// the kernel's target, position independent) and links it with the
/// toolchain's `rust-lld` into `$OUT_DIR/vdso.so`, which `process/vdso.rs`
/// embeds. Fails the build if the object needs relocating or has undefined
/// symbols: nobody relocates a vDSO, and nothing is linked with it.
fn build_vdso() {
    for f in ["vdso/vdso.rs", "vdso/vdso.lds", "vdso/vdso.ver", "../abi/src/vdso_data.rs"] {
        println!("cargo:rerun-if-changed={f}");
    }
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR"));
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let object = out.join("vdso.o");
    let status = Command::new(&rustc)
        .args(["--edition", "2024", "--crate-type", "lib", "--crate-name", "libos_vdso", "--emit", "obj"])
        .args(["--target", "x86_64-unknown-none"])
        .args(["-C", "opt-level=2", "-C", "panic=abort", "-C", "debuginfo=0"])
        .args(["-C", "relocation-model=pic", "-C", "code-model=small", "-D", "warnings"])
        .arg("-o")
        .arg(&object)
        .arg("vdso/vdso.rs")
        // The kernel's flags (relocation-model=static...) are not the vDSO's.
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .status()
        .expect("run rustc for the vDSO");
    assert!(status.success(), "compiling the vDSO failed");

    let sysroot = Command::new(&rustc).args(["--print", "sysroot"]).output().expect("rustc --print sysroot");
    let sysroot = String::from_utf8(sysroot.stdout).expect("sysroot is UTF-8");
    let host = env::var("HOST").expect("HOST");
    let lld = Path::new(sysroot.trim()).join("lib/rustlib").join(host).join("bin/rust-lld");
    let so = out.join("vdso.so");
    let status = Command::new(&lld)
        .args(["-flavor", "gnu", "-shared", "-soname", "linux-vdso.so.1", "--hash-style=both"])
        .args(["--no-undefined", "-z", "max-page-size=4096", "-z", "noexecstack", "--build-id=none"])
        .args(["-T", "vdso/vdso.lds", "--version-script", "vdso/vdso.ver", "--strip-debug", "-o"])
        .arg(&so)
        .arg(&object)
        .status()
        .unwrap_or_else(|e| panic!("run {}: {e}", lld.display()));
    assert!(status.success(), "linking the vDSO failed");
    let image = fs::read(&so).expect("read vdso.so");
    check_vdso(&image);
}

/// The checks Linux's `vdso2c` makes: a 64-bit little-endian shared object
/// with no relocation sections (`.rela.dyn` would mean an address only a
/// dynamic loader could fix, and the vDSO has none).
fn check_vdso(image: &[u8]) {
    let u16_at = |o: usize| u16::from_le_bytes(image[o..o + 2].try_into().unwrap());
    let u32_at = |o: usize| u32::from_le_bytes(image[o..o + 4].try_into().unwrap());
    let u64_at = |o: usize| u64::from_le_bytes(image[o..o + 8].try_into().unwrap());
    assert_eq!(&image[..4], b"\x7fELF", "the vDSO is not an ELF file");
    assert_eq!((image[4], image[5]), (2, 1), "the vDSO is not 64-bit little-endian");
    assert_eq!(u16_at(16), 3, "the vDSO is not a shared object (ET_DYN)");
    let (shoff, shentsize, shnum) = (u64_at(0x28) as usize, u16_at(0x3a) as usize, u16_at(0x3c) as usize);
    for i in 0..shnum {
        let sh = shoff + i * shentsize;
        let (kind, size) = (u32_at(sh + 4), u64_at(sh + 0x20));
        // SHT_RELA (4), SHT_REL (9), SHT_RELR (19).
        assert!(!matches!(kind, 4 | 9 | 19) || size == 0, "the vDSO has relocations: it must not");
    }
    assert!(image.len() <= 4 * 4096, "the vDSO grew past 4 pages ({} bytes)", image.len());
}
