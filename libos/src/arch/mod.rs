//! The instruction-set-specific parts of the runtime.

mod x86_64;

#[cfg(feature = "testing")]
pub(crate) use x86_64::register_patterns;
pub(crate) use x86_64::{thread_pointer, thread_start};
