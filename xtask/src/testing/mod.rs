//! `cargo xtask test`: the host unit tests and the boot-time suites.
//!
//! - [`plan`]: the table of boot-time test suites and their configurations;
//! - [`runner`]: runs the plan, one line per test, `N passed, M failed`;
//! - [`serial_protocol`]: the boot-time test protocol on the serial port;
//! - [`host_tests`]: the host unit tests (`cargo test`) summarised;
//! - [`hook_symbols`]: a production kernel has no test or benchmark hook
//!   (read off its symbol table);
//! - [`disk_persistence`]: the file tests' disk across boots, a run killed
//!   while writing, and the host's `e2fsck` on the image; a Rust `std::fs`
//!   program's configuration from `--files` and its data across boots;
//! - [`busybox_files`]: BusyBox's file applets over `--files` and `--disk`,
//!   checked against what the host computes;
//! - [`busybox_sweep`]: some hundred BusyBox applet runs, each in the
//!   kernel and on the host's Linux, compared line by line;
//! - [`fpu_free`]: the kernel uses no FPU/SIMD register outside its
//!   `xstate` module, and the apps are hard float (read off a disassembly);
//! - [`host_side`]: the host's half of the network tests (clients that
//!   connect to the app's forwarded ports while its tests run);
//! - [`out_of_tree`]: an app made by `new` outside the repository runs and
//!   passes its test, through `cargo xtask` and `cargo libos`;
//! - [`same_as_linux`]: a static C program run on the host's Linux and in
//!   the unikernel, its outputs compared section by section.

pub mod busybox_files;
pub mod busybox_sweep;
pub mod disk_persistence;
pub mod fpu_free;
pub mod hook_symbols;
pub mod host_side;
pub mod host_tests;
pub mod out_of_tree;
pub mod plan;
pub mod runner;
pub mod same_as_linux;
pub mod serial_protocol;
