//! What the kernel, the apps and the xtask agree on.
//!
//! - [`run`]: how a run ends (the `isa-debug-exit` encoding) and the lines the
//!   kernel prints that the xtask parses.
//! - [`image`]: the layout of a bootable image (kernel plus app payload).
//! - [`syscalls`]: the system call table, declared once by topic: the
//!   kernel's handler traits and dispatch tables, the tracer and the app's
//!   stubs.
//! - [`dispatch`]: the table those become, and how it runs a call.
//! - [`nospec`]: bounds checks that hold under speculation.
//! - [`syscall_arg`]: how typed arguments and results travel in registers,
//!   and the raw `syscall` instruction.
//! - [`errno`]: error numbers (Linux x86_64 values).
//! - [`user_ptr`]: addresses in the app's memory as system call arguments.
//! - [`abi_types`]: structures and flags with Linux layouts and values.
//! - [`fs_types`]: the file calls' structures (`stat`, `statx`, `statfs`,
//!   `linux_dirent64`) and flags (`O_*`, `AT_*`, `S_IF*`, `RENAME_*`...).
//! - [`poll_types`]: readiness (`struct pollfd`, `fd_set`, `struct
//!   epoll_event`, `POLL*`, `EPOLL*`, `EFD_*`).
//! - [`test`](mod@test): the records `#[kernel_test]` and `#[libos::test]` register.
//! - [`debug`]: operations of the `libos_debug` test hook.
//! - [`vdso_data`]: the vDSO's data page (what its time functions read).
#![no_std]

pub mod abi_types;
pub mod debug;
pub mod dispatch;
pub mod errno;
pub mod fs_types;
pub mod image;
pub mod linux_names;
pub mod linux_types;
pub mod net_types;
pub mod nospec;
pub mod poll_types;
pub mod run;
pub mod signal;
pub mod syscall_arg;
pub mod syscalls;
pub mod test;
pub mod test_data;
pub mod user_ptr;
pub mod vdso_data;
