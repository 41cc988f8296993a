//! Reaching physical memory.
//!
//! Until the kernel's page tables are active, physical memory below 4 GiB
//! is reached through the boot code's identity map; afterwards through the
//! direct map at `DIRECT_MAP_BASE`.

use core::sync::atomic::{AtomicBool, Ordering};

use entry_asm::layout::{DIRECT_MAP_BASE, KERNEL_VIRT_OFFSET};

/// Physical memory the boot identity map covers.
pub const IDENTITY_LIMIT: u64 = 4 << 30;

static DIRECT_MAP_ACTIVE: AtomicBool = AtomicBool::new(false);

/// What to add to a physical address to get a virtual one that reaches it.
pub fn offset() -> u64 {
    if DIRECT_MAP_ACTIVE.load(Ordering::Relaxed) { DIRECT_MAP_BASE } else { 0 }
}

/// Whether the direct map is in use (the kernel's page tables are active).
pub fn direct_map_active() -> bool {
    DIRECT_MAP_ACTIVE.load(Ordering::Relaxed)
}

/// Switches to reaching physical memory through the direct map.
pub fn activate_direct_map() {
    DIRECT_MAP_ACTIVE.store(true, Ordering::Release);
}

/// A pointer through which physical address `phys` can be reached.
pub fn to_virt(phys: u64) -> *mut u8 {
    if !direct_map_active() {
        assert!(phys < IDENTITY_LIMIT, "physical address {phys:#x} unreachable before the direct map");
    }
    (phys + offset()) as *mut u8
}

/// The physical address of a kernel-image address (code or static data).
pub fn image_to_phys(virt: u64) -> u64 {
    if virt >= KERNEL_VIRT_OFFSET { virt - KERNEL_VIRT_OFFSET } else { virt }
}

/// Fills the frame at `phys` with zeros.
pub fn zero_frame(phys: u64) {
    // SAFETY: the caller owns the frame (just allocated); to_virt reaches it.
    unsafe { core::ptr::write_bytes(to_virt(phys), 0, 4096) };
}
