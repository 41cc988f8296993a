//! Replacing a process's program (Linux's `execve`, fs/exec.c).
//!
//! Everything that can fail happens first, while the old program is
//! intact: the path, arguments and environment are copied in; the file is
//! found (`/proc/self/exe` and `/proc/<own pid>/exe` are the running
//! program, whose bytes the process keeps), checked (a regular file with an
//! execute bit, else `EACCES`) and read whole; the ELF is loaded into a
//! fresh address space with its initial stack (`loader::load`: a file that
//! is not a static ELF this kernel loads is `ENOEXEC`, a dynamically linked
//! one too: there is no interpreter to run). Then the point of no return
//! (Linux's `begin_new_exec`): the other threads end (`de_thread`), the new
//! address space replaces the old, a `vfork` parent goes on, descriptors
//! with `FD_CLOEXEC` close, caught signals go back to their default
//! (ignored ones stay ignored; the blocked mask and pending signals stay),
//! the alternate stack, FS/GS bases, extended state, clear-TID and robust
//! list are reset, and the thread starts at the entry point with every
//! register zero, as at boot.

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::Ordering;

use entry_asm::hw::{rflags, selector};
use entry_asm::pt_regs::PtRegs;
use libos_abi::errno::Errno;
use libos_abi::signal::{SIG_DFL, SIG_IGN};
use libos_fs::filesystem::FileType;
use libos_fs::path::Lookup;
use x86_64::VirtAddr;
use x86_64::registers::model_specific::{FsBase, KernelGsBase};

use super::loader::{self, LoadError, ProgramArgs};
use super::program::{Program, ProgramBytes};
use crate::arch::x86_64::xstate::ExtendedState;
use crate::fs::mounts;
use crate::fs::user_path::copy_path;
use crate::mm::address_space::AddressSpace;
use crate::mm::user_access::read_user;
use crate::sched;

/// Most bytes of arguments and environment strings together (with their
/// NULs), as Linux's limit of a quarter of the 8 MiB stack
/// (`bprm_stack_limits`): past it, `E2BIG`.
pub const MAX_ARG_BYTES: usize = 2 << 20;
/// Most strings in `argv` plus `envp` (Linux's `MAX_ARG_STRINGS` is far
/// higher; each costs a pointer on the stack).
pub const MAX_ARG_STRINGS: usize = 1 << 16;
/// Most bytes of a program file `execve` reads into memory.
pub const MAX_PROGRAM_BYTES: u64 = 64 << 20;

/// `execve(path, argv, envp)` for the calling thread, whose registers are
/// `regs`: returns 0 (the new program's RAX) with `regs` rewritten, or an
/// error with the old program intact.
pub fn execve(regs: &mut PtRegs, path: u64, argv: u64, envp: u64) -> Result<u64, Errno> {
    let path = copy_path(path)?;
    if path.is_empty() {
        return Err(Errno::ENOENT);
    }
    let mut total = 0usize;
    let args = copy_strings(argv, &mut total)?;
    let env = copy_strings(envp, &mut total)?;
    let process = super::current().ok_or(Errno::EINVAL)?;
    let program = find_program(&process, &path)?;
    let args_str: Vec<&str> = args.iter().map(String::as_str).collect();
    let env_str: Vec<&str> = env.iter().map(String::as_str).collect();
    let space = AddressSpace::new()?;
    let mut random = [0u8; 16];
    crate::random::fill(&mut random);
    let image =
        loader::load(&space, program.elf(), &ProgramArgs { argv: &args_str, envp: &env_str, random }).map_err(|e| {
            match e {
                LoadError::Elf(_) | LoadError::Dynamic(_) => Errno::ENOEXEC,
                LoadError::OutOfMemory => Errno::ENOMEM,
                LoadError::ArgumentsTooLong => Errno::E2BIG,
            }
        })?;
    let xstate = ExtendedState::initial().ok_or(Errno::ENOMEM)?;
    let task = sched::current();
    process.end_other_threads(&task)?;

    // The point of no return.
    let old = sched::replace_current_space(&process, space);
    drop(old);
    process.set_program(program);
    process.release_vfork_parent();
    drop(process.files.fds.take_cloexec());
    {
        let mut ps = process.signals.lock();
        for act in ps.actions.iter_mut() {
            if act.handler != SIG_IGN {
                act.handler = SIG_DFL;
            }
            act.flags = 0;
            act.restorer = 0;
            act.mask = 0;
        }
        let mut ts = task.signals.lock();
        ts.altstack = Default::default();
        ts.saved_mask = None;
    }
    sched::with_current_xstate(|x| {
        *x = xstate;
        x.restore();
    });
    FsBase::write(VirtAddr::new(0));
    KernelGsBase::write(VirtAddr::new(0));
    task.clear_child_tid.store(0, Ordering::Release);
    task.robust_list.store(0, Ordering::Release);
    let name = path.rsplit(|&b| b == b'/').next().unwrap_or(&path);
    *task.name.lock() = sched::ThreadName::new(name);
    *regs = PtRegs {
        rip: image.entry,
        cs: u64::from(selector::USER_CS),
        rflags: rflags::IF | rflags::FIXED,
        rsp: image.stack_pointer,
        ss: u64::from(selector::USER_DS),
        orig_rax: u64::MAX,
        ..PtRegs::default()
    };
    Ok(0)
}

/// Copies the NULL-terminated array of string pointers at `addr` (NULL:
/// none), adding their bytes to `total`: `E2BIG` past the limits,
/// `EFAULT`, `EINVAL` for a string that is not UTF-8 (a limit of this
/// kernel's stack builder; Linux takes any bytes).
fn copy_strings(addr: u64, total: &mut usize) -> Result<Vec<String>, Errno> {
    let mut out = Vec::new();
    if addr == 0 {
        return Ok(out);
    }
    for i in 0.. {
        if i >= MAX_ARG_STRINGS {
            return Err(Errno::E2BIG);
        }
        let at = addr.checked_add(8 * i as u64).ok_or(Errno::EFAULT)?;
        let ptr: u64 = read_user(at)?;
        if ptr == 0 {
            break;
        }
        let bytes = copy_path(ptr).map_err(|e| if e == Errno::ENAMETOOLONG { Errno::E2BIG } else { e })?;
        *total += bytes.len() + 1;
        if *total > MAX_ARG_BYTES {
            return Err(Errno::E2BIG);
        }
        let s = String::from_utf8(bytes).map_err(|_| Errno::EINVAL)?;
        out.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
        out.push(s);
    }
    Ok(out)
}

/// Whether `path` (from `base`) is a symbolic link to `/proc/self/exe`.
fn links_to_own_program(process: &super::Process, base: libos_fs::mount::Location, path: &[u8]) -> bool {
    let table = mounts();
    let Ok(link) = Lookup::new(table, table.root()).resolve(base, path, false) else { return false };
    let own = alloc::format!("/proc/{}/exe", process.pid);
    table
        .with(link.mount, |fs| fs.readlink(link.ino))
        .is_ok_and(|target| target == b"/proc/self/exe" || target == own.as_bytes())
}

/// The program at `path`: the running one for `/proc/self/exe`, else the
/// file, read whole.
fn find_program(process: &super::Process, path: &[u8]) -> Result<Arc<Program>, Errno> {
    let own = alloc::format!("/proc/{}/exe", process.pid);
    if path == b"/proc/self/exe" || path == own.as_bytes() {
        return Ok(process.program());
    }
    let table = mounts();
    let base = if path.first() == Some(&b'/') { table.root() } else { process.files.cwd() };
    let at = match Lookup::new(table, table.root()).resolve(base, path, true) {
        Ok(at) => at,
        // A symbolic link to `/proc/self/exe` (a `bin/NAME` link to a
        // multi-call program): the running program, as Linux finds it.
        Err(Errno::ENOENT) if links_to_own_program(process, base, path) => return Ok(process.program()),
        Err(e) => return Err(e),
    };
    let attr = table.with(at.mount, |fs| fs.getattr(at.ino))?;
    if attr.file_type() != FileType::Regular || attr.mode & 0o111 == 0 {
        return Err(Errno::EACCES);
    }
    if attr.size > MAX_PROGRAM_BYTES {
        return Err(Errno::ENOMEM);
    }
    let mut bytes = Vec::new();
    bytes.try_reserve_exact(attr.size as usize).map_err(|_| Errno::ENOMEM)?;
    bytes.resize(attr.size as usize, 0);
    let mut done = 0;
    while done < bytes.len() {
        let n = table.with(at.mount, |fs| fs.read(at.ino, done as u64, &mut bytes[done..]))?;
        if n == 0 {
            bytes.truncate(done);
            break;
        }
        done += n;
    }
    if !bytes.starts_with(b"\x7fELF") {
        return Err(Errno::ENOEXEC);
    }
    Ok(Arc::new(Program { path: String::from_utf8_lossy(path).into_owned(), bytes: ProgramBytes::File(bytes) }))
}
