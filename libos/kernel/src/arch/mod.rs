//! Architecture-specific code. There is one architecture, x86_64; the split
//! keeps what touches the hardware apart from the kernel's policies.

pub mod x86_64;
