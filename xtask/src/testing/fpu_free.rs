//! The kernel never touches the apps' FPU/SIMD registers: a disassembly of
//! a built kernel ELF's `.text` (`objdump -d`, from binutils; the 32-bit
//! boot code in `.boot` runs before any app and is hand-written assembly) may show x87, MMX, SSE,
//! AVX or AVX-512 instructions only in the functions of the kernel's
//! `arch::x86_64::xstate` module, which save, restore and turn on that
//! state. Anywhere else such an instruction would clobber a register of
//! the app thread that runs (the kernel does not save them on entry).
//!
//! The same check on an app (hard float) must find them, or it proves
//! nothing: `cargo xtask test` runs both.

use std::path::Path;
use std::process::Command;

use crate::install::{self, Need, Thing};

/// binutils' disassembler.
pub const OBJDUMP: &str = "objdump";
/// What the check needs.
pub const NEEDS: &[Need] = &[(Thing::Program(OBJDUMP), "binutils")];

/// The part of a (demangled) function name that marks the allowed code.
pub const ALLOWED_MODULE: &str = "::xstate::";

/// One instruction that uses the FPU/SIMD state, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// The function it is in.
    pub function: String,
    /// The instruction as objdump prints it.
    pub instruction: String,
}

/// Whether an instruction (mnemonic and operands, Intel syntax) uses the
/// x87/MMX/SSE/AVX/AVX-512 registers or state.
pub fn uses_fpu_state(text: &str) -> bool {
    let text = text.trim();
    let mut words = text.split_whitespace();
    // Skip prefixes objdump prints before the mnemonic.
    let mut mnemonic = words.next().unwrap_or("");
    while matches!(mnemonic, "lock" | "rep" | "repz" | "repnz" | "repe" | "repne" | "data16" | "cs" | "ds" | "notrack")
    {
        mnemonic = words.next().unwrap_or("");
    }
    // Every x86 mnemonic that starts with `f` is x87 or FPU state
    // (fld, fadd, fnstcw, fxsave, fwait...).
    if mnemonic.starts_with('f') {
        return true;
    }
    let state = ["xsave", "xsavec", "xsaveopt", "xsaves", "xrstor", "xrstors", "xsetbv", "ldmxcsr", "stmxcsr", "emms"];
    if state.iter().any(|s| mnemonic.trim_end_matches("64") == *s) || mnemonic.starts_with('v') && mnemonic != "verr" {
        return true;
    }
    let operands: String = words.collect::<Vec<_>>().join(" ");
    operands.split(|c: char| !c.is_ascii_alphanumeric()).any(|w| {
        let reg = |prefix: &str| {
            w.strip_prefix(prefix).is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        };
        reg("xmm") || reg("ymm") || reg("zmm") || reg("mm") || w == "st" || (w.len() == 2 && reg("k"))
    })
}

/// The FPU/SIMD instructions of `objdump -d -C -M intel` output outside
/// the allowed functions.
pub fn findings(disassembly: &str) -> Vec<Finding> {
    let mut function = String::new();
    let mut out = Vec::new();
    for line in disassembly.lines() {
        // "ffffffff80001000 <name>:" starts a function.
        if let Some(rest) = line.split_once(" <").map(|(_, r)| r)
            && let Some(name) = rest.strip_suffix(">:")
        {
            function = name.to_string();
            continue;
        }
        // "  addr:\tbytes\tinstruction" (with --no-show-raw-insn: "  addr:\tinstruction").
        let Some((_, insn)) = line.split_once(":\t") else { continue };
        let insn = insn.rsplit('\t').next().unwrap_or(insn).trim();
        if insn.is_empty() || function.contains(ALLOWED_MODULE) {
            continue;
        }
        if uses_fpu_state(insn) {
            out.push(Finding { function: function.clone(), instruction: insn.to_string() });
        }
    }
    out
}

/// Disassembles `elf` (installing binutils first if need be and allowed).
pub fn disassemble(elf: &Path) -> Result<String, String> {
    install::ensure(NEEDS, "the kernel's FPU check").map_err(|e| e.to_string())?;
    let out = Command::new(OBJDUMP)
        // Only `.text`: the kernel's `.rodata` is in an executable segment
        // and `.boot` holds 16/32-bit code, both garbage decoded as 64-bit.
        .args(["-d", "-j", ".text", "-C", "-M", "intel", "--no-show-raw-insn"])
        .arg(elf)
        .output()
        .map_err(|e| format!("running {OBJDUMP}: {e}"))?;
    if !out.status.success() {
        return Err(format!("{OBJDUMP} -d {} failed: {}", elf.display(), String::from_utf8_lossy(&out.stderr)));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The verdict on a kernel: `Err` lists (some of) the instructions found.
pub fn check_kernel(elf: &Path) -> Result<(), String> {
    let found = findings(&disassemble(elf)?);
    if found.is_empty() {
        return Ok(());
    }
    let some: Vec<String> = found.iter().take(5).map(|f| format!("{} in {}", f.instruction, f.function)).collect();
    Err(format!("{} FPU/SIMD instruction(s) in the kernel outside {ALLOWED_MODULE}: {}", found.len(), some.join("; ")))
}

/// The verdict on an app built for the hard-float target: it must use SSE
/// (an `f64` multiply is a `mulsd`), or the kernel's check could not see one.
pub fn check_app(elf: &Path) -> Result<(), String> {
    let text = disassemble(elf)?;
    if findings(&text).is_empty() {
        return Err("no SSE instruction in the app: the kernel's check could not see one".into());
    }
    if !text.lines().any(|l| l.contains("\tmulsd ") || l.contains("\tmulsd")) {
        return Err("no mulsd in the app: its f64 multiplies are not hard float".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_fpu_and_simd_instructions() {
        for yes in [
            "movaps XMMWORD PTR [rsp],xmm0",
            "movdqu xmm1,XMMWORD PTR [rax]",
            "vmovdqu ymm0,YMMWORD PTR [rdi]",
            "vmovdqu64 zmm16,ZMMWORD PTR [rdi]",
            "kmovq  k1,QWORD PTR [rdi]",
            "fld    QWORD PTR [rsp]",
            "fnstcw WORD PTR [rsp]",
            "fxsave64 [rdi]",
            "xrstors64 [rdi]",
            "ldmxcsr DWORD PTR [rsp]",
            "movq   mm0,QWORD PTR [rax]",
            "xsetbv",
            "pxor   xmm0,xmm0",
            "cvtsi2sd xmm0,rax",
        ] {
            assert!(uses_fpu_state(yes), "{yes}");
        }
        for no in [
            "mov    rax,QWORD PTR [rdi]",
            "lfence",
            "mfence",
            "rep stos BYTE PTR es:[rdi],al",
            "mov    rax,QWORD PTR fs:0x0",
            "call   ffffffff80001000 <memcpy>",
            "lea    rsi,[rip+0x1234]        # ffffffff80100000 <mm::frame>",
            "verr   ax",
        ] {
            assert!(!uses_fpu_state(no), "{no}");
        }
    }

    #[test]
    fn only_the_xstate_module_may_use_them() {
        let text = "\
ffffffff80001000 <libos_kernel::arch::x86_64::xstate::ExtendedState::save>:
ffffffff80001000:\txsaveopt64 [rdi]
ffffffff80001004:\tret

ffffffff80001010 <libos_kernel::sched::switch_to>:
ffffffff80001010:\tmov    rax,rdi
ffffffff80001013:\tmovups XMMWORD PTR [rsp],xmm0
";
        let found = findings(text);
        assert_eq!(
            found,
            [Finding {
                function: "libos_kernel::sched::switch_to".into(),
                instruction: "movups XMMWORD PTR [rsp],xmm0".into()
            }]
        );
    }
}
