//! The layout of a thread's extended (x87/SSE/AVX/AVX-512) state, from
//! CPUID leaf 0xD, and the conversions between the kernel's save format and
//! the standard XSAVE format user space sees (a Linux signal frame's
//! `fpstate`).
//!
//! Intel SDM Vol. 1, chapter 13 ("Managing State Using the XSAVE Feature
//! Set"): the legacy region (bytes 0-511, the FXSAVE image), the XSAVE
//! header (512-575: XSTATE_BV, XCOMP_BV, reserved), then one area per state
//! component. In the *standard* format component `i` lies at the offset
//! CPUID.(EAX=0DH,ECX=i):EBX gives; in the *compacted* format (XSAVEC,
//! XSAVES; XCOMP_BV bit 63 set) the components present in XCOMP_BV follow
//! one another from byte 576, each aligned to 64 bytes when
//! CPUID.(EAX=0DH,ECX=i):ECX bit 1 says so (SDM 13.4.3).
//!
//! Which instruction saves the state (SDM 13.9-13.12; Linux's
//! `arch/x86/kernel/fpu/xstate.c` makes the same choice): XSAVES (compacted,
//! supervisor) if the CPU has it, else XSAVEC (compacted), else XSAVEOPT,
//! else XSAVE (standard), else FXSAVE (512 bytes, x87 and SSE only).

/// State component numbers (bits of XCR0, XSTATE_BV, XCOMP_BV).
pub mod component {
    /// x87 FPU state (legacy region).
    pub const X87: u32 = 0;
    /// SSE state: XMM0-15 and MXCSR (legacy region).
    pub const SSE: u32 = 1;
    /// AVX: the upper halves of YMM0-15.
    pub const AVX: u32 = 2;
    /// AVX-512 opmask registers k0-7.
    pub const OPMASK: u32 = 5;
    /// AVX-512: the upper 256 bits of ZMM0-15.
    pub const ZMM_HI256: u32 = 6;
    /// AVX-512: ZMM16-31.
    pub const HI16_ZMM: u32 = 7;
    /// Names, by component number (for the boot report).
    pub const NAMES: [&str; 8] = ["x87", "sse", "avx", "bndregs", "bndcsr", "opmask", "zmm_hi256", "hi16_zmm"];
}

/// The user state components the kernel handles: x87, SSE, AVX and the
/// three AVX-512 components. Not MPX (deprecated; Linux dropped it) nor
/// PKRU (CR4.PKE stays off) nor AMX.
pub const HANDLED_COMPONENTS: u64 = (1 << component::X87)
    | (1 << component::SSE)
    | (1 << component::AVX)
    | (1 << component::OPMASK)
    | (1 << component::ZMM_HI256)
    | (1 << component::HI16_ZMM);

/// AVX-512's three components, which XCR0 must enable together (SDM 13.3).
pub const AVX512_COMPONENTS: u64 = (1 << component::OPMASK) | (1 << component::ZMM_HI256) | (1 << component::HI16_ZMM);

/// Size of the legacy (FXSAVE) region.
pub const LEGACY_SIZE: usize = 512;
/// Offset of the XSAVE header.
pub const HEADER_OFFSET: usize = 512;
/// Size of the XSAVE header.
pub const HEADER_SIZE: usize = 64;
/// Offset of the first extended component (AVX in both formats).
pub const EXTENDED_OFFSET: usize = HEADER_OFFSET + HEADER_SIZE;
/// Offset of the x87 control word (FCW) in the legacy region.
pub const FCW_OFFSET: usize = 0;
/// Offset of MXCSR in the legacy region.
pub const MXCSR_OFFSET: usize = 24;
/// Offset of MXCSR_MASK in the legacy region.
pub const MXCSR_MASK_OFFSET: usize = 28;
/// Offset of XMM0 in the legacy region.
pub const XMM_OFFSET: usize = 160;
/// The x87 control word of a new thread (all exceptions masked, 64-bit
/// precision, round to nearest; Linux's `fpstate_init_fx`, the FNINIT value).
pub const INITIAL_FCW: u16 = 0x37f;
/// MXCSR of a new thread (all exceptions masked, round to nearest).
pub const INITIAL_MXCSR: u32 = 0x1f80;
/// The MXCSR_MASK a CPU that stores 0 there means (SDM 11.6.6).
pub const DEFAULT_MXCSR_MASK: u32 = 0xffbf;
/// XCOMP_BV bit 63: the area is in the compacted format.
pub const XCOMP_BV_COMPACTED: u64 = 1 << 63;

/// The instruction pair that saves and restores a thread's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SaveInstruction {
    /// XSAVES/XRSTORS (compacted, init and modified optimisations).
    Xsaves,
    /// XSAVEC/XRSTOR (compacted, init optimisation).
    Xsavec,
    /// XSAVEOPT/XRSTOR (standard, modified optimisation).
    Xsaveopt,
    /// XSAVE/XRSTOR (standard).
    Xsave,
    /// FXSAVE/FXRSTOR (no XSAVE: x87 and SSE only, 512 bytes).
    Fxsave,
}

impl SaveInstruction {
    /// Its mnemonic, for the boot report.
    pub fn name(self) -> &'static str {
        match self {
            SaveInstruction::Xsaves => "xsaves",
            SaveInstruction::Xsavec => "xsavec",
            SaveInstruction::Xsaveopt => "xsaveopt",
            SaveInstruction::Xsave => "xsave",
            SaveInstruction::Fxsave => "fxsave",
        }
    }

    /// Whether it writes the compacted format.
    pub fn compacted(self) -> bool {
        matches!(self, SaveInstruction::Xsaves | SaveInstruction::Xsavec)
    }
}

/// The four registers of one CPUID leaf/subleaf.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CpuidRegs {
    /// EAX.
    pub eax: u32,
    /// EBX.
    pub ebx: u32,
    /// ECX.
    pub ecx: u32,
    /// EDX.
    pub edx: u32,
}

/// Where one component lies.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ComponentArea {
    /// Its size in bytes.
    pub size: u32,
    /// Its offset in the standard format.
    pub standard_offset: u32,
    /// Its offset in the compacted format (with XCOMP_BV = the enabled set).
    pub compacted_offset: u32,
}

/// A thread's extended state as this CPU keeps it: which components are
/// on (XCR0), with which instruction, and where each lies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct XstateLayout {
    /// The components on (the value for XCR0; x87|SSE without XSAVE).
    pub features: u64,
    /// How the kernel saves and restores.
    pub instruction: SaveInstruction,
    /// Size of the kernel's buffer (in the format `instruction` writes).
    pub size: usize,
    /// Size of the standard format with `features` (what user space gets).
    pub standard_size: usize,
    /// Areas of components 2..8 (zero for those off).
    pub areas: [ComponentArea; 8],
    /// The bits of MXCSR the CPU supports (from FXSAVE's MXCSR_MASK).
    pub mxcsr_mask: u32,
    /// The size CPUID reports for the save area once XCR0 is set (0 until
    /// [`XstateLayout::reconcile`]), for the boot report.
    pub cpu_reported_size: usize,
    /// Whether the CPU has XSAVEOPT (the fallback from a compacted form).
    pub has_xsaveopt: bool,
}

/// Why an image of extended state cannot be loaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum XstateError {
    /// The buffer is shorter than the format needs.
    TooShort,
    /// XSTATE_BV names a component that is not on.
    UnknownComponent,
    /// XCOMP_BV is not 0 (user images are in the standard format).
    Compacted,
    /// The reserved bytes of the XSAVE header are not zero.
    ReservedHeader,
    /// MXCSR sets bits the CPU reserves.
    ReservedMxcsr,
}

fn bit(mask: u64, i: u32) -> bool {
    mask & (1 << i) != 0
}

fn align64(x: u32) -> u32 {
    (x + 63) & !63
}

impl XstateLayout {
    /// The layout from CPUID: `has_xsave` is CPUID.1:ECX.XSAVE[bit 26];
    /// `leaf_0d(subleaf)` returns CPUID.(EAX=0DH, ECX=subleaf) (called only
    /// with XSAVE). Only the [`HANDLED_COMPONENTS`] the CPU supports are
    /// turned on; AVX-512 only when all three of its components and AVX are
    /// there (XCR0 refuses anything else).
    pub fn from_cpuid(has_xsave: bool, leaf_0d: impl Fn(u32) -> CpuidRegs) -> XstateLayout {
        let fx = XstateLayout {
            features: (1 << component::X87) | (1 << component::SSE),
            instruction: SaveInstruction::Fxsave,
            size: LEGACY_SIZE,
            standard_size: LEGACY_SIZE,
            areas: [ComponentArea::default(); 8],
            mxcsr_mask: DEFAULT_MXCSR_MASK,
            cpu_reported_size: 0,
            has_xsaveopt: false,
        };
        if !has_xsave {
            return fx;
        }
        let main = leaf_0d(0);
        let supported = (u64::from(main.edx) << 32) | u64::from(main.eax);
        let mut features = supported & HANDLED_COMPONENTS;
        // x87 and SSE are always there with XSAVE; AVX needs SSE; AVX-512
        // needs AVX and all three of its parts (SDM 13.3, XSETBV's #GP rules).
        if !bit(features, component::X87) || !bit(features, component::SSE) {
            return fx;
        }
        if !bit(features, component::AVX) || features & AVX512_COMPONENTS != AVX512_COMPONENTS {
            features &= !AVX512_COMPONENTS;
        }
        let sub1 = leaf_0d(1);
        let instruction = if sub1.eax & (1 << 3) != 0 {
            SaveInstruction::Xsaves
        } else if sub1.eax & (1 << 1) != 0 {
            SaveInstruction::Xsavec
        } else if sub1.eax & 1 != 0 {
            SaveInstruction::Xsaveopt
        } else {
            SaveInstruction::Xsave
        };
        let mut areas = [ComponentArea::default(); 8];
        let mut standard_end = EXTENDED_OFFSET as u32;
        let mut compacted_end = EXTENDED_OFFSET as u32;
        for i in 2..8 {
            if !bit(features, i) {
                continue;
            }
            let r = leaf_0d(i);
            let start = if r.ecx & 2 != 0 { align64(compacted_end) } else { compacted_end };
            areas[i as usize] = ComponentArea { size: r.eax, standard_offset: r.ebx, compacted_offset: start };
            compacted_end = start + r.eax;
            standard_end = standard_end.max(r.ebx + r.eax);
        }
        let size = if instruction.compacted() { compacted_end } else { standard_end };
        XstateLayout {
            features,
            instruction,
            size: size as usize,
            standard_size: standard_end as usize,
            areas,
            mxcsr_mask: DEFAULT_MXCSR_MASK,
            cpu_reported_size: 0,
            has_xsaveopt: sub1.eax & 1 != 0,
        }
    }

    /// Checks the layout against the sizes the CPU reports once XCR0 is set
    /// (CPUID.(EAX=0DH,ECX=0):EBX for the standard format,
    /// CPUID.(EAX=0DH,ECX=1):EBX for the compacted one) and never allocates
    /// less. When the compacted size disagrees with the SDM's compaction
    /// rule (13.4.3) computed here, the CPU's compaction cannot be trusted
    /// to match [`XstateLayout::to_standard`]'s offsets: use the standard
    /// format (XSAVEOPT or XSAVE) instead. Bochs 2.7 is such a CPU: it
    /// reports 2688 bytes (the standard size) for a compacted x87..Hi16_ZMM
    /// area of 2432, and its XSAVEC writes AVX-512 state over the XSAVE
    /// header, which the next XRSTOR refuses with #GP.
    pub fn reconcile(&mut self, standard_reported: usize, compacted_reported: usize) {
        if !self.uses_xsave() {
            self.cpu_reported_size = LEGACY_SIZE;
            return;
        }
        if self.instruction.compacted() && compacted_reported != self.size {
            self.instruction = if self.has_xsaveopt { SaveInstruction::Xsaveopt } else { SaveInstruction::Xsave };
            self.size = self.standard_size;
        }
        self.cpu_reported_size = if self.instruction.compacted() { compacted_reported } else { standard_reported };
        self.size = self.size.max(self.cpu_reported_size);
        self.standard_size = self.standard_size.max(standard_reported);
    }

    /// Whether XSAVE is in use (else FXSAVE).
    pub fn uses_xsave(&self) -> bool {
        self.instruction != SaveInstruction::Fxsave
    }

    /// Records the MXCSR_MASK an FXSAVE stored (0 means the default).
    pub fn set_mxcsr_mask(&mut self, saved: u32) {
        self.mxcsr_mask = if saved == 0 { DEFAULT_MXCSR_MASK } else { saved };
    }

    /// The names of the components on, in component order.
    pub fn component_names(&self) -> impl Iterator<Item = &'static str> + '_ {
        (0..8).filter(|&i| bit(self.features, i)).map(|i| component::NAMES[i as usize])
    }

    /// Writes the state of a new thread into `buf` (at least `size` bytes,
    /// in the kernel's format): FCW 0x37f, MXCSR 0x1f80, every register
    /// zero, as Linux's `fpstate_init` gives. x87 and SSE are marked present
    /// in XSTATE_BV so that the restore loads these control words from the
    /// legacy region (SDM 13.8: MXCSR comes from memory whenever SSE or AVX
    /// is restored); the other components are absent, which XRSTOR turns
    /// into their initial state (all zero).
    pub fn write_initial(&self, buf: &mut [u8]) {
        let buf = &mut buf[..self.size];
        buf.fill(0);
        put16(buf, FCW_OFFSET, INITIAL_FCW);
        put32(buf, MXCSR_OFFSET, INITIAL_MXCSR);
        if self.uses_xsave() {
            put64(buf, HEADER_OFFSET, (1 << component::X87) | (1 << component::SSE));
            if self.instruction.compacted() {
                put64(buf, HEADER_OFFSET + 8, XCOMP_BV_COMPACTED | self.features);
            }
        }
    }

    /// Converts a saved image (`saved`, the kernel's format) to the standard
    /// XSAVE format user space sees, into `user` (at least `standard_size`
    /// bytes): the legacy region as is, XSTATE_BV limited to the components
    /// on, XCOMP_BV 0, and each component present at its standard offset;
    /// components absent (in their initial state) are written as zeros, their
    /// initial value. Returns the bytes written.
    pub fn to_standard(&self, saved: &[u8], user: &mut [u8]) -> Result<usize, XstateError> {
        if saved.len() < self.size || user.len() < self.standard_size {
            return Err(XstateError::TooShort);
        }
        let user = &mut user[..self.standard_size];
        user.fill(0);
        user[..LEGACY_SIZE].copy_from_slice(&saved[..LEGACY_SIZE]);
        if !self.uses_xsave() {
            return Ok(LEGACY_SIZE);
        }
        let bv = get64(saved, HEADER_OFFSET) & self.features;
        put64(user, HEADER_OFFSET, bv);
        for i in 2..8u32 {
            if !bit(bv, i) {
                continue;
            }
            let a = self.areas[i as usize];
            let from = if self.instruction.compacted() { a.compacted_offset } else { a.standard_offset } as usize;
            let to = a.standard_offset as usize;
            let n = a.size as usize;
            user[to..to + n].copy_from_slice(&saved[from..from + n]);
        }
        Ok(self.standard_size)
    }

    /// Checks a standard-format image from user space (as `sigreturn` must,
    /// before XRSTOR could fault on it in ring 0): XSTATE_BV only names
    /// components that are on, XCOMP_BV is 0, the header's reserved bytes
    /// are zero and MXCSR sets no reserved bit. With FXSAVE only the MXCSR
    /// check applies.
    pub fn check_standard(&self, user: &[u8]) -> Result<(), XstateError> {
        let need = if self.uses_xsave() { self.standard_size } else { LEGACY_SIZE };
        if user.len() < need {
            return Err(XstateError::TooShort);
        }
        if get32(user, MXCSR_OFFSET) & !self.mxcsr_mask != 0 {
            return Err(XstateError::ReservedMxcsr);
        }
        if !self.uses_xsave() {
            return Ok(());
        }
        if get64(user, HEADER_OFFSET) & !self.features != 0 {
            return Err(XstateError::UnknownComponent);
        }
        if get64(user, HEADER_OFFSET + 8) != 0 {
            return Err(XstateError::Compacted);
        }
        if user[HEADER_OFFSET + 16..EXTENDED_OFFSET].iter().any(|&b| b != 0) {
            return Err(XstateError::ReservedHeader);
        }
        Ok(())
    }

    /// Converts a checked standard-format image from user space into the
    /// kernel's format, into `saved` (at least `size` bytes), ready for the
    /// kernel's restore instruction. The legacy region's x87 and SSE parts
    /// are always taken (XSTATE_BV gets x87|SSE, as Linux's
    /// `copy_uabi_to_xstate` keeps the legacy state), the others as present.
    pub fn from_standard(&self, user: &[u8], saved: &mut [u8]) -> Result<(), XstateError> {
        self.check_standard(user)?;
        if saved.len() < self.size {
            return Err(XstateError::TooShort);
        }
        let saved = &mut saved[..self.size];
        saved.fill(0);
        saved[..LEGACY_SIZE].copy_from_slice(&user[..LEGACY_SIZE]);
        if !self.uses_xsave() {
            return Ok(());
        }
        let bv = get64(user, HEADER_OFFSET) | (1 << component::X87) | (1 << component::SSE);
        put64(saved, HEADER_OFFSET, bv);
        if self.instruction.compacted() {
            put64(saved, HEADER_OFFSET + 8, XCOMP_BV_COMPACTED | self.features);
        }
        for i in 2..8u32 {
            if !bit(bv, i) {
                continue;
            }
            let a = self.areas[i as usize];
            let to = if self.instruction.compacted() { a.compacted_offset } else { a.standard_offset } as usize;
            let from = a.standard_offset as usize;
            let n = a.size as usize;
            saved[to..to + n].copy_from_slice(&user[from..from + n]);
        }
        Ok(())
    }
}

fn put16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_le_bytes());
}

fn put32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

fn put64(b: &mut [u8], at: usize, v: u64) {
    b[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

fn get32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

fn get64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec;

    /// CPUID.0DH of an Intel Skylake-SP (Xeon, AVX-512; Bochs's
    /// `corei7_skylake_x` reports the same areas): XCR0-supported 0x2ff
    /// (x87 SSE AVX BNDREGS BNDCSR opmask ZMM_Hi256 Hi16_ZMM PKRU),
    /// XSAVEOPT, XSAVEC, XGETBV1, XSAVES.
    fn skylake_x(sub: u32) -> CpuidRegs {
        let (eax, ebx, ecx, edx) = match sub {
            0 => (0x2ff, 0xa80, 0xa88, 0),
            1 => (0xf, 0xa88, 0x100, 0),
            2 => (256, 576, 0, 0),
            3 => (64, 960, 0, 0),
            4 => (64, 1024, 0, 0),
            5 => (64, 1088, 0, 0),
            6 => (512, 1152, 0, 0),
            7 => (1024, 1664, 0, 0),
            8 => (128, 0, 1, 0),
            9 => (8, 2688, 0, 0),
            _ => (0, 0, 0, 0),
        };
        CpuidRegs { eax, ebx, ecx, edx }
    }

    /// CPUID.0DH of an AVX2 CPU without AVX-512 or XSAVEC (QEMU 7.2's
    /// `-cpu max` under TCG): x87 SSE AVX, XSAVEOPT and XGETBV1.
    fn avx2_xsaveopt(sub: u32) -> CpuidRegs {
        let (eax, ebx, ecx, edx) = match sub {
            0 => (0x7, 0x340, 0x340, 0),
            1 => (0x5, 0, 0, 0),
            2 => (256, 576, 0, 0),
            _ => (0, 0, 0, 0),
        };
        CpuidRegs { eax, ebx, ecx, edx }
    }

    #[test]
    fn skylake_x_uses_xsaves_compacted_without_mpx_or_pkru() {
        let l = XstateLayout::from_cpuid(true, skylake_x);
        assert_eq!(l.features, 0xe7);
        assert_eq!(l.instruction, SaveInstruction::Xsaves);
        // Compacted: AVX 576+256, opmask 832+64, ZMM_Hi256 896+512, Hi16_ZMM 1408+1024.
        assert_eq!(l.areas[2].compacted_offset, 576);
        assert_eq!(l.areas[5].compacted_offset, 832);
        assert_eq!(l.areas[6].compacted_offset, 896);
        assert_eq!(l.areas[7].compacted_offset, 1408);
        assert_eq!(l.size, 2432);
        // Standard: up to the end of Hi16_ZMM, holes for MPX included.
        assert_eq!(l.standard_size, 2688);
        assert_eq!(
            l.component_names().collect::<vec::Vec<_>>(),
            ["x87", "sse", "avx", "opmask", "zmm_hi256", "hi16_zmm"]
        );
    }

    #[test]
    fn a_cpu_whose_compaction_disagrees_gets_the_standard_format() {
        let mut l = XstateLayout::from_cpuid(true, skylake_x);
        l.reconcile(2688, 2432);
        assert_eq!((l.instruction, l.size, l.cpu_reported_size), (SaveInstruction::Xsaves, 2432, 2432));
        // Bochs 2.7's corei7_skylake_x.
        let mut l = XstateLayout::from_cpuid(true, skylake_x);
        l.reconcile(2688, 2688);
        assert_eq!((l.instruction, l.size), (SaveInstruction::Xsaveopt, 2688));
        // A standard-format CPU that reports more than computed: never less.
        let mut l = XstateLayout::from_cpuid(true, avx2_xsaveopt);
        l.reconcile(896, 0);
        assert_eq!((l.instruction, l.size, l.standard_size), (SaveInstruction::Xsaveopt, 896, 896));
    }

    #[test]
    fn avx2_uses_xsaveopt_in_the_standard_format() {
        let l = XstateLayout::from_cpuid(true, avx2_xsaveopt);
        assert_eq!(l.features, 0x7);
        assert_eq!(l.instruction, SaveInstruction::Xsaveopt);
        assert_eq!((l.size, l.standard_size), (832, 832));
        assert_eq!(l.areas[2], ComponentArea { size: 256, standard_offset: 576, compacted_offset: 576 });
    }

    #[test]
    fn no_xsave_means_fxsave_of_512_bytes() {
        let l = XstateLayout::from_cpuid(false, |_| panic!("leaf 0xD read without XSAVE"));
        assert_eq!((l.instruction, l.size, l.features), (SaveInstruction::Fxsave, 512, 3));
    }

    #[test]
    fn partial_avx512_or_alignment_flags_are_honoured() {
        // AVX-512 without Hi16_ZMM: XCR0 would refuse it, so it stays off.
        let l = XstateLayout::from_cpuid(true, |s| {
            let mut r = skylake_x(s);
            if s == 0 {
                r.eax &= !(1 << 7);
            }
            r
        });
        assert_eq!(l.features, 0x7);
        // A component asking for 64-byte alignment in the compacted format.
        let l = XstateLayout::from_cpuid(true, |s| {
            let mut r = skylake_x(s);
            if s == 2 {
                r.eax = 200;
            }
            if s == 5 {
                r.ecx = 2;
            }
            r
        });
        assert_eq!(l.areas[5].compacted_offset, 832, "576+200 rounded up to 64");
        assert_eq!(l.areas[6].compacted_offset, 896);
        // XSAVEC without XSAVES.
        let l =
            XstateLayout::from_cpuid(
                true,
                |s| if s == 1 { CpuidRegs { eax: 3, ..skylake_x(1) } } else { skylake_x(s) },
            );
        assert_eq!(l.instruction, SaveInstruction::Xsavec);
    }

    #[test]
    fn initial_state_has_the_control_words_and_nothing_else() {
        for l in [
            XstateLayout::from_cpuid(true, skylake_x),
            XstateLayout::from_cpuid(true, avx2_xsaveopt),
            XstateLayout::from_cpuid(false, |_| CpuidRegs::default()),
        ] {
            let mut buf = vec![0xaau8; l.size + 8];
            l.write_initial(&mut buf);
            assert_eq!(&buf[0..2], &[0x7f, 0x03]);
            assert_eq!(get32(&buf, MXCSR_OFFSET), 0x1f80);
            assert!(buf[XMM_OFFSET..LEGACY_SIZE].iter().all(|&b| b == 0));
            assert!(buf[l.size..].iter().all(|&b| b == 0xaa), "writes only `size` bytes");
            if l.uses_xsave() {
                assert_eq!(get64(&buf, HEADER_OFFSET), 3);
                let xcomp = get64(&buf, HEADER_OFFSET + 8);
                assert_eq!(xcomp, if l.instruction.compacted() { XCOMP_BV_COMPACTED | l.features } else { 0 });
            }
        }
    }

    #[test]
    fn compacted_images_convert_to_the_standard_format_and_back() {
        let l = XstateLayout::from_cpuid(true, skylake_x);
        let mut saved = vec![0u8; l.size];
        l.write_initial(&mut saved);
        // XMM0 = 0x11.., the upper half of YMM0 = 0x22.., k0 = 0x33.., ZMM16 = 0x44..
        saved[XMM_OFFSET..XMM_OFFSET + 16].fill(0x11);
        saved[576..576 + 16].fill(0x22);
        saved[832..840].fill(0x33);
        saved[1408..1408 + 64].fill(0x44);
        put64(&mut saved, HEADER_OFFSET, 0xe7);
        let mut user = vec![0xffu8; l.standard_size];
        assert_eq!(l.to_standard(&saved, &mut user), Ok(2688));
        assert_eq!(get64(&user, HEADER_OFFSET), 0xe7);
        assert_eq!(get64(&user, HEADER_OFFSET + 8), 0);
        assert!(user[XMM_OFFSET..XMM_OFFSET + 16].iter().all(|&b| b == 0x11));
        assert!(user[576..592].iter().all(|&b| b == 0x22));
        assert!(user[1088..1096].iter().all(|&b| b == 0x33));
        assert!(user[1664..1664 + 64].iter().all(|&b| b == 0x44));
        assert!(user[960..1088].iter().all(|&b| b == 0), "the MPX hole is zero");
        let mut back = vec![0u8; l.size];
        assert_eq!(l.from_standard(&user, &mut back), Ok(()));
        assert_eq!(back, saved);
    }

    #[test]
    fn absent_components_read_as_their_initial_zeros() {
        let l = XstateLayout::from_cpuid(true, skylake_x);
        let mut saved = vec![0x55u8; l.size];
        put64(&mut saved, HEADER_OFFSET, 3);
        let mut user = vec![0xffu8; l.standard_size];
        l.to_standard(&saved, &mut user).unwrap();
        assert!(user[576..].iter().all(|&b| b == 0));
    }

    #[test]
    fn bad_user_images_are_refused() {
        let l = XstateLayout::from_cpuid(true, avx2_xsaveopt);
        let mut saved = vec![0u8; l.size];
        l.write_initial(&mut saved);
        let mut good = vec![0u8; l.standard_size];
        l.to_standard(&saved, &mut good).unwrap();
        assert_eq!(l.check_standard(&good), Ok(()));
        let mut out = vec![0u8; l.size];
        let mut bad = good.clone();
        put64(&mut bad, HEADER_OFFSET, 1 << 5);
        assert_eq!(l.from_standard(&bad, &mut out), Err(XstateError::UnknownComponent));
        let mut bad = good.clone();
        put64(&mut bad, HEADER_OFFSET + 8, XCOMP_BV_COMPACTED | 7);
        assert_eq!(l.check_standard(&bad), Err(XstateError::Compacted));
        let mut bad = good.clone();
        bad[HEADER_OFFSET + 40] = 1;
        assert_eq!(l.check_standard(&bad), Err(XstateError::ReservedHeader));
        let mut bad = good.clone();
        put32(&mut bad, MXCSR_OFFSET, 0x1f80 | (1 << 16));
        assert_eq!(l.check_standard(&bad), Err(XstateError::ReservedMxcsr));
        assert_eq!(l.check_standard(&good[..600]), Err(XstateError::TooShort));
        // FXSAVE: only MXCSR matters.
        let fx = XstateLayout::from_cpuid(false, |_| CpuidRegs::default());
        assert_eq!(fx.check_standard(&bad[..512]), Err(XstateError::ReservedMxcsr));
        assert_eq!(fx.check_standard(&good[..512]), Ok(()));
    }
}
