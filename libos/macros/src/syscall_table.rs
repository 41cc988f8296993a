//! `syscall_table!`: one declaration of the system calls, grouped by topic,
//! expands to the kernel's handler traits and dispatch table, the tracer and
//! the app's stubs.
//!
//! The work is split in two: [`parse`] checks the declaration and turns it
//! into a [`Table`] (collecting every error it finds, each spanned at the
//! offending tokens), and [`generate`] writes the expansion from the
//! [`Table`] with one function per generated item.

use std::collections::{HashMap, HashSet};

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::parse::{Parse, ParseStream};

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
const RESERVED_NAMES: [&str; 3] = ["cx", "regs", "frame"];

/// The attribute of a call that may rewrite its caller's saved registers.
const REWRITES_FRAME_ATTRIBUTE: &str = "rewrites_frame";

/// The name of the base trait the expansion declares (the kernel's
/// `Context`); no topic may take it.
const BASE_TRAIT: &str = "Syscalls";

/// The attribute that marks a topic of test and benchmark hooks.
const HOOKS_ATTRIBUTE: &str = "hooks";

/// The checked declaration.
pub(crate) struct Table {
    /// Path of the `libos-abi` crate in the expansion (`crate` inside it).
    krate: Path,
    /// Visibility of the first topic, given to the items the topics share.
    vis: Visibility,
    /// The topics, in declaration order.
    topics: Vec<Topic>,
}

impl Table {
    /// Every call, in declaration order.
    fn calls(&self) -> impl Iterator<Item = &Call> {
        self.topics.iter().flat_map(|t| t.calls.iter())
    }

    /// The calls of the ABI topics (or of the hook topics).
    fn calls_where(&self, hooks: bool) -> impl Iterator<Item = (&Topic, &Call)> {
        self.topics.iter().filter(move |t| t.hooks == hooks).flat_map(|t| t.calls.iter().map(move |c| (t, c)))
    }

    /// The topics of the ABI (or the hook topics).
    fn topics_where(&self, hooks: bool) -> impl Iterator<Item = &Topic> {
        self.topics.iter().filter(move |t| t.hooks == hooks)
    }
}

/// One topic: a trait of the declaration.
struct Topic {
    /// Its visibility.
    vis: Visibility,
    /// Its name (`Memory`).
    name: Ident,
    /// Its doc comments.
    docs: Vec<Attribute>,
    /// Marked `#[hooks]`: test and benchmark hooks, not part of the ABI.
    hooks: bool,
    /// Its calls, in declaration order.
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
    /// Marked `#[rewrites_frame]`: the handler gets a `RewritesFrame` and
    /// the entry path checks the whole frame after it.
    rewrites_frame: bool,
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

/// The macro's input: an optional `crate = <path>;`, then the topics.
struct Input {
    /// The path of `libos-abi` (default `::libos_abi`).
    krate: Path,
    /// The topic traits.
    traits: Vec<ItemTrait>,
}

impl Parse for Input {
    fn parse(input: ParseStream<'_>) -> syn::Result<Input> {
        let mut krate: Path = syn::parse_quote!(::libos_abi);
        if input.peek(syn::Token![crate]) && input.peek2(syn::Token![=]) {
            input.parse::<syn::Token![crate]>()?;
            input.parse::<syn::Token![=]>()?;
            krate = Path::parse_mod_style(input)?;
            input.parse::<syn::Token![;]>()?;
        }
        let mut traits = Vec::new();
        while !input.is_empty() {
            traits.push(input.parse()?);
        }
        Ok(Input { krate, traits })
    }
}

/// Expands `syscall_table! { input }`.
pub(crate) fn expand(input: TokenStream) -> syn::Result<TokenStream> {
    let Input { krate, traits } = syn::parse2(input)?;
    let table = parse(krate, traits)?;
    Ok(generate(&table))
}

/// Checks the declaration; all the errors found, combined, on failure.
pub(crate) fn parse(krate: Path, traits: Vec<ItemTrait>) -> syn::Result<Table> {
    let mut errors = Errors::default();
    let mut topics: Vec<Topic> = Vec::new();
    let mut by_nr: HashMap<u64, Ident> = HashMap::new();
    let mut by_name: HashSet<String> = HashSet::new();
    let mut topic_names: HashSet<String> = HashSet::new();
    for item in traits {
        let Some(mut topic) = parse_topic(&item, &mut errors) else { continue };
        if !topic_names.insert(topic.name.to_string()) {
            errors.at(&topic.name, format!("topic `{}` is declared twice", topic.name));
            continue;
        }
        let declared = item.items.len();
        for trait_item in item.items {
            let TraitItem::Fn(f) = trait_item else {
                errors.at(trait_item, "a topic declares only functions (`fn name(args) -> T;`)");
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
            topic.calls.push(call);
        }
        if declared == 0 {
            errors.at(&topic.name, format!("topic `{}` declares no syscall", topic.name));
        }
        topics.push(topic);
    }
    if errors.is_empty() && !topics.iter().any(|t| !t.hooks) {
        errors.push(syn::Error::new(proc_macro2::Span::call_site(), "the syscall table declares no topic of the ABI"));
    }
    // The hooks sit in a table of their own above the ABI's.
    let highest_abi = topics.iter().filter(|t| !t.hooks).flat_map(|t| &t.calls).map(|c| c.nr).max();
    if let Some(highest) = highest_abi {
        for call in topics.iter().filter(|t| t.hooks).flat_map(|t| &t.calls).filter(|c| c.nr <= highest) {
            errors.at(
                &call.name,
                format!(
                    "hook `{}` has number {}, but hooks must lie above every call of the ABI (the highest is {highest})",
                    call.name, call.nr
                ),
            );
        }
    }
    let vis = topics.first().map(|t| t.vis.clone()).unwrap_or(Visibility::Inherited);
    errors.finish(|| Table { krate, vis, topics })
}

/// Checks a topic's trait header and attributes (its calls are checked by
/// the caller); `None` when it cannot be used at all.
fn parse_topic(item: &ItemTrait, errors: &mut Errors) -> Option<Topic> {
    if let Some(unsafety) = item.unsafety {
        errors.at(unsafety, "a syscall topic must not be `unsafe`");
    }
    if let Some(auto) = item.auto_token {
        errors.at(auto, "a syscall topic must not be `auto`");
    }
    if !item.generics.params.is_empty() || item.generics.where_clause.is_some() {
        errors.at(&item.generics, "a syscall topic takes no generics");
    }
    if !item.supertraits.is_empty() {
        errors
            .at(&item.supertraits, format!("a syscall topic takes no supertraits (the expansion adds `{BASE_TRAIT}`)"));
    }
    if item.ident == BASE_TRAIT {
        errors.at(
            &item.ident,
            format!("`{BASE_TRAIT}` is the base trait the expansion declares; name the topic otherwise"),
        );
        return None;
    }
    let mut docs = Vec::new();
    let mut hooks = false;
    for attr in &item.attrs {
        if attr.path().is_ident("doc") {
            docs.push(attr.clone());
        } else if attr.path().is_ident(HOOKS_ATTRIBUTE) && matches!(attr.meta, syn::Meta::Path(_)) {
            hooks = true;
        } else {
            errors.at(
                attr,
                format!(
                    "unsupported attribute on topic `{}`; only doc comments and `#[hooks]` are allowed",
                    item.ident
                ),
            );
        }
    }
    if !docs.iter().any(has_text) {
        errors.at(&item.ident, format!("topic `{}` has no doc comment: say what its calls are about", item.ident));
    }
    Some(Topic { vis: item.vis.clone(), name: item.ident.clone(), docs, hooks, calls: Vec::new() })
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

    // Attributes: docs, exactly one `#[nr = N]`, maybe `#[rewrites_frame]`.
    let mut nr = None;
    let mut docs = Vec::new();
    let mut rewrites_frame = false;
    for attr in &f.attrs {
        if attr.path().is_ident("doc") {
            docs.push(attr.clone());
        } else if attr.path().is_ident(REWRITES_FRAME_ATTRIBUTE) && matches!(attr.meta, syn::Meta::Path(_)) {
            rewrites_frame = true;
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
                format!(
                    "unsupported attribute on syscall `{name}`; only doc comments, `#[nr = N]` and `#[rewrites_frame]` are allowed"
                ),
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
        rewrites_frame,
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
        gen_traits(table),
        gen_dispatch(table),
        gen_trace(table),
        gen_user(table, false),
        gen_user(table, true),
    ];
    quote!(#(#parts)*)
}

/// The numbers of the ABI's table: `0..ABI_TABLE_LEN`.
fn abi_table_len(table: &Table) -> usize {
    let max = table.calls_where(false).map(|(_, c)| c.nr).max().unwrap_or(0);
    usize::try_from(max).expect("numbers are below MAX_NR") + 1
}

/// The hook table: its first number and its length (`(ABI_TABLE_LEN, 0)`
/// without hooks).
fn hook_range(table: &Table) -> (u64, usize) {
    let numbers: Vec<u64> = table.calls_where(true).map(|(_, c)| c.nr).collect();
    match (numbers.iter().min(), numbers.iter().max()) {
        (Some(&first), Some(&last)) => (first, usize::try_from(last - first).expect("numbers are below MAX_NR") + 1),
        _ => (abi_table_len(table) as u64, 0),
    }
}

/// A link to a call's handler in the docs: `[`Memory::mmap`](super::Memory::mmap)`.
fn handler_link(topic: &Topic, call: &Call, prefix: &str) -> String {
    format!("[`{t}::{c}`]({prefix}{t}::{c})", t = topic.name, c = call.name)
}

/// `mod nr`, `ABI_TABLE_LEN`, `FIRST_HOOK` and `HOOKS_TABLE_LEN`.
fn gen_nr_module(table: &Table) -> TokenStream {
    let vis = &table.vis;
    let consts = table.topics.iter().flat_map(|topic| {
        topic.calls.iter().map(move |call| {
            let const_name = call.const_name();
            let nr = call.nr;
            let doc = format!("Number of {}.", handler_link(topic, call, "super::"));
            quote! {
                #[doc = #doc]
                pub const #const_name: u64 = #nr;
            }
        })
    });
    let abi_len = abi_table_len(table);
    let (first_hook, hooks_len) = hook_range(table);
    quote! {
        /// The system call numbers, one per call of every topic.
        #vis mod nr {
            #(#consts)*
        }

        /// Entries of the ABI's dense table: its highest system call number
        /// plus one.
        #vis const ABI_TABLE_LEN: usize = #abi_len;

        /// The first number of the hook table (the test and benchmark hooks,
        /// above every number of the ABI).
        #vis const FIRST_HOOK: u64 = #first_hook;

        /// Entries of the hook table (numbers `FIRST_HOOK..FIRST_HOOK +
        /// HOOKS_TABLE_LEN`).
        #vis const HOOKS_TABLE_LEN: usize = #hooks_len;

        /// Entries of the dense table of a test or benchmark kernel: every
        /// number up to the last hook (the numbers between the ABI's and the
        /// hooks' hold `ni_syscall`, so an unknown number costs the same as
        /// in a production kernel).
        #vis const WITH_HOOKS_TABLE_LEN: usize = FIRST_HOOK as usize + HOOKS_TABLE_LEN;
    }
}

/// `syscall_name` and `is_hook`.
fn gen_names(table: &Table) -> TokenStream {
    let vis = &table.vis;
    let arms = table.calls().map(|call| {
        let const_name = call.const_name();
        let name = call.name.to_string();
        quote!(nr::#const_name => ::core::option::Option::Some(#name),)
    });
    let hooks = table.calls_where(true).map(|(_, call)| {
        let const_name = call.const_name();
        quote!(nr::#const_name)
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

        /// Whether `nr` is a test or benchmark hook (a call of a `#[hooks]`
        /// topic, which production kernels leave to `-ENOSYS`).
        #vis fn is_hook(nr: u64) -> bool {
            [#(#hooks),*].contains(&nr)
        }
    }
}

/// The base trait and one trait per topic, for the kernel.
fn gen_traits(table: &Table) -> TokenStream {
    let Table { krate, vis, .. } = table;
    let base = format_ident!("{BASE_TRAIT}");
    let topics = table.topics.iter().map(|topic| {
        let Topic { vis, name, docs, .. } = topic;
        let methods = topic.calls.iter().map(|call| {
            let Call { name, docs, .. } = call;
            let frame = call.rewrites_frame.then(|| quote!(frame: #krate::dispatch::RewritesFrame));
            let params = std::iter::once(quote!(cx: &mut Self::Context))
                .chain(frame)
                .chain(call.args.iter().map(|Arg { name, ty, .. }| quote!(#name: #ty)));
            let ret = match &call.ret {
                Ret::Unit => quote!(::core::result::Result<(), #krate::errno::Errno>),
                Ret::Int(ty) => quote!(::core::result::Result<#ty, #krate::errno::Errno>),
                Ret::Never => quote!(!),
            };
            let number = format!(" System call number {}.", call.nr);
            let frame_doc = call.rewrites_frame.then(|| {
                quote! {
                    #[doc = ""]
                    #[doc = " Declared `#[rewrites_frame]`: `frame` lets the handler change the"]
                    #[doc = " caller's saved registers, which the return path then checks whole."]
                }
            });
            quote! {
                #(#docs)*
                #[doc = ""]
                #[doc = #number]
                #frame_doc
                fn #name(#(#params),*) -> #ret;
            }
        });
        let hook_doc = topic.hooks.then(|| {
            quote! {
                #[doc = ""]
                #[doc = " A topic of hooks: only test and benchmark kernels implement it"]
                #[doc = " (`DispatchTable::WITH_HOOKS`); a production kernel's table has"]
                #[doc = " none of its numbers."]
            }
        });
        quote! {
            #(#docs)*
            #hook_doc
            #vis trait #name: #base {
                #(#methods)*
            }
        }
    });
    quote! {
        /// The kernel's side of the table: implemented once, it names the
        /// context every handler gets; each topic trait (a subtrait of this
        /// one) is implemented where its handlers live.
        #vis trait #base {
            /// What every handler gets as its first argument: the kernel's
            /// state for the calling thread, from which the table reads the
            /// arguments.
            type Context: #krate::dispatch::SyscallArgs + 'static;

            /// The entry of every number without a call (Linux's
            /// `sys_ni_syscall`): `-ENOSYS`. A kernel that does more for
            /// such a number (says once which call a program is missing)
            /// does it in its own version of this, which only unknown
            /// numbers reach: no other call pays for it.
            fn ni_syscall(cx: &mut Self::Context) -> i64 {
                #krate::dispatch::ni_syscall(cx)
            }
        }

        #(#topics)*
    }
}

/// The entries (one function per call) and `DispatchTable`.
fn gen_dispatch(table: &Table) -> TokenStream {
    let Table { krate, vis, .. } = table;
    let d = quote!(#krate::dispatch);
    let base = format_ident!("{BASE_TRAIT}");
    let thunks = table.topics.iter().flat_map(|topic| {
        let d = d.clone();
        topic.calls.iter().map(move |call| {
            let topic_name = &topic.name;
            let name = &call.name;
            let conversions = call.args.iter().enumerate().map(|(i, Arg { name, ty, .. })| {
                quote! {
                    let #name = match <#ty as #krate::syscall_arg::SyscallArg>::from_raw(
                        #d::SyscallArgs::arg(&*cx, #i),
                    ) {
                        ::core::result::Result::Ok(value) => value,
                        ::core::result::Result::Err(errno) => return errno.to_ret(),
                    };
                }
            });
            let frame = call.rewrites_frame.then(|| format_ident!("frame"));
            let handler_args = std::iter::once(format_ident!("cx"))
                .chain(frame.clone())
                .chain(call.args.iter().map(|a| a.name.clone()));
            let call_handler = quote!(<K as super::#topic_name>::#name(#(#handler_args),*));
            let body = match call.ret {
                Ret::Never => call_handler,
                _ => quote! {
                    #krate::syscall_arg::encode_result(#call_handler)
                },
            };
            let make_frame = frame.map(|frame| {
                let comment = format!(
                    " SAFETY: this is the table's entry of `{name}`, declared `#[rewrites_frame]`: it \
                     has just told the context that the frame may be rewritten \
                     (`note_frame_rewritten`), so the entry path checks the whole frame after the handler."
                );
                quote! {
                    #d::SyscallArgs::note_frame_rewritten(cx);
                    #[allow(unused_doc_comments)]
                    #[doc = #comment]
                    let #frame = unsafe { #d::RewritesFrame::new() };
                }
            });
            let doc = format!(
                "The entry of {}: decodes the arguments, encodes the result.",
                handler_link(topic, call, "super::")
            );
            quote! {
                #[doc = #doc]
                pub(super) fn #name<K: super::#topic_name>(cx: &mut K::Context) -> i64 {
                    #(#conversions)*
                    #make_frame
                    #body
                }
            }
        })
    });
    let fill = |hooks: bool, base: TokenStream| {
        table
            .calls_where(hooks)
            .map(|(_, call)| {
                let name = &call.name;
                let const_name = call.const_name();
                quote! {
                    entries[(nr::#const_name - #base) as usize] = entry::#name::<K>;
                }
            })
            .collect::<Vec<_>>()
    };
    let abi_entries = fill(false, quote!(0));
    let hook_entries = fill(true, quote!(0));
    let abi_topics: Vec<&Ident> = table.topics_where(false).map(|t| &t.name).collect();
    let all_topics: Vec<&Ident> = table.topics.iter().map(|t| &t.name).collect();
    let handler = quote!(#d::SyscallHandler<K::Context>);
    let with_hooks = (table.topics_where(true).count() > 0).then(|| {
        quote! {
            impl<K: #(#all_topics)+*> DispatchTable<K> {
                /// Every entry up to the last hook, by number.
                const WITH_HOOKS_ENTRIES: [#handler; WITH_HOOKS_TABLE_LEN] = {
                    let mut entries: [#handler; WITH_HOOKS_TABLE_LEN] =
                        [<K as #base>::ni_syscall; WITH_HOOKS_TABLE_LEN];
                    #(#abi_entries)*
                    #(#hook_entries)*
                    entries
                };

                /// The table of a test or benchmark kernel: the ABI and the
                /// hooks, in one dense table.
                pub const WITH_HOOKS: #d::SyscallTable<K::Context, WITH_HOOKS_TABLE_LEN> =
                    #d::SyscallTable::new(Self::WITH_HOOKS_ENTRIES, <K as #base>::ni_syscall);
            }
        }
    });
    quote! {
        /// One entry per call: decodes the six argument registers through
        /// [`SyscallArg`](crate::syscall_arg::SyscallArg), calls the handler
        /// and encodes its result as Linux does (`-errno` for an error).
        mod entry {
            #[allow(unused_imports)]
            use super::*;

            #(#thunks)*
        }

        /// The dispatch tables of a kernel type `K` that implements the
        /// topics: dense, indexed by number, the kernel's `ni_syscall`
        /// (`-ENOSYS`) for every number without a call.
        #vis struct DispatchTable<K>(::core::marker::PhantomData<fn() -> K>);

        impl<K: #(#abi_topics)+*> DispatchTable<K> {
            /// The ABI's entries, by number.
            const ABI_ENTRIES: [#handler; ABI_TABLE_LEN] = {
                let mut entries: [#handler; ABI_TABLE_LEN] = [<K as #base>::ni_syscall; ABI_TABLE_LEN];
                #(#abi_entries)*
                entries
            };

            /// The table of a production kernel: the ABI only (every hook
            /// number answers `-ENOSYS`). A constant, so a kernel copies it
            /// into a `static` and its entry path indexes that.
            pub const ABI: #d::SyscallTable<K::Context, ABI_TABLE_LEN> =
                #d::SyscallTable::new(Self::ABI_ENTRIES, <K as #base>::ni_syscall);
        }

        #with_hooks
    }
}

/// `trace_call` and `trace_result`.
fn gen_trace(table: &Table) -> TokenStream {
    let Table { krate, vis, .. } = table;
    let sa = quote!(#krate::syscall_arg);
    let call_arms = table.calls().map(|call| {
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
    let result_arms = table.calls().map(|call| {
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

/// The justification of a stub's `unsafe` block, written into the
/// expansion as a doc attribute of the statement (a proc macro's output
/// carries no comments).
fn stub_safety_comment(call: &Call) -> String {
    if call.user_unsafe() {
        format!(
            " SAFETY: this stub is an `unsafe fn` whose `# Safety` section is the contract of `{}`; \
             its caller upholds it, which is all the raw `syscall` helper asks.",
            call.name
        )
    } else {
        format!(
            " SAFETY: `{}` is declared `fn` (not `unsafe fn`) and takes no pointer, so the \
             declaration vouches that it touches no app memory and no mapping Rust relies on \
             whatever the argument values: the raw `syscall` helper's whole contract.",
            call.name
        )
    }
}

/// `mod user` (the ABI's stubs) or `mod user_hooks` (the hooks' stubs).
fn gen_user(table: &Table, hooks: bool) -> TokenStream {
    let Table { krate, vis, .. } = table;
    let sa = quote!(#krate::syscall_arg);
    let stubs: Vec<TokenStream> = table
        .calls_where(hooks)
        .map(|(topic, call)| {
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
            let see = format!(" The system call {} (number {}).", handler_link(topic, call, "super::"), call.nr);

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
            let comment = stub_safety_comment(call);
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
                            #[allow(unused_doc_comments)]
                            #[doc = #comment]
                            unsafe { #sa::raw::#raw_fn(#(#raw_args),*) };
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
                            #[allow(unused_doc_comments)]
                            #[doc = #comment]
                            let ret = unsafe { #sa::raw::#raw_fn(#(#raw_args),*) };
                            #sa::decode_result::<#ok>(ret)
                        }
                    }
                }
            }
        })
        .collect();
    if hooks && stubs.is_empty() {
        return TokenStream::new();
    }
    let (module, doc) = if hooks {
        (
            format_ident!("user_hooks"),
            quote! {
                /// The app side of the hook topics, as [`user`] is of the ABI:
                /// only test and benchmark kernels answer these (a production
                /// kernel returns `-ENOSYS`).
            },
        )
    } else {
        (
            format_ident!("user"),
            quote! {
                /// The app side: one function per system call of the ABI, taking
                /// raw pointers where the kernel side takes `UserPtr`/`UserPtrMut`,
                /// returning the decoded result. Each is the `syscall` instruction
                /// inline, with the Linux x86_64 convention.
            },
        )
    };
    quote! {
        #doc
        #[cfg(target_arch = "x86_64")]
        #vis mod #module {
            #[allow(unused_imports)]
            use super::*;

            #(#stubs)*
        }
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    /// Expands `syscall_table! { crate = crate; topics }`.
    fn expand_ok(topics: TokenStream) -> syn::File {
        let out = expand(quote!(crate = crate; #topics)).unwrap_or_else(|e| panic!("expansion failed: {e}"));
        syn::parse2(out).expect("the expansion parses as items")
    }

    /// The messages of the errors `syscall_table!` gives for `topics`.
    fn errors(topics: TokenStream) -> Vec<String> {
        match expand(topics) {
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
            /// Output.
            pub trait Io {
                /// Writes bytes.
                #[nr = 1]
                fn write(fd: i32, buf: UserPtr<u8>, count: usize) -> usize;
            }
            /// The rest.
            pub trait Misc {
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
            /// Hooks.
            #[hooks]
            pub trait Hooks {
                /// Debugs.
                #[nr = 1025]
                #[rewrites_frame]
                fn debug(op: u64) -> u64;
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
            "ABI_TABLE_LEN",
            "FIRST_HOOK",
            "HOOKS_TABLE_LEN",
            "syscall_name",
            "is_hook",
            "Syscalls",
            "Io",
            "Misc",
            "Hooks",
            "entry",
            "DispatchTable",
            "trace_call",
            "trace_result",
            "user",
            "user_hooks",
        ] {
            find(&file, name);
        }
        let nr = text(find(&file, "nr"));
        assert!(nr.contains("pub const WRITE : u64 = 1u64"), "{nr}");
        assert!(nr.contains("pub const SCHED_YIELD : u64 = 24u64"), "{nr}");
        assert!(nr.contains("pub const DEBUG : u64 = 1025u64"), "{nr}");
        // The hooks are not in the ABI's table.
        assert!(text(find(&file, "ABI_TABLE_LEN")).contains("61usize"));
        assert!(text(find(&file, "FIRST_HOOK")).contains("1025u64"));
        assert!(text(find(&file, "HOOKS_TABLE_LEN")).contains("1usize"));
    }

    /// The signatures of a trait's methods.
    fn methods(t: &syn::ItemTrait) -> Vec<String> {
        t.items
            .iter()
            .filter_map(|item| match item {
                TraitItem::Fn(f) => Some(text(&f.sig)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn kernel_traits_take_context_and_return_results() {
        let file = expand_ok(sample());
        let syn::Item::Trait(base) = find(&file, "Syscalls") else { panic!("not a trait") };
        // The base trait's one method is the entry of unknown numbers, with
        // a default (`-ENOSYS`) a kernel may override.
        assert_eq!(methods(base), ["fn ni_syscall (cx : & mut Self :: Context) -> i64"]);
        assert!(base.items.iter().any(|i| matches!(i, TraitItem::Type(ty) if ty.ident == "Context")));
        let syn::Item::Trait(io) = find(&file, "Io") else { panic!("not a trait") };
        assert_eq!(text(&io.supertraits), "Syscalls");
        assert_eq!(
            methods(io),
            [
                "fn write (cx : & mut Self :: Context , fd : i32 , buf : UserPtr < u8 > , count : usize) -> :: core :: result :: Result < usize , crate :: errno :: Errno >"
            ]
        );
        let syn::Item::Trait(misc) = find(&file, "Misc") else { panic!("not a trait") };
        assert_eq!(
            methods(misc),
            [
                "fn sched_yield (cx : & mut Self :: Context) -> :: core :: result :: Result < () , crate :: errno :: Errno >",
                "fn munmap (cx : & mut Self :: Context , addr : usize , length : usize) -> :: core :: result :: Result < () , crate :: errno :: Errno >",
                "fn exit (cx : & mut Self :: Context , code : i32) -> !",
            ]
        );
        // The kernel's docs leave out the app's `# Safety` section and give the number.
        let munmap = text(&misc.items[1]);
        assert!(munmap.contains("Unmaps."), "{munmap}");
        assert!(munmap.contains("System call number 11."), "{munmap}");
        assert!(!munmap.contains("Safety"), "{munmap}");
        let syn::Item::Trait(hooks) = find(&file, "Hooks") else { panic!("not a trait") };
        assert!(text(hooks).contains("only test and benchmark kernels implement it"));
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
        // The hooks have stubs of their own, not among the ABI's.
        assert!(!user.contains("fn debug"), "{user}");
        assert!(text(find(&file, "user_hooks")).contains("pub fn debug (op : u64)"));
    }

    #[test]
    fn every_unsafe_block_of_the_stubs_says_why_it_is_sound() {
        let file = expand_ok(sample());
        let user = text(find(&file, "user"));
        let blocks = user.matches("unsafe {").count();
        assert_eq!(blocks, 4, "{user}");
        assert_eq!(user.matches("SAFETY: ").count(), blocks, "{user}");
        // A safe stub: the declaration vouches for the call.
        assert!(user.contains("SAFETY: `sched_yield` is declared `fn` (not `unsafe fn`) and takes no pointer"));
        // An unsafe stub: its caller upholds the contract.
        assert!(
            user.contains("SAFETY: this stub is an `unsafe fn` whose `# Safety` section is the contract of `munmap`")
        );
    }

    #[test]
    fn dispatch_tables_have_entries() {
        let file = expand_ok(sample());
        let all = text(&file);
        assert!(all.contains("entries [(nr :: WRITE - 0) as usize] = entry :: write :: < K >"), "{all}");
        assert!(all.contains("entries [(nr :: DEBUG - 0) as usize] = entry :: debug :: < K >"), "{all}");
        assert!(all.contains("impl < K : Io + Misc > DispatchTable < K >"), "{all}");
        assert!(all.contains("impl < K : Io + Misc + Hooks > DispatchTable < K >"), "{all}");
        let entry = text(find(&file, "entry"));
        assert!(entry.contains("fn sched_yield < K : super :: Misc > (cx : & mut K :: Context) -> i64"), "{entry}");
        assert!(entry.contains("SyscallArgs :: arg (& * cx , 2usize)"), "{entry}");
    }

    #[test]
    fn only_calls_declared_to_rewrite_the_frame_get_the_token_and_say_so() {
        let file = expand_ok(sample());
        let syn::Item::Trait(hooks) = find(&file, "Hooks") else { panic!("not a trait") };
        assert_eq!(
            methods(hooks),
            [
                "fn debug (cx : & mut Self :: Context , frame : crate :: dispatch :: RewritesFrame , op : u64) -> :: core :: result :: Result < u64 , crate :: errno :: Errno >"
            ]
        );
        let syn::Item::Trait(io) = find(&file, "Io") else { panic!("not a trait") };
        assert!(!text(io).contains("RewritesFrame"));
        let entry = text(find(&file, "entry"));
        // Only the entry of the call declared `#[rewrites_frame]` tells the
        // context so.
        assert_eq!(entry.matches("note_frame_rewritten (cx)").count(), 1, "{entry}");
        assert!(
            entry.contains("SAFETY: this is the table's entry of `debug`, declared `#[rewrites_frame]`"),
            "{entry}"
        );
        assert!(entry.contains("< K as super :: Hooks > :: debug (cx , frame , op)"), "{entry}");
    }

    #[test]
    fn default_crate_path_is_libos_abi() {
        let out = expand(sample()).unwrap().to_string();
        assert!(out.contains(":: libos_abi :: errno :: Errno"));
    }

    #[test]
    fn hooks_lie_above_the_abi() {
        let messages = errors(quote! {
            /// The ABI.
            pub trait Calls {
                /// A.
                #[nr = 60]
                fn a();
            }
            /// Hooks.
            #[hooks]
            pub trait Hooks {
                /// B.
                #[nr = 59]
                fn b();
            }
        });
        assert_eq!(
            messages,
            ["hook `b` has number 59, but hooks must lie above every call of the ABI (the highest is 60)"]
        );
        let messages = errors(quote! {
            /// Hooks only.
            #[hooks]
            pub trait Hooks {
                /// B.
                #[nr = 1]
                fn b();
            }
        });
        assert_eq!(messages, ["the syscall table declares no topic of the ABI"]);
    }

    #[test]
    fn malformed_topics() {
        let messages = errors(quote! {
            /// Reserved name.
            pub trait Syscalls {
                /// A.
                #[nr = 1]
                fn a();
            }
            pub unsafe trait Undocumented<T>: Send {
                /// B.
                #[nr = 2]
                fn b();
            }
            /// Twice.
            pub trait Twice {
                /// C.
                #[nr = 3]
                fn c();
            }
            /// Twice.
            #[inline]
            pub trait Twice {
                /// D.
                #[nr = 4]
                fn d();
            }
            /// Empty.
            pub trait Empty {}
        });
        assert_has(&messages, "`Syscalls` is the base trait the expansion declares");
        assert_has(&messages, "a syscall topic must not be `unsafe`");
        assert_has(&messages, "a syscall topic takes no generics");
        assert_has(&messages, "a syscall topic takes no supertraits");
        assert_has(&messages, "topic `Undocumented` has no doc comment");
        assert_has(&messages, "topic `Twice` is declared twice");
        assert_has(&messages, "unsupported attribute on topic `Twice`");
        assert_has(&messages, "topic `Empty` declares no syscall");
    }

    #[test]
    fn duplicate_number() {
        let messages = errors(quote! {
            /// Topic.
            pub trait Calls {
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
            /// Topic.
            pub trait Calls {
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
            /// Topic.
            pub trait Calls {
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
                /// Topic.
            pub trait Calls {
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
            /// Topic.
            pub trait Calls {
                /// A.
                fn write(fd: i32) -> usize;
            }
        });
        assert_has(&messages, "syscall `write` has no number: add `#[nr = N]`");
    }

    #[test]
    fn bad_nr() {
        let messages = errors(quote! {
            /// Topic.
            pub trait Calls {
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
            /// Topic.
            pub trait Calls {
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
            /// Topic.
            pub trait Calls {
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
            /// Topic.
            pub trait Calls {
                /// A.
                #[nr = 1]
                fn write<T>(fd: i32) -> usize;
            }
        });
        assert_has(&messages, "syscall `write` must not be generic");
        let messages = errors(quote! {
            /// Topic.
            pub trait Calls<T> {
                /// A.
                #[nr = 1]
                fn write(fd: i32) -> usize;
            }
        });
        assert_has(&messages, "a syscall topic takes no generics");
    }

    #[test]
    fn missing_docs() {
        let messages = errors(quote! {
            /// Topic.
            pub trait Calls {
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
            /// Topic.
            pub trait Calls {
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
        let sample = sample();
        let messages = errors(quote! {
            /// Topic.
            pub trait Calls {
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
        assert_has(&messages, "a topic declares only functions");
        assert_eq!(errors(TokenStream::new()), ["the syscall table declares no topic of the ABI"]);
        let bad_header = expand(quote!(krate = crate; #sample)).err().unwrap();
        assert!(bad_header.to_string().contains("expected"), "{bad_header}");
    }

    #[test]
    fn every_error_is_reported_at_once() {
        let messages = errors(quote! {
            /// Topic.
            pub trait Calls {
                #[nr = 1]
                fn a(x: String);
                /// B.
                fn b(&self);
            }
        });
        assert_eq!(messages.len(), 4, "{messages:#?}");
    }
}
