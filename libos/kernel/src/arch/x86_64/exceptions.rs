//! The architectural exceptions: their names and the page-fault error
//! code, spelled out for reports (Intel SDM Vol. 3A, "Exception and
//! Interrupt Reference"; AMD APM Vol. 2, "Exceptions and Interrupts"). What
//! an exception does is decided in `crate::trap`.

/// Short names of the architectural exceptions.
pub const fn mnemonic(v: u8) -> &'static str {
    match v {
        0 => "#DE",
        1 => "#DB",
        2 => "NMI",
        3 => "#BP",
        4 => "#OF",
        5 => "#BR",
        6 => "#UD",
        7 => "#NM",
        8 => "#DF",
        9 => "#CSO",
        10 => "#TS",
        11 => "#NP",
        12 => "#SS",
        13 => "#GP",
        14 => "#PF",
        16 => "#MF",
        17 => "#AC",
        18 => "#MC",
        19 => "#XM",
        20 => "#VE",
        21 => "#CP",
        28 => "#HV",
        29 => "#VC",
        30 => "#SX",
        32..=255 => "IRQ",
        _ => "#reserved",
    }
}

/// Long names of the architectural exceptions.
pub const fn description(v: u8) -> &'static str {
    match v {
        0 => "divide error",
        1 => "debug",
        2 => "non-maskable interrupt",
        3 => "breakpoint",
        4 => "overflow",
        5 => "bound range exceeded",
        6 => "invalid opcode",
        7 => "device not available",
        8 => "double fault",
        9 => "coprocessor segment overrun",
        10 => "invalid TSS",
        11 => "segment not present",
        12 => "stack-segment fault",
        13 => "general protection fault",
        14 => "page fault",
        16 => "x87 floating-point error",
        17 => "alignment check",
        18 => "machine check",
        19 => "SIMD floating-point exception",
        20 => "virtualization exception",
        21 => "control protection exception",
        28 => "hypervisor injection",
        29 => "VMM communication exception",
        30 => "security exception",
        32..=255 => "external interrupt",
        _ => "reserved vector",
    }
}

/// Page-fault error-code bits, spelled out.
pub fn page_fault_reasons(error: u64, out: &mut impl core::fmt::Write) -> core::fmt::Result {
    write!(out, "{}", if error & 1 != 0 { "protection violation" } else { "page not present" })?;
    write!(out, ", {}", if error & 2 != 0 { "write" } else { "read" })?;
    if error & 16 != 0 {
        write!(out, ", instruction fetch")?;
    }
    write!(out, ", {} mode", if error & 4 != 0 { "user" } else { "supervisor" })?;
    if error & 8 != 0 {
        write!(out, ", reserved bit set")?;
    }
    if error & 32 != 0 {
        write!(out, ", protection key")?;
    }
    Ok(())
}
