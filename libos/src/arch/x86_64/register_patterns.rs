//! A ring-3 spin loop that checks its registers (for the tests of what
//! interrupts, NMIs and context switches must preserve).

use core::arch::asm;

/// Spins for `ticks` TSC ticks with `seed ^ K` in eleven registers,
/// comparing them all on every round. Returns (whether they stayed intact,
/// how many times the TSC advanced by more than `gap` between two rounds).
pub(crate) fn spin(seed: u64, ticks: u64, gap: u64) -> (bool, u64) {
    let bad: u64;
    let gaps: u64;
    // SAFETY: only registers and four stack slots of this block's own are
    // used; RBX and RBP (which Rust may not name as operands) are saved and
    // restored, every other register written is declared clobbered. RDTSC is
    // allowed in ring 3.
    unsafe {
        asm!(
            "push rbx",
            "push rbp",
            // [rsp] = seed, [rsp+8] = end, [rsp+16] = gap, [rsp+24] = last TSC.
            "sub rsp, 32",
            "mov [rsp], rdi",
            "mov [rsp+16], rdx",
            "rdtsc",
            "shl rdx, 32",
            "or rax, rdx",
            "mov [rsp+24], rax",
            "add rax, rsi",
            "mov [rsp+8], rax",
            "xor ecx, ecx",
            "mov rax, 0x1111111111111111", "xor rax, [rsp]", "mov rbx, rax",
            "mov rax, 0x2222222222222222", "xor rax, [rsp]", "mov rbp, rax",
            "mov rax, 0x3333333333333333", "xor rax, [rsp]", "mov rsi, rax",
            "mov rax, 0x4444444444444444", "xor rax, [rsp]", "mov r8, rax",
            "mov rax, 0x5555555555555555", "xor rax, [rsp]", "mov r9, rax",
            "mov rax, 0x6666666666666666", "xor rax, [rsp]", "mov r10, rax",
            "mov rax, 0x7777777777777777", "xor rax, [rsp]", "mov r11, rax",
            "mov rax, 0x8888888888888888", "xor rax, [rsp]", "mov r12, rax",
            "mov rax, 0x9999999999999999", "xor rax, [rsp]", "mov r13, rax",
            "mov rax, 0xaaaaaaaaaaaaaaaa", "xor rax, [rsp]", "mov r14, rax",
            "mov rax, 0xbbbbbbbbbbbbbbbb", "xor rax, [rsp]", "mov r15, rax",
            "2:",
            "mov rax, 0x1111111111111111", "xor rax, [rsp]", "cmp rbx, rax", "jne 3f",
            "mov rax, 0x2222222222222222", "xor rax, [rsp]", "cmp rbp, rax", "jne 3f",
            "mov rax, 0x3333333333333333", "xor rax, [rsp]", "cmp rsi, rax", "jne 3f",
            "mov rax, 0x4444444444444444", "xor rax, [rsp]", "cmp r8, rax", "jne 3f",
            "mov rax, 0x5555555555555555", "xor rax, [rsp]", "cmp r9, rax", "jne 3f",
            "mov rax, 0x6666666666666666", "xor rax, [rsp]", "cmp r10, rax", "jne 3f",
            "mov rax, 0x7777777777777777", "xor rax, [rsp]", "cmp r11, rax", "jne 3f",
            "mov rax, 0x8888888888888888", "xor rax, [rsp]", "cmp r12, rax", "jne 3f",
            "mov rax, 0x9999999999999999", "xor rax, [rsp]", "cmp r13, rax", "jne 3f",
            "mov rax, 0xaaaaaaaaaaaaaaaa", "xor rax, [rsp]", "cmp r14, rax", "jne 3f",
            "mov rax, 0xbbbbbbbbbbbbbbbb", "xor rax, [rsp]", "cmp r15, rax", "jne 3f",
            // Count a gap when the TSC moved more than `gap` since last time.
            "rdtsc",
            "shl rdx, 32",
            "or rax, rdx",
            "mov rdx, rax",
            "sub rdx, [rsp+24]",
            "mov [rsp+24], rax",
            "cmp rdx, [rsp+16]",
            "jbe 5f",
            "inc rcx",
            "5:",
            "cmp rax, [rsp+8]",
            "jb 2b",
            "xor edi, edi",
            "jmp 4f",
            "3:",
            "mov edi, 1",
            "4:",
            "add rsp, 32",
            "pop rbp",
            "pop rbx",
            inout("rdi") seed => bad,
            inout("rsi") ticks => _,
            inout("rdx") gap => _,
            out("rax") _, out("rcx") gaps,
            out("r8") _, out("r9") _, out("r10") _, out("r11") _,
            out("r12") _, out("r13") _, out("r14") _, out("r15") _,
        );
    }
    (bad == 0, gaps)
}
