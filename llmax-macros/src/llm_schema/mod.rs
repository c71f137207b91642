//! `#[derive(LlmSchema)]`: a type's strict JSON Schema, its name and its
//! description, for structured output and tool definitions.
//!
//! The derive reads the input into a [`attr::Container`] and the fields it
//! checks, refuses (all at once, each error spanned on the offending field
//! or attribute) what strict mode cannot express, then emits the impls
//! (`codegen`): the schema, built at run time by llmax's schemars from a
//! copy of the declaration (`shadow`, which says why), and for structs the
//! partial type of streamed values (`partial`). The checks are syntactic,
//! on the names of types, which is why they are about the derive input
//! only.

mod attr;
mod check;
mod codegen;
mod partial;
mod shadow;

use std::fmt::Display;

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::DeriveInput;

/// The expansion of `#[derive(LlmSchema)]` on `input`: the impl, or every
/// error found.
pub fn derive(input: &DeriveInput) -> TokenStream {
    let mut errors = Errors::default();
    let container = attr::Container::read(input, &mut errors);
    check::check(input, &container, &mut errors);
    let name = container.name(&input.ident, &mut errors);
    match errors.finish() {
        Ok(()) => codegen::expand(input, &name, container.description.as_deref()),
        Err(errors) => errors,
    }
}

/// Every mistake found in one derive input, reported together.
#[derive(Default)]
struct Errors(Vec<syn::Error>);

impl Errors {
    /// Records `message`, spanned on `tokens` (from its first token to its
    /// last, so a whole type is underlined).
    fn at(&mut self, tokens: impl ToTokens, message: impl Display) {
        self.0.push(syn::Error::new_spanned(tokens, message));
    }

    /// Records a parse error as it is.
    fn push(&mut self, error: syn::Error) {
        self.0.push(error);
    }

    /// `Ok` if nothing was recorded, else the `compile_error!`s of all.
    fn finish(self) -> Result<(), TokenStream> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(self
                .0
                .into_iter()
                .map(syn::Error::into_compile_error)
                .collect())
        }
    }
}
