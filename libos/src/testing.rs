//! Help for boot-time tests (`#[libos::test]`).

/// Exit code that tells the kernel's test runner a test skipped itself.
pub const SKIPPED_EXIT_CODE: i32 = 103;

/// Ends the running test as skipped: it cannot run in this configuration
/// (reported as ignored, not counted).
pub fn skip(reason: &str) -> ! {
    crate::eprintln!("test skipped: {reason}");
    crate::process::exit(SKIPPED_EXIT_CODE)
}

/// Skips the running test unless at least `n` CPUs run.
pub fn require_cpus(n: usize) {
    if crate::cpu::count() < n {
        skip("needs more CPUs than this configuration has");
    }
}

/// What [`spin_with_register_patterns`] saw.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PatternSpin {
    /// Every register kept its value all along.
    pub intact: bool,
    /// How often the TSC jumped by more than the gap between two checks:
    /// times the thread was off the CPU (an interrupt, a switch away).
    pub gaps: u64,
}

/// Spins for `ticks` TSC ticks with values derived from `seed` in eleven
/// general registers (RBX, RBP, RSI, R8-R15), checking them all the time,
/// without entering the kernel: whatever interrupts the thread (a timer,
/// an NMI, a switch to another thread) must give them back. Counts the
/// jumps of the TSC by more than `gap` ticks between two checks.
pub fn spin_with_register_patterns(seed: u64, ticks: u64, gap: u64) -> PatternSpin {
    let (intact, gaps) = crate::arch::register_patterns::spin(seed, ticks, gap);
    PatternSpin { intact, gaps }
}
