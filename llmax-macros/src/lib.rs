//! Compile-time model catalog for [llmax](https://docs.rs/llmax).
//!
//! This crate reads a `providers.toml` manifest at compile time and generates
//! the typed `Model` and `Provider` enums, the provider descriptions the
//! runtime uses and the pricing table. Nothing is parsed at run time. Use it
//! through llmax, which re-exports both macros and generates its default
//! catalog with them: `llmax::manifest!` and `llmax::model!`. The manifest
//! format is described in llmax's README ("The manifest").
//!
//! # `manifest!`
//!
//! ```ignore
//! llmax::manifest!("my_providers.toml");
//! ```
//!
//! The path is relative to the root of the invoking package (the directory of
//! its `Cargo.toml`); if no file is there, it is tried against the package
//! holding the invoking source file, which only differs for source files
//! compiled as part of another package (trybuild cases). At the call site it
//! expands to:
//!
//! - `pub enum Model`, a variant per model in manifest order, each documented
//!   with its description, kind, capabilities, context window and prices on
//!   each provider; `Copy`, `Eq`, `Ord`, `Hash`, `Debug`;
//! - `impl Model`: `ALL`, `as_str`, `info`, `kind`, `capabilities`,
//!   `context_window`, `providers`, `price`, `served_by`;
//! - `pub enum Provider` and `impl Provider`: `ALL`, `as_str`, `spec`,
//!   `protocol`;
//! - for both enums, `Display` and `FromStr` as the manifest name (an unknown
//!   name is an `llmax::catalog::UnknownName` suggesting the closest one),
//!   serde's `Serialize` and `Deserialize` as that name, and
//!   `llmax::catalog::ModelId` / `ProviderId`;
//! - `pub static CATALOG: llmax::catalog::Catalog` holding the data.
//!
//! The manifest is checked as a whole: every mistake (TOML syntax, unknown
//! key, unknown protocol or kind, a model served by an undeclared provider, a
//! URL template naming an unknown field, a negative or too precise price, two
//! entries with the same Rust name...) is one `compile_error!` naming the
//! file, the line and the entry, and all are reported together:
//!
//! ```text
//! error: my_providers.toml:12:23: model `acme-large`: provider `acne` is not declared under [providers]; did you mean `acme`?
//! ```
//!
//! Rust names are derived from manifest names: `gpt-4o` is `Model::Gpt4o`,
//! `gpt-4.1-nano` is `Model::Gpt4_1Nano`, `openai-compatible` is
//! `Provider::OpenaiCompatible`; `ident = "..."` in an entry overrides it.
//!
//! # `model!`
//!
//! ```ignore
//! let model = llmax::model!("gpt-4o"); // llmax::Model::Gpt4o
//! ```
//!
//! Names a model of llmax's default catalog by its manifest name and expands
//! to its `llmax::Model` variant. An unknown name is a compile error on the
//! literal, with the suggestion a run-time parse would give:
//!
//! ```text
//! error: unknown model `gpt-4oo`; did you mean `gpt-4o`?
//! ```
//!
//! The default manifest is embedded in this crate, so `model!` only knows the
//! default catalog; a crate with its own manifest names its models through
//! its own enum (`Model::AcmeLarge`).

mod catalog;
mod check;
mod codegen;
mod default_catalog;
mod error;
mod llm_schema;
mod manifest;
mod names;
mod price;
mod source;

use proc_macro::TokenStream;
use syn::{DeriveInput, LitStr, parse_macro_input};

/// Generates the typed catalog of a manifest: `Model`, `Provider` and
/// `CATALOG`. See the [crate documentation](crate).
#[proc_macro]
pub fn manifest(input: TokenStream) -> TokenStream {
    let path = parse_macro_input!(input as LitStr);
    let file = match source::read(&path.value(), path.span()) {
        Ok(file) => file,
        Err(message) => {
            return syn::Error::new(path.span(), message)
                .into_compile_error()
                .into();
        }
    };
    match load(&file.shown, &file.text) {
        Ok(catalog) => codegen::expand(&catalog, &file).into(),
        Err(errors) => errors
            .into_iter()
            .map(|message| syn::Error::new(path.span(), message).into_compile_error())
            .collect::<proc_macro2::TokenStream>()
            .into(),
    }
}

/// The `llmax::Model` of a manifest name of the default catalog, checked at
/// compile time. See the [crate documentation](crate).
#[proc_macro]
pub fn model(input: TokenStream) -> TokenStream {
    let name = parse_macro_input!(input as LitStr);
    default_catalog::model(&name)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// `#[derive(LlmSchema)]`: implements `llmax::LlmSchema` for a struct with
/// named fields that also derives `serde::Deserialize`, with its partial
/// type for streaming; on an enum (or any struct), makes it usable as the
/// type of a field. No `schemars` dependency is needed: the schema is built
/// by llmax's re-export of it, from a copy of the declaration (see
/// `llm_schema/shadow.rs` for why). The name is the type's, or
/// `#[llm(name = "...")]`; the description is its doc comment. What strict
/// mode cannot express (tuple or unit structs, maps, `serde_json::Value`,
/// tuples, a type containing itself, generics) is a compile error. See
/// `llmax::LlmSchema`.
#[proc_macro_derive(LlmSchema, attributes(llm, schemars))]
pub fn derive_llm_schema(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    llm_schema::derive(&input).into()
}

/// Reads and checks the manifest `source` (named `file` in messages): its
/// catalog, or every mistake found.
fn load(file: &str, source: &str) -> Result<catalog::Catalog, Vec<String>> {
    let mut cx = error::Ctxt::new(file, source);
    let manifest = manifest::parse(source, &mut cx);
    let catalog = check::check(&manifest, &mut cx);
    cx.finish().map(|()| catalog)
}
