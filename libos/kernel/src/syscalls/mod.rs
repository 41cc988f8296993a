//! The system calls: this kernel's implementation of the table declared in
//! `libos_abi::syscalls` (one declaration for both sides; the macro makes a
//! missing handler a compile error).

mod debug;
mod info;
mod io;
mod memory;
mod process;
mod testing;
mod thread;
mod time;

use core::fmt::Write;

use entry_asm::pt_regs::PtRegs;
use libos_abi::abi_types::{Timespec, Utsname};
use libos_abi::errno::Errno;
use libos_abi::syscalls::{DispatchTable, SYSCALL_TABLE_LEN, SyscallHandler, Syscalls, nr, trace_call, trace_result};
use libos_abi::user_ptr::{UserPtr, UserPtrMut};

use crate::config;

/// What a handler works on: the calling thread's saved registers.
pub struct Cx {
    /// The caller's `pt_regs` (valid for the whole call).
    regs: *mut PtRegs,
    /// Set once a handler took the registers for writing: the return path
    /// must then check them all before it may use SYSRET.
    frame_changed: bool,
}

impl Cx {
    /// The caller's saved registers.
    pub fn regs(&self) -> &PtRegs {
        // SAFETY: `regs` points at the caller's pt_regs on its kernel stack,
        // alive for the whole call, and only this handler uses it meanwhile.
        unsafe { &*self.regs }
    }

    /// The caller's saved registers, to change where or how it returns.
    pub fn regs_mut(&mut self) -> &mut PtRegs {
        self.frame_changed = true;
        // SAFETY: as in `regs`; `&mut self` makes the borrow exclusive.
        unsafe { &mut *self.regs }
    }
}

/// The kernel, as the implementor of the syscall table.
pub enum Kernel {}

/// The dispatch table the entry path indexes.
static TABLE: [Option<SyscallHandler<Cx>>; SYSCALL_TABLE_LEN] = DispatchTable::<Kernel>::ENTRIES;

/// Dispatches the syscall in `regs` and stores the result in `regs.rax`.
/// Returns whether the handler changed any other saved register.
#[inline]
pub fn handle(regs: &mut PtRegs) -> bool {
    if config::trace_syscalls() {
        return handle_traced(regs);
    }
    let (ret, frame_changed) = dispatch(regs);
    regs.rax = ret as u64;
    frame_changed
}

/// Runs the handler of the number in `regs`: its result, and whether it
/// took the registers for writing.
#[inline]
fn dispatch(regs: &mut PtRegs) -> (i64, bool) {
    match TABLE.get(regs.orig_rax as usize) {
        Some(Some(handler)) => {
            let args = [regs.rdi, regs.rsi, regs.rdx, regs.r10, regs.r8, regs.r9];
            let mut cx = Cx { regs, frame_changed: false };
            let ret = handler(&mut cx, &args);
            (ret, cx.frame_changed)
        }
        _ => (Errno::ENOSYS.to_ret(), false),
    }
}

/// `handle` with every call printed (`strace` on the command line).
#[cold]
fn handle_traced(regs: &mut PtRegs) -> bool {
    let number = regs.orig_rax;
    let args = [regs.rdi, regs.rsi, regs.rdx, regs.r10, regs.r8, regs.r9];
    if number == nr::EXIT || number == nr::EXIT_GROUP {
        print_trace(number, &args, None);
    }
    let (ret, frame_changed) = dispatch(regs);
    regs.rax = ret as u64;
    print_trace(number, &args, Some(ret));
    frame_changed
}

fn print_trace(number: u64, args: &[u64; 6], ret: Option<i64>) {
    let mut line = heapless::String::<256>::new();
    let pid = crate::process::current().map_or(0, |p| p.pid);
    let _ = write!(line, "[strace {pid}] ");
    let _ = trace_call(number, args, &mut line);
    match ret {
        Some(r) => {
            let _ = trace_result(number, r, &mut line);
        }
        None => {
            let _ = write!(line, " = ?");
        }
    }
    crate::println!("{line}");
}

impl Syscalls for Kernel {
    type Context = Cx;

    fn read(_cx: &mut Cx, fd: i32, buf: UserPtrMut<u8>, count: usize) -> Result<usize, Errno> {
        io::read(fd, buf, count)
    }

    fn write(_cx: &mut Cx, fd: i32, buf: UserPtr<u8>, count: usize) -> Result<usize, Errno> {
        io::write(fd, buf, count)
    }

    fn mmap(
        _cx: &mut Cx,
        addr: usize,
        length: usize,
        prot: i32,
        flags: i32,
        fd: i32,
        offset: i64,
    ) -> Result<usize, Errno> {
        memory::mmap(addr, length, prot, flags, fd, offset)
    }

    fn mprotect(_cx: &mut Cx, addr: usize, length: usize, prot: i32) -> Result<(), Errno> {
        memory::mprotect(addr, length, prot)
    }

    fn munmap(_cx: &mut Cx, addr: usize, length: usize) -> Result<(), Errno> {
        memory::munmap(addr, length)
    }

    fn brk(_cx: &mut Cx, addr: usize) -> Result<usize, Errno> {
        memory::brk(addr)
    }

    fn sched_yield(_cx: &mut Cx) -> Result<(), Errno> {
        crate::sched::yield_now();
        Ok(())
    }

    fn nanosleep(_cx: &mut Cx, req: UserPtr<Timespec>, rem: UserPtrMut<Timespec>) -> Result<(), Errno> {
        time::nanosleep(req, rem)
    }

    fn getpid(_cx: &mut Cx) -> Result<i32, Errno> {
        process::getpid()
    }

    fn exit(_cx: &mut Cx, code: i32) -> ! {
        process::exit(code)
    }

    fn uname(_cx: &mut Cx, buf: UserPtrMut<Utsname>) -> Result<(), Errno> {
        info::uname(buf)
    }

    fn clock_gettime(_cx: &mut Cx, clock: i32, tp: UserPtrMut<Timespec>) -> Result<(), Errno> {
        time::clock_gettime(clock, tp)
    }

    fn exit_group(_cx: &mut Cx, code: i32) -> ! {
        process::exit_group(code)
    }

    fn getrandom(_cx: &mut Cx, buf: UserPtrMut<u8>, count: usize, flags: u32) -> Result<usize, Errno> {
        info::getrandom(buf, count, flags)
    }

    fn clone(
        cx: &mut Cx,
        flags: u64,
        stack: usize,
        parent_tid: UserPtrMut<i32>,
        child_tid: UserPtrMut<i32>,
        tls: u64,
    ) -> Result<i32, Errno> {
        thread::clone(cx, flags, stack, parent_tid, child_tid, tls)
    }

    fn arch_prctl(_cx: &mut Cx, code: i32, addr: u64) -> Result<(), Errno> {
        thread::arch_prctl(code, addr)
    }

    fn futex(
        _cx: &mut Cx,
        uaddr: UserPtrMut<u32>,
        op: i32,
        val: u32,
        timeout: UserPtr<Timespec>,
        _uaddr2: UserPtrMut<u32>,
        val3: u32,
    ) -> Result<usize, Errno> {
        thread::futex(uaddr, op, val, timeout, val3)
    }

    fn set_tid_address(_cx: &mut Cx, tidptr: UserPtrMut<i32>) -> Result<i32, Errno> {
        thread::set_tid_address(tidptr)
    }

    fn prctl(_cx: &mut Cx, option: i32, arg2: u64, arg3: u64, arg4: u64, arg5: u64) -> Result<i32, Errno> {
        thread::prctl(option, arg2, [arg3, arg4, arg5])
    }

    fn getcpu(_cx: &mut Cx, cpu: UserPtrMut<u32>, node: UserPtrMut<u32>, _unused: usize) -> Result<(), Errno> {
        thread::getcpu(cpu, node)
    }

    fn gettid(_cx: &mut Cx) -> Result<i32, Errno> {
        Ok(crate::sched::with_current(|t| t.tid as i32))
    }

    fn sched_setaffinity(_cx: &mut Cx, tid: i32, len: usize, mask: UserPtr<u8>) -> Result<(), Errno> {
        process::set_affinity(tid, len, mask)
    }

    fn sched_getaffinity(_cx: &mut Cx, tid: i32, len: usize, mask: UserPtrMut<u8>) -> Result<usize, Errno> {
        process::get_affinity(tid, len, mask)
    }

    fn libos_test_register(
        _cx: &mut Cx,
        index: u64,
        name: UserPtr<u8>,
        name_len: usize,
        expect_kind: u32,
        expect_arg: u64,
    ) -> Result<(), Errno> {
        testing::register(index, name, name_len, expect_kind, expect_arg)
    }

    fn libos_debug(cx: &mut Cx, op: u64, arg0: u64, arg1: u64) -> Result<u64, Errno> {
        debug::debug(cx, op, arg0, arg1)
    }
}
