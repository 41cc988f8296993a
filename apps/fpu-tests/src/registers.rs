//! Each thread's vector registers are its own: N threads fill XMM0-15
//! (YMM0-15 with AVX, ZMM0-31 and k0-7 with AVX-512) with their own
//! pattern and check it, over and over, while they yield, make system
//! calls, take page faults, are preempted by the timer and move between
//! CPUs. The x87/MMX registers and control word likewise.

use alloc::vec;
use alloc::vec::Vec;
use core::arch::asm;

use libos::thread;

/// Between two checks: `sched_yield`.
const YIELD: u64 = 1;
/// Between two checks: `getpid`.
const GETPID: u64 = 2;
/// Between two checks: a write to a page not touched yet (a page fault).
const FAULT: u64 = 4;
/// Between two checks: a spin of some 20000 `pause`s (time for the timer
/// to preempt the thread).
const SPIN: u64 = 8;

/// Which registers a run fills.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Width {
    /// XMM0-15.
    Sse,
    /// YMM0-15.
    Avx,
    /// ZMM0-31 and k0-7.
    Avx512,
}

impl Width {
    /// The widest the kernel turned on.
    fn widest() -> Width {
        if crate::avx512_on() {
            Width::Avx512
        } else if crate::avx_on() {
            Width::Avx
        } else {
            Width::Sse
        }
    }

    /// Bytes of pattern.
    fn bytes(self) -> usize {
        match self {
            Width::Sse => 256,
            Width::Avx => 512,
            Width::Avx512 => 2048 + 64,
        }
    }
}

/// A thread's pattern: every byte depends on the thread and its position.
fn pattern(seed: u64, len: usize) -> Vec<u8> {
    (0..len).map(|i| (seed.wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(i as u32 % 64) as u8) ^ (i as u8)).collect()
}

/// Runs `rounds` checks of `width` registers with `actions` between them;
/// returns the first round whose registers differed from the pattern.
fn check_rounds(width: Width, seed: u64, rounds: u64, actions: u64) -> Option<u64> {
    let want = pattern(seed, width.bytes());
    let mut seen = vec![0u8; width.bytes()];
    // Fresh pages for the page faults: mapped by mmap, touched only in the loop.
    let pages = if actions & FAULT != 0 { fresh_pages(rounds as usize) } else { core::ptr::null_mut() };
    let bad = match width {
        // SAFETY: the pattern and the seen buffer hold `width.bytes()` bytes;
        // the pages are `rounds` fresh pages of ours (or unused).
        Width::Sse => unsafe { sse_rounds(want.as_ptr(), seen.as_mut_ptr(), rounds, actions, pages) },
        // SAFETY: as above; the kernel turned AVX on (`Width::widest`).
        Width::Avx => unsafe { avx_rounds(want.as_ptr(), seen.as_mut_ptr(), rounds, actions, pages) },
        // SAFETY: as above, AVX-512.
        Width::Avx512 => unsafe { avx512_rounds(want.as_ptr(), seen.as_mut_ptr(), rounds, actions, pages) },
    };
    (bad != u64::MAX).then_some(bad)
}

/// `n` pages from `mmap`, not touched yet.
fn fresh_pages(n: usize) -> *mut u8 {
    // PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS.
    // SAFETY: a new anonymous mapping; nothing else uses its range.
    let addr = unsafe { libos::sys::mmap(0, n * 4096, 3, 0x22, -1, 0) };
    addr.expect("mmap") as *mut u8
}

/// # Safety
/// `want` and `seen` hold 256 bytes; `pages` is `rounds` writable pages
/// when `actions` has [`FAULT`].
unsafe fn sse_rounds(want: *const u8, seen: *mut u8, rounds: u64, actions: u64, pages: *mut u8) -> u64 {
    let bad: u64;
    // SAFETY: reads `want`, writes `seen` and the pages (the caller's
    // guarantee); the syscalls clobber RAX, RCX and R11 (declared).
    unsafe {
        asm!(
            // rdi = pattern, rsi = seen, r8 = rounds, r9 = actions, r10 = pages.
            "movdqu xmm0, [rdi + 0]",
            "movdqu xmm1, [rdi + 16]",
            "movdqu xmm2, [rdi + 32]",
            "movdqu xmm3, [rdi + 48]",
            "movdqu xmm4, [rdi + 64]",
            "movdqu xmm5, [rdi + 80]",
            "movdqu xmm6, [rdi + 96]",
            "movdqu xmm7, [rdi + 112]",
            "movdqu xmm8, [rdi + 128]",
            "movdqu xmm9, [rdi + 144]",
            "movdqu xmm10, [rdi + 160]",
            "movdqu xmm11, [rdi + 176]",
            "movdqu xmm12, [rdi + 192]",
            "movdqu xmm13, [rdi + 208]",
            "movdqu xmm14, [rdi + 224]",
            "movdqu xmm15, [rdi + 240]",
            "xor r12d, r12d",
            "2:",
            "cmp r12, r8",
            "jae 8f",
            // An action that takes the thread into the kernel, or off the CPU.
            "test r9, {yield_}",
            "jz 3f",
            "mov eax, 24", // sched_yield
            "syscall",
            "3:",
            "test r9, {getpid}",
            "jz 4f",
            "mov eax, 39", // getpid
            "syscall",
            "4:",
            "test r9, {fault}",
            "jz 5f",
            "mov rax, r12",
            "shl rax, 12",
            "mov byte ptr [r10 + rax], 1", // a page not touched yet: a page fault
            "5:",
            "test r9, {spin}",
            "jz 7f",
            "mov ecx, 20000",
            "6:",
            "pause",
            "dec ecx",
            "jnz 6b",
            "7:",
            "movdqu [rsi + 0], xmm0",
            "movdqu [rsi + 16], xmm1",
            "movdqu [rsi + 32], xmm2",
            "movdqu [rsi + 48], xmm3",
            "movdqu [rsi + 64], xmm4",
            "movdqu [rsi + 80], xmm5",
            "movdqu [rsi + 96], xmm6",
            "movdqu [rsi + 112], xmm7",
            "movdqu [rsi + 128], xmm8",
            "movdqu [rsi + 144], xmm9",
            "movdqu [rsi + 160], xmm10",
            "movdqu [rsi + 176], xmm11",
            "movdqu [rsi + 192], xmm12",
            "movdqu [rsi + 208], xmm13",
            "movdqu [rsi + 224], xmm14",
            "movdqu [rsi + 240], xmm15",
            "xor ecx, ecx",
            "22:",
            "mov rax, [rdi + rcx*8]",
            "cmp rax, [rsi + rcx*8]",
            "jne 23f",
            "inc ecx",
            "cmp ecx, 32",
            "jb 22b",
            "inc r12",
            "jmp 2b",
            "23:",
            "mov rax, r12",
            "jmp 9f",
            "8:",
            "mov rax, -1",
            "9:",
            yield_ = const YIELD,
            getpid = const GETPID,
            fault = const FAULT,
            spin = const SPIN,
            in("rdi") want, in("rsi") seen, in("r8") rounds, in("r9") actions, in("r10") pages,
            out("rax") bad, out("rcx") _, out("r11") _, out("r12") _,
            out("xmm0") _, out("xmm1") _, out("xmm2") _, out("xmm3") _, out("xmm4") _, out("xmm5") _, out("xmm6") _, out("xmm7") _, out("xmm8") _, out("xmm9") _, out("xmm10") _, out("xmm11") _, out("xmm12") _, out("xmm13") _, out("xmm14") _, out("xmm15") _,
            options(nostack),
        );
    }
    bad
}

/// # Safety
/// As [`sse_rounds`] with 512 bytes; AVX is on.
#[target_feature(enable = "avx")]
unsafe fn avx_rounds(want: *const u8, seen: *mut u8, rounds: u64, actions: u64, pages: *mut u8) -> u64 {
    let bad: u64;
    // SAFETY: as in `sse_rounds`.
    unsafe {
        asm!(
            // rdi = pattern, rsi = seen, r8 = rounds, r9 = actions, r10 = pages.
            "vmovdqu ymm0, [rdi + 0]",
            "vmovdqu ymm1, [rdi + 32]",
            "vmovdqu ymm2, [rdi + 64]",
            "vmovdqu ymm3, [rdi + 96]",
            "vmovdqu ymm4, [rdi + 128]",
            "vmovdqu ymm5, [rdi + 160]",
            "vmovdqu ymm6, [rdi + 192]",
            "vmovdqu ymm7, [rdi + 224]",
            "vmovdqu ymm8, [rdi + 256]",
            "vmovdqu ymm9, [rdi + 288]",
            "vmovdqu ymm10, [rdi + 320]",
            "vmovdqu ymm11, [rdi + 352]",
            "vmovdqu ymm12, [rdi + 384]",
            "vmovdqu ymm13, [rdi + 416]",
            "vmovdqu ymm14, [rdi + 448]",
            "vmovdqu ymm15, [rdi + 480]",
            "xor r12d, r12d",
            "2:",
            "cmp r12, r8",
            "jae 8f",
            // An action that takes the thread into the kernel, or off the CPU.
            "test r9, {yield_}",
            "jz 3f",
            "mov eax, 24", // sched_yield
            "syscall",
            "3:",
            "test r9, {getpid}",
            "jz 4f",
            "mov eax, 39", // getpid
            "syscall",
            "4:",
            "test r9, {fault}",
            "jz 5f",
            "mov rax, r12",
            "shl rax, 12",
            "mov byte ptr [r10 + rax], 1", // a page not touched yet: a page fault
            "5:",
            "test r9, {spin}",
            "jz 7f",
            "mov ecx, 20000",
            "6:",
            "pause",
            "dec ecx",
            "jnz 6b",
            "7:",
            "vmovdqu [rsi + 0], ymm0",
            "vmovdqu [rsi + 32], ymm1",
            "vmovdqu [rsi + 64], ymm2",
            "vmovdqu [rsi + 96], ymm3",
            "vmovdqu [rsi + 128], ymm4",
            "vmovdqu [rsi + 160], ymm5",
            "vmovdqu [rsi + 192], ymm6",
            "vmovdqu [rsi + 224], ymm7",
            "vmovdqu [rsi + 256], ymm8",
            "vmovdqu [rsi + 288], ymm9",
            "vmovdqu [rsi + 320], ymm10",
            "vmovdqu [rsi + 352], ymm11",
            "vmovdqu [rsi + 384], ymm12",
            "vmovdqu [rsi + 416], ymm13",
            "vmovdqu [rsi + 448], ymm14",
            "vmovdqu [rsi + 480], ymm15",
            "xor ecx, ecx",
            "22:",
            "mov rax, [rdi + rcx*8]",
            "cmp rax, [rsi + rcx*8]",
            "jne 23f",
            "inc ecx",
            "cmp ecx, 64",
            "jb 22b",
            "inc r12",
            "jmp 2b",
            "23:",
            "mov rax, r12",
            "jmp 9f",
            "8:",
            "mov rax, -1",
            "9:",
            yield_ = const YIELD,
            getpid = const GETPID,
            fault = const FAULT,
            spin = const SPIN,
            in("rdi") want, in("rsi") seen, in("r8") rounds, in("r9") actions, in("r10") pages,
            out("rax") bad, out("rcx") _, out("r11") _, out("r12") _,
            out("ymm0") _, out("ymm1") _, out("ymm2") _, out("ymm3") _, out("ymm4") _, out("ymm5") _, out("ymm6") _, out("ymm7") _, out("ymm8") _, out("ymm9") _, out("ymm10") _, out("ymm11") _, out("ymm12") _, out("ymm13") _, out("ymm14") _, out("ymm15") _,
            options(nostack),
        );
    }
    bad
}

/// # Safety
/// As [`sse_rounds`] with 2112 bytes; AVX-512 is on.
#[target_feature(enable = "avx512f,avx512bw")]
unsafe fn avx512_rounds(want: *const u8, seen: *mut u8, rounds: u64, actions: u64, pages: *mut u8) -> u64 {
    let bad: u64;
    // SAFETY: as in `sse_rounds`.
    unsafe {
        asm!(
            // rdi = pattern, rsi = seen, r8 = rounds, r9 = actions, r10 = pages.
            "vmovdqu64 zmm0, [rdi + 0]",
            "vmovdqu64 zmm1, [rdi + 64]",
            "vmovdqu64 zmm2, [rdi + 128]",
            "vmovdqu64 zmm3, [rdi + 192]",
            "vmovdqu64 zmm4, [rdi + 256]",
            "vmovdqu64 zmm5, [rdi + 320]",
            "vmovdqu64 zmm6, [rdi + 384]",
            "vmovdqu64 zmm7, [rdi + 448]",
            "vmovdqu64 zmm8, [rdi + 512]",
            "vmovdqu64 zmm9, [rdi + 576]",
            "vmovdqu64 zmm10, [rdi + 640]",
            "vmovdqu64 zmm11, [rdi + 704]",
            "vmovdqu64 zmm12, [rdi + 768]",
            "vmovdqu64 zmm13, [rdi + 832]",
            "vmovdqu64 zmm14, [rdi + 896]",
            "vmovdqu64 zmm15, [rdi + 960]",
            "vmovdqu64 zmm16, [rdi + 1024]",
            "vmovdqu64 zmm17, [rdi + 1088]",
            "vmovdqu64 zmm18, [rdi + 1152]",
            "vmovdqu64 zmm19, [rdi + 1216]",
            "vmovdqu64 zmm20, [rdi + 1280]",
            "vmovdqu64 zmm21, [rdi + 1344]",
            "vmovdqu64 zmm22, [rdi + 1408]",
            "vmovdqu64 zmm23, [rdi + 1472]",
            "vmovdqu64 zmm24, [rdi + 1536]",
            "vmovdqu64 zmm25, [rdi + 1600]",
            "vmovdqu64 zmm26, [rdi + 1664]",
            "vmovdqu64 zmm27, [rdi + 1728]",
            "vmovdqu64 zmm28, [rdi + 1792]",
            "vmovdqu64 zmm29, [rdi + 1856]",
            "vmovdqu64 zmm30, [rdi + 1920]",
            "vmovdqu64 zmm31, [rdi + 1984]",
            "kmovq k0, [rdi + 2048]",
            "kmovq k1, [rdi + 2056]",
            "kmovq k2, [rdi + 2064]",
            "kmovq k3, [rdi + 2072]",
            "kmovq k4, [rdi + 2080]",
            "kmovq k5, [rdi + 2088]",
            "kmovq k6, [rdi + 2096]",
            "kmovq k7, [rdi + 2104]",
            "xor r12d, r12d",
            "2:",
            "cmp r12, r8",
            "jae 8f",
            // An action that takes the thread into the kernel, or off the CPU.
            "test r9, {yield_}",
            "jz 3f",
            "mov eax, 24", // sched_yield
            "syscall",
            "3:",
            "test r9, {getpid}",
            "jz 4f",
            "mov eax, 39", // getpid
            "syscall",
            "4:",
            "test r9, {fault}",
            "jz 5f",
            "mov rax, r12",
            "shl rax, 12",
            "mov byte ptr [r10 + rax], 1", // a page not touched yet: a page fault
            "5:",
            "test r9, {spin}",
            "jz 7f",
            "mov ecx, 20000",
            "6:",
            "pause",
            "dec ecx",
            "jnz 6b",
            "7:",
            "vmovdqu64 [rsi + 0], zmm0",
            "vmovdqu64 [rsi + 64], zmm1",
            "vmovdqu64 [rsi + 128], zmm2",
            "vmovdqu64 [rsi + 192], zmm3",
            "vmovdqu64 [rsi + 256], zmm4",
            "vmovdqu64 [rsi + 320], zmm5",
            "vmovdqu64 [rsi + 384], zmm6",
            "vmovdqu64 [rsi + 448], zmm7",
            "vmovdqu64 [rsi + 512], zmm8",
            "vmovdqu64 [rsi + 576], zmm9",
            "vmovdqu64 [rsi + 640], zmm10",
            "vmovdqu64 [rsi + 704], zmm11",
            "vmovdqu64 [rsi + 768], zmm12",
            "vmovdqu64 [rsi + 832], zmm13",
            "vmovdqu64 [rsi + 896], zmm14",
            "vmovdqu64 [rsi + 960], zmm15",
            "vmovdqu64 [rsi + 1024], zmm16",
            "vmovdqu64 [rsi + 1088], zmm17",
            "vmovdqu64 [rsi + 1152], zmm18",
            "vmovdqu64 [rsi + 1216], zmm19",
            "vmovdqu64 [rsi + 1280], zmm20",
            "vmovdqu64 [rsi + 1344], zmm21",
            "vmovdqu64 [rsi + 1408], zmm22",
            "vmovdqu64 [rsi + 1472], zmm23",
            "vmovdqu64 [rsi + 1536], zmm24",
            "vmovdqu64 [rsi + 1600], zmm25",
            "vmovdqu64 [rsi + 1664], zmm26",
            "vmovdqu64 [rsi + 1728], zmm27",
            "vmovdqu64 [rsi + 1792], zmm28",
            "vmovdqu64 [rsi + 1856], zmm29",
            "vmovdqu64 [rsi + 1920], zmm30",
            "vmovdqu64 [rsi + 1984], zmm31",
            "kmovq [rsi + 2048], k0",
            "kmovq [rsi + 2056], k1",
            "kmovq [rsi + 2064], k2",
            "kmovq [rsi + 2072], k3",
            "kmovq [rsi + 2080], k4",
            "kmovq [rsi + 2088], k5",
            "kmovq [rsi + 2096], k6",
            "kmovq [rsi + 2104], k7",
            "xor ecx, ecx",
            "22:",
            "mov rax, [rdi + rcx*8]",
            "cmp rax, [rsi + rcx*8]",
            "jne 23f",
            "inc ecx",
            "cmp ecx, 264",
            "jb 22b",
            "inc r12",
            "jmp 2b",
            "23:",
            "mov rax, r12",
            "jmp 9f",
            "8:",
            "mov rax, -1",
            "9:",
            yield_ = const YIELD,
            getpid = const GETPID,
            fault = const FAULT,
            spin = const SPIN,
            in("rdi") want, in("rsi") seen, in("r8") rounds, in("r9") actions, in("r10") pages,
            out("rax") bad, out("rcx") _, out("r11") _, out("r12") _,
            out("zmm0") _, out("zmm1") _, out("zmm2") _, out("zmm3") _, out("zmm4") _, out("zmm5") _, out("zmm6") _, out("zmm7") _, out("zmm8") _, out("zmm9") _, out("zmm10") _, out("zmm11") _, out("zmm12") _, out("zmm13") _, out("zmm14") _, out("zmm15") _, out("zmm16") _, out("zmm17") _, out("zmm18") _, out("zmm19") _, out("zmm20") _, out("zmm21") _, out("zmm22") _, out("zmm23") _, out("zmm24") _, out("zmm25") _, out("zmm26") _, out("zmm27") _, out("zmm28") _, out("zmm29") _, out("zmm30") _, out("zmm31") _,
            out("k0") _, out("k1") _, out("k2") _, out("k3") _, out("k4") _, out("k5") _, out("k6") _, out("k7") _,
            options(nostack),
        );
    }
    bad
}

/// `threads` threads check their own pattern of `width` registers.
fn run_threads(width: Width, threads: u64, rounds: u64, actions: u64) {
    let workers: Vec<_> =
        (0..threads).map(|t| thread::spawn(move || (t, check_rounds(width, 0x1000 + t, rounds, actions)))).collect();
    for w in workers {
        let (t, bad) = w.join().unwrap();
        assert_eq!(bad, None, "thread {t}: {width:?} registers changed (round shown)");
    }
}

#[libos::test]
fn xmm_registers_survive_yields_and_syscalls() {
    run_threads(Width::Sse, 6, 200, YIELD | GETPID);
}

#[libos::test]
fn xmm_registers_survive_page_faults() {
    run_threads(Width::Sse, 4, 64, FAULT | YIELD);
}

#[libos::test]
fn xmm_registers_survive_preemption_and_migration() {
    // More threads than CPUs, spinning: the timer preempts them and the
    // idle CPUs take them over.
    let threads = libos::cpu::count() as u64 * 2 + 1;
    run_threads(Width::Sse, threads, 40, SPIN);
}

#[libos::test]
fn widest_registers_survive_everything() {
    let width = Width::widest();
    libos::println!("widest registers: {width:?}");
    let threads = libos::cpu::count() as u64 * 2 + 1;
    run_threads(width, threads, 48, YIELD | GETPID | FAULT | SPIN);
}

#[libos::test]
fn avx512_opmask_and_upper_zmm_are_per_thread() {
    if Width::widest() != Width::Avx512 {
        libos::testing::skip("the kernel did not turn AVX-512 on (the CPU has none)");
    }
    run_threads(Width::Avx512, 4, 100, YIELD | SPIN);
}

#[libos::test]
fn a_new_thread_starts_from_the_initial_state() {
    // Dirty this thread's registers first: nothing of them may reach the child.
    // SAFETY: writes XMM0 and MXCSR only, both declared or put back.
    unsafe { asm!("pcmpeqb xmm0, xmm0", out("xmm0") _) };
    let old = crate::mxcsr::read();
    crate::mxcsr::write(0x7f80);
    let child = thread::spawn(|| {
        let (xmm, mxcsr, fcw) = initial_state();
        (xmm, mxcsr, fcw)
    })
    .join()
    .unwrap();
    crate::mxcsr::write(old);
    assert_eq!(child, ([0u8; 256], 0x1f80, 0x37f), "XMM0-15 zero, MXCSR 0x1f80, FCW 0x37f");
}

/// XMM0-15, MXCSR and the x87 control word, read first thing in a thread.
#[inline(never)]
fn initial_state() -> ([u8; 256], u32, u16) {
    let mut xmm = [0u8; 256];
    let mut mxcsr = 0u32;
    let mut fcw = 0u16;
    // SAFETY: stores into the three locals only.
    unsafe {
        asm!(
            "movdqu [{x} + 0], xmm0",
            "movdqu [{x} + 16], xmm1",
            "movdqu [{x} + 32], xmm2",
            "movdqu [{x} + 48], xmm3",
            "movdqu [{x} + 64], xmm4",
            "movdqu [{x} + 80], xmm5",
            "movdqu [{x} + 96], xmm6",
            "movdqu [{x} + 112], xmm7",
            "movdqu [{x} + 128], xmm8",
            "movdqu [{x} + 144], xmm9",
            "movdqu [{x} + 160], xmm10",
            "movdqu [{x} + 176], xmm11",
            "movdqu [{x} + 192], xmm12",
            "movdqu [{x} + 208], xmm13",
            "movdqu [{x} + 224], xmm14",
            "movdqu [{x} + 240], xmm15",
            "stmxcsr [{m}]",
            "fnstcw [{f}]",
            x = in(reg) xmm.as_mut_ptr(), m = in(reg) &mut mxcsr, f = in(reg) &mut fcw,
            options(nostack),
        )
    };
    (xmm, mxcsr, fcw)
}

/// The x87/MMX part of an FXSAVE image that must not change: FCW, FSW,
/// FTW (bytes 0-4) and ST0-7/MM0-7 (32-159).
fn x87_part(image: &[u8; 512]) -> Vec<u8> {
    image[0..5].iter().chain(&image[32..160]).copied().collect()
}

#[repr(C, align(16))]
struct FxImage([u8; 512]);

/// Loads eight x87 values (or MMX values) from `seed`, then checks the x87
/// state (by FXSAVE, allowed in ring 3) after each of `rounds` yields.
fn x87_rounds(seed: u64, mmx: bool, rounds: u64) -> Option<u64> {
    let values: Vec<u64> = (0..8).map(|i| (seed << 8) + i * 77 + 1).collect();
    let cw: u16 = if seed & 1 == 0 { 0x37f } else { 0xf7f }; // nearest vs toward zero
    let mut first = FxImage([0; 512]);
    let mut now = FxImage([0; 512]);
    // SAFETY: loads the x87/MMX registers from `values` and saves them into
    // `first`; x87 state is the thread's own (the kernel keeps it).
    unsafe {
        if mmx {
            asm!(
                "fninit",
                "movq mm0, [{v} + 0]",
                "movq mm1, [{v} + 8]",
                "movq mm2, [{v} + 16]",
                "movq mm3, [{v} + 24]",
                "movq mm4, [{v} + 32]",
                "movq mm5, [{v} + 40]",
                "movq mm6, [{v} + 48]",
                "movq mm7, [{v} + 56]",
                "fxsave64 [{img}]",
                v = in(reg) values.as_ptr(), img = in(reg) first.0.as_mut_ptr(), options(nostack),
            );
        } else {
            asm!(
                "fninit",
                "fldcw [{cw}]",
                "fild qword ptr [{v} + 0]",
                "fild qword ptr [{v} + 8]",
                "fild qword ptr [{v} + 16]",
                "fild qword ptr [{v} + 24]",
                "fild qword ptr [{v} + 32]",
                "fild qword ptr [{v} + 40]",
                "fild qword ptr [{v} + 48]",
                "fild qword ptr [{v} + 56]",
                "fxsave64 [{img}]",
                v = in(reg) values.as_ptr(), cw = in(reg) &cw, img = in(reg) first.0.as_mut_ptr(), options(nostack),
            );
        }
    }
    let want = x87_part(&first.0);
    for round in 0..rounds {
        libos::thread::yield_now();
        // SAFETY: FXSAVE stores into `now`; Rust code in between uses SSE
        // only (the x87 registers stay as loaded).
        unsafe { asm!("fxsave64 [{}]", in(reg) now.0.as_mut_ptr(), options(nostack)) };
        if x87_part(&now.0) != want {
            return Some(round);
        }
    }
    // SAFETY: empties the x87 stack (and leaves MMX mode), as the ABI wants on return.
    unsafe { asm!("fninit", "emms", options(nostack)) };
    None
}

#[libos::test]
fn x87_and_mmx_registers_are_per_thread() {
    let workers: Vec<_> =
        (0..6u64).map(|t| thread::spawn(move || (t, x87_rounds(0x100 + t, t % 3 == 0, 100)))).collect();
    for w in workers {
        let (t, bad) = w.join().unwrap();
        assert_eq!(bad, None, "thread {t}: x87/MMX state changed");
    }
}
