//! x86_64: the CPU, its tables and registers, and the devices every PC has.

pub mod acpi;
pub mod apic;
pub mod cpu;
pub mod cpu_entry_area;
pub mod exceptions;
pub mod extable;
pub mod gdt;
pub mod hpet;
pub mod idt;
pub mod interrupts;
pub mod ioapic;
pub mod kpti;
pub mod page_walk;
pub mod paging;
pub mod percpu;
pub mod pic;
pub mod pit;
pub mod power;
pub mod rtc;
pub mod serial;
pub mod stack_switch;
pub mod syscall;
pub mod tlb;
pub mod vectors;
pub mod xstate;
