//! What the kernel, the apps and the xtask agree on.
//!
//! - [`run`]: how a run ends (the `isa-debug-exit` encoding) and the lines the
//!   kernel prints that the xtask parses.
//! - [`image`]: the layout of a bootable image (kernel plus app payload).
#![no_std]

pub mod image;
pub mod run;
