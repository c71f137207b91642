//! `pub enum Model` and its impls.
//!
//! The enum and the parts of its impl that grow with the catalog are
//! written as source text (see the [module documentation](super)); the
//! per-model data they read (names, Rust names) lives in the generated
//! `__llmax_catalog` module of [`data`](super::data), indexed by variant
//! number.

use std::fmt::Write as _;

use proc_macro2::TokenStream;
use quote::quote;

use super::{docs, write_doc};
use crate::catalog::Catalog;

/// `pub enum Model`, one documented variant per model, in manifest order,
/// and its `Debug` impl (the variant's Rust name, as derived).
pub fn model_enum(out: &mut String, catalog: &Catalog, file: &str) {
    let example = catalog.models.first().map_or("", |m| m.name.as_str());
    write_doc(out, &docs::model_enum(file, example));
    out.push_str(
        "#[derive(::core::clone::Clone, ::core::marker::Copy, ::core::cmp::PartialEq, \
         ::core::cmp::Eq, ::core::hash::Hash, ::core::cmp::PartialOrd, ::core::cmp::Ord)]\n\
         pub enum Model {\n",
    );
    for model in &catalog.models {
        write_doc(out, &docs::model(model, catalog));
        let _ = writeln!(out, "{},", model.ident);
    }
    out.push_str(
        "}\n\
         impl ::core::fmt::Debug for Model {\n\
         fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {\n\
         f.write_str(__llmax_catalog::MODEL_IDENTS[*self as usize])\n\
         }\n\
         }\n",
    );
}

/// `impl Model`: names, catalog data and prices.
pub fn model_impl(out: &mut String, catalog: &Catalog) {
    out.push_str(
        "impl Model {\n\
         /// Every model of the catalog, in manifest order.\n\
         pub const ALL: &'static [Model] = &[",
    );
    for model in &catalog.models {
        let _ = write!(out, "Model::{},", model.ident);
    }
    out.push_str("];\n");
    let as_str_doc = format!(
        " The manifest name, e.g. `\"{}\"`: what `Display`, `FromStr` and serde read and write.",
        catalog.models.first().map_or("", |m| m.name.as_str())
    );
    write_doc(out, &as_str_doc);
    out.push_str(
        r#"pub const fn as_str(self) -> &'static str {
            __llmax_catalog::MODELS[self as usize].name
        }

        /// Everything the catalog knows about this model.
        pub fn info(self) -> &'static ::llmax::catalog::ModelInfo {
            &CATALOG.models[self as usize]
        }

        /// What the model is for.
        pub fn kind(self) -> ::llmax::catalog::ModelKind {
            self.info().kind
        }

        /// What the model can do.
        pub fn capabilities(self) -> ::llmax::catalog::Capabilities {
            self.info().capabilities
        }

        /// The context window in tokens, where the manifest gives it.
        pub fn context_window(self) -> ::core::option::Option<u32> {
            self.info().context_window
        }

        /// The providers that list this model in the manifest, in
        /// manifest order (providers serving any model are not listed
        /// unless they name it).
        pub fn providers(self) -> impl ::core::iter::Iterator<Item = Provider> {
            self.info().offers.iter().filter_map(|offer| {
                Provider::ALL
                    .iter()
                    .copied()
                    .find(|provider| provider.as_str() == offer.provider)
            })
        }

        /// The prices of this model on `provider`, or `None` if the
        /// provider does not serve it (see
        /// `llmax::catalog::ModelInfo::price_on`).
        pub fn price(
            self,
            provider: Provider,
        ) -> ::core::option::Option<::llmax::catalog::Price> {
            self.info().price_on(provider.spec())
        }

        /// Whether `provider` serves this model: it lists it, or serves
        /// any model.
        pub fn served_by(self, provider: Provider) -> bool {
            self.info().served_by(provider.spec())
        }
    }
"#,
    );
}

/// `impl ModelId for Model`, so that the client takes a `Model`.
pub fn model_id_impl() -> TokenStream {
    quote! {
        impl ::llmax::catalog::ModelId for Model {
            fn info(self) -> &'static ::llmax::catalog::ModelInfo {
                Model::info(self)
            }
        }
    }
}
