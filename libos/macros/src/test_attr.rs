//! `#[kernel_test]` and `#[test]`: keep the function and register it with a
//! `TestCase` record in the `.libos_tests` link section.

use proc_macro2::TokenStream;
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::{Ident, ItemFn, LitStr, ReturnType, Type};

use crate::errors::Errors;
use crate::plain_fn::check_plain_fn;

/// The exception mnemonics `expect_fault` accepts, indexed by vector
/// (Intel SDM vol. 3, table 6-1); `None` for the reserved vectors 9 and 15.
/// Must match `libos_abi::test::FAULT_NAMES` (a test checks it).
pub(crate) const FAULT_NAMES: [Option<&str>; 22] = [
    Some("DE"),
    Some("DB"),
    Some("NMI"),
    Some("BP"),
    Some("OF"),
    Some("BR"),
    Some("UD"),
    Some("NM"),
    Some("DF"),
    None,
    Some("TS"),
    Some("NP"),
    Some("SS"),
    Some("GP"),
    Some("PF"),
    None,
    Some("MF"),
    Some("AC"),
    Some("MC"),
    Some("XM"),
    Some("VE"),
    Some("CP"),
];

/// Which attribute: they differ only in the path of the ABI types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flavor {
    /// `#[kernel_test]`: `::libos_abi::test`.
    Kernel,
    /// `#[libos::test]`: `::libos::__private::abi::test`.
    App,
}

impl Flavor {
    /// The path of the `test` module of `libos-abi` as the test's crate sees
    /// it.
    fn test_module(self) -> TokenStream {
        match self {
            Flavor::Kernel => quote!(::libos_abi::test),
            Flavor::App => quote!(::libos::__private::abi::test),
        }
    }

    /// The attribute's name, for messages.
    fn attribute(self) -> &'static str {
        match self {
            Flavor::Kernel => "#[kernel_test]",
            Flavor::App => "#[libos::test]",
        }
    }
}

/// What the attribute's arguments ask for.
enum Expectation {
    /// No argument: the test returns.
    Pass,
    /// `should_panic`, with an optional substring of the message.
    Panic(Option<LitStr>),
    /// `expect_fault = NAME`: the vector.
    Fault(u8),
}

/// The vector of an exception mnemonic.
fn fault_vector(name: &str) -> Option<u8> {
    FAULT_NAMES.iter().position(|&n| n == Some(name)).and_then(|v| u8::try_from(v).ok())
}

/// The accepted mnemonics, for messages: `DE, DB, ..., CP`.
fn fault_list() -> String {
    FAULT_NAMES.iter().flatten().copied().collect::<Vec<_>>().join(", ")
}

/// Parses the arguments: nothing, `should_panic`, `should_panic = "text"`,
/// `should_panic(expected = "text")` or `expect_fault = NAME`.
fn parse_args(attr: TokenStream, flavor: Flavor) -> syn::Result<Expectation> {
    let mut expectation = None;
    let mut errors = Errors::default();
    let parser = syn::meta::parser(|meta| {
        let found = if meta.path.is_ident("should_panic") {
            if meta.input.peek(syn::Token![=]) {
                Expectation::Panic(Some(meta.value()?.parse()?))
            } else if meta.input.peek(syn::token::Paren) {
                let mut expected = None;
                meta.parse_nested_meta(|inner| {
                    if inner.path.is_ident("expected") {
                        expected = Some(inner.value()?.parse()?);
                        Ok(())
                    } else {
                        Err(inner.error("expected `expected = \"text\"`"))
                    }
                })?;
                Expectation::Panic(expected)
            } else {
                Expectation::Panic(None)
            }
        } else if meta.path.is_ident("expect_fault") {
            let name: Ident = meta.value()?.parse()?;
            match fault_vector(&name.to_string()) {
                Some(vector) => Expectation::Fault(vector),
                None => {
                    return Err(syn::Error::new_spanned(
                        &name,
                        format!("unknown exception `{name}`; expected one of {}", fault_list()),
                    ));
                }
            }
        } else {
            return Err(meta.error(format!(
                "unsupported {} argument; expected `should_panic`, `should_panic = \"text\"` or `expect_fault = NAME`",
                flavor.attribute()
            )));
        };
        if expectation.is_some() {
            errors.at(&meta.path, "a test takes one expectation: `should_panic` or `expect_fault`, once");
        }
        expectation = Some(found);
        Ok(())
    });
    syn::parse::Parser::parse2(parser, attr)?;
    errors.finish(|| expectation.unwrap_or(Expectation::Pass))
}

/// Checks the function is `fn name()` returning `()`.
fn check_signature(item: &ItemFn, flavor: Flavor) -> syn::Result<()> {
    let sig = &item.sig;
    let mut errors = Errors::default();
    let attr = flavor.attribute();
    let wanted = format!("a {attr} function must be `fn {}()`", sig.ident);
    check_plain_fn(sig, &wanted, "", &mut errors);
    if let ReturnType::Type(_, ty) = &sig.output
        && !matches!(&**ty, Type::Tuple(t) if t.elems.is_empty())
    {
        errors.at(&sig.output, format!("{wanted}: it returns `()` (fail by panicking)"));
    }
    errors.finish(|| ())
}

/// Expands a test attribute on `item`.
pub(crate) fn expand(attr: TokenStream, item: TokenStream, flavor: Flavor) -> syn::Result<TokenStream> {
    let item: ItemFn = syn::parse2(item)?;
    // Report bad arguments and a bad signature together.
    let mut errors = Errors::default();
    let expectation = parse_args(attr, flavor).map_err(|e| errors.push(e)).ok();
    if let Err(e) = check_signature(&item, flavor) {
        errors.push(e);
    }
    let expectation = errors.finish(|| expectation.unwrap_or(Expectation::Pass))?;

    let test = flavor.test_module();
    let name = &item.sig.ident;
    let expect = match expectation {
        Expectation::Pass => quote!(#test::Expect::Pass),
        Expectation::Panic(None) => {
            quote!(#test::Expect::Panic { message: ::core::option::Option::None })
        }
        Expectation::Panic(Some(text)) => {
            quote!(#test::Expect::Panic { message: ::core::option::Option::Some(#text) })
        }
        Expectation::Fault(vector) => quote!(#test::Expect::Fault { vector: #vector }),
    };
    let static_name = format_ident!("__LIBOS_TEST_{}", name.unraw().to_string().to_uppercase());
    // `line!()` spanned at the function's name: the line of the test.
    let line = quote_spanned!(name.span()=> ::core::line!());
    let mut out = item.to_token_stream();
    // `link_section` is an unsafe attribute because the linker, not the
    // compiler, decides what ends up next to the data. It is sound here: the
    // section holds nothing but `TestCase` statics (all of one size, a
    // multiple of their alignment), and the runners read it only as a
    // `[TestCase]` between the linker script's start and end symbols.
    out.extend(quote! {
        #[used]
        #[unsafe(link_section = ".libos_tests")]
        #[doc(hidden)]
        #[cfg_attr(not(target_os = "none"), allow(dead_code))]
        static #static_name: #test::TestCase = #test::TestCase {
            name: ::core::concat!(::core::module_path!(), "::", ::core::stringify!(#name)),
            file: ::core::file!(),
            line: #line,
            expect: #expect,
            run: #name,
        };
    });
    Ok(match flavor {
        // The kernel's tests are compiled only with its `boot-tests` feature.
        Flavor::Kernel => out,
        // An app's test and its record exist only when `libos` is built
        // with its `testing` feature (test images), as `#[cfg(test)]` keeps
        // a test out of other builds; the cfg is `libos`'s, so the
        // expansion goes through its macro.
        Flavor::App => quote!(::libos::__private::testing_only! { #out }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand_ok(attr: TokenStream, flavor: Flavor) -> String {
        expand(
            attr,
            quote!(
                fn maps_a_page() {
                    assert!(true);
                }
            ),
            flavor,
        )
        .unwrap_or_else(|e| panic!("expansion failed: {e}"))
        .to_string()
    }

    fn error(attr: TokenStream, item: TokenStream) -> Vec<String> {
        match expand(attr, item, Flavor::Kernel) {
            Ok(out) => panic!("expansion succeeded: {out}"),
            Err(e) => e.into_iter().map(|e| e.to_string()).collect(),
        }
    }

    #[test]
    fn keeps_the_function_and_registers_it() {
        let out = expand_ok(TokenStream::new(), Flavor::Kernel);
        assert!(out.starts_with("fn maps_a_page ()"), "{out}");
        assert!(out.contains("# [used]"), "{out}");
        assert!(out.contains("# [unsafe (link_section = \".libos_tests\")]"), "{out}");
        assert!(out.contains("static __LIBOS_TEST_MAPS_A_PAGE : :: libos_abi :: test :: TestCase"), "{out}");
        assert!(out.contains(":: core :: stringify ! (maps_a_page)"), "{out}");
        assert!(out.contains("run : maps_a_page"), "{out}");
        assert!(out.contains("expect : :: libos_abi :: test :: Expect :: Pass"), "{out}");
    }

    #[test]
    fn app_flavor_uses_the_libos_reexport() {
        let out = expand_ok(TokenStream::new(), Flavor::App);
        assert!(out.contains(":: libos :: __private :: abi :: test :: TestCase"), "{out}");
        // Kept only in test builds of `libos`.
        assert!(out.starts_with(":: libos :: __private :: testing_only ! { fn maps_a_page ()"), "{out}");
    }

    #[test]
    fn expectations() {
        let out = expand_ok(quote!(should_panic), Flavor::Kernel);
        assert!(out.contains("Expect :: Panic { message : :: core :: option :: Option :: None }"), "{out}");
        let out = expand_ok(quote!(should_panic = "overflow"), Flavor::Kernel);
        assert!(out.contains("Option :: Some (\"overflow\")"), "{out}");
        let out = expand_ok(quote!(should_panic(expected = "bad")), Flavor::Kernel);
        assert!(out.contains("Option :: Some (\"bad\")"), "{out}");
        let out = expand_ok(quote!(expect_fault = PF), Flavor::Kernel);
        assert!(out.contains("Expect :: Fault { vector : 14u8 }"), "{out}");
        let out = expand_ok(quote!(expect_fault = DE), Flavor::Kernel);
        assert!(out.contains("Expect :: Fault { vector : 0u8 }"), "{out}");
    }

    #[test]
    fn every_mnemonic_has_its_vector() {
        let expected = [
            ("DE", 0),
            ("DB", 1),
            ("NMI", 2),
            ("BP", 3),
            ("OF", 4),
            ("BR", 5),
            ("UD", 6),
            ("NM", 7),
            ("DF", 8),
            ("TS", 10),
            ("NP", 11),
            ("SS", 12),
            ("GP", 13),
            ("PF", 14),
            ("MF", 16),
            ("AC", 17),
            ("MC", 18),
            ("XM", 19),
            ("VE", 20),
            ("CP", 21),
        ];
        for (name, vector) in expected {
            assert_eq!(fault_vector(name), Some(vector), "{name}");
        }
        assert_eq!(FAULT_NAMES.iter().flatten().count(), expected.len());
    }

    #[test]
    fn mnemonics_match_the_abi_crate() {
        assert_eq!(FAULT_NAMES, libos_abi::test::FAULT_NAMES);
    }

    #[test]
    fn unknown_fault_name() {
        let messages = error(
            quote!(expect_fault = XX),
            quote!(
                fn f() {}
            ),
        );
        assert_eq!(
            messages,
            [
                "unknown exception `XX`; expected one of DE, DB, NMI, BP, OF, BR, UD, NM, DF, TS, NP, SS, GP, PF, MF, AC, MC, XM, VE, CP"
            ]
        );
    }

    #[test]
    fn bad_arguments() {
        let messages = error(
            quote!(ignore),
            quote!(
                fn f() {}
            ),
        );
        assert!(messages[0].starts_with("unsupported #[kernel_test] argument"), "{messages:?}");
        let messages = error(
            quote!(should_panic, expect_fault = GP),
            quote!(
                fn f() {}
            ),
        );
        assert!(messages[0].contains("a test takes one expectation"), "{messages:?}");
        let messages = error(
            quote!(should_panic = 3),
            quote!(
                fn f() {}
            ),
        );
        assert!(!messages.is_empty());
    }

    #[test]
    fn bad_signatures() {
        let cases = [
            (
                quote!(
                    fn f(x: u32) {}
                ),
                "a #[kernel_test] function must be `fn f()`: it takes no arguments",
            ),
            (
                quote!(
                    fn f<T>() {}
                ),
                "it must not be generic",
            ),
            (
                quote!(
                    async fn f() {}
                ),
                "it must not be `async`",
            ),
            (
                quote!(
                    unsafe fn f() {}
                ),
                "it must not be `unsafe`",
            ),
            (
                quote!(
                    extern "C" fn f() {}
                ),
                "it must not declare an ABI",
            ),
            (
                quote!(
                    fn f() -> u32 {
                        0
                    }
                ),
                "it returns `()`",
            ),
        ];
        for (item, message) in cases {
            let messages = error(TokenStream::new(), item);
            assert!(messages.iter().any(|m| m.contains(message)), "{message}: {messages:?}");
        }
        // Returning `()` explicitly is fine.
        assert!(
            expand(
                TokenStream::new(),
                quote!(
                    fn f() -> () {}
                ),
                Flavor::App
            )
            .is_ok()
        );
    }

    #[test]
    fn arguments_and_signature_errors_come_together() {
        let messages = error(
            quote!(expect_fault = XX),
            quote!(
                fn f(x: u32) {}
            ),
        );
        assert_eq!(messages.len(), 2, "{messages:?}");
    }

    #[test]
    fn raw_identifiers() {
        let out = expand(
            TokenStream::new(),
            quote!(
                fn r#match() {}
            ),
            Flavor::Kernel,
        )
        .unwrap()
        .to_string();
        assert!(out.contains("__LIBOS_TEST_MATCH"), "{out}");
    }
}
