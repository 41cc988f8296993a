//! `#[libos::main]`: keep the app's `main` and export the entry the runtime
//! calls.

use proc_macro2::TokenStream;
use quote::{ToTokens, quote};
use syn::ItemFn;

use crate::errors::Errors;
use crate::plain_fn::check_plain_fn;

/// Expands `#[main]` on `item`.
pub(crate) fn expand(attr: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let item: ItemFn = syn::parse2(item)?;
    let sig = &item.sig;
    let mut errors = Errors::default();
    if !attr.is_empty() {
        errors.at(&attr, "#[libos::main] takes no arguments");
    }
    let wanted = format!("a #[libos::main] function must be `fn {0}()` or `fn {0}() -> T`", sig.ident);
    check_plain_fn(sig, &wanted, " (read them from the runtime)", &mut errors);
    errors.finish(|| ())?;

    let name = &item.sig.ident;
    let mut out = item.to_token_stream();
    // `export_name` is an unsafe attribute because a symbol name can clash
    // with or mistype another definition. It is sound here: the `libos`
    // runtime declares `__libos_main` with this exact signature
    // (`extern "Rust" fn() -> i32`), and a second `#[libos::main]` in the
    // link is a duplicate-symbol error rather than a silent clash.
    out.extend(quote! {
        /// The app's entry point, called by the `libos` runtime: runs the
        /// `#[libos::main]` function and turns its result into an exit code.
        #[doc(hidden)]
        #[unsafe(export_name = "__libos_main")]
        pub extern "Rust" fn __libos_main_entry() -> i32 {
            ::libos::rt::Termination::report(#name())
        }
    });
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(attr: TokenStream, item: TokenStream) -> Vec<String> {
        match expand(attr, item) {
            Ok(out) => panic!("expansion succeeded: {out}"),
            Err(e) => e.into_iter().map(|e| e.to_string()).collect(),
        }
    }

    #[test]
    fn keeps_main_and_exports_the_entry() {
        let out = expand(
            TokenStream::new(),
            quote!(
                fn main() -> Result<(), E> {
                    Ok(())
                }
            ),
        )
        .unwrap()
        .to_string();
        assert!(out.starts_with("fn main () -> Result < () , E >"), "{out}");
        assert!(out.contains("# [unsafe (export_name = \"__libos_main\")]"), "{out}");
        assert!(out.contains("pub extern \"Rust\" fn __libos_main_entry () -> i32"), "{out}");
        assert!(out.contains(":: libos :: rt :: Termination :: report (main ())"), "{out}");
    }

    #[test]
    fn bad_signatures() {
        let cases = [
            (
                quote!(
                    fn main(argc: i32) {}
                ),
                "a #[libos::main] function must be `fn main()` or `fn main() -> T`: it takes no arguments",
            ),
            (
                quote!(
                    fn main<T>() {}
                ),
                "it must not be generic",
            ),
            (
                quote!(
                    async fn main() {}
                ),
                "it must not be `async`",
            ),
            (
                quote!(
                    unsafe fn main() {}
                ),
                "it must not be `unsafe`",
            ),
            (
                quote!(
                    extern "C" fn main() {}
                ),
                "it must not declare an ABI",
            ),
        ];
        for (item, message) in cases {
            let messages = error(TokenStream::new(), item);
            assert!(messages.iter().any(|m| m.contains(message)), "{message}: {messages:?}");
        }
    }

    #[test]
    fn takes_no_arguments() {
        assert_eq!(
            error(
                quote!(threads = 4),
                quote!(
                    fn main() {}
                )
            ),
            ["#[libos::main] takes no arguments"]
        );
    }
}
