//! The vDSO: a small shared object the kernel maps into every process,
//! with its data page below it, so that `clock_gettime`, `gettimeofday`,
//! `time` and `getcpu` need no system call (Linux's
//! `arch/x86/entry/vdso/vma.c`). Its code is `libos/kernel/vdso/vdso.rs`,
//! built by the kernel's build script; its data page is
//! [`libos_abi::vdso_data::VvarData`], filled once at boot from the clock.
//!
//! Each process gets its own copy of both pages (two frames, written when
//! the process is loaded), mapped read-only (the code also executable) at
//! fixed addresses in the gap above the main thread's stack: nothing a
//! process does to its copy (`mprotect` and a write, `munmap`) reaches
//! another process or the kernel. `/proc/self/maps` names them `[vvar]`
//! and `[vdso]`; `AT_SYSINFO_EHDR` gives the vDSO's address. The boot
//! option `vdso=off` leaves both out, as Linux's `vdso=0`.

use entry_asm::hw::msr;
use entry_asm::layout::{PAGE_SIZE, USER_END};
use libos_abi::errno::Errno;
use libos_abi::vdso_data::{VVAR_MAGIC, VVAR_TSC_AUX_IS_CPU, VvarData};
use libos_kcore::vm_regions::{Kind, Prot};
use x86_64::registers::model_specific::Msr;

use crate::arch::x86_64::cpu;
use crate::mm::address_space::AddressSpace;
use crate::sync::InitCell;
use crate::time;

/// The linked vDSO (`$OUT_DIR/vdso.so`, checked by the build script: no
/// relocations, at most four pages).
static IMAGE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/vdso.so"));

/// Where the data page goes: in the sixteen pages between the main
/// thread's stack top (`loader::STACK_TOP`) and the end of user space,
/// four pages above the stack.
pub const VVAR_ADDR: u64 = USER_END - 12 * PAGE_SIZE;
/// Where the vDSO goes: right above its data page (the code finds the page
/// at its own address minus one page).
pub const VDSO_ADDR: u64 = VVAR_ADDR + PAGE_SIZE;

const _: () = assert!(VVAR_ADDR >= super::loader::STACK_TOP + 4 * PAGE_SIZE);
const _: () = assert!(VDSO_ADDR + 4 * PAGE_SIZE <= USER_END - PAGE_SIZE);

/// The data page's contents (`None`: `vdso=off`).
static DATA: InitCell<Option<VvarData>> = InitCell::new();

/// Fills the data page from the clock (boot CPU, once, after
/// `time::init`). `enabled`: not `vdso=off`.
pub fn init(enabled: bool) {
    let clock = time::clock();
    DATA.set(enabled.then(|| VvarData {
        magic: VVAR_MAGIC,
        tsc_mult: clock.scale.mult,
        tsc_at_boot: clock.tsc_at_boot,
        realtime_at_boot_ns: clock.realtime_at_boot_ns,
        flags: if cpu::features().rdtscp { VVAR_TSC_AUX_IS_CPU } else { 0 },
    }));
}

/// Puts this CPU's index in TSC_AUX, where the vDSO's `getcpu` reads it
/// with RDTSCP (Linux's `setup_getcpu`: node 0 in bits 12 and up). Each
/// CPU, once, at start.
pub fn init_cpu(index: usize) {
    if cpu::features().rdtscp {
        // SAFETY: TSC_AUX exists when RDTSCP does (Intel SDM Vol. 4, table
        // 2-2; AMD APM Vol. 2, 13.2.1); only RDTSCP/RDPID read it.
        unsafe { Msr::new(msr::TSC_AUX).write(index as u64) };
    }
}

/// Maps the data page and the vDSO into `space` (the loader, for a new
/// process); returns the vDSO's address for `AT_SYSINFO_EHDR`, or `None`
/// with `vdso=off`.
pub fn map_into(space: &AddressSpace) -> Result<Option<u64>, Errno> {
    let Some(data) = DATA.get().copied().flatten() else { return Ok(None) };
    let code_len = (IMAGE.len() as u64).next_multiple_of(PAGE_SIZE);
    space.add_region(VVAR_ADDR, PAGE_SIZE, Prot::READ, Kind::Vvar)?;
    space.add_region(VDSO_ADDR, code_len, Prot(Prot::READ.0 | Prot::EXEC.0), Kind::Vdso)?;
    // SAFETY: `VvarData` is `repr(C)` plain integers with no padding
    // (its layout is asserted in libos_abi): viewing it as bytes is sound.
    let bytes = unsafe {
        core::slice::from_raw_parts((&data as *const VvarData).cast::<u8>(), core::mem::size_of::<VvarData>())
    };
    space.write_initial(VVAR_ADDR, bytes)?;
    space.write_initial(VDSO_ADDR, IMAGE)?;
    Ok(Some(VDSO_ADDR))
}
