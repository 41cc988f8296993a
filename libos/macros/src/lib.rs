//! Procedural macros of the library OS.
//!
//! - [`syscall_table!`]: one declaration of the system calls, grouped by
//!   topic, becomes the kernel's handler traits and dense dispatch tables,
//!   the strace-style tracer and the app's `syscall` stubs (used in
//!   `libos_abi::syscalls`).
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
//! Dependencies: `syn` (with `full`) parses the declared traits and
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

/// Declares the system call table: one declaration, grouped by topic,
/// yields the kernel's handler traits and dispatch tables and the app's
/// stubs.
///
/// The input is an optional `crate = <path of libos_abi>;` (default
/// `::libos_abi`; `crate = crate` inside that crate), then one trait per
/// topic, each with doc comments, whose items are `fn name(args) -> T;`,
/// each with doc comments and `#[nr = N]`. Arguments: at most six, of types
/// `i32`, `u32`, `i64`, `u64`, `usize`, `isize`, `UserPtr<T>` or
/// `UserPtrMut<T>` (for any `T`); return type: `()`, `usize`, `isize`,
/// `u64`, `i64`, `u32`, `i32` or `!`. A call declared `unsafe fn` has an
/// unsafe app stub (its docs then need a `# Safety` section, which stays off
/// the kernel's docs); a call taking a pointer always has one. Numbers must
/// be below 4096. A call marked `#[rewrites_frame]` may change its caller's
/// saved registers beyond RAX: its handler gets a
/// `libos_abi::dispatch::RewritesFrame` argument (no other can, so the
/// kernel's mutable registers take one), and its entry says so, so the
/// kernel checks the whole frame before SYSRET. A topic marked `#[hooks]`
/// holds test and benchmark hooks, not part of the ABI: its numbers must lie
/// above every other call's.
///
/// Generated (with the first topic's visibility): `mod nr` (one `u64`
/// constant per call, its name in upper case), `ABI_TABLE_LEN`,
/// `FIRST_HOOK`, `HOOKS_TABLE_LEN`, `syscall_name`, `is_hook`; the base
/// trait `Syscalls` (the kernel's `Context`, from which the table reads the
/// arguments through `libos_abi::dispatch::SyscallArgs`) and each topic as a
/// subtrait of it whose methods take a `cx: &mut Self::Context` first
/// argument and return `Result<T, Errno>`; `DispatchTable<K>` with `ABI`
/// (the ABI's topics) and `WITH_HOOKS` (all of them), each a
/// `libos_abi::dispatch::SyscallTable` whose `dispatch` runs a call;
/// `trace_call`, `trace_result`; and `mod user` and `mod user_hooks` (the
/// app's stubs, x86_64 only). `libos_abi::syscalls` shows the result.
///
/// ```
/// use libos_abi::dispatch::SyscallArgs;
/// use libos_abi::errno::Errno;
/// use libos_abi::user_ptr::UserPtr;
///
/// libos_macros::syscall_table! {
///     /// Output.
///     pub trait Io {
///         /// Writes `count` bytes of `buf` to `fd`; returns how many it wrote.
///         #[nr = 1]
///         fn write(fd: i32, buf: UserPtr<u8>, count: usize) -> usize;
///     }
///
///     /// Processes.
///     pub trait Process {
///         /// Returns the caller's id.
///         #[nr = 39]
///         fn getpid() -> i32;
///     }
/// }
///
/// /// The calling thread: its argument registers and a log.
/// struct Thread {
///     args: [u64; 6],
///     log: Vec<String>,
/// }
///
/// impl SyscallArgs for Thread {
///     fn arg(&self, index: usize) -> u64 {
///         self.args[index]
///     }
///     fn note_frame_rewritten(&mut self) {}
/// }
///
/// enum Kernel {}
///
/// impl Syscalls for Kernel {
///     type Context = Thread;
/// }
///
/// impl Io for Kernel {
///     fn write(t: &mut Thread, fd: i32, buf: UserPtr<u8>, count: usize) -> Result<usize, Errno> {
///         t.log.push(format!("fd {fd}, {count} bytes at {buf:?}"));
///         if buf.is_null() { Err(Errno::EFAULT) } else { Ok(count) }
///     }
/// }
///
/// impl Process for Kernel {
///     fn getpid(_t: &mut Thread) -> Result<i32, Errno> {
///         Ok(1)
///     }
/// }
///
/// fn main() {
///     let table = DispatchTable::<Kernel>::ABI;
///     let mut t = Thread { args: [1, 0x1000, 5, 0, 0, 0], log: Vec::new() };
///     assert_eq!(table.dispatch(&mut t, nr::WRITE), 5);
///     t.args[1] = 0;
///     assert_eq!(table.dispatch(&mut t, nr::WRITE), -14);
///     assert_eq!(table.dispatch(&mut t, 2), -(Errno::ENOSYS as i64));
///     assert_eq!(table.dispatch(&mut t, nr::GETPID), 1);
///     assert_eq!(t.log[0], "fd 1, 5 bytes at UserPtr(0x1000)");
///     assert_eq!(ABI_TABLE_LEN, 40);
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
/// libos_macros::syscall_table! {
///     /// Files.
///     pub trait Files {
///         /// Reads.
///         #[nr = 0]
///         fn read(fd: i32) -> usize;
///         /// Also reads.
///         #[nr = 0]
///         fn read_again(fd: i32) -> usize;
///     }
/// }
/// fn main() {}
/// ```
///
/// So is an argument type outside the list:
///
/// ```compile_fail
/// libos_macros::syscall_table! {
///     /// Files.
///     pub trait Files {
///         /// Opens.
///         #[nr = 2]
///         fn open(path: &str) -> i32;
///     }
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
///     libos_macros::syscall_table! {
///         /// Processes.
///         pub trait Process {
///             /// The process id.
///             #[nr = 39]
///             fn getpid() -> i32;
///             /// The thread id.
///             #[nr = 186]
///             fn gettid() -> i32;
///         }
///     }
/// }
///
/// struct Regs([u64; 6]);
/// impl libos_abi::dispatch::SyscallArgs for Regs {
///     fn arg(&self, index: usize) -> u64 { self.0[index] }
/// }
///
/// enum Kernel {}
///
/// impl table::Syscalls for Kernel {
///     type Context = Regs;
/// }
///
/// impl table::Process for Kernel {
///     fn gettid(_: &mut Regs) -> Result<i32, libos_abi::errno::Errno> {
///         Ok(1)
///     }
///     // `getpid` is missing.
/// }
/// # fn main() {}
/// ```
///
/// So does a handler with a wrong signature (E0053, "method has an
/// incompatible type for trait"):
///
/// ```compile_fail,E0053
/// libos_macros::syscall_table! {
///     /// Processes.
///     pub trait Process {
///         /// The process id.
///         #[nr = 39]
///         fn getpid() -> i32;
///     }
/// }
///
/// struct Regs([u64; 6]);
/// impl libos_abi::dispatch::SyscallArgs for Regs {
///     fn arg(&self, index: usize) -> u64 { self.0[index] }
/// }
///
/// enum Kernel {}
///
/// impl Syscalls for Kernel {
///     type Context = Regs;
/// }
///
/// impl Process for Kernel {
///     // Returns a u32 where the declaration says i32.
///     fn getpid(_: &mut Regs) -> Result<u32, libos_abi::errno::Errno> {
///         Ok(1)
///     }
/// }
/// # fn main() {}
/// ```
#[proc_macro]
pub fn syscall_table(input: TokenStream) -> TokenStream {
    output(syscall_table::expand(input.into()))
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
/// `libos` as a dependency. The test exists only in test builds (`libos`'s
/// `testing` feature, which `cargo xtask test` enables), as `#[cfg(test)]`
/// keeps a test out of other builds.
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
