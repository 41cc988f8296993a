//! Ring-3 tests of the readiness calls, run by `cargo xtask test
//! poll_tests` on 1 and 4 CPUs: `poll`/`ppoll` and `select`/`pselect6` on
//! pipes, eventfds and the console (timeouts, readiness after a write,
//! `POLLHUP`, `POLLNVAL`), epoll (level- and edge-triggered, one-shot,
//! `EPOLLRDHUP`, nesting and loops, watches across `dup` and close),
//! eventfd, waiters woken from another CPU, an app ending while a thread
//! waits, hostile arguments and the per-app limits.
#![no_std]
#![no_main]

mod epoll;
mod eventfd;
mod hostile;
mod poll;
mod util;

#[libos::main]
fn main() {
    libos::println!("poll-tests: run with `cargo xtask test poll_tests`");
}
