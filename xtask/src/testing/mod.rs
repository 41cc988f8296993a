//! `cargo xtask test`: the host unit tests and the boot-time suites.
//!
//! - [`plan`]: the table of boot-time test suites and their configurations;
//! - [`runner`]: runs the plan, one line per test, `N passed, M failed`;
//! - [`serial_protocol`]: the boot-time test protocol on the serial port;
//! - [`host_tests`]: the host unit tests (`cargo test`) summarised.

pub mod host_tests;
pub mod plan;
pub mod runner;
pub mod serial_protocol;
