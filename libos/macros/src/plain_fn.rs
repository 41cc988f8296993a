//! The checks shared by `#[libos::main]` and `#[libos::test]`: the function
//! must be a plain `fn name()`, callable from the runtime as it is.

use syn::Signature;

use crate::errors::Errors;

/// Adds an error for every way `sig` is not a plain function without
/// arguments: arguments (`args_hint` says what to do instead), generics,
/// `async`, `unsafe`, an ABI, variadics. `wanted` opens each message.
pub(crate) fn check_plain_fn(sig: &Signature, wanted: &str, args_hint: &str, errors: &mut Errors) {
    if !sig.inputs.is_empty() {
        errors.at(&sig.inputs, format!("{wanted}: it takes no arguments{args_hint}"));
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        errors.at(&sig.generics, format!("{wanted}: it must not be generic"));
    }
    if let Some(asyncness) = &sig.asyncness {
        errors.at(asyncness, format!("{wanted}: it must not be `async`"));
    }
    if let Some(unsafety) = &sig.unsafety {
        errors.at(unsafety, format!("{wanted}: it must not be `unsafe`"));
    }
    if let Some(abi) = &sig.abi {
        errors.at(abi, format!("{wanted}: it must not declare an ABI"));
    }
    if let Some(variadic) = &sig.variadic {
        errors.at(variadic, format!("{wanted}: it must not be variadic"));
    }
}
