//! The signal frame: what a handler finds on its stack, and what
//! `rt_sigreturn` takes back from it (Linux's `arch/x86/kernel/signal_64.c`
//! `x64_setup_rt_frame` and `restore_sigcontext`, and
//! `arch/x86/kernel/fpu/signal.c` for the extended-state area).
//!
//! Layout, from the handler's RSP up: `struct rt_sigframe` (the return
//! address `sa_restorer`, the `ucontext` with the interrupted registers in
//! `uc_mcontext` and the old mask in `uc_sigmask`, the `siginfo`), then, 64
//! bytes aligned, the extended state in the standard XSAVE format with
//! `_fpx_sw_bytes` (FP_XSTATE_MAGIC1) in its legacy region's software bytes
//! and FP_XSTATE_MAGIC2 right after it. `uc_mcontext.fpstate` points at it.
//! The types and their compile-time layout checks are `libos_abi::signal`.

use alloc::vec;
use alloc::vec::Vec;

use entry_asm::hw::{rflags, selector};
use entry_asm::pt_regs::PtRegs;
use libos_abi::signal::{
    FP_XSTATE_MAGIC1, FP_XSTATE_MAGIC2, FPX_SW_BYTES_OFFSET, FpxSwBytes, RtSigFrame, SigAction, SigContext, StackT,
    UContext, sa, uc,
};
use libos_kcore::signal::{AltStack, PendingInfo, place_frame, sigreturn_rflags, sigreturn_selectors_ok};
use libos_kcore::xstate::{HEADER_OFFSET, component};

use crate::arch::x86_64::xstate;
use crate::mm::user_access::{self, Pod};
use crate::sched;

// SAFETY: `repr(C)` structures of integers whose layouts (checked in
// libos-abi) have no padding: every byte is a field, every pattern valid.
unsafe impl Pod for RtSigFrame {}
// SAFETY: as above.
unsafe impl Pod for UContext {}
// SAFETY: as above.
unsafe impl Pod for SigAction {}
// SAFETY: as above (`_pad` is an explicit field).
unsafe impl Pod for StackT {}
// SAFETY: as above.
unsafe impl Pod for FpxSwBytes {}

/// Why a frame could not be written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetupError {
    /// The action has no `SA_RESTORER` (x86_64 requires one).
    NoRestorer,
    /// The frame would not fit (the alternate stack is too small, or the
    /// stack pointer is too low).
    NoRoom,
    /// The stack is not writable app memory there.
    Unwritable(u64),
}

/// Why `rt_sigreturn` refused a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RestoreError {
    /// The frame is not readable app memory.
    Unreadable,
    /// CS or SS is not the 64-bit user selector.
    Selectors,
    /// The extended-state area is misaligned or unreadable.
    FpstatePointer,
    /// The extended-state area would fault XRSTOR (reserved bits).
    Fpstate(libos_kcore::xstate::XstateError),
}

/// Size of the extended-state area in a frame: the standard XSAVE format
/// plus the trailing magic, or the FXSAVE image without XSAVE (Linux's
/// `fpu__alloc_mathframe`).
fn fpstate_size() -> usize {
    let l = xstate::layout();
    if l.uses_xsave() { l.standard_size + 4 } else { 512 }
}

/// The running thread's extended state in the frame's format.
fn fpstate_image() -> Vec<u8> {
    let l = xstate::layout();
    let mut image = vec![0u8; fpstate_size().max(l.standard_size)];
    sched::with_current_xstate(|x| {
        x.save();
        x.save_to_user_format(&mut image).expect("buffer of the standard size")
    });
    if l.uses_xsave() {
        // Linux's `save_xstate_epilog`: the software bytes, x87 and SSE
        // always marked present, the trailing magic.
        let sw = FpxSwBytes {
            magic1: FP_XSTATE_MAGIC1,
            extended_size: (l.standard_size + 4) as u32,
            xfeatures: l.features,
            xstate_size: l.standard_size as u32,
            padding: [0; 7],
        };
        // SAFETY: `FpxSwBytes` is Pod (no padding), 48 bytes.
        let bytes = unsafe {
            core::slice::from_raw_parts(&sw as *const FpxSwBytes as *const u8, core::mem::size_of::<FpxSwBytes>())
        };
        image[FPX_SW_BYTES_OFFSET..FPX_SW_BYTES_OFFSET + bytes.len()].copy_from_slice(bytes);
        image[HEADER_OFFSET] |= (1 << component::X87) | (1 << component::SSE);
        image[l.standard_size..l.standard_size + 4].copy_from_slice(&FP_XSTATE_MAGIC2.to_le_bytes());
    }
    image.truncate(fpstate_size());
    image
}

fn pod_bytes<T: Pod>(value: &T) -> &[u8] {
    // SAFETY: a Pod value has no padding: all its bytes are initialised.
    unsafe { core::slice::from_raw_parts(value as *const T as *const u8, core::mem::size_of::<T>()) }
}

/// Writes the frame for a handler of `info` with action `act` on the
/// thread's stack (or its alternate stack, `alt` as it was before the
/// handler), saving `regs`, `old_mask` and the extended state, and points
/// `regs` at the handler (Linux's `x64_setup_rt_frame`). Interrupts on (the
/// stack may need paging in). On error nothing in `regs` changed.
pub fn setup(
    regs: &mut PtRegs,
    info: &PendingInfo,
    act: &SigAction,
    old_mask: u64,
    alt: &AltStack,
) -> Result<(), SetupError> {
    if act.flags & sa::SA_RESTORER == 0 {
        return Err(SetupError::NoRestorer);
    }
    let fp = fpstate_image();
    let on_stack = act.flags & sa::SA_ONSTACK != 0;
    let place = place_frame(regs.rsp, on_stack, alt, fp.len() as u64, core::mem::size_of::<RtSigFrame>() as u64)
        .ok_or(SetupError::NoRoom)?;
    let (ss_sp, ss_flags, ss_size) = alt.report(regs.rsp);
    let mut frame = RtSigFrame {
        pretcode: act.restorer,
        uc: UContext {
            uc_flags: if xstate::layout().uses_xsave() { uc::UC_FP_XSTATE } else { 0 }
                | uc::UC_SIGCONTEXT_SS
                | uc::UC_STRICT_RESTORE_SS,
            uc_link: 0,
            uc_stack: StackT { ss_sp, ss_flags, _pad: 0, ss_size },
            uc_mcontext: sigcontext_of(regs, info, old_mask, place.fpstate),
            uc_sigmask: old_mask,
        },
        info: Default::default(),
    };
    if act.flags & sa::SA_SIGINFO != 0 {
        frame.info = info.siginfo();
    }
    user_access::copy_to_user(place.fpstate, &fp).map_err(|_| SetupError::Unwritable(place.fpstate))?;
    user_access::copy_to_user(place.frame, pod_bytes(&frame)).map_err(|_| SetupError::Unwritable(place.frame))?;
    regs.rdi = info.signo as u64;
    regs.rax = 0;
    regs.rsi = place.frame + core::mem::offset_of!(RtSigFrame, info) as u64;
    regs.rdx = place.frame + core::mem::offset_of!(RtSigFrame, uc) as u64;
    regs.rip = act.handler;
    regs.rsp = place.frame;
    regs.cs = selector::USER_CS as u64;
    regs.ss = selector::USER_DS as u64;
    // Linux's `handle_signal`: the handler starts with DF, RF and TF clear.
    regs.rflags &= !(rflags::DF | rflags::RF | rflags::TF);
    Ok(())
}

fn sigcontext_of(regs: &PtRegs, info: &PendingInfo, old_mask: u64, fpstate: u64) -> SigContext {
    SigContext {
        r8: regs.r8,
        r9: regs.r9,
        r10: regs.r10,
        r11: regs.r11,
        r12: regs.r12,
        r13: regs.r13,
        r14: regs.r14,
        r15: regs.r15,
        rdi: regs.rdi,
        rsi: regs.rsi,
        rbp: regs.rbp,
        rbx: regs.rbx,
        rdx: regs.rdx,
        rax: regs.rax,
        rcx: regs.rcx,
        rsp: regs.rsp,
        rip: regs.rip,
        eflags: regs.rflags,
        cs: regs.cs as u16,
        gs: 0,
        fs: 0,
        ss: regs.ss as u16,
        err: info.err,
        trapno: info.trapno,
        oldmask: old_mask,
        cr2: if info.fault && info.trapno == u64::from(entry_asm::hw::vector::PF) { info.word0 } else { 0 },
        fpstate,
        reserved1: [0; 8],
    }
}

/// What `rt_sigreturn` restores besides the registers.
pub struct Restored {
    /// The blocked mask to restore (`uc_sigmask`).
    pub mask: u64,
    /// The alternate stack the frame names (`uc_stack`).
    pub stack: StackT,
}

/// Reads the frame at `regs.rsp - 8`, checks it, and on success loads its
/// registers into `regs` and its extended state into the CPU (Linux's
/// `restore_sigcontext` and `fpu__restore_sig`, with this kernel's stricter
/// selector rule). On error nothing changed.
pub fn restore(regs: &mut PtRegs) -> Result<Restored, RestoreError> {
    let frame_addr = regs.rsp.wrapping_sub(8);
    let ucp = frame_addr.wrapping_add(core::mem::offset_of!(RtSigFrame, uc) as u64);
    let ucontext: UContext = user_access::read_user(ucp).map_err(|_| RestoreError::Unreadable)?;
    let sc = &ucontext.uc_mcontext;
    if !sigreturn_selectors_ok(sc.cs, sc.ss, selector::USER_CS, selector::USER_DS) {
        return Err(RestoreError::Selectors);
    }
    restore_fpstate(sc.fpstate)?;
    regs.r8 = sc.r8;
    regs.r9 = sc.r9;
    regs.r10 = sc.r10;
    regs.r11 = sc.r11;
    regs.r12 = sc.r12;
    regs.r13 = sc.r13;
    regs.r14 = sc.r14;
    regs.r15 = sc.r15;
    regs.rdi = sc.rdi;
    regs.rsi = sc.rsi;
    regs.rbp = sc.rbp;
    regs.rbx = sc.rbx;
    regs.rdx = sc.rdx;
    regs.rax = sc.rax;
    regs.rcx = sc.rcx;
    regs.rsp = sc.rsp;
    // Any RIP: a non-canonical one cannot leave through SYSRET (the syscall
    // exit checks the rewritten frame and uses IRET, whose fault ends the
    // app).
    regs.rip = sc.rip;
    regs.rflags = sigreturn_rflags(regs.rflags, sc.eflags);
    regs.cs = selector::USER_CS as u64;
    regs.ss = selector::USER_DS as u64;
    // No system call to restart any more (Linux sets orig_ax to -1).
    regs.orig_rax = u64::MAX;
    Ok(Restored { mask: ucontext.uc_sigmask, stack: ucontext.uc_stack })
}

/// Loads the frame's extended state (0: the initial state, as Linux's
/// `fpu__clear_user_states`). Without `FP_XSTATE_MAGIC1` only the legacy
/// x87/SSE region is taken (Linux's fallback to FXRSTOR).
fn restore_fpstate(addr: u64) -> Result<(), RestoreError> {
    let l = xstate::layout();
    let mut image = vec![0u8; l.standard_size.max(512)];
    if addr != 0 {
        if !addr.is_multiple_of(64) {
            return Err(RestoreError::FpstatePointer);
        }
        user_access::copy_from_user(&mut image[..512], addr).map_err(|_| RestoreError::FpstatePointer)?;
        let sw: FpxSwBytes =
            user_access::read_user(addr + FPX_SW_BYTES_OFFSET as u64).map_err(|_| RestoreError::FpstatePointer)?;
        if l.uses_xsave() && sw.magic1 == FP_XSTATE_MAGIC1 {
            user_access::copy_from_user(&mut image[512..l.standard_size], addr + 512)
                .map_err(|_| RestoreError::FpstatePointer)?;
        }
    } else {
        image[0..2].copy_from_slice(&libos_kcore::xstate::INITIAL_FCW.to_le_bytes());
        image[24..28].copy_from_slice(&libos_kcore::xstate::INITIAL_MXCSR.to_le_bytes());
    }
    sched::with_current_xstate(|x| {
        x.restore_from_user_format(&image)?;
        x.restore();
        Ok(())
    })
    .map_err(RestoreError::Fpstate)
}
