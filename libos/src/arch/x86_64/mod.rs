//! x86_64: the thread pointer (the FS base) and the assembly that starts
//! and ends threads.

#[cfg(feature = "testing")]
pub(crate) mod register_patterns;
pub(crate) mod thread_pointer;
pub(crate) mod thread_start;
