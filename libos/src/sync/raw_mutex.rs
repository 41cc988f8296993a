//! The lock under [`Mutex`](super::Mutex) and the heap: one `AtomicU32` with
//! three states, after Drepper's "Futexes Are Tricky". Taking a free lock
//! or releasing one nobody waits for costs one atomic instruction and no
//! syscall.

use core::sync::atomic::{AtomicU32, Ordering};

use super::futex;

/// Free.
const UNLOCKED: u32 = 0;
/// Held; nobody sleeps on it.
const LOCKED: u32 = 1;
/// Held, and a thread may sleep on it: unlocking must wake one.
const CONTENDED: u32 = 2;

/// How often a contender re-reads a held lock before it sleeps (a holder
/// on another CPU usually lets go within that).
const SPINS: u32 = 100;

/// A futex lock without data.
#[derive(Debug)]
pub struct RawMutex {
    state: AtomicU32,
}

impl Default for RawMutex {
    fn default() -> RawMutex {
        RawMutex::new()
    }
}

impl RawMutex {
    /// A free lock.
    pub const fn new() -> RawMutex {
        RawMutex { state: AtomicU32::new(UNLOCKED) }
    }

    /// Takes the lock if it is free.
    #[inline]
    pub fn try_lock(&self) -> bool {
        self.state.compare_exchange(UNLOCKED, LOCKED, Ordering::Acquire, Ordering::Relaxed).is_ok()
    }

    /// Takes the lock, sleeping while another thread holds it.
    #[inline]
    pub fn lock(&self) {
        if !self.try_lock() {
            self.lock_contended();
        }
    }

    #[cold]
    fn lock_contended(&self) {
        let mut state = self.spin();
        if state == UNLOCKED {
            match self.state.compare_exchange(UNLOCKED, LOCKED, Ordering::Acquire, Ordering::Relaxed) {
                Ok(_) => return,
                Err(s) => state = s,
            }
        }
        loop {
            // Mark it contended; if it was free meanwhile, it is now ours
            // (marked contended, which at worst costs one needless wake).
            if state != CONTENDED && self.state.swap(CONTENDED, Ordering::Acquire) == UNLOCKED {
                return;
            }
            futex::wait(&self.state, CONTENDED, None);
            state = self.spin();
        }
    }

    /// Re-reads a held lock a while; returns the state seen last.
    fn spin(&self) -> u32 {
        let mut spins = SPINS;
        loop {
            let state = self.state.load(Ordering::Relaxed);
            if state != LOCKED || spins == 0 {
                return state;
            }
            core::hint::spin_loop();
            spins -= 1;
        }
    }

    /// Releases the lock, waking a sleeper if there may be one.
    ///
    /// # Safety
    ///
    /// The calling thread holds the lock.
    #[inline]
    pub unsafe fn unlock(&self) {
        if self.state.swap(UNLOCKED, Ordering::Release) == CONTENDED {
            futex::wake_one(&self.state);
        }
    }

    /// Whether some thread holds the lock right now.
    pub fn is_locked(&self) -> bool {
        self.state.load(Ordering::Relaxed) != UNLOCKED
    }
}
