//! The kernel's boot-time tests (built with the `boot-tests` feature and
//! run by `cargo xtask test`). Each file tests one subsystem on the real
//! CPU; tests that expect a fault say which, and fail if it does not come.

mod boot_info;
mod console_input;
mod exceptions;
mod frames;
mod heap;
mod kpti;
mod paging;
mod sched;
mod smp;
mod stacks;
mod time;
mod virtio_blk;
mod virtio_net;
mod xstate;
