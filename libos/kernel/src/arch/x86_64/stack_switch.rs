//! Running a function on another kernel stack: for the rare boot-time
//! constructor whose by-value temporaries do not fit the stack it is
//! called on (Rust has no placement construction; a type with large inline
//! arrays is built in its constructor's frame and moved out).

use alloc::vec::Vec;

/// Runs `f` on a stack of `bytes` bytes taken from the heap (and given back
/// afterwards), then returns its result on the caller's stack.
///
/// The stack has no guard page: `bytes` must be generous for what `f`
/// builds. Interrupts taken meanwhile run on it too (same ring, no stack
/// switch), and `f` may sleep: the scheduler saves and restores RSP
/// whatever stack it points into (the heap is mapped in every kernel page
/// table). Returns `None` if the heap cannot give `bytes`.
pub fn run_on_heap_stack<R, F: FnOnce() -> R>(bytes: usize, f: F) -> Option<R> {
    /// Entered with `data` in RDI (the System V ABI) on the new stack.
    extern "sysv64" fn trampoline<R, F: FnOnce() -> R>(data: *mut (Option<F>, Option<R>)) {
        // SAFETY: `data` points at the caller's `slot`, alive and not
        // otherwise used until the `asm!` below returns.
        let slot = unsafe { &mut *data };
        if let Some(f) = slot.0.take() {
            slot.1 = Some(f());
        }
    }
    let mut stack: Vec<u8> = Vec::new();
    stack.try_reserve_exact(bytes).ok()?;
    stack.resize(bytes, 0);
    // The System V ABI wants RSP 16-byte aligned at a `call`.
    let top = (stack.as_mut_ptr() as u64 + bytes as u64) & !15;
    let mut slot: (Option<F>, Option<R>) = (Some(f), None);
    // SAFETY: [stack, top) is writable memory of ours that outlives the
    // call; RSP is saved in the callee-saved R12 (the trampoline keeps it)
    // and restored before the block ends, so the compiler sees its own
    // stack unchanged. `top` is 16-byte aligned when `call` pushes the
    // return address, as the ABI requires. The trampoline follows the
    // System V ABI, whose caller-saved registers `clobber_abi` declares.
    unsafe {
        core::arch::asm!(
            "mov r12, rsp",
            "mov rsp, {top}",
            "call {trampoline}",
            "mov rsp, r12",
            top = in(reg) top,
            trampoline = sym trampoline::<R, F>,
            in("rdi") &mut slot as *mut (Option<F>, Option<R>),
            out("r12") _,
            clobber_abi("sysv64"),
        );
    }
    drop(stack);
    slot.1
}
