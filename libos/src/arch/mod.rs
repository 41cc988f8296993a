//! The instruction-set-specific parts of the runtime.

mod x86_64;

pub(crate) use x86_64::{register_patterns, thread_pointer, thread_start};
