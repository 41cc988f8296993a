//! The apps' x87/SSE/AVX/AVX-512 state: turning it on in every CPU, and
//! each thread's copy of it, saved and restored eagerly on every switch
//! between threads that run app code.
//!
//! The kernel itself is soft-float (`x86_64-unknown-none`) and never
//! touches these registers; the only instructions of the kernel that do are
//! the save, restore and probe instructions in this file (a host test,
//! `cargo xtask test` "kernel-uses-no-fpu", disassembles the kernel and
//! checks it). So the registers hold the running app thread's values from
//! its switch-in to its switch-out, through system calls, interrupts and
//! exceptions, with nothing to save on kernel entry.
//!
//! Eager, not lazy: CR0.TS is never set, so `#NM` never happens, and no
//! register value of one thread is ever visible to another (lazy switching
//! leaked them: CVE-2018-3665, "LazyFP"; Linux has switched eagerly since
//! 4.9, `arch/x86/kernel/fpu/core.c`).
//!
//! The layout (which components, which instruction, the sizes) comes from
//! `libos_kcore::xstate`, where it is tested on recorded CPUID values.

use alloc::alloc::{Layout, alloc_zeroed, dealloc};
use core::arch::asm;
use core::ptr::NonNull;

use libos_kcore::xstate::{self, SaveInstruction, XstateError, XstateLayout};
use raw_cpuid::{CpuId, cpuid};
use x86_64::registers::control::{Cr0, Cr0Flags, Cr4, Cr4Flags};

use crate::sync::InitCell;

/// Alignment XSAVE and FXSAVE need (64 covers FXSAVE's 16).
const ALIGN: usize = 64;

static LAYOUT: InitCell<XstateLayout> = InitCell::new();

/// The layout chosen at boot.
pub fn layout() -> &'static XstateLayout {
    LAYOUT.expect("extended-state layout")
}

/// Reads the layout from CPUID and turns the state on in the boot CPU.
/// Before any app thread exists.
pub fn init_boot_cpu() -> &'static XstateLayout {
    let has_xsave = CpuId::new().get_feature_info().is_some_and(|f| f.has_xsave());
    let mut l = XstateLayout::from_cpuid(has_xsave, |sub| {
        let r = cpuid!(0xd, sub);
        xstate::CpuidRegs { eax: r.eax, ebx: r.ebx, ecx: r.ecx, edx: r.edx }
    });
    enable(&l);
    l.set_mxcsr_mask(probe_mxcsr_mask());
    // With XCR0 set, CPUID gives the sizes the save instructions write
    // (subleaf 0 EBX standard, subleaf 1 EBX compacted for XCR0 | IA32_XSS,
    // and IA32_XSS is 0): see `XstateLayout::reconcile`.
    l.reconcile(cpuid!(0xd, 0).ebx as usize, cpuid!(0xd, 1).ebx as usize);
    LAYOUT.set(l)
}

/// Turns the state on in an application processor, as in the boot CPU.
pub fn init_this_cpu() {
    enable(layout());
}

/// CR0 and CR4 bits, then XCR0 (Intel SDM Vol. 3A 13.1 "Provide Support
/// for FXSAVE/FXRSTOR", 13.3 "Enable the use of XSAVE"; Linux's
/// `fpu__init_cpu_generic` and `fpu__init_cpu_xstate`). Never inlined (see
/// `ExtendedState::save`).
#[inline(never)]
fn enable(l: &XstateLayout) {
    // SAFETY: EM clear and MP set let x87/SSE run (without #UD/#NM); TS
    // clear means no #NM ever; NE reports x87 errors as #MF, not through
    // the legacy IRQ 13. The kernel uses none of these registers, so no
    // kernel state depends on them.
    unsafe {
        Cr0::update(|c| {
            c.remove(Cr0Flags::EMULATE_COPROCESSOR | Cr0Flags::TASK_SWITCHED);
            c.insert(Cr0Flags::MONITOR_COPROCESSOR | Cr0Flags::NUMERIC_ERROR);
        })
    };
    // SAFETY: OSFXSR enables FXSAVE/FXRSTOR and SSE, OSXMMEXCPT reports
    // unmasked SIMD exceptions as #XM; OSXSAVE (only when the CPU has
    // XSAVE) enables XSAVE and XGETBV/XSETBV. No kernel state depends on them.
    unsafe {
        Cr4::update(|c| {
            c.insert(Cr4Flags::OSFXSR | Cr4Flags::OSXMMEXCPT_ENABLE);
            c.set(Cr4Flags::OSXSAVE, l.uses_xsave());
        })
    };
    if l.uses_xsave() {
        let (lo, hi) = (l.features as u32, (l.features >> 32) as u32);
        // SAFETY: CR4.OSXSAVE is on; `features` holds x87 and SSE and only
        // components CPUID reports, AVX-512 only whole and with AVX (checked
        // in `XstateLayout::from_cpuid`), so XSETBV does not #GP.
        unsafe { asm!("xsetbv", in("ecx") 0, in("eax") lo, in("edx") hi, options(nomem, nostack, preserves_flags)) };
    }
}

/// MXCSR_MASK: the MXCSR bits this CPU supports (SDM Vol. 1 11.6.6), from
/// one FXSAVE at boot.
#[inline(never)]
fn probe_mxcsr_mask() -> u32 {
    #[repr(C, align(64))]
    struct Area([u8; 512]);
    let mut area = Area([0; 512]);
    // SAFETY: the area is 512 bytes, 16-byte aligned and ours; CR4.OSFXSR
    // is on. FXSAVE only stores.
    unsafe { asm!("fxsave64 [{}]", in(reg) area.0.as_mut_ptr(), options(nostack, preserves_flags)) };
    u32::from_le_bytes(area.0[28..32].try_into().expect("4 bytes"))
}

/// One thread's extended state while it is not running: a 64-byte aligned
/// buffer of `layout().size` bytes in the format the save instruction
/// writes. Its content is always a valid image for the restore
/// instruction: it is written only by that save instruction, by
/// [`XstateLayout::write_initial`], or from a user image that
/// [`XstateLayout::from_standard`] checked.
pub struct ExtendedState {
    area: NonNull<u8>,
}

// SAFETY: the buffer is owned by this value alone.
unsafe impl Send for ExtendedState {}
// SAFETY: shared references only read the buffer.
unsafe impl Sync for ExtendedState {}

impl ExtendedState {
    fn alloc_layout() -> Layout {
        Layout::from_size_align(layout().size, ALIGN).expect("extended-state size")
    }

    /// The state a new thread starts from: every register zero, FCW 0x37f,
    /// MXCSR 0x1f80. `None` when memory is short.
    pub fn initial() -> Option<ExtendedState> {
        // SAFETY: the layout's size is not zero (at least 512).
        let area = NonNull::new(unsafe { alloc_zeroed(Self::alloc_layout()) })?;
        let mut s = ExtendedState { area };
        layout().write_initial(s.bytes_mut());
        Some(s)
    }

    /// A copy of this (saved) state: a forked child's registers, as
    /// Linux's `fpu_clone` copies them for a new process. `None` when
    /// memory is short.
    pub fn duplicate(&self) -> Option<ExtendedState> {
        // SAFETY: the layout's size is not zero (at least 512).
        let area = NonNull::new(unsafe { alloc_zeroed(Self::alloc_layout()) })?;
        // SAFETY: both buffers are `size` bytes, distinct allocations; the
        // source is a valid image, so the copy is one.
        unsafe { core::ptr::copy_nonoverlapping(self.area.as_ptr(), area.as_ptr(), layout().size) };
        Some(ExtendedState { area })
    }

    // `bytes` and the two user-format conversions serve the signal frames
    // (`rt_sigframe`'s `fpstate`, `sigreturn`) and the boot-time test of
    // the round trip; production code has no caller yet.
    #[cfg_attr(not(feature = "boot-tests"), allow(dead_code))]
    fn bytes(&self) -> &[u8] {
        // SAFETY: the buffer is `size` bytes, allocated in `initial`.
        unsafe { core::slice::from_raw_parts(self.area.as_ptr(), layout().size) }
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: as above, and `&mut self` makes the access unique.
        unsafe { core::slice::from_raw_parts_mut(self.area.as_ptr(), layout().size) }
    }

    /// Saves this CPU's registers (the running thread's) into the buffer.
    /// Never inlined: the kernel's FPU/SIMD instructions stay in this
    /// module's functions, where the disassembly check allows them.
    #[inline(never)]
    pub fn save(&mut self) {
        let l = layout();
        let p = self.area.as_ptr();
        let (lo, hi) = (l.features as u32, (l.features >> 32) as u32);
        // SAFETY: the buffer is `size` bytes and 64-byte aligned, as every
        // form needs; the features mask is XCR0 (IA32_XSS is 0, so XSAVES
        // saves only user components). These instructions only store into
        // the buffer and read the registers.
        unsafe {
            match l.instruction {
                SaveInstruction::Xsaves => {
                    asm!("xsaves64 [{}]", in(reg) p, in("eax") lo, in("edx") hi, options(nostack, preserves_flags))
                }
                SaveInstruction::Xsavec => {
                    asm!("xsavec64 [{}]", in(reg) p, in("eax") lo, in("edx") hi, options(nostack, preserves_flags))
                }
                SaveInstruction::Xsaveopt => {
                    asm!("xsaveopt64 [{}]", in(reg) p, in("eax") lo, in("edx") hi, options(nostack, preserves_flags))
                }
                SaveInstruction::Xsave => {
                    asm!("xsave64 [{}]", in(reg) p, in("eax") lo, in("edx") hi, options(nostack, preserves_flags))
                }
                SaveInstruction::Fxsave => asm!("fxsave64 [{}]", in(reg) p, options(nostack, preserves_flags)),
            }
        }
    }

    /// Loads the buffer into this CPU's registers (for the thread about to
    /// run). Every component on is loaded: those absent from XSTATE_BV get
    /// their initial values, so nothing of the previous thread remains.
    /// Never inlined (see `save`).
    #[inline(never)]
    pub fn restore(&self) {
        let l = layout();
        let p = self.area.as_ptr();
        let (lo, hi) = (l.features as u32, (l.features >> 32) as u32);
        // SAFETY: the buffer is aligned and always holds a valid image (see
        // the type's docs), so the restore does not fault; it only loads
        // the app's registers, which the kernel does not use.
        unsafe {
            match l.instruction {
                SaveInstruction::Xsaves => {
                    asm!("xrstors64 [{}]", in(reg) p, in("eax") lo, in("edx") hi, options(nostack, preserves_flags))
                }
                SaveInstruction::Xsavec | SaveInstruction::Xsaveopt | SaveInstruction::Xsave => {
                    asm!("xrstor64 [{}]", in(reg) p, in("eax") lo, in("edx") hi, options(nostack, preserves_flags))
                }
                SaveInstruction::Fxsave => asm!("fxrstor64 [{}]", in(reg) p, options(nostack, preserves_flags)),
            }
        }
    }

    /// Writes the saved state in the standard XSAVE format (the legacy
    /// FXSAVE image without XSAVE) into `out`, as Linux writes a signal
    /// frame's `fpstate` (before its `_fpx_sw_bytes` and magic, which the
    /// signal code adds); returns the bytes written.
    #[cfg_attr(not(feature = "boot-tests"), allow(dead_code))]
    pub fn save_to_user_format(&self, out: &mut [u8]) -> Result<usize, XstateError> {
        layout().to_standard(self.bytes(), out)
    }

    /// Replaces the saved state with a standard-format image from user
    /// space (`sigreturn`), after checking it: XSTATE_BV within XCR0,
    /// XCOMP_BV zero, reserved header bytes zero, no reserved MXCSR bit. On
    /// error the state is unchanged.
    #[cfg_attr(not(feature = "boot-tests"), allow(dead_code))]
    pub fn restore_from_user_format(&mut self, image: &[u8]) -> Result<(), XstateError> {
        let l = layout();
        l.check_standard(image)?;
        l.from_standard(image, self.bytes_mut())
    }
}

impl Drop for ExtendedState {
    fn drop(&mut self) {
        // SAFETY: allocated in `initial` with this layout.
        unsafe { dealloc(self.area.as_ptr(), Self::alloc_layout()) };
    }
}

impl core::fmt::Debug for ExtendedState {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "ExtendedState({} bytes)", layout().size)
    }
}
