//! Writes the kernel's linker script from `linker.ld.in` and the layout
//! constants of `entry_asm::layout`, and links the kernel binary with it.

use std::{env, fs, path::PathBuf};

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
}
