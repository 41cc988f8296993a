//! [`Barrier`]: threads wait for each other, shaped like `std::sync::Barrier`.

use super::{Condvar, Mutex};

/// Lets `n` threads meet: each [`wait`](Barrier::wait) blocks until `n`
/// threads have called it, then all go on, and the barrier is ready for the
/// next round.
///
/// ```ignore
/// use libos::sync::{Arc, Barrier};
/// use libos::thread;
///
/// let barrier = Arc::new(Barrier::new(3));
/// let handles: Vec<_> = (0..3)
///     .map(|_| {
///         let b = Arc::clone(&barrier);
///         thread::spawn(move || b.wait().is_leader())
///     })
///     .collect();
/// let leaders = handles.into_iter().map(|h| h.join().unwrap()).filter(|&leader| leader).count();
/// assert_eq!(leaders, 1);
/// ```
#[derive(Debug)]
pub struct Barrier {
    state: Mutex<Round>,
    all_here: Condvar,
    n: usize,
}

#[derive(Debug)]
struct Round {
    arrived: usize,
    generation: u64,
}

/// What [`Barrier::wait`] returns: one thread per round is the leader.
#[derive(Debug)]
pub struct BarrierWaitResult(bool);

impl BarrierWaitResult {
    /// True for exactly one thread of each round (the last to arrive).
    pub fn is_leader(&self) -> bool {
        self.0
    }
}

impl Barrier {
    /// A barrier for `n` threads (0 and 1 never block).
    pub const fn new(n: usize) -> Barrier {
        Barrier { state: Mutex::new(Round { arrived: 0, generation: 0 }), all_here: Condvar::new(), n }
    }

    /// Waits until `n` threads are here.
    pub fn wait(&self) -> BarrierWaitResult {
        let mut round = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let generation = round.generation;
        round.arrived += 1;
        if round.arrived < self.n {
            let _round =
                self.all_here.wait_while(round, |r| r.generation == generation).unwrap_or_else(|e| e.into_inner());
            BarrierWaitResult(false)
        } else {
            round.arrived = 0;
            round.generation = round.generation.wrapping_add(1);
            self.all_here.notify_all();
            BarrierWaitResult(true)
        }
    }
}
