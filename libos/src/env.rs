//! The app's arguments, environment and auxiliary vector.

use core::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};

static ARGC: AtomicUsize = AtomicUsize::new(0);
static ARGV: AtomicPtr<*const u8> = AtomicPtr::new(core::ptr::null_mut());
static ENVP: AtomicPtr<*const u8> = AtomicPtr::new(core::ptr::null_mut());
static AUXV: AtomicPtr<u64> = AtomicPtr::new(core::ptr::null_mut());

/// Records where the initial stack's pieces are.
///
/// # Safety
/// `stack` must point at a System V initial stack that lives for the
/// whole run (the kernel puts it at the top of the main thread's stack).
pub(crate) unsafe fn init(stack: *const u64) {
    // SAFETY: the layout is argc, argv[argc], NULL, envp..., NULL, auxv.
    unsafe {
        let argc = *stack as usize;
        let argv = stack.add(1) as *mut *const u8;
        let mut envp = argv.add(argc + 1);
        ARGC.store(argc, Ordering::Relaxed);
        ARGV.store(argv, Ordering::Relaxed);
        ENVP.store(envp, Ordering::Relaxed);
        while !(*envp).is_null() {
            envp = envp.add(1);
        }
        AUXV.store(envp.add(1) as *mut u64, Ordering::Relaxed);
    }
}

/// The C string at `p` as a `str` (lossy: invalid UTF-8 gives "").
fn c_str(p: *const u8) -> &'static str {
    let mut len = 0;
    // SAFETY: the kernel wrote NUL-terminated strings that live for the run.
    unsafe {
        while *p.add(len) != 0 {
            len += 1;
        }
        core::str::from_utf8(core::slice::from_raw_parts(p, len)).unwrap_or("")
    }
}

/// Argument `i` (0 is the app's name).
pub fn arg(i: usize) -> Option<&'static str> {
    if i >= ARGC.load(Ordering::Relaxed) {
        return None;
    }
    // SAFETY: i < argc, and argv has argc valid pointers.
    Some(c_str(unsafe { *ARGV.load(Ordering::Relaxed).add(i) }))
}

/// The arguments, like `std::env::args` (the first is the app's name).
pub fn args() -> impl Iterator<Item = &'static str> {
    (0..ARGC.load(Ordering::Relaxed)).filter_map(arg)
}

/// The environment, as `KEY=VALUE` strings.
pub fn vars() -> impl Iterator<Item = &'static str> {
    let envp = ENVP.load(Ordering::Relaxed);
    (0..)
        // SAFETY: the envp array ends with a NULL pointer.
        .map(move |i| unsafe { *envp.add(i) })
        .take_while(|p| !p.is_null())
        .map(c_str)
}

/// The value of auxiliary-vector entry `kind` (e.g. 6 = AT_PAGESZ).
pub fn auxv(kind: u64) -> Option<u64> {
    let mut p = AUXV.load(Ordering::Relaxed);
    if p.is_null() {
        return None;
    }
    loop {
        // SAFETY: the auxv is a list of (type, value) pairs ending with type 0.
        let (t, v) = unsafe { (*p, *p.add(1)) };
        if t == 0 {
            return None;
        }
        if t == kind {
            return Some(v);
        }
        // SAFETY: as above.
        p = unsafe { p.add(2) };
    }
}
