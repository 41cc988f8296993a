//! x86_64: the CPU, its tables and registers, and the devices every PC has.

pub mod acpi;
pub mod cpu;
pub mod cpu_entry_area;
pub mod exceptions;
pub mod gdt;
pub mod idt;
pub mod interrupts;
pub mod paging;
pub mod percpu;
pub mod power;
pub mod serial;
