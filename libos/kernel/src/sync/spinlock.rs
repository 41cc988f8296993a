//! A spinlock that keeps interrupts off while it is held.
//!
//! Holding a kernel lock with interrupts on invites a deadlock: an interrupt
//! handler on the same CPU that wants the same lock would spin forever. So
//! `lock()` saves RFLAGS.IF, disables interrupts, and the guard restores IF
//! when dropped.
//!
//! While it waits for the lock, a CPU keeps interrupts as its caller had
//! them and disables them only to take it (the `irqsave` lock of Linux's
//! `kernel/spinlock.c`, `BUILD_LOCK_OPS`, up to 5.x, and i386's
//! `__raw_spin_lock_flags` before it): the holder may be waiting for this
//! CPU to answer a cross-CPU call (a TLB shootdown under an address space's
//! lock), which only an interrupt lets it do. The lock runs nothing else
//! while it spins. A lock held across a cross-CPU call must therefore never
//! be taken with interrupts off (see `smp::call`).

use core::cell::UnsafeCell;
use core::ops::{Deref, DerefMut};
use core::sync::atomic::{AtomicBool, Ordering};

use crate::arch::x86_64::interrupts;

/// A mutual-exclusion lock for short critical sections.
pub struct SpinLock<T> {
    locked: AtomicBool,
    value: UnsafeCell<T>,
}

// SAFETY: the lock hands out access to `value` to one holder at a time, so
// sharing the lock between CPUs is sound as long as `T` may move between them.
unsafe impl<T: Send> Sync for SpinLock<T> {}
// SAFETY: moving the lock moves the value; `T: Send` makes that sound.
unsafe impl<T: Send> Send for SpinLock<T> {}

impl<T> SpinLock<T> {
    /// A new, unlocked lock.
    pub const fn new(value: T) -> SpinLock<T> {
        SpinLock { locked: AtomicBool::new(false), value: UnsafeCell::new(value) }
    }

    /// Takes the lock, spinning until it is free, with interrupts disabled
    /// until the guard is dropped. While it spins, interrupts are as the
    /// caller had them (see the module docs).
    pub fn lock(&self) -> SpinLockGuard<'_, T> {
        let irqs_were_on = interrupts::disable_and_save();
        while self.locked.compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed).is_err() {
            interrupts::restore(irqs_were_on);
            // At least one instruction runs with interrupts on (STI's
            // shadow covers one): a pending interrupt is taken here.
            while self.locked.load(Ordering::Relaxed) {
                core::hint::spin_loop();
            }
            interrupts::disable();
        }
        SpinLockGuard { lock: self, irqs_were_on }
    }

    /// Takes the lock if it is free.
    pub fn try_lock(&self) -> Option<SpinLockGuard<'_, T>> {
        let irqs_were_on = interrupts::disable_and_save();
        if self.locked.compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed).is_ok() {
            Some(SpinLockGuard { lock: self, irqs_were_on })
        } else {
            interrupts::restore(irqs_were_on);
            None
        }
    }

    /// The value, without locking: only for diagnostics that must not wait
    /// (a torn read is acceptable there).
    pub fn value_ptr(&self) -> *const T {
        self.value.get()
    }
}

/// Access to the value of a held [`SpinLock`].
pub struct SpinLockGuard<'a, T> {
    lock: &'a SpinLock<T>,
    irqs_were_on: bool,
}

impl<T> Deref for SpinLockGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard exists only while this CPU holds the lock.
        unsafe { &*self.lock.value.get() }
    }
}

impl<T> DerefMut for SpinLockGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard exists only while this CPU holds the lock, and
        // `&mut self` makes this the only reference through the guard.
        unsafe { &mut *self.lock.value.get() }
    }
}

impl<T> Drop for SpinLockGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.locked.store(false, Ordering::Release);
        interrupts::restore(self.irqs_were_on);
    }
}
