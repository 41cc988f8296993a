//! Bad arguments get Linux's errors; bad pointers to every signal call get
//! `EFAULT` (and change nothing).

use libos::sys;
use libos_abi::errno::Errno;
use libos_abi::signal::{SigAction, StackT, how, sig};

use crate::{action, bit, blocked, pid, tid};

/// Addresses no app may pass: unmapped, the kernel half, non-canonical.
const BAD: [u64; 3] = [0x5000_0000_0000, 0xffff_ffff_8000_0000, 0x8000_0000_0000_0000];

#[libos::test]
fn kill_reaches_the_app_only() {
    assert_eq!(sys::kill(pid() + 1, sig::SIGUSR1), Err(Errno::ESRCH));
    assert_eq!(sys::kill(-1, sig::SIGUSR1), Err(Errno::ESRCH));
    assert_eq!(sys::kill(-(pid() + 1), sig::SIGUSR1), Err(Errno::ESRCH));
    assert_eq!(sys::kill(pid(), 65), Err(Errno::EINVAL));
    assert_eq!(sys::kill(pid(), -1), Err(Errno::EINVAL));
    assert_eq!(sys::kill(pid() + 1, 0), Err(Errno::ESRCH));
}

#[libos::test]
fn tgkill_and_tkill_check_their_ids_and_signal() {
    assert_eq!(sys::tgkill(0, tid(), sig::SIGUSR1), Err(Errno::EINVAL));
    assert_eq!(sys::tgkill(pid(), 0, sig::SIGUSR1), Err(Errno::EINVAL));
    assert_eq!(sys::tgkill(pid(), -5, sig::SIGUSR1), Err(Errno::EINVAL));
    assert_eq!(sys::tgkill(pid(), tid(), 65), Err(Errno::EINVAL));
    assert_eq!(sys::tgkill(pid() + 1, tid(), sig::SIGUSR1), Err(Errno::ESRCH));
    assert_eq!(sys::tgkill(pid(), 0x7fff_ffff, sig::SIGUSR1), Err(Errno::ESRCH));
    assert_eq!(sys::tgkill(pid(), tid(), 0), Ok(()));
    assert_eq!(sys::tkill(0, sig::SIGUSR1), Err(Errno::EINVAL));
    assert_eq!(sys::tkill(0x7fff_ffff, sig::SIGUSR1), Err(Errno::ESRCH));
    assert_eq!(sys::tkill(tid(), 100), Err(Errno::EINVAL));
}

#[libos::test]
fn rt_sigaction_checks_the_signal_and_the_set_size() {
    let act = SigAction::default();
    let mut old = SigAction::default();
    // SAFETY: SIG_DFL actions; `old` is a local.
    unsafe {
        assert_eq!(sys::rt_sigaction(0, &act, &mut old, 8), Err(Errno::EINVAL));
        assert_eq!(sys::rt_sigaction(65, &act, &mut old, 8), Err(Errno::EINVAL));
        assert_eq!(sys::rt_sigaction(sig::SIGKILL, &act, &mut old, 8), Err(Errno::EINVAL));
        assert_eq!(sys::rt_sigaction(sig::SIGSTOP, &act, &mut old, 8), Err(Errno::EINVAL));
        assert_eq!(sys::rt_sigaction(sig::SIGUSR1, &act, &mut old, 4), Err(Errno::EINVAL));
        assert_eq!(sys::rt_sigaction(sig::SIGUSR1, &act, &mut old, 128), Err(Errno::EINVAL));
        // Reading SIGKILL's action is allowed.
        assert_eq!(sys::rt_sigaction(sig::SIGKILL, core::ptr::null(), &mut old, 8), Ok(()));
    }
}

#[libos::test]
fn rt_sigprocmask_and_rt_sigpending_check_how_and_the_set_size() {
    let set = bit(sig::SIGUSR1);
    let mut old = 0u64;
    // SAFETY: locals.
    unsafe {
        assert_eq!(sys::rt_sigprocmask(3, &set, &mut old, 8), Err(Errno::EINVAL));
        assert_eq!(sys::rt_sigprocmask(-1, &set, &mut old, 8), Err(Errno::EINVAL));
        // Without a set, `how` is not looked at.
        assert_eq!(sys::rt_sigprocmask(3, core::ptr::null(), &mut old, 8), Ok(()));
        assert_eq!(sys::rt_sigprocmask(how::SIG_BLOCK, &set, &mut old, 4), Err(Errno::EINVAL));
        assert_eq!(sys::rt_sigpending(&mut old, 9), Err(Errno::EINVAL));
        assert_eq!(sys::rt_sigpending(&mut old, 4), Ok(()));
    }
    assert_eq!(blocked(), 0);
}

#[libos::test]
fn bad_pointers_to_rt_sigaction_are_efault() {
    for bad in BAD {
        // SAFETY: the kernel must refuse the pointers without touching
        // anything of ours.
        unsafe {
            assert_eq!(
                sys::rt_sigaction(sig::SIGUSR1, bad as *const SigAction, core::ptr::null_mut(), 8),
                Err(Errno::EFAULT)
            );
            assert_eq!(
                sys::rt_sigaction(sig::SIGUSR1, core::ptr::null(), bad as *mut SigAction, 8),
                Err(Errno::EFAULT)
            );
            // An act that straddles the end of a mapping.
        }
    }
    assert_eq!(action(sig::SIGUSR1), SigAction::default(), "nothing changed");
}

#[libos::test]
fn bad_pointers_to_rt_sigprocmask_and_rt_sigpending_are_efault() {
    for bad in BAD {
        // SAFETY: as above.
        unsafe {
            assert_eq!(
                sys::rt_sigprocmask(how::SIG_SETMASK, bad as *const u64, core::ptr::null_mut(), 8),
                Err(Errno::EFAULT)
            );
            assert_eq!(sys::rt_sigprocmask(how::SIG_BLOCK, core::ptr::null(), bad as *mut u64, 8), Err(Errno::EFAULT));
            assert_eq!(sys::rt_sigpending(bad as *mut u64, 8), Err(Errno::EFAULT));
        }
    }
    assert_eq!(blocked(), 0);
}

#[libos::test]
fn bad_pointers_to_sigaltstack_are_efault() {
    for bad in BAD {
        // SAFETY: as above.
        unsafe {
            assert_eq!(sys::sigaltstack(bad as *const StackT, core::ptr::null_mut()), Err(Errno::EFAULT));
            assert_eq!(sys::sigaltstack(core::ptr::null(), bad as *mut StackT), Err(Errno::EFAULT));
        }
    }
}

#[libos::test]
fn a_read_only_old_action_is_efault() {
    let page = crate::map(1, libos_abi::abi_types::PROT_READ);
    // SAFETY: the kernel must refuse to write a read-only page.
    unsafe {
        assert_eq!(sys::rt_sigaction(sig::SIGUSR1, core::ptr::null(), page as *mut SigAction, 8), Err(Errno::EFAULT));
        assert_eq!(sys::rt_sigprocmask(how::SIG_BLOCK, core::ptr::null(), page as *mut u64, 8), Err(Errno::EFAULT));
    }
}
