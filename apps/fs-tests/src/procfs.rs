//! `/proc`: `self`, `<pid>/exe`, `maps`, `status`, `cpuinfo`, `meminfo`,
//! in Linux's formats, read-only.

use core::arch::x86_64::__cpuid;

use libos::fs;
use libos::prelude::*;

use crate::util::fs_types::*;
use crate::util::{Errno, c, open, stat, sys};
use libos::__private::abi::abi_types::{MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE};

/// `readlink(path)`.
fn readlink(path: &str) -> Result<String, Errno> {
    let p = c(path);
    let mut buf = [0u8; 256];
    // SAFETY: `p` is NUL-terminated, `buf` writable.
    let n = unsafe { sys::readlink(p.as_ptr(), buf.as_mut_ptr(), buf.len()) }?;
    Ok(String::from_utf8(buf[..n].to_vec()).unwrap())
}

#[libos::test]
fn proc_self_links_to_the_pid_and_exe_to_the_app() {
    let pid = sys::getpid().unwrap();
    assert_eq!(readlink("/proc/self").unwrap(), format!("{pid}"));
    let app = libos::env::args().next().unwrap();
    assert_eq!(readlink("/proc/self/exe").unwrap(), format!("/{app}"));
    assert_eq!(readlink(&format!("/proc/{pid}/exe")).unwrap(), format!("/{app}"));
    assert_eq!(stat("/proc/self", 0).unwrap().st_mode & S_IFMT, S_IFDIR, "followed: the pid directory");
    assert_eq!(stat("/proc/self", AT_SYMLINK_NOFOLLOW).unwrap().st_mode & S_IFMT, S_IFLNK);
    assert_eq!(stat(&format!("/proc/{}", pid + 1000), 0), Err(Errno::ENOENT), "another pid");
    assert_eq!(readlink("/proc/cpuinfo"), Err(Errno::EINVAL), "not a link");
    let names: Vec<String> = fs::read_dir("/proc").unwrap().map(|e| e.unwrap().file_name()).collect();
    for want in ["cpuinfo", "meminfo", "self", &format!("{pid}")] {
        assert!(names.iter().any(|n| n == want), "{want} missing from {names:?}");
    }
}

#[libos::test]
fn proc_is_read_only() {
    assert_eq!(open("/proc/cpuinfo", O_WRONLY, 0), Err(Errno::EROFS));
    assert_eq!(open("/proc/new", O_CREAT | O_WRONLY, 0o644), Err(Errno::EROFS));
    let p = c("/proc/dir");
    // SAFETY: NUL-terminated.
    assert_eq!(unsafe { sys::mkdir(p.as_ptr(), 0o755) }, Err(Errno::EROFS));
    let p = c("/proc/meminfo");
    // SAFETY: NUL-terminated.
    assert_eq!(unsafe { sys::unlink(p.as_ptr()) }, Err(Errno::EROFS));
    let mut st = Statfs::default();
    let p = c("/proc");
    // SAFETY: NUL-terminated, writable.
    unsafe { sys::statfs(p.as_ptr(), &mut st) }.unwrap();
    assert_eq!(st.f_type, 0x9fa0, "PROC_SUPER_MAGIC");
}

/// The line of `maps` that starts at `addr`.
fn maps_line(maps: &str, addr: usize) -> Option<String> {
    let start = format!("{addr:08x}-");
    maps.lines().find(|l| l.starts_with(&start)).map(String::from)
}

#[libos::test]
fn maps_has_linux_lines_for_the_image_heap_stack_and_mmap() {
    let app = libos::env::args().next().unwrap();
    // SAFETY: a fresh anonymous mapping.
    let anon = unsafe { sys::mmap(0, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) }.unwrap();
    let maps = fs::read_to_string("/proc/self/maps").unwrap();
    assert_eq!(
        maps_line(&maps, anon).as_deref(),
        Some(format!("{:08x}-{:08x} rw-p 00000000 00:00 0 ", anon, anon + 3 * 4096).as_str())
    );
    // The image: at 0x400000 (user.ld places its first segment there,
    // from file offset 0x1000), named as /proc/self/exe, the name starting
    // at column 74.
    let first = maps_line(&maps, 0x40_0000).unwrap();
    assert!(first.starts_with("00400000-"), "{first}");
    let offset = u64::from_str_radix(&first[23..31], 16).unwrap();
    assert!(offset.is_multiple_of(4096) && &first[31..38] == " 00:00 ", "{first}");
    assert_eq!(first.find('/'), Some(73), "{first}");
    assert!(first.ends_with(&format!(" /{app}")), "{first}");
    let stack = maps.lines().find(|l| l.ends_with(" [stack]")).expect("a [stack] line");
    assert_eq!(&stack[26..31], "rw-p ", "{stack}");
    // Lines are in address order and do not overlap.
    let mut last_end = 0;
    for l in maps.lines() {
        let (range, _) = l.split_once(' ').unwrap();
        let (a, b) = range.split_once('-').unwrap();
        let (a, b) = (u64::from_str_radix(a, 16).unwrap(), u64::from_str_radix(b, 16).unwrap());
        assert!(last_end <= a && a < b, "{l}");
        last_end = b;
    }
    // The heap (libos's allocator grows it with brk): it ends at the break.
    // SAFETY: brk(0) only asks where the break is.
    let brk = unsafe { sys::brk(0) }.unwrap();
    let heap = maps.lines().find(|l| l.ends_with(" [heap]")).expect("a [heap] line");
    let end = u64::from_str_radix(&heap[heap.find('-').unwrap() + 1..heap.find(' ').unwrap()], 16).unwrap();
    assert_eq!(end, (brk as u64).next_multiple_of(4096), "{heap}");
    assert_eq!(&heap[heap.find(' ').unwrap()..][..6], " rw-p ", "{heap}");
}

#[libos::test]
fn cpuinfo_has_a_block_per_cpu_from_cpuid() {
    let text = fs::read_to_string("/proc/cpuinfo").unwrap();
    let cpus = libos::thread::available_parallelism().unwrap().get();
    assert_eq!(text.matches("processor\t: ").count(), cpus, "{text}");
    assert_eq!(text.matches("\n\n").count(), cpus, "blocks end with an empty line");
    let l0 = __cpuid(0);
    let mut vendor = Vec::new();
    for r in [l0.ebx, l0.edx, l0.ecx] {
        vendor.extend_from_slice(&r.to_le_bytes());
    }
    assert!(text.contains(&format!("vendor_id\t: {}\n", String::from_utf8(vendor).unwrap())), "{text}");
    let sig = __cpuid(1).eax;
    let family = ((sig >> 8) & 0xf) + if (sig >> 8) & 0xf == 0xf { (sig >> 20) & 0xff } else { 0 };
    assert!(text.contains(&format!("cpu family\t: {family}\n")), "{text}");
    assert!(text.contains(&format!("stepping\t: {}\n", sig & 0xf)), "{text}");
    // Flags from CPUID: SSE2 and FPU every x86-64 CPU has, `lm` too.
    let flags = text.lines().find(|l| l.starts_with("flags\t\t:")).unwrap();
    for f in [" fpu ", " sse2 ", " lm "] {
        assert!(flags.contains(f), "{flags}");
    }
    // cpu MHz is the kernel's TSC frequency.
    let hz = libos::debug::call(libos::debug::TSC_HZ, 0, 0).unwrap();
    let khz = hz / 1000;
    assert!(text.contains(&format!("cpu MHz\t\t: {}.{:03}\n", khz / 1000, khz % 1000)), "{text}");
    assert!(text.contains("processor\t: 0\n"));
}

#[libos::test]
fn status_and_meminfo_in_linux_format() {
    let pid = sys::getpid().unwrap();
    let status = fs::read_to_string("/proc/self/status").unwrap();
    assert!(status.contains(&format!("\nPid:\t{pid}\n")), "{status}");
    assert!(status.contains(&format!("\nTgid:\t{pid}\n")), "{status}");
    assert!(status.contains("\nThreads:\t1\n"), "{status}");
    assert!(status.starts_with("Name:\t"), "{status}");
    let mem = fs::read_to_string("/proc/meminfo").unwrap();
    let total = mem.lines().next().unwrap();
    assert!(total.starts_with("MemTotal:       ") && total.ends_with(" kB"), "{mem}");
    let kb: u64 = total[16..total.len() - 3].trim().parse().unwrap();
    assert!(kb > 1024, "{mem}");
    // A read in small pieces gives the same text.
    let fd = open("/proc/self/status", O_RDONLY, 0).unwrap();
    let mut pieces = Vec::new();
    loop {
        let mut b = [0u8; 7];
        // SAFETY: writable.
        let n = unsafe { sys::read(fd, b.as_mut_ptr(), b.len()) }.unwrap();
        if n == 0 {
            break;
        }
        pieces.extend_from_slice(&b[..n]);
    }
    sys::close(fd).unwrap();
    assert_eq!(pieces, status.as_bytes());
}
