//! The test suite's and the benchmark's hooks (the `Hooks` topic of the
//! table): `libos_test_register`, an app's test runner telling the kernel
//! its tests, and `libos_debug`, the window into the kernel that
//! `libos_abi::debug` defines the operations of.

use alloc::string::String;
use alloc::sync::Arc;
use core::sync::atomic::Ordering;

use libos_abi::debug as op;
use libos_abi::dispatch::RewritesFrame;
use libos_abi::errno::Errno;
use libos_abi::syscalls::Hooks;
use libos_abi::test::Expect;
use libos_abi::user_ptr::UserPtr;

use super::{Cx, Kernel};
use crate::arch::x86_64::percpu as entry_percpu;
use crate::arch::x86_64::{cpu, syscall};
use crate::config;
use crate::mm::user_access::copy_from_user;
use crate::percpu;
use crate::process::{self, RegisteredTest};
use crate::sched::ThreadName;
use crate::testing::recovery::{Outcome, run_guarded};

/// Longest test name accepted.
const MAX_NAME: usize = 256;

impl Hooks for Kernel {
    fn libos_test_register(
        _cx: &mut Cx,
        index: u64,
        name: UserPtr<u8>,
        name_len: usize,
        expect_kind: u32,
        expect_arg: u64,
    ) -> Result<(), Errno> {
        if name_len == 0 || name_len > MAX_NAME {
            return Err(Errno::EINVAL);
        }
        let expect = Expect::from_raw(expect_kind, expect_arg).ok_or(Errno::EINVAL)?;
        let mut buf = [0u8; MAX_NAME];
        copy_from_user(&mut buf[..name_len], name.addr()).map_err(|(e, _)| e)?;
        let text = core::str::from_utf8(&buf[..name_len]).map_err(|_| Errno::EINVAL)?;
        // The name goes into the run record's lines (`test <name> ... ok`):
        // one word, so that an app cannot shape a line of its own there.
        if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(Errno::EINVAL);
        }
        let p = process::current().ok_or(Errno::EINVAL)?;
        let mut owned = String::new();
        owned.try_reserve_exact(text.len()).map_err(|_| Errno::ENOMEM)?;
        owned.push_str(text);
        p.register_test(RegisteredTest { index, name: owned, expect })
    }

    fn libos_debug(cx: &mut Cx, frame: RewritesFrame, operation: u64, arg0: u64, arg1: u64) -> Result<u64, Errno> {
        match operation {
            op::SMAP_PROBE => {
                crate::mm::user_access::check(arg0, 1)?;
                // A plain load of a user address from ring 0, with AC clear.
                let outcome = run_guarded(|| {
                    let v: u8;
                    // SAFETY: a one-byte load; with SMAP it faults, and the
                    // guard recovers.
                    unsafe {
                        core::arch::asm!("mov {v}, byte ptr [{a}]", a = in(reg) arg0, v = out(reg_byte) v, options(nostack))
                    };
                    core::hint::black_box(v);
                });
                Ok(matches!(outcome, Outcome::Faulted(_)) as u64)
            }
            op::SET_RETURN_RIP => {
                let regs = cx.regs_mut(frame);
                regs.rip = arg0;
                if arg1 == 0 {
                    regs.rcx = arg0;
                }
                Ok(0)
            }
            op::KERNEL_CR3 => Ok(cpu::read_cr3()),
            op::AUDIT_USER_PAGE_TABLE => {
                if !config::get().kpti {
                    return Err(Errno::EOPNOTSUPP);
                }
                let p = process::current().ok_or(Errno::EINVAL)?;
                Ok(crate::testing::kpti_audit::audit_user_page_table(&p.space(), &p.space().regions()))
            }
            op::KERNEL_HEAP_ADDRESS => {
                let p = process::current().ok_or(Errno::EINVAL)?;
                Ok(Arc::as_ptr(&p) as u64)
            }
            op::CPU_INDEX => Ok(percpu::cpu_index() as u64),
            op::LSTAR => Ok(syscall::lstar()),
            op::CHECK_ARGS => {
                let regs = cx.regs();
                let seed = regs.rsi;
                let got = [regs.rdi, regs.rsi, regs.rdx, regs.r10, regs.r8, regs.r9];
                let mut mask = 0u64;
                for (i, &value) in got.iter().enumerate().skip(2) {
                    if value != op::arg_pattern(seed, i as u32) {
                        mask |= 1 << i;
                    }
                }
                Ok(mask)
            }
            op::ENTRY_FLAGS => Ok(entry_percpu::entry_flags()),
            op::KERNEL_GS_BASE => Ok(entry_percpu::header_address()),
            op::CPU_COUNT => Ok(percpu::cpu_count() as u64),
            op::USER_FLUSH_PENDING => Ok(entry_percpu::user_flush_pending() as u64),
            // Test kernels record the CR3 values the entry path writes.
            #[cfg(feature = "testing")]
            op::LAST_KERNEL_CR3 => Ok(entry_percpu::last_cr3_writes().0),
            #[cfg(feature = "testing")]
            op::LAST_USER_CR3 => Ok(entry_percpu::last_cr3_writes().1),
            op::ARM_TEST_TIMER => {
                crate::sched::timer::add_test_event(arg0)?;
                Ok(0)
            }
            op::TEST_INTERRUPTS => Ok(crate::trap::irq::TEST_INTERRUPTS.this().load(Ordering::Relaxed)),
            op::NMI_COUNT => Ok(crate::trap::paranoid::NMIS.this().load(Ordering::Relaxed)),
            op::NMI_FROM_CPU => {
                let helper = arg0 as usize;
                if helper == percpu::cpu_index() || !percpu::is_online(helper) {
                    return Err(Errno::EINVAL);
                }
                let target = crate::smp::apic_id(percpu::cpu_index()).ok_or(Errno::EINVAL)?;
                let deadline = crate::time::deadline_after(arg1);
                crate::smp::nmi_later(helper, target, deadline);
                Ok(0)
            }
            op::USES_INVPCID => Ok((config::get().pcid_on() && config::get().invpcid) as u64),
            // Benchmark kernels have the floor entries.
            #[cfg(feature = "bench")]
            op::BENCH_FLOOR => {
                syscall::set_bench_floor(arg0 != 0, config::get().kpti, config::get().pcid_on());
                Ok(0)
            }
            op::FIRST_INSTRUCTION_TSC => Ok(crate::time::first_instruction_tsc()),
            op::TSC_HZ => Ok(crate::time::clock().scale.hz),
            op::AC_AT_ENTRY => Ok(crate::trap::ac_at_entry()),
            op::RESIDENT_PAGES => Ok(process::current().ok_or(Errno::EINVAL)?.space().resident_pages()),
            op::EXPECT_FAULTING_THREAD => {
                let bytes = super::thread::read_name(arg1)?;
                let tid = u32::try_from(arg0).map_err(|_| Errno::EINVAL)?;
                process::current().ok_or(Errno::EINVAL)?.expect_faulting_thread(tid, ThreadName::new(&bytes));
                Ok(0)
            }
            op::EXPECT_EXIT_CODE => {
                let code = i32::try_from(arg0).map_err(|_| Errno::EINVAL)?;
                process::current().ok_or(Errno::EINVAL)?.expect_exit_code(code);
                Ok(0)
            }
            op::LOWER_THREAD_LIMIT => {
                let limit = usize::try_from(arg0).map_err(|_| Errno::EINVAL)?;
                let kind = usize::try_from(arg1)
                    .ok()
                    .and_then(|i| libos_kcore::limits::Resource::ALL.get(i).copied())
                    .ok_or(Errno::EINVAL)?;
                let usage = &process::current().ok_or(Errno::EINVAL)?.usage;
                usage.lower_limit(kind, limit);
                Ok(0)
            }
            op::KERNEL_HEAP_BYTES => Ok(crate::mm::heap::stats().allocated as u64),
            op::PENDING_TIMERS => Ok(crate::sched::timer::pending_events() as u64),
            op::CONSOLE_CAPTURE => {
                crate::console::capture::start()?;
                Ok(0)
            }
            op::CONSOLE_CAPTURED => crate::console::capture::take(arg0, arg1).map(|n| n as u64),
            op::EXPECT_SIGNAL => {
                let signo = u8::try_from(arg0).map_err(|_| Errno::EINVAL)?;
                process::current().ok_or(Errno::EINVAL)?.expect_signal(signo);
                Ok(0)
            }
            op::EXPECT_OUTPUT => {
                let len = usize::try_from(arg1)
                    .ok()
                    .filter(|n| (1..=op::MAX_EXPECTED_OUTPUT as usize).contains(n))
                    .ok_or(Errno::EINVAL)?;
                let mut text = heapless::Vec::<u8, { op::MAX_EXPECTED_OUTPUT as usize }>::new();
                text.resize(len, 0).map_err(|_| Errno::EINVAL)?;
                copy_from_user(&mut text, arg0).map_err(|(e, _)| e)?;
                let process = process::current().ok_or(Errno::EINVAL)?;
                crate::console::capture::start()?;
                process.expect_output(text);
                Ok(0)
            }
            op::EXPECT_ERROR_CODE => {
                process::current().ok_or(Errno::EINVAL)?.expect_error_code(arg0, arg1);
                Ok(0)
            }
            _ => Err(Errno::EINVAL),
        }
    }
}
