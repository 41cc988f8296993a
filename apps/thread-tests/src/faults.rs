//! A faulting thread ends the app with a report that names it; unmapping
//! or write-protecting memory on one CPU takes effect on the others before
//! the call returns (TLB shootdown).

use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use libos::__private::abi::abi_types::{MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE};
use libos::sync::Arc;
use libos::testing::require_cpus;
use libos::{cpu, debug, sys, thread};

use crate::{read_byte, write_byte};

/// Tells the kernel the fault that ends this test must come from the
/// calling thread, under `name`.
fn expect_fault_here(name: &str) {
    let mut bytes = [0u8; 16];
    bytes[..name.len()].copy_from_slice(name.as_bytes());
    let tid = sys::gettid().unwrap() as u64;
    debug::call(debug::EXPECT_FAULTING_THREAD, tid, bytes.as_ptr() as u64).unwrap();
}

#[libos::test(expect_fault = PF)]
fn a_faulting_thread_ends_the_app_with_a_report_naming_it() {
    let h = thread::Builder::new()
        .name("null-reader".into())
        .spawn(|| {
            expect_fault_here("null-reader");
            read_byte(0);
        })
        .unwrap();
    h.join().unwrap();
    panic!("the app survived a faulting thread");
}

fn map_page() -> usize {
    // SAFETY: a new anonymous mapping replaces nothing.
    unsafe { sys::mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) }.unwrap()
}

/// A thread on CPU 1 reads a page over and over (so its TLB holds it);
/// CPU 0 unmaps it. Once `munmap` has returned, the reader's next access
/// must fault: if its stale TLB entry still worked, it ends the test with
/// exit code 1 instead.
#[libos::test(expect_fault = PF)]
fn munmap_on_one_cpu_makes_a_touch_on_another_fault() {
    require_cpus(2);
    shootdown_test(
        |page| {
            // SAFETY: only the reader thread uses the page, and it expects to
            // fault on it from now on.
            unsafe { sys::munmap(page, 4096) }.unwrap();
        },
        Access::Read,
    );
}

/// As above with `mprotect(PROT_READ)`: a write on the other CPU after the
/// call returns must fault.
#[libos::test(expect_fault = PF)]
fn mprotect_on_one_cpu_makes_a_write_on_another_fault() {
    require_cpus(2);
    shootdown_test(
        |page| {
            // SAFETY: as above; the writer expects to fault.
            unsafe { sys::mprotect(page, 4096, PROT_READ) }.unwrap();
        },
        Access::Write,
    );
}

#[derive(Clone, Copy)]
enum Access {
    Read,
    Write,
}

fn shootdown_test(change: impl FnOnce(usize), access: Access) {
    cpu::pin_to(0).unwrap();
    let page = map_page();
    write_byte(page, 1);
    let changed = Arc::new(AtomicBool::new(false));
    let touches = Arc::new(AtomicUsize::new(0));
    let toucher = {
        let (changed, touches) = (changed.clone(), touches.clone());
        thread::Builder::new()
            .name("toucher".into())
            .spawn(move || {
                cpu::pin_to(1).unwrap();
                expect_fault_here("toucher");
                loop {
                    let after = changed.load(Ordering::Acquire);
                    match access {
                        Access::Read => {
                            read_byte(page);
                        }
                        Access::Write => write_byte(page, 2),
                    }
                    if after {
                        // The access worked although the change was done:
                        // CPU 1 still used its old translation.
                        libos::eprintln!("touched the page on CPU 1 after the change returned on CPU 0");
                        libos::process::exit(1);
                    }
                    touches.fetch_add(1, Ordering::Release);
                }
            })
            .unwrap()
    };
    // Let the toucher cache the translation.
    while touches.load(Ordering::Acquire) < 10_000 {
        core::hint::spin_loop();
    }
    change(page);
    changed.store(true, Ordering::Release);
    toucher.join().unwrap();
    panic!("the toucher ended without a fault");
}
