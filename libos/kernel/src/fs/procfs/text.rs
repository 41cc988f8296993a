//! The contents of the generated `/proc` files, in Linux's formats (the
//! line formats themselves are the host-tested `libos_kcore::proc_text`).

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::arch::x86_64::{__cpuid, __cpuid_count};
use core::fmt::Write;

use libos_kcore::proc_text::{CpuidWords, MapsEntry, cpu_flags, family_model_stepping, maps_line, model_name};
use libos_kcore::vm_regions::{Kind, MappedFile, Prot};

use crate::mm::frame;
use crate::process::Process;

/// `/proc/<pid>/maps`: one line per region, in address order, from the
/// app's region set (`fs/proc/task_mmu.c`). The ELF image's segments are
/// named `/<app>` (as `/proc/self/exe`), the break area `[heap]`, the main
/// thread's stack `[stack]`, the vDSO and its data `[vdso]` and `[vvar]`; a mapped file shows its device and inode but
/// no path (an open file does not keep the name it was opened by).
pub fn maps(p: &Process) -> Vec<u8> {
    let exe = format!("/{}", p.name);
    let mut out = Vec::new();
    for r in p.space().regions() {
        let (name, dev, ino, shared): (Option<&[u8]>, u64, u64, bool) = match r.kind {
            Kind::Image { .. } => (Some(exe.as_bytes()), 0, 0, false),
            Kind::Heap => (Some(b"[heap]"), 0, 0, false),
            Kind::Stack => (Some(b"[stack]"), 0, 0, false),
            Kind::Vdso => (Some(b"[vdso]"), 0, 0, false),
            Kind::Vvar => (Some(b"[vvar]"), 0, 0, false),
            Kind::File(MappedFile { dev, ino, shared, .. }) => (None, dev, ino, shared),
            Kind::Anonymous | Kind::Other => (None, 0, 0, false),
        };
        maps_line(
            &mut out,
            &MapsEntry {
                start: r.start,
                end: r.end,
                read: r.prot.contains(Prot::READ),
                write: r.prot.contains(Prot::WRITE),
                exec: r.prot.contains(Prot::EXEC),
                shared,
                offset: r.file_offset(),
                // `MAJOR`/`MINOR` of the old 16-bit encoding `stat` shows.
                dev: (((dev >> 8) & 0xfff) as u32, ((dev & 0xff) | ((dev >> 12) & 0xfff00)) as u32),
                ino,
                name,
            },
        );
    }
    out
}

/// `/proc/<pid>/status`: the first lines of Linux's
/// (`fs/proc/array.c`, `proc_pid_status`) that this kernel knows.
pub fn status(p: &Process) -> Vec<u8> {
    let mut s = String::new();
    let _ = write!(
        s,
        "Name:\t{}\nUmask:\t{:04o}\nState:\tR (running)\nTgid:\t{pid}\nNgid:\t0\nPid:\t{pid}\nPPid:\t0\n\
         TracerPid:\t0\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nVmRSS:\t{:8} kB\nThreads:\t{}\n",
        // Linux's `comm`: at most 15 bytes.
        &p.name[..p.name.len().min(15)],
        p.files.umask(),
        p.space().resident_pages() * 4,
        p.thread_count(),
        pid = p.pid,
    );
    s.into_bytes()
}

/// `/proc/meminfo`: the totals the frame allocator knows, in Linux's
/// format (`fs/proc/meminfo.c`, `show_val_kb`: the label padded to 16
/// columns, the value right-aligned in 8).
pub fn meminfo() -> Vec<u8> {
    let st = frame::stats();
    let mut s = String::new();
    for (label, pages) in [("MemTotal:", st.usable), ("MemFree:", st.free), ("MemAvailable:", st.free)] {
        let _ = writeln!(s, "{label:<16}{:>8} kB", pages * 4);
    }
    s.into_bytes()
}

/// The CPUID values `/proc/cpuinfo` shows (the boot CPU's: every CPU of
/// one machine reports the same features).
struct CpuIdentity {
    vendor: [u8; 12],
    max_leaf: u32,
    signature: u32,
    model_name: [u8; 48],
    words: CpuidWords,
    clflush: u32,
    address_sizes: Option<(u32, u32)>,
}

fn identify() -> CpuIdentity {
    let l0 = __cpuid(0);
    let mut vendor = [0u8; 12];
    vendor[..4].copy_from_slice(&l0.ebx.to_le_bytes());
    vendor[4..8].copy_from_slice(&l0.edx.to_le_bytes());
    vendor[8..].copy_from_slice(&l0.ecx.to_le_bytes());
    let l1 = __cpuid(1);
    let max_ext = __cpuid(0x8000_0000).eax;
    let ext = |leaf: u32| if max_ext >= leaf { Some(__cpuid(leaf)) } else { None };
    let mut model_name = [0u8; 48];
    for (i, leaf) in (0x8000_0002..=0x8000_0004).enumerate() {
        if let Some(r) = ext(leaf) {
            for (j, v) in [r.eax, r.ebx, r.ecx, r.edx].iter().enumerate() {
                model_name[i * 16 + j * 4..][..4].copy_from_slice(&v.to_le_bytes());
            }
        }
    }
    let (l7, ld1) = ((l0.eax >= 7).then(|| __cpuid_count(7, 0)), (l0.eax >= 0xd).then(|| __cpuid_count(0xd, 1)));
    let e1 = ext(0x8000_0001);
    CpuIdentity {
        vendor,
        max_leaf: l0.eax,
        signature: l1.eax,
        model_name,
        words: CpuidWords {
            l1_edx: l1.edx,
            ext1_edx: e1.map_or(0, |r| r.edx),
            l1_ecx: l1.ecx,
            ext1_ecx: e1.map_or(0, |r| r.ecx),
            l7_ebx: l7.map_or(0, |r| r.ebx),
            ld1_eax: ld1.map_or(0, |r| r.eax),
            l7_ecx: l7.map_or(0, |r| r.ecx),
            l7_edx: l7.map_or(0, |r| r.edx),
        },
        clflush: ((l1.ebx >> 8) & 0xff) * 8,
        address_sizes: ext(0x8000_0008).map(|r| (r.eax & 0xff, (r.eax >> 8) & 0xff)),
    }
}

/// `/proc/cpuinfo`: one block per CPU in the format of Linux's
/// `show_cpuinfo` (`arch/x86/kernel/cpu/proc.c`), the fields that come
/// from CPUID and the TSC: `cpu MHz` is the kernel's TSC frequency, and
/// `bogomips` twice it, as Linux derives it from the TSC calibration
/// (`calibrate_delay_is_known`). Cache sizes, microcode and power
/// management are left out.
pub fn cpuinfo() -> Vec<u8> {
    let id = identify();
    let (family, model, stepping) = family_model_stepping(id.signature);
    let khz = crate::time::clock().scale.hz / 1000;
    let mut flags = String::new();
    cpu_flags(&mut flags, &id.words);
    let cpus = crate::percpu::cpu_count();
    let mut s = String::new();
    for cpu in 0..cpus {
        let apic = crate::smp::apic_id(cpu).unwrap_or(cpu as u32);
        let _ = write!(
            s,
            "processor\t: {cpu}\nvendor_id\t: {}\ncpu family\t: {family}\nmodel\t\t: {model}\n\
             model name\t: {}\nstepping\t: {stepping}\ncpu MHz\t\t: {}.{:03}\n\
             physical id\t: 0\nsiblings\t: {cpus}\ncore id\t\t: {cpu}\ncpu cores\t: {cpus}\n\
             apicid\t\t: {apic}\ninitial apicid\t: {apic}\nfpu\t\t: yes\nfpu_exception\t: yes\n\
             cpuid level\t: {}\nwp\t\t: yes\nflags\t\t:{flags}\nbugs\t\t:\n\
             bogomips\t: {}.{:02}\nclflush size\t: {}\ncache_alignment\t: {}\n",
            core::str::from_utf8(&id.vendor).unwrap_or("unknown"),
            match model_name(&id.model_name) {
                "" => "unknown",
                name => name,
            },
            khz / 1000,
            khz % 1000,
            id.max_leaf,
            khz * 2 / 1000,
            (khz * 2 / 10) % 100,
            id.clflush,
            id.clflush,
        );
        if let Some((phys, virt)) = id.address_sizes {
            let _ = writeln!(s, "address sizes\t: {phys} bits physical, {virt} bits virtual");
        }
        s.push_str("power management:\n\n");
    }
    s.into_bytes()
}
