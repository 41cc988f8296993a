//! Memory management of the kernel: physical frames, page tables, the
//! kernel's own address space, its heap, its stacks and device mappings.

pub mod address_space;
pub mod frame;
pub mod heap;
pub mod kernel_space;
pub mod mmio;
pub mod phys;
pub mod stack;
pub mod user_access;
