//! `#[syscall_table]`: one trait declaration expands to the kernel's trait and
//! dispatch table, the tracer and the app's stubs.
//!
//! The work is split in two: [`parse`] checks the declaration and turns it
//! into a [`Table`] (collecting every error it finds, each spanned at the
//! offending tokens), and [`generate`] writes the expansion from the
//! [`Table`] with one function per generated item.

use std::collections::{HashMap, HashSet};

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::errors::Errors;
use syn::{
    Attribute, Expr, ExprLit, FnArg, GenericArgument, Ident, ItemTrait, Lit, Pat, Path, PathArguments, ReturnType,
    TraitItem, TraitItemFn, Type, Visibility,
};

/// System call numbers must be below this, so the dense table stays small
/// (4096 entries of 8 bytes at most).
pub(crate) const MAX_NR: u64 = 4096;

/// At most six arguments fit in the convention's registers.
pub(crate) const MAX_ARGS: usize = 6;

/// The registers that carry the arguments, in order (for messages).
const ARG_REGISTERS: &str = "RDI, RSI, RDX, R10, R8, R9";

/// The argument types the macro accepts (for messages).
const SUPPORTED_ARGS: &str = "i32, u32, i64, u64, usize, isize, UserPtr<T> and UserPtrMut<T>";

/// The return types the macro accepts (for messages).
const SUPPORTED_RETS: &str = "(), usize, isize, u64, i64, u32, i32 and !";

/// Integer types allowed as arguments and as return types.
const INTEGERS: [&str; 6] = ["i32", "u32", "i64", "u64", "usize", "isize"];

/// Parameter names the expansion uses itself.
const RESERVED_NAMES: [&str; 2] = ["cx", "regs"];

/// The checked declaration.
pub(crate) struct Table {
    /// Path of the `libos-abi` crate in the expansion (`crate` inside it).
    krate: Path,
    /// Visibility of the declared trait, given to every generated item.
    vis: Visibility,
    /// The trait's name (`Syscalls`).
    name: Ident,
    /// The trait's attributes (its docs).
    attrs: Vec<Attribute>,
    /// The system calls, in declaration order.
    calls: Vec<Call>,
}

/// One declared system call.
struct Call {
    /// Its name (`write`).
    name: Ident,
    /// Its number.
    nr: u64,
    /// The docs outside any `# Safety` section.
    docs: Vec<Attribute>,
    /// The lines of the docs' `# Safety` section, if any.
    safety: Vec<String>,
    /// Declared `unsafe fn`: the app's stub is unsafe even without pointers.
    unsafe_for_app: bool,
    /// Its arguments.
    args: Vec<Arg>,
    /// Its success type.
    ret: Ret,
}

impl Call {
    /// The `nr` module's constant for this call (`WRITE`).
    fn const_name(&self) -> Ident {
        format_ident!("{}", self.name.to_string().to_uppercase())
    }

    /// Whether the app's stub must be `unsafe fn`.
    fn user_unsafe(&self) -> bool {
        self.unsafe_for_app || self.args.iter().any(|a| !matches!(a.kind, ArgKind::Int))
    }
}

/// One argument.
struct Arg {
    /// Its name.
    name: Ident,
    /// Its declared (kernel-side) type.
    ty: Type,
    /// What kind of type it is.
    kind: ArgKind,
}

/// The kinds of argument types.
enum ArgKind {
    /// One of [`INTEGERS`].
    Int,
    /// `UserPtr<T>`: the app passes `*const T`.
    Ptr(Type),
    /// `UserPtrMut<T>`: the app passes `*mut T`.
    PtrMut(Type),
}

/// The success type of a call.
enum Ret {
    /// `()` (or no return type).
    Unit,
    /// One of [`INTEGERS`].
    Int(Box<Type>),
    /// `!`: the call does not return.
    Never,
}

/// Expands `#[syscall_table(attr)] item`.
pub(crate) fn expand(attr: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let krate = parse_attr(attr)?;
    let item: ItemTrait = syn::parse2(item)?;
    let table = parse(krate, item)?;
    Ok(generate(&table))
}

/// The attribute's arguments: nothing, or `crate = <path>` (the path of
/// `libos-abi`; default `::libos_abi`).
fn parse_attr(attr: TokenStream) -> syn::Result<Path> {
    let mut krate: Path = syn::parse_quote!(::libos_abi);
    let parser = syn::meta::parser(|meta| {
        if meta.path.is_ident("crate") {
            krate = meta.value()?.parse()?;
            Ok(())
        } else {
            Err(meta.error("unsupported argument; the only one is `crate = <path of libos_abi>`"))
        }
    });
    syn::parse::Parser::parse2(parser, attr)?;
    Ok(krate)
}

/// Checks the declaration; all the errors found, combined, on failure.
pub(crate) fn parse(krate: Path, item: ItemTrait) -> syn::Result<Table> {
    let mut errors = Errors::default();
    if let Some(unsafety) = item.unsafety {
        errors.at(unsafety, "the syscall table trait must not be `unsafe`");
    }
    if let Some(auto) = item.auto_token {
        errors.at(auto, "the syscall table trait must not be `auto`");
    }
    if !item.generics.params.is_empty() || item.generics.where_clause.is_some() {
        errors.at(&item.generics, "the syscall table trait takes no generics");
    }
    if !item.supertraits.is_empty() {
        errors.at(&item.supertraits, "the syscall table trait takes no supertraits");
    }

    let mut calls: Vec<Call> = Vec::new();
    let mut by_nr: HashMap<u64, Ident> = HashMap::new();
    let mut by_name: HashSet<String> = HashSet::new();
    for trait_item in item.items {
        let TraitItem::Fn(f) = trait_item else {
            errors.at(trait_item, "the syscall table declares only functions (`fn name(args) -> T;`)");
            continue;
        };
        let call = match parse_call(f) {
            Ok(call) => call,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        let key = call.name.to_string();
        if by_name.contains(&key) {
            errors.push(syn::Error::new(call.name.span(), format!("syscall `{key}` is declared twice")));
            continue;
        }
        if let Some(first) = by_nr.get(&call.nr) {
            let message = format!("syscall number {} is declared twice: `{}` and `{}`", call.nr, first, call.name);
            errors.push(syn::Error::new(call.name.span(), message));
            continue;
        }
        by_name.insert(key);
        by_nr.insert(call.nr, call.name.clone());
        calls.push(call);
    }
    if calls.is_empty() && errors.is_empty() {
        errors.at(&item.ident, "the syscall table declares no syscall");
    }
    errors.finish(|| Table { krate, vis: item.vis, name: item.ident, attrs: item.attrs, calls })
}

/// Checks one declared function.
fn parse_call(f: TraitItemFn) -> syn::Result<Call> {
    let sig = &f.sig;
    let name = sig.ident.clone();
    let mut errors = Errors::default();

    if let Some(body) = &f.default {
        errors.at(body, format!("syscall `{name}` must not have a body: the kernel implements it"));
    }
    if let Some(constness) = &sig.constness {
        errors.at(constness, format!("syscall `{name}` must not be `const`"));
    }
    if let Some(asyncness) = &sig.asyncness {
        errors.at(asyncness, format!("syscall `{name}` must not be `async`"));
    }
    if let Some(abi) = &sig.abi {
        errors.at(abi, format!("syscall `{name}` must not declare an ABI"));
    }
    if let Some(variadic) = &sig.variadic {
        errors.at(variadic, format!("syscall `{name}` must not be variadic"));
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        errors.at(&sig.generics, format!("syscall `{name}` must not be generic: arguments travel as plain registers"));
    }

    // Attributes: docs and exactly one `#[nr = N]`.
    let mut nr = None;
    let mut docs = Vec::new();
    for attr in &f.attrs {
        if attr.path().is_ident("doc") {
            docs.push(attr.clone());
        } else if attr.path().is_ident("nr") {
            if nr.is_some() {
                errors.at(attr, format!("syscall `{name}` has more than one `#[nr = N]`"));
                continue;
            }
            match parse_nr(attr) {
                Ok(n) => nr = Some(n),
                Err(e) => errors.push(e),
            }
        } else {
            errors.at(
                attr,
                format!("unsupported attribute on syscall `{name}`; only doc comments and `#[nr = N]` are allowed"),
            );
        }
    }
    if nr.is_none() && !f.attrs.iter().any(|a| a.path().is_ident("nr")) {
        errors.at(
            &sig.ident,
            format!(
                "syscall `{name}` has no number: add `#[nr = N]` (the Linux x86_64 number where Linux has the call)"
            ),
        );
    }
    let (docs, safety) = split_docs(docs);
    if !docs.iter().any(has_text) {
        errors.at(
            &sig.ident,
            format!("syscall `{name}` has no doc comment: say what it does and what this kernel supports"),
        );
    }
    let unsafe_for_app = sig.unsafety.is_some();

    // Arguments.
    let mut args = Vec::new();
    if sig.inputs.len() > MAX_ARGS {
        errors.at(
            &sig.inputs,
            format!(
                "syscall `{name}` takes {} arguments; at most {MAX_ARGS} fit in registers ({ARG_REGISTERS})",
                sig.inputs.len()
            ),
        );
    }
    for input in &sig.inputs {
        match input {
            FnArg::Receiver(receiver) => errors.at(
                receiver,
                format!("syscall `{name}` must not take `self`: declare `fn {name}(args...)`; the kernel's handlers get their context as a first argument the macro adds"),
            ),
            FnArg::Typed(typed) => {
                let arg_name = match &*typed.pat {
                    Pat::Ident(p) if p.by_ref.is_none() && p.mutability.is_none() && p.subpat.is_none() => p.ident.clone(),
                    other => {
                        errors.at(other, format!("syscall `{name}`: arguments must be plain names"));
                        continue;
                    }
                };
                if RESERVED_NAMES.iter().any(|r| arg_name == r) {
                    errors.at(&arg_name, format!("argument name `{arg_name}` is reserved for the expansion; choose another"));
                    continue;
                }
                if !typed.attrs.is_empty() {
                    errors.at(&typed.attrs[0], format!("syscall `{name}`: arguments take no attributes"));
                }
                match arg_kind(&typed.ty) {
                    Some(kind) => args.push(Arg {
                        name: arg_name,
                        ty: (*typed.ty).clone(),
                        kind,
                    }),
                    None => errors.at(&typed.ty, unsupported_arg_message(&typed.ty)),
                }
            }
        }
    }

    // Return type.
    let ret = match &sig.output {
        ReturnType::Default => Some(Ret::Unit),
        ReturnType::Type(_, ty) => ret_kind(ty),
    };
    if ret.is_none() {
        errors.at(
            &sig.output,
            format!("unsupported syscall return type; supported types are {SUPPORTED_RETS} (the handler returns `Result<T, Errno>` for these, except `!`)"),
        );
    }

    let safety_allowed = unsafe_for_app || args.iter().any(|a| !matches!(a.kind, ArgKind::Int));
    if unsafe_for_app && !safety.iter().any(|l| !l.trim().is_empty()) {
        errors.at(
            sig.unsafety,
            format!(
                "unsafe syscall `{name}` needs a `# Safety` section in its docs saying what the app must guarantee"
            ),
        );
    }
    if !safety.is_empty() && !safety_allowed {
        errors.at(&sig.ident, format!("syscall `{name}` has a `# Safety` section but its app stub is safe; declare it `unsafe fn` if the app must uphold something"));
    }

    errors.finish(|| Call {
        name,
        nr: nr.unwrap_or_default(),
        docs,
        safety,
        unsafe_for_app,
        args,
        ret: ret.unwrap_or(Ret::Unit),
    })
}

/// The number in `#[nr = N]`.
fn parse_nr(attr: &Attribute) -> syn::Result<u64> {
    let value = match &attr.meta {
        syn::Meta::NameValue(nv) => &nv.value,
        other => {
            return Err(syn::Error::new_spanned(other, "expected `#[nr = N]` with an integer N"));
        }
    };
    let Expr::Lit(ExprLit { lit: Lit::Int(lit), .. }) = value else {
        return Err(syn::Error::new_spanned(value, "expected an integer literal: `#[nr = N]`"));
    };
    let n: u64 = lit.base10_parse()?;
    if n >= MAX_NR {
        return Err(syn::Error::new_spanned(
            lit,
            format!("syscall number {n} is too large: numbers must be below {MAX_NR} (the dispatch table is dense)"),
        ));
    }
    Ok(n)
}

/// Whether a doc attribute has some text (a non-literal doc counts).
fn has_text(attr: &Attribute) -> bool {
    doc_line(attr).is_none_or(|s| !s.trim().is_empty())
}

/// The text of `#[doc = "..."]`, or `None` for another form.
fn doc_line(attr: &Attribute) -> Option<String> {
    match &attr.meta {
        syn::Meta::NameValue(nv) => match &nv.value {
            Expr::Lit(ExprLit { lit: Lit::Str(s), .. }) => Some(s.value()),
            _ => None,
        },
        _ => None,
    }
}

/// Splits docs into the lines outside a `# Safety` section (kept as
/// attributes) and the section's lines (heading excluded).
fn split_docs(docs: Vec<Attribute>) -> (Vec<Attribute>, Vec<String>) {
    let mut kept = Vec::new();
    let mut safety = Vec::new();
    let mut in_safety = false;
    for attr in docs {
        let line = doc_line(&attr);
        let heading = line.as_deref().map(str::trim).filter(|l| l.starts_with("# "));
        if let Some(heading) = heading {
            in_safety = heading == "# Safety";
            if in_safety {
                continue;
            }
        }
        match (in_safety, line) {
            (true, Some(line)) => safety.push(line),
            _ => kept.push(attr),
        }
    }
    (kept, safety)
}

/// The last segment of a plain path type with no `qself`.
fn last_segment(ty: &Type) -> Option<&syn::PathSegment> {
    match ty {
        Type::Path(p) if p.qself.is_none() => p.path.segments.last(),
        Type::Group(g) => last_segment(&g.elem),
        Type::Paren(p) => last_segment(&p.elem),
        _ => None,
    }
}

/// The single type argument of a segment like `UserPtr<T>`.
fn single_type_arg(segment: &syn::PathSegment) -> Option<Type> {
    let PathArguments::AngleBracketed(args) = &segment.arguments else {
        return None;
    };
    match args.args.first() {
        Some(GenericArgument::Type(ty)) if args.args.len() == 1 => Some(ty.clone()),
        _ => None,
    }
}

/// The kind of an argument type, or `None` when it is not allowed.
fn arg_kind(ty: &Type) -> Option<ArgKind> {
    let segment = last_segment(ty)?;
    let ident = segment.ident.to_string();
    if INTEGERS.contains(&ident.as_str()) && segment.arguments.is_empty() && is_single_segment(ty) {
        return Some(ArgKind::Int);
    }
    match ident.as_str() {
        "UserPtr" => single_type_arg(segment).map(ArgKind::Ptr),
        "UserPtrMut" => single_type_arg(segment).map(ArgKind::PtrMut),
        _ => None,
    }
}

/// Whether a type is a one-segment path (`usize`, not `foo::usize`).
fn is_single_segment(ty: &Type) -> bool {
    match ty {
        Type::Path(p) => p.path.leading_colon.is_none() && p.path.segments.len() == 1,
        Type::Group(g) => is_single_segment(&g.elem),
        Type::Paren(p) => is_single_segment(&p.elem),
        _ => false,
    }
}

/// The message for an argument type that is not allowed.
fn unsupported_arg_message(ty: &Type) -> String {
    let hint = match ty {
        Type::Ptr(_) | Type::Reference(_) => {
            "; a pointer into app memory is `UserPtr<T>` (the kernel reads) or `UserPtrMut<T>` (the kernel writes)"
        }
        _ => "",
    };
    format!("unsupported syscall argument type; supported types are {SUPPORTED_ARGS}{hint}")
}

/// The kind of a return type, or `None` when it is not allowed.
fn ret_kind(ty: &Type) -> Option<Ret> {
    match ty {
        Type::Never(_) => Some(Ret::Never),
        Type::Tuple(t) if t.elems.is_empty() => Some(Ret::Unit),
        Type::Group(g) => ret_kind(&g.elem),
        Type::Paren(p) => ret_kind(&p.elem),
        _ => {
            let segment = last_segment(ty)?;
            let ident = segment.ident.to_string();
            (INTEGERS.contains(&ident.as_str()) && segment.arguments.is_empty() && is_single_segment(ty))
                .then(|| Ret::Int(Box::new(ty.clone())))
        }
    }
}

/// Writes the whole expansion.
pub(crate) fn generate(table: &Table) -> TokenStream {
    let parts = [
        gen_nr_module(table),
        gen_names(table),
        gen_trait(table),
        gen_dispatch(table),
        gen_trace(table),
        gen_user(table),
    ];
    quote!(#(#parts)*)
}

/// The table's length: the highest number plus one.
fn table_len(table: &Table) -> usize {
    let max = table.calls.iter().map(|c| c.nr).max().unwrap_or(0);
    usize::try_from(max).expect("numbers are below MAX_NR") + 1
}

/// `mod nr` and `SYSCALL_TABLE_LEN`.
fn gen_nr_module(table: &Table) -> TokenStream {
    let vis = &table.vis;
    let trait_name = &table.name;
    let consts = table.calls.iter().map(|call| {
        let const_name = call.const_name();
        let nr = call.nr;
        let doc = format!("Number of [`{name}`](super::{trait_name}::{name}).", name = call.name);
        quote! {
            #[doc = #doc]
            pub const #const_name: u64 = #nr;
        }
    });
    let len = table_len(table);
    let module_doc = format!("The system call numbers, one per method of [`{trait_name}`](super::{trait_name}).");
    quote! {
        #[doc = #module_doc]
        #vis mod nr {
            #(#consts)*
        }

        /// Entries in the dense dispatch table: the highest system call number
        /// plus one.
        #vis const SYSCALL_TABLE_LEN: usize = #len;
    }
}

/// `syscall_name`.
fn gen_names(table: &Table) -> TokenStream {
    let vis = &table.vis;
    let arms = table.calls.iter().map(|call| {
        let const_name = call.const_name();
        let name = call.name.to_string();
        quote!(nr::#const_name => ::core::option::Option::Some(#name),)
    });
    quote! {
        /// The name of system call `nr` (`"write"` for 1), for tracing;
        /// `None` when the table does not declare it.
        #vis fn syscall_name(nr: u64) -> ::core::option::Option<&'static str> {
            match nr {
                #(#arms)*
                _ => ::core::option::Option::None,
            }
        }
    }
}

/// The kernel-side trait.
fn gen_trait(table: &Table) -> TokenStream {
    let Table { krate, vis, name, attrs, .. } = table;
    let methods = table.calls.iter().map(|call| {
        let Call { name, docs, .. } = call;
        let params = std::iter::once(quote!(cx: &mut Self::Context))
            .chain(call.args.iter().map(|Arg { name, ty, .. }| quote!(#name: #ty)));
        let ret = match &call.ret {
            Ret::Unit => quote!(::core::result::Result<(), #krate::errno::Errno>),
            Ret::Int(ty) => quote!(::core::result::Result<#ty, #krate::errno::Errno>),
            Ret::Never => quote!(!),
        };
        quote! {
            #(#docs)*
            fn #name(#(#params),*) -> #ret;
        }
    });
    quote! {
        #(#attrs)*
        #vis trait #name {
            /// What every handler gets as its first argument: the kernel's
            /// state for the calling task.
            type Context;

            #(#methods)*
        }
    }
}

/// `SyscallHandler`, `DispatchTable` and `dispatch`.
fn gen_dispatch(table: &Table) -> TokenStream {
    let Table { krate, vis, name: trait_name, .. } = table;
    let errno = quote!(#krate::errno::Errno);
    let entries = table.calls.iter().map(|call| {
        let name = &call.name;
        let const_name = call.const_name();
        quote! {
            entries[nr::#const_name as usize] = ::core::option::Option::Some(Self::#name as SyscallHandler<K::Context>);
        }
    });
    let thunks = table.calls.iter().map(|call| {
        let name = &call.name;
        let regs = if call.args.is_empty() { quote!(_regs) } else { quote!(regs) };
        let conversions = call.args.iter().enumerate().map(|(i, Arg { name, ty, .. })| {
            quote! {
                let #name = match <#ty as #krate::syscall_arg::SyscallArg>::from_raw(regs[#i]) {
                    ::core::result::Result::Ok(value) => value,
                    ::core::result::Result::Err(errno) => return errno.to_ret(),
                };
            }
        });
        let handler_args = std::iter::once(format_ident!("cx")).chain(call.args.iter().map(|a| a.name.clone()));
        let call_handler = quote!(K::#name(#(#handler_args),*));
        let body = match call.ret {
            Ret::Never => call_handler,
            _ => quote!(#krate::syscall_arg::encode_result(#call_handler)),
        };
        let doc = format!("Decodes the registers for [`{trait_name}::{name}`] and encodes its result.");
        quote! {
            #[doc = #doc]
            fn #name(cx: &mut K::Context, #regs: &[u64; 6]) -> i64 {
                #(#conversions)*
                #body
            }
        }
    });
    let struct_doc = format!(
        "The dense dispatch table for a kernel type `K` implementing [`{trait_name}`]: \
         [`DispatchTable::ENTRIES`] has one entry per number below [`SYSCALL_TABLE_LEN`], \
         `None` for the numbers no syscall has."
    );
    quote! {
        /// A handler in the dispatch table: the context, the six argument
        /// registers (RDI, RSI, RDX, R10, R8, R9), and the raw result for RAX
        /// (`-errno` on failure).
        #vis type SyscallHandler<C> = fn(&mut C, &[u64; 6]) -> i64;

        #[doc = #struct_doc]
        #vis struct DispatchTable<K>(::core::marker::PhantomData<fn() -> K>);

        impl<K: #trait_name> DispatchTable<K> {
            /// The handlers indexed by system call number. A constant, so a
            /// kernel can copy it into a `static` and index it from its
            /// system call entry path.
            pub const ENTRIES: [::core::option::Option<SyscallHandler<K::Context>>; SYSCALL_TABLE_LEN] = {
                let mut entries: [::core::option::Option<SyscallHandler<K::Context>>; SYSCALL_TABLE_LEN] =
                    [::core::option::Option::None; SYSCALL_TABLE_LEN];
                #(#entries)*
                entries
            };

            #(#thunks)*
        }

        /// Runs system call `nr` with the six argument registers `args` on
        /// `K`'s handler and returns the raw result for RAX: the value,
        /// `-errno` for an error, and `-ENOSYS` for a number the table does not
        /// declare (holes, `SYSCALL_TABLE_LEN` and beyond). The same lookup as
        /// indexing [`DispatchTable::ENTRIES`].
        #vis fn dispatch<K: #trait_name>(cx: &mut K::Context, nr: u64, args: &[u64; 6]) -> i64 {
            let entries = const { &DispatchTable::<K>::ENTRIES };
            match usize::try_from(nr).ok().and_then(|index| entries.get(index)) {
                ::core::option::Option::Some(::core::option::Option::Some(handler)) => handler(cx, args),
                _ => #errno::ENOSYS.to_ret(),
            }
        }
    }
}

/// `trace_call` and `trace_result`.
fn gen_trace(table: &Table) -> TokenStream {
    let Table { krate, vis, .. } = table;
    let sa = quote!(#krate::syscall_arg);
    let call_arms = table.calls.iter().map(|call| {
        let const_name = call.const_name();
        let open = format!("{}(", call.name);
        let args = call.args.iter().enumerate().map(|(i, Arg { ty, .. })| {
            let separator = (i > 0).then(|| quote!(out.write_str(", ")?;));
            quote! {
                #separator
                <#ty as #sa::SyscallArg>::trace(args[#i], out)?;
            }
        });
        quote! {
            nr::#const_name => {
                out.write_str(#open)?;
                #(#args)*
                out.write_str(")")
            }
        }
    });
    let result_arms = table.calls.iter().map(|call| {
        let const_name = call.const_name();
        let body = match &call.ret {
            Ret::Unit => quote!(#sa::trace_ret::<()>(ret, out)),
            Ret::Int(ty) => quote!(#sa::trace_ret::<#ty>(ret, out)),
            Ret::Never => quote!(out.write_str(" = ?")),
        };
        quote!(nr::#const_name => #body,)
    });
    quote! {
        /// Writes a call as strace does, each argument formatted by its
        /// type: `write(1, 0x400120, 14)`. A number the table does not
        /// declare shows as `syscall_1234(...)` with the six registers in hex.
        #vis fn trace_call(nr: u64, args: &[u64; 6], out: &mut dyn ::core::fmt::Write) -> ::core::fmt::Result {
            match nr {
                #(#call_arms)*
                _ => #sa::trace_unknown_call(nr, args, out),
            }
        }

        /// Writes the result of call `nr` as strace does: ` = 14`, or
        /// ` = -1 EFAULT (Bad address)` for an error (` = ?` for a call that
        /// does not return).
        #vis fn trace_result(nr: u64, ret: i64, out: &mut dyn ::core::fmt::Write) -> ::core::fmt::Result {
            match nr {
                #(#result_arms)*
                _ => #sa::trace_ret::<i64>(ret, out),
            }
        }
    }
}

/// The safety text of a stub for its pointer arguments.
fn pointer_safety(call: &Call) -> Vec<String> {
    call.args
        .iter()
        .filter_map(|arg| {
            let name = &arg.name;
            match arg.kind {
                ArgKind::Int => None,
                ArgKind::Ptr(_) => Some(format!(
                    " `{name}` must be valid for reads of the memory this call reads through it \
                     (see above), and nothing may write that memory during the call."
                )),
                ArgKind::PtrMut(_) => Some(format!(
                    " `{name}` must be valid for writes of the memory this call writes through it \
                     (see above), and no reference may point into that memory during the call: \
                     the kernel checks the address and fails with `EFAULT` where the app has no \
                     access, but writing memory that Rust considers immutable is undefined behaviour."
                )),
            }
        })
        .collect()
}

/// `mod user`: the app's stubs.
fn gen_user(table: &Table) -> TokenStream {
    let Table { krate, vis, name: trait_name, .. } = table;
    let sa = quote!(#krate::syscall_arg);
    let stubs = table.calls.iter().map(|call| {
        let Call { name, docs, .. } = call;
        let const_name = call.const_name();
        let params = call.args.iter().map(|Arg { name, kind, ty }| match kind {
            ArgKind::Int => quote!(#name: #ty),
            ArgKind::Ptr(target) => quote!(#name: *const #target),
            ArgKind::PtrMut(target) => quote!(#name: *mut #target),
        });
        let raw_args = std::iter::once(quote!(super::nr::#const_name))
            .chain(call.args.iter().map(|Arg { name, ty, .. }| quote!(<#ty as #sa::SyscallArg>::to_raw(#name))));
        let count = call.args.len();
        let see =
            format!(" The system call [`{trait_name}::{name}`](super::{trait_name}::{name}) (number {}).", call.nr);

        let mut safety: Vec<String> = call.safety.clone();
        safety.extend(pointer_safety(call));
        let safety_docs = (!safety.is_empty()).then(|| {
            quote! {
                #[doc = ""]
                #[doc = " # Safety"]
                #[doc = ""]
                #(#[doc = #safety])*
            }
        });
        let unsafety = call.user_unsafe().then(|| quote!(unsafe));

        // SAFETY (of the `unsafe` blocks written below): a stub is an
        // `unsafe fn` whose `# Safety` section is the raw call's contract
        // whenever the call takes a pointer or is declared `unsafe fn`; every
        // other call is one the declaration vouches for as sound with any
        // argument values (it touches no app memory and no mapping Rust
        // relies on), which is the raw helpers' whole contract.
        match call.ret {
            Ret::Never => {
                let raw_fn = format_ident!("syscall{}_noreturn", count);
                quote! {
                    #(#docs)*
                    #[doc = ""]
                    #[doc = #see]
                    #safety_docs
                    #[inline(always)]
                    pub #unsafety fn #name(#(#params),*) -> ! {
                        unsafe { #sa::raw::#raw_fn(#(#raw_args),*) }
                    }
                }
            }
            ref ret => {
                let raw_fn = format_ident!("syscall{}", count);
                let ok = match ret {
                    Ret::Int(ty) => quote!(#ty),
                    _ => quote!(()),
                };
                quote! {
                    #(#docs)*
                    #[doc = ""]
                    #[doc = #see]
                    #[doc = " Fails with the error the kernel returns."]
                    #safety_docs
                    #[inline(always)]
                    pub #unsafety fn #name(#(#params),*) -> ::core::result::Result<#ok, #krate::errno::Errno> {
                        let ret = unsafe { #sa::raw::#raw_fn(#(#raw_args),*) };
                        #sa::decode_result::<#ok>(ret)
                    }
                }
            }
        }
    });
    quote! {
        /// The app side: one function per system call, taking raw pointers
        /// where the kernel side takes `UserPtr`/`UserPtrMut`, returning the
        /// decoded result. Each is the `syscall` instruction inline, with the
        /// Linux x86_64 convention.
        #[cfg(target_arch = "x86_64")]
        #vis mod user {
            #[allow(unused_imports)]
            use super::*;

            #(#stubs)*
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expands `#[syscall_table(crate = crate)]` on `item`.
    fn expand_ok(item: TokenStream) -> syn::File {
        let out = expand(quote!(crate = crate), item).unwrap_or_else(|e| panic!("expansion failed: {e}"));
        syn::parse2(out).expect("the expansion parses as items")
    }

    /// The messages of the errors `#[syscall_table]` gives for `item`.
    fn errors(item: TokenStream) -> Vec<String> {
        match expand(TokenStream::new(), item) {
            Ok(_) => panic!("expansion succeeded"),
            Err(e) => e.into_iter().map(|e| e.to_string()).collect(),
        }
    }

    /// Asserts one of `messages` contains `needle`.
    fn assert_has(messages: &[String], needle: &str) {
        assert!(messages.iter().any(|m| m.contains(needle)), "no error contains {needle:?}: {messages:#?}");
    }

    fn sample() -> TokenStream {
        quote! {
            /// The calls.
            pub trait Syscalls {
                /// Writes bytes.
                #[nr = 1]
                fn write(fd: i32, buf: UserPtr<u8>, count: usize) -> usize;
                /// Yields.
                #[nr = 24]
                fn sched_yield();
                /// Unmaps.
                ///
                /// # Safety
                ///
                /// Nothing may live there.
                #[nr = 11]
                unsafe fn munmap(addr: usize, length: usize) -> ();
                /// Ends the task.
                #[nr = 60]
                fn exit(code: i32) -> !;
            }
        }
    }

    fn find<'a>(file: &'a syn::File, name: &str) -> &'a syn::Item {
        file.items
            .iter()
            .find(|item| {
                let ident = match item {
                    syn::Item::Mod(m) => &m.ident,
                    syn::Item::Const(c) => &c.ident,
                    syn::Item::Fn(f) => &f.sig.ident,
                    syn::Item::Trait(t) => &t.ident,
                    syn::Item::Type(t) => &t.ident,
                    syn::Item::Struct(s) => &s.ident,
                    _ => return false,
                };
                ident == name
            })
            .unwrap_or_else(|| panic!("no item `{name}` in the expansion"))
    }

    fn text(tokens: impl quote::ToTokens) -> String {
        tokens.to_token_stream().to_string()
    }

    #[test]
    fn expansion_has_every_item() {
        let file = expand_ok(sample());
        for name in [
            "nr",
            "SYSCALL_TABLE_LEN",
            "syscall_name",
            "Syscalls",
            "SyscallHandler",
            "DispatchTable",
            "dispatch",
            "trace_call",
            "trace_result",
            "user",
        ] {
            find(&file, name);
        }
        let nr = text(find(&file, "nr"));
        assert!(nr.contains("pub const WRITE : u64 = 1u64"), "{nr}");
        assert!(nr.contains("pub const SCHED_YIELD : u64 = 24u64"), "{nr}");
        assert!(text(find(&file, "SYSCALL_TABLE_LEN")).contains("61usize"));
    }

    #[test]
    fn kernel_trait_takes_context_and_returns_results() {
        let file = expand_ok(sample());
        let syn::Item::Trait(t) = find(&file, "Syscalls") else { panic!("not a trait") };
        let methods: Vec<String> = t
            .items
            .iter()
            .filter_map(|item| match item {
                TraitItem::Fn(f) => Some(text(&f.sig)),
                _ => None,
            })
            .collect();
        assert_eq!(
            methods,
            [
                "fn write (cx : & mut Self :: Context , fd : i32 , buf : UserPtr < u8 > , count : usize) -> :: core :: result :: Result < usize , crate :: errno :: Errno >",
                "fn sched_yield (cx : & mut Self :: Context) -> :: core :: result :: Result < () , crate :: errno :: Errno >",
                "fn munmap (cx : & mut Self :: Context , addr : usize , length : usize) -> :: core :: result :: Result < () , crate :: errno :: Errno >",
                "fn exit (cx : & mut Self :: Context , code : i32) -> !",
            ]
        );
        assert!(t.items.iter().any(|i| matches!(i, TraitItem::Type(ty) if ty.ident == "Context")));
        // The kernel's docs leave out the app's `# Safety` section.
        let munmap = text(&t.items[3]);
        assert!(munmap.contains("Unmaps."), "{munmap}");
        assert!(!munmap.contains("Safety"), "{munmap}");
    }

    #[test]
    fn user_stubs_map_pointers_and_safety() {
        let file = expand_ok(sample());
        let user = text(find(&file, "user"));
        assert!(user.contains("pub unsafe fn write (fd : i32 , buf : * const u8 , count : usize)"), "{user}");
        assert!(user.contains("pub fn sched_yield ()"), "{user}");
        assert!(user.contains("pub unsafe fn munmap (addr : usize , length : usize)"), "{user}");
        assert!(user.contains("pub fn exit (code : i32) -> !"), "{user}");
        assert!(user.contains("syscall1_noreturn"), "{user}");
        assert!(user.contains("Nothing may live there."), "{user}");
        assert!(user.contains("`buf` must be valid for reads"), "{user}");
        assert!(user.contains("inline (always)"), "{user}");
    }

    #[test]
    fn dispatch_table_has_entries_and_thunks() {
        let file = expand_ok(sample());
        let table = text(&file);
        assert!(
            table.contains("entries [nr :: WRITE as usize] = :: core :: option :: Option :: Some (Self :: write"),
            "{table}"
        );
        assert!(table.contains("fn sched_yield (cx : & mut K :: Context , _regs : & [u64 ; 6]) -> i64"), "{table}");
    }

    #[test]
    fn default_crate_path_is_libos_abi() {
        let out = expand(TokenStream::new(), sample()).unwrap().to_string();
        assert!(out.contains(":: libos_abi :: errno :: Errno"));
    }

    #[test]
    fn duplicate_number() {
        let messages = errors(quote! {
            pub trait Syscalls {
                /// A.
                #[nr = 1]
                fn write(fd: i32) -> usize;
                /// B.
                #[nr = 1]
                fn foo() -> usize;
            }
        });
        assert_eq!(messages, ["syscall number 1 is declared twice: `write` and `foo`"]);
    }

    #[test]
    fn duplicate_name() {
        let messages = errors(quote! {
            pub trait Syscalls {
                /// A.
                #[nr = 1]
                fn write(fd: i32) -> usize;
                /// B.
                #[nr = 2]
                fn write(fd: i32) -> usize;
            }
        });
        assert_eq!(messages.len(), 1);
        assert_has(&messages, "syscall `write` is declared twice");
    }

    #[test]
    fn unsupported_argument_type() {
        let messages = errors(quote! {
            pub trait Syscalls {
                /// A.
                #[nr = 1]
                fn write(fd: String, buf: *const u8, n: UserPtr, m: UserPtr<u8, u8>) -> usize;
            }
        });
        assert_eq!(messages.len(), 4, "{messages:#?}");
        assert_has(
            &messages,
            "unsupported syscall argument type; supported types are i32, u32, i64, u64, usize, isize, UserPtr<T> and UserPtrMut<T>",
        );
        assert_has(&messages, "a pointer into app memory is `UserPtr<T>`");
    }

    #[test]
    fn unsupported_return_type() {
        for ret in [quote!(String), quote!(bool), quote!(Result<usize, Errno>), quote!(u8)] {
            let messages = errors(quote! {
                pub trait Syscalls {
                    /// A.
                    #[nr = 1]
                    fn f() -> #ret;
                }
            });
            assert_has(
                &messages,
                "unsupported syscall return type; supported types are (), usize, isize, u64, i64, u32, i32 and !",
            );
        }
    }

    #[test]
    fn missing_nr() {
        let messages = errors(quote! {
            pub trait Syscalls {
                /// A.
                fn write(fd: i32) -> usize;
            }
        });
        assert_has(&messages, "syscall `write` has no number: add `#[nr = N]`");
    }

    #[test]
    fn bad_nr() {
        let messages = errors(quote! {
            pub trait Syscalls {
                /// A.
                #[nr = "one"]
                fn a();
                /// B.
                #[nr = 5000]
                fn b();
                /// C.
                #[nr(3)]
                fn c();
                /// D.
                #[nr = 4]
                #[nr = 5]
                fn d();
            }
        });
        assert_has(&messages, "expected an integer literal");
        assert_has(&messages, "syscall number 5000 is too large");
        assert_has(&messages, "expected `#[nr = N]`");
        assert_has(&messages, "more than one `#[nr = N]`");
    }

    #[test]
    fn too_many_arguments() {
        let messages = errors(quote! {
            pub trait Syscalls {
                /// A.
                #[nr = 1]
                fn f(a: u64, b: u64, c: u64, d: u64, e: u64, f: u64, g: u64);
            }
        });
        assert_has(&messages, "syscall `f` takes 7 arguments; at most 6 fit in registers (RDI, RSI, RDX, R10, R8, R9)");
    }

    #[test]
    fn self_receiver() {
        let messages = errors(quote! {
            pub trait Syscalls {
                /// A.
                #[nr = 1]
                fn write(&self, fd: i32) -> usize;
            }
        });
        assert_has(&messages, "syscall `write` must not take `self`");
    }

    #[test]
    fn generics() {
        let messages = errors(quote! {
            pub trait Syscalls {
                /// A.
                #[nr = 1]
                fn write<T>(fd: i32) -> usize;
            }
        });
        assert_has(&messages, "syscall `write` must not be generic");
        let messages = errors(quote! {
            pub trait Syscalls<T> {
                /// A.
                #[nr = 1]
                fn write(fd: i32) -> usize;
            }
        });
        assert_has(&messages, "the syscall table trait takes no generics");
    }

    #[test]
    fn missing_docs() {
        let messages = errors(quote! {
            pub trait Syscalls {
                #[nr = 1]
                fn write(fd: i32) -> usize;
                ///
                #[nr = 2]
                fn read(fd: i32) -> usize;
            }
        });
        assert_has(&messages, "syscall `write` has no doc comment");
        assert_has(&messages, "syscall `read` has no doc comment");
    }

    #[test]
    fn unsafe_needs_a_safety_section_and_safety_needs_unsafe() {
        let messages = errors(quote! {
            pub trait Syscalls {
                /// A.
                #[nr = 1]
                unsafe fn a();
                /// B.
                ///
                /// # Safety
                ///
                /// Whatever.
                #[nr = 2]
                fn b();
            }
        });
        assert_has(&messages, "unsafe syscall `a` needs a `# Safety` section");
        assert_has(&messages, "syscall `b` has a `# Safety` section but its app stub is safe");
    }

    #[test]
    fn other_malformed_declarations() {
        let messages = errors(quote! {
            pub trait Syscalls {
                /// A.
                #[nr = 1]
                fn a(cx: u64);
                /// B.
                #[nr = 2]
                fn b() {}
                /// C.
                #[nr = 3]
                #[inline]
                fn c();
                /// D.
                #[nr = 4]
                fn d((x, y): (u64, u64));
                /// E.
                const E: u64;
            }
        });
        assert_has(&messages, "argument name `cx` is reserved");
        assert_has(&messages, "syscall `b` must not have a body");
        assert_has(&messages, "unsupported attribute on syscall `c`");
        assert_has(&messages, "arguments must be plain names");
        assert_has(&messages, "declares only functions");
        assert_eq!(
            errors(quote!(
                pub trait Syscalls {}
            )),
            ["the syscall table declares no syscall"]
        );
        let bad_attr = expand(quote!(krate = crate), sample()).err().unwrap();
        assert!(bad_attr.to_string().contains("unsupported argument"));
    }

    #[test]
    fn every_error_is_reported_at_once() {
        let messages = errors(quote! {
            pub trait Syscalls {
                #[nr = 1]
                fn a(x: String);
                /// B.
                fn b(&self);
            }
        });
        assert_eq!(messages.len(), 4, "{messages:#?}");
    }
}
