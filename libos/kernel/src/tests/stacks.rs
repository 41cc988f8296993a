//! Kernel stacks and their guard pages.

use libos_macros::kernel_test;

use crate::mm::kernel_space;
use crate::mm::stack::{DEFAULT_PAGES, KernelStack};
use crate::testing::recovery::{Outcome, run_guarded};
use crate::tests::paging::probe_write;

#[kernel_test]
fn guard_page_under_a_stack_faults() {
    let stack = KernelStack::new(4).expect("stack");
    assert!(kernel_space::translate(stack.guard_page()).is_none(), "guard page is mapped");
    assert!(kernel_space::translate(stack.bottom()).is_some());
    assert!(kernel_space::translate(stack.top() - 8).is_some());
    // The lowest byte of the stack is fine; one byte below it faults.
    probe_write(stack.bottom(), 1);
    match run_guarded(|| probe_write(stack.bottom() - 1, 1)) {
        Outcome::Faulted(f) => {
            assert_eq!(f.vector, entry_asm::hw::vector::PF);
            assert_eq!(f.cr2, stack.bottom() - 1);
        }
        other => panic!("writing the guard page did not fault: {other:?}"),
    }
}

#[kernel_test]
fn freed_stacks_are_unmapped() {
    let stack = KernelStack::new(2).expect("stack");
    let (bottom, top) = (stack.bottom(), stack.top());
    drop(stack);
    assert!(kernel_space::translate(bottom).is_none() && kernel_space::translate(top - 8).is_none());
}

/// A freed stack of the default size stays mapped in the cache and is the
/// next one handed out (no app runs during the kernel's tests, so nothing
/// else takes it), cleared.
#[kernel_test]
fn a_freed_default_stack_is_reused_cleared() {
    let stack = KernelStack::new(DEFAULT_PAGES).expect("stack");
    let bottom = stack.bottom();
    // SAFETY: the stack's lowest word is mapped and unused.
    unsafe { (bottom as *mut u64).write_volatile(0x5afe) };
    drop(stack);
    assert!(kernel_space::translate(bottom).is_some(), "a cached stack was unmapped");
    let again = KernelStack::new(DEFAULT_PAGES).expect("stack");
    assert_eq!(again.bottom(), bottom, "the cached stack was not reused");
    // SAFETY: as above.
    assert_eq!(unsafe { (bottom as *const u64).read_volatile() }, 0, "the reused stack was not cleared");
}

/// Recurses until the stack runs out (on purpose: it never returns).
#[inline(never)]
#[allow(unconditional_recursion)]
extern "C" fn recurse_forever(depth: *mut u8) {
    let frame = [depth as u64; 32];
    recurse_forever(core::hint::black_box(frame.as_ptr() as *mut u8));
    core::hint::black_box(frame);
}

/// Running off the bottom of a stack is caught: the page fault on the guard
/// page cannot be delivered on the same (exhausted) stack, so the CPU
/// raises a double fault, which arrives on its own IST stack.
#[kernel_test(expect_fault = DF)]
fn stack_overflow_is_a_double_fault_on_its_own_stack() {
    let stack = KernelStack::new(2).expect("stack");
    // SAFETY: the stack is mapped, unused and 16-byte aligned at its top.
    unsafe { entry_asm::recovery::call_on_stack(recurse_forever, core::ptr::null_mut(), stack.top()) };
}
