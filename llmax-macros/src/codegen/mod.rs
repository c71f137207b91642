//! Generating Rust from a checked catalog: one function per generated item.
//!
//! Everything is emitted at the call site of `manifest!` and names the
//! runtime through absolute `::llmax::...` paths (llmax declares
//! `extern crate self as llmax`, so the same paths work inside it).
//!
//! The items whose size grows with the number of models (the `Model` enum,
//! its tables and the catalog data) are written as Rust source text and
//! parsed once by the compiler: building hundreds of thousands of tokens
//! one by one through `quote!` is slow in a proc macro, which is usually
//! compiled without optimizations. Parsed tokens get the call-site span, as
//! `quote!`'s do. The fixed items are still written with `quote!`.

mod data;
mod docs;
mod model;
mod name_impls;
mod provider;

use std::fmt::Write as _;

use proc_macro2::{Ident, Span, TokenStream};
use quote::quote;

use crate::catalog::Catalog;
use crate::source::ManifestFile;

/// The whole expansion of `manifest!`.
pub fn expand(catalog: &Catalog, file: &ManifestFile) -> TokenStream {
    let track = track(file);
    let mut source = String::with_capacity(catalog.models.len() * 1024 + 4096);
    model::model_enum(&mut source, catalog, &file.shown);
    model::model_impl(&mut source, catalog);
    data::catalog_static(&mut source, catalog, &file.shown);
    let generated: TokenStream = source
        .parse()
        .expect("the code generated from a checked catalog is valid Rust");
    let model_id = model::model_id_impl();
    let model_names = name_impls::name_impls(&ident("Model"), "model");
    let provider_enum = provider::provider_enum(catalog, &file.shown);
    let provider_impl = provider::provider_impl(catalog);
    let provider_id = provider::provider_id_impl();
    let provider_names = name_impls::name_impls(&ident("Provider"), "provider");
    quote! {
        #track
        #generated
        #model_id
        #model_names
        #provider_enum
        #provider_impl
        #provider_id
        #provider_names
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

/// Writes `text` as a Rust string literal: `str`'s `Debug` form, whose
/// escapes (`\"`, `\\`, `\n`, `\u{..}`) are all valid in Rust source.
fn write_str_lit(out: &mut String, text: &str) {
    let _ = write!(out, "{text:?}");
}

/// Writes one `#[doc = "..."]` holding all of `text`: rustdoc renders it as
/// the `///` lines `doc_attrs` would write.
fn write_doc(out: &mut String, text: &str) {
    out.push_str("#[doc = ");
    write_str_lit(out, text);
    out.push_str("]\n");
}

/// Writes `Some(#value)` or `None`, which the generated module imports.
fn write_option<T>(out: &mut String, value: Option<T>, write: impl FnOnce(&mut String, T)) {
    match value {
        Some(value) => {
            out.push_str("Some(");
            write(out, value);
            out.push(')');
        }
        None => out.push_str("None"),
    }
}
