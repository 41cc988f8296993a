//! The kernel's configuration for this boot: command-line options and CPU
//! features combined, decided once on the boot CPU.

use core::sync::atomic::{AtomicBool, Ordering};

use crate::arch::x86_64::cpu::Features;
use crate::sync::InitCell;
use libos_kcore::boot_options::BootOptions;

/// Why PCID is off (for the boot report).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PcidState {
    /// On.
    On,
    /// The CPU has no PCID.
    Unsupported,
    /// `pcid=off` on the command line.
    DisabledByOption,
    /// KPTI is off, so there is nothing for PCID to save.
    NotNeeded,
}

/// The configuration.
#[derive(Clone, Copy, Debug)]
pub struct Config {
    /// Kernel page-table isolation.
    pub kpti: bool,
    /// Whether and why (not) PCID is used.
    pub pcid: PcidState,
    /// The CPU has INVPCID (used only with PCID).
    pub invpcid: bool,
    /// Global pages for kernel mappings (only without KPTI: with KPTI a
    /// global kernel entry would survive the switch to the user page table).
    pub global_kernel_pages: bool,
}

impl Config {
    /// Whether PCID is on.
    pub fn pcid_on(&self) -> bool {
        self.pcid == PcidState::On
    }
}

static CONFIG: InitCell<Config> = InitCell::new();

/// `trace_syscalls`, where the syscall path reads it on every call (one
/// load, no initialisation check).
static TRACE_SYSCALLS: AtomicBool = AtomicBool::new(false);

/// Whether every syscall is printed (`strace` on the command line).
#[inline]
pub fn trace_syscalls() -> bool {
    TRACE_SYSCALLS.load(Ordering::Relaxed)
}

/// Decides the configuration.
pub fn decide(options: &BootOptions<'_>, f: &Features) -> &'static Config {
    let kpti = options.kpti.unwrap_or(true);
    let pcid = if !kpti {
        PcidState::NotNeeded
    } else if options.pcid == Some(false) {
        PcidState::DisabledByOption
    } else if !f.pcid {
        PcidState::Unsupported
    } else {
        PcidState::On
    };
    TRACE_SYSCALLS.store(options.trace_syscalls, Ordering::Relaxed);
    CONFIG.set(Config { kpti, pcid, invpcid: f.invpcid, global_kernel_pages: f.pge && !kpti })
}

/// The configuration decided at boot.
pub fn get() -> &'static Config {
    CONFIG.expect("kernel configuration")
}
