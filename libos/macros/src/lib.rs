//! Procedural macros of the library OS.
//!
//! - [`macro@syscall_table`]: one trait declaration of the system calls
//!   becomes the kernel's handler trait and dense dispatch table, the
//!   strace-style tracer and the app's `syscall` stubs (used on
//!   `libos_abi::syscalls::Syscalls`).
//! - [`macro@kernel_test`] and [`macro@test`]: register a boot-time test of
//!   the kernel or of an app (as `#[libos::test]`) in the `.libos_tests` link
//!   section.
//! - [`macro@main`]: an app's `main` (as `#[libos::main]`).
//!
//! Each macro is a thin wrapper over a function from
//! [`proc_macro2::TokenStream`] to a `syn::Result<TokenStream>` in its own
//! module, so the expansion and its errors are unit-tested without a
//! compiler. Errors are reported together, each at the tokens it is about.
//!
//! Dependencies: `syn` (with `full`) parses the annotated trait and
//! functions, `quote` writes the expansion as templates, and `proc-macro2`
//! gives the token type the unit tests can use.

mod errors;
mod main_attr;
mod plain_fn;
mod syscall_table;
mod test_attr;

use proc_macro::TokenStream;

/// Turns a `syn::Result` into the macro's output: the tokens, or the errors
/// as `compile_error!`s.
fn output(result: syn::Result<proc_macro2::TokenStream>) -> TokenStream {
    result.unwrap_or_else(syn::Error::into_compile_error).into()
}

/// As [`output`], but on errors keeps the annotated function as written, so
/// that its uses do not add "not found" errors to the real ones.
fn output_or_item(result: syn::Result<proc_macro2::TokenStream>, item: proc_macro2::TokenStream) -> TokenStream {
    match result {
        Ok(tokens) => tokens.into(),
        Err(errors) => {
            let mut tokens = errors.into_compile_error();
            tokens.extend(item);
            tokens.into()
        }
    }
}

/// Declares the system call table: one trait yields the kernel's dispatch
/// table and the app's stubs.
///
/// On a trait whose items are `fn name(args) -> T;`, each with doc comments
/// and `#[nr = N]`. Arguments: at most six, of types `i32`, `u32`, `i64`,
/// `u64`, `usize`, `isize`, `UserPtr<T>` or `UserPtrMut<T>` (for any `T`);
/// return type: `()`, `usize`, `isize`, `u64`, `i64`, `u32`, `i32` or `!`.
/// A call declared `unsafe fn` has an unsafe app stub (its docs then need a
/// `# Safety` section, which stays off the kernel's docs); a call taking a
/// pointer always has one. Numbers must be below 4096.
///
/// Generated next to it (with the trait's visibility): `mod nr` (one
/// `u64` constant per call, its name in upper case), `SYSCALL_TABLE_LEN`,
/// `syscall_name`, the trait rewritten for the kernel (a `Context` type and
/// a `cx: &mut Self::Context` first argument; results as
/// `Result<T, Errno>`), `SyscallHandler`, `DispatchTable` (with `ENTRIES`),
/// `dispatch`, `trace_call`, `trace_result` and `mod user` (the app's stubs,
/// x86_64 only). `libos_abi::syscalls` shows the result.
///
/// The expansion names `libos-abi` as `::libos_abi`; inside that crate, pass
/// `#[syscall_table(crate = crate)]`.
///
/// ```
/// use libos_abi::errno::Errno;
/// use libos_abi::user_ptr::UserPtr;
///
/// /// A two-call table.
/// #[libos_macros::syscall_table]
/// pub trait Calls {
///     /// Writes `count` bytes of `buf` to `fd`; returns how many it wrote.
///     #[nr = 1]
///     fn write(fd: i32, buf: UserPtr<u8>, count: usize) -> usize;
///     /// Returns the caller's id.
///     #[nr = 39]
///     fn getpid() -> i32;
/// }
///
/// struct Kernel;
///
/// impl Calls for Kernel {
///     type Context = Vec<String>;
///
///     fn write(log: &mut Vec<String>, fd: i32, buf: UserPtr<u8>, count: usize) -> Result<usize, Errno> {
///         log.push(format!("fd {fd}, {count} bytes at {buf:?}"));
///         if buf.is_null() { Err(Errno::EFAULT) } else { Ok(count) }
///     }
///
///     fn getpid(_log: &mut Vec<String>) -> Result<i32, Errno> {
///         Ok(1)
///     }
/// }
///
/// fn main() {
///     let mut log = Vec::new();
///     assert_eq!(dispatch::<Kernel>(&mut log, nr::WRITE, &[1, 0x1000, 5, 0, 0, 0]), 5);
///     assert_eq!(dispatch::<Kernel>(&mut log, nr::WRITE, &[1, 0, 5, 0, 0, 0]), -14);
///     assert_eq!(dispatch::<Kernel>(&mut log, 2, &[0; 6]), -(Errno::ENOSYS as i64));
///     assert_eq!(log[0], "fd 1, 5 bytes at UserPtr(0x1000)");
///     assert_eq!(SYSCALL_TABLE_LEN, 40);
///     assert_eq!(syscall_name(39), Some("getpid"));
///
///     let mut line = String::new();
///     trace_call(nr::WRITE, &[1, 0x1000, 5, 0, 0, 0], &mut line).unwrap();
///     trace_result(nr::WRITE, -14, &mut line).unwrap();
///     assert_eq!(line, "write(1, 0x1000, 5) = -1 EFAULT (Bad address)");
/// }
/// ```
///
/// Two calls with one number are an error of the macro:
///
/// ```compile_fail
/// /// Calls.
/// #[libos_macros::syscall_table]
/// pub trait Calls {
///     /// Reads.
///     #[nr = 0]
///     fn read(fd: i32) -> usize;
///     /// Also reads.
///     #[nr = 0]
///     fn read_again(fd: i32) -> usize;
/// }
/// fn main() {}
/// ```
///
/// So is an argument type outside the list:
///
/// ```compile_fail
/// /// Calls.
/// #[libos_macros::syscall_table]
/// pub trait Calls {
///     /// Opens.
///     #[nr = 2]
///     fn open(path: &str) -> i32;
/// }
/// fn main() {}
/// ```
///
/// A kernel that leaves out a handler does not compile (rustc's E0046, "not
/// all trait items implemented"); here `getpid` is missing, and adding it
/// makes the example compile:
///
/// ```compile_fail,E0046
/// mod table {
///     use libos_abi::errno::Errno;
///     use libos_abi::user_ptr::UserPtr;
///
///     #[libos_macros::syscall_table]
///     pub trait Syscalls {
///         /// Writes.
///         #[nr = 1]
///         fn write(fd: i32, buf: UserPtr<u8>, count: usize) -> usize;
///         /// The process id.
///         #[nr = 39]
///         fn getpid() -> i32;
///     }
/// }
///
/// enum Kernel {}
///
/// impl table::Syscalls for Kernel {
///     type Context = ();
///
///     fn write(_: &mut (), _fd: i32, _buf: libos_abi::user_ptr::UserPtr<u8>, count: usize) -> Result<usize, libos_abi::errno::Errno> {
///         Ok(count)
///     }
///     // `getpid` is missing.
/// }
/// # fn main() {}
/// ```
#[proc_macro_attribute]
pub fn syscall_table(attr: TokenStream, item: TokenStream) -> TokenStream {
    output(syscall_table::expand(attr.into(), item.into()))
}

/// Registers a boot-time test of the kernel.
///
/// On `fn name()` (no arguments, not generic, not async, returning `()`).
/// Arguments: none (the test must return), `should_panic`,
/// `should_panic = "text"` (the panic message must contain `text`; also
/// `should_panic(expected = "text")`) or `expect_fault = NAME`, where `NAME`
/// is an exception mnemonic: `DE DB NMI BP OF BR UD NM DF TS NP SS GP PF MF
/// AC MC XM VE CP` (vectors 0 to 21 less the reserved 9 and 15).
///
/// Keeps the function and adds a `#[used]` static `libos_abi::test::TestCase`
/// in the `.libos_tests` link section, named
/// `"<module path>::<function>"`.
///
/// ```
/// #[libos_macros::kernel_test]
/// fn adds() {
///     assert_eq!(1 + 1, 2);
/// }
///
/// #[libos_macros::kernel_test(expect_fault = PF)]
/// fn reads_null() {
///     // ...
/// }
///
/// #[libos_macros::kernel_test(should_panic = "overflow")]
/// fn overflows() {
///     panic!("overflow");
/// }
/// # fn main() { adds(); }
/// ```
///
/// An unknown mnemonic is an error that lists the valid ones:
///
/// ```compile_fail
/// #[libos_macros::kernel_test(expect_fault = SEGV)]
/// fn faults() {}
/// # fn main() {}
/// ```
#[proc_macro_attribute]
pub fn kernel_test(attr: TokenStream, item: TokenStream) -> TokenStream {
    output(test_attr::expand(attr.into(), item.into(), test_attr::Flavor::Kernel))
}

/// Registers a test of an app: `#[libos::test]`, re-exported by the `libos`
/// crate.
///
/// The same arguments and checks as [`macro@kernel_test`]; the record's
/// types are named through `::libos::__private::abi`, so the app needs only
/// `libos` as a dependency.
#[proc_macro_attribute]
pub fn test(attr: TokenStream, item: TokenStream) -> TokenStream {
    output(test_attr::expand(attr.into(), item.into(), test_attr::Flavor::App))
}

/// Marks an app's `main`: `#[libos::main]`, re-exported by the `libos` crate.
///
/// On `fn main()` or `fn main() -> T` (no arguments, not generic, not
/// async). Keeps the function and exports `__libos_main`, which the `libos`
/// runtime calls; it reports `main`'s result through
/// `libos::rt::Termination` as the exit code.
#[proc_macro_attribute]
pub fn main(attr: TokenStream, item: TokenStream) -> TokenStream {
    let item = proc_macro2::TokenStream::from(item);
    output_or_item(main_attr::expand(attr.into(), item.clone()), item)
}
