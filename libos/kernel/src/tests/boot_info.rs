//! What was read from the boot loader.

use libos_macros::kernel_test;

use crate::boot;

#[kernel_test]
fn memory_map_and_reservations() {
    let info = boot::info();
    assert!(!info.memory_map.is_empty());
    assert!(info.usable_memory().total() >= 8 << 20, "less than 8 MiB usable");
    assert!(info.reserved.contains_range(&info.image));
    assert!(info.reserved.contains_range(&libos_kcore::phys_range::PhysRange::new(0, 1 << 20)));
    assert_eq!(info.image.start, entry_asm::layout::KERNEL_PHYS_BASE);
}

#[kernel_test]
fn command_line_was_copied_and_parsed() {
    let info = boot::info();
    assert!(info.cmdline.contains("test"), "cmdline: {:?}", info.cmdline);
    assert!(info.options.test);
}
