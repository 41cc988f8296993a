//! The vDSO's data page (Linux's `vvar`): what the kernel publishes for
//! the vDSO's time functions, one read-only page just below the vDSO's
//! code in every process.
//!
//! This file is compiled twice: into `libos-abi` (the kernel writes the
//! page) and, by path, into the vDSO itself (`libos/kernel/vdso/vdso.rs`,
//! built without any crate), so it uses nothing but `core`. The layout is
//! checked at compile time in both.

/// The first word of the page: a vDSO that finds anything else (a page it
/// was not built for) makes the real system call instead.
pub const VVAR_MAGIC: u64 = u64::from_le_bytes(*b"libosVV1");

/// `flags`: RDTSCP's TSC_AUX holds the CPU's index (`getcpu`).
pub const VVAR_TSC_AUX_IS_CPU: u64 = 1;

/// The page's contents. The clock is fixed at boot (the TSC's rate is
/// known then and the wall clock is not set afterwards), so the page never
/// changes while apps run and needs no sequence counter (Linux's
/// `vdso_data` has one because its clock is adjusted while it is read).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VvarData {
    /// [`VVAR_MAGIC`].
    pub magic: u64,
    /// Nanoseconds per TSC tick, a 32.32 fixed-point number (the kernel's
    /// `TscScale::mult`).
    pub tsc_mult: u64,
    /// The TSC at boot (monotonic time zero).
    pub tsc_at_boot: u64,
    /// Unix time in nanoseconds at `tsc_at_boot`.
    pub realtime_at_boot_ns: u64,
    /// `VVAR_*` flags.
    pub flags: u64,
}

impl VvarData {
    /// Monotonic nanoseconds at TSC value `tsc`: exactly the kernel's
    /// `time::monotonic_ns` (the vDSO and the system call never disagree).
    #[inline(always)]
    pub const fn monotonic_ns(&self, tsc: u64) -> u64 {
        ((tsc.wrapping_sub(self.tsc_at_boot) as u128 * self.tsc_mult as u128) >> 32) as u64
    }

    /// Unix time in nanoseconds at TSC value `tsc` (the kernel's
    /// `time::realtime_ns`).
    #[inline(always)]
    pub const fn realtime_ns(&self, tsc: u64) -> u64 {
        self.realtime_at_boot_ns.wrapping_add(self.monotonic_ns(tsc))
    }
}

const _: () = {
    assert!(core::mem::size_of::<VvarData>() == 40);
    assert!(core::mem::offset_of!(VvarData, magic) == 0);
    assert!(core::mem::offset_of!(VvarData, tsc_mult) == 8);
    assert!(core::mem::offset_of!(VvarData, tsc_at_boot) == 16);
    assert!(core::mem::offset_of!(VvarData, realtime_at_boot_ns) == 24);
    assert!(core::mem::offset_of!(VvarData, flags) == 32);
};
