//! A thread's extended state in the standard (user, signal-frame) format:
//! the initial state reads back as Linux's, an edited image goes in and
//! comes out the same, and a malformed one is refused without a change.

use alloc::vec;

use libos_kcore::xstate::{HEADER_OFFSET, MXCSR_OFFSET, XMM_OFFSET, XstateError};
use libos_macros::kernel_test;

use crate::arch::x86_64::xstate::{ExtendedState, layout};

#[kernel_test]
fn user_format_round_trip_and_checks() {
    let l = layout();
    let mut state = ExtendedState::initial().expect("memory");
    let mut image = vec![0u8; l.standard_size];
    assert_eq!(state.save_to_user_format(&mut image), Ok(if l.uses_xsave() { l.standard_size } else { 512 }));
    assert_eq!(&image[0..2], &[0x7f, 0x03], "FCW 0x37f");
    assert_eq!(&image[MXCSR_OFFSET..MXCSR_OFFSET + 4], &0x1f80u32.to_le_bytes());
    // Round toward zero, XMM0 = 0x5a..: in and out unchanged.
    image[MXCSR_OFFSET..MXCSR_OFFSET + 4].copy_from_slice(&0x7f80u32.to_le_bytes());
    image[XMM_OFFSET..XMM_OFFSET + 16].fill(0x5a);
    assert_eq!(state.restore_from_user_format(&image), Ok(()));
    let mut back = vec![0u8; l.standard_size];
    state.save_to_user_format(&mut back).unwrap();
    assert_eq!(&back[..512], &image[..512]);
    // A reserved MXCSR bit, and (with XSAVE) a component that is off: refused.
    let mut bad = image.clone();
    bad[MXCSR_OFFSET + 3] = 0x80;
    assert_eq!(state.restore_from_user_format(&bad), Err(XstateError::ReservedMxcsr));
    if l.uses_xsave() {
        let mut bad = image.clone();
        bad[HEADER_OFFSET + 1] |= 2; // XSTATE_BV bit 9 (PKRU): never on
        assert_eq!(state.restore_from_user_format(&bad), Err(XstateError::UnknownComponent));
    }
    let mut after = vec![0u8; l.standard_size];
    state.save_to_user_format(&mut after).unwrap();
    assert_eq!(after, back, "a refused image changes nothing");
}
