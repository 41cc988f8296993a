//! How typed system call arguments and results travel in registers.
//!
//! The `#[syscall_table]` expansion (see [`crate::syscalls`]) goes through
//! these traits for every argument and result, so one impl decides a type's
//! encoding for the kernel side, the app side and the tracer alike:
//!
//! - [`SyscallArg`]: a register (`u64`) to the kernel's typed argument, the
//!   app's value to a register, and the register to its strace-style text.
//! - [`SyscallRet`]: a successful result to RAX and back, and its text.
//! - [`decode_result`] / [`encode_result`]: Linux's `-errno` convention.
//! - [`raw`]: the `syscall` instruction itself, for the app side.

use core::fmt;

use crate::errno::{Errno, MAX_ERRNO};
use crate::user_ptr::{UserPtr, UserPtrMut};

/// A type a system call can take as an argument.
///
/// Implemented for the types the `#[syscall_table]` macro allows: `i32`,
/// `u32`, `i64`, `u64`, `usize`, `isize`, [`UserPtr<T>`] and
/// [`UserPtrMut<T>`].
pub trait SyscallArg: Sized {
    /// What the app passes: the type itself for integers, `*const T` for
    /// [`UserPtr<T>`] and `*mut T` for [`UserPtrMut<T>`].
    type User;

    /// The kernel's typed argument from the register. 32-bit integers take
    /// the low 32 bits and ignore the rest, as Linux does for `int`
    /// arguments. A type with invalid encodings returns the error the call
    /// fails with (none of the current types has any).
    fn from_raw(raw: u64) -> Result<Self, Errno>;

    /// The register value for the app's argument.
    fn to_raw(user: Self::User) -> u64;

    /// Writes the argument as a tracer shows it: integers in decimal (signed
    /// or not as the type is), pointers in hex (`0x400120`, `NULL` for 0).
    fn trace(raw: u64, out: &mut dyn fmt::Write) -> fmt::Result;
}

/// Implements [`SyscallArg`] for an integer type, given the conversions as
/// `from |raw| <expr>` and `to |value| <expr>`.
macro_rules! int_arg {
    ($($ty:ty: from |$raw:ident| $from:expr, to |$user:ident| $to:expr;)*) => {
        $(
            impl SyscallArg for $ty {
                type User = $ty;

                fn from_raw($raw: u64) -> Result<Self, Errno> {
                    Ok($from)
                }

                fn to_raw($user: $ty) -> u64 {
                    $to
                }

                fn trace($raw: u64, out: &mut dyn fmt::Write) -> fmt::Result {
                    write!(out, "{}", $from)
                }
            }
        )*
    };
}

int_arg! {
    // Low 32 bits; the app side sign-extends, as C's promotion to `long` does.
    i32: from |raw| raw as u32 as i32, to |v| i64::from(v) as u64;
    u32: from |raw| raw as u32, to |v| u64::from(v);
    i64: from |raw| raw as i64, to |v| v as u64;
    u64: from |raw| raw, to |v| v;
    isize: from |raw| raw as i64 as isize, to |v| v as i64 as u64;
    usize: from |raw| raw as usize, to |v| v as u64;
}

/// Writes a user address as a tracer shows it.
fn trace_addr(raw: u64, out: &mut dyn fmt::Write) -> fmt::Result {
    if raw == 0 { out.write_str("NULL") } else { write!(out, "{raw:#x}") }
}

impl<T> SyscallArg for UserPtr<T> {
    type User = *const T;

    fn from_raw(raw: u64) -> Result<Self, Errno> {
        Ok(UserPtr::from_addr(raw))
    }

    fn to_raw(user: *const T) -> u64 {
        // Exposed: the kernel accesses the memory through this address.
        user.expose_provenance() as u64
    }

    fn trace(raw: u64, out: &mut dyn fmt::Write) -> fmt::Result {
        trace_addr(raw, out)
    }
}

impl<T> SyscallArg for UserPtrMut<T> {
    type User = *mut T;

    fn from_raw(raw: u64) -> Result<Self, Errno> {
        Ok(UserPtrMut::from_addr(raw))
    }

    fn to_raw(user: *mut T) -> u64 {
        // Exposed: the kernel accesses the memory through this address.
        user.expose_provenance() as u64
    }

    fn trace(raw: u64, out: &mut dyn fmt::Write) -> fmt::Result {
        trace_addr(raw, out)
    }
}

/// A type a system call can return on success.
///
/// Implemented for `()`, `usize`, `isize`, `u64`, `i64`, `u32` and `i32`.
/// A successful value must not fall in `-MAX_ERRNO..=-1` once converted, or
/// the app reads it as an error, exactly as on Linux (an address in the top
/// 4 KiB of the address space, say); user addresses never do.
pub trait SyscallRet: Sized {
    /// The value for RAX.
    fn into_raw(self) -> i64;

    /// The value back from RAX (not in the error range).
    fn from_raw(raw: i64) -> Self;

    /// Writes the successful raw value as a tracer shows it (decimal).
    fn trace(raw: i64, out: &mut dyn fmt::Write) -> fmt::Result {
        write!(out, "{raw}")
    }
}

impl SyscallRet for () {
    fn into_raw(self) -> i64 {
        0
    }

    fn from_raw(_raw: i64) -> Self {}
}

/// Implements [`SyscallRet`] for an integer type, given the conversions as
/// `into |value| <expr>` and `from |raw| <expr>`.
macro_rules! int_ret {
    ($($ty:ty: into |$value:ident| $into:expr, from |$raw:ident| $from:expr;)*) => {
        $(
            impl SyscallRet for $ty {
                fn into_raw(self) -> i64 {
                    let $value = self;
                    $into
                }

                fn from_raw($raw: i64) -> Self {
                    $from
                }

                fn trace($raw: i64, out: &mut dyn fmt::Write) -> fmt::Result {
                    write!(out, "{}", $from)
                }
            }
        )*
    };
}

int_ret! {
    usize: into |v| v as i64, from |raw| raw as usize;
    isize: into |v| v as i64, from |raw| raw as isize;
    u64: into |v| v as i64, from |raw| raw as u64;
    i64: into |v| v, from |raw| raw;
    u32: into |v| i64::from(v), from |raw| raw as u32;
    i32: into |v| i64::from(v), from |raw| raw as i32;
}

/// Whether a raw result is an error (in `-MAX_ERRNO..=-1`).
pub const fn is_error(raw: i64) -> bool {
    raw < 0 && raw >= -MAX_ERRNO
}

/// The app's view of a raw result: `Err` for `-MAX_ERRNO..=-1`, as on Linux,
/// else the value. An error number [`Errno`] does not know (which this
/// crate's kernel never returns) decodes as [`Errno::EIO`].
pub fn decode_result<T: SyscallRet>(raw: i64) -> Result<T, Errno> {
    if is_error(raw) { Err(Errno::from_raw(-raw).unwrap_or(Errno::EIO)) } else { Ok(T::from_raw(raw)) }
}

/// The kernel's handler result as the raw value for RAX: `Ok(v)` is
/// `v.into_raw()`, `Err(e)` is `-(e as i64)`.
pub fn encode_result<T: SyscallRet>(result: Result<T, Errno>) -> i64 {
    match result {
        Ok(value) => value.into_raw(),
        Err(errno) => errno.to_ret(),
    }
}

/// Writes ` = <value>` for a result of a call returning `T`, or
/// ` = -1 EFAULT (Bad address)` for an error, as strace does.
pub fn trace_ret<T: SyscallRet>(raw: i64, out: &mut dyn fmt::Write) -> fmt::Result {
    if is_error(raw) {
        match Errno::from_raw(-raw) {
            Some(errno) => write!(out, " = -1 {errno}"),
            None => write!(out, " = -1 errno {} (Unknown error)", -raw),
        }
    } else {
        out.write_str(" = ")?;
        T::trace(raw, out)
    }
}

/// Writes a call the table does not declare: `syscall_1234(0x1, 0x2, 0x3,
/// 0x4, 0x5, 0x6)` (all six registers, in hex).
pub fn trace_unknown_call(nr: u64, args: &[u64; 6], out: &mut dyn fmt::Write) -> fmt::Result {
    let [a0, a1, a2, a3, a4, a5] = *args;
    write!(out, "syscall_{nr}({a0:#x}, {a1:#x}, {a2:#x}, {a3:#x}, {a4:#x}, {a5:#x})")
}

/// The `syscall` instruction with the Linux x86_64 convention, for the app
/// side.
///
/// Number in RAX; arguments in RDI, RSI, RDX, R10, R8, R9; result in RAX;
/// RCX (the return RIP) and R11 (the saved RFLAGS) clobbered. Memory counts
/// as clobbered (no `nomem`/`readonly`): the kernel reads and writes user
/// memory the arguments point to. `nostack`: SYSCALL never touches the user
/// stack. The `_noreturn` variants are for calls that never return (`exit`).
#[cfg(target_arch = "x86_64")]
pub mod raw {
    /// Writes `syscallN` and `syscallN_noreturn` for one argument count.
    macro_rules! syscall_fns {
        ($name:ident, $noreturn:ident, [$($arg:ident => $reg:tt),*]) => {
            #[doc = concat!(
                "System call `nr` with ", stringify!($($arg),*),
                " in the convention's registers; the raw result (RAX).\n\n",
                "# Safety\n\n",
                "The call must be sound for these arguments: any memory the ",
                "kernel reads through them must be valid for reads and any it ",
                "writes valid for writes and not aliased by a reference, and ",
                "the call must not change memory or mappings that Rust code ",
                "relies on (unmapping or remapping the stack or live objects)."
            )]
            #[inline(always)]
            pub unsafe fn $name(nr: u64 $(, $arg: u64)*) -> i64 {
                let ret: i64;
                // SAFETY: the caller guarantees the call is sound for these
                // arguments; the asm declares everything SYSCALL changes (RAX
                // the result, RCX and R11 clobbered, memory clobbered by
                // default) and nothing it does not touch (the stack).
                unsafe {
                    core::arch::asm!(
                        "syscall",
                        inlateout("rax") nr as i64 => ret,
                        $(in($reg) $arg,)*
                        lateout("rcx") _,
                        lateout("r11") _,
                        options(nostack),
                    );
                }
                ret
            }

            #[doc = concat!(
                "System call `nr` with ", stringify!($($arg),*),
                ", for a call that never returns.\n\n",
                "# Safety\n\n",
                "As for the variant that returns; in addition the kernel must ",
                "never return from this call (as with `exit`), or the program ",
                "continues past a `!`."
            )]
            #[inline(always)]
            pub unsafe fn $noreturn(nr: u64 $(, $arg: u64)*) -> ! {
                // SAFETY: the caller guarantees the call is sound and never
                // returns, so nothing after it can observe the clobbered
                // registers.
                unsafe {
                    core::arch::asm!(
                        "syscall",
                        in("rax") nr,
                        $(in($reg) $arg,)*
                        options(noreturn, nostack),
                    );
                }
            }
        };
    }

    syscall_fns!(syscall0, syscall0_noreturn, []);
    syscall_fns!(syscall1, syscall1_noreturn, [a0 => "rdi"]);
    syscall_fns!(syscall2, syscall2_noreturn, [a0 => "rdi", a1 => "rsi"]);
    syscall_fns!(syscall3, syscall3_noreturn, [a0 => "rdi", a1 => "rsi", a2 => "rdx"]);
    syscall_fns!(
        syscall4,
        syscall4_noreturn,
        [a0 => "rdi", a1 => "rsi", a2 => "rdx", a3 => "r10"]
    );
    syscall_fns!(
        syscall5,
        syscall5_noreturn,
        [a0 => "rdi", a1 => "rsi", a2 => "rdx", a3 => "r10", a4 => "r8"]
    );
    syscall_fns!(
        syscall6,
        syscall6_noreturn,
        [a0 => "rdi", a1 => "rsi", a2 => "rdx", a3 => "r10", a4 => "r8", a5 => "r9"]
    );
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use std::string::String;

    fn traced_arg<T: SyscallArg>(raw: u64) -> String {
        let mut s = String::new();
        T::trace(raw, &mut s).unwrap();
        s
    }

    #[test]
    fn thirty_two_bit_args_take_the_low_half() {
        assert_eq!(<i32 as SyscallArg>::from_raw(0xdead_beef_ffff_fffe), Ok(-2));
        assert_eq!(<u32 as SyscallArg>::from_raw(0x1_0000_0005), Ok(5));
        assert_eq!(<i32 as SyscallArg>::to_raw(-1), u64::MAX);
        assert_eq!(<u32 as SyscallArg>::to_raw(u32::MAX), 0xffff_ffff);
        assert_eq!(<i64 as SyscallArg>::from_raw(u64::MAX), Ok(-1));
        assert_eq!(<isize as SyscallArg>::from_raw(u64::MAX), Ok(-1));
    }

    #[test]
    fn pointers_carry_the_address() {
        let x = 5u32;
        let raw = <UserPtr<u32> as SyscallArg>::to_raw(&x);
        assert_eq!(raw, &x as *const u32 as usize as u64);
        let p = <UserPtr<u32> as SyscallArg>::from_raw(raw).unwrap();
        assert_eq!(p.addr(), raw);
        let q = <UserPtrMut<u8> as SyscallArg>::from_raw(0x1000).unwrap();
        assert_eq!(q.addr(), 0x1000);
    }

    #[test]
    fn argument_traces() {
        assert_eq!(traced_arg::<i32>(u64::MAX), "-1");
        assert_eq!(traced_arg::<u32>(u64::MAX), "4294967295");
        assert_eq!(traced_arg::<usize>(14), "14");
        assert_eq!(traced_arg::<i64>(u64::MAX - 1), "-2");
        assert_eq!(traced_arg::<UserPtr<u8>>(0x40_0120), "0x400120");
        assert_eq!(traced_arg::<UserPtrMut<u8>>(0), "NULL");
    }

    #[test]
    fn results_round_trip() {
        assert_eq!(encode_result::<usize>(Ok(14)), 14);
        assert_eq!(encode_result::<()>(Ok(())), 0);
        assert_eq!(encode_result::<usize>(Err(Errno::EFAULT)), -14);
        assert_eq!(decode_result::<usize>(14), Ok(14));
        assert_eq!(decode_result::<i32>(-14), Err(Errno::EFAULT));
        assert_eq!(decode_result::<u32>(0xffff_ffff), Ok(u32::MAX));
        assert_eq!(decode_result::<()>(0), Ok(()));
    }

    #[test]
    fn error_range_is_minus_4095_to_minus_1() {
        assert_eq!(decode_result::<usize>(-1), Err(Errno::EPERM));
        assert_eq!(decode_result::<usize>(-38), Err(Errno::ENOSYS));
        // Unknown numbers in the range are still errors.
        assert_eq!(decode_result::<usize>(-4095), Err(Errno::EIO));
        assert_eq!(decode_result::<usize>(-200), Err(Errno::EIO));
        // Just outside: values.
        assert_eq!(decode_result::<i64>(-4096), Ok(-4096));
        assert_eq!(decode_result::<i64>(i64::MIN), Ok(i64::MIN));
        // A high address (as mmap may return) is not an error...
        let high = 0x7fff_ffff_f000_usize;
        assert_eq!(decode_result::<usize>(high as i64), Ok(high));
        // ...nor is a kernel-half-looking value below the last page.
        let top = 0xffff_ffff_ffff_e000_u64;
        assert_eq!(decode_result::<u64>(top as i64), Ok(top));
        // The last page of the address space reads as errors, as on Linux.
        assert!(decode_result::<u64>(0xffff_ffff_ffff_f001_u64 as i64).is_err());
    }

    #[test]
    fn result_traces() {
        let trace = |raw, f: fn(i64, &mut dyn fmt::Write) -> fmt::Result| {
            let mut s = String::new();
            f(raw, &mut s).unwrap();
            s
        };
        assert_eq!(trace(14, trace_ret::<usize>), " = 14");
        assert_eq!(trace(0, trace_ret::<()>), " = 0");
        assert_eq!(trace(-14, trace_ret::<usize>), " = -1 EFAULT (Bad address)");
        assert_eq!(trace(-300, trace_ret::<i32>), " = -1 errno 300 (Unknown error)");
        let mut s = String::new();
        trace_unknown_call(1234, &[1, 2, 3, 0xa, 0xff, 0], &mut s).unwrap();
        assert_eq!(s, "syscall_1234(0x1, 0x2, 0x3, 0xa, 0xff, 0x0)");
    }
}
