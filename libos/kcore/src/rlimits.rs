//! Resource limits (`getrlimit`, `prlimit64`): the values this kernel
//! reports for each `RLIMIT_*`, and whether a requested change is allowed.
//!
//! Each limit either mirrors what the kernel enforces (the stack region's
//! size, the thread limit, the descriptor limit) or is Linux's default for a
//! resource the kernel does not limit (infinity) or does not offer (no core
//! dumps: 0). Only `RLIMIT_NOFILE` can change (the descriptor table
//! enforces whatever it is set to, up to the table's ceiling); the others
//! are fixed, since the kernel could not honour another value.

/// "No limit" (`RLIM_INFINITY`).
pub const INFINITY: u64 = u64::MAX;
/// Number of resources (`RLIM_NLIMITS`).
pub const COUNT: u32 = 16;

/// What the kernel enforces, for the limits that mirror it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Enforced {
    /// Bytes of the main thread's stack region (`RLIMIT_STACK`).
    pub stack_bytes: u64,
    /// Threads per app (`RLIMIT_NPROC`).
    pub threads: u64,
    /// Descriptors per app (`RLIMIT_NOFILE`), as set now.
    pub descriptors: Limit,
}

/// A soft and a hard limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limit {
    /// Soft limit.
    pub soft: u64,
    /// Hard limit.
    pub hard: u64,
}

impl Limit {
    /// The same soft and hard limit.
    pub const fn both(value: u64) -> Limit {
        Limit { soft: value, hard: value }
    }
}

/// The limits of `resource`, or `None` for an unknown one (`EINVAL`).
pub fn limit(resource: u32, enforced: &Enforced) -> Option<Limit> {
    Some(match resource {
        // CPU, FSIZE, DATA: not limited.
        0..=2 => Limit::both(INFINITY),
        3 => Limit::both(enforced.stack_bytes),
        // CORE: there are no core dumps.
        4 => Limit::both(0),
        // RSS: not limited by this resource.
        5 => Limit::both(INFINITY),
        6 => Limit::both(enforced.threads),
        7 => enforced.descriptors,
        // MEMLOCK: Linux's default (8 MiB since 5.16).
        8 => Limit::both(8 << 20),
        // AS, LOCKS: not limited.
        9 | 10 => Limit::both(INFINITY),
        // SIGPENDING: one per thread, as Linux sizes it from its threads.
        11 => Limit::both(enforced.threads),
        // MSGQUEUE: Linux's MQ_BYTES_MAX.
        12 => Limit::both(819_200),
        // NICE, RTPRIO: no priorities to raise.
        13 | 14 => Limit::both(0),
        // RTTIME: not limited.
        15 => Limit::both(INFINITY),
        _ => return None,
    })
}

/// `RLIMIT_NOFILE`, the one resource whose limits can change.
pub const NOFILE: u32 = 7;

/// Why a change of limits is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeError {
    /// The soft limit is above the hard one (`EINVAL`).
    Invalid,
    /// The limits are fixed (`EPERM`).
    NotPermitted,
}

/// Whether the limits of `resource`, `current` now, may become `new`, in
/// the order of Linux's `do_prlimit` checks: `EINVAL` for a soft limit above
/// the hard one; for `RLIMIT_NOFILE`, `EPERM` for a hard limit above
/// `nofile_ceiling` (the most descriptors the table takes, as Linux refuses
/// one above `nr_open`), any other change allowed (lowering either limit,
/// raising the soft one up to the hard one, raising the hard one: the app
/// is root); for the others, `EPERM` for any change (they are fixed).
pub fn check_change(resource: u32, current: Limit, new: Limit, nofile_ceiling: u64) -> Result<(), ChangeError> {
    if new.soft > new.hard {
        Err(ChangeError::Invalid)
    } else if resource == NOFILE {
        if new.hard > nofile_ceiling { Err(ChangeError::NotPermitted) } else { Ok(()) }
    } else if new != current {
        Err(ChangeError::NotPermitted)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENFORCED: Enforced = Enforced { stack_bytes: 8 << 20, threads: 256, descriptors: Limit::both(1024) };

    #[test]
    fn every_resource_has_a_limit() {
        for resource in 0..COUNT {
            let l = limit(resource, &ENFORCED).unwrap();
            assert!(l.soft <= l.hard, "{resource}");
        }
        assert_eq!(limit(COUNT, &ENFORCED), None);
        assert_eq!(limit(u32::MAX, &ENFORCED), None);
    }

    #[test]
    fn enforced_values_are_reported() {
        assert_eq!(limit(3, &ENFORCED), Some(Limit::both(8 << 20)));
        assert_eq!(limit(6, &ENFORCED), Some(Limit::both(256)));
        assert_eq!(limit(7, &ENFORCED), Some(Limit::both(1024)));
        assert_eq!(limit(4, &ENFORCED), Some(Limit::both(0)));
        assert_eq!(limit(0, &ENFORCED), Some(Limit::both(INFINITY)));
    }

    #[test]
    fn changes() {
        let current = Limit::both(1024);
        let stack = 3;
        assert_eq!(check_change(stack, current, current, 1024), Ok(()));
        assert_eq!(check_change(stack, current, Limit { soft: 2048, hard: 1024 }, 1024), Err(ChangeError::Invalid));
        assert_eq!(check_change(stack, current, Limit { soft: 512, hard: 1024 }, 1024), Err(ChangeError::NotPermitted));
        assert_eq!(check_change(stack, current, Limit::both(4096), 1024), Err(ChangeError::NotPermitted));
    }

    #[test]
    fn nofile_changes_within_the_ceiling() {
        let current = Limit::both(1024);
        assert_eq!(check_change(NOFILE, current, Limit { soft: 100, hard: 1024 }, 1024), Ok(()));
        assert_eq!(check_change(NOFILE, current, Limit::both(10), 1024), Ok(()));
        assert_eq!(check_change(NOFILE, Limit::both(10), Limit::both(1024), 1024), Ok(()));
        assert_eq!(
            check_change(NOFILE, current, Limit { soft: 1024, hard: 1025 }, 1024),
            Err(ChangeError::NotPermitted)
        );
        assert_eq!(check_change(NOFILE, current, Limit { soft: 200, hard: 100 }, 1024), Err(ChangeError::Invalid));
    }
}
