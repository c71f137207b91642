//! Generating Rust from a checked catalog: one function per generated item.
//!
//! Everything is emitted at the call site of `manifest!` and names the
//! runtime through absolute `::llmax::...` paths (llmax declares
//! `extern crate self as llmax`, so the same paths work inside it).

mod data;
mod docs;
mod model;
mod name_impls;
mod provider;

use proc_macro2::{Ident, Span, TokenStream};
use quote::quote;

use crate::catalog::Catalog;
use crate::source::ManifestFile;

/// The whole expansion of `manifest!`.
pub fn expand(catalog: &Catalog, file: &ManifestFile) -> TokenStream {
    let track = track(file);
    let model_enum = model::model_enum(catalog, &file.shown);
    let model_impl = model::model_impl(catalog);
    let model_id = model::model_id_impl();
    let model_names = name_impls::name_impls(&ident("Model"), "model");
    let provider_enum = provider::provider_enum(catalog, &file.shown);
    let provider_impl = provider::provider_impl(catalog);
    let provider_id = provider::provider_id_impl();
    let provider_names = name_impls::name_impls(&ident("Provider"), "provider");
    let catalog_static = data::catalog_static(catalog, &file.shown);
    quote! {
        #track
        #model_enum
        #model_impl
        #model_id
        #model_names
        #provider_enum
        #provider_impl
        #provider_id
        #provider_names
        #catalog_static
    }
}

/// `const _: &[u8] = include_bytes!("...")`: the compiler then knows the
/// expansion depends on the manifest, and rebuilds when it changes.
fn track(file: &ManifestFile) -> TokenStream {
    let path = file.path.to_string_lossy();
    quote! {
        const _: &[u8] = ::core::include_bytes!(#path);
    }
}

/// An identifier at the call site. `name` is a valid identifier: a
/// constant of this module or a variant name that `check` verified.
fn ident(name: &str) -> Ident {
    Ident::new(name, Span::call_site())
}

/// `#[doc = " line"]` for each line of `text`, as `///` would write them.
fn doc_attrs(text: &str) -> TokenStream {
    text.lines()
        .map(|line| {
            let line = if line.is_empty() {
                String::new()
            } else {
                format!(" {line}")
            };
            quote!(#[doc = #line])
        })
        .collect()
}

/// `::core::option::Option::Some(#value)` or `::core::option::Option::None`.
fn option<T>(value: Option<T>, tokens: impl FnOnce(T) -> TokenStream) -> TokenStream {
    match value {
        Some(value) => {
            let value = tokens(value);
            quote!(::core::option::Option::Some(#value))
        }
        None => quote!(::core::option::Option::None),
    }
}
